//! Conditions: "if the amount is over 1000", "the currency is eur",
//! "it mentions 'urgent'", "if they have a phone number".

use super::*;

pub(super) static COMPARISON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?:and|but)\s+)?(?:only\s+)?(?:if|when|where|in case)?\s*(?P<subject>.*?)\s*(?:is|are|was|'s|’s|it's|gets)?\s*(?P<op>over|above|more than|greater than|bigger than|higher than|exceeds|at least|under|below|less than|lower than|smaller than|at most|no more than|equals|equal to|is equal to|=|contains|mentions|includes|has the word|ends with|ends in|starts with|begins with|is|are|was)\s+(?P<value>§\d+|[$€£]?\s*[\d.,]+\s*k?|[a-z0-9@._-]+)\s*(?P<rest>.*)$",
    )
    .expect("comparison")
});

pub(super) static PRESENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:and|but)\s+)?(?:only\s+)?if\s+(?:they|it|he|she|the customer|the user)\s+(?:have|has)\s+(?:a|an)\s+(?P<subject>[a-z ]+?)(?:\s+number)?\s+(?P<rest>(?:send|text|email|post|add|create|notify|ping|call)\b.*)?$").expect("presence")
});

pub(super) fn has_comparison(clause: &str) -> bool {
    COMPARISON.captures(clause).is_some_and(|c| {
        (!c["subject"].trim().is_empty() || clause.contains("it"))
            && !is_event_state(&c["op"], &c["value"])
    })
}

/// "a customer is created": a state an event reports, not a comparison.
pub(super) fn is_event_state(op: &str, value: &str) -> bool {
    matches!(op, "is" | "are" | "was")
        && (value.ends_with("ed")
            || value.ends_with("en")
            || matches!(
                value,
                "new"
                    | "paid"
                    | "sent"
                    | "made"
                    | "done"
                    | "won"
                    | "lost"
                    | "sold"
                    | "set"
                    | "built"
            ))
}

pub(super) fn comparison(op: &str, value: &str, lifted: &Lifted) -> Option<Test> {
    let literal = markers(value)
        .first()
        .map(|&i| lifted.literals[i].value.clone());
    let text = literal.clone().unwrap_or_else(|| value.to_owned());
    let number = || {
        let cleaned: String = text
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let n: f64 = cleaned.parse().ok()?;
        Some(if text.trim_end().ends_with('k') {
            n * 1000.0
        } else {
            n
        })
    };
    Some(match op {
        "over" | "above" | "more than" | "greater than" | "bigger than" | "higher than"
        | "exceeds" => Test::Compare(">", number()?),
        "at least" => Test::Compare(">=", number()?),
        "under" | "below" | "less than" | "lower than" | "smaller than" => {
            Test::Compare("<", number()?)
        }
        "at most" | "no more than" => Test::Compare("<=", number()?),
        "contains" | "mentions" | "includes" | "has the word" => Test::Contains(text),
        "ends with" | "ends in" => Test::EndsWith(text),
        "starts with" | "begins with" => Test::StartsWith(text),
        _ => match number() {
            Some(n) if literal.is_none() => Test::Compare("==", n),
            _ => Test::Equals(text),
        },
    })
}
