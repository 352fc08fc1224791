//! E-mail exported to TypeScript is sent as Switchyard sends it: each
//! message goes once through Switchyard's SMTP provider and once through
//! the exported runtime (type-checked with `tsc --strict`, run with
//! Node.js) to a mail server on 127.0.0.1, and the two are compared: the
//! envelope, the headers and bodies a receiver decodes, the step output,
//! and the errors for refused recipients, credentials and busy servers.

use std::sync::Arc;

use base64::Engine as _;
use engine::{
    Registry, StepError,
    credentials::{Credential, CredentialFuture, CredentialStore},
    nodes::{Outcome, Services, StepInput, StepLog},
    outbound::{OutboundClient, OutboundPolicy},
};
use serde_json::{Map, Value, json};
use testkit::{Mail, SmtpServer, typescript::Project};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};
use uuid::Uuid;

/// Hands every step the one connection under test.
struct Connection(Map<String, Value>);

impl CredentialStore for Connection {
    fn load(&self, _owner: Uuid, _id: Uuid) -> CredentialFuture<'_, Credential> {
        let credential = Credential {
            kind: "smtp".into(),
            fields: self.0.clone(),
        };
        Box::pin(async move { Ok(credential) })
    }

    fn refresh(&self, owner: Uuid, id: Uuid) -> CredentialFuture<'_, Credential> {
        self.load(owner, id)
    }
}

/// `smtp.send_email` run by Switchyard's engine.
async fn switchyard(fields: &Value, config: &Value, step_key: &str) -> Result<Value, StepError> {
    let registry = Registry::builtin();
    let kind = registry.get("smtp.send_email").unwrap().clone();
    let mut services = Services::new(OutboundClient::new(
        OutboundPolicy::parse("127.0.0.1").unwrap(),
    ));
    services.credentials = Arc::new(Connection(fields.as_object().unwrap().clone()));
    let node: model::Node =
        serde_json::from_value(json!({"id": "mail", "kind": "smtp.send_email"})).unwrap();
    let mut config = config.clone();
    // A connection of its own each time: no rate limit between the cases.
    config["connection"] = json!(Uuid::new_v4().to_string());
    let trigger = json!({});
    let step = StepInput {
        node: &node,
        config,
        inputs: Vec::new(),
        trigger: &trigger,
        step_key,
        attempt: 1,
        owner_id: Uuid::new_v4(),
        services: &services,
        log: StepLog::default(),
    };
    match kind.run(step).await {
        Outcome::Done { output, .. } => Ok(output),
        Outcome::Failed(error) => Err(error),
        other => panic!("{other:?}"),
    }
}

fn fields(port: u16, password: &str) -> Value {
    json!({"host": "127.0.0.1", "port": port.to_string(), "security": "none",
           "username": "mailer", "password": password, "from": "Acme <hi@acme.test>"})
}

/// The emails sent to the mail server, each with its step key.
fn emails() -> Vec<(&'static str, Value)> {
    vec![
        (
            "run-1:text",
            json!({"to": "Ada <ada@example.com>", "subject": "Welcome", "text": "Hello Ada\nSecond line"}),
        ),
        (
            "run-1:both",
            json!({"to": ["ada@example.com", "Bob Builder <bob@example.com>"], "subject": "Your order",
                             "text": "Hello Ada", "html": "<p>Hello <b>Ada</b></p>"}),
        ),
        (
            "run-1:unicode",
            json!({"from": "Zoë Ünïcode <zoe@example.com>", "to": "Jürgen <juergen@example.com>",
                                "subject": "Grüße aus Zürich — ✓ 日本語, with a tail long enough to be folded across lines",
                                "text": "Größe: 42 €\nÇa va ?", "html": "<p>Größe: 42 €</p>"}),
        ),
        (
            "run-1:many",
            json!({"to": "a@example.com, B <b@example.com>",
                             "cc": ["c@example.com", "\"Carol, C.\" <carol@example.com>"], "bcc": "hidden@example.com",
                             "reply_to": "Support Desk <support@example.com>, help@example.com",
                             "subject": "Team", "text": "For everyone"}),
        ),
        (
            "run-1:dots",
            json!({"to": "ada@example.com", "subject": ".dots", "text": ".hidden\n..two\nend.\n."}),
        ),
        (
            "run-1:long",
            json!({"to": "ada@example.com", "subject": "Long", "text": format!("{}=\n{}", "x".repeat(200), "y ".repeat(50)),
                             "html": "日本語のテキストです。".repeat(8)}),
        ),
        (
            "run-1:html",
            json!({"to": "ada@example.com", "subject": "HTML only", "html": "<h1>Hi</h1>\n<p>there</p>"}),
        ),
    ]
}

