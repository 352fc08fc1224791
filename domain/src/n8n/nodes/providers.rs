//! n8n's Stripe, Slack, GitHub, Mailchimp, Twilio and Linear nodes onto
//! the Switchyard actions that do the same thing, declared as data: which
//! resource and operation, and where each parameter goes. The step's
//! connection is chosen from the account's connections on import.

use serde_json::{Map, Value, json};

use super::{Context, Data, Step, Translation};

/// How a parameter's value is reshaped.
#[derive(Clone, Copy)]
enum Shape {
    Same,
    /// `[{<key>, <value>}]` into an object (Stripe's metadata).
    Pairs(&'static str, &'static str),
    /// `[{<key>}]` into a list of its values (GitHub's labels).
    Column(&'static str),
}

struct Action {
    node: &'static str,
    resource: &'static str,
    operation: &'static str,
    kind: &'static str,
    fields: &'static [(&'static str, &'static str, Shape)],
}

/// The resource and operation n8n leaves out of an export when they are
/// the node's defaults.
const DEFAULTS: &[(&str, &str, &str)] = &[
    ("stripe", "balance", "get"),
    ("slack", "message", "post"),
    ("github", "issue", "create"),
    ("mailchimp", "member", "create"),
    ("twilio", "sms", "send"),
    ("linear", "issue", "create"),
];

const ACTIONS: &[Action] = &[
    Action {
        node: "stripe",
        resource: "customer",
        operation: "create",
        kind: "stripe.create_customer",
        fields: &[
            ("name", "name", Shape::Same),
            ("additionalFields.email", "email", Shape::Same),
            ("additionalFields.phone", "phone", Shape::Same),
            ("additionalFields.description", "description", Shape::Same),
            (
                "additionalFields.metadata.metadataProperties",
                "metadata",
                Shape::Pairs("key", "value"),
            ),
        ],
    },
    Action {
        node: "stripe",
        resource: "customer",
        operation: "get",
        kind: "stripe.retrieve_customer",
        fields: &[("customerId", "customer", Shape::Same)],
    },
    Action {
        node: "stripe",
        resource: "customer",
        operation: "getAll",
        kind: "stripe.list_customers",
        fields: &[
            ("filters.email", "email", Shape::Same),
            ("limit", "max_items", Shape::Same),
        ],
    },
    Action {
        node: "slack",
        resource: "message",
        operation: "post",
        kind: "slack.post_message",
        fields: &[
            ("channelId", "channel", Shape::Same),
            ("channel", "channel", Shape::Same),
            ("text", "text", Shape::Same),
            (
                "otherOptions.thread_ts.replyValues.thread_ts",
                "thread_ts",
                Shape::Same,
            ),
        ],
    },
    Action {
        node: "slack",
        resource: "message",
        operation: "update",
        kind: "slack.update_message",
        fields: &[
            ("channelId", "channel", Shape::Same),
            ("channel", "channel", Shape::Same),
            ("ts", "ts", Shape::Same),
            ("text", "text", Shape::Same),
            ("updateFields.text", "text", Shape::Same),
        ],
    },
    Action {
        node: "github",
        resource: "issue",
        operation: "create",
        kind: "github.create_issue",
        fields: &[
            ("owner", "owner", Shape::Same),
            ("repository", "repo", Shape::Same),
            ("title", "title", Shape::Same),
            ("body", "body", Shape::Same),
            ("labels", "labels", Shape::Column("label")),
            ("assignees", "assignees", Shape::Column("assignee")),
        ],
    },
    Action {
        node: "github",
        resource: "issue",
        operation: "createComment",
        kind: "github.create_comment",
        fields: &[
            ("owner", "owner", Shape::Same),
            ("repository", "repo", Shape::Same),
            ("issueNumber", "issue_number", Shape::Same),
            ("body", "body", Shape::Same),
        ],
    },
    Action {
        node: "github",
        resource: "repository",
        operation: "getIssues",
        kind: "github.list_issues",
        fields: &[
            ("owner", "owner", Shape::Same),
            ("repository", "repo", Shape::Same),
            ("getRepositoryIssuesFilters.state", "state", Shape::Same),
            ("limit", "max_items", Shape::Same),
        ],
    },
    Action {
        node: "mailchimp",
        resource: "member",
        operation: "create",
        kind: "mailchimp.add_member",
        fields: &[
            ("list", "list_id", Shape::Same),
            ("email", "email_address", Shape::Same),
            ("status", "status", Shape::Same),
            (
                "mergeFieldsUi.mergeFieldsValues",
                "merge_fields",
                Shape::Pairs("name", "value"),
            ),
        ],
    },
    Action {
        node: "mailchimp",
        resource: "memberTag",
        operation: "create",
        kind: "mailchimp.tag_member",
        fields: &[
            ("list", "list_id", Shape::Same),
            ("email", "email_address", Shape::Same),
            ("tags", "tags", Shape::Same),
        ],
    },
    Action {
        node: "twilio",
        resource: "sms",
        operation: "send",
        kind: "twilio.send_sms",
        fields: &[
            ("from", "from", Shape::Same),
            ("to", "to", Shape::Same),
            ("message", "body", Shape::Same),
        ],
    },
    Action {
        node: "linear",
        resource: "issue",
        operation: "create",
        kind: "linear.create_issue",
        fields: &[
            ("teamId", "team_id", Shape::Same),
            ("title", "title", Shape::Same),
            ("additionalFields.description", "description", Shape::Same),
            ("additionalFields.priorityId", "priority", Shape::Same),
            ("additionalFields.assigneeId", "assignee_id", Shape::Same),
        ],
    },
    Action {
        node: "linear",
        resource: "comment",
        operation: "addComment",
        kind: "linear.create_comment",
        fields: &[
            ("issueId", "issue_id", Shape::Same),
            ("comment", "body", Shape::Same),
        ],
    },
];

/// The node translated when it is one of the providers', else `None`.
pub fn translate(cx: &Context) -> Option<Translation> {
    let provider = cx.node.ty.strip_prefix("n8n-nodes-base.")?;
    let &(_, default_resource, default_operation) =
        DEFAULTS.iter().find(|(p, _, _)| *p == provider)?;
    let resource = cx.text("resource").unwrap_or(default_resource);
    let operation = cx.text("operation").unwrap_or(default_operation);
    let Some(action) = ACTIONS
        .iter()
        .find(|a| a.node == provider && a.resource == resource && a.operation == operation)
    else {
        return Some(Translation::Unsupported(format!(
            "the {provider} operation `{resource}: {operation}` has no Switchyard action; the custom API call `{provider}.request` can make it"
        )));
    };
    if cx.param("toWhatsapp").and_then(Value::as_bool) == Some(true) {
        return Some(Translation::Unsupported("sending on WhatsApp".into()));
    }
    let mut config = Map::new();
    for &(from, to, shape) in action.fields {
        let Some(value) = cx.param(from) else {
            continue;
        };
        let value = match (shape, value) {
            (Shape::Same, value) => cx.translate(value, from),
            (Shape::Pairs(key, val), Value::Array(pairs)) => {
                let mut object = Map::new();
                for pair in pairs {
                    if let Some(k) = pair.get(key).and_then(Value::as_str) {
                        object.insert(
                            k.to_owned(),
                            cx.translate(pair.get(val).unwrap_or(&Value::Null), from),
                        );
                    }
                }
                Value::Object(object)
            }
            (Shape::Column(key), Value::Array(items)) => Value::Array(
                items
                    .iter()
                    .filter_map(|i| i.get(key))
                    .map(|v| cx.translate(v, from))
                    .collect(),
            ),
            (_, other) => cx.translate(other, from),
        };
        config.insert(to.to_owned(), value);
    }
    if operation == "getAll" || operation == "getIssues" {
        if cx.param("returnAll").and_then(Value::as_bool) == Some(true) {
            config.insert("max_items".into(), json!(10_000));
        }
    }
    if cx.param("jsonParameters").and_then(Value::as_bool) == Some(true) {
        cx.unsupported(
            Some("jsonParameters"),
            "parameters given as JSON: set the step's fields",
        );
    }
    let data = Data::Output(format!("steps.{}.output", cx.id));
    Some(Translation::Step(Step::new(
        action.kind,
        Value::Object(config),
        &[&["out"]],
        data,
    )))
}
