//! Resend: transactional email over a JSON API, which accepts an
//! `Idempotency-Key` so a retried step sends one email.

use model::{FieldSpec, FieldType};

use super::{
    Action, Auth, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors, Place, Protocol,
    Provider, RateLimit, Source, TestRequest,
};

pub fn provider() -> Provider {
    Provider {
        id: "resend".into(),
        name: "Resend".into(),
        category: "Email".into(),
        docs: "https://resend.com/docs/api-reference".into(),
        synonyms: &["email", "mail", "send email", "transactional email"],
        base_url: "https://api.resend.com".into(),
        connection: ConnectionSpec {
            fields: vec![ConnectionField::secret("api_key", "API key", "re_…")],
            auth: Auth::Bearer {
                token: Source::field("api_key"),
            },
            derive: None,
        },
        headers: &[],
        test: Some(TestRequest {
            method: "GET".into(),
            path: "/domains".into(),
            body: None,
        }),
        rate_limit: RateLimit {
            per_second: 2.0,
            burst: 2,
            concurrent: None,
            note: "Resend allows 2 requests per second per team.",
        },
        errors: Errors {
            message_at: &["/message", "/name"],
            in_body: BodyErrors::None,
            codes: &[],
        },
        protocol: Protocol::Http,
        idempotent_posts: true,
        default_encoding: Encoding::Json,
        actions: vec![
            Action::new(
                "send_email",
                "Send an email",
                "POST",
                "/emails",
                Encoding::Json,
            )
            .describe("Sends one email.")
            .field(
                FieldSpec::new("from", "From", FieldType::text())
                    .required()
                    .help("Name <you@your-domain>."),
                Place::Body,
            )
            .field(
                FieldSpec::new("to", "To", FieldType::Json)
                    .required()
                    .help("An address, or a list of up to 50."),
                Place::Body,
            )
            .field(
                FieldSpec::new("subject", "Subject", FieldType::text()).required(),
                Place::Body,
            )
            .field(
                FieldSpec::new("html", "HTML", FieldType::Text { multiline: true }),
                Place::Body,
            )
            .field(
                FieldSpec::new("text", "Text", FieldType::Text { multiline: true }),
                Place::Body,
            )
            .field(FieldSpec::new("cc", "Cc", FieldType::Json), Place::Body)
            .field(FieldSpec::new("bcc", "Bcc", FieldType::Json), Place::Body)
            .field(
                FieldSpec::new("reply_to", "Reply to", FieldType::Json),
                Place::Body,
            )
            .output(&[("id", "string", "The email's id.")]),
        ],
        events: &[
            "email.sent",
            "email.delivered",
            "email.bounced",
            "email.opened",
            "email.clicked",
        ],
        trigger: None,
    }
}