/// Emails Switchyard refuses before it connects.
fn invalid() -> Vec<Value> {
    vec![
        json!({"to": "ada@example.com", "subject": "No body"}),
        json!({"to": "not an address", "subject": "x", "text": "x"}),
        json!({"to": "ada@", "subject": "x", "text": "x"}),
        json!({"to": "a@-x.com", "subject": "x", "text": "x"}),
        json!({"to": "", "subject": "x", "text": "x"}),
        json!({"to": "ada@example.com", "from": "Ada", "subject": "x", "text": "x"}),
        json!({"to": "ada@example.com", "reply_to": "help@", "subject": "x", "text": "x"}),
    ]
}

/// A mail server that is busy: every recipient is refused with 451.
async fn busy_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 busy ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let answer: &[u8] = match line.to_ascii_uppercase().get(..4) {
                        Some("EHLO") => b"250-busy\r\n250 AUTH PLAIN LOGIN\r\n",
                        Some("AUTH") => b"235 2.7.0 OK\r\n",
                        Some("RCPT") => b"451 4.3.0 Mailbox busy, try again later\r\n",
                        Some("QUIT") => b"221 Bye\r\n",
                        _ => b"250 OK\r\n",
                    };
                    if write.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// A result as both sides report it: the output, or the error's class, message and details.
