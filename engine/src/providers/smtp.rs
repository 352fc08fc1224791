//! SMTP: e-mail through any mail server (lettre), over STARTTLS, implicit
//! TLS, or (for a relay on a private network) plain text. The server's
//! addresses pass the same outbound guard as HTTP calls. Each message gets
//! a Message-ID made from the step, the same on every retry, so receivers
//! can recognise a resend.

use std::{sync::Arc, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, Mailboxes, MultiPart, SinglePart, header::ContentType},
    transport::smtp::{
        Error as SmtpError,
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use model::{Category, FieldSpec, FieldType, KindSpec, OutputField, catalogue::single_output};
use serde_json::{Map, Value, json};

use super::{
    Auth, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors, Protocol, Provider,
    RateLimit, Source, TestRequest,
    call::{Connected, Stop},
};
use crate::{
    ErrorClass, StepError,
    credentials::Credential,
    nodes::{NodeKind, Outcome, StepFuture, StepInput, http_request::plain_text},
    outbound::OutboundPolicy,
};

const TIMEOUT: Duration = Duration::from_secs(30);

pub fn provider() -> Provider {
    Provider {
        id: "smtp".into(),
        name: "SMTP".into(),
        category: "Email".into(),
        docs: "https://www.rfc-editor.org/rfc/rfc5321".into(),
        synonyms: &["email", "mail", "send email", "e-mail", "smtp"],
        base_url: "".into(),
        connection: ConnectionSpec {
            fields: vec![
                ConnectionField::plain("host", "Server", "smtp.example.com"),
                ConnectionField::plain("port", "Port", "587 for STARTTLS, 465 for TLS, 25 without")
                    .optional(),
                ConnectionField::plain("security", "Security", "starttls (default), tls or none")
                    .optional(),
                ConnectionField::plain("username", "User name", "").optional(),
                ConnectionField::secret("password", "Password", "").optional(),
                ConnectionField::plain("from", "Default sender", "Name <you@example.com>")
                    .optional(),
            ],
            // Not used: SMTP authenticates in its own exchange.
            auth: Auth::Basic {
                username: Source::field("username"),
                password: Source::field("password"),
            },
            derive: None,
        },
        headers: &[],
        test: Some(TestRequest {
            method: "SMTP".into(),
            path: "".into(),
            body: None,
        }),
        rate_limit: RateLimit {
            per_second: 5.0,
            burst: 10,
            concurrent: Some(5),
            note: "A conservative default for mail relays; raise it on the connection for your server.",
        },
        errors: Errors {
            message_at: &[],
            in_body: BodyErrors::None,
            codes: &[],
        },
        protocol: Protocol::Smtp,
        idempotent_posts: false,
        default_encoding: Encoding::None,
        actions: Vec::new(),
        events: &[],
        trigger: None,
    }
}

/// The server's settings from a connection.
struct Server {
    host: String,
    port: u16,
    security: String,
    credentials: Option<Credentials>,
    from: Option<String>,
}

fn server(credential: &Credential) -> Result<Server, StepError> {
    let text = |name: &str| {
        credential
            .fields
            .get(name)
            .map(plain_text)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if credential.kind != "smtp" {
        return Err(StepError::validation(format!(
            "this is a {} connection; SMTP steps need an SMTP connection",
            credential.kind
        )));
    }
    let host = text("host").ok_or_else(|| StepError::validation("the connection has no `host`"))?;
    let security = text("security")
        .unwrap_or_else(|| "starttls".into())
        .to_ascii_lowercase();
    let default_port = match security.as_str() {
        "starttls" => 587,
        "tls" => 465,
        "none" => 25,
        other => {
            return Err(StepError::validation(format!(
                "security `{other}` is not one of starttls, tls, none"
            )));
        }
    };
    let port =
        match text("port") {
            Some(port) => port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                StepError::validation(format!("port `{port}` is not a port number"))
            })?,
            None => default_port,
        };
    let credentials =
        text("username").map(|user| Credentials::new(user, text("password").unwrap_or_default()));
    Ok(Server {
        host,
        port,
        security,
        credentials,
        from: text("from"),
    })
}

