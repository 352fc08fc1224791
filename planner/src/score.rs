//! Scoring a planner on the prompt table (`planner/quality/prompts.json`):
//! each case names the trigger, the node kinds, the edges (by kind, the
//! trigger as `trigger`), mappings that must appear, unknown services and
//! whether a question is expected instead of a draft. Scores: trigger
//! exact match, node and edge F1 (multisets, summed over the table),
//! mapping recall, validity, unknown services found, questions asked.

use std::collections::HashMap;

use model::ai::{Generated, is_left_for_user};
use serde::Deserialize;

use crate::catalog::Catalog;

#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub prompt: String,
    pub trigger: ExpectedTrigger,
    #[serde(default)]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub edges: Vec<(String, String, String)>,
    #[serde(default)]
    pub mappings: Vec<ExpectedMapping>,
    #[serde(default)]
    pub unknown: Vec<String>,
    #[serde(default)]
    pub clarify: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ExpectedTrigger {
    pub kind: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub cron: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ExpectedMapping {
    pub kind: String,
    pub field: String,
    pub contains: String,
}

/// How one case went.
#[derive(Clone, Debug, Default)]
pub struct CaseScore {
    pub trigger: bool,
    pub nodes: Counts,
    pub edges: Counts,
    pub mappings_found: usize,
    pub mappings: usize,
    pub valid: bool,
    pub unknown: bool,
    pub clarify: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub matched: usize,
    pub planned: usize,
    pub expected: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.matched += other.matched;
        self.planned += other.planned;
        self.expected += other.expected;
    }

    pub fn f1(&self) -> f64 {
        if self.planned + self.expected == 0 {
            return 1.0;
        }
        2.0 * self.matched as f64 / (self.planned + self.expected) as f64
    }
}

impl CaseScore {
    pub fn perfect(&self) -> bool {
        self.trigger
            && self.nodes.matched == self.nodes.planned
            && self.nodes.matched == self.nodes.expected
            && self.edges.matched == self.edges.planned
            && self.edges.matched == self.edges.expected
            && self.mappings_found == self.mappings
            && self.valid
            && self.unknown
            && self.clarify
    }
}

pub fn load(json: &str) -> Result<Vec<Case>, serde_json::Error> {
    serde_json::from_str(json)
}

/// Plans every case (in UTC, without connections) and scores the answer.
pub fn run(catalog: &Catalog, cases: &[Case]) -> Vec<(CaseScore, Generated)> {
    cases
        .iter()
        .map(|case| {
            let answer = crate::generate(
                catalog,
                &crate::Request {
                    prompt: &case.prompt,
                    timezone: "UTC",
                    connections: &[],
                },
            );
            (score(catalog, case, &answer), answer)
        })
        .collect()
}

/// Compares one answer with its case.
pub fn score(catalog: &Catalog, case: &Case, answer: &Generated) -> CaseScore {
    let def = &answer.workflow;
    let trigger = def
        .nodes
        .iter()
        .find(|n| catalog.kind(&n.kind).is_some_and(|s| s.is_trigger()));
    let trigger_ok =
        trigger.is_some_and(|node| {
            node.kind == case.trigger.kind
                && (case.trigger.events.is_empty()
                    || node.config.get("events") == Some(&serde_json::json!(case.trigger.events)))
                && case.trigger.cron.as_ref().is_none_or(|cron| {
                    node.config.get("cron").and_then(|c| c.as_str()) == Some(cron)
                })
        });
    let trigger_id = trigger.map(|n| n.id.as_str()).unwrap_or_default();
    let name_of = |id: &str| {
        if id == trigger_id {
            "trigger".to_owned()
        } else {
            def.node(id).map_or(String::new(), |n| n.kind.clone())
        }
    };
    let planned_nodes: Vec<String> = def
        .nodes
        .iter()
        .filter(|n| n.id != trigger_id)
        .map(|n| n.kind.clone())
        .collect();
    let planned_edges: Vec<(String, String, String)> = def
        .edges
        .iter()
        .map(|e| {
            (
                name_of(&e.source),
                e.source_port.clone(),
                name_of(&e.target),
            )
        })
        .collect();
    let mappings_found = case
        .mappings
        .iter()
        .filter(|m| {
            def.nodes.iter().filter(|n| n.kind == m.kind).any(|n| {
                n.config.get(&m.field).is_some_and(|v| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    text.contains(&m.contains)
                })
            })
        })
        .count();
    let valid = model::validate(def, &catalog.catalogue)
        .iter()
        .filter(|p| p.severity == model::Severity::Error)
        .all(|p| is_left_for_user(p, &answer.needs_input));
    let unknown = case.unknown.len() == answer.unknown.len()
        && case.unknown.iter().all(|name| {
            answer
                .unknown
                .iter()
                .any(|u| u.to_lowercase().starts_with(name))
        });
    CaseScore {
        trigger: trigger_ok,
        nodes: multiset(&planned_nodes, &case.nodes),
        edges: multiset(&planned_edges, &case.edges),
        mappings_found,
        mappings: case.mappings.len(),
        valid,
        unknown,
        clarify: answer.clarification.is_some() == case.clarify,
    }
}

