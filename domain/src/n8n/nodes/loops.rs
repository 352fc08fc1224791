//! Split Out and Loop Over Items (Split In Batches): a loop whose body is
//! what follows the node's looping output, reading `item`.

use serde_json::{Value, json};

use super::{Context, Data, Step, Translation};

pub fn split_out(cx: &Context) -> Translation {
    let field = cx.text("fieldToSplitOut").unwrap_or("").trim();
    if field.is_empty() || field.contains(',') {
        return Translation::Unsupported("splitting out several fields at once".into());
    }
    let items = match cx.sources.current(Some(field)) {
        Ok(path) => format!("{{{{ {path} }}}}"),
        Err(why) => return Translation::Unsupported(format!("its list could not be read: {why}")),
    };
    if !matches!(cx.text("include"), None | Some("noOtherFields")) {
        cx.unsupported(Some("include"), "copying the input's other fields into each item: read them from the step before the loop");
    }
    Translation::Step(Step::new(
        "loop",
        json!({"items": items, "concurrency": 1}),
        &[&["body"]],
        Data::Loop {
            body_output: 0,
            field: Some(field.to_owned()),
        },
    ))
}

pub fn batches(cx: &Context) -> Translation {
    let items = match cx.sources.current(None) {
        Ok(path) => format!("{{{{ {path} }}}}"),
        Err(why) => return Translation::Unsupported(format!("its items could not be read: {why}")),
    };
    let batch = cx.param("batchSize").and_then(Value::as_u64).unwrap_or(1);
    if batch > 1 {
        cx.note(Some("batchSize"), format!("n8n handed the loop {batch} items at a time; Switchyard runs its body once per item"));
    }
    // Version 3 (Loop Over Items) has "done" first and "loop" second;
    // Split In Batches before it the other way round.
    let (ports, body_output): (&[&[&str]], usize) = if cx.node.version >= 3.0 {
        (&[&["out"], &["body"]], 1)
    } else {
        (&[&["body"], &["out"]], 0)
    };
    Translation::Step(Step::new(
        "loop",
        json!({"items": items, "concurrency": 1}),
        ports,
        Data::Loop {
            body_output,
            field: None,
        },
    ))
}
