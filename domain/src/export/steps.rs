//! `src/steps.ts` of an exported project: one function per step, its
//! config translated field by field (a field the translator cannot take
//! fails the export, naming node, field and construct), then the kind's
//! behaviour: a built-in kind's runtime function, a provider action's
//! request as its declaration places it, an HTTP request, an e-mail.

use engine::providers::{Action, Encoding, Place, Protocol, Provider};
use model::Node;
use serde_json::{Map, Value};

use super::{
    ExportError, Names,
    connections::{Bindings, env_name},
    expression,
};

/// Kinds whose steps the runtime has a function for.
const BUILT_IN: &[(&str, &str)] = &[
    ("transform", "k.transform(config)"),
    ("condition", "k.condition(config)"),
    ("switch", "k.switchCase(config)"),
    ("delay", "k.delay(config)"),
    ("merge", "k.merge(inputs)"),
    ("loop", "k.loop(config)"),
    ("stop_and_fail", "k.stopAndFail(config)"),
];

/// Provider actions whose values Switchyard prepares in code; the runtime
/// (`prepare.ts`) has each of them.
pub const PREPARED: &[&str] = &[
    "mailchimp.add_member",
    "mailchimp.tag_member",
    "sendgrid.send_email",
];

/// A value as JSON text, which is also TypeScript.
pub(super) fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The step's config as a TypeScript object, each field translated on its own.
fn config_code(node: &Node, skip: &[&str], secrets: &[Vec<String>]) -> Result<String, ExportError> {
    let Value::Object(fields) = &node.config else {
        return Ok("{}".into());
    };
    let mut out = Vec::new();
    for (name, value) in fields {
        if skip.contains(&name.as_str()) {
            continue;
        }
        let code = field_code(node, std::slice::from_ref(name), value, secrets)?;
        out.push(format!("    {}: {code},", json(name)));
    }
    Ok(if out.is_empty() {
        "{}".into()
    } else {
        format!("{{\n{}\n  }}", out.join("\n"))
    })
}

fn field_code(
    node: &Node,
    path: &[String],
    value: &Value,
    secrets: &[Vec<String>],
) -> Result<String, ExportError> {
    if let Value::String(text) = value
        && secrets.iter().any(|secret| secret == path)
        && !model::expr::contains_template(text)
    {
        // A credential written into the step: read from the environment.
        return Ok(format!("env({})", json(&step_secret_name(&node.id, path))));
    }
    if let Value::Array(items) = value {
        let entries = items
            .iter()
            .enumerate()
            .map(|(index, inner)| {
                let mut deeper = path.to_vec();
                deeper.push(index.to_string());
                field_code(node, &deeper, inner, secrets)
            })
            .collect::<Result<Vec<_>, ExportError>>()?;
        return Ok(format!("[{}]", entries.join(", ")));
    }
    if let Value::Object(map) = value {
        let entries = map
            .iter()
            .map(|(key, inner)| {
                let mut deeper = path.to_vec();
                deeper.push(key.clone());
                Ok(format!(
                    "{}: {}",
                    json(key),
                    field_code(node, &deeper, inner, secrets)?
                ))
            })
            .collect::<Result<Vec<_>, ExportError>>()?;
        return Ok(format!("{{ {} }}", entries.join(", ")));
    }
    expression::value(value).map_err(|unsupported| ExportError {
        node: node.id.clone(),
        field: path.join("."),
        construct: unsupported.0,
    })
}

