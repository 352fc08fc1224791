//! Expressions: `{{ trigger.body.email }}`, `{{ steps.fetch.output.status
//! >= 400 }}`, with filters (`| default("n/a")`, `| upper`, …). A sandboxed
//! minijinja environment with strict undefined values (a missing path is an
//! error, unless `default` handles it), a fuel budget and a recursion limit.
//!
//! A string that is exactly one `{{ … }}` evaluates to a typed JSON value;
//! any other string containing templates renders to a string.

use std::{fmt, ops::Range};

use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value as JinjaValue};

mod refs;
pub use refs::StepReads;
use serde_json::Value;

/// Instructions one evaluation may execute before it is stopped.
pub const FUEL: u64 = 50_000;
/// How deep evaluation may nest.
pub const RECURSION_LIMIT: usize = 64;
/// Longest string an evaluation may produce.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// Why an expression could not be compiled or evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    pub message: String,
    /// 1-based line within the template, when known.
    pub line: Option<usize>,
    /// Byte range within the template, when known.
    pub range: Option<Range<usize>>,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (&self.range, self.line) {
            (Some(range), _) => write!(f, " (at characters {}-{})", range.start + 1, range.end),
            (None, Some(line)) => write!(f, " (line {line})"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for ExprError {}

/// Whether a string holds any template syntax.
pub fn contains_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The inside of a string that is exactly one `{{ … }}`.
pub fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner)
}

/// The process-wide environment.
pub fn shared() -> &'static Expressions {
    static SHARED: std::sync::OnceLock<Expressions> = std::sync::OnceLock::new();
    SHARED.get_or_init(Expressions::new)
}

/// The sandboxed template environment; cheap to share, build once.
pub struct Expressions {
    env: Environment<'static>,
}

impl Default for Expressions {
    fn default() -> Self {
        Expressions::new()
    }
}

impl Expressions {
    pub fn new() -> Expressions {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        env.set_debug(true);
        // Values are JSON, not HTML: never escape, and print them as JSON
        // does (`true`, `null`, `{"a": 1}`) rather than as Python would.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_formatter(|out, state, value| {
            use minijinja::value::ValueKind;
            let written = match value.kind() {
                ValueKind::Bool => out.write_str(if value.is_true() { "true" } else { "false" }),
                ValueKind::None => out.write_str("null"),
                ValueKind::Map | ValueKind::Seq => {
                    let text = serde_json::to_string(value).map_err(|e| {
                        minijinja::Error::new(ErrorKind::BadSerialization, e.to_string())
                    })?;
                    out.write_str(&text)
                }
                _ => return minijinja::escape_formatter(out, state, value),
            };
            written.map_err(|_| {
                minijinja::Error::new(ErrorKind::WriteFailure, "could not write the result")
            })
        });
        Expressions { env }
    }

    /// Checks the syntax of a string and returns the steps it reads
    /// (`steps.<id>…`).
    pub fn check(&self, text: &str) -> Result<StepReads, ExprError> {
        let single = single_expression(text);
        match single {
            Some(inner) => self
                .env
                .compile_expression(inner)
                .map(|_| ())
                .map_err(|e| error_at(e, text, inner))?,
            None => self
                .env
                .template_from_str(text)
                .map(|_| ())
                .map_err(|e| convert(e, None))?,
        }
        Ok(refs::step_reads(text, single))
    }

    /// Evaluates one string against `context`: a typed value for a single
    /// expression, a string otherwise, the string itself without templates.
    pub fn evaluate(&self, text: &str, context: &JinjaValue) -> Result<Value, ExprError> {
        if !contains_template(text) {
            return Ok(Value::String(text.to_owned()));
        }
        if let Some(inner) = single_expression(text) {
            let expression = self
                .env
                .compile_expression(inner)
                .map_err(|e| error_at(e, text, inner))?;
            let explain =
                |error| explain_undefined(error, &expression.undeclared_variables(true), context);
            let value = expression
                .eval(context)
                .map_err(|e| explain(error_at(e, text, inner)))?;
            if value.is_undefined() {
                let undefined =
                    minijinja::Error::new(ErrorKind::UndefinedError, "the expression has no value");
                return Err(explain(convert(undefined, None)));
            }
            return to_json(&value);
        }
        let template = self
            .env
            .template_from_str(text)
            .map_err(|e| convert(e, None))?;
        let rendered = template.render(context).map_err(|e| {
            explain_undefined(
                convert(e, None),
                &template.undeclared_variables(true),
                context,
            )
        })?;
        if rendered.len() > MAX_OUTPUT_BYTES {
            return Err(ExprError {
                message: "the result is larger than 1 MiB".into(),
                line: None,
                range: None,
            });
        }
        Ok(Value::String(rendered))
    }

    /// Evaluates every string inside `value` (object keys stay as written).
    pub fn resolve(&self, value: &Value, context: &JinjaValue) -> Result<Value, ExprError> {
        Ok(match value {
            Value::String(text) => self.evaluate(text, context)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.resolve(item, context))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, item)| Ok((key.clone(), self.resolve(item, context)?)))
                    .collect::<Result<_, ExprError>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// What expressions read: built from JSON with [`to_context`].
