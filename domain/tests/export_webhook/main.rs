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

mod plain;
mod providers;
