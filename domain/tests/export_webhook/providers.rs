//! Deliveries to providers' triggers: Stripe, GitHub, Slack, Linear and
//! Twilio, each with its own signature scheme, event types and delivery ids.

use serde_json::json;

use super::*;

#[test]
fn stripe_deliveries() {
    const SECRET: &str = "whsec_test_secret";
    let driver = Driver::start(
        "stripe",
        json!([{"name": "stripe", "trigger": {"kind": "stripe.trigger", "config": {"events": ["customer.created"]}, "secret": SECRET}}]),
    );
    let signed = |t: i64, body: &str| {
        // Several v1 signatures are allowed (while a secret is rolled).
        format!(
            "t={t},v1={},v1={},v0=ignored",
            "00".repeat(32),
            sha256_hex(SECRET, format!("{t}.{body}").as_bytes())
        )
    };
    let body =
        r#"{"id":"evt_1","type":"customer.created","data":{"object":{"email":"ada@example.com"}}}"#;
    let signature = signed(NOW - 10, body);
    let sent = [
        ("content-type", "application/json"),
        ("stripe-signature", signature.as_str()),
    ];
    let first = driver.accepted(&driver.post("stripe", &sent, body.as_bytes()));
    assert_same(
        &first["delivery"],
        &json!({
            "payload": {
                "method": "POST",
                "headers": headers(&sent, body.len()),
                "query": {},
                "body": {"id": "evt_1", "type": "customer.created", "data": {"object": {"email": "ada@example.com"}}},
                "event": "customer.created",
            },
            "idempotencyKey": "delivery:evt_1",
        }),
    );
    // Stripe resending the same event: its first run answers.
    driver.duplicate(&driver.post("stripe", &sent, body.as_bytes()), &first);

    let tampered = body.replace("ada@", "eve@");
    driver
        .post("stripe", &sent, tampered.as_bytes())
        .assert_refused_signature("the signature does not match");
    let stale = signed(NOW - 301, body);
    driver
        .post(
            "stripe",
            &[
                ("content-type", "application/json"),
                ("stripe-signature", &stale),
            ],
            body.as_bytes(),
        )
        .assert_refused_signature("the signed timestamp is more than 300 s away from now");
    driver
        .post(
            "stripe",
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .assert_refused_signature("the stripe-signature header is missing");
    driver
        .post(
            "stripe",
            &[("stripe-signature", &format!("t={NOW}"))],
            body.as_bytes(),
        )
        .assert_refused_signature("the signature header is malformed: no v1=");

    // Without an event id, the same signed content again is a replay; signed
    // anew (another timestamp), it is a new delivery.
    let anonymous = r#"{"type":"customer.created","data":{}}"#;
    let once = signed(NOW - 5, anonymous);
    let sent = [
        ("content-type", "application/json"),
        ("stripe-signature", once.as_str()),
    ];
    let run = driver.accepted(&driver.post("stripe", &sent, anonymous.as_bytes()));
    assert_eq!(run["delivery"].get("idempotencyKey"), None);
    driver
        .post("stripe", &sent, anonymous.as_bytes())
        .assert_replayed();
    let again = signed(NOW - 4, anonymous);
    driver.accepted(&driver.post(
        "stripe",
        &[
            ("content-type", "application/json"),
            ("stripe-signature", &again),
        ],
        anonymous.as_bytes(),
    ));

    let other = r#"{"id":"evt_2","type":"invoice.paid"}"#;
    driver
        .post(
            "stripe",
            &[
                ("content-type", "application/json"),
                ("stripe-signature", &signed(NOW, other)),
            ],
            other.as_bytes(),
        )
        .assert_ignored("invoice.paid");
    driver
        .send("stripe", "GET", "/", &[], b"")
        .assert_method_not_allowed("POST");
    driver.finish(&[SECRET]);
}

#[test]
fn github_deliveries() {
    // From GitHub's "Validating webhook deliveries".
    const SECRET: &str = "It's a Secret to Everybody";
    const DOCUMENTED: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let driver = Driver::start(
        "github",
        json!([{"name": "github", "trigger": {"kind": "github.trigger", "config": {"events": ["push", "issues"]}, "secret": SECRET}}]),
    );
    let sent = [
        ("content-type", "text/plain"),
        ("x-github-event", "push"),
        ("x-github-delivery", "d-1"),
        ("x-hub-signature-256", DOCUMENTED),
    ];
    let first = driver.accepted(&driver.post("github", &sent, b"Hello, World!"));
    assert_same(
        &first["delivery"],
        &json!({
            "payload": {"method": "POST", "headers": headers(&sent, 13), "query": {}, "body": "Hello, World!", "event": "push"},
            "idempotencyKey": "delivery:d-1",
        }),
    );
    // GitHub redelivering: the first run answers.
    driver.duplicate(&driver.post("github", &sent, b"Hello, World!"), &first);
    // The same signed body under another delivery id: a replay.
    let mut replayed = sent;
    replayed[2] = ("x-github-delivery", "d-2");
    driver
        .post("github", &replayed, b"Hello, World!")
        .assert_replayed();
    driver
        .post("github", &sent, b"Hello, World?")
        .assert_refused_signature("the signature does not match");
    driver
        .post("github", &sent[..3], b"Hello, World!")
        .assert_refused_signature("the x-hub-signature-256 header is missing");
    driver
        .post(
            "github",
            &[
                ("x-github-event", "push"),
                ("x-hub-signature-256", "sha1=00"),
            ],
            b"Hello, World!",
        )
        .assert_refused_signature("the signature header is malformed: expected sha256=");

    let body = r#"{"action":"opened","issue":{"number":7}}"#;
    let signature = format!("sha256={}", sha256_hex(SECRET, body.as_bytes()));
    let sent = [
        ("content-type", "application/json"),
        ("x-github-event", "issues"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let run = driver.accepted(&driver.post("github", &sent, body.as_bytes()));
    assert_same(
        &run["delivery"],
        &json!({"payload": {"method": "POST", "headers": headers(&sent, body.len()), "query": {},
                            "body": {"action": "opened", "issue": {"number": 7}}, "event": "issues"}}),
    );
    driver
        .post("github", &sent, body.as_bytes())
        .assert_replayed();

    let star = r#"{"action":"created"}"#;
    let signature = format!("sha256={}", sha256_hex(SECRET, star.as_bytes()));
    driver
        .post(
            "github",
            &[
                ("content-type", "application/json"),
                ("x-github-event", "star"),
                ("x-hub-signature-256", &signature),
            ],
            star.as_bytes(),
        )
        .assert_ignored("star");
    driver
        .send("github", "PUT", "/", &[], b"")
        .assert_method_not_allowed("POST");
    driver.finish(&[SECRET]);
}

#[test]
fn slack_deliveries() {
    // Slack's "Verifying requests from Slack" example.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    let driver = Driver::start(
        "slack",
        json!([{"name": "slack", "trigger": {"kind": "slack.trigger", "config": {"events": ["app_mention"]}, "secret": SECRET}}]),
    );
    let signed = |t: i64, body: &str| {
        format!(
            "v0={}",
            sha256_hex(SECRET, format!("v0:{t}:{body}").as_bytes())
        )
    };
    let post = |t: i64, signature: &str, body: &str| {
        driver.post(
            "slack",
            &[
                ("content-type", "application/json"),
                ("x-slack-request-timestamp", &t.to_string()),
                ("x-slack-signature", signature),
            ],
            body.as_bytes(),
        )
    };

    let check = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let reply = post(NOW, &signed(NOW, check), check);
    assert_eq!(
        (reply.status, &reply.body),
        (
            200,
            &json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
        )
    );

    let mention = r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","text":"<@U1> hi"}}"#;
    let signature = signed(NOW - 1, mention);
    let first = driver.accepted(&post(NOW - 1, &signature, mention));
    let sent = [
        ("content-type", "application/json"),
        ("x-slack-request-timestamp", "1699999999"),
        ("x-slack-signature", signature.as_str()),
    ];
    assert_same(
        &first["delivery"],
        &json!({
            "payload": {"method": "POST", "headers": headers(&sent, mention.len()), "query": {},
                        "body": {"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention", "text": "<@U1> hi"}},
                        "event": "app_mention"},
            "idempotencyKey": "delivery:Ev1",
        }),
    );
    driver.duplicate(&post(NOW - 1, &signature, mention), &first);
    post(NOW - 1, &signature, &mention.replace("hi", "ho"))
        .assert_refused_signature("the signature does not match");
    post(NOW - 301, &signed(NOW - 301, mention), mention)
        .assert_refused_signature("the signed timestamp is more than 300 s away from now");
    // Slack's own example, signed long ago.
    driver
        .post(
            "slack",
            &[
                ("x-slack-request-timestamp", "1531420618"),
                (
                    "x-slack-signature",
                    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                ),
            ],
            b"token=xyzz0WbapA4vBCDEFasx0q6G",
        )
        .assert_refused_signature("the signed timestamp is more than 300 s away from now");
    driver
        .post(
            "slack",
            &[("x-slack-request-timestamp", &NOW.to_string())],
            mention.as_bytes(),
        )
        .assert_refused_signature("the x-slack-signature header is missing");

    let unnamed = r#"{"type":"event_callback","event":{"type":"app_mention","text":"again"}}"#;
    let signature = signed(NOW, unnamed);
    driver.accepted(&post(NOW, &signature, unnamed));
    post(NOW, &signature, unnamed).assert_replayed();

    let message = r#"{"type":"event_callback","event_id":"Ev2","event":{"type":"message"}}"#;
    post(NOW, &signed(NOW, message), message).assert_ignored("message");
    driver
        .send("slack", "GET", "/", &[], b"")
        .assert_method_not_allowed("POST");
    driver.finish(&[SECRET]);
}

#[test]
fn linear_deliveries() {
    const SECRET: &str = "lin_wh_secret";
    let driver = Driver::start(
        "linear",
        json!([{"name": "linear", "trigger": {"kind": "linear.trigger", "config": {"events": ["Issue.create"]}, "secret": SECRET}}]),
    );
    let body = r#"{"action":"create","type":"Issue"}"#;
    let signature = sha256_hex(SECRET, body.as_bytes());
    // The value Switchyard's own test has for this body.
    assert_eq!(
        signature,
        "a7bba58b65016c49731160ce8b989d0ca1f59132af4325a869c25a5740179f91"
    );
    let sent = [
        ("content-type", "application/json; charset=utf-8"),
        ("linear-delivery", "ld-1"),
        ("linear-signature", signature.as_str()),
    ];
    let first = driver.accepted(&driver.post("linear", &sent, body.as_bytes()));
    assert_same(
        &first["delivery"],
        &json!({
            "payload": {"method": "POST", "headers": headers(&sent, body.len()), "query": {},
                        "body": {"action": "create", "type": "Issue"}, "event": "Issue.create"},
            "idempotencyKey": "delivery:ld-1",
        }),
    );
    driver.duplicate(&driver.post("linear", &sent, body.as_bytes()), &first);
    let mut replayed = sent;
    replayed[1] = ("linear-delivery", "ld-2");
    driver
        .post("linear", &replayed, body.as_bytes())
        .assert_replayed();
    driver
        .post(
            "linear",
            &sent,
            br#"{"action":"create","type":"Issue","x":1}"#,
        )
        .assert_refused_signature("the signature does not match");
    driver
        .post("linear", &sent[..2], body.as_bytes())
        .assert_refused_signature("the linear-signature header is missing");
    driver
        .post("linear", &[("linear-signature", "xyz")], body.as_bytes())
        .assert_refused_signature("the signature header is malformed: not hex");

    let comment = r#"{"action":"update","type":"Comment"}"#;
    driver
        .post(
            "linear",
            &[
                ("content-type", "application/json"),
                ("linear-signature", &sha256_hex(SECRET, comment.as_bytes())),
            ],
            comment.as_bytes(),
        )
        .assert_ignored("Comment.update");
    driver
        .send("linear", "GET", "/", &[], b"")
        .assert_method_not_allowed("POST");
    driver.finish(&[SECRET]);
}

#[test]
fn twilio_deliveries() {
    // Twilio's security guide: the URL called, then each form parameter
    // sorted by name, signed with the auth token.
    const SECRET: &str = "12345";
    const BODY: &str = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
    let driver = Driver::start(
        "twilio",
        json!([{"name": "twilio", "publicUrl": "https://mycompany.com/",
                "trigger": {"kind": "twilio.trigger", "config": {"events": ["message.received"]}, "secret": SECRET}}]),
    );
    let sent = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("i-twilio-idempotency-token", "tok-1"),
        ("x-twilio-signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
    ];
    let target = "/myapp.php?foo=1&bar=2";
    let first = driver.accepted(&driver.send("twilio", "POST", target, &sent, BODY.as_bytes()));
    assert_same(
        &first["delivery"],
        &json!({
            "payload": {"method": "POST", "headers": headers(&sent, BODY.len()), "query": {"foo": "1", "bar": "2"},
                        "body": {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
                                 "From": "+12349013030", "To": "+18005551212"},
                        "event": "message.received"},
            "idempotencyKey": "delivery:tok-1",
        }),
    );
    driver.duplicate(
        &driver.send("twilio", "POST", target, &sent, BODY.as_bytes()),
        &first,
    );
    let mut replayed = sent;
    replayed[1] = ("i-twilio-idempotency-token", "tok-2");
    driver
        .send("twilio", "POST", target, &replayed, BODY.as_bytes())
        .assert_replayed();
    // The signature covers the URL called: another path does not match.
    driver
        .send("twilio", "POST", "/myapp.php?foo=1", &sent, BODY.as_bytes())
        .assert_refused_signature("the signature does not match");
    driver
        .send("twilio", "POST", target, &sent, &BODY.as_bytes()[1..])
        .assert_refused_signature("the signature does not match");
    driver
        .send("twilio", "POST", target, &sent[..2], BODY.as_bytes())
        .assert_refused_signature("the x-twilio-signature header is missing");
    driver
        .send(
            "twilio",
            "POST",
            target,
            &[("x-twilio-signature", "not base64!")],
            BODY.as_bytes(),
        )
        .assert_refused_signature("the signature header is malformed: not base64");

    // Signed here: the parameters sorted by name, decoded.
    let body = "To=%2B15550001111&From=%2B15552223333&Body=Hello+there%21&MessageSid=SM1";
    let signature = sha1_base64(
        SECRET,
        b"https://mycompany.com/smsBodyHello there!From+15552223333MessageSidSM1To+15550001111",
    );
    let sent = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-twilio-signature", signature.as_str()),
    ];
    let run = driver.accepted(&driver.send("twilio", "POST", "/sms", &sent, body.as_bytes()));
    assert_same(
        &run["delivery"],
        &json!({"payload": {"method": "POST", "headers": headers(&sent, body.len()), "query": {},
                            "body": {"To": "+15550001111", "From": "+15552223333", "Body": "Hello there!", "MessageSid": "SM1"},
                            "event": "message.received"}}),
    );
    driver
        .send("twilio", "POST", "/sms", &sent, body.as_bytes())
        .assert_replayed();

    let status = "MessageSid=SM1&MessageStatus=delivered";
    let signature = sha1_base64(
        SECRET,
        b"https://mycompany.com/statusMessageSidSM1MessageStatusdelivered",
    );
    driver
        .send(
            "twilio",
            "POST",
            "/status",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-twilio-signature", &signature),
            ],
            status.as_bytes(),
        )
        .assert_ignored("message.status");
    driver
        .send("twilio", "GET", target, &[], b"")
        .assert_method_not_allowed("POST");
    driver.finish(&[SECRET]);
}
