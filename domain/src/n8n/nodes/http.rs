//! HTTP Request, versions 1 to 4: method, URL, query, headers, JSON, form
//! and raw bodies, timeout. Credentials stay in n8n: the report says which
//! the step needs.

use serde_json::{Map, Value, json};

use super::{Context, Data, Step, Translation};
use crate::n8n::expression::{self, Untranslatable};

/// A JSON text with `{{ … }}` inside (`jsonBody`), as a config value whose
/// strings hold the translated expressions: a value that is only an
/// expression keeps its type.
fn json_with_expressions(cx: &Context, text: &str, path: &str) -> Option<Value> {
    let body = text.strip_prefix('=').unwrap_or(text);
    let mut expressions = Vec::new();
    let mut marked = String::with_capacity(body.len());
    let chars: Vec<char> = body.chars().collect();
    let (mut i, mut in_string) = (0, false);
    while i < chars.len() {
        if chars[i] == '{' && chars.get(i + 1) == Some(&'{') {
            let rest: String = chars[i + 2..].iter().collect();
            let Some(end) = rest.find("}}") else {
                break;
            };
            let marker = format!("__switchyard_expression_{}__", expressions.len());
            expressions.push(rest[..end].trim().to_owned());
            if in_string {
                marked.push_str(&marker);
            } else {
                marked.push_str(&format!("\"{marker}\""));
            }
            i += 2 + rest[..end].chars().count() + 2;
            continue;
        }
        match chars[i] {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                marked.push('\\');
                i += 1;
                if let Some(c) = chars.get(i) {
                    marked.push(*c);
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        marked.push(chars[i]);
        i += 1;
    }
    let parsed: Value = match serde_json::from_str(&marked) {
        Ok(value) => value,
        Err(error) => {
            cx.unsupported(
                Some(path),
                format!("the JSON body is not JSON once its expressions are set aside: {error}"),
            );
            return None;
        }
    };
    let mut translated = Vec::with_capacity(expressions.len());
    for code in &expressions {
        match expression::expression(code, cx.sources) {
            Ok(out) => translated.push(out.code),
            Err(Untranslatable(why)) => {
                cx.unsupported(
                    Some(path),
                    format!("the expression could not be translated: {why}"),
                );
                translated.push(crate::n8n::EXPRESSION_NOT_IMPORTED.to_owned());
            }
        }
    }
    Some(fill(parsed, &translated))
}

fn fill(value: Value, expressions: &[String]) -> Value {
    match value {
        Value::String(text) => {
            let mut result = text.clone();
            for (n, code) in expressions.iter().enumerate() {
                let marker = format!("__switchyard_expression_{n}__");
                if text == marker {
                    return Value::String(format!("{{{{ {code} }}}}"));
                }
                result = result.replace(&marker, &format!("{{{{ {code} }}}}"));
            }
            Value::String(result)
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| fill(v, expressions)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, fill(v, expressions)))
                .collect(),
        ),
        other => other,
    }
}

/// Query or headers: key-value pairs, or a JSON text.
fn pairs_or_json(
    cx: &Context,
    send: &str,
    specify: &str,
    pairs: &str,
    json: &str,
    legacy: &str,
) -> Option<Value> {
    if cx.node.version >= 3.0 {
        if cx.param(send).and_then(Value::as_bool) != Some(true) {
            return None;
        }
        if cx.text(specify) == Some("json") {
            return cx
                .text(json)
                .and_then(|text| json_with_expressions(cx, text, json));
        }
        return cx.pairs(pairs);
    }
    cx.pairs(legacy)
}

