//! The exported webhook entry point (`runtime/webhook.ts`) answers as
//! Switchyard's `/webhooks/{token}` does. It is type-checked with
//! `tsc --strict`, served by a small driver with Node.js on 127.0.0.1, and
//! sent real HTTP requests: signed ones (signatures computed here with
//! `ring`, or taken from the providers' own documentation), tampered,
//! stale, unsigned and replayed ones. The driver prints each run it is
//! asked to start, so the payload a run gets is compared with the one
//! Switchyard builds for the same request.

use std::{
    cell::RefCell,
    collections::HashMap,
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, ChildStdout, Stdio},
    sync::OnceLock,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use testkit::typescript::Project;

/// The driver's clock, in Unix seconds: signed timestamps are compared with it.
const NOW: i64 = 1_700_000_000;
const REQUEST_ID: &str = "test-request-1";

/// Serves each setup's trigger on a port of its own; prints the ports, then
/// one line per run started (before the request is answered). A run's
/// output is the body's `reply`; `{"fail": true}` fails it.
const DRIVER: &str = r#"
import * as fs from "node:fs";
import { serve, type Delivery, type Started, type WebhookTrigger } from "./webhook";
import type { Json } from "./expressions";

interface Setup { name: string; trigger: WebhookTrigger; publicUrl?: string; bodyLimit?: number }

async function main(): Promise<void> {
  const setups = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as Setup[];
  const now = Number(process.argv[3]) * 1000;
  let runs = 0;
  const ports: { [name: string]: number } = {};
  for (const setup of setups) {
    // Idempotency keys per workflow, as the engine keeps them.
    const keys = new Map<string, string>();
    const start = async (delivery: Delivery): Promise<Started> => {
      const known = delivery.idempotencyKey === undefined ? undefined : keys.get(delivery.idempotencyKey);
      if (known !== undefined) return { executionId: known, created: false, finished: new Promise(() => {}) };
      const executionId = `run-${++runs}`;
      if (delivery.idempotencyKey !== undefined) keys.set(delivery.idempotencyKey, executionId);
      process.stdout.write(JSON.stringify({ trigger: setup.name, executionId, delivery }) + "\n");
      const body = (delivery.payload as { [key: string]: Json }).body;
      const asked = typeof body === "object" && body !== null && !Array.isArray(body) ? body : {};
      const finished = Promise.resolve(
        asked.fail === true ? { status: "failed" as const, output: null } : { status: "succeeded" as const, output: asked.reply ?? null },
      );
      return { executionId, created: true, finished };
    };
    const options = { publicUrl: setup.publicUrl, bodyLimit: setup.bodyLimit, now: () => now };
    const server = await serve(setup.trigger, start, 0, "127.0.0.1", options);
    const address = server.address();
    ports[setup.name] = typeof address === "object" && address !== null ? address.port : 0;
  }
  process.stdout.write(JSON.stringify({ ports }) + "\n");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
"#;

/// The runtime and the driver, compiled once for every test.
fn compiled() -> &'static Project {
    static PROJECT: OnceLock<Project> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let project = Project::new("export-webhook");
        project.write("expressions.ts", domain::export::EXPRESSIONS_RUNTIME);
        project.write_all(domain::export::WEBHOOK_RUNTIME);
        project.write("driver.ts", DRIVER);
        project.compile("driver.ts", json!({}));
        project
    })
}

/// HMAC by `ring`, an implementation other than Node's under test.
fn hmac(algorithm: ring::hmac::Algorithm, secret: &str, message: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(algorithm, secret.as_bytes());
    ring::hmac::sign(&key, message).as_ref().to_vec()
}