pub type Context = JinjaValue;

/// Turns JSON into a value expressions can read.
pub fn to_context(value: &Value) -> JinjaValue {
    JinjaValue::from(minijinja::value::Serde(value))
}

/// Whether any string inside `value` holds a template.
pub fn has_templates(value: &Value) -> bool {
    match value {
        Value::String(text) => contains_template(text),
        Value::Array(items) => items.iter().any(has_templates),
        Value::Object(map) => map.values().any(has_templates),
        _ => false,
    }
}

fn to_json(value: &JinjaValue) -> Result<Value, ExprError> {
    serde_json::to_value(value).map_err(|e| ExprError {
        message: format!("the result is not JSON: {e}"),
        line: None,
        range: None,
    })
}

fn convert(error: minijinja::Error, offset: Option<usize>) -> ExprError {
    let message = match error.kind() {
        ErrorKind::OutOfFuel => {
            "the expression took too many steps (or built too much data) to evaluate".to_owned()
        }
        _ => match error.detail() {
            Some(detail) => format!("{}: {detail}", error.kind()),
            None => error.kind().to_string(),
        },
    };
    let shift = offset.unwrap_or(0);
    ExprError {
        message,
        line: error.line(),
        range: error.range().map(|r| r.start + shift..r.end + shift),
    }
}

/// Converts an error from compiling or running `inner` (a slice of `text`),
/// placing its position within `text`.
fn error_at(error: minijinja::Error, text: &str, inner: &str) -> ExprError {
    let offset = inner.as_ptr() as usize - text.as_ptr() as usize;
    convert(error, Some(offset))
}

