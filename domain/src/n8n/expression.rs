//! n8n expressions (`={{ $json.email.toLowerCase() }}`) into Switchyard's
//! (`{{ steps.fetch.output.body.email | lower }}`): `$json` and
//! `$('Name')`/`$node["Name"]` become the explicit step they read, the
//! usual operators and string methods their filters. What has no faithful
//! counterpart is refused with the construct named, never guessed.

use serde_json::Value;

use super::js::{self, Js, TemplatePart};

/// Where the data an expression reads comes from.
pub trait Sources {
    /// What `$json` (or `$json.<key>`) is at the node being translated.
    fn current(&self, key: Option<&str>) -> std::result::Result<String, String>;
    /// What `$('name').item.json` (or its `.<key>`) is.
    fn node(&self, name: &str, key: Option<&str>) -> std::result::Result<String, String>;
}

/// An expression (or part of one) that cannot be translated faithfully.
#[derive(Clone, Debug, PartialEq)]
pub struct Untranslatable(pub String);

type Result<T> = std::result::Result<T, Untranslatable>;

fn refuse<T>(construct: impl Into<String>) -> Result<T> {
    Err(Untranslatable(construct.into()))
}

/// A translated expression; `text` when it is known to be a string, so
/// that `+` becomes concatenation.
#[derive(Clone, Debug, PartialEq)]
pub struct Out {
    pub code: String,
    pub text: bool,
}

fn out(code: String) -> Out {
    Out { code, text: false }
}

fn text(code: String) -> Out {
    Out { code, text: true }
}

/// A parameter value as Switchyard's config holds it: strings that are
/// n8n expressions (`=…`) become templates, other strings stay text.
pub fn parameter(value: &Value, sources: &dyn Sources) -> Result<Value> {
    Ok(match value {
        Value::String(s) => Value::String(template(s, sources)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| parameter(v, sources))
                .collect::<Result<_>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), parameter(v, sources)?)))
                .collect::<Result<_>>()?,
        ),
        other => other.clone(),
    })
}

/// A parameter string as a Switchyard template string.
pub fn template(value: &str, sources: &dyn Sources) -> Result<String> {
    let Some(body) = value.strip_prefix('=') else {
        return Ok(literal_text(value));
    };
    let mut result = String::new();
    for piece in pieces(body)? {
        match piece {
            Piece::Text(t) => result.push_str(&literal_text(&t)),
            Piece::Code(code) => {
                result.push_str("{{ ");
                result.push_str(&expression(&code, sources)?.code);
                result.push_str(" }}");
            }
        }
    }
    Ok(result)
}

/// A parameter as one Switchyard expression (for conditions).
pub fn operand(value: &Value, sources: &dyn Sources) -> Result<Out> {
    match value {
        Value::String(s) => match s.strip_prefix('=') {
            Some(body) => {
                let pieces = pieces(body)?;
                let mut parts = Vec::new();
                for piece in pieces {
                    parts.push(match piece {
                        Piece::Text(t) => text(quote(&t)),
                        Piece::Code(code) => expression(&code, sources)?,
                    });
                }
                Ok(match parts.len() {
                    0 => text("''".into()),
                    1 => parts.remove(0),
                    _ => text(format!(
                        "({})",
                        parts
                            .iter()
                            .map(|p| p.code.as_str())
                            .collect::<Vec<_>>()
                            .join(" ~ ")
                    )),
                })
            }
            None => Ok(text(quote(s))),
        },
        Value::Null => Ok(out("none".into())),
        other => Ok(out(other.to_string())),
    }
}

enum Piece {
    Text(String),
    Code(String),
}

fn pieces(body: &str) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| Untranslatable("a `{{` without its `}}`".into()))?;
        pieces.push(Piece::Code(after[..close].trim().to_owned()));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(pieces)
}

/// Text that must reach the step as it is, template syntax included.
fn literal_text(text: &str) -> String {
    if model::expr::contains_template(text) {
        format!("{{% raw %}}{text}{{% endraw %}}")
    } else {
        text.to_owned()
    }
}

