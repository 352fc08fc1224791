//! From an understanding to a workflow: nodes with stable readable ids,
//! their fields filled, edges following the conditions, branches and
//! loops as written, a layered layout, and a line of explanation per step.

use model::{
    Edge, Node, Position, WorkflowDefinition,
    ai::{ConnectionRef, MissingConnection, NeededInput, StepExplanation},
    graph::LOOP_BODY_PORT,
};
use serde_json::{Map, Value, json};

use crate::{
    accounting::Accounting,
    catalog::{Catalog, applies_to},
    mapping::{Source, fill, literal_list},
    understand::{Step, Test, TriggerPlan, Understanding},
};

pub struct Draft {
    pub workflow: WorkflowDefinition,
    pub steps: Vec<StepExplanation>,
    pub providers: Vec<String>,
    pub missing_connections: Vec<MissingConnection>,
    pub needs_input: Vec<NeededInput>,
}

struct Builder<'a> {
    catalog: &'a Catalog,
    connections: &'a [ConnectionRef],
    def: WorkflowDefinition,
    steps: Vec<StepExplanation>,
    accounting: Accounting,
}

pub fn build(
    catalog: &Catalog,
    understanding: &Understanding,
    name: &str,
    timezone: &str,
    connections: &[ConnectionRef],
) -> Draft {
    let mut b = Builder {
        catalog,
        connections,
        def: WorkflowDefinition {
            name: name.to_owned(),
            description: String::new(),
            settings: Default::default(),
            nodes: Vec::new(),
            edges: Vec::new(),
        },
        steps: Vec::new(),
        accounting: Accounting::default(),
    };
    let (trigger_id, trigger_source) = b.trigger(&understanding.trigger, timezone);
    // Sources nearest first; the trigger is always the last resort.
    let mut sources: Vec<Source> = trigger_source.into_iter().collect();
    let mut tails: Vec<(String, String)> = vec![(trigger_id, "out".into())];
    let mut last_condition: Option<(String, Vec<Source>)> = None;
    let mut open_loop: Option<(String, Vec<Source>)> = None;
    let lifted = &understanding.lifted;
    for step in &understanding.steps {
        match step {
            Step::Action(action) => {
                let spec = catalog.spec(action.kind);
                let filled = fill(
                    spec,
                    &action.text,
                    &lifted.literals,
                    &action.literals,
                    &sources,
                );
                let mapped = filled.described();
                let id = b.add_node(&spec.kind, &spec.label, Value::Object(filled.config));
                b.connect(&tails, &id);
                let explanation = match mapped {
                    None => format!("{}.", spec.label),
                    Some(mapped) => format!("{}, with {mapped}.", spec.label),
                };
                b.explain(&id, &spec.kind, explanation);
                tails = vec![(id.clone(), "out".into())];
                let output: Vec<(String, String)> = spec
                    .output
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.clone()))
                    .collect();
                if !output.is_empty() {
                    sources.insert(
                        0,
                        Source {
                            prefix: format!("steps.{id}.output"),
                            fields: output,
                            headline: spec.label.clone(),
                            open: false,
                            described: Vec::new(),
                        },
                    );
                }
            }
            Step::Condition {
                subject,
                test,
                phrase,
            } => {
                let expression = condition_expression(subject, test, &sources);
                let mut config = Map::new();
                if let Some(expression) = &expression {
                    config.insert("expression".into(), json!(expression));
                }
                let id = b.add_node("condition", "If", Value::Object(config));
                if expression.is_none()
                    && let Some(need) = b
                        .accounting
                        .needs_input
                        .iter_mut()
                        .find(|n| n.node_id == id)
                {
                    need.hint = format!("the test for “{phrase}”");
                }
                b.connect(&tails, &id);
                b.explain(
                    &id,
                    "condition",
                    format!("Goes on only if {}.", phrase.trim_start_matches("if ")),
                );
                tails = vec![(id.clone(), "true".into())];
                // The other branch does not see this one's steps.
                last_condition = Some((id, sources.clone()));
            }
            Step::Otherwise => {
                if let Some((condition, before)) = &last_condition {
                    tails = vec![(condition.clone(), "false".into())];
                    sources = before.clone();
                }
            }
            Step::Delay { ms, .. } => {
                let id = b.add_node("delay", "Wait", json!({ "duration_ms": ms }));
                b.connect(&tails, &id);
                b.explain(&id, "delay", format!("Waits {}.", human_duration(*ms)));
                tails = vec![(id, "out".into())];
            }
            Step::Loop { noun, items, .. } => {
                let (expression, item_source) = loop_items(noun, items, &sources, lifted);
                let mut config = Map::new();
                if let Some(expression) = &expression {
                    config.insert("items".into(), json!(expression));
                }
                let id = b.add_node("loop", "For each", Value::Object(config));
                if expression.is_none()
                    && let Some(need) = b
                        .accounting
                        .needs_input
                        .iter_mut()
                        .find(|n| n.node_id == id)
                {
                    need.hint = format!("the list of {noun}s");
                }
                b.connect(&tails, &id);
                b.explain(
                    &id,
                    "loop",
                    format!("Repeats the next steps for each {noun}."),
                );
                tails = vec![(id.clone(), LOOP_BODY_PORT.into())];
                open_loop = Some((id, sources.clone()));
                sources.insert(0, item_source);
            }
            Step::EndLoop => {
                if let Some((id, before)) = open_loop.take() {
                    // Steps inside the body are not readable after the loop.
                    sources = before;
                    tails = vec![(id, "out".into())];
                }
            }
        }
    }
    let positions = model::layout::layered(&b.def);
    for node in &mut b.def.nodes {
        if let Some(position) = positions.get(&node.id) {
            node.position = *position;
        }
    }
    Draft {
        workflow: b.def,
        steps: b.steps,
        providers: b.accounting.providers,
        missing_connections: b.accounting.missing_connections,
        needs_input: b.accounting.needs_input,
    }
}

