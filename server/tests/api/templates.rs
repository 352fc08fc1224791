//! The template gallery: every template, used by an account with a
//! connection for each provider it needs (local servers standing in for
//! the providers, a local SMTP server for e-mail), validates, activates and
//! runs on its sample input, making the requests the real APIs expect.

use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer, SmtpServer};

use crate::{
    helpers::{Backend, TestApp, User, assert_error, spawn_app},
    integrations::{form, header, json_body, step},
    on_both_backends,
};

/// The stand-ins: one HTTP server (each provider below `/<provider>`)
/// and one mail server.
pub(crate) struct Fakes {
    pub(crate) remote: ScriptedServer,
    pub(crate) mail: SmtpServer,
}

impl Fakes {
    pub(crate) async fn start() -> Fakes {
        Fakes {
            remote: ScriptedServer::start().await,
            mail: SmtpServer::start("mailer", "smtp-s3cret").await,
        }
    }

    pub(crate) fn reply(&self, path: &str, reply: Reply) {
        self.remote.script(path, vec![reply]);
    }

    fn one(&self, path: &str) -> testkit::Received {
        let received = self.remote.received(path);
        assert_eq!(
            received.len(),
            1,
            "one request to {path}: {:?}",
            received
                .iter()
                .map(|r| (&r.method, &r.body))
                .collect::<Vec<_>>()
        );
        received.into_iter().next().unwrap()
    }

    pub(crate) fn fields(&self, provider: &str) -> Value {
        let mut fields = match provider {
            "stripe" => json!({"secret_key": "sk_test_template"}),
            "slack" => json!({"token": "xoxb-template"}),
            "mailchimp" => json!({"api_key": "0123abcd-us21"}),
            "github" => json!({"token": "ghp_template"}),
            "twilio" => json!({"account_sid": "AC0123456789", "auth_token": "tw-secret"}),
            "linear" => json!({"api_key": "lin_api_template"}),
            "sendgrid" => json!({"api_key": "SG.template"}),
            "resend" => json!({"api_key": "re_template"}),
            "smtp" => {
                return json!({"host": "127.0.0.1", "port": self.mail.port.to_string(), "security": "none",
                       "username": "mailer", "password": "smtp-s3cret", "from": "Acme <hi@acme.test>"});
            }
            other => panic!("no fake for {other}"),
        };
        fields["base_url"] = json!(self.remote.url(&format!("/{provider}")));
        fields
    }
}

fn slack_ok(fakes: &Fakes) {
    fakes.reply(
        "/slack/chat.postMessage",
        Reply::json(
            200,
            json!({"ok": true, "channel": "C0LAN2Q65", "ts": "1733302900.000300"}),
        ),
    );
}

fn slack_text(fakes: &Fakes) -> (String, Value) {
    let posted = fakes.one("/slack/chat.postMessage");
    assert_eq!(
        header(&posted, "authorization"),
        Some("Bearer xoxb-template")
    );
    let body = json_body(&posted);
    (body["text"].as_str().unwrap().to_owned(), body)
}

