//! GitHub: issues and comments through the REST API, which wants a
//! `User-Agent`, its media type and a pinned API version on every call,
//! and pages lists through the `Link` header.

use model::{FieldSpec, FieldType};
use serde_json::json;

use super::{
    Action, Auth, Body, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors,
    PayloadField, Place, Protocol, Provider, RateLimit, Source, TestRequest, TriggerSpec,
    header_text, paging::Paging, payload, registration::Registration,
};

const ISSUE: &[(&str, &str, &str)] = &[
    ("id", "integer", ""),
    ("number", "integer", "The issue's number in its repository."),
    ("title", "string", ""),
    ("body", "string", ""),
    ("state", "string", "open or closed."),
    ("html_url", "string", "The issue's page."),
    ("labels", "array", ""),
    ("user", "object", "Who opened it (login, id, …)."),
];

fn repo_fields(action: Action) -> Action {
    action
        .field(
            FieldSpec::new("owner", "Owner", FieldType::text())
                .required()
                .help("The user or organisation."),
            Place::Path,
        )
        .field(
            FieldSpec::new("repo", "Repository", FieldType::text()).required(),
            Place::Path,
        )
}

/// What its webhook deliveries hold, for the variable picker and the AI builder.
const PAYLOAD: &[PayloadField] = &[
    payload("*", "action", "string", "opened, closed, created, …"),
    payload("*", "repository.full_name", "string", "owner/name"),
    payload("*", "repository.name", "string", ""),
    payload("*", "repository.owner.login", "string", ""),
    payload("*", "sender.login", "string", "Who did it."),
    payload("issues issue_comment", "issue.number", "integer", ""),
    payload("issues issue_comment", "issue.title", "string", ""),
    payload("issues issue_comment", "issue.body", "string", ""),
    payload(
        "issues issue_comment",
        "issue.html_url",
        "string",
        "The issue's page.",
    ),
    payload("issue_comment", "comment.body", "string", ""),
    payload("issue_comment", "comment.html_url", "string", ""),
    payload("pull_request", "pull_request.number", "integer", ""),
    payload("pull_request", "pull_request.title", "string", ""),
    payload("pull_request", "pull_request.body", "string", ""),
    payload(
        "pull_request",
        "pull_request.html_url",
        "string",
        "The pull request's page.",
    ),
    payload("push", "ref", "string", "refs/heads/main"),
    payload("push", "head_commit.message", "string", ""),
    payload("push", "head_commit.url", "string", ""),
    payload("release", "release.tag_name", "string", ""),
    payload("release", "release.name", "string", ""),
    payload("release", "release.html_url", "string", ""),
];

pub fn provider() -> Provider {
    Provider {
        id: "github".into(),
        name: "GitHub".into(),
        category: "Developer tools".into(),
        docs: "https://docs.github.com/en/rest".into(),
        synonyms: &[
            "issue",
            "ticket",
            "bug",
            "repository",
            "code",
            "pull request",
            "git",
        ],
        base_url: "https://api.github.com".into(),
        connection: ConnectionSpec {
            fields: vec![ConnectionField::secret(
                "token",
                "Token",
                "A fine-grained personal access token (github_pat_…) or a classic one (ghp_…)",
            )],
            auth: Auth::Bearer {
                token: Source::field("token"),
            },
            derive: None,
        },
        headers: &[
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
            ("User-Agent", "Switchyard"),
        ],
        test: Some(TestRequest {
            method: "GET".into(),
            path: "/user".into(),
            body: None,
        }),
        rate_limit: RateLimit {
            per_second: 5000.0 / 3600.0,
            burst: 80,
            concurrent: Some(100),
            note: "GitHub allows 5,000 requests per hour per token, at most 100 concurrent, and about 80 content-creating requests per minute.",
        },
        errors: Errors {
            message_at: &["/message"],
            in_body: BodyErrors::None,
            codes: &[],
        },
        protocol: Protocol::Http,
        idempotent_posts: false,
        default_encoding: Encoding::Json,
        actions: vec![
            repo_fields(Action::new(
                "create_issue",
                "Create an issue",
                "POST",
                "/repos/{owner}/{repo}/issues",
                Encoding::Json,
            ))
            .describe("Opens an issue in a repository.")
            .field(
                FieldSpec::new("title", "Title", FieldType::text()).required(),
                Place::Body,
            )
            .field(
                FieldSpec::new("body", "Body", FieldType::Text { multiline: true })
                    .help("Markdown."),
                Place::Body,
            )
            .field(
                FieldSpec::new("labels", "Labels", FieldType::Json).help("A list of label names."),
                Place::Body,
            )
            .field(
                FieldSpec::new("assignees", "Assignees", FieldType::Json).help("A list of logins."),
                Place::Body,
            )
            .output(ISSUE),
            repo_fields(Action::new(
                "create_comment",
                "Comment on an issue",
                "POST",
                "/repos/{owner}/{repo}/issues/{issue_number}/comments",
                Encoding::Json,
            ))
            .describe("Adds a comment to an issue or pull request.")
            .field(
                FieldSpec::new(
                    "issue_number",
                    "Issue number",
                    FieldType::Integer {
                        min: 1,
                        max: i64::from(i32::MAX),
                    },
                )
                .required(),
                Place::Path,
            )
            .field(
                FieldSpec::new("body", "Comment", FieldType::Text { multiline: true }).required(),
                Place::Body,
            )
            .output(&[
                ("id", "integer", ""),
                ("body", "string", ""),
                ("html_url", "string", "The comment's page."),
                ("user", "object", ""),
            ]),
            repo_fields(Action::new(
                "list_issues",
                "List issues",
                "GET",
                "/repos/{owner}/{repo}/issues",
                Encoding::None,
            ))
            .describe("Lists a repository's issues (and pull requests), newest first.")
            .field(
                FieldSpec::new(
                    "state",
                    "State",
                    FieldType::select(&["open", "closed", "all"]),
                )
                .default_value(json!("open")),
                Place::Query,
            )
            .field(
                FieldSpec::new("labels", "Labels", FieldType::text())
                    .help("Label names separated by commas."),
                Place::Query,
            )
            .field(
                FieldSpec::new("since", "Updated since", FieldType::Timestamp),
                Place::Query,
            )
            .paged(Paging::LinkHeader),
        ],
        events: &[
            "push",
            "issues",
            "issue_comment",
            "pull_request",
            "release",
            "star",
        ],
        trigger: Some(TriggerSpec {
            scheme: "github",
            payload: PAYLOAD,
            secret_help: "The secret you give the repository's webhook (Settings → Webhooks).",
            event_of: |headers, _| header_text(headers, "x-github-event"),
            delivery_of: |headers, _| header_text(headers, "x-github-delivery"),
            registration: Some(Registration {
                fields: &[("owner", "Owner"), ("repo", "Repository")],
                path: "/repos/{owner}/{repo}/hooks",
                body: |hook| {
                    Body::Json(json!({
                        "name": "web",
                        "active": true,
                        "events": hook.events,
                        "config": {"url": hook.url, "content_type": "json", "secret": hook.secret, "insecure_ssl": "0"}
                    }))
                },
                id_at: "/id",
                secret_at: None,
                delete: "/repos/{owner}/{repo}/hooks/{id}",
            }),
        }),
    }
}