impl Builder<'_> {
    fn trigger(&mut self, plan: &TriggerPlan, timezone: &str) -> (String, Option<Source>) {
        match plan {
            TriggerPlan::Manual => {
                let id = self.add_node("manual_trigger", "Run by hand", json!({}));
                self.explain(&id, "manual_trigger", "Starts when you run it.".into());
                (id, None)
            }
            TriggerPlan::Schedule { cron, .. } => {
                let id = self.add_node(
                    "schedule_trigger",
                    "Schedule",
                    json!({ "cron": cron, "timezone": timezone }),
                );
                self.explain(
                    &id,
                    "schedule_trigger",
                    format!("Starts on the schedule “{cron}” in {timezone}."),
                );
                (id, None)
            }
            TriggerPlan::Webhook { .. } => {
                let id = self.add_node("webhook_trigger", "Webhook", json!({}));
                self.explain(
                    &id,
                    "webhook_trigger",
                    "Starts when something posts to the workflow's webhook URL; the request is `trigger` (its JSON in `trigger.body`).".into(),
                );
                let source = Source {
                    prefix: "trigger.body".into(),
                    fields: Vec::new(),
                    headline: "Webhook received".into(),
                    open: true,
                    described: Vec::new(),
                };
                (id, Some(source))
            }
            TriggerPlan::Provider { kind, events, .. } => {
                let spec = self.catalog.spec(*kind);
                let provider = self.catalog.provider_of_kind(spec);
                let provider_name = provider.map_or("", |p| p.name.as_str()).to_owned();
                let id = self.add_node(&spec.kind, &spec.label, json!({ "events": events }));
                self.explain(
                    &id,
                    &spec.kind,
                    format!("Starts when {provider_name} sends {}.", events.join(" or ")),
                );
                let output: Vec<_> = spec
                    .output
                    .iter()
                    .filter(|f| f.name.starts_with("body.") && applies_to(f, events))
                    .collect();
                let fields = output
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.clone()))
                    .collect();
                let described = output
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.clone(), f.description.clone()))
                    .collect();
                let headline = format!(
                    "{provider_name} {}",
                    events
                        .first()
                        .map_or(String::new(), |e| e.replace(['.', '_'], " ").to_lowercase())
                );
                (
                    id,
                    Some(Source {
                        prefix: "trigger".into(),
                        fields,
                        headline,
                        open: false,
                        described,
                    }),
                )
            }
        }
    }

    /// Adds a node with an id made from its kind, filling in the
    /// connection where the account has one and noting what is missing.
    fn add_node(&mut self, kind: &str, label: &str, mut config: Value) -> String {
        let base: String = match kind {
            k if k.ends_with(".trigger") || k.ends_with("_trigger") => "trigger".into(),
            k => k.replace('.', "_").chars().take(56).collect(),
        };
        let mut id = base.clone();
        let mut n = 2;
        while self.def.nodes.iter().any(|node| node.id == id) {
            id = format!("{base}_{n}");
            n += 1;
        }
        self.accounting
            .node(self.catalog, self.connections, &id, kind, &mut config);
        self.def.nodes.push(Node {
            id: id.clone(),
            kind: kind.to_owned(),
            label: label.to_owned(),
            position: Position::default(),
            config,
            retry: None,
            on_error: None,
        });
        id
    }

    fn connect(&mut self, tails: &[(String, String)], target: &str) {
        for (source, port) in tails {
            self.def.edges.push(Edge {
                source: source.clone(),
                source_port: port.clone(),
                target: target.to_owned(),
            });
        }
    }

    fn explain(&mut self, id: &str, kind: &str, explanation: String) {
        self.steps.push(StepExplanation {
            node_id: id.to_owned(),
            kind: kind.to_owned(),
            explanation,
        });
    }
}