/// Scripts the providers for one template; the inputs to use it with.
pub(crate) fn arrange(id: &str, fakes: &Fakes) -> Value {
    let issue = json!({"id": 1, "number": 57, "title": "t", "html_url": "https://github.com/acme/app/issues/57"});
    match id {
        "stripe-customer-to-mailchimp-and-slack" => {
            fakes.reply(
                "/mailchimp/lists/list42/members/3e3417d7ef77d5932a6734b916515ed5",
                Reply::json(200, json!({"id": "3e34", "email_address": "ada@example.com", "status": "subscribed"})),
            );
            slack_ok(fakes);
            json!({"list_id": "list42", "channel": "#sales"})
        }
        "failed-payment-to-github-issue-and-sms" => {
            fakes.reply("/github/repos/acme/billing/issues", Reply::json(201, issue));
            fakes.reply(
                "/twilio/2010-04-01/Accounts/AC0123456789/Messages.json",
                Reply::json(201, json!({"sid": "SM1", "status": "queued"})),
            );
            json!({"owner": "acme", "repo": "billing", "on_call": "+14155550123", "from": "+14155550199"})
        }
        "github-issue-to-linear" => {
            fakes.reply(
                "/linear/graphql",
                Reply::json(200, json!({"data": {"issueCreate": {"success": true, "issue": {
                    "id": "i1", "identifier": "ENG-7", "title": "Export fails on empty lists", "url": "https://linear.app/acme/issue/ENG-7"}}}})),
            );
            fakes.reply(
                "/github/repos/acme/app/issues/42/comments",
                Reply::json(201, json!({"id": 9, "body": "Tracked"})),
            );
            json!({"team_id": "team-1", "secret": "gh-hook-secret"})
        }
        "daily-url-health-check" => {
            fakes.reply(
                "/site/health",
                Reply::json(503, json!({"status": "database unreachable"})),
            );
            slack_ok(fakes);
            json!({"url": fakes.remote.url("/site/health"), "channel": "#ops", "timezone": "Europe/Berlin"})
        }
        "form-to-email-and-slack" => {
            slack_ok(fakes);
            json!({"to": "sales@acme.test", "channel": "#leads"})
        }
        "nightly-stripe-customers-export" => {
            fakes.reply(
                "/stripe/v1/customers",
                Reply::json(
                    200,
                    json!({"object": "list", "has_more": false, "data": [
                    {"id": "cus_2", "email": "grace@example.com", "created": 1796430000},
                    {"id": "cus_1", "email": "ada@example.com", "created": 1796400000}]}),
                ),
            );
            fakes.reply("/warehouse/stripe", Reply::json(200, json!({"loaded": 2})));
            json!({"url": fakes.remote.url("/warehouse/stripe"), "timezone": "UTC"})
        }
        "stripe-refund-to-slack" => {
            slack_ok(fakes);
            json!({"channel": "#finance"})
        }
        "large-payment-alert" => {
            fakes.reply("/sendgrid/v3/mail/send", Reply::json(202, json!(null)));
            slack_ok(fakes);
            json!({"manager": "am@acme.test", "sender": "billing@acme.test", "channel": "#wins"})
        }
        "signup-to-stripe-and-mailchimp" => {
            fakes.reply(
                "/stripe/v1/customers",
                Reply::json(
                    200,
                    json!({"id": "cus_KJ", "email": "katherine@example.com"}),
                ),
            );
            let member = "/mailchimp/lists/list42/members/3a0a40fd8b8d75be79a1ac577e4b77f1";
            fakes.reply(
                member,
                Reply::json(200, json!({"id": "3a0a", "status": "subscribed"})),
            );
            fakes.reply(&format!("{member}/tags"), Reply::json(204, json!(null)));
            json!({"list_id": "list42"})
        }
        "github-pull-request-to-slack" => {
            slack_ok(fakes);
            json!({"channel": "#code-review", "secret": "gh-hook-secret"})
        }
        "weekly-github-issues-digest" => {
            let issues: Vec<Value> = (1..=8)
                .rev()
                .map(|n| json!({"number": n, "title": format!("Issue {n}"), "html_url": format!("https://github.com/acme/app/issues/{n}")}))
                .collect();
            fakes.reply(
                "/github/repos/acme/app/issues",
                Reply::json(200, json!(issues)),
            );
            slack_ok(fakes);
            json!({"owner": "acme", "repo": "app", "channel": "#engineering", "timezone": "UTC"})
        }
        "slack-mention-to-github-issue" => {
            fakes.reply("/github/repos/acme/app/issues", Reply::json(201, issue));
            slack_ok(fakes);
            json!({"owner": "acme", "repo": "app", "signing_secret": "slack-signing-secret"})
        }
        "incoming-sms-to-slack" => {
            slack_ok(fakes);
            json!({"channel": "#support", "auth_token": "tw-secret"})
        }
        other => panic!("template {other} has no test: add its case here"),
    }
}