/// A transport to the server, once its addresses pass the outbound guard.
async fn transport(
    policy: &OutboundPolicy,
    server: &Server,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, StepError> {
    policy
        .check_host(&server.host, server.port)
        .await
        .map_err(StepError::validation)?;
    let parameters = || {
        TlsParameters::new(server.host.clone())
            .map_err(|e| StepError::validation(format!("TLS settings for {}: {e}", server.host)))
    };
    let tls = match server.security.as_str() {
        "tls" => Tls::Wrapper(parameters()?),
        "none" => Tls::None,
        _ => Tls::Required(parameters()?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
        .port(server.port)
        .tls(tls)
        .timeout(Some(TIMEOUT));
    if let Some(credentials) = &server.credentials {
        builder = builder.credentials(credentials.clone());
    }
    Ok(builder.build())
}

/// A failed exchange, sorted by the server's reply code: 4xx may pass
/// later, 5xx will not (535 is refused credentials).
fn smtp_error(error: SmtpError, host: &str) -> StepError {
    let code = error.status().map(|code| code.to_string());
    let class = match code.as_deref() {
        Some("535" | "534" | "530") => ErrorClass::Auth,
        _ if error.is_permanent() => ErrorClass::Validation,
        _ => ErrorClass::Transient,
    };
    let mut step_error = StepError::new(class, format!("the mail server {host} refused: {error}"));
    if let Some(code) = code {
        step_error = step_error.with_details(json!({ "smtp_code": code }));
    }
    step_error
}

/// Connects, says hello and authenticates, then hangs up.
pub async fn test(policy: &OutboundPolicy, credential: &Credential) -> Result<Value, StepError> {
    let server = server(credential)?;
    let transport = transport(policy, &server).await?;
    match transport.test_connection().await {
        Ok(true) => Ok(json!({ "host": server.host, "port": server.port })),
        Ok(false) => Err(StepError::transient(format!(
            "the mail server {} did not answer",
            server.host
        ))),
        Err(error) => Err(smtp_error(error, &server.host)),
    }
}

/// Sends a plain-text notice through the server `credential` describes
/// (the operator's mail server, for alerts), from its default sender.
pub async fn send_notice(
    policy: &OutboundPolicy,
    credential: &Credential,
    to: &str,
    subject: &str,
    text: &str,
) -> Result<(), StepError> {
    let server = server(credential)?;
    let from_text = server
        .from
        .clone()
        .ok_or_else(|| StepError::validation("the mail server has no sender (from)"))?;
    let from: Mailbox = from_text.parse().map_err(|e| {
        StepError::validation(format!("`{from_text}` is not an email address ({e})"))
    })?;
    let to: Mailbox = to
        .trim()
        .parse()
        .map_err(|e| StepError::validation(format!("`{to}` is not an email address ({e})")))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(text.to_owned())
        .map_err(|e| StepError::validation(format!("the message cannot be built: {e}")))?;
    let transport = transport(policy, &server).await?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|error| smtp_error(error, &server.host))
}

/// `smtp.send_email`.
pub struct SendEmail {
    provider: Arc<Provider>,
}

impl SendEmail {
    pub fn new(provider: Arc<Provider>) -> SendEmail {
        SendEmail { provider }
    }
}

impl NodeKind for SendEmail {
    fn spec(&self) -> KindSpec {
        let text = |name: &str, label: &str| FieldSpec::new(name, label, FieldType::text());
        KindSpec {
            kind: "smtp.send_email".into(),
            label: "SMTP: Send an email".into(),
            category: Category::Integration,
            description: "Sends an email through your mail server (STARTTLS, TLS or plain).".into(),
            fields: vec![
                FieldSpec::new(
                    "connection",
                    "Connection",
                    FieldType::Connection {
                        provider: "smtp".into(),
                    },
                )
                .required()
                .help("The mail server to send through."),
                text("from", "From")
                    .help("Name <you@example.com>; the connection's default sender when empty."),
                FieldSpec::new("to", "To", FieldType::Json)
                    .required()
                    .help("An address, several separated by commas, or a list."),
                FieldSpec::new("cc", "Cc", FieldType::Json),
                FieldSpec::new("bcc", "Bcc", FieldType::Json),
                text("reply_to", "Reply to"),
                text("subject", "Subject").required(),
                FieldSpec::new("text", "Text", FieldType::Text { multiline: true }),
                FieldSpec::new("html", "HTML", FieldType::Text { multiline: true }),
            ],
            ports: single_output(),
            provider: Some("smtp".into()),
            output: vec![
                OutputField::new(
                    "message_id",
                    "string",
                    "The Message-ID header, the same on every retry.",
                ),
                OutputField::new("accepted", "array", "The recipients the server accepted."),
                OutputField::new("response", "string", "The server's final reply."),
            ],
            rules: vec![],
        }
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            match send(&self.provider, &step).await {
                Ok(output) => Outcome::out(output),
                Err(Stop::Failed(error)) => Outcome::Failed(error),
                Err(Stop::Later(wait)) => Outcome::Defer {
                    until_ms: crate::time::now_ms() + wait.as_millis() as i64,
                    reason: "waiting for the connection's rate limit".into(),
                },
            }
        })
    }
}

