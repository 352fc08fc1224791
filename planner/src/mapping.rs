//! Values for a step's fields: literals from its clause first ("#ops",
//! an address, a quoted text), then data mapped from the steps before it
//! by what the fields mean (an e-mail field takes the upstream e-mail, a
//! title the upstream title), then a message sentence naming what
//! happened. What is left of the required fields is for the user.

use std::sync::LazyLock;

use model::{FieldSpec, FieldType, KindSpec};
use regex::Regex;
use serde_json::{Value, json};

use crate::text::{Literal, LiteralKind, words};

/// Data a step can read: the trigger, an earlier step or a loop's item.
#[derive(Clone, Debug)]
pub struct Source {
    /// `trigger`, `steps.lookup.output`, `item`.
    pub prefix: String,
    /// Paths below the prefix, with their types.
    pub fields: Vec<(String, String)>,
    /// "Stripe customer created", for message sentences.
    pub headline: String,
    /// Any path below it exists (a webhook's body, a loop item).
    pub open: bool,
    /// Paths with their descriptions, where the catalogue has them.
    pub described: Vec<(String, String, String)>,
}

impl Source {
    fn expr(&self, path: &str) -> String {
        if path.is_empty() {
            format!("{{{{ {} }}}}", self.prefix)
        } else {
            format!("{{{{ {}.{} }}}}", self.prefix, path)
        }
    }
}

/// What a field means, from its name and kind.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Meaning {
    Email,
    Phone,
    Title,
    Name,
    Number,
    Message,
    Other,
}

fn meaning(kind: &str, field: &FieldSpec) -> Meaning {
    let name = field.name.as_str();
    let email_kind = kind.contains("email");
    match name {
        "email" | "email_address" | "receipt_email" => Meaning::Email,
        "to" if email_kind => Meaning::Email,
        "to" | "phone" => Meaning::Phone,
        "title" | "subject" => Meaning::Title,
        "name" => Meaning::Name,
        "issue_number" => Meaning::Number,
        "text" | "body" | "message" | "description" | "html" => Meaning::Message,
        _ => Meaning::Other,
    }
}

/// Upstream field names for each meaning, best first.
fn wanted(meaning: Meaning) -> &'static [&'static str] {
    match meaning {
        Meaning::Email => &["email", "receipt_email", "customer_email", "email_address"],
        Meaning::Phone => &["phone", "from"],
        // Without a title upstream, the message is what the thing is about.
        Meaning::Title => &[
            "title",
            "subject",
            "name",
            "customer_name",
            "tag_name",
            "text",
            "body",
            "message",
        ],
        Meaning::Name => &["name", "customer_name"],
        Meaning::Number => &["number"],
        Meaning::Message | Meaning::Other => &[],
    }
}

/// The best upstream path for a meaning: nearest source first.
fn find(sources: &[Source], meaning: Meaning) -> Option<String> {
    for name in wanted(meaning) {
        for source in sources {
            if let Some((path, _)) = source
                .fields
                .iter()
                .find(|(path, _)| last_segment(path).eq_ignore_ascii_case(name))
            {
                return Some(source.expr(path));
            }
        }
    }
    // An open source (a webhook body, a loop item) has whatever it is asked for.
    let open = sources.iter().find(|s| s.open)?;
    let name = wanted(meaning).first()?;
    Some(open.expr(
        if open.fields.is_empty() && open.prefix == "item" && open.headline == "literal" {
            ""
        } else {
            name
        },
    ))
}

fn last_segment(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// Values a step's clause gives and the data mapped into it.
pub struct Filled {
    pub config: serde_json::Map<String, Value>,
    /// Field names with mapped (not literal) values, for explanations.
    pub mapped: Vec<(String, String)>,
}

impl Filled {
    /// "Email address ← trigger.body.data.object.email; Text ← …", or
    /// `None` when nothing was mapped.
    pub fn described(&self) -> Option<String> {
        if self.mapped.is_empty() {
            return None;
        }
        let mapped: Vec<String> = self
            .mapped
            .iter()
            .map(|(label, value)| format!("{label} ← {}", shown(value)))
            .collect();
        Some(mapped.join("; "))
    }
}

static REPO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([a-z0-9][a-z0-9_.-]*)/([a-z0-9][a-z0-9_.-]*)\b").expect("repo")
});
static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:[$€£]\s*(?P<a>\d+(?:\.\d{1,2})?)|(?P<b>\d+(?:\.\d{1,2})?)\s*(?:usd|eur|gbp|dollars|euros))\s*(?P<cur>usd|eur|gbp)?").expect("money")
});
static NAMED_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:titled|called|named|with the title|subject)\s+§(\d+)").expect("titled")
});

