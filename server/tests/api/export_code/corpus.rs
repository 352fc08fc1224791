//! Workflows written for the differential test, beside the template
//! gallery: together they use every built-in kind and every provider
//! action. Each scripts the stand-ins it calls; `CONN:<provider>` in a
//! workflow is replaced by that provider's connection id.

use serde_json::{Value, json};
use testkit::Reply;

use crate::templates::Fakes;

pub struct Case {
    pub name: &'static str,
    pub workflow: Value,
    pub input: Value,
    /// Scripts the stand-ins (again before the second run).
    pub arrange: fn(&Fakes),
    /// Secrets written into steps, which the export reads from these variables.
    pub env: &'static [(&'static str, &'static str)],
}

fn fast_retries() -> Value {
    json!({"max_attempts": 3, "initial_delay_ms": 5, "factor": 2.0, "max_delay_ms": 20, "jitter": false})
}

fn node(id: &str, kind: &str, config: Value) -> Value {
    json!({"id": id, "kind": kind, "config": config})
}

fn edge(source: &str, port: &str, target: &str) -> Value {
    json!({"source": source, "source_port": port, "target": target})
}

fn flow(name: &str, nodes: Vec<Value>, edges: Vec<Value>) -> Value {
    json!({"name": name, "settings": {"retry": fast_retries()}, "nodes": nodes, "edges": edges})
}

/// A chain of nodes, each out port into the next.
fn chain(ids: &[&str]) -> Vec<Value> {
    ids.windows(2).map(|w| edge(w[0], "out", w[1])).collect()
}