/// A string literal of Switchyard's expressions.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '\'' => quoted.push_str("\\'"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

/// One JavaScript expression.
pub fn expression(source: &str, sources: &dyn Sources) -> Result<Out> {
    let parsed = js::parse(source).map_err(|e| Untranslatable(format!("`{source}`: {e}")))?;
    emit(&parsed, sources)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(
            name,
            "true" | "false" | "none" | "and" | "or" | "not" | "in" | "is" | "if" | "else"
        )
}

pub fn attribute(base: &str, name: &str) -> String {
    if is_identifier(name) {
        format!("{base}.{name}")
    } else {
        format!("{base}[{}]", quote(name))
    }
}

/// The node a `$('Name')`, `$node["Name"]` or `$node.Name` names.
fn named_node(js: &Js) -> Option<&str> {
    match js {
        Js::Call(callee, args) if matches!(&**callee, Js::Ident(f) if f == "$") => {
            match args.as_slice() {
                [Js::Str(name)] => Some(name),
                _ => None,
            }
        }
        Js::Index(base, key) if matches!(&**base, Js::Ident(n) if n == "$node") => match &**key {
            Js::Str(name) => Some(name),
            _ => None,
        },
        Js::Member(base, name) if matches!(&**base, Js::Ident(n) if n == "$node") => Some(name),
        _ => None,
    }
}

/// Whose data an expression reads.
enum Root<'a> {
    Current,
    Node(&'a str),
}

/// `$json`, `$input.item.json`, `$('Name').item.json` and their kin: the
/// item's data, resolved to the step it comes from.
fn data_root(js: &Js) -> Option<Root<'_>> {
    match js {
        Js::Ident(name) if name == "$json" => Some(Root::Current),
        Js::Member(base, json) if json == "json" => {
            let item = match &**base {
                Js::Member(of, item) if item == "item" => &**of,
                Js::Call(callee, args) if args.is_empty() => match &**callee {
                    Js::Member(of, pick) if pick == "first" || pick == "last" => &**of,
                    _ => return None,
                },
                // `$node["Name"].json`
                other => return named_node(other).map(Root::Node),
            };
            if matches!(item, Js::Ident(i) if i == "$input") {
                return Some(Root::Current);
            }
            named_node(item).map(Root::Node)
        }
        _ => None,
    }
}

fn resolve(root: &Root<'_>, key: Option<&str>, sources: &dyn Sources) -> Result<Out> {
    let found = match root {
        Root::Current => sources.current(key),
        Root::Node(name) => sources.node(name, key),
    };
    found.map(out).map_err(Untranslatable)
}

/// `<root>.key` and `<root>['key']`: the key decides the source when a
/// node's output passes some fields through from its input.
fn keyed_root<'a>(js: &'a Js) -> Option<(Root<'a>, &'a str)> {
    match js {
        Js::Member(base, key) if key != "length" => {
            data_root(base).map(|root| (root, key.as_str()))
        }
        Js::Index(base, key) => match &**key {
            Js::Str(key) => data_root(base).map(|root| (root, key.as_str())),
            _ => None,
        },
        _ => None,
    }
}

