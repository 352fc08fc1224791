//! Provider actions against local servers standing in for the real APIs:
//! each request is checked for what the real API expects (method, path,
//! authentication, encoding, idempotency keys), and each provider's own
//! way of reporting errors fails the step.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::helpers::{Backend, TestApp, User, spawn_app};

pub(crate) async fn app() -> TestApp {
    spawn_app(Backend::Sqlite)
        .await
        .expect("SQLite is always available")
}

/// A connection of `kind` whose requests go to `remote` (below `prefix`).
pub(crate) async fn connect(
    user: &User,
    kind: &str,
    mut fields: Value,
    remote: &ScriptedServer,
    prefix: &str,
) -> String {
    fields["base_url"] = json!(remote.url(prefix));
    let created = user
        .post(
            "/connections",
            json!({"name": format!("{kind} test"), "kind": kind, "fields": fields}),
        )
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs `steps` one after another after a manual trigger given `input`.
pub(crate) async fn run_chain(user: &User, steps: Value, input: Value) -> Value {
    let steps = steps.as_array().unwrap();
    let mut nodes = vec![json!({"id": "start", "kind": "manual_trigger"})];
    nodes.extend(steps.iter().cloned());
    let edges: Vec<Value> = nodes
        .windows(2)
        .map(|pair| json!({"source": pair[0]["id"], "target": pair[1]["id"]}))
        .collect();
    let workflow = user
        .create_workflow(json!({"name": "Integration", "nodes": nodes, "edges": edges}))
        .await;
    let started = user
        .post(&format!("/workflows/{workflow}/execute"), input)
        .await;
    assert_eq!(started.status(), 202, "{}", started.text().await.unwrap());
    let started: Value = started.json().await.unwrap();
    user.finished_run(started["execution_id"].as_str().unwrap())
        .await
}

pub(crate) fn step<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["node_id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {run}"))
}

pub(crate) fn header<'a>(request: &'a testkit::Received, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}

