//! IF, Filter, Switch, Wait, Merge, No Operation and Stop and Error.

use serde_json::{Value, json};

use super::{Context, Data, Step, Translation};
use crate::n8n::{
    conditions,
    expression::{Untranslatable, operand},
};

/// IF (`true`/`false` outputs) and Filter (only the items that pass).
pub fn condition(cx: &Context, with_false: bool) -> Translation {
    let built = if cx.node.version < 2.0 {
        conditions::legacy(&cx.node.parameters, cx.sources)
    } else {
        let ignore_case = cx
            .param("options.ignoreCase")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        conditions::filter(
            cx.param("conditions").unwrap_or(&Value::Null),
            ignore_case,
            cx.sources,
        )
    };
    let expression = cx.condition("conditions", built);
    let ports: &[&[&str]] = if with_false {
        &[&["true"], &["false"]]
    } else {
        &[&["true"]]
    };
    if !with_false {
        cx.note(
            None,
            "a Filter: the steps after it run only when its condition holds",
        );
    }
    Translation::Step(Step::new(
        "condition",
        json!({"expression": expression}),
        ports,
        Data::PassThrough,
    ))
}

/// A port name from n8n's output name: letters, digits and `_`.
fn port_name(name: &str, fallback: usize) -> String {
    let cleaned = crate::n8n::graph::slug(name);
    if cleaned.is_empty() || cleaned == "default" || cleaned == "error" {
        format!("output_{}", fallback + 1)
    } else {
        cleaned
    }
}

pub fn switch(cx: &Context) -> Translation {
    if cx.text("mode") == Some("expression") {
        return Translation::Unsupported(
            "a Switch whose output number is an expression: Switchyard's cases are conditions"
                .into(),
        );
    }
    let mut cases = Vec::new();
    let mut ports: Vec<Vec<String>> = Vec::new();
    let fallback: Option<usize>;
    if cx.node.version >= 3.0 {
        let rules = cx
            .param("rules.values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let ignore_case = cx
            .param("options.ignoreCase")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for (i, rule) in rules.iter().enumerate() {
            let named = rule.get("renameOutput").and_then(Value::as_bool) == Some(true);
            let mut port = match rule.get("outputKey").and_then(Value::as_str) {
                Some(key) if named => port_name(key, i),
                _ => format!("output_{}", i + 1),
            };
            if ports.iter().flatten().any(|p| p == &port) {
                port = format!("{port}_{}", i + 1);
            }
            let built = conditions::filter(
                rule.get("conditions").unwrap_or(&Value::Null),
                ignore_case,
                cx.sources,
            );
            cases.push(json!({"port": port, "expression": cx.condition(&format!("rules.values[{i}]"), built)}));
            ports.push(vec![port]);
        }
        if cx
            .param("options.allMatchingOutputs")
            .and_then(Value::as_bool)
            == Some(true)
        {
            cx.unsupported(Some("options.allMatchingOutputs"), "sending to every matching output: Switchyard's switch fires the first case that holds");
        }
        fallback = match cx.param("options.fallbackOutput") {
            Some(Value::String(extra)) if extra == "extra" => {
                ports.push(Vec::new());
                Some(ports.len() - 1)
            }
            Some(Value::Number(n)) => n.as_u64().map(|n| n as usize),
            _ => None,
        };
    } else {
        let data_type = cx.text("dataType").unwrap_or("number");
        let value1 = match operand(cx.param("value1").unwrap_or(&Value::Null), cx.sources) {
            Ok(value) => Some(value),
            Err(Untranslatable(why)) => {
                cx.unsupported(
                    Some("value1"),
                    format!("the expression could not be translated: {why}"),
                );
                None
            }
        };
        let rules = cx
            .param("rules.rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, rule) in rules.iter().enumerate() {
            let output = rule.get("output").and_then(Value::as_u64).unwrap_or(0) as usize;
            let port = format!("rule_{}", i + 1);
            let built = match &value1 {
                Some(value1) => conditions::rule(data_type, value1, rule, cx.sources),
                None => Err(Untranslatable("its value".into())),
            };
            cases.push(json!({"port": port, "expression": cx.condition(&format!("rules.rules[{i}]"), built)}));
            if ports.len() <= output {
                ports.resize(output + 1, Vec::new());
            }
            ports[output].push(port);
        }
        fallback = cx
            .param("fallbackOutput")
            .and_then(Value::as_i64)
            .filter(|n| *n >= 0)
            .map(|n| n as usize);
    }
    if let Some(output) = fallback {
        if ports.len() <= output {
            ports.resize(output + 1, Vec::new());
        }
        ports[output].push("default".into());
    }
    let mut step = Step::new("switch", json!({"cases": cases}), &[], Data::PassThrough);
    step.ports = ports;
    Translation::Step(step)
}

pub fn wait(cx: &Context) -> Translation {
    let resume = cx.text("resume").unwrap_or("timeInterval");
    let config = match resume {
        "timeInterval" => {
            let amount = cx.param("amount").and_then(Value::as_f64).unwrap_or(1.0);
            let unit = cx.text("unit").unwrap_or("hours");
            let ms_per = match unit {
                "seconds" => 1_000.0,
                "minutes" => 60_000.0,
                "hours" => 3_600_000.0,
                "days" => 86_400_000.0,
                other => return Translation::Unsupported(format!("waiting in `{other}`")),
            };
            json!({"duration_ms": (amount * ms_per).round() as u64})
        }
        "specificTime" => json!({"until": cx.value("dateTime").unwrap_or(Value::Null)}),
        other => {
            return Translation::Unsupported(format!(
                "waiting for a `{other}` call: Switchyard's delays wait for a time, not for a request"
            ));
        }
    };
    Translation::Step(Step::new("delay", config, &[&["out"]], Data::PassThrough))
}

pub fn merge(cx: &Context) -> Translation {
    let mode = cx.text("mode").unwrap_or("append");
    let chosen = match mode {
        "passThrough" | "chooseBranch" => {
            let output = cx.text("output").or_else(|| cx.text("chooseBranchMode"));
            Some(if output == Some("input2") { 1 } else { 0 })
        }
        _ => None,
    };
    let data = match chosen {
        Some(input) => Data::FromInput(input),
        None => {
            cx.note(
                None,
                format!("n8n's `{mode}` merge combines items; Switchyard's merge waits for every branch that runs and outputs each one's output by step id: later steps read a branch with $('Name')"),
            );
            Data::Merged
        }
    };
    Translation::Step(Step::new("merge", json!({}), &[&["out"]], data))
}

/// No Operation: passes its input on.
pub fn no_op(cx: &Context) -> Translation {
    let template = match cx.sources.current(None) {
        Ok(path) => json!(format!("{{{{ {path} }}}}")),
        Err(_) => json!({}),
    };
    Translation::Step(Step::new(
        "transform",
        json!({"template": template}),
        &[&["out"]],
        Data::PassThrough,
    ))
}

pub fn stop(cx: &Context) -> Translation {
    let message = match cx.text("errorType").unwrap_or("errorMessage") {
        "errorObject" => cx.value("errorObject"),
        _ => cx.value("errorMessage"),
    }
    .filter(|m| m.as_str().is_some_and(|m| !m.is_empty()))
    .unwrap_or_else(|| json!("Stopped"));
    Translation::Step(Step::new(
        "stop_and_fail",
        json!({"message": message}),
        &[],
        Data::Nothing,
    ))
}
