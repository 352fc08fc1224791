//! Checking a node's `config` against its kind's field specs.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::{Problem, is_valid_id};
use crate::{
    catalogue::{FieldSpec, FieldType, KindSpec, Rule},
    definition::RetryPolicy,
    expr::{Expressions, contains_template, single_expression},
};

pub struct ConfigChecker<'a> {
    node_id: Option<&'a str>,
    expressions: &'a Expressions,
    pub problems: Vec<Problem>,
    /// Steps referred to by expressions anywhere in the config.
    pub step_refs: BTreeSet<String>,
}

impl<'a> ConfigChecker<'a> {
    pub fn new(node_id: Option<&'a str>, expressions: &'a Expressions) -> ConfigChecker<'a> {
        ConfigChecker {
            node_id,
            expressions,
            problems: Vec::new(),
            step_refs: BTreeSet::new(),
        }
    }

    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::error(self.node_id, Some(path.to_owned()), message));
    }

    pub fn check_spec(&mut self, spec: &KindSpec, config: &Value) {
        let Some(map) = config.as_object() else {
            self.problem("config", "the configuration must be a JSON object");
            return;
        };
        self.check_object(&spec.fields, map, "config");
        for rule in &spec.rules {
            self.check_rule(rule, map);
        }
    }

    fn check_object(&mut self, fields: &[FieldSpec], map: &Map<String, Value>, path: &str) {
        for key in map.keys() {
            if !fields.iter().any(|f| &f.name == key) {
                let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                self.problem(
                    &format!("{path}.{key}"),
                    format!("unknown field `{key}`; known fields: {}", known.join(", ")),
                );
            }
        }
        for field in fields {
            let field_path = format!("{path}.{}", field.name);
            match map.get(&field.name) {
                None | Some(Value::Null) => {
                    if field.required {
                        self.problem(&field_path, format!("{} is required", field.label));
                    }
                }
                Some(Value::String(s)) if s.trim().is_empty() && field.required => {
                    self.problem(&field_path, format!("{} is required", field.label));
                }
                Some(value) => self.check_value(field, value, &field_path),
            }
        }
    }

    /// Checks template syntax in `text`; true when it holds a template.
    fn check_template(&mut self, text: &str, path: &str) -> bool {
        if !contains_template(text) {
            return false;
        }
        match self.expressions.check(text) {
            Ok(reads) => self.step_refs.extend(reads.ids),
            Err(error) => self.problem(path, format!("expression error: {error}")),
        }
        true
    }

    /// Checks every string nested in a free JSON value.
    fn check_templates_within(&mut self, value: &Value, path: &str) {
        match value {
            Value::String(text) => {
                self.check_template(text, path);
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.check_templates_within(item, &format!("{path}[{i}]"));
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    self.check_templates_within(item, &format!("{path}.{key}"));
                }
            }
            _ => {}
        }
    }

    fn check_value(&mut self, field: &FieldSpec, value: &Value, path: &str) {
        // A template stands for a value of the right type, known at run time.
        if let Value::String(text) = value
            && !matches!(
                field.ty,
                FieldType::Text { .. }
                    | FieldType::Secret
                    | FieldType::Json
                    | FieldType::Connection { .. }
            )
            && self.check_template(text, path)
        {
            if matches!(field.ty, FieldType::Expression) && single_expression(text).is_none() {
                self.problem(
                    path,
                    format!(
                        "{} must be a single expression such as {{{{ steps.fetch.output.ok }}}}",
                        field.label
                    ),
                );
            }
            return;
        }
        let label = &field.label;
        match &field.ty {
            FieldType::Text { .. } | FieldType::Secret => match value {
                Value::String(text) => {
                    self.check_template(text, path);
                }
                _ => self.problem(path, format!("{label} must be text")),
            },
            FieldType::Json => self.check_templates_within(value, path),
            FieldType::Expression => {
                if value.is_string() {
                    self.problem(path, format!("{label} must be written as an expression, e.g. {{{{ trigger.body.ok }}}}"));
                }
            }
            FieldType::Url => match value.as_str() {
                Some(url) if looks_like_http_url(url) => {}
                Some(_) => {
                    self.problem(path, format!("{label} must be an http:// or https:// URL"))
                }
                None => self.problem(path, format!("{label} must be a URL")),
            },
            FieldType::Integer { min, max } => match value.as_i64() {
                Some(n) if (*min..=*max).contains(&n) => {}
                Some(_) => self.problem(path, format!("{label} must be between {min} and {max}")),
                None => self.problem(path, format!("{label} must be a whole number")),
            },
            FieldType::Boolean => {
                if !value.is_boolean() {
                    self.problem(path, format!("{label} must be true or false"));
                }
            }
            FieldType::Select { options } => match value.as_str() {
                Some(choice) if options.iter().any(|o| o == choice) => {}
                _ => self.problem(
                    path,
                    format!("{label} must be one of: {}", options.join(", ")),
                ),
            },
            FieldType::MultiSelect { options } => match value.as_array() {
                Some(items)
                    if items
                        .iter()
                        .all(|i| i.as_str().is_some_and(|s| options.iter().any(|o| o == s))) =>
                {
                    if field.required && items.is_empty() {
                        self.problem(path, format!("choose at least one {label}"));
                    }
                }
                _ => self.problem(
                    path,
                    format!("{label} must be a list of: {}", options.join(", ")),
                ),
            },
            FieldType::KeyValue => match value.as_object() {
                Some(map) => {
                    for (key, item) in map {
                        let item_path = format!("{path}.{key}");
                        match item {
                            Value::String(text) => {
                                self.check_template(text, &item_path);
                            }
                            Value::Number(_) | Value::Bool(_) => {}
                            _ => {
                                self.problem(&item_path, format!("values of {label} must be text"))
                            }
                        }
                    }
                }
                None => self.problem(
                    path,
                    format!("{label} must be an object of names and values"),
                ),
            },
            FieldType::Timestamp => match value.as_str() {
                Some(text) if looks_like_rfc3339(text) => {}
                _ => self.problem(
                    path,
                    format!("{label} must be a date and time like 2026-01-31T09:00:00Z"),
                ),
            },
            FieldType::Connection { provider } => match value.as_str() {
                Some(id) if looks_like_uuid(id) => {}
                _ => self.problem(
                    path,
                    format!("{label} must be the id of one of your {provider} connections"),
                ),
            },
            FieldType::Object { fields } => match value.as_object() {
                Some(map) => self.check_object(fields, map, path),
                None => self.problem(path, format!("{label} must be an object")),
            },
            FieldType::List { fields, max_items } => match value.as_array() {
                Some(items) => {
                    if items.len() > *max_items {
                        self.problem(path, format!("{label} has at most {max_items} entries"));
                    }
                    if field.required && items.is_empty() {
                        self.problem(path, format!("{label} needs at least one entry"));
                    }
                    for (i, item) in items.iter().enumerate().take(*max_items) {
                        let item_path = format!("{path}[{i}]");
                        match item.as_object() {
                            Some(map) => self.check_object(fields, map, &item_path),
                            None => self.problem(
                                &item_path,
                                format!("each entry of {label} must be an object"),
                            ),
                        }
                    }
                }
                None => self.problem(path, format!("{label} must be a list")),
            },
        }
    }

    fn check_rule(&mut self, rule: &Rule, map: &Map<String, Value>) {
        match rule {
            Rule::ExactlyOneOf { fields } => {
                let set = fields
                    .iter()
                    .filter(|f| map.get(f.as_str()).is_some_and(|v| !v.is_null()))
                    .count();
                if set != 1 {
                    let names = fields.join(" or ");
                    let message = if set == 0 {
                        format!("set {names}")
                    } else {
                        format!("set only one of {names}")
                    };
                    self.problem(
                        &format!("config.{}", fields.first().map_or("", String::as_str)),
                        message,
                    );
                }
            }
            Rule::UniqueNames {
                list,
                field,
                reserved,
            } => {
                let Some(items) = map.get(list).and_then(Value::as_array) else {
                    return;
                };
                let mut seen = HashSet::new();
                for (i, item) in items.iter().enumerate() {
                    let Some(name) = item.get(field).and_then(Value::as_str) else {
                        continue;
                    };
                    let path = format!("config.{list}[{i}].{field}");
                    if !is_valid_id(name) {
                        self.problem(
                            &path,
                            format!("`{name}` must be a name of letters, digits and _"),
                        );
                    } else if reserved.iter().any(|r| r == name) {
                        self.problem(&path, format!("`{name}` is reserved"));
                    } else if !seen.insert(name) {
                        self.problem(&path, format!("`{name}` is used twice"));
                    }
                }
            }
        }
    }
}