pub fn fill(
    spec: &KindSpec,
    clause: &str,
    literals: &[Literal],
    clause_literals: &[usize],
    sources: &[Source],
) -> Filled {
    let mut config = serde_json::Map::new();
    let mut mapped = Vec::new();
    let of_kind = |kind: LiteralKind| {
        clause_literals
            .iter()
            .filter(move |&&i| literals[i].kind == kind)
            .map(|&i| literals[i].value.clone())
    };
    let has = |name: &str| spec.fields.iter().any(|f| f.name == name);
    let mut quoted: Vec<String> = of_kind(LiteralKind::Quoted).collect();
    // "titled '…'" is the title, whatever else is quoted.
    if let Some(c) = NAMED_TEXT.captures(clause)
        && let Some(i) = c[1].parse::<usize>().ok().filter(|i| *i < literals.len())
    {
        let title = literals[i].value.clone();
        quoted.retain(|q| *q != title);
        for name in ["title", "subject", "name"] {
            if has(name) {
                config.insert(name.into(), json!(title));
                break;
            }
        }
    }
    for field in &spec.fields {
        let name = field.name.as_str();
        if config.contains_key(name) || matches!(field.ty, FieldType::Connection { .. }) {
            continue;
        }
        let literal = match (name, meaning(&spec.kind, field)) {
            ("channel", _) => of_kind(LiteralKind::Channel).next().map(Value::String),
            ("url", _) => of_kind(LiteralKind::Url).next().map(Value::String),
            (_, Meaning::Email) => {
                let all: Vec<String> = of_kind(LiteralKind::Email).collect();
                match (all.is_empty(), &field.ty) {
                    (true, _) => None,
                    (false, FieldType::Json) => Some(json!(all)),
                    (false, _) => Some(json!(all[0])),
                }
            }
            (_, Meaning::Phone) => of_kind(LiteralKind::Phone)
                .next()
                .map(|p| json!(p.replace([' ', '(', ')', '-', '.'], ""))),
            ("tags", _) if !quoted.is_empty() => Some(json!([quoted.remove(0)])),
            (_, Meaning::Message) if !quoted.is_empty() && name != "html" => {
                Some(json!(quoted.remove(0)))
            }
            ("owner", _) => REPO.captures(clause).map(|c| json!(c[1].to_owned())),
            ("repo", _) => REPO.captures(clause).map(|c| json!(c[2].to_owned())),
            ("method", _) => method_of(clause).map(|m| json!(m)),
            ("amount", _) => MONEY.captures(clause).and_then(|c| {
                let n: f64 = c.name("a").or_else(|| c.name("b"))?.as_str().parse().ok()?;
                Some(json!((n * 100.0).round() as i64))
            }),
            ("currency", _) if MONEY.is_match(clause) => Some(json!(
                MONEY
                    .captures(clause)
                    .and_then(|c| c.name("cur").map(|m| m.as_str().to_owned()))
                    .unwrap_or_else(|| if clause.contains('€') {
                        "eur".into()
                    } else if clause.contains('£') {
                        "gbp".into()
                    } else {
                        "usd".into()
                    })
            )),
            _ => id_after_word(clause, name).map(Value::String),
        };
        if let Some(value) = literal {
            config.insert(name.into(), value);
            continue;
        }
        let meaning = meaning(&spec.kind, field);
        // Optional fields get data only where people expect it: the
        // recipient's address, the message itself, an issue's text.
        let has_title = spec.fields.iter().any(|f| f.name == "title" && f.required);
        let wanted_optional = match meaning {
            Meaning::Email => true,
            Meaning::Message => {
                name == "text" || (has_title && matches!(name, "body" | "description"))
            }
            _ => false,
        };
        if !field.required && !wanted_optional {
            if meaning == Meaning::Other
                && let Some(id) = entity_id(name, sources)
            {
                mapped.push((field.label.clone(), id.clone()));
                config.insert(name.into(), Value::String(id));
            } else if name == "body"
                && matches!(field.ty, FieldType::Json)
                && let Some(open) = sources
                    .iter()
                    .find(|s| s.open && s.prefix.starts_with("trigger"))
                && words(clause)
                    .iter()
                    .any(|w| matches!(*w, "forward" | "body" | "it" | "payload" | "data"))
            {
                // "forward the body to …": the request as it came.
                let value = open.expr("");
                mapped.push((field.label.clone(), value.clone()));
                config.insert(name.into(), Value::String(value));
            }
            continue;
        }
        let value = match meaning {
            _ if explicit_source(clause, name, sources).is_some() => {
                explicit_source(clause, name, sources)
            }
            Meaning::Message => {
                if name == "html" {
                    None
                } else {
                    sentence(clause, sources, spec)
                }
            }
            Meaning::Title if sources.iter().all(|s| s.fields.is_empty() && !s.open) => None,
            Meaning::Other => entity_id(name, sources),
            _ => find(sources, meaning),
        };
        if let Some(value) = value {
            mapped.push((field.label.clone(), value.clone()));
            config.insert(name.into(), Value::String(value));
        }
    }
    Filled { config, mapped }
}

