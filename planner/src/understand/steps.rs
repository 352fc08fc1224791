//! The steps of one clause, in order: otherwise, a condition, a wait, a
//! loop (listing what it goes through when nothing did yet), an action.

use super::*;

pub(super) static WAIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:then|and)\s+)?(?:wait(?:\s+for)?|pause(?:\s+for)?|sleep(?:\s+for)?|hold(?:\s+off)?(?:\s+for)?|give it|delay(?:\s+of|\s+for)?|put a delay of|after)\s+(?P<n>\d+|a|an|one|two|three|a couple of)\s*(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)\b(?:\s+(?:later|before|then))?\s*(?P<rest>.*)$|^(?P<n2>\d+|a|an|one|two|three)\s*(?P<unit2>seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?)\s+later\s*(?P<rest2>.*)$").expect("wait")
});

pub(super) static LOOP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:and\s+)?(?:for|with)\s+(?:each|every)\s+(?:one\s+)?(?:of\s+(?:them|these|those|the)\s*)?(?P<noun>[a-z]+)?[:,]?\s*(?P<rest>.*)$|^(?P<pre>[a-z]+)\s+(?:each|every)\s+(?P<noun2>[a-z]+)\s*(?P<rest2>.*)$|^(?:go|loop|iterate|run|walk)\s+(?:through|over)\s+(?:every|each|all|all of|all the|the)?\s*(?P<object>[a-z ]+?)(?P<rest3>\s+(?:in|from|on|of)\s+.*)?$").expect("loop")
});

