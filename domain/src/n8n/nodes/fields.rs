//! Set / Edit Fields, in all its versions: the fields it sets become a
//! transform's template; when n8n kept the input's other fields, later
//! steps read those from the input.

use serde_json::{Map, Value, json};

use super::{Context, Data, Step, Translation};

/// Places `value` at `name`, nested at its dots when `dotted`.
fn place(template: &mut Map<String, Value>, name: &str, value: Value, dotted: bool) {
    if !dotted || !name.contains('.') {
        template.insert(name.to_owned(), value);
        return;
    }
    let mut parts = name.split('.').peekable();
    let mut current = template;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let entry = current.entry(part.to_owned()).or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        current = entry.as_object_mut().expect("made an object above");
    }
}

/// `(name, value, field)` of every assignment, whatever the version.
fn assignments(cx: &Context) -> Vec<(String, Value, String)> {
    let mut found = Vec::new();
    if let Some(list) = cx
        .param("assignments.assignments")
        .and_then(Value::as_array)
    {
        for (i, a) in list.iter().enumerate() {
            if let Some(name) = a.get("name").and_then(Value::as_str) {
                found.push((
                    name.to_owned(),
                    a.get("value").cloned().unwrap_or(Value::Null),
                    format!("assignments.assignments[{i}].value"),
                ));
            }
        }
    } else if let Some(list) = cx.param("fields.values").and_then(Value::as_array) {
        for (i, f) in list.iter().enumerate() {
            let Some(name) = f.get("name").and_then(Value::as_str) else {
                continue;
            };
            let key = match f
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("stringValue")
            {
                "numberValue" => "numberValue",
                "booleanValue" => "booleanValue",
                "arrayValue" => "arrayValue",
                "objectValue" => "objectValue",
                _ => "stringValue",
            };
            found.push((
                name.to_owned(),
                f.get(key).cloned().unwrap_or(Value::Null),
                format!("fields.values[{i}].{key}"),
            ));
        }
    } else if let Some(groups) = cx.param("values").and_then(Value::as_object) {
        for (ty, list) in groups {
            for (i, f) in list.as_array().into_iter().flatten().enumerate() {
                if let Some(name) = f.get("name").and_then(Value::as_str) {
                    found.push((
                        name.to_owned(),
                        f.get("value").cloned().unwrap_or(Value::Null),
                        format!("values.{ty}[{i}].value"),
                    ));
                }
            }
        }
    }
    found
}

/// Whether n8n passed the input's other fields on.
fn keeps_other_fields(cx: &Context) -> bool {
    if cx.node.version < 3.0 {
        return cx.param("keepOnlySet").and_then(Value::as_bool) != Some(true);
    }
    if let Some(include) = cx.param("includeOtherFields").and_then(Value::as_bool) {
        if include && !matches!(cx.text("include"), None | Some("all")) {
            cx.unsupported(
                Some("include"),
                "keeping only some of the input's fields: later steps may read any of them",
            );
        }
        return include;
    }
    // 3.0–3.2: `include` alone says it (`none` by default).
    matches!(cx.text("include"), Some("all" | "except" | "selected"))
}

pub fn set(cx: &Context) -> Translation {
    if cx.text("mode") == Some("raw") {
        let Some(text) = cx.text("jsonOutput") else {
            return Translation::Unsupported("raw mode without its JSON".into());
        };
        if text.contains("{{") {
            return Translation::Unsupported(
                "raw JSON built with expressions: set the fields one by one".into(),
            );
        }
        let Ok(value) = serde_json::from_str::<Value>(text.trim_start_matches('=')) else {
            return Translation::Unsupported("raw JSON that does not parse".into());
        };
        let data = Data::Output(format!("steps.{}.output", cx.id));
        return Translation::Step(Step::new(
            "transform",
            json!({"template": value}),
            &[&["out"]],
            data,
        ));
    }
    let dotted = cx
        .param("options.dotNotation")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mut template = Map::new();
    let mut names = Vec::new();
    for (name, value, field) in assignments(cx) {
        let value = cx.translate(&value, &field);
        let top = if dotted {
            name.split('.').next().unwrap_or(&name).to_owned()
        } else {
            name.clone()
        };
        if !names.contains(&top) {
            names.push(top);
        }
        place(&mut template, &name, value, dotted);
    }
    let base = format!("steps.{}.output", cx.id);
    let data = if keeps_other_fields(cx) {
        cx.note(
            None,
            "n8n passed the input's other fields on: the step outputs the fields it sets, and later steps read the others from its input",
        );
        Data::Fields { base, names }
    } else {
        Data::Output(base)
    };
    Translation::Step(Step::new(
        "transform",
        json!({"template": template}),
        &[&["out"]],
        data,
    ))
}