/// "with the message as the title": the upstream value the clause names
/// for this field.
fn explicit_source(clause: &str, field: &str, sources: &[Source]) -> Option<String> {
    static AS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(?:the|their|its|his|her)\s+([a-z_]+)\s+as\s+(?:the\s+|its\s+)?([a-z_]+)")
            .expect("as")
    });
    for c in AS.captures_iter(clause) {
        if &c[2] != field {
            continue;
        }
        let mut picked = Vec::new();
        let candidates: Vec<&str> = match &c[1] {
            "message" => vec!["text", "Body", "message", "body"],
            word => vec![word],
        };
        for source in sources {
            if pick(&mut picked, source, &candidates, &[]) {
                return picked.pop();
            }
        }
    }
    None
}

/// `customer`, `issue_id`: the id of the upstream thing of that name (a
/// step that created a customer, or the trigger's `customer` field).
fn entity_id(field: &str, sources: &[Source]) -> Option<String> {
    let entity = field.trim_end_matches("_id");
    let own_id = format!("{entity}'s id");
    for source in sources {
        // A trigger's object that is the entity: "The customer's id."
        if let Some((path, _, _)) = source
            .described
            .iter()
            .find(|(p, _, d)| last_segment(p) == "id" && d.to_lowercase().contains(&own_id))
        {
            return Some(source.expr(path));
        }
        if let Some(step) = source.prefix.strip_prefix("steps.")
            && step.contains(entity)
            && source.fields.iter().any(|(p, _)| p == "id")
        {
            return Some(source.expr("id"));
        }
        if let Some((path, _)) = source
            .fields
            .iter()
            .find(|(p, _)| last_segment(p) == field || last_segment(p) == entity)
        {
            return Some(source.expr(path));
        }
    }
    None
}

/// A mapped value for people: a lone `{{ path }}` as its path, anything
/// else as it is.
pub fn shown(value: &str) -> String {
    match model::expr::single_expression(value) {
        Some(inner) => inner.trim().to_owned(),
        None => value.to_owned(),
    }
}

/// An identifier written after the field's name: "customer cus_123".
fn id_after_word(clause: &str, field: &str) -> Option<String> {
    let words = words(clause);
    let at = words.iter().position(|w| *w == field)?;
    let next = words.get(at + 1)?;
    (next.chars().any(|c| c.is_ascii_digit()) && next.len() > 2).then(|| next.to_string())
}