fn sha256_hex(secret: &str, message: &[u8]) -> String {
    let signature = hmac(ring::hmac::HMAC_SHA256, secret, message);
    signature.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha1_base64(secret: &str, message: &[u8]) -> String {
    STANDARD.encode(hmac(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        secret,
        message,
    ))
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// An `ApiError` answer: its status and `{"error": {"code", "message", "fields": []}}`.
    fn assert_error(&self, status: u16, code: &str, message: &str) {
        assert_eq!(
            (self.status, &self.body),
            (
                status,
                &json!({"error": {"code": code, "message": message, "fields": []}})
            )
        );
    }

    fn assert_refused_signature(&self, reason: &str) {
        self.assert_error(
            401,
            "unauthorized",
            &format!("signature check failed: {reason}"),
        );
    }

    fn assert_ignored(&self, event: &str) {
        assert_eq!(
            (self.status, &self.body),
            (
                200,
                &json!({"ignored": true, "event": event, "reason": "the workflow does not start on this event type"})
            )
        );
    }

    fn assert_replayed(&self) {
        self.assert_error(
            409,
            "replayed",
            "this signed delivery was received before; a replay starts no run",
        );
    }

    fn assert_method_not_allowed(&self, allow: &str) {
        self.assert_error(405, "method_not_allowed", "method not allowed");
        assert_eq!(self.header("allow"), Some(allow));
    }
}

/// The driver process, killed when dropped.
struct Driver {
    child: Child,
    runs: RefCell<BufReader<ChildStdout>>,
    ports: HashMap<String, u16>,
    log: PathBuf,
    /// Every answer's raw text, searched for secrets at the end.
    answers: RefCell<Vec<String>>,
    seen_runs: RefCell<Vec<String>>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(name: &str, setups: Value) -> Driver {
        let project = compiled();
        let file = project.dir().join(format!("setups-{name}.json"));
        std::fs::write(&file, setups.to_string()).unwrap();
        let log = project.dir().join(format!("driver-{name}.log"));
        let mut child = project
            .node("driver.js")
            .arg(&file)
            .arg(NOW.to_string())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut runs = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        runs.read_line(&mut first).unwrap();
        let ready: Value = serde_json::from_str(&first).unwrap_or_else(|_| {
            panic!(
                "the driver did not start: {first}{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let ports = ready["ports"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, port)| (name.clone(), port.as_u64().unwrap() as u16))
            .collect();
        Driver {
            child,
            runs: RefCell::new(runs),
            ports,
            log,
            answers: RefCell::default(),
            seen_runs: RefCell::default(),
        }
    }

    /// Sends raw bytes to a trigger's port and reads one answer.
    fn send_raw(&self, trigger: &str, request: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(("127.0.0.1", self.ports[trigger])).unwrap();
        stream.write_all(request).unwrap();
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the connection closed before an answer");
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        // Answers without a body (204) have no length.
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or_else(|| {
                assert_eq!(status, 204, "answers with a body have a content-length");
                0
            });
        let mut body = buffer[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the connection closed in the answer");
            body.extend_from_slice(&chunk[..n]);
        }
        self.answers
            .borrow_mut()
            .push(format!("{head}\r\n\r\n{}", String::from_utf8_lossy(&body)));
        Reply {
            status,
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        }
    }

    /// Sends a request with `host`, `content-length` and `x-request-id`
    /// added (see [`headers`]).
    fn send(
        &self,
        trigger: &str,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut request = format!(
            "{method} {target} HTTP/1.1\r\nhost: hooks.test\r\nx-request-id: {REQUEST_ID}\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        let reply = self.send_raw(trigger, &bytes);
        assert_eq!(reply.header("x-request-id"), Some(REQUEST_ID));
        reply
    }

    fn post(&self, trigger: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        self.send(trigger, "POST", "/", headers, body)
    }

    /// The run a `202` (or an answer with the run's output) started: the
    /// driver printed it before the answer went out.
    fn run(&self) -> Value {
        let run: Value = serde_json::from_str(&self.run_line()).unwrap();
        self.seen_runs
            .borrow_mut()
            .push(run["executionId"].as_str().unwrap().to_owned());
        run
    }

    fn run_line(&self) -> String {
        let mut line = String::new();
        self.runs.borrow_mut().read_line(&mut line).unwrap();
        line
    }

    /// Asserts a `202 {"execution_id"}` for a new run, and returns the run.
    fn accepted(&self, reply: &Reply) -> Value {
        assert_eq!(reply.status, 202, "{}", reply.body);
        assert_eq!(reply.header("x-switchyard-duplicate"), None);
        let id = reply.body["execution_id"]
            .as_str()
            .expect("an execution id");
        assert!(!self.seen_runs.borrow().iter().any(|seen| seen == id));
        let run = self.run();
        assert_eq!(run["executionId"], json!(id));
        assert_eq!(reply.body, json!({"execution_id": id}));
        run
    }

    /// Asserts a `202` naming an earlier run, marked as a duplicate.
    fn duplicate(&self, reply: &Reply, of: &Value) {
        assert_eq!(reply.status, 202, "{}", reply.body);
        assert_eq!(reply.header("x-switchyard-duplicate"), Some("true"));
        assert_eq!(reply.body, json!({"execution_id": of["executionId"]}));
    }

    /// Stops the driver: no run was started that no answer accounted for,
    /// and no secret was logged or answered.
    fn finish(mut self, secrets: &[&str]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut rest = String::new();
        self.runs.get_mut().read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "", "runs no answer accounted for");
        let log = std::fs::read_to_string(&self.log).unwrap();
        for secret in secrets {
            assert!(!log.contains(secret), "the log holds a secret: {log}");
            for answer in self.answers.borrow().iter() {
                assert!(
                    !answer.contains(secret),
                    "an answer holds a secret: {answer}"
                );
            }
        }
    }
}

/// The request headers `Driver::send` sends, with `extra`, as the run sees
/// them (lower-case names).
fn headers(extra: &[(&str, &str)], length: usize) -> Value {
    let mut map = json!({"host": "hooks.test", "x-request-id": REQUEST_ID, "content-length": length.to_string()});
    for (name, value) in extra {
        map[name.to_ascii_lowercase()] = json!(value);
    }
    map
}

fn assert_same(actual: &Value, expected: &Value) {
    assert!(
        testkit::same_json(actual, expected),
        "\nexported: {actual}\nexpected: {expected}"
    );
}

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