/// What each template's run must have done.
fn assert_effects(id: &str, fakes: &Fakes, run: &Value) {
    match id {
        "stripe-customer-to-mailchimp-and-slack" => {
            let member =
                fakes.one("/mailchimp/lists/list42/members/3e3417d7ef77d5932a6734b916515ed5");
            assert_eq!(member.method, "PUT");
            assert_eq!(
                json_body(&member),
                json!({"email_address": "ada@example.com", "status_if_new": "subscribed", "status": "subscribed", "merge_fields": {"FNAME": "Ada Lovelace"}})
            );
            let (text, body) = slack_text(fakes);
            assert_eq!(body["channel"], "#sales");
            assert_eq!(text, "New customer: Ada Lovelace <ada@example.com>");
        }
        "failed-payment-to-github-issue-and-sms" => {
            let issue = json_body(&fakes.one("/github/repos/acme/billing/issues"));
            assert_eq!(issue["title"], "Payment failed: ada@example.com (49.0 EUR)");
            assert_eq!(issue["labels"], json!(["billing", "payment-failed"]));
            let sms = form(&fakes.one("/twilio/2010-04-01/Accounts/AC0123456789/Messages.json"));
            assert_eq!(sms["To"], "+14155550123");
            assert_eq!(sms["From"], "+14155550199");
            assert_eq!(
                sms["Body"],
                "Payment failed for ada@example.com: https://github.com/acme/app/issues/57"
            );
        }
        "github-issue-to-linear" => {
            let created = json_body(&fakes.one("/linear/graphql"));
            assert_eq!(created["variables"]["teamId"], "team-1");
            assert_eq!(created["variables"]["title"], "Export fails on empty lists");
            let comment = json_body(&fakes.one("/github/repos/acme/app/issues/42/comments"));
            assert_eq!(
                comment["body"],
                "Tracked in Linear as ENG-7: https://linear.app/acme/issue/ENG-7"
            );
        }
        "daily-url-health-check" => {
            assert_eq!(
                fakes.remote.received("/site/health").len(),
                3,
                "retried twice"
            );
            assert_eq!(step(run, "check")["status"], "failed");
            let (text, body) = slack_text(fakes);
            assert_eq!(body["channel"], "#ops");
            assert!(text.starts_with(":rotating_light: Daily health check failed at 2026-12-04T08:00:00+00:00 (transient): "), "{text}");
            assert!(text.contains("503"), "{text}");
        }
        "form-to-email-and-slack" => {
            let mails = fakes.mail.mails();
            assert_eq!(mails.len(), 1);
            assert_eq!(mails[0].to, ["sales@acme.test"]);
            assert!(
                mails[0]
                    .data
                    .contains("Subject: New enquiry from Grace Hopper"),
                "{}",
                mails[0].data
            );
            assert!(
                mails[0].data.contains("Reply-To: grace@example.com"),
                "{}",
                mails[0].data
            );
            assert!(mails[0].data.contains("We would like a demo."));
            let (text, _) = slack_text(fakes);
            assert_eq!(
                text,
                "New enquiry from *Grace Hopper* (grace@example.com): We would like a demo."
            );
        }
        "nightly-stripe-customers-export" => {
            let listed = fakes.one("/stripe/v1/customers");
            assert_eq!(listed.method, "GET");
            let query: std::collections::BTreeMap<String, String> =
                url::form_urlencoded::parse(listed.query.as_deref().unwrap_or("").as_bytes())
                    .into_owned()
                    .collect();
            assert_eq!(query["created[gte]"], (1796436000 - 86400).to_string());
            let export = fakes.one("/warehouse/stripe");
            assert_eq!(export.method, "POST");
            assert!(header(&export, "idempotency-key").is_some());
            let body = json_body(&export);
            assert_eq!(body["count"], 2);
            assert_eq!(body["exported_at"], "2026-12-04T02:00:00+00:00");
            assert_eq!(body["customers"][0]["id"], "cus_2");
        }
        "stripe-refund-to-slack" => {
            let (text, _) = slack_text(fakes);
            assert_eq!(
                text,
                "Refunded 45.00 USD of 120.00 to ada@example.com (Annual plan)"
            );
        }
        "large-payment-alert" => {
            let mail = json_body(&fakes.one("/sendgrid/v3/mail/send"));
            assert_eq!(
                mail["personalizations"][0]["to"],
                json!([{"email": "am@acme.test"}])
            );
            assert_eq!(mail["from"]["email"], "billing@acme.test");
            assert_eq!(mail["subject"], "Large payment: 2500 USD");
            let (text, _) = slack_text(fakes);
            assert_eq!(text, ":tada: 2500 USD from ada@example.com");
        }
        "signup-to-stripe-and-mailchimp" => {
            let customer = fakes.one("/stripe/v1/customers");
            let customer_form = form(&customer);
            assert_eq!(customer_form["email"], "katherine@example.com");
            assert_eq!(customer_form["metadata[plan]"], "pro");
            assert!(header(&customer, "idempotency-key").is_some());
            let member = "/mailchimp/lists/list42/members/3a0a40fd8b8d75be79a1ac577e4b77f1";
            assert_eq!(
                json_body(&fakes.one(member))["merge_fields"],
                json!({"FNAME": "Katherine"})
            );
            let tags = json_body(&fakes.one(&format!("{member}/tags")));
            assert_eq!(
                tags["tags"],
                json!([{"name": "pro", "status": "active"}, {"name": "stripe:cus_KJ", "status": "active"}])
            );
        }
        "github-pull-request-to-slack" => {
            let (text, _) = slack_text(fakes);
            assert_eq!(
                text,
                ":eyes: grace asks for a review of <https://github.com/acme/app/pull/7|acme/app#7: Faster exports>"
            );
        }
        "weekly-github-issues-digest" => {
            let listed = fakes.one("/github/repos/acme/app/issues");
            assert!(listed.query.as_deref().unwrap_or("").contains("state=open"));
            let (text, _) = slack_text(fakes);
            assert_eq!(
                text,
                "8 open issues. The oldest:\n• <https://github.com/acme/app/issues/1|#1> Issue 1\n• <https://github.com/acme/app/issues/2|#2> Issue 2\n• <https://github.com/acme/app/issues/3|#3> Issue 3\n• <https://github.com/acme/app/issues/4|#4> Issue 4\n• <https://github.com/acme/app/issues/5|#5> Issue 5"
            );
        }
        "slack-mention-to-github-issue" => {
            let issue = json_body(&fakes.one("/github/repos/acme/app/issues"));
            assert_eq!(
                issue["title"],
                "@U0LAN0Z89> the export button does nothing on Safari"
            );
            let (text, body) = slack_text(fakes);
            assert_eq!(body["thread_ts"], "1733302800.000200");
            assert_eq!(body["channel"], "C0LAN2Q65");
            assert_eq!(text, "Filed as https://github.com/acme/app/issues/57");
        }
        "incoming-sms-to-slack" => {
            let (text, _) = slack_text(fakes);
            assert_eq!(
                text,
                ":speech_balloon: SMS from +14155550123: Is my order shipped?"
            );
        }
        other => panic!("template {other} has no test"),
    }
}