/// `a@x, B <b@y>` or `["a@x", …]` as mailboxes; the field's label names
/// the one that does not parse.
fn mailboxes(value: Option<&Value>, label: &str) -> Result<Vec<Mailbox>, StepError> {
    let items: Vec<String> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(plain_text).collect(),
        Some(other) => plain_text(other).split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<Mailbox>().map_err(|e| {
                StepError::validation(format!("{label}: `{item}` is not an email address ({e})"))
            })
        })
        .collect()
}

/// A Message-ID made from the step key (`<execution>:<node>[:item]`).
fn message_id(step_key: &str) -> String {
    let local: String = step_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("<{local}@switchyard.invalid>")
}

fn build(
    config: &Map<String, Value>,
    server: &Server,
    step_key: &str,
) -> Result<(Message, Vec<String>), StepError> {
    let text = |name: &str| {
        config
            .get(name)
            .map(plain_text)
            .filter(|v| !v.trim().is_empty())
    };
    let from_text = text("from")
        .or_else(|| server.from.clone())
        .ok_or_else(|| {
            StepError::validation("From is required (or a default sender on the connection)")
        })?;
    let from: Mailbox = from_text.parse().map_err(|e| {
        StepError::validation(format!("From: `{from_text}` is not an email address ({e})"))
    })?;
    let to = mailboxes(config.get("to"), "To")?;
    if to.is_empty() {
        return Err(StepError::validation("To needs at least one address"));
    }
    let cc = mailboxes(config.get("cc"), "Cc")?;
    let bcc = mailboxes(config.get("bcc"), "Bcc")?;
    let mut builder = Message::builder()
        .from(from)
        .subject(text("subject").unwrap_or_default())
        .message_id(Some(message_id(step_key)));
    let mut accepted = Vec::new();
    for (list, add) in [(&to, 0), (&cc, 1), (&bcc, 2)] {
        for mailbox in list {
            accepted.push(mailbox.email.to_string());
            builder = match add {
                0 => builder.to(mailbox.clone()),
                1 => builder.cc(mailbox.clone()),
                _ => builder.bcc(mailbox.clone()),
            };
        }
    }
    if let Some(reply_to) = text("reply_to") {
        let boxes: Mailboxes = reply_to.parse().map_err(|e| {
            StepError::validation(format!(
                "Reply to: `{reply_to}` is not an email address ({e})"
            ))
        })?;
        for mailbox in boxes {
            builder = builder.reply_to(mailbox);
        }
    }
    let message = match (text("text"), text("html")) {
        (Some(plain), Some(html)) => {
            builder.multipart(MultiPart::alternative_plain_html(plain, html))
        }
        (None, Some(html)) => builder.singlepart(SinglePart::html(html)),
        (Some(plain), None) => builder.header(ContentType::TEXT_PLAIN).body(plain),
        (None, None) => {
            return Err(StepError::validation(
                "give the email a text or an HTML body",
            ));
        }
    }
    .map_err(|e| StepError::validation(format!("the email cannot be built: {e}")))?;
    Ok((message, accepted))
}

async fn send(provider: &Provider, step: &StepInput<'_>) -> Result<Value, Stop> {
    let connected = Connected::load(step, provider).await?;
    let server = server(connected.endpoint.credential())?;
    let config = step.config.as_object().cloned().unwrap_or_default();
    let (message, accepted) = build(&config, &server, step.step_key)?;
    let _in_flight = connected.take_turn(step, true).await?;
    let transport = transport(&step.services.http.policy, &server).await?;
    let response = transport
        .send(message)
        .await
        .map_err(|e| smtp_error(e, &server.host))?;
    let reply = format!(
        "{} {}",
        response.code(),
        response.message().collect::<Vec<_>>().join(" ")
    );
    step.log.line(format!(
        "{}:{} accepted the email: {reply}",
        server.host, server.port
    ));
    Ok(json!({
        "message_id": message_id(step.step_key),
        "accepted": accepted,
        "response": reply,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_come_from_the_step() {
        assert_eq!(
            message_id("0191:notify:3"),
            "<0191.notify.3@switchyard.invalid>"
        );
    }

    #[test]
    fn addresses_are_read_from_text_or_lists() {
        let list = mailboxes(Some(&json!("Ada <ada@example.com>, bob@example.com")), "To").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].email.to_string(), "ada@example.com");
        let list = mailboxes(Some(&json!(["c@example.com"])), "To").unwrap();
        assert_eq!(list[0].email.to_string(), "c@example.com");
        let error = mailboxes(Some(&json!("not an address")), "Cc").unwrap_err();
        assert!(
            error.message.starts_with("Cc: `not an address`"),
            "{}",
            error.message
        );
    }
}