/// The code of one step's function body (after `const config = …`).
pub fn step(node: &Node, names: &Names, bindings: &Bindings) -> Result<String, ExportError> {
    let refuse = |field: &str, construct: String| ExportError {
        node: node.id.clone(),
        field: field.into(),
        construct,
    };
    let function = names.function(&node.id);
    let kind_label = kind_label(&node.kind);
    let label = if node.label.is_empty() {
        kind_label.clone()
    } else {
        format!("{} ({kind_label})", node.label)
    };
    let Behaviour {
        doc,
        skip,
        body,
        prelude,
    } = if let Some((_, call)) = BUILT_IN.iter().find(|(kind, _)| *kind == node.kind) {
        Behaviour::call(format!("return {call};"), &[])
    } else if node.kind == "http_request" {
        let connection = bindings.call_argument(node);
        Behaviour::call(
            format!("return done(await http.httpRequest(config, key{connection}));"),
            &["connection_id"],
        )
    } else if let Some((provider, rest)) = node.kind.split_once('.')
        && let Some(provider) = bindings.provider(provider)
    {
        provider_step(node, &function, provider, rest, bindings).map_err(|why| refuse("", why))?
    } else {
        return Err(refuse(
            "kind",
            format!("the kind `{}`, which Switchyard does not know", node.kind),
        ));
    };
    let config = config_code(node, &skip, &secret_literals(node))?;
    let uses_config = body.contains("config");
    let uses_inputs = body.contains("inputs");
    let uses_key = body.contains("key");
    let needs_ctx = config.contains("ctx.");
    let params: Vec<&str> = [
        (needs_ctx, "ctx"),
        (uses_inputs, "inputs"),
        (uses_key, "key"),
    ]
    .into_iter()
    .filter_map(|(used, name)| used.then_some(name))
    .collect();
    let signature = if params.is_empty() {
        "_call: StepCall".to_owned()
    } else {
        format!("{{ {} }}: StepCall", params.join(", "))
    };
    let config_line = if uses_config {
        format!("  const config: Config = {config};\n")
    } else {
        String::new()
    };
    Ok(format!(
        "{prelude}/** {} — step `{}`{doc} */\nexport async function {function}({signature}): Promise<Outcome> {{\n{config_line}  {body}\n}}\n",
        comment(&label),
        node.id,
    ))
}

fn comment(text: &str) -> String {
    text.replace("*/", "* /")
}

/// What a step's function does besides building its config.
struct Behaviour {
    /// Added to the doc comment (a provider action's method and path).
    doc: String,
    /// Config fields the code does not build (the connection: bound once).
    skip: Vec<&'static str>,
    body: String,
    /// Code before the function (a provider action's declared request).
    prelude: String,
}

impl Behaviour {
    fn call(body: String, skip: &[&'static str]) -> Behaviour {
        Behaviour {
            doc: String::new(),
            skip: skip.to_vec(),
            body,
            prelude: String::new(),
        }
    }
}

/// Config paths of a step that hold credentials written in as text: its
/// kind's secret fields, and for HTTP calls headers and query parameters
/// with secret-looking names (those Switchyard masks in run data). The
/// export reads them from the environment instead.
pub fn secret_literals(node: &Node) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = REGISTRY
        .get(&node.kind)
        .map(|kind| kind.spec().secret_paths())
        .unwrap_or_default();
    if node.kind == "http_request" || node.kind.ends_with(".request") {
        for (field, is_secret) in [
            (
                "headers",
                engine::redact::is_secret_header as fn(&str) -> bool,
            ),
            ("query", engine::redact::is_secret_param),
        ] {
            if let Some(Value::Object(entries)) = node.config.get(field) {
                paths.extend(
                    entries
                        .keys()
                        .filter(|name| is_secret(name))
                        .map(|name| vec![field.to_owned(), name.clone()]),
                );
            }
        }
    }
    paths.retain(|path| {
        let pointer: String = path
            .iter()
            .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
            .collect();
        node.config
            .pointer(&pointer)
            .and_then(Value::as_str)
            .is_some_and(|text| !text.is_empty() && !model::expr::contains_template(text))
    });
    paths
}

static REGISTRY: std::sync::LazyLock<engine::nodes::Registry> =
    std::sync::LazyLock::new(engine::nodes::Registry::builtin);

/// The catalogue's name for a kind (`Stripe: Create a customer`).
fn kind_label(kind: &str) -> String {
    REGISTRY
        .catalogue()
        .kinds
        .iter()
        .find(|k| k.kind == kind)
        .map_or_else(|| kind.to_owned(), |k| k.label.clone())
}

