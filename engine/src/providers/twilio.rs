//! Twilio: text messages. Form bodies with Twilio's capitalised names,
//! basic authentication with the account SID, which is also in the path.

use model::{FieldSpec, FieldType};

use super::{
    Action, Auth, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors, PayloadField,
    Place, Protocol, Provider, RateLimit, Source, TestRequest, TriggerSpec, header_text, payload,
};

/// What its webhook deliveries hold, for the variable picker and the AI builder.
const PAYLOAD: &[PayloadField] = &[
    payload("*", "MessageSid", "string", ""),
    payload("*", "From", "string", "The sender's number."),
    payload("*", "To", "string", "Your Twilio number."),
    payload("message.received", "Body", "string", "The message text."),
    payload(
        "message.status",
        "MessageStatus",
        "string",
        "queued, sent, delivered, failed, …",
    ),
];

pub fn provider() -> Provider {
    Provider {
        id: "twilio".into(),
        name: "Twilio".into(),
        category: "SMS".into(),
        docs: "https://www.twilio.com/docs/usage/api".into(),
        synonyms: &["sms", "text", "text message", "phone", "mobile", "whatsapp"],
        base_url: "https://api.twilio.com".into(),
        connection: ConnectionSpec {
            fields: vec![
                ConnectionField::plain(
                    "account_sid",
                    "Account SID",
                    "AC…, on the Twilio console's home page",
                ),
                ConnectionField::secret("auth_token", "Auth token", ""),
            ],
            auth: Auth::Basic {
                username: Source::field("account_sid"),
                password: Source::field("auth_token"),
            },
            derive: None,
        },
        headers: &[],
        test: Some(TestRequest {
            method: "GET".into(),
            path: "/2010-04-01/Accounts/{account_sid}.json".into(),
            body: None,
        }),
        rate_limit: RateLimit {
            per_second: 10.0,
            burst: 10,
            concurrent: Some(100),
            note: "Twilio allows 100 concurrent API requests; messages beyond a sender's throughput (1/s for a long code) are queued by Twilio.",
        },
        errors: Errors {
            message_at: &["/message"],
            in_body: BodyErrors::None,
            codes: &[],
        },
        protocol: Protocol::Http,
        idempotent_posts: false,
        default_encoding: Encoding::Form,
        actions: vec![
            Action::new(
                "send_sms",
                "Send an SMS",
                "POST",
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                Encoding::Form,
            )
            .describe("Sends a text message.")
            .field(
                FieldSpec::new("to", "To", FieldType::text())
                    .required()
                    .help("E.164: +14155550100."),
                Place::body_as("To"),
            )
            .field(
                FieldSpec::new("from", "From", FieldType::text())
                    .help("Your Twilio number; or give a messaging service."),
                Place::body_as("From"),
            )
            .field(
                FieldSpec::new(
                    "messaging_service_sid",
                    "Messaging service SID",
                    FieldType::text(),
                ),
                Place::body_as("MessagingServiceSid"),
            )
            .field(
                FieldSpec::new("body", "Message", FieldType::Text { multiline: true }).required(),
                Place::body_as("Body"),
            )
            .field(
                FieldSpec::new("status_callback", "Status callback URL", FieldType::Url),
                Place::body_as("StatusCallback"),
            )
            .output(&[
                ("sid", "string", "The message's id (SM…)."),
                ("status", "string", "queued, sent, delivered, failed, …"),
                ("to", "string", ""),
                ("from", "string", ""),
                ("body", "string", ""),
                ("date_created", "string", ""),
            ]),
        ],
        events: &["message.received", "message.status"],
        trigger: Some(TriggerSpec {
            scheme: "twilio",
            payload: PAYLOAD,
            secret_help: "Your account's auth token: Twilio signs requests with it.",
            // Status callbacks carry the message's status; incoming messages do not.
            event_of: |_, body| {
                Some(
                    if body.get("MessageStatus").is_some() && body.get("Body").is_none() {
                        "message.status".to_owned()
                    } else {
                        "message.received".to_owned()
                    },
                )
            },
            delivery_of: |headers, _| header_text(headers, "i-twilio-idempotency-token"),
            registration: None,
        }),
    }
}
