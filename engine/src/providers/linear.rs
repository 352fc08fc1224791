//! Linear: issues and comments through its GraphQL API. Failures come in
//! the body's `errors[]`, often with HTTP 200.

use model::{FieldSpec, FieldType};

use super::{
    Action, Auth, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors, PayloadField,
    Place, Protocol, Provider, RateLimit, Source, TestRequest, TriggerSpec, body_text, header_text,
    payload,
};
use crate::ErrorClass;

const CREATE_ISSUE: &str = "mutation IssueCreate($teamId: String!, $title: String!, $description: String, $priority: Int, $assigneeId: String, $labelIds: [String!]) { issueCreate(input: {teamId: $teamId, title: $title, description: $description, priority: $priority, assigneeId: $assigneeId, labelIds: $labelIds}) { success issue { id identifier title url } } }";

const CREATE_COMMENT: &str = "mutation CommentCreate($issueId: String!, $body: String!) { commentCreate(input: {issueId: $issueId, body: $body}) { success comment { id body url } } }";

/// What its webhook deliveries hold, for the variable picker and the AI builder.
const PAYLOAD: &[PayloadField] = &[
    payload("*", "action", "string", "create, update or remove"),
    payload("*", "url", "string", "The entity's page."),
    payload("*", "data.id", "string", ""),
    payload("Issue.*", "data.identifier", "string", "ENG-123"),
    payload("Issue.*", "data.title", "string", ""),
    payload("Issue.*", "data.description", "string", ""),
    payload("Comment.*", "data.body", "string", "The comment."),
    payload("Comment.*", "data.issueId", "string", ""),
];

pub fn provider() -> Provider {
    Provider {
        id: "linear".into(),
        name: "Linear".into(),
        category: "Project management".into(),
        docs: "https://developers.linear.app/docs/graphql/working-with-the-graphql-api".into(),
        synonyms: &["issue", "ticket", "bug", "task", "project", "tracker"],
        base_url: "https://api.linear.app".into(),
        connection: ConnectionSpec {
            fields: vec![ConnectionField::secret(
                "api_key",
                "API key",
                "lin_api_…, under Settings → API",
            )],
            // Personal API keys go bare in `Authorization` (OAuth tokens use Bearer).
            auth: Auth::Header {
                name: "Authorization".into(),
                prefix: "".into(),
                value: Source::field("api_key"),
            },
            derive: None,
        },
        headers: &[],
        test: Some(TestRequest {
            method: "POST".into(),
            path: "/graphql".into(),
            body: Some(r#"{"query": "{ viewer { id name } }"}"#.into()),
        }),
        rate_limit: RateLimit {
            per_second: 1500.0 / 3600.0,
            burst: 60,
            concurrent: None,
            note: "Linear allows 1,500 requests per hour per API key.",
        },
        errors: Errors {
            message_at: &["/errors/0/message"],
            in_body: BodyErrors::GraphQl,
            codes: &[
                ("RATELIMITED", ErrorClass::RateLimit),
                ("AUTHENTICATION_ERROR", ErrorClass::Auth),
                ("FORBIDDEN", ErrorClass::Auth),
                ("INTERNAL_SERVER_ERROR", ErrorClass::Transient),
            ],
        },
        protocol: Protocol::Http,
        idempotent_posts: false,
        default_encoding: Encoding::Json,
        actions: vec![
            Action::new(
                "create_issue",
                "Create an issue",
                "POST",
                "/graphql",
                Encoding::GraphQl(CREATE_ISSUE),
            )
            .describe("Creates an issue in a team.")
            .field(
                FieldSpec::new("team_id", "Team id", FieldType::text()).required(),
                Place::body_as("teamId"),
            )
            .field(
                FieldSpec::new("title", "Title", FieldType::text()).required(),
                Place::Body,
            )
            .field(
                FieldSpec::new(
                    "description",
                    "Description",
                    FieldType::Text { multiline: true },
                )
                .help("Markdown."),
                Place::Body,
            )
            .field(
                FieldSpec::new(
                    "priority",
                    "Priority",
                    FieldType::Integer { min: 0, max: 4 },
                )
                .help("0 none, 1 urgent, 2 high, 3 medium, 4 low."),
                Place::Body,
            )
            .field(
                FieldSpec::new("assignee_id", "Assignee id", FieldType::text()),
                Place::body_as("assigneeId"),
            )
            .field(
                FieldSpec::new("label_ids", "Label ids", FieldType::Json),
                Place::body_as("labelIds"),
            )
            .result_at("/data/issueCreate/issue")
            .output(&[
                ("id", "string", ""),
                ("identifier", "string", "ENG-123."),
                ("title", "string", ""),
                ("url", "string", "The issue's page."),
            ]),
            Action::new(
                "create_comment",
                "Comment on an issue",
                "POST",
                "/graphql",
                Encoding::GraphQl(CREATE_COMMENT),
            )
            .describe("Adds a comment to an issue.")
            .field(
                FieldSpec::new("issue_id", "Issue id", FieldType::text())
                    .required()
                    .help("The id or identifier (ENG-123)."),
                Place::body_as("issueId"),
            )
            .field(
                FieldSpec::new("body", "Comment", FieldType::Text { multiline: true }).required(),
                Place::Body,
            )
            .result_at("/data/commentCreate/comment")
            .output(&[
                ("id", "string", ""),
                ("body", "string", ""),
                ("url", "string", ""),
            ]),
        ],
        events: &[
            "Issue.create",
            "Issue.update",
            "Issue.remove",
            "Comment.create",
        ],
        trigger: Some(TriggerSpec {
            scheme: "linear",
            payload: PAYLOAD,
            secret_help: "The webhook's signing secret (Settings → API → Webhooks).",
            // `{"type": "Issue", "action": "create"}` is `Issue.create`.
            event_of: |_, body| {
                Some(format!(
                    "{}.{}",
                    body_text(body, "/type")?,
                    body_text(body, "/action")?
                ))
            },
            delivery_of: |headers, _| header_text(headers, "linear-delivery"),
            registration: None,
        }),
    }
}