fn emit(js: &Js, sources: &dyn Sources) -> Result<Out> {
    if let Some((root, key)) = keyed_root(js) {
        return resolve(&root, Some(key), sources);
    }
    if let Some(root) = data_root(js) {
        return resolve(&root, None, sources);
    }
    match js {
        Js::Number(n) if n.chars().all(|c| c.is_ascii_digit() || c == '.') => Ok(out(n.clone())),
        Js::Number(n) => refuse(format!("the number `{n}`")),
        Js::Str(s) => Ok(text(quote(s))),
        Js::Bool(b) => Ok(out(b.to_string())),
        Js::Null | Js::Undefined => Ok(out("none".into())),
        Js::Ident(name) => match name.as_str() {
            // The run's start: the same on every retry, unlike n8n's clock.
            "$now" => Ok(text("execution.started_at".into())),
            "$execution" => Ok(out("execution".into())),
            other => refuse(format!("`{other}`")),
        },
        Js::Member(base, name) => member(base, name, sources),
        Js::Index(base, index) => {
            if let Js::Unary("-", _) = &**index {
                return refuse("a negative index (JavaScript reads it as missing)");
            }
            let base = emit(base, sources)?;
            let index = emit(index, sources)?;
            Ok(out(format!("{}[{}]", base.code, index.code)))
        }
        Js::Call(callee, args) => call(callee, args, sources),
        Js::Unary(op, value) => {
            let value = emit(value, sources)?;
            match *op {
                "!" => Ok(out(format!("(not {})", value.code))),
                "-" => Ok(out(format!("(-{})", value.code))),
                other => refuse(format!("unary `{other}`")),
            }
        }
        Js::Binary(op, left, right) => binary(op, left, right, sources),
        Js::Conditional(test, yes, no) => {
            let (test, yes, no) = (
                emit(test, sources)?,
                emit(yes, sources)?,
                emit(no, sources)?,
            );
            Ok(Out {
                code: format!("({} if {} else {})", yes.code, test.code, no.code),
                text: yes.text && no.text,
            })
        }
        Js::Array(items) => {
            let items = items
                .iter()
                .map(|i| emit(i, sources).map(|o| o.code))
                .collect::<Result<Vec<_>>>()?;
            Ok(out(format!("[{}]", items.join(", "))))
        }
        Js::Object(entries) => {
            let entries = entries
                .iter()
                .map(|(k, v)| emit(v, sources).map(|o| format!("{}: {}", quote(k), o.code)))
                .collect::<Result<Vec<_>>>()?;
            Ok(out(format!("{{{}}}", entries.join(", "))))
        }
        Js::Template(parts) => {
            let parts = parts
                .iter()
                .map(|part| match part {
                    TemplatePart::Text(t) => Ok(quote(t)),
                    TemplatePart::Expr(e) => emit(e, sources).map(|o| o.code),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(text(match parts.len() {
                0 => "''".into(),
                _ => format!("({})", parts.join(" ~ ")),
            }))
        }
    }
}

fn member(base: &Js, name: &str, sources: &dyn Sources) -> Result<Out> {
    match (base, name) {
        (Js::Ident(w), "id") if w == "$workflow" => {
            return Ok(text("execution.workflow_id".into()));
        }
        (Js::Ident(w), other) if w == "$workflow" => return refuse(format!("`$workflow.{other}`")),
        (Js::Ident(e), "id") if e == "$execution" => return Ok(text("execution.id".into())),
        (Js::Ident(e), other) if e == "$execution" => {
            return refuse(format!("`$execution.{other}`"));
        }
        _ => {}
    }
    let base = emit(base, sources)?;
    if name == "length" {
        return Ok(out(format!("({} | length)", base.code)));
    }
    Ok(out(attribute(&base.code, name)))
}

fn call(callee: &Js, args: &[Js], sources: &dyn Sources) -> Result<Out> {
    let args_out = |sources: &dyn Sources| {
        args.iter()
            .map(|a| emit(a, sources))
            .collect::<Result<Vec<_>>>()
    };
    match callee {
        Js::Ident(f) => {
            let [arg] = args else {
                return refuse(format!("`{f}(…)`"));
            };
            let arg = emit(arg, sources)?;
            match f.as_str() {
                "String" => Ok(text(format!("({} | string)", arg.code))),
                "parseInt" => Ok(out(format!("({} | int)", arg.code))),
                "parseFloat" => Ok(out(format!("({} | float)", arg.code))),
                other => refuse(format!("`{other}()`")),
            }
        }
        Js::Member(receiver, method) => {
            if let Js::Ident(object) = &**receiver {
                match (object.as_str(), method.as_str(), args) {
                    ("Object", "keys", [value]) => {
                        return Ok(out(format!("({} | list)", emit(value, sources)?.code)));
                    }
                    ("$now", "toISO", []) => return Ok(text("execution.started_at".into())),
                    (
                        "JSON" | "Object" | "Math" | "DateTime" | "$now" | "$today" | "Date",
                        m,
                        _,
                    ) => {
                        return refuse(format!("`{object}.{m}()`"));
                    }
                    _ => {}
                }
            }
            let value = emit(receiver, sources)?;
            let args = args_out(sources)?;
            let v = &value.code;
            let arg = |i: usize| args.get(i).map(|a| a.code.as_str()).unwrap_or("none");
            match (method.as_str(), args.len()) {
                ("toLowerCase", 0) => Ok(text(format!("({v} | lower)"))),
                ("toUpperCase", 0) => Ok(text(format!("({v} | upper)"))),
                ("trim", 0) => Ok(text(format!("({v} | trim)"))),
                ("toString", 0) => Ok(text(format!("({v} | string)"))),
                ("includes", 1) => Ok(out(format!("({} in {v})", arg(0)))),
                ("startsWith", 1) => Ok(out(format!("({v} is startingwith({}))", arg(0)))),
                ("endsWith", 1) => Ok(out(format!("({v} is endingwith({}))", arg(0)))),
                ("split", 1) => Ok(out(format!("({v} | split({}))", arg(0)))),
                ("join", 1) => Ok(text(format!("({v} | join({}))", arg(0)))),
                ("replaceAll", 2) if args.iter().all(|a| a.text) => {
                    Ok(text(format!("({v} | replace({}, {}))", arg(0), arg(1))))
                }
                ("slice", 1) if !args[0].code.starts_with("(-") => Ok(Out {
                    code: format!("{v}[{}:]", arg(0)),
                    text: value.text,
                }),
                ("slice", 2) if !args.iter().any(|a| a.code.starts_with("(-")) => Ok(Out {
                    code: format!("{v}[{}:{}]", arg(0), arg(1)),
                    text: value.text,
                }),
                (other, _) => refuse(format!("`.{other}()`")),
            }
        }
        _ => refuse("a call of a computed function"),
    }
}

fn binary(op: &str, left: &Js, right: &Js, sources: &dyn Sources) -> Result<Out> {
    // Comparisons with null and undefined are tests, which a missing
    // value passes instead of failing.
    let nothing = |js: &Js| matches!(js, Js::Null | Js::Undefined);
    if matches!(op, "===" | "==" | "!==" | "!=") && (nothing(left) || nothing(right)) {
        let (value, against) = if nothing(right) {
            (left, right)
        } else {
            (right, left)
        };
        let value = emit(value, sources)?.code;
        let negated = op.starts_with('!');
        let test = match (op, against) {
            ("===" | "!==", Js::Undefined) => format!("{value} is undefined"),
            ("===" | "!==", _) => format!("({value} is defined and {value} is none)"),
            _ => format!("({value} is undefined or {value} is none)"),
        };
        return Ok(out(if negated {
            format!("(not {test})")
        } else {
            format!("({test})")
        }));
    }
    let (l, r) = (emit(left, sources)?, emit(right, sources)?);
    let (a, b) = (&l.code, &r.code);
    Ok(match op {
        "===" | "==" => out(format!("({a} == {b})")),
        "!==" | "!=" => out(format!("({a} != {b})")),
        "<" | "<=" | ">" | ">=" | "-" | "*" | "/" | "%" => out(format!("({a} {op} {b})")),
        "&&" => out(format!("({a} and {b})")),
        // `a || b`: the first when it is there and truthy, as in JavaScript.
        "||" => Out {
            code: format!("({a} | default({b}, true))"),
            text: l.text && r.text,
        },
        "??" => Out {
            code: format!("({a} if ({a} is defined and {a} is not none) else {b})"),
            text: l.text && r.text,
        },
        "+" if l.text || r.text => text(format!("({a} ~ {b})")),
        "+" => out(format!("({a} + {b})")),
        other => return refuse(format!("`{other}`")),
    })
}
