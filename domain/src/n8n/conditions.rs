//! n8n's conditions (IF, Switch and Filter, in both of their forms) as one
//! Switchyard expression: `{{ (a | lower) is startingwith('s') and … }}`.

use serde_json::Value;

use super::expression::{Out, Sources, Untranslatable, operand};

type Result<T> = std::result::Result<T, Untranslatable>;

fn refuse<T>(what: String) -> Result<T> {
    Err(Untranslatable(what))
}

/// Version 2 conditions: `{"conditions": [{leftValue, rightValue,
/// operator: {type, operation}}], "combinator": "and", "options":
/// {"caseSensitive"}}`.
pub fn filter(conditions: &Value, ignore_case: bool, sources: &dyn Sources) -> Result<String> {
    let case_sensitive = conditions
        .pointer("/options/caseSensitive")
        .and_then(Value::as_bool)
        .unwrap_or(true)
        && !ignore_case;
    let joiner = match conditions
        .get("combinator")
        .and_then(Value::as_str)
        .unwrap_or("and")
    {
        "or" => " or ",
        _ => " and ",
    };
    let list = conditions
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let parts = list
        .iter()
        .map(|c| one(c, case_sensitive, sources))
        .collect::<Result<Vec<_>>>()?;
    Ok(combine(parts, joiner))
}

fn combine(parts: Vec<String>, joiner: &str) -> String {
    match parts.len() {
        0 => "true".into(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(joiner)),
    }
}

fn one(condition: &Value, case_sensitive: bool, sources: &dyn Sources) -> Result<String> {
    let ty = condition
        .pointer("/operator/type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let operation = condition
        .pointer("/operator/operation")
        .and_then(Value::as_str)
        .unwrap_or("equals");
    let left = operand(condition.get("leftValue").unwrap_or(&Value::Null), sources)?;
    let right = operand(condition.get("rightValue").unwrap_or(&Value::Null), sources)?;
    compare(ty, operation, left, right, case_sensitive)
}

fn lower(value: &Out, case_sensitive: bool) -> String {
    if case_sensitive {
        value.code.clone()
    } else {
        format!("({} | lower)", value.code)
    }
}

fn compare(
    ty: &str,
    operation: &str,
    left: Out,
    right: Out,
    case_sensitive: bool,
) -> Result<String> {
    let (l, r) = if ty == "string" {
        (lower(&left, case_sensitive), lower(&right, case_sensitive))
    } else {
        (left.code.clone(), right.code.clone())
    };
    let a = &left.code;
    Ok(match (ty, operation) {
        (_, "exists") => format!("({a} is defined and {a} is not none)"),
        (_, "notExists") => format!("({a} is undefined or {a} is none)"),
        (_, "empty" | "isEmpty") => format!("(not ({a} | default(none)))"),
        (_, "notEmpty" | "isNotEmpty") => format!("(({a} | default(none)) and true)"),
        ("boolean", "true") => format!("({a} == true)"),
        ("boolean", "false") => format!("({a} == false)"),
        (_, "equals" | "equal") => format!("({l} == {r})"),
        (_, "notEquals" | "notEqual") => format!("({l} != {r})"),
        ("number", "gt" | "larger") => format!("({l} > {r})"),
        ("number", "gte" | "largerEqual") => format!("({l} >= {r})"),
        ("number", "lt" | "smaller") => format!("({l} < {r})"),
        ("number", "lte" | "smallerEqual") => format!("({l} <= {r})"),
        ("string", "contains") => format!("({r} in {l})"),
        ("string", "notContains") => format!("({r} not in {l})"),
        ("string", "startsWith") => format!("({l} is startingwith({r}))"),
        ("string", "notStartsWith") => format!("(not ({l} is startingwith({r})))"),
        ("string", "endsWith") => format!("({l} is endingwith({r}))"),
        ("string", "notEndsWith") => format!("(not ({l} is endingwith({r})))"),
        ("array", "contains") => format!("({r} in {l})"),
        ("array", "notContains") => format!("({r} not in {l})"),
        ("array", "lengthEquals") => format!("(({l} | length) == {r})"),
        ("array", "lengthNotEquals") => format!("(({l} | length) != {r})"),
        ("array", "lengthGt") => format!("(({l} | length) > {r})"),
        ("array", "lengthGte") => format!("(({l} | length) >= {r})"),
        ("array", "lengthLt") => format!("(({l} | length) < {r})"),
        ("array", "lengthLte") => format!("(({l} | length) <= {r})"),
        (_, "regex" | "notRegex") => return refuse("a regular-expression condition".into()),
        ("dateTime", _) => return refuse("a date-and-time condition".into()),
        (ty, op) => return refuse(format!("the {ty} condition `{op}`")),
    })
}

/// Version 1 conditions: `{"boolean": [{value1, value2}], "number":
/// [{value1, operation, value2}], "string": […]}` and `combineOperation`.
pub fn legacy(parameters: &Value, sources: &dyn Sources) -> Result<String> {
    let joiner = match parameters.get("combineOperation").and_then(Value::as_str) {
        Some("any") => " or ",
        _ => " and ",
    };
    let mut parts = Vec::new();
    let groups = parameters.get("conditions").and_then(Value::as_object);
    for (ty, list) in groups.into_iter().flatten() {
        if ty == "dateTime" && list.as_array().is_some_and(|l| !l.is_empty()) {
            return refuse("a date-and-time condition".into());
        }
        for condition in list.as_array().into_iter().flatten() {
            let operation = condition
                .get("operation")
                .and_then(Value::as_str)
                .unwrap_or("equal");
            let left = operand(condition.get("value1").unwrap_or(&Value::Null), sources)?;
            let right = operand(condition.get("value2").unwrap_or(&Value::Null), sources)?;
            parts.push(compare(ty, operation, left, right, true)?);
        }
    }
    Ok(combine(parts, joiner))
}

/// Switch version 1–2: one rule's test against `value1`.
pub fn rule(data_type: &str, value1: &Out, rule: &Value, sources: &dyn Sources) -> Result<String> {
    let operation = rule
        .get("operation")
        .and_then(Value::as_str)
        .unwrap_or("equal");
    let right = operand(rule.get("value2").unwrap_or(&Value::Null), sources)?;
    compare(data_type, operation, value1.clone(), right, true)
}