pub fn request(cx: &Context) -> Translation {
    let method = cx
        .text("method")
        .or_else(|| cx.text("requestMethod"))
        .unwrap_or("GET")
        .to_uppercase();
    let mut config = Map::new();
    config.insert("method".into(), json!(method));
    config.insert("url".into(), cx.value("url").unwrap_or_else(|| json!("")));
    if let Some(query) = pairs_or_json(
        cx,
        "sendQuery",
        "specifyQuery",
        "queryParameters.parameters",
        "jsonQuery",
        "queryParametersUi.parameter",
    ) {
        config.insert("query".into(), query);
    }
    if let Some(headers) = pairs_or_json(
        cx,
        "sendHeaders",
        "specifyHeaders",
        "headerParameters.parameters",
        "jsonHeaders",
        "headerParametersUi.parameter",
    ) {
        config.insert("headers".into(), headers);
    }
    body(cx, &mut config);
    if let Some(timeout) = cx.param("options.timeout").and_then(Value::as_u64) {
        config.insert("timeout_ms".into(), json!(timeout));
    }
    let authentication = cx.text("authentication").unwrap_or("none");
    if authentication != "none" {
        let credential = cx
            .node
            .credentials
            .as_ref()
            .and_then(Value::as_object)
            .and_then(|c| c.iter().next())
            .map(|(kind, c)| {
                format!(
                    "`{}` ({kind})",
                    c.get("name").and_then(Value::as_str).unwrap_or("unnamed")
                )
            })
            .unwrap_or_else(|| format!("`{authentication}`"));
        cx.note(
            Some("authentication"),
            format!("n8n authenticated with the credential {credential}: set the step's authentication (bearer, basic or header) — credentials are not imported"),
        );
    }
    if cx.param("options.pagination").is_some() {
        cx.unsupported(
            Some("options.pagination"),
            "pagination: the step makes one request",
        );
    }
    let full = cx
        .param("options.response.response.fullResponse")
        .or_else(|| cx.param("options.fullResponse"));
    let data = if full.and_then(Value::as_bool) == Some(true) {
        cx.note(Some("options.response"), "the full response: Switchyard's is {status, headers, body} (n8n's statusCode is status)");
        Data::Output(format!("steps.{}.output", cx.id))
    } else {
        Data::Output(format!("steps.{}.output.body", cx.id))
    };
    Translation::Step(Step::new(
        "http_request",
        Value::Object(config),
        &[&["out"]],
        data,
    ))
}

fn body(cx: &Context, config: &mut Map<String, Value>) {
    let (content, fields): (String, Option<Value>) = if cx.node.version >= 3.0 {
        if cx.param("sendBody").and_then(Value::as_bool) != Some(true) {
            return;
        }
        let content = cx.text("contentType").unwrap_or("json").to_owned();
        let fields = match (
            content.as_str(),
            cx.text("specifyBody").unwrap_or("keypair"),
        ) {
            ("raw", _) => cx.value("body"),
            (_, "json") => cx
                .text("jsonBody")
                .and_then(|text| json_with_expressions(cx, text, "jsonBody")),
            _ => cx.pairs("bodyParameters.parameters"),
        };
        (content, fields)
    } else {
        let content = match cx.text("options.bodyContentType") {
            Some("form-urlencoded") => "form-urlencoded",
            Some("raw") => "raw",
            Some(other) if other != "json" => other,
            _ => "json",
        }
        .to_owned();
        let fields = if cx.param("jsonParameters").and_then(Value::as_bool) == Some(true) {
            cx.text("bodyParametersJson")
                .and_then(|text| json_with_expressions(cx, text, "bodyParametersJson"))
        } else {
            cx.pairs("bodyParametersUi.parameter")
        };
        (content, fields)
    };
    let body_type = match content.as_str() {
        "json" => "json",
        "form-urlencoded" => "form",
        "raw" => {
            if let Some(kind) = cx.text("rawContentType")
                && let Some(headers) = config
                    .entry("headers")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            {
                headers.insert("Content-Type".into(), json!(kind));
            }
            "raw"
        }
        other => {
            cx.unsupported(Some("contentType"), format!("a `{other}` body"));
            return;
        }
    };
    if let Some(fields) = fields {
        config.insert("body".into(), fields);
        config.insert("body_type".into(), json!(body_type));
    }
}