fn method_of(clause: &str) -> Option<&'static str> {
    let words = words(clause);
    let first = *words.first()?;
    let method = ["post", "put", "patch", "delete", "get"]
        .into_iter()
        .find(|m| first == *m || words.windows(2).any(|w| w[0] == "a" && w[1] == *m))?;
    Some(match method {
        "post" => "POST",
        "put" => "PUT",
        "patch" => "PATCH",
        "delete" => "DELETE",
        _ => "GET",
    })
}

/// A message naming what happened, with the upstream values the clause
/// mentions ("the title", "the link") or else the identifying ones.
fn sentence(clause: &str, sources: &[Source], spec: &KindSpec) -> Option<String> {
    let clause_words = words(clause);
    const KEYS: &[(&str, &[&str])] = &[
        ("email", &["email", "receipt_email", "customer_email"]),
        ("name", &["name", "customer_name"]),
        ("title", &["title"]),
        ("link", &["html_url", "hosted_invoice_url", "url"]),
        ("url", &["html_url", "url"]),
        ("amount", &["amount", "amount_paid", "amount_refunded"]),
        ("message", &["message", "text", "body", "comment.body"]),
        ("comment", &["comment.body"]),
        ("tag", &["tag_name"]),
        ("result", &["body", "items", "count"]),
        ("list", &["items", "count"]),
        ("it", &["text", "body", "message", "title"]),
    ];
    let mut picked: Vec<String> = Vec::new();
    for (word, candidates) in KEYS {
        if clause_words
            .iter()
            .any(|w| w.trim_end_matches('s') == *word)
        {
            let mut found = false;
            for source in sources {
                if pick(&mut picked, source, candidates, &clause_words) {
                    found = true;
                    break;
                }
            }
            // A loop's item or a webhook's body has what the clause names.
            if !found
                && !matches!(*word, "it" | "result" | "list" | "message")
                && let Some(open) = sources
                    .first()
                    .filter(|s| s.open && s.headline != "literal")
            {
                picked.push(open.expr(word));
            }
        }
    }
    // The message says what happened: the trigger's event, else the step.
    let source = sources
        .iter()
        .rev()
        .find(|s| !s.prefix.starts_with("steps."))
        .or(sources.first())?;
    if picked.is_empty() {
        for candidates in [
            &["email", "receipt_email", "customer_email"][..],
            &["name", "customer_name"],
            &["title"],
            &["amount", "amount_paid", "amount_refunded"],
            &["text", "Body", "message", "body"],
            &["html_url", "hosted_invoice_url", "url"],
            &["tag_name"],
        ] {
            for source in sources {
                if pick(&mut picked, source, candidates, &clause_words) {
                    break;
                }
            }
            if picked.len() >= 2 {
                break;
            }
        }
    }
    if picked.is_empty() {
        if source.open {
            picked.push(source.expr(""));
        } else {
            return None;
        }
    }
    let _ = spec;
    Some(format!("{}: {}", source.headline, picked.join(" · ")))
}

/// Adds the first of `candidates` that `source` has to `picked`; a field
/// whose every word the clause uses ("refunded amount") goes first.
fn pick(picked: &mut Vec<String>, source: &Source, candidates: &[&str], clause: &[&str]) -> bool {
    let covered = source.fields.iter().find(|(path, _)| {
        let last = last_segment(path);
        let parts: Vec<&str> = last.split('_').collect();
        parts.len() > 1
            && candidates.iter().any(|c| last.contains(c))
            && parts.iter().all(|p| clause.contains(p))
    });
    if let Some((path, _)) = covered {
        let expr = source.expr(path);
        if !picked.contains(&expr) {
            picked.push(expr);
        }
        return true;
    }
    for candidate in candidates {
        if let Some((path, _)) = source.fields.iter().find(|(path, _)| {
            path == candidate
                || path.ends_with(&format!(".{candidate}"))
                || last_segment(path).eq_ignore_ascii_case(candidate)
        }) {
            let expr = source.expr(path);
            if !picked.contains(&expr) {
                picked.push(expr);
            }
            return true;
        }
    }
    false
}

/// The literal values of a loop over written items, as an expression.
pub fn literal_list(literals: &[Literal], items: &[usize]) -> String {
    let values: Vec<Value> = items.iter().map(|&i| json!(literals[i].value)).collect();
    format!("{{{{ {} }}}}", Value::Array(values))
}