pub(crate) async fn connect_all(user: &User, fakes: &Fakes, providers: &Value) {
    for provider in providers.as_array().unwrap() {
        let provider = provider.as_str().unwrap();
        let created = user
            .post(
                "/connections",
                json!({"name": format!("{provider} (test)"), "kind": provider, "fields": fakes.fields(provider)}),
            )
            .await;
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_template_validates_activates_and_runs_against_local_providers() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let listed: Value = app
        .user("gallery@example.com")
        .await
        .get("/templates")
        .await
        .json()
        .await
        .unwrap();
    let templates = listed["items"].as_array().unwrap();
    assert!(templates.len() >= 10, "{} templates", templates.len());
    for (i, summary) in templates.iter().enumerate() {
        let id = summary["id"].as_str().unwrap();
        let user = app.user(&format!("templates{i}@example.com")).await;
        let fakes = Fakes::start().await;
        fakes.reply(
            "/stripe/v1/webhook_endpoints",
            Reply::json(200, json!({"id": "we_1", "secret": "whsec_template"})),
        );
        connect_all(&user, &fakes, &summary["connections"]).await;
        let inputs = arrange(id, &fakes);
        let used = user
            .post(&format!("/templates/{id}/use"), json!({"inputs": inputs}))
            .await;
        assert_eq!(used.status(), 201, "{id}: {}", used.text().await.unwrap());
        let used: Value = used.json().await.unwrap();
        assert_eq!(used["missing_connections"], json!([]), "{id}");
        assert_eq!(used["needs_input"], json!([]), "{id}");
        let workflow = used["workflow_id"].as_str().unwrap();

        let report: Value = user
            .post(&format!("/workflows/{workflow}/validate"), json!(null))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["valid"], true, "{id}: {report}");
        assert_eq!(report["problems"], json!([]), "{id}");
        let activated = user
            .post(&format!("/workflows/{workflow}/activate"), json!(null))
            .await;
        assert_eq!(
            activated.status(),
            200,
            "{id}: {}",
            activated.text().await.unwrap()
        );

        let template: Value = user
            .get(&format!("/templates/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let started = user
            .post(
                &format!("/workflows/{workflow}/execute"),
                template["sample_input"].clone(),
            )
            .await;
        assert_eq!(
            started.status(),
            202,
            "{id}: {}",
            started.text().await.unwrap()
        );
        let started: Value = started.json().await.unwrap();
        let run = user
            .finished_run(started["execution_id"].as_str().unwrap())
            .await;
        assert_eq!(run["status"], "succeeded", "{id}: {run}");
        assert_effects(id, &fakes, &run);
    }
}

on_both_backends!(using_a_template_fills_connections_and_names_what_is_missing);

async fn using_a_template_fills_connections_and_names_what_is_missing(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let fakes = Fakes::start().await;
    connect_all(&ada, &fakes, &json!(["slack"])).await;
    let used = ada
        .post(
            "/templates/stripe-customer-to-mailchimp-and-slack/use",
            json!({"name": "Greet customers", "inputs": {"channel": "#welcome"}}),
        )
        .await;
    assert_eq!(used.status(), 201);
    let used: Value = used.json().await.unwrap();
    let missing: Vec<&str> = used["missing_connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["provider"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["stripe", "mailchimp"]);
    assert_eq!(used["needs_input"][0]["field"], "config.list_id");
    assert_eq!(used["needs_input"].as_array().unwrap().len(), 1);

    let draft: Value = ada
        .get(&format!(
            "/workflows/{}",
            used["workflow_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["name"], "Greet customers");
    let announce = draft["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "announce")
        .unwrap();
    assert_eq!(announce["config"]["channel"], "#welcome");
    assert!(announce["config"]["connection"].is_string(), "{announce}");
    let unconnected: Vec<&str> = draft["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["field"] == "config.connection")
        .map(|p| p["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(unconnected, ["subscribe"]);

    let unknown = ada.post("/templates/no-such-template/use", json!({})).await;
    assert_eq!(unknown.status(), 404);
    let bad = ada
        .post(
            "/templates/daily-url-health-check/use",
            json!({"inputs": {"channnel": "#ops"}}),
        )
        .await;
    assert_error(bad, 422, "invalid", Some("inputs")).await;
}