fn provider_step(
    node: &Node,
    function: &str,
    provider: &Provider,
    action_name: &str,
    bindings: &Bindings,
) -> Result<Behaviour, String> {
    let connection = bindings.connection_code(node).ok_or_else(|| {
        format!(
            "a connection chosen by an expression (choose one {} connection)",
            provider.name
        )
    })?;
    let provider_var = format!("providers.{}", ident(&provider.id));
    if provider.protocol == Protocol::Smtp {
        let body = format!("return done(await smtp.sendEmail({connection}, config, key));");
        return Ok(Behaviour::call(body, &["connection"]));
    }
    let endpoint = format!("new http.Endpoint({provider_var}, {connection})");
    if action_name == "request" {
        let form = provider.default_encoding == Encoding::Form;
        let body =
            format!("return done(await actions.customCall({endpoint}, config, {form}, key));");
        return Ok(Behaviour::call(body, &["connection"]));
    }
    let action = provider
        .action(action_name)
        .ok_or_else(|| format!("the action `{}`", node.kind))?;
    if action.prepare.is_some() && !PREPARED.contains(&node.kind.as_str()) {
        return Err(format!(
            "the action `{}`, whose values Switchyard prepares in code the export lacks",
            node.kind
        ));
    }
    let request = format!("{function}Request");
    let doc = format!(": {} {}", action.method, action.path);
    let prelude = format!(
        "/** The request of `{}`, as Switchyard declares it. */\nconst {request}: actions.Action = {};\n\n",
        node.id,
        action_code(&node.kind, action),
    );
    let body = format!("return done(await actions.runAction({endpoint}, {request}, config, key));");
    Ok(Behaviour {
        doc,
        skip: vec!["connection"],
        body,
        prelude,
    })
}

fn place_code(name: &str, place: &Place) -> String {
    match place {
        Place::Path => "[\"path\"]".to_owned(),
        Place::Unsent => "[\"unsent\"]".to_owned(),
        Place::Query => format!("[\"query\", {}]", json(&name)),
        Place::QueryAs(other) => format!("[\"query\", {}]", json(other)),
        Place::Header(header) => format!("[\"header\", {}]", json(header)),
        Place::Body => format!("[\"body\", {}]", json(&name)),
        Place::BodyAs(other) => format!("[\"body\", {}]", json(other)),
        Place::BodySpread => "[\"spread\"]".to_owned(),
        Place::BodyWhole => "[\"whole\"]".to_owned(),
    }
}

fn action_code(kind: &str, action: &Action) -> String {
    let fields: Vec<String> = action
        .fields
        .iter()
        .map(|f| {
            let mut out = format!(
                "    {{ name: {}, label: {}",
                json(&f.spec.name),
                json(&f.spec.label)
            );
            if f.spec.required {
                out.push_str(", required: true");
            }
            if let Some(fallback) = &f.spec.default {
                out.push_str(&format!(", fallback: {}", json(fallback)));
            }
            out.push_str(&format!(
                ", place: {} }},",
                place_code(&f.spec.name, &f.place)
            ));
            out
        })
        .collect();
    let encoding = match action.encoding {
        Encoding::None => "{ type: \"none\" }".to_owned(),
        Encoding::Json => "{ type: \"json\" }".to_owned(),
        Encoding::Form => "{ type: \"form\" }".to_owned(),
        Encoding::GraphQl(query) => format!("{{ type: \"graph_ql\", query: {} }}", json(&query)),
    };
    let mut extra = String::new();
    if !action.computed.is_empty() {
        let computed: Vec<String> = action
            .computed
            .iter()
            .map(|(name, place)| format!("[{}, {}]", json(name), place_code(name, place)))
            .collect();
        extra.push_str(&format!("\n  computed: [{}],", computed.join(", ")));
    }
    if let Some(paging) = &action.paging {
        let value = serde_json::to_value(paging).unwrap_or(Value::Null);
        extra.push_str(&format!("\n  paging: {},", paging_code(&value)));
    }
    if let Some(at) = action.result_at {
        extra.push_str(&format!("\n  resultAt: {},", json(&at)));
    }
    format!(
        "{{\n  kind: {},\n  method: {},\n  path: {},\n  encoding: {encoding},\n  fields: [\n{}\n  ],{extra}\n}}",
        json(&kind),
        json(&action.method),
        json(&action.path),
        fields.join("\n")
    )
}

/// Serialised paging with the TypeScript field names.
fn paging_code(value: &Value) -> String {
    let mut renamed = Map::new();
    if let Value::Object(map) = value {
        for (key, inner) in map {
            let key = if key == "size_param" {
                "sizeParam"
            } else {
                key
            };
            renamed.insert(key.to_owned(), inner.clone());
        }
    }
    json(&renamed)
}

/// A TypeScript identifier for a provider id or a node id.
pub fn ident(text: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if upper && !out.is_empty() {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "step");
    }
    out
}

/// The environment variable of a secret written into a step's config.
pub fn step_secret_name(node: &str, path: &[String]) -> String {
    env_name(&format!("{node}_{}", path.join("_")))
}