/// Turns "undefined value" into which path is missing and where it stops.
fn explain_undefined(
    mut error: ExprError,
    paths: &std::collections::HashSet<String>,
    context: &JinjaValue,
) -> ExprError {
    if !error
        .message
        .starts_with(&ErrorKind::UndefinedError.to_string())
    {
        return error;
    }
    let mut paths: Vec<&String> = paths.iter().collect();
    paths.sort();
    for path in paths {
        let mut current = context.clone();
        let mut walked = Vec::new();
        for part in path.split('.') {
            let next = current.get_attr(part).unwrap_or_default();
            if next.is_undefined() {
                error.message = if walked.is_empty() {
                    format!("`{path}` is not defined: there is no `{part}`")
                } else {
                    format!(
                        "`{path}` is not defined: `{}` has no `{part}`",
                        walked.join(".")
                    )
                };
                return error;
            }
            walked.push(part);
            current = next;
        }
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> JinjaValue {
        to_context(&json!({
            "trigger": {"body": {"email": "ada@example.com", "amount": 120, "tags": ["a", "b"]}},
            "steps": {"fetch": {"output": {"status": 200, "body": {"ok": true}}}}
        }))
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let x = Expressions::new();
        let ctx = context();
        assert_eq!(
            x.evaluate("{{ trigger.body.amount > 100 }}", &ctx).unwrap(),
            json!(true)
        );
        assert_eq!(
            x.evaluate("{{ trigger.body.amount }}", &ctx).unwrap(),
            json!(120)
        );
        assert_eq!(
            x.evaluate("  {{ steps.fetch.output.body }} ", &ctx)
                .unwrap(),
            json!({"ok": true})
        );
        assert_eq!(
            x.evaluate("{{ trigger.body.tags | length }}", &ctx)
                .unwrap(),
            json!(2)
        );
    }

    #[test]
    fn mixed_text_renders_to_a_string() {
        let x = Expressions::new();
        let value = x
            .evaluate("Hi {{ trigger.body.email | upper }}!", &context())
            .unwrap();
        assert_eq!(value, json!("Hi ADA@EXAMPLE.COM!"));
        assert_eq!(
            x.evaluate("no templates", &context()).unwrap(),
            json!("no templates")
        );
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it_unless_defaulted() {
        let x = Expressions::new();
        let error = x
            .evaluate("{{ trigger.body.phone }}", &context())
            .unwrap_err();
        assert!(
            error
                .message
                .contains("`trigger.body.phone` is not defined"),
            "{error}"
        );
        assert!(
            error.message.contains("`trigger.body` has no `phone`"),
            "{error}"
        );
        let error = x
            .evaluate("Call {{ steps.nope.output }}", &context())
            .unwrap_err();
        assert!(error.message.contains("`steps` has no `nope`"), "{error}");
        assert_eq!(
            x.evaluate("{{ trigger.body.phone | default('none') }}", &context())
                .unwrap(),
            json!("none")
        );
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let x = Expressions::new();
        let error = x.check("Hello {{ trigger.body.( }}").unwrap_err();
        assert!(error.message.starts_with("syntax error"), "{error}");
        assert_eq!(error.line, Some(1));
        let error = x.check("{{ 1 + }}").unwrap_err();
        let range = error.range.clone().expect("a position");
        assert!(range.start >= 2 && range.end <= 9, "{range:?}");
    }

    #[test]
    fn references_to_steps_are_listed() {
        let x = Expressions::new();
        let refs = x
            .check("{{ steps.a.output.x + steps.b.output }} {{ trigger.body }}")
            .unwrap();
        assert_eq!(refs.ids.into_iter().collect::<Vec<_>>(), ["a", "b"]);
        let refs = x
            .check("{{ steps.fetch.output.body.amount > 100 }}")
            .unwrap();
        assert_eq!(refs.ids.into_iter().collect::<Vec<_>>(), ["fetch"]);
    }

    #[test]
    fn runaway_templates_are_stopped() {
        let x = Expressions::new();
        let error = x
            .evaluate(
                "{% for i in range(100000) %}{{ i }}{% endfor %}",
                &context(),
            )
            .unwrap_err();
        assert!(
            error.message.contains("too many steps") || error.message.contains("range"),
            "{error}"
        );
        let error = x
            .evaluate(
                "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}",
                &context(),
            )
            .unwrap_err();
        assert!(error.message.contains("too many steps"), "{error}");
    }

    #[test]
    fn item4_no_expression_builds_a_huge_value() {
        let x = Expressions::new();
        for text in [
            "{{ ('x' * 100000000) ~ 'y' }}",
            "{{ ('x' * 1000000) ~ ('y' * 1000000) ~ ('z' * 1000000) ~ ('w' * 1000000) }}",
            "{{ ([1] * 10000000) | list | length }}",
            "{{ range(100000) | join('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx') | length }}",
            "{% set ns = namespace(s='xy') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
            "{{ 'x' | indent(100000000) }}",
        ] {
            let error = x.evaluate(text, &context()).unwrap_err();
            assert!(
                error.message.contains("too many steps") || error.message.contains("too large"),
                "{text}: {error}"
            );
        }
        assert_eq!(
            x.evaluate("{{ ('ab' * 1000) | length }}", &context())
                .unwrap(),
            json!(2000),
            "ordinary sizes still work"
        );
    }

    #[test]
    fn resolve_walks_nested_json() {
        let x = Expressions::new();
        let template = json!({"to": "{{ trigger.body.email }}", "n": ["{{ trigger.body.amount * 2 }}", 3], "k": false});
        assert_eq!(
            x.resolve(&template, &context()).unwrap(),
            json!({"to": "ada@example.com", "n": [240, 3], "k": false})
        );
        assert!(has_templates(&template));
        assert!(!has_templates(&json!({"a": [1, "b"]})));
    }
}