pub fn cases(fakes: &Fakes) -> Vec<Case> {
    let shop = fakes.remote.url("/shop");
    vec![
        Case {
            name: "branches",
            workflow: flow(
                "Branches",
                vec![
                    node("start", "manual_trigger", json!({})),
                    node("fetch", "http_request", json!({
                        "url": format!("{shop}/orders/{{{{ trigger.order }}}}"),
                        "query": {"expand": "items", "n": "{{ trigger.n }}"},
                        "headers": {"X-Trace": "t-{{ trigger.n * 2 }}", "X-Api-Key": "shop-key"},
                        "auth": {"type": "bearer", "token": "shop-token"},
                        "send_idempotency_key": true
                    })),
                    node("check", "condition", json!({"expression": "{{ steps.fetch.output.body.total > 100 }}"})),
                    node("big", "transform", json!({"template": {"tier": "big", "total": "{{ steps.fetch.output.body.total // 100 }}", "who": "{{ steps.fetch.output.body.customer.name | upper }}"}})),
                    node("small", "transform", json!({"template": {"tier": "small"}})),
                    node("join", "merge", json!({})),
                    node("route", "switch", json!({"cases": [
                        {"port": "gold", "expression": "{{ steps.fetch.output.body.total > 10000 }}"},
                        {"port": "silver", "expression": "{{ steps.check.output.result }}"}
                    ]})),
                    node("notify", "http_request", json!({
                        "method": "POST", "url": format!("{shop}/notify"), "body_type": "form",
                        "body": {"order": "{{ trigger.order }}", "total": "{{ steps.fetch.output.body.total }}", "tags": "{{ steps.fetch.output.body.tags | join(',') }}"}
                    })),
                    node("note", "http_request", json!({
                        "method": "PUT", "url": format!("{shop}/notes"), "body_type": "raw",
                        "headers": {"Content-Type": "text/plain"},
                        "body": "Order {{ trigger.order }} for {{ steps.big.output.who }}: {{ steps.join.output | tojson }}"
                    })),
                    node("record", "http_request", json!({
                        "method": "POST", "url": format!("{shop}/records"),
                        "body": {"order": "{{ trigger.order }}", "lines": "{{ steps.fetch.output.body['items'] | length }}", "first": "{{ steps.fetch.output.body['items'][0] }}"}
                    })),
                ],
                vec![
                    edge("start", "out", "fetch"),
                    edge("fetch", "out", "check"),
                    edge("check", "true", "big"),
                    edge("check", "false", "small"),
                    edge("big", "out", "join"),
                    edge("small", "out", "join"),
                    edge("join", "out", "route"),
                    edge("route", "gold", "notify"),
                    edge("route", "silver", "note"),
                    edge("route", "default", "record"),
                ],
            ),
            input: json!({"order": "A-17", "n": 4}),
            env: &[("FETCH_AUTH_TOKEN", "shop-token"), ("FETCH_HEADERS_X_API_KEY", "shop-key")],
            arrange: |f| {
                f.reply("/shop/orders/A-17", Reply::json(200, json!({"total": 4200, "tags": ["vip", "eu"], "customer": {"name": "Ada"},
                    "items": [{"sku": "S1", "qty": 2}, {"sku": "S2", "qty": 1}]})));
                f.reply("/shop/notes", Reply::json(201, json!({"ok": true})));
            },
        },
        Case {
            name: "loops-and-delays",
            workflow: flow(
                "Loops",
                vec![
                    node("tick", "schedule_trigger", json!({"cron": "0 6 * * *", "timezone": "Europe/Berlin"})),
                    node("list", "http_request", json!({"url": format!("{shop}/items")})),
                    node("each", "loop", json!({"items": "{{ steps.list.output.body.items }}", "concurrency": 2})),
                    node("price", "http_request", json!({"method": "POST", "url": format!("{shop}/price"),
                        "body": {"sku": "{{ item.sku }}", "qty": "{{ item.qty }}", "position": "{{ index + 1 }}"}})),
                    node("line", "transform", json!({"template": "{{ item.sku }} x{{ item.qty }} at {{ steps.price.output.body.price }} ({{ steps.list.output.status }})"})),
                    node("pause", "delay", json!({"duration_ms": 20})),
                    node("sum", "transform", json!({"template": {"lines": "{{ steps.each.output }}", "count": "{{ steps.each.output | length }}", "at": "{{ trigger.scheduled_at }}"}})),
                ],
                vec![
                    edge("tick", "out", "list"),
                    edge("list", "out", "each"),
                    edge("each", "body", "price"),
                    edge("price", "out", "line"),
                    edge("each", "out", "pause"),
                    edge("pause", "out", "sum"),
                ],
            ),
            input: json!({"scheduled_at": "2026-12-08T05:00:00.000Z", "scheduled_unix": 1796792400, "fired_at": "2026-12-08T05:00:00.120Z", "missed": false}),
            env: &[],
            arrange: |f| {
                f.reply("/shop/items", Reply::json(200, json!({"items": [{"sku": "S1", "qty": 2}, {"sku": "S2", "qty": 1}, {"sku": "S3", "qty": 5}]})));
                f.reply("/shop/price", Reply::json(200, json!({"price": 9.5})));
            },
        },
        Case {
            name: "failures",
            workflow: flow(
                "Failures",
                vec![
                    node("event", "event_trigger", json!({"type": "order.paid", "filter": "{{ data.amount > 0 }}"})),
                    node("flaky", "http_request", json!({"url": format!("{shop}/flaky")})),
                    node("missing", "http_request", json!({"url": format!("{shop}/missing")})),
                    node("after", "transform", json!({"template": {"status": "{{ steps.missing.output.error.status }}", "class": "{{ steps.missing.error.class }}", "flaky": "{{ steps.flaky.output.body }}"}})),
                    node("guard", "stop_and_fail", json!({"message": "order {{ trigger.data.id }} needs a person"})),
                    node("recover", "transform", json!({"template": "recovered: {{ steps.guard.error.message }} ({{ steps.guard.error.class }})"})),
                ],
                vec![
                    edge("event", "out", "flaky"),
                    edge("flaky", "out", "missing"),
                    edge("missing", "out", "after"),
                    edge("after", "out", "guard"),
                    edge("guard", "error", "recover"),
                ],
            )
            .tap(|w| {
                w["nodes"][2]["on_error"] = json!("continue");
                w["nodes"][4]["on_error"] = json!("route");
            }),
            input: json!({"type": "order.paid", "source": "shop", "data": {"id": "o-9", "amount": 12}}),
            env: &[],
            arrange: |f| {
                f.remote.script("/shop/flaky", vec![
                    Reply::json(503, json!({"error": "busy"})),
                    Reply::json(429, json!({"error": "slow down"})).header("retry-after", "0"),
                    Reply::json(200, json!({"fine": true})),
                ]);
                f.reply("/shop/missing", Reply::json(404, json!({"error": "no such thing"})));
            },
        },
        Case {
            name: "stripe-and-slack-actions",
            workflow: flow(
                "Stripe and Slack",
                vec![
                    node("hook", "webhook_trigger", json!({"methods": ["POST"]})),
                    node("customer", "stripe.retrieve_customer", json!({"connection": "CONN:stripe", "customer": "{{ trigger.body.customer }}"})),
                    node("intent", "stripe.create_payment_intent", json!({"connection": "CONN:stripe", "amount": "{{ trigger.body.amount }}", "currency": "eur",
                        "customer": "{{ steps.customer.output.id }}", "metadata": {"order": "{{ trigger.body.order }}"}})),
                    node("refund", "stripe.create_refund", json!({"connection": "CONN:stripe", "payment_intent": "{{ steps.intent.output.id }}", "reason": "requested_by_customer"})),
                    node("balance", "stripe.request", json!({"connection": "CONN:stripe", "path": "/v1/balance", "query": {"expand[]": "available"}})),
                    node("channels", "slack.list_channels", json!({"connection": "CONN:slack", "types": "public_channel", "max_items": 3})),
                    node("edit", "slack.update_message", json!({"connection": "CONN:slack", "channel": "{{ steps.channels.output.items[0].id }}", "ts": "1733302900.000300",
                        "text": "Refunded {{ steps.refund.output.amount / 100 }} EUR to {{ steps.customer.output.email }}"})),
                    node("react", "slack.request", json!({"connection": "CONN:slack", "method": "POST", "path": "/reactions.add",
                        "body": {"channel": "C1", "name": "white_check_mark", "timestamp": "1733302900.000300"}})),
                ],
                chain(&["hook", "customer", "intent", "refund", "balance", "channels", "edit", "react"]),
            ),
            input: json!({"method": "POST", "headers": {"content-type": "application/json"}, "query": {}, "body": {"customer": "cus_9", "amount": 2500, "order": "A-1"}}),
            env: &[],
            arrange: |f| {
                f.reply("/stripe/v1/customers/cus_9", Reply::json(200, json!({"id": "cus_9", "email": "ada@example.com"})));
                f.reply("/stripe/v1/payment_intents", Reply::json(200, json!({"id": "pi_1", "amount": 2500, "status": "requires_payment_method"})));
                f.reply("/stripe/v1/refunds", Reply::json(200, json!({"id": "re_1", "amount": 2500, "status": "succeeded"})));
                f.reply("/stripe/v1/balance", Reply::json(200, json!({"available": [{"amount": 10, "currency": "eur"}]})));
                f.remote.script("/slack/conversations.list", vec![
                    Reply::json(200, json!({"ok": true, "channels": [{"id": "C1", "name": "general"}, {"id": "C2", "name": "sales"}], "response_metadata": {"next_cursor": "dGVhbTpDMDYx"}})),
                    Reply::json(200, json!({"ok": true, "channels": [{"id": "C3", "name": "ops"}, {"id": "C4", "name": "eng"}], "response_metadata": {"next_cursor": ""}})),
                ]);
                f.reply("/slack/chat.update", Reply::json(200, json!({"ok": true, "channel": "C1", "ts": "1733302900.000300"})));
                f.reply("/slack/reactions.add", Reply::json(200, json!({"ok": false, "error": "already_reacted"})));
            },
        },
        Case {
            name: "more-provider-actions",
            workflow: flow(
                "More providers",
                vec![
                    node("start", "manual_trigger", json!({})),
                    node("comment", "linear.create_comment", json!({"connection": "CONN:linear", "issue_id": "{{ trigger.issue }}", "body": "Seen by {{ trigger.who }}"})),
                    node("viewer", "linear.request", json!({"connection": "CONN:linear", "method": "POST", "path": "/graphql", "body": {"query": "{ viewer { id } }"}})),
                    node("repo", "github.request", json!({"connection": "CONN:github", "path": "/repos/acme/app"})),
                    node("mail", "resend.send_email", json!({"connection": "CONN:resend", "from": "Acme <hi@acme.test>", "to": ["{{ trigger.email }}"], "subject": "Hello {{ trigger.who }}", "text": "Line one\nLine two"})),
                    node("domains", "resend.request", json!({"connection": "CONN:resend", "path": "/domains"})),
                    node("audience", "mailchimp.request", json!({"connection": "CONN:mailchimp", "path": "/lists/list42"})),
                    node("calls", "twilio.request", json!({"connection": "CONN:twilio", "path": "/2010-04-01/Accounts/AC0123456789/Calls.json", "query": {"PageSize": 1}})),
                    node("stats", "sendgrid.request", json!({"connection": "CONN:sendgrid", "path": "/v3/stats", "query": {"start_date": "2026-12-01"}})),
                ],
                chain(&["start", "comment", "viewer", "repo", "mail", "domains", "audience", "calls", "stats"]),
            ),
            input: json!({"issue": "ENG-7", "who": "Grace", "email": "grace@example.com"}),
            env: &[],
            arrange: |f| {
                f.remote.script("/linear/graphql", vec![
                    Reply::json(200, json!({"data": {"commentCreate": {"success": true, "comment": {"id": "c1", "body": "Seen by Grace"}}}})),
                    Reply::json(200, json!({"data": {"viewer": {"id": "u1"}}})),
                ]);
                f.reply("/github/repos/acme/app", Reply::json(200, json!({"id": 1, "full_name": "acme/app"})));
                f.reply("/resend/emails", Reply::json(200, json!({"id": "em_1"})));
                f.reply("/resend/domains", Reply::json(200, json!({"data": []})));
                f.reply("/mailchimp/lists/list42", Reply::json(200, json!({"id": "list42", "name": "Customers"})));
                f.reply("/twilio/2010-04-01/Accounts/AC0123456789/Calls.json", Reply::json(200, json!({"calls": []})));
                f.reply("/sendgrid/v3/stats", Reply::json(200, json!([{"date": "2026-12-01", "stats": []}])));
            },
        },
        Case {
            name: "imported-api",
            workflow: flow(
                "Acme invoices",
                vec![
                    node("start", "manual_trigger", json!({})),
                    node("bill", "acme.create_invoice", json!({"connection": "CONN:acme", "customer": "{{ trigger.customer }}",
                        "amount": "{{ trigger.cents }}", "memo": "Order {{ trigger.order }}", "Idempotency-Key": "bill-{{ trigger.order }}", "expand": "customer"})),
                    node("read", "acme.get_invoice", json!({"connection": "CONN:acme", "id": "{{ steps.bill.output.id }}"})),
                    node("void", "acme.request", json!({"connection": "CONN:acme", "method": "POST", "path": "/invoices/{{ steps.bill.output.id }}/void"})),
                ],
                chain(&["start", "bill", "read", "void"]),
            ),
            input: json!({"customer": "cus_9", "cents": 1200, "order": "A-3"}),
            env: &[],
            arrange: |f| {
                f.reply("/acme/v2/invoices", Reply::json(201, json!({"id": "inv_1", "customer": "cus_9", "amount": 1200})));
                f.reply("/acme/v2/invoices/inv_1", Reply::json(200, json!({"id": "inv_1", "status": "open"})));
                f.reply("/acme/v2/invoices/inv_1/void", Reply::json(200, json!({"id": "inv_1", "status": "void"})));
            },
        },
        // The deadline leaves three seconds to send the request, so that
        // both sides make it however slow the machine is; the answer comes
        // well after the deadline.
        Case {
            name: "deadline",
            workflow: json!({
                "name": "Deadline",
                "settings": {"timeout_ms": 3000},
                "nodes": [
                    node("start", "manual_trigger", json!({})),
                    node("slow", "http_request", json!({"url": format!("{shop}/slow")})),
                    node("after", "transform", json!({"template": "{{ steps.slow.output.status }}"})),
                ],
                "edges": chain(&["start", "slow", "after"]),
            }),
            input: json!({}),
            env: &[],
            arrange: |f| {
                f.reply("/shop/slow", Reply::json(200, json!({"late": true})).after(std::time::Duration::from_secs(8)));
            },
        },
    ]
}

/// `value.tap(|v| …)`: changes a built value in place.
trait Tap {
    fn tap(self, change: impl FnOnce(&mut Value)) -> Value;
}

impl Tap for Value {
    fn tap(mut self, change: impl FnOnce(&mut Value)) -> Value {
        change(&mut self);
        self
    }
}