/// The condition's expression: the upstream field its subject names.
fn condition_expression(subject: &[String], test: &Test, sources: &[Source]) -> Option<String> {
    let path = subject_path(subject, test, sources)?;
    let quote = |s: &str| {
        format!(
            "'{}'",
            s.to_lowercase().replace('\\', "\\\\").replace('\'', "\\'")
        )
    };
    let number = |n: f64| {
        if n.fract() == 0.0 {
            format!("{}", n as i64)
        } else {
            format!("{n}")
        }
    };
    Some(match test {
        Test::Compare(op, n) => format!("{{{{ {path} {op} {} }}}}", number(*n)),
        Test::Equals(s) => format!("{{{{ {path} | lower == {} }}}}", quote(s)),
        Test::Contains(s) => format!("{{{{ {} in {path} | lower }}}}", quote(s)),
        Test::StartsWith(s) => format!("{{{{ {path} | lower is startingwith({}) }}}}", quote(s)),
        Test::EndsWith(s) => format!("{{{{ {path} | lower is endingwith({}) }}}}", quote(s)),
        Test::Present => {
            format!("{{{{ {path} is defined and {path} is not none and {path} != '' }}}}")
        }
    })
}

/// The upstream path whose words best cover the subject ("amount paid" →
/// `amount_paid`); an open source takes the subject as its path.
fn subject_path(subject: &[String], test: &Test, sources: &[Source]) -> Option<String> {
    let default = match test {
        Test::Compare(..) => vec!["amount".to_owned()],
        _ => vec!["text".to_owned()],
    };
    let subject = if subject.is_empty() {
        &default[..]
    } else {
        subject
    };
    let subject: Vec<String> = subject
        .iter()
        .map(|w| match w.as_str() {
            // "the message" of an SMS or a chat message is its text.
            "message" => "text".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    let mut best: Option<(i32, usize, String)> = None;
    for source in sources {
        for (path, _) in &source.fields {
            let segments: Vec<String> = path
                .rsplit('.')
                .next()
                .unwrap_or(path)
                .split('_')
                .map(|s| s.to_lowercase())
                .collect();
            let hits = subject
                .iter()
                .filter(|w| {
                    segments
                        .iter()
                        .any(|s| s == *w || crate::text::canon(s) == w.as_str())
                        || (w.as_str() == "text" && segments.iter().any(|s| s == "body"))
                })
                .count() as i32;
            if hits == 0 {
                continue;
            }
            let score = hits * 10 - segments.len() as i32;
            if best.as_ref().is_none_or(|(s, ..)| score > *s) {
                best = Some((score, path.len(), format!("{}.{}", source.prefix, path)));
            }
        }
        if best.is_some() {
            break;
        }
    }
    if let Some((_, _, path)) = best {
        return Some(path);
    }
    let open = sources.iter().find(|s| s.open)?;
    let name = subject.join("_");
    (!name.is_empty()).then(|| format!("{}.{name}", open.prefix))
}

/// What a loop goes over: written items, an upstream list, or a list in
/// a webhook's body; and what its body reads as `item`.
fn loop_items(
    noun: &str,
    items: &[usize],
    sources: &[Source],
    lifted: &crate::text::Lifted,
) -> (Option<String>, Source) {
    let item = |headline: &str, open: bool| Source {
        prefix: "item".into(),
        fields: Vec::new(),
        headline: headline.into(),
        open,
        described: Vec::new(),
    };
    if !items.is_empty() {
        return (
            Some(literal_list(&lifted.literals, items)),
            item("literal", true),
        );
    }
    for source in sources {
        if let Some((path, _)) = source.fields.iter().find(|(_, ty)| ty == "array") {
            return (
                Some(format!("{{{{ {}.{} }}}}", source.prefix, path)),
                item("Item", true),
            );
        }
    }
    if let Some(open) = sources.iter().find(|s| s.open) {
        let plural = if noun.ends_with('s') {
            noun.to_owned()
        } else {
            format!("{noun}s")
        };
        return (
            Some(format!("{{{{ {}.{plural} }}}}", open.prefix)),
            item("Item", true),
        );
    }
    (None, item("Item", true))
}

fn human_duration(ms: i64) -> String {
    let units = [
        (604_800_000, "week"),
        (86_400_000, "day"),
        (3_600_000, "hour"),
        (60_000, "minute"),
        (1_000, "second"),
    ];
    for (size, name) in units {
        if ms >= size && ms % size == 0 {
            let n = ms / size;
            return format!("{n} {name}{}", if n == 1 { "" } else { "s" });
        }
    }
    format!("{ms} ms")
}