pub(super) fn read_steps(
    catalog: &Catalog,
    clause: &str,
    out: &mut Understanding,
    context: &mut Vec<usize>,
    in_loop: &mut bool,
) {
    let mut clause = clause.trim().to_owned();
    for prefix in [
        "otherwise ",
        "else ",
        "if not ",
        "or else ",
        "if not, ",
        "but if not ",
    ] {
        if let Some(rest) = clause.strip_prefix(prefix) {
            out.steps.push(Step::Otherwise);
            clause = rest.trim().to_owned();
            break;
        }
    }
    if clause == "otherwise" || clause == "else" {
        out.steps.push(Step::Otherwise);
        return;
    }
    if let Some(c) = PRESENCE.captures(&clause) {
        let subject = canon_words(&c["subject"]);
        let rest = c.name("rest").map_or("", |m| m.as_str()).to_owned();
        out.steps.push(Step::Condition {
            subject,
            test: Test::Present,
            phrase: clause.clone(),
        });
        clause = rest;
    } else if let Some(c) = COMPARISON.captures(&clause)
        && (clause.starts_with("if ")
            || clause.starts_with("only if")
            || clause.starts_with("and if")
            || clause.starts_with("but only")
            || clause.starts_with("it")
            || clause.starts_with("the ")
            || clause.starts_with("when ")
            || clause.starts_with("where "))
    {
        let value = c["value"].trim().to_owned();
        let test = if is_event_state(&c["op"], &value) {
            None
        } else {
            comparison(&c["op"], &value, &out.lifted)
        };
        if let Some(test) = test {
            let subject: Vec<String> = canon_words(&c["subject"])
                .into_iter()
                .filter(|w| !matches!(w.as_str(), "it" | "it's" | "its" | "is" | "the"))
                .collect();
            let rest = c.name("rest").map_or(clause.len(), |m| m.start());
            out.steps.push(Step::Condition {
                subject,
                test,
                phrase: clause[..rest].trim().to_owned(),
            });
            clause = c["rest"].trim().to_owned();
        }
    }
    if let Some(c) = WAIT.captures(&clause) {
        let (n, unit, rest) = match c.name("n") {
            Some(n) => (n.as_str(), &c["unit"], c.name("rest")),
            None => (&c["n2"], &c["unit2"], c.name("rest2")),
        };
        let count: i64 = match n {
            "a" | "an" | "one" => 1,
            "two" | "a couple of" => 2,
            "three" => 3,
            n => n.parse().unwrap_or(1),
        };
        let unit_ms: i64 = match unit.chars().next() {
            Some('s') => 1_000,
            Some('m') => 60_000,
            Some('h') => 3_600_000,
            Some('d') => 86_400_000,
            _ => 7 * 86_400_000,
        };
        out.steps.push(Step::Delay {
            ms: count * unit_ms,
            phrase: clause.clone(),
        });
        clause = rest.map_or("", |m| m.as_str()).trim().to_owned();
    }
    if out
        .steps
        .last()
        .is_some_and(|s| matches!(s, Step::Loop { .. }))
    {
        // The loop's body: "tag each of them …", "… for each one".
        for filler in [
            " for each one",
            " for each of them",
            " for each",
            " for every one",
            " each of them",
            " each one",
        ] {
            clause = clause.replace(filler, "");
        }
    }
    if let Some(c) = LOOP.captures(&clause) {
        let (mut noun, mut rest) = match (c.name("noun2"), c.name("object")) {
            (Some(noun), _) => (
                noun.as_str().to_owned(),
                format!("{} {}", &c["pre"], &c["rest2"]),
            ),
            // "go through the open github issues in acme/web": the last
            // word that is not a provider's is what is gone through.
            (None, Some(object)) => (
                object
                    .as_str()
                    .split_whitespace()
                    .rfind(|w| !catalog.providers.iter().any(|p| p.id == *w))
                    .unwrap_or("item")
                    .to_owned(),
                String::new(),
            ),
            (None, None) => (
                c.name("noun").map_or("item", |m| m.as_str()).to_owned(),
                c["rest"].to_owned(),
            ),
        };
        let noun_word = noun.clone();
        if IMPERATIVES.contains(&noun.as_str()) {
            // "for each one add them …": no noun, the verb starts the body.
            rest = format!("{noun} {rest}");
            noun = "item".into();
        }
        let noun = noun.trim_end_matches('s').to_owned();
        let items: Vec<usize> = markers(&clause)
            .into_iter()
            .filter(|&i| out.lifted.literals[i].kind != LiteralKind::Channel)
            .collect();
        let items = if items.len() > 1 { items } else { Vec::new() };
        // "every customer in Stripe" with nothing listed yet: list them first.
        if items.is_empty()
            && !out.steps.iter().any(|s| matches!(s, Step::Action(_)))
            && let Some(list) = list_action(catalog, &clause, &noun_word)
        {
            out.steps.push(Step::Action(ActionStep {
                kind: catalog.actions[list].kind,
                phrase: clause.clone(),
                literals: markers(&clause),
                text: clause.clone(),
                confidence: 0.6,
                alternatives: Vec::new(),
            }));
        }
        out.steps.push(Step::Loop {
            noun,
            items: items.clone(),
            phrase: clause.clone(),
        });
        clause = rest;
        for i in items {
            clause = clause
                .replace(&format!("§{i} "), "")
                .replace(&format!("§{i}"), "");
        }
        // The body is the rest of this clause, or else the next one.
        *in_loop = !clause.trim().is_empty();
    }
    let clause = clause.trim();
    if clause.is_empty() {
        return;
    }
    let unknown = unknown_services(catalog, clause);
    if !unknown.is_empty() {
        out.unknown.extend(unknown);
        return;
    }
    if ["with ", "including ", "containing ", "saying ", "showing "]
        .iter()
        .any(|p| clause.starts_with(p))
    {
        // "…, with the customer name": more about the previous step.
        if let Some(Step::Action(previous)) = out.steps.last_mut() {
            previous.text.push(' ');
            previous.text.push_str(clause);
            previous.literals.extend(markers(clause));
            return;
        }
    }
    let trigger_provider = match &out.trigger {
        TriggerPlan::Provider { .. } => context.first().copied(),
        _ => None,
    };
    match choose_action(catalog, clause, &out.lifted, context, trigger_provider) {
        Choice::Action(step) => {
            if let Some(provider) = catalog.spec(step.kind).provider.as_deref()
                && let Some(p) = catalog.providers.iter().position(|p| p.id == provider)
                && !context.contains(&p)
            {
                context.push(p);
            }
            out.steps.push(Step::Action(step));
        }
        Choice::Vague(vague) => {
            if out.vague.is_none() {
                out.vague = Some(vague);
            }
        }
        Choice::Nothing => {
            // "with the customer name": more about the previous step.
            if let Some(Step::Action(previous)) = out.steps.last_mut() {
                previous.text.push(' ');
                previous.text.push_str(clause);
                previous.literals.extend(markers(clause));
            }
        }
    }
}

/// The list action of the provider a loop clause names, for what it goes
/// through ("customers" → `stripe.list_customers`).
pub(super) fn list_action(catalog: &Catalog, clause: &str, noun: &str) -> Option<usize> {
    let raw = words(clause);
    let provider = (0..catalog.providers.len()).find(|&p| names_provider(catalog, p, &raw))?;
    let noun = canon_words(noun);
    let lists = catalog
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.provider == Some(provider)
                && catalog
                    .spec(a.kind)
                    .kind
                    .rsplit('.')
                    .next()
                    .is_some_and(|n| n.starts_with("list"))
        })
        .map(|(i, _)| i);
    lists
        .into_iter()
        .find(|&i| noun.iter().any(|w| catalog.actions[i].words.contains(w)))
}