fn outcome(result: Result<Value, StepError>) -> Value {
    match result {
        Ok(output) => json!({"ok": output}),
        Err(error) => {
            json!({"error": {"class": error.class, "message": error.message, "details": error.details}})
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_email_is_sent_as_switchyard_sends_it() {
    let (ours, theirs) = (
        SmtpServer::start("mailer", "s3cret").await,
        SmtpServer::start("mailer", "s3cret").await,
    );
    let busy = busy_server().await;
    let no_login = |port: u16| {
        let mut fields = fields(port, "");
        fields.as_object_mut().unwrap().remove("username");
        fields
    };
    // (connection fields on Switchyard's server, and on the exported one's; config; step key)
    let mut cases: Vec<(Value, Value, Value, &str)> = emails()
        .into_iter()
        .map(|(key, config)| {
            (
                fields(ours.port, "s3cret"),
                fields(theirs.port, "s3cret"),
                config,
                key,
            )
        })
        .collect();
    let sent = cases.len();
    cases.push((
        no_login(ours.port),
        no_login(theirs.port),
        emails()[0].1.clone(),
        "run-2:anonymous",
    ));
    let refusals = [
        (
            fields(ours.port, "s3cret"),
            fields(theirs.port, "s3cret"),
            json!({"to": "reject@example.com", "subject": "x", "text": "x"}),
        ),
        (
            fields(ours.port, "wrong"),
            fields(theirs.port, "wrong"),
            emails()[0].1.clone(),
        ),
        (
            fields(busy, "s3cret"),
            fields(busy, "s3cret"),
            emails()[0].1.clone(),
        ),
    ];
    for (a, b, config) in refusals {
        cases.push((a, b, config, "run-3:refused"));
    }
    for config in invalid() {
        cases.push((
            fields(ours.port, "s3cret"),
            fields(theirs.port, "s3cret"),
            config,
            "run-4:invalid",
        ));
    }

    let mut expected = Vec::new();
    for (fields, _, config, key) in &cases {
        expected.push(outcome(switchyard(fields, config, key).await));
    }
    let exported = json!(cases
        .iter()
        .map(|(_, fields, config, key)| json!({"connection": {"kind": "smtp", "values": fields}, "config": config, "key": key}))
        .collect::<Vec<_>>());
    let results = run_typescript(format!(
        "import {{ sendEmail }} from \"./smtp\";\n\
         import {{ StepError }} from \"./run\";\n\
         import type {{ Json }} from \"./expressions\";\n\
         type Case = {{ connection: {{ kind: string; values: {{ [name: string]: string }} }}; config: {{ [key: string]: Json }}; key: string }};\n\
         const cases: Case[] = {exported};\n\
         (async () => {{\n\
           const results: Json[] = [];\n\
           for (const c of cases) {{\n\
             try {{ results.push({{ ok: await sendEmail(c.connection, c.config, c.key) }}); }}\n\
             catch (error) {{\n\
               if (!(error instanceof StepError)) throw error;\n\
               results.push({{ error: {{ class: error.errorClass, message: error.message, details: error.extra.details ?? null }} }});\n\
             }}\n\
           }}\n\
           process.stdout.write(JSON.stringify(results));\n\
         }})();\n"
    ))
    .await;

    let results = results.as_array().unwrap();
    for ((case, switchyard), exported) in cases.iter().zip(&expected).zip(results) {
        assert_eq!(switchyard, exported, "{}: {}", case.3, case.2);
    }
    let classes: Vec<&Value> = expected[sent + 1..sent + 4]
        .iter()
        .map(|e| &e["error"]["class"])
        .collect();
    assert_eq!(classes, ["validation", "auth", "transient"], "{expected:?}");
    assert!(
        expected[sent + 4..]
            .iter()
            .all(|e| e["error"]["class"] == "validation")
    );

    let (mails, exported_mails) = (ours.mails(), theirs.mails());
    assert_eq!(mails.len(), sent + 1, "only the emails were delivered");
    assert_eq!(exported_mails.len(), mails.len());
    for (i, (mail, exported)) in mails.iter().zip(&exported_mails).enumerate() {
        let (config, key) = (&cases[i].2, cases[i].3);
        assert_eq!(received(mail), received(exported), "{key}");
        // What the receiver reads is what the step was given.
        let message = received(mail);
        for (field, content_type) in [("text", "text/plain"), ("html", "text/html")] {
            let given = config
                .get(field)
                .and_then(Value::as_str)
                .map(|t| t.replace('\n', "\r\n"));
            assert_eq!(
                given.as_deref(),
                message["parts"][content_type]
                    .as_str()
                    .map(|t| t.trim_end_matches("\r\n")),
                "{key} {field}"
            );
        }
    }
    let many = received(&exported_mails[3]);
    assert_eq!(
        many["envelope"]["to"],
        json!([
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "carol@example.com",
            "hidden@example.com"
        ])
    );
    // A name with a comma is RFC 2047 encoded (lettre's choice), so it reads unquoted.
    assert_eq!(
        many["headers"]["cc"],
        "c@example.com, Carol, C. <carol@example.com>"
    );
    assert_eq!(
        received(&exported_mails[2])["headers"]["subject"],
        emails()[2].1["subject"]
    );
    assert_eq!(
        received(&exported_mails[2])["headers"]["from"],
        "Zoë Ünïcode <zoe@example.com>"
    );
    assert_eq!(
        received(&exported_mails[0])["envelope"]["login"],
        "mailer:s3cret"
    );
    assert_eq!(
        received(&exported_mails[sent])["envelope"]["login"],
        Value::Null
    );
}

/// What a receiver sees of a mail: the envelope, the headers that matter
/// (unfolded, encoded words decoded), and each part's decoded text.
fn received(mail: &Mail) -> Value {
    let (head, body) = mail.data.split_once("\r\n\r\n").unwrap();
    let headers = parse_headers(head);
    let mut shown = Map::new();
    for name in ["from", "to", "cc", "reply-to", "subject", "message-id"] {
        if let Some(value) = headers.get(name) {
            shown.insert(name.into(), json!(decode_words(value)));
        }
    }
    assert!(
        !headers.contains_key("bcc"),
        "Bcc is not sent: {}",
        mail.data
    );
    assert!(headers.contains_key("date"), "{}", mail.data);
    let mut parts = Map::new();
    let content_type = headers["content-type"].as_str().unwrap();
    if let Some(boundary) = content_type
        .split("boundary=\"")
        .nth(1)
        .and_then(|b| b.split('"').next())
    {
        assert!(
            content_type.starts_with("multipart/alternative;"),
            "{content_type}"
        );
        let closing = |part: &&str| part.starts_with("--");
        for part in body
            .split(&format!("--{boundary}"))
            .skip(1)
            .filter(|p| !closing(p))
        {
            if let Some((head, body)) = part.split_once("\r\n\r\n") {
                let headers = parse_headers(head.trim_start_matches("\r\n"));
                let (kind, text) = decode_part(&headers, body.strip_suffix("\r\n").unwrap_or(body));
                parts.insert(kind, json!(text));
            }
        }
    } else {
        let (kind, text) = decode_part(&headers, body);
        parts.insert(kind, json!(text));
    }
    json!({
        "envelope": {"from": mail.from, "to": mail.to, "login": mail.login},
        "headers": shown,
        "parts": parts,
    })
}

fn parse_headers(head: &str) -> Map<String, Value> {
    let mut headers = Map::new();
    for line in head
        .replace("\r\n ", " ")
        .replace("\r\n\t", "\t")
        .split("\r\n")
    {
        let (name, value) = line.split_once(':').unwrap();
        headers
            .entry(name.to_ascii_lowercase())
            .or_insert(json!(value.trim()));
    }
    headers
}

/// The part's content type (`text/plain`) and its text, decoded.
fn decode_part(headers: &Map<String, Value>, body: &str) -> (String, String) {
    let content_type = headers["content-type"].as_str().unwrap();
    assert!(content_type.ends_with("; charset=utf-8"), "{content_type}");
    let encoding = headers["content-transfer-encoding"].as_str().unwrap();
    let bytes = match encoding {
        "7bit" => body.as_bytes().to_vec(),
        "quoted-printable" => quoted_printable(body),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.replace("\r\n", ""))
            .unwrap(),
        other => panic!("encoding {other}"),
    };
    let kind = content_type.split(';').next().unwrap().to_owned();
    (kind, String::from_utf8(bytes).unwrap())
}

fn quoted_printable(text: &str) -> Vec<u8> {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// RFC 2047: `=?utf-8?b?…?=` words decoded, the space between two of them dropped.
fn decode_words(value: &Value) -> String {
    let mut out = String::new();
    let mut rest = value.as_str().unwrap();
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, word) = rest.split_at(start);
        let parts: Vec<&str> = word[2..].splitn(3, '?').collect();
        let Some(end) = parts.get(2).and_then(|p| p.find("?=")) else {
            break;
        };
        if !(after_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let data = &parts[2][..end];
        let decoded = match parts[1].to_ascii_lowercase().as_str() {
            "b" => base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap(),
            _ => quoted_printable(&data.replace('_', " ")),
        };
        assert_eq!(parts[0].to_ascii_lowercase(), "utf-8");
        out.push_str(&String::from_utf8(decoded).unwrap());
        rest = &parts[2][end + 2..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

/// Compiles `cases.ts` with the SMTP runtime (`tsc --strict`, Node's
/// types) and runs it, off the runtime's threads that serve the mail; its
/// output is JSON.
async fn run_typescript(cases: String) -> Value {
    let run = move || {
        let project = Project::new("export-smtp");
        // The StepError the runtime throws is in run.ts, copied into every project.
        project.write_all(domain::export::RUNTIME);
        project.write_all(domain::export::SMTP_RUNTIME);
        project.write("cases.ts", &cases);
        project.compile("cases.ts", json!({}));
        project.run_json("cases.js")
    };
    tokio::task::spawn_blocking(run)
        .await
        .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))
}