/// A form body as sorted pairs.
pub(crate) fn form(request: &testkit::Received) -> BTreeMap<String, String> {
    assert_eq!(
        header(request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

pub(crate) fn json_body(request: &testkit::Received) -> Value {
    assert!(
        header(request, "content-type")
            .unwrap()
            .starts_with("application/json")
    );
    serde_json::from_slice(&request.body).unwrap()
}

pub(crate) fn pairs(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_actions_send_forms_with_brackets_and_idempotency_keys() {
    let app = app().await;
    let stripe = ScriptedServer::start().await;
    stripe.script(
        "/v1/customers",
        vec![Reply::json(
            200,
            json!({"id": "cus_1", "object": "customer", "email": "ada@example.com"}),
        )],
    );
    stripe.script(
        "/v1/payment_intents",
        vec![Reply::json(
            200,
            json!({"id": "pi_1", "amount": 1999, "status": "requires_payment_method"}),
        )],
    );
    stripe.script(
        "/v1/refunds",
        vec![Reply::json(
            200,
            json!({"id": "re_1", "status": "succeeded"}),
        )],
    );
    stripe.script(
        "/v1/customers/cus_1",
        vec![Reply::json(
            200,
            json!({"id": "cus_1", "email": "ada@example.com"}),
        )],
    );
    let ada = app.user("ada@example.com").await;
    let key = connect(
        &ada,
        "stripe",
        json!({"secret_key": "sk_test_4eC39HqLyjWDarjtT1zdp7dc"}),
        &stripe,
        "",
    )
    .await;
    let run = run_chain(
        &ada,
        json!([
            {"id": "customer", "kind": "stripe.create_customer", "config": {
                "connection": key, "email": "{{ trigger.email }}", "name": "Ada Lovelace",
                "metadata": {"plan": "pro", "source": "signup form"}}},
            {"id": "pay", "kind": "stripe.create_payment_intent", "config": {
                "connection": key, "amount": 1999, "currency": "usd",
                "customer": "{{ steps.customer.output.id }}", "payment_method_types": ["card"]}},
            {"id": "refund", "kind": "stripe.create_refund", "config": {
                "connection": key, "payment_intent": "{{ steps.pay.output.id }}", "reason": "requested_by_customer"}},
            {"id": "read", "kind": "stripe.retrieve_customer", "config": {"connection": key, "customer": "{{ steps.customer.output.id }}"}}
        ]),
        json!({"email": "ada@example.com"}),
    )
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let execution = run["id"].as_str().unwrap();

    let created = &stripe.received("/v1/customers")[0];
    assert_eq!(created.method, "POST");
    assert_eq!(
        header(created, "authorization"),
        Some("Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc")
    );
    assert_eq!(
        form(created),
        pairs(&[
            ("email", "ada@example.com"),
            ("name", "Ada Lovelace"),
            ("metadata[plan]", "pro"),
            ("metadata[source]", "signup form"),
        ])
    );
    assert_eq!(
        header(created, "idempotency-key"),
        Some(format!("{execution}:customer").as_str())
    );
    let intent = &stripe.received("/v1/payment_intents")[0];
    assert_eq!(
        form(intent),
        pairs(&[
            ("amount", "1999"),
            ("currency", "usd"),
            ("customer", "cus_1"),
            ("payment_method_types[0]", "card")
        ])
    );
    assert_eq!(
        header(intent, "idempotency-key"),
        Some(format!("{execution}:pay").as_str())
    );
    let refund = &stripe.received("/v1/refunds")[0];
    assert_eq!(
        form(refund),
        pairs(&[
            ("payment_intent", "pi_1"),
            ("reason", "requested_by_customer")
        ])
    );
    let read = &stripe.received("/v1/customers/cus_1")[0];
    assert_eq!(read.method, "GET");
    assert!(read.body.is_empty());
    assert_eq!(
        header(read, "idempotency-key"),
        None,
        "only POSTs carry a key"
    );
    assert_eq!(step(&run, "read")["output"]["email"], "ada@example.com");
    assert_eq!(step(&run, "refund")["output"]["id"], "re_1");
    assert!(
        !run.to_string().contains("sk_test_4eC39"),
        "no secret in the run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_actions_page_until_max_items_and_a_failed_page_fails_the_step() {
    let app = app().await;
    let stripe = ScriptedServer::start().await;
    stripe.script(
        "/v1/customers",
        vec![
            Reply::json(200, json!({"object": "list", "data": [{"id": "cus_1"}, {"id": "cus_2"}], "has_more": true})),
            Reply::json(200, json!({"object": "list", "data": [{"id": "cus_3"}, {"id": "cus_4"}], "has_more": true})),
        ],
    );
    let github = ScriptedServer::start().await;
    github.script(
        "/repos/octo/hello/issues",
        vec![
            Reply::json(200, json!([{"number": 1}, {"number": 2}])).header(
                "link",
                &format!(
                    "<{}>; rel=\"next\", <{}>; rel=\"last\"",
                    github.url("/repos/octo/hello/issues?page=2&per_page=100&state=open"),
                    github.url("/repos/octo/hello/issues?page=9")
                ),
            ),
            Reply::json(200, json!([{"number": 3}])),
            Reply::json(500, json!({"message": "Server Error"})),
        ],
    );
    let ada = app.user("ada@example.com").await;
    let stripe_key = connect(
        &ada,
        "stripe",
        json!({"secret_key": "sk_test_x"}),
        &stripe,
        "",
    )
    .await;
    let github_key = connect(&ada, "github", json!({"token": "ghp_secret"}), &github, "").await;
    let run = run_chain(
        &ada,
        json!([
            {"id": "customers", "kind": "stripe.list_customers", "config": {"connection": stripe_key, "max_items": 3, "email": "a@b.c"}},
            {"id": "issues", "kind": "github.list_issues", "config": {"connection": github_key, "owner": "octo", "repo": "hello"}}
        ]),
        json!({}),
    )
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let customers = &step(&run, "customers")["output"];
    assert_eq!(customers["count"], 3);
    assert_eq!(customers["has_more"], true);
    assert_eq!(
        customers["items"],
        json!([{"id": "cus_1"}, {"id": "cus_2"}, {"id": "cus_3"}])
    );
    let pages = stripe.received("/v1/customers");
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].query.as_deref(), Some("email=a%40b.c&limit=3"));
    assert_eq!(
        pages[1].query.as_deref(),
        Some("email=a%40b.c&limit=3&starting_after=cus_2")
    );

    let issues = &step(&run, "issues")["output"];
    assert_eq!(
        issues["items"],
        json!([{"number": 1}, {"number": 2}, {"number": 3}])
    );
    assert_eq!(issues["has_more"], false);
    let pages = github.received("/repos/octo/hello/issues");
    assert_eq!(pages[0].query.as_deref(), Some("state=open&per_page=100"));
    assert_eq!(
        pages[1].query.as_deref(),
        Some("page=2&per_page=100&state=open")
    );
    for page in &pages {
        assert_eq!(header(page, "accept"), Some("application/vnd.github+json"));
        assert_eq!(header(page, "x-github-api-version"), Some("2022-11-28"));
        assert_eq!(header(page, "user-agent"), Some("Switchyard"));
        assert_eq!(header(page, "authorization"), Some("Bearer ghp_secret"));
    }

    // A page that fails fails the step, never a silently partial list.
    github.script(
        "/repos/octo/hello/issues",
        vec![
            Reply::json(200, json!([{"number": 1}])).header(
                "link",
                &format!(
                    "<{}>; rel=\"next\"",
                    github.url("/repos/octo/hello/issues?page=2")
                ),
            ),
            Reply::json(404, json!({"message": "Not Found"})),
        ],
    );
    let failed = run_chain(
        &ada,
        json!([{"id": "issues", "kind": "github.list_issues", "config": {"connection": github_key, "owner": "octo", "repo": "hello"}}]),
        json!({}),
    )
    .await;
    assert_eq!(failed["status"], "failed");
    let error = &step(&failed, "issues")["error"];
    assert_eq!(
        error["message"], "page 2: GitHub answered 404: Not Found",
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_reports_failures_in_the_body_and_they_fail_the_step() {
    let app = app().await;
    let slack = ScriptedServer::start().await;
    slack.script(
        "/api/chat.postMessage",
        vec![Reply::json(200, json!({"ok": true, "channel": "C024BE91L", "ts": "1503435956.000247", "message": {"text": "hi"}}))],
    );
    slack.script(
        "/api/chat.update",
        vec![Reply::json(
            200,
            json!({"ok": false, "error": "message_not_found"}),
        )],
    );
    let ada = app.user("ada@example.com").await;
    let token = connect(
        &ada,
        "slack",
        json!({"token": "xoxb-17-secret"}),
        &slack,
        "/api",
    )
    .await;
    let run = run_chain(
        &ada,
        json!([
            {"id": "post", "kind": "slack.post_message", "config": {
                "connection": token, "channel": "#sales", "text": "New customer: {{ trigger.email }}",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*{{ trigger.email }}*"}}]}},
            {"id": "edit", "kind": "slack.update_message", "config": {
                "connection": token, "channel": "{{ steps.post.output.channel }}", "ts": "{{ steps.post.output.ts }}", "text": "edited"}}
        ]),
        json!({"email": "ada@example.com"}),
    )
    .await;
    let posted = &slack.received("/api/chat.postMessage")[0];
    assert_eq!(posted.method, "POST");
    assert_eq!(
        header(posted, "authorization"),
        Some("Bearer xoxb-17-secret")
    );
    assert_eq!(
        json_body(posted),
        json!({"channel": "#sales", "text": "New customer: ada@example.com",
               "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*ada@example.com*"}}]})
    );
    assert_eq!(
        json_body(&slack.received("/api/chat.update")[0]),
        json!({"channel": "C024BE91L", "ts": "1503435956.000247", "text": "edited"})
    );
    assert_eq!(run["status"], "failed", "{run}");
    let edit = step(&run, "edit");
    assert_eq!(
        edit["error"]["message"],
        "Slack refused the request: message_not_found"
    );
    assert_eq!(edit["error"]["class"], "validation");
    assert_eq!(
        slack.received("/api/chat.update").len(),
        1,
        "a refusal is not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailchimp_twilio_and_linear_get_their_own_shapes() {
    let app = app().await;
    let remote = ScriptedServer::start().await;
    let member = "/3.0/lists/a1b2c3/members/62eeb292278cc15f5817cb78f7790b08";
    remote.script(
        member,
        vec![Reply::json(
            200,
            json!({"id": "62eeb292278cc15f5817cb78f7790b08", "status": "subscribed"}),
        )],
    );
    remote.script(
        &format!("{member}/tags"),
        vec![Reply::json(204, Value::Null)],
    );
    remote.script(
        "/2010-04-01/Accounts/AC0123456789/Messages.json",
        vec![Reply::json(201, json!({"sid": "SM1", "status": "queued"}))],
    );
    remote.script(
        "/graphql",
        vec![
            Reply::json(200, json!({"data": {"issueCreate": {"success": true, "issue": {"id": "i1", "identifier": "ENG-7", "title": "t", "url": "https://linear.app/x/ENG-7"}}}})),
            Reply::json(200, json!({"data": null, "errors": [{"message": "Entity not found: Issue", "extensions": {"code": "INVALID_INPUT"}}]})),
        ],
    );
    let ada = app.user("ada@example.com").await;
    let mailchimp = connect(
        &ada,
        "mailchimp",
        json!({"api_key": "0123abcd-us21"}),
        &remote,
        "/3.0",
    )
    .await;
    let twilio = connect(
        &ada,
        "twilio",
        json!({"account_sid": "AC0123456789", "auth_token": "tw-secret"}),
        &remote,
        "",
    )
    .await;
    let linear = connect(
        &ada,
        "linear",
        json!({"api_key": "lin_api_secret"}),
        &remote,
        "",
    )
    .await;
    let run = run_chain(
        &ada,
        json!([
            {"id": "member", "kind": "mailchimp.add_member", "config": {
                "connection": mailchimp, "list_id": "a1b2c3", "email_address": "{{ trigger.email }}",
                "merge_fields": {"FNAME": "Urist"}}},
            {"id": "tag", "kind": "mailchimp.tag_member", "config": {
                "connection": mailchimp, "list_id": "a1b2c3", "email_address": "{{ trigger.email }}", "tags": "vip, beta"}},
            {"id": "sms", "kind": "twilio.send_sms", "config": {
                "connection": twilio, "to": "+14155550100", "from": "+14155550199", "body": "Welcome {{ trigger.email }}"}},
            {"id": "issue", "kind": "linear.create_issue", "config": {
                "connection": linear, "team_id": "team-1", "title": "Follow up {{ trigger.email }}", "priority": 2}},
            {"id": "comment", "kind": "linear.create_comment", "config": {
                "connection": linear, "issue_id": "{{ steps.issue.output.identifier }}", "body": "Called"}}
        ]),
        json!({"email": "Urist.McVankab@FreddiesJokes.com"}),
    )
    .await;

    let put = &remote.received(member)[0];
    assert_eq!(put.method, "PUT");
    // Basic auth with any user name and the key as password.
    assert_eq!(
        header(put, "authorization"),
        Some("Basic c3dpdGNoeWFyZDowMTIzYWJjZC11czIx")
    );
    assert_eq!(
        json_body(put),
        json!({"email_address": "Urist.McVankab@FreddiesJokes.com", "status_if_new": "subscribed", "merge_fields": {"FNAME": "Urist"}})
    );
    assert_eq!(
        json_body(&remote.received(&format!("{member}/tags"))[0]),
        json!({"tags": [{"name": "vip", "status": "active"}, {"name": "beta", "status": "active"}]})
    );
    let sms = &remote.received("/2010-04-01/Accounts/AC0123456789/Messages.json")[0];
    assert_eq!(
        header(sms, "authorization"),
        Some("Basic QUMwMTIzNDU2Nzg5OnR3LXNlY3JldA==")
    );
    assert_eq!(
        form(sms),
        pairs(&[
            ("To", "+14155550100"),
            ("From", "+14155550199"),
            ("Body", "Welcome Urist.McVankab@FreddiesJokes.com")
        ])
    );
    let graphql = remote.received("/graphql");
    assert_eq!(header(&graphql[0], "authorization"), Some("lin_api_secret"));
    let created = json_body(&graphql[0]);
    assert!(
        created["query"]
            .as_str()
            .unwrap()
            .starts_with("mutation IssueCreate(")
    );
    assert_eq!(
        created["variables"],
        json!({"teamId": "team-1", "title": "Follow up Urist.McVankab@FreddiesJokes.com", "priority": 2})
    );
    assert_eq!(step(&run, "issue")["output"]["identifier"], "ENG-7");
    assert_eq!(
        json_body(&graphql[1])["variables"],
        json!({"issueId": "ENG-7", "body": "Called"})
    );
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(
        step(&run, "comment")["error"]["message"],
        "Linear refused the request: Entity not found: Issue"
    );
    for secret in ["0123abcd-us21", "tw-secret", "lin_api_secret"] {
        assert!(
            !run.to_string().contains(secret),
            "{secret} leaked into the run"
        );
    }
}
