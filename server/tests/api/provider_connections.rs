//! Provider connections through the API: tested against the provider (or
//! the mail server), kept to their provider; the API catalogue; e-mail
//! through Resend, SendGrid and SMTP (to a local mail server); the custom call.

use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::assert_error,
    integrations::{app, connect, form, header, json_body, pairs, run_chain, step},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_tested_and_kept_to_their_provider() {
    let app = app().await;
    let remote = ScriptedServer::start().await;
    remote.script(
        "/v1/balance",
        vec![Reply::json(200, json!({"object": "balance"}))],
    );
    remote.script(
        "/api/auth.test",
        vec![Reply::json(
            200,
            json!({"ok": false, "error": "invalid_auth"}),
        )],
    );
    let ada = app.user("ada@example.com").await;
    let stripe = connect(
        &ada,
        "stripe",
        json!({"secret_key": "sk_test_z"}),
        &remote,
        "",
    )
    .await;
    let slack = connect(&ada, "slack", json!({"token": "xoxb-bad"}), &remote, "/api").await;
    let tested: Value = ada
        .post(&format!("/connections/{stripe}/test"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(
        header(&remote.received("/v1/balance")[0], "authorization"),
        Some("Bearer sk_test_z")
    );
    let tested: Value = ada
        .post(&format!("/connections/{slack}/test"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tested["ok"], false);
    assert_eq!(tested["message"], "Slack refused the request: invalid_auth");

    let generic: Value = ada
        .post(
            "/connections",
            json!({"name": "API", "kind": "bearer", "fields": {"token": "t"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_error(
        ada.post(
            &format!("/connections/{}/test", generic["id"].as_str().unwrap()),
            json!(null),
        )
        .await,
        422,
        "invalid",
        Some("kind"),
    )
    .await;
    let bob = app.user("bob@example.com").await;
    assert_error(
        bob.post(&format!("/connections/{stripe}/test"), json!(null))
            .await,
        404,
        "not_found",
        None,
    )
    .await;
    assert_error(
        ada.post("/connections", json!({"name": "x", "kind": "stripe", "fields": {"secret_key": "k", "base_url": "ftp://x"}})).await,
        422,
        "invalid",
        Some("fields.base_url"),
    )
    .await;
    assert_error(
        ada.post(
            "/connections",
            json!({"name": "x", "kind": "twilio", "fields": {"auth_token": "k"}}),
        )
        .await,
        422,
        "invalid",
        Some("fields.account_sid"),
    )
    .await;

    // A Slack connection in a Stripe step: refused before any request.
    let run = run_chain(
        &ada,
        json!([{"id": "customer", "kind": "stripe.create_customer", "config": {"connection": slack, "email": "a@b.c"}}]),
        json!({}),
    )
    .await;
    assert_eq!(run["status"], "failed");
    assert_eq!(
        step(&run, "customer")["error"]["message"],
        "this is a slack connection; Stripe steps need a Stripe connection"
    );
    assert!(remote.received("/v1/customers").is_empty());

    // A step without a connection does not validate.
    let draft = ada
        .create_workflow(json!({"name": "x", "nodes": [{"id": "start", "kind": "manual_trigger"}, {"id": "post", "kind": "slack.post_message", "config": {"channel": "#a"}}],
               "edges": [{"source": "start", "target": "post"}]}))
        .await;
    let invalid: Value = ada
        .post(&format!("/workflows/{draft}/validate"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    let problems = invalid.to_string();
    assert!(
        problems.contains("config.connection") && problems.contains("Connection is required"),
        "{problems}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_catalogue_lists_describes_and_searches_providers() {
    let app = app().await;
    let ada = app.user("ada@example.com").await;
    let listed: Value = ada.get("/apis").await.json().await.unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    for id in [
        "stripe",
        "slack",
        "mailchimp",
        "github",
        "twilio",
        "resend",
        "sendgrid",
        "linear",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let stripe: Value = ada.get("/apis/stripe").await.json().await.unwrap();
    assert_eq!(stripe["name"], "Stripe");
    assert_eq!(stripe["connection"]["auth"]["type"], "bearer");
    assert_eq!(stripe["rate_limit"]["per_second"], 25.0);
    let create = stripe["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "create_customer")
        .unwrap();
    assert_eq!(create["method"], "POST");
    assert_eq!(
        create["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "email")
            .unwrap()["place"]["in"],
        "body"
    );
    assert!(
        create["output"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "id")
    );
    assert!(
        stripe["kinds"]
            .as_array()
            .unwrap()
            .contains(&json!("stripe.request"))
    );
    assert!(
        stripe["events"]
            .as_array()
            .unwrap()
            .contains(&json!("customer.created"))
    );

    let sms: Value = ada.get("/apis/search?q=sms").await.json().await.unwrap();
    assert_eq!(sms[0]["id"], "twilio", "{sms}");
    let email: Value = ada.get("/apis/search?q=email").await.json().await.unwrap();
    let found: Vec<&str> = email
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        found.contains(&"resend") && found.contains(&"sendgrid") && found.contains(&"mailchimp"),
        "{found:?}"
    );
    assert_error(ada.get("/apis/search?q=").await, 422, "invalid", Some("q")).await;
    assert_error(ada.get("/apis/myspace").await, 404, "not_found", None).await;
    let anonymous = reqwest::get(format!("{}/api/v1/apis", app.address))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // The node catalogue carries each action's output for the variable picker.
    let kinds: Value = ada.get("/node-kinds").await.json().await.unwrap();
    let post = kinds["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "slack.post_message")
        .unwrap();
    assert_eq!(post["provider"], "slack");
    assert_eq!(
        post["fields"][0]["type"],
        json!({"kind": "connection", "provider": "slack"})
    );
    assert!(
        post["output"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "ts")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_sends_through_the_mail_server_and_reports_its_refusals() {
    let app = app().await;
    let mail = testkit::SmtpServer::start("mailer", "smtp-s3cret").await;
    let ada = app.user("ada@example.com").await;
    let fields = |password: &str| {
        json!({"host": "127.0.0.1", "port": mail.port.to_string(), "security": "none",
               "username": "mailer", "password": password, "from": "Acme <hi@acme.test>"})
    };
    let create = |fields: Value| {
        ada.post(
            "/connections",
            json!({"name": "Mail", "kind": "smtp", "fields": fields}),
        )
    };
    let good: Value = create(fields("smtp-s3cret")).await.json().await.unwrap();
    let bad: Value = create(fields("wrong")).await.json().await.unwrap();
    let (good, bad) = (
        good["id"].as_str().unwrap().to_owned(),
        bad["id"].as_str().unwrap().to_owned(),
    );

    let tested: Value = ada
        .post(&format!("/connections/{good}/test"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tested["ok"], true, "{tested}");
    let refused: Value = ada
        .post(&format!("/connections/{bad}/test"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused["ok"], false);
    assert!(
        refused["message"].as_str().unwrap().contains("535"),
        "{refused}"
    );

    let run = run_chain(
        &ada,
        json!([{"id": "welcome", "kind": "smtp.send_email", "config": {
            "connection": good, "to": "Ada <{{ trigger.email }}>, bob@example.com", "cc": ["carol@example.com"],
            "subject": "Welcome, {{ trigger.name }}", "text": "Hello {{ trigger.name }}", "html": "<p>Hello <b>{{ trigger.name }}</b></p>"}}]),
        json!({"email": "ada@example.com", "name": "Ada"}),
    )
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let sent = &mail.mails()[0];
    assert_eq!(sent.login.as_deref(), Some("mailer:smtp-s3cret"));
    assert_eq!(sent.from, "hi@acme.test");
    assert_eq!(
        sent.to,
        ["ada@example.com", "bob@example.com", "carol@example.com"]
    );
    for part in [
        "Subject: Welcome, Ada",
        "From: Acme <hi@acme.test>",
        "text/plain",
        "Hello Ada",
        "text/html",
        "<p>Hello <b>Ada</b></p>",
    ] {
        assert!(
            sent.data.contains(part),
            "{part} missing from {}",
            sent.data
        );
    }
    let output = &step(&run, "welcome")["output"];
    let execution = run["id"].as_str().unwrap();
    assert_eq!(
        output["message_id"],
        format!("<{}.welcome@switchyard.invalid>", execution)
    );
    assert!(
        sent.data.contains(output["message_id"].as_str().unwrap()),
        "{}",
        sent.data
    );
    assert!(
        !run.to_string().contains("smtp-s3cret"),
        "no secret in the run"
    );

    // A recipient the server refuses (5xx) fails the step without retrying.
    let refused_run = run_chain(
        &ada,
        json!([{"id": "welcome", "kind": "smtp.send_email", "config": {
            "connection": good, "to": "reject@example.com", "subject": "x", "text": "x"}}]),
        json!({}),
    )
    .await;
    assert_eq!(refused_run["status"], "failed");
    let error = &step(&refused_run, "welcome")["error"];
    assert_eq!(error["class"], "validation", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("550"),
        "{error}"
    );
    assert_eq!(mail.mails().len(), 1, "nothing else was delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_apis_and_the_custom_call() {
    let app = app().await;
    let remote = ScriptedServer::start().await;
    remote.script(
        "/emails",
        vec![Reply::json(
            200,
            json!({"id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}),
        )],
    );
    remote.script(
        "/v3/mail/send",
        vec![Reply::json(202, Value::Null).header("x-message-id", "sg-1")],
    );
    remote.script(
        "/v1/products",
        vec![Reply::json(200, json!({"id": "prod_1"}))],
    );
    let ada = app.user("ada@example.com").await;
    let resend = connect(&ada, "resend", json!({"api_key": "re_secret"}), &remote, "").await;
    let sendgrid = connect(
        &ada,
        "sendgrid",
        json!({"api_key": "SG.secret"}),
        &remote,
        "",
    )
    .await;
    let stripe = connect(
        &ada,
        "stripe",
        json!({"secret_key": "sk_test_y"}),
        &remote,
        "",
    )
    .await;
    let run = run_chain(
        &ada,
        json!([
            {"id": "resend", "kind": "resend.send_email", "config": {
                "connection": resend, "from": "Acme <hi@acme.test>", "to": ["ada@example.com"], "subject": "Hi", "html": "<p>Hi</p>"}},
            {"id": "sendgrid", "kind": "sendgrid.send_email", "config": {
                "connection": sendgrid, "from": "hi@acme.test", "from_name": "Acme", "to": "ada@example.com, bob@example.com",
                "subject": "Hi", "text": "Hi", "html": "<p>Hi</p>"}},
            {"id": "custom", "kind": "stripe.request", "config": {
                "connection": stripe, "method": "POST", "path": "/v1/products", "body": {"name": "Gold", "metadata": {"tier": "1"}}}}
        ]),
        json!({}),
    )
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let resend_call = &remote.received("/emails")[0];
    assert_eq!(
        header(resend_call, "authorization"),
        Some("Bearer re_secret")
    );
    assert!(header(resend_call, "idempotency-key").is_some());
    assert_eq!(
        json_body(resend_call),
        json!({"from": "Acme <hi@acme.test>", "to": ["ada@example.com"], "subject": "Hi", "html": "<p>Hi</p>"})
    );
    assert_eq!(
        json_body(&remote.received("/v3/mail/send")[0]),
        json!({
            "personalizations": [{"to": [{"email": "ada@example.com"}, {"email": "bob@example.com"}]}],
            "from": {"email": "hi@acme.test", "name": "Acme"},
            "subject": "Hi",
            "content": [{"type": "text/plain", "value": "Hi"}, {"type": "text/html", "value": "<p>Hi</p>"}]
        })
    );
    let sent = &step(&run, "sendgrid")["output"];
    assert_eq!(sent["status"], 202);
    assert_eq!(sent["headers"]["x-message-id"], "sg-1");
    let custom = &remote.received("/v1/products")[0];
    assert_eq!(
        form(custom),
        pairs(&[("name", "Gold"), ("metadata[tier]", "1")])
    );
    assert_eq!(header(custom, "authorization"), Some("Bearer sk_test_y"));
    assert!(header(custom, "idempotency-key").is_some());
    assert_eq!(step(&run, "custom")["output"]["body"]["id"], "prod_1");
}