pub fn check_retry(
    retry: &RetryPolicy,
    node_id: Option<&str>,
    path: &str,
    problems: &mut Vec<Problem>,
) {
    let mut problem = |field: &str, message: &str| {
        problems.push(Problem::error(
            node_id,
            Some(format!("{path}.{field}")),
            message,
        ));
    };
    if !(1..=20).contains(&retry.max_attempts) {
        problem("max_attempts", "max_attempts must be between 1 and 20");
    }
    if retry.initial_delay_ms > 3_600_000 {
        problem(
            "initial_delay_ms",
            "initial_delay_ms must be at most one hour (3600000)",
        );
    }
    if retry.max_delay_ms > 86_400_000 {
        problem(
            "max_delay_ms",
            "max_delay_ms must be at most one day (86400000)",
        );
    }
    if retry.max_delay_ms < retry.initial_delay_ms {
        problem(
            "max_delay_ms",
            "max_delay_ms must not be below initial_delay_ms",
        );
    }
    if !(retry.factor.is_finite() && (1.0..=10.0).contains(&retry.factor)) {
        problem("factor", "factor must be between 1 and 10");
    }
}

fn looks_like_http_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty()
            && !host.contains(char::is_whitespace)
            && !text.contains(char::is_whitespace)
    })
}

/// `2026-01-31T09:00:00Z`, with optional fraction and offset.
fn looks_like_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 20
        || !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
    {
        return false;
    }
    if !(matches!(b[10], b'T' | b't' | b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(looks_like_http_url("https://api.example.com/v1?x=1"));
        assert!(looks_like_http_url("http://127.0.0.1:8080"));
        assert!(!looks_like_http_url("ftp://x"));
        assert!(!looks_like_http_url("https://"));
        assert!(!looks_like_http_url("https://a b"));
    }

    #[test]
    fn timestamps() {
        assert!(looks_like_rfc3339("2026-01-31T09:00:00Z"));
        assert!(looks_like_rfc3339("2026-01-31T09:00:00.123+01:00"));
        assert!(!looks_like_rfc3339("2026-01-31"));
        assert!(!looks_like_rfc3339("2026-01-31T09:00:00"));
        assert!(!looks_like_rfc3339("2026-01-31T09:00:00.Z"));
    }
}

/// `8-4-4-4-12` hexadecimal digits, as connection ids are written.
fn looks_like_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}
