//! Slack: messages to channels. Slack answers HTTP 200 with
//! `{"ok": false, "error": "channel_not_found"}` when it refuses a
//! request, so the body decides whether a step failed.

use model::{FieldSpec, FieldType};

use super::{
    Action, Auth, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors, PayloadField,
    Place, Protocol, Provider, RateLimit, Source, TestRequest, TriggerSpec, body_text,
    paging::Paging, payload,
};
use crate::ErrorClass;

const MESSAGE: &[(&str, &str, &str)] = &[
    ("ok", "boolean", ""),
    ("channel", "string", "The channel's id."),
    (
        "ts",
        "string",
        "The message's timestamp: its id within the channel.",
    ),
    ("message", "object", "The message as posted."),
];

fn channel() -> FieldSpec {
    FieldSpec::new("channel", "Channel", FieldType::text())
        .required()
        .help("A channel id (C0123…) or name (#general).")
}

fn text() -> FieldSpec {
    FieldSpec::new("text", "Text", FieldType::Text { multiline: true })
        .help("The message; with blocks, the notification fallback.")
}

fn blocks() -> FieldSpec {
    FieldSpec::new("blocks", "Blocks", FieldType::Json).help("Block Kit blocks, a list of objects.")
}

/// What its webhook deliveries hold, for the variable picker and the AI builder.
const PAYLOAD: &[PayloadField] = &[
    payload("*", "event.type", "string", ""),
    payload("*", "event.user", "string", "The user's id."),
    payload("*", "event.channel", "string", "The channel's id."),
    payload(
        "message app_mention",
        "event.text",
        "string",
        "The message.",
    ),
    payload(
        "message app_mention",
        "event.ts",
        "string",
        "The message's ts.",
    ),
    payload("reaction_added", "event.reaction", "string", ""),
];

pub fn provider() -> Provider {
    Provider {
        id: "slack".into(),
        name: "Slack".into(),
        category: "Chat".into(),
        docs: "https://api.slack.com/methods".into(),
        synonyms: &[
            "chat",
            "message",
            "notify",
            "notification",
            "channel",
            "ping",
            "team",
            "post",
        ],
        base_url: "https://slack.com/api".into(),
        connection: ConnectionSpec {
            fields: vec![ConnectionField::secret(
                "token",
                "Bot token",
                "xoxb-… from your Slack app's OAuth & Permissions page",
            )],
            auth: Auth::Bearer {
                token: Source::field("token"),
            },
            derive: None,
        },
        headers: &[],
        test: Some(TestRequest {
            method: "POST".into(),
            path: "/auth.test".into(),
            body: None,
        }),
        rate_limit: RateLimit {
            per_second: 1.0,
            burst: 3,
            concurrent: None,
            note: "Slack allows about one message per second per channel (chat.postMessage, special tier).",
        },
        errors: Errors {
            message_at: &["/error"],
            in_body: BodyErrors::OkFalse,
            codes: &[
                ("ratelimited", ErrorClass::RateLimit),
                ("invalid_auth", ErrorClass::Auth),
                ("not_authed", ErrorClass::Auth),
                ("token_revoked", ErrorClass::Auth),
                ("token_expired", ErrorClass::Auth),
                ("account_inactive", ErrorClass::Auth),
                ("missing_scope", ErrorClass::Auth),
                ("internal_error", ErrorClass::Transient),
                ("fatal_error", ErrorClass::Transient),
                ("service_unavailable", ErrorClass::Transient),
                ("request_timeout", ErrorClass::Transient),
            ],
        },
        protocol: Protocol::Http,
        idempotent_posts: false,
        default_encoding: Encoding::Json,
        actions: vec![
            Action::new(
                "post_message",
                "Post a message",
                "POST",
                "/chat.postMessage",
                Encoding::Json,
            )
            .describe("Posts a message to a channel (chat.postMessage).")
            .field(channel(), Place::Body)
            .field(text(), Place::Body)
            .field(blocks(), Place::Body)
            .field(
                FieldSpec::new("thread_ts", "Reply in thread", FieldType::text())
                    .help("The ts of the message to reply to."),
                Place::Body,
            )
            .output(MESSAGE),
            Action::new(
                "update_message",
                "Update a message",
                "POST",
                "/chat.update",
                Encoding::Json,
            )
            .describe("Changes a message posted earlier (chat.update).")
            .field(channel(), Place::Body)
            .field(
                FieldSpec::new("ts", "Message ts", FieldType::text())
                    .required()
                    .help("The ts a post returned, e.g. {{ steps.post.output.ts }}."),
                Place::Body,
            )
            .field(text(), Place::Body)
            .field(blocks(), Place::Body)
            .output(MESSAGE),
            Action::new(
                "list_channels",
                "List channels",
                "GET",
                "/conversations.list",
                Encoding::None,
            )
            .describe("Lists the workspace's channels (conversations.list).")
            .field(
                FieldSpec::new("types", "Types", FieldType::text())
                    .help("public_channel, private_channel, mpim, im (comma separated)."),
                Place::Query,
            )
            .paged(Paging::Cursor {
                items: "/channels",
                next: "/response_metadata/next_cursor",
                param: "cursor",
                size_param: "limit",
            }),
        ],
        events: &[
            "message",
            "app_mention",
            "reaction_added",
            "member_joined_channel",
        ],
        trigger: Some(TriggerSpec {
            scheme: "slack",
            payload: PAYLOAD,
            secret_help: "Your Slack app's signing secret (Basic Information → App Credentials).",
            event_of: |_, body| body_text(body, "/event/type").or_else(|| body_text(body, "/type")),
            delivery_of: |_, body| body_text(body, "/event_id"),
            registration: None,
        }),
    }
}