fn multiset<T: std::hash::Hash + Eq + Clone>(planned: &[T], expected: &[T]) -> Counts {
    let mut left: HashMap<T, usize> = HashMap::new();
    for item in expected {
        *left.entry(item.clone()).or_default() += 1;
    }
    let mut matched = 0;
    for item in planned {
        if let Some(n) = left.get_mut(item).filter(|n| **n > 0) {
            *n -= 1;
            matched += 1;
        }
    }
    Counts {
        matched,
        planned: planned.len(),
        expected: expected.len(),
    }
}

/// The table's totals.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub cases: usize,
    pub trigger_exact: f64,
    pub node_f1: f64,
    pub edge_f1: f64,
    pub mapping_recall: f64,
    pub valid: f64,
    pub unknown: f64,
    pub clarify: f64,
    pub perfect: usize,
}

pub fn summarise(scores: &[CaseScore]) -> Summary {
    let n = scores.len().max(1) as f64;
    let share = |f: &dyn Fn(&CaseScore) -> bool| scores.iter().filter(|s| f(s)).count() as f64 / n;
    let mut nodes = Counts::default();
    let mut edges = Counts::default();
    let (mut found, mut wanted) = (0, 0);
    for s in scores {
        nodes.add(s.nodes);
        edges.add(s.edges);
        found += s.mappings_found;
        wanted += s.mappings;
    }
    Summary {
        cases: scores.len(),
        trigger_exact: share(&|s| s.trigger),
        node_f1: nodes.f1(),
        edge_f1: edges.f1(),
        mapping_recall: if wanted == 0 {
            1.0
        } else {
            found as f64 / wanted as f64
        },
        valid: share(&|s| s.valid),
        unknown: share(&|s| s.unknown),
        clarify: share(&|s| s.clarify),
        perfect: scores.iter().filter(|s| s.perfect()).count(),
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "| measure | score |")?;
        writeln!(f, "|---|---|")?;
        writeln!(f, "| prompts | {} |", self.cases)?;
        writeln!(f, "| valid drafts | {:.1} % |", self.valid * 100.0)?;
        writeln!(
            f,
            "| trigger exact match | {:.1} % |",
            self.trigger_exact * 100.0
        )?;
        writeln!(f, "| node F1 | {:.3} |", self.node_f1)?;
        writeln!(f, "| edge F1 | {:.3} |", self.edge_f1)?;
        writeln!(f, "| mapping recall | {:.3} |", self.mapping_recall)?;
        writeln!(
            f,
            "| unknown services reported exactly | {:.1} % |",
            self.unknown * 100.0
        )?;
        writeln!(
            f,
            "| asked when (and only when) vague | {:.1} % |",
            self.clarify * 100.0
        )?;
        writeln!(
            f,
            "| prompts planned perfectly | {} of {} |",
            self.perfect, self.cases
        )
    }
}
