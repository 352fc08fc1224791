//! The generic webhook: HMAC signatures with their settings, and how a
//! plain request becomes the run's payload and answer.

use serde_json::json;

use super::*;

#[test]
fn generic_hmac_deliveries() {
    const SECRET: &str = "s3cret";
    const PLAIN: &str = "other-secret";
    let driver = Driver::start(
        "hmac",
        json!([
            {"name": "shop", "trigger": {"kind": "webhook_trigger", "secret": SECRET, "config": {
                "methods": ["post", "put"], "dedupe_header": "X-Delivery",
                "signature": {"scheme": "hmac", "header": "X-Shop-Signature", "algorithm": "sha1", "prefix": "sha1=", "encoding": "base64"}}}},
            {"name": "defaults", "trigger": {"kind": "webhook_trigger", "secret": PLAIN, "config": {"signature": {}}}},
            {"name": "as-github", "trigger": {"kind": "webhook_trigger", "secret": PLAIN, "config": {"signature": {"scheme": "github"}}}},
        ]),
    );
    let body = r#"{"order":42}"#;
    let signature = format!("sha1={}", sha1_base64(SECRET, body.as_bytes()));
    let sent = [
        ("content-type", "application/json"),
        ("x-delivery", "del-1"),
        ("x-shop-signature", signature.as_str()),
    ];
    let first =
        driver.accepted(&driver.send("shop", "PUT", "/orders?shop=1", &sent, body.as_bytes()));
    assert_same(
        &first["delivery"],
        &json!({
            "payload": {"method": "PUT", "headers": headers(&sent, body.len()), "query": {"shop": "1"}, "body": {"order": 42}},
            "idempotencyKey": "delivery:del-1",
        }),
    );
    // The sender retrying under the same delivery id; the same content
    // under another id, or none, is a replay (no timestamp: a day long).
    driver.duplicate(&driver.post("shop", &sent, body.as_bytes()), &first);
    let mut replayed = sent;
    replayed[1] = ("x-delivery", "del-2");
    driver
        .post("shop", &replayed, body.as_bytes())
        .assert_replayed();
    driver
        .post("shop", &[sent[0], sent[2]], body.as_bytes())
        .assert_replayed();
    driver
        .post("shop", &sent, br#"{"order":43}"#)
        .assert_refused_signature("the signature does not match");
    driver
        .post("shop", &sent[..2], body.as_bytes())
        .assert_refused_signature("the x-shop-signature header is missing");
    let unprefixed = sha1_base64(SECRET, body.as_bytes());
    driver
        .post(
            "shop",
            &[("x-shop-signature", &unprefixed)],
            body.as_bytes(),
        )
        .assert_refused_signature("the signature header is malformed: the prefix is missing");
    driver
        .send("shop", "GET", "/", &[], b"")
        .assert_method_not_allowed("POST, PUT");

    // Defaults: `x-signature`, hex HMAC-SHA256, no prefix.
    let signature = sha256_hex(PLAIN, b"ping");
    let sent = [("x-signature", signature.as_str())];
    let run = driver.accepted(&driver.post("defaults", &sent, b"ping"));
    assert_same(
        &run["delivery"],
        &json!({"payload": {"method": "POST", "headers": headers(&sent, 4), "query": {}, "body": "ping"}}),
    );
    driver.post("defaults", &sent, b"ping").assert_replayed();
    driver
        .post(
            "defaults",
            &[("x-signature", &signature.to_uppercase())],
            b"ping",
        )
        .assert_replayed();

    // A plain webhook may use a provider's scheme.
    let signature = format!("sha256={}", sha256_hex(PLAIN, b"pong"));
    driver.accepted(&driver.post("as-github", &[("x-hub-signature-256", &signature)], b"pong"));
    driver
        .post("as-github", &[("x-signature", &signature)], b"pong")
        .assert_refused_signature("the x-hub-signature-256 header is missing");
    driver.finish(&[SECRET, PLAIN]);
}

#[test]
fn plain_webhook_payloads_and_answers() {
    let driver = Driver::start(
        "plain",
        json!([
            {"name": "plain", "bodyLimit": 1024, "trigger": {"kind": "webhook_trigger", "config": {"methods": ["POST"]}}},
            {"name": "reply", "trigger": {"kind": "webhook_trigger", "config": {"respond": "output", "dedupe_header": " X-Request-Key "}}},
        ]),
    );
    // Headers lower-case, the last of a repeated one, no cookie nor
    // authorization; the query and form fields decoded, the last of a
    // repeated name winning.
    let form = "name=Ada+Lovelace&tag=x&tag=y&amp=%26&plus=%2B&&empty=&bare";
    let request = format!(
        "POST /any/path?a=1&b=two+words&a=3&c=%E2%9C%93 HTTP/1.1\r\nHost: hooks.test\r\nX-Request-Id: {REQUEST_ID}\r\n\
         Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\nContent-Length: {}\r\n\
         Cookie: session=1\r\nAuthorization: Bearer abc\r\nX-Tag: one\r\nx-tag: two\r\n\r\n{form}",
        form.len()
    );
    let reply = driver.send_raw("plain", request.as_bytes());
    let run = driver.accepted(&reply);
    assert_same(
        &run["delivery"],
        &json!({"payload": {
            "method": "POST",
            "headers": {"host": "hooks.test", "x-request-id": REQUEST_ID, "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
                        "content-length": form.len().to_string(), "x-tag": "two"},
            "query": {"a": "3", "b": "two words", "c": "✓"},
            "body": {"name": "Ada Lovelace", "tag": "y", "amp": "&", "plus": "+", "empty": "", "bare": ""},
        }}),
    );

    // Bodies by content type: JSON, text, nothing.
    let body_of = |headers: &[(&str, &str)], body: &[u8]| {
        let run = driver.accepted(&driver.post("plain", headers, body));
        run["delivery"]["payload"]["body"].clone()
    };
    assert_eq!(
        body_of(
            &[("content-type", "application/vnd.api+json")],
            br#"{"a":[1,2.5,null]}"#
        ),
        json!({"a": [1, 2.5, null]})
    );
    assert_eq!(
        body_of(&[("content-type", "text/csv")], b"a,b\n1,2"),
        json!("a,b\n1,2")
    );
    assert_eq!(body_of(&[], "héllo".as_bytes()), json!("héllo"));
    assert_eq!(
        body_of(&[("content-type", "application/json")], b""),
        Value::Null
    );
    // The message quotes the parser's own words, which differ; the code does not.
    let malformed = |body: &[u8]| {
        let reply = driver.post("plain", &[("content-type", "application/json")], body);
        assert_eq!(
            (reply.status, &reply.body["error"]["code"]),
            (400, &json!("malformed_json"))
        );
    };
    malformed(b"{\"a\":");
    // serde_json refuses what JSON.parse takes: lone surrogates, deep nesting.
    malformed(br#""\ud800""#);
    let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
    let deeper = format!("[{deep}]");
    assert!(
        serde_json::from_str::<Value>(&deep).is_ok()
            && serde_json::from_str::<Value>(&deeper).is_err()
    );
    malformed(deeper.as_bytes());
    // Accepted at the limit (the run's line, deeper still, is read as text).
    let reply = driver.post(
        "plain",
        &[("content-type", "application/json")],
        deep.as_bytes(),
    );
    assert_eq!(reply.status, 202);
    let line = driver.run_line();
    assert!(line.contains(&format!(r#""body":{deep}"#)), "{line}");
    driver
        .seen_runs
        .borrow_mut()
        .push(reply.body["execution_id"].as_str().unwrap().to_owned());
    driver
        .post("plain", &[("content-type", "image/png")], b"\x89PNG")
        .assert_error(
            415,
            "unsupported_media_type",
            "send the body as application/json",
        );
    driver
        .post("plain", &[("content-type", "text/plain")], b"\xff\xfe")
        .assert_error(400, "bad_request", "the body is not UTF-8 text");
    driver
        .post(
            "plain",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"a=\xff",
        )
        .assert_error(400, "bad_request", "the form is not UTF-8");

    // Bodies beyond the limit: as declared, as sent, and chunked.
    let too_large = |reply: Reply| {
        reply.assert_error(
            413,
            "payload_too_large",
            "the request body is larger than 1024 bytes",
        )
    };
    too_large(driver.post("plain", &[], &[b'a'; 1025]));
    too_large(driver.send_raw(
        "plain",
        b"POST / HTTP/1.1\r\nhost: hooks.test\r\ncontent-length: 100000\r\n\r\n",
    ));
    let mut chunked =
        b"POST / HTTP/1.1\r\nhost: hooks.test\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b'b'; 0x200]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    too_large(driver.send_raw("plain", &chunked));
    driver
        .send("plain", "PATCH", "/", &[], b"")
        .assert_method_not_allowed("POST");

    // Without an incoming id, the run and the answer share a new one.
    let reply = driver.send_raw(
        "plain",
        b"POST / HTTP/1.1\r\nhost: hooks.test\r\ncontent-length: 0\r\n\r\n",
    );
    let run = driver.accepted(&reply);
    let id = reply.header("x-request-id").expect("a request id");
    assert_eq!(id.len(), 36);
    assert_eq!(
        run["delivery"]["payload"]["headers"]["x-request-id"],
        json!(id)
    );

    // Answering with the run's output: `{status, body}` chooses the answer,
    // any other output is the body; a failed run is a 502.
    let reply_with = |body: Value, key: Option<&str>| {
        let mut headers = vec![("content-type", "application/json")];
        headers.extend(key.map(|k| ("x-request-key", k)));
        let reply = driver.post("reply", &headers, body.to_string().as_bytes());
        let run = driver.run();
        assert_eq!(run["delivery"]["payload"]["body"], body);
        assert_eq!(
            run["delivery"].get("idempotencyKey").cloned(),
            key.map(|k| json!(format!("delivery:{k}")))
        );
        (reply, run)
    };
    let (reply, first) = reply_with(
        json!({"reply": {"status": 201, "body": {"ok": true}}}),
        Some("k1"),
    );
    assert_eq!((reply.status, &reply.body), (201, &json!({"ok": true})));
    // A repeat of the delivery is answered at once with the first run.
    driver.duplicate(
        &driver.post(
            "reply",
            &[
                ("content-type", "application/json"),
                ("x-request-key", "k1"),
            ],
            b"{}",
        ),
        &first,
    );
    let (reply, _) = reply_with(json!({"reply": {"n": 1}}), None);
    assert_eq!((reply.status, &reply.body), (200, &json!({"n": 1})));
    let (reply, _) = reply_with(json!({"reply": {"status": 700, "body": 1}}), None);
    assert_eq!(
        (reply.status, &reply.body),
        (200, &json!({"status": 700, "body": 1}))
    );
    let (reply, _) = reply_with(json!({"reply": {"status": 204, "body": null}}), None);
    assert_eq!(reply.status, 204);
    let (reply, run) = reply_with(json!({"fail": true}), Some("k2"));
    assert_eq!(
        (reply.status, &reply.body),
        (
            502,
            &json!({"error": {"code": "run_failed", "message": "the workflow run failed", "execution_id": run["executionId"]}})
        )
    );
    driver.finish(&[]);
}
