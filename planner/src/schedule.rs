//! Schedule phrases to cron: "every day at 9", "every weekday at 8:30",
//! "every Monday 9am", "each hour", "every 15 minutes", "on the 1st of
//! every month". The cron runs in the user's time zone.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// A schedule found in a description.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub cron: String,
    /// Where the phrase is in the (lifted, lower-case) text.
    pub span: std::ops::Range<usize>,
    /// Whether a time of day was given or assumed.
    pub time_given: bool,
}

const TIME: &str = r"(?:\s*(?:at|@)\s*|\s+)(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)?|\s+at\s+(?P<named>noon|midnight)";

static PATTERNS: LazyLock<Vec<(Shape, Regex)>> = LazyLock::new(|| {
    let re = |p: String| Regex::new(&p).expect("schedule pattern");
    let days =
        "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun";
    vec![
        (
            Shape::EveryMinutes,
            re(r"\b(?:every|each)\s+(?P<n>\d+)\s*(?:minutes|minute|mins|min)\b".into()),
        ),
        (
            Shape::EveryHours,
            re(r"\b(?:every|each)\s+(?P<n>\d+)\s*(?:hours|hour|hrs|h)\b".into()),
        ),
        (
            Shape::Hourly,
            re(r"\b(?:every|each)\s+hour\b|\bhourly\b|\bonce an hour\b".into()),
        ),
        (
            Shape::Weekdays,
            re(format!(
                r"\b(?:every|each|on)\s+(?:weekday|week day|work ?day|business day)s?(?:{TIME})?"
            )),
        ),
        (
            Shape::Weekday,
            re(format!(
                r"\b(?:every|each|on)\s+(?P<day>{days})s?\b(?:\s+morning)?(?:{TIME})?"
            )),
        ),
        (
            Shape::Monthly,
            re(format!(
                r"(?:\b(?:on\s+)?(?:the\s+)?(?P<dom>\d{{1,2}})(?:st|nd|rd|th)\s+(?:of\s+)?(?:every|each|the)\s+month|\bmonthly\b)(?:{TIME})?"
            )),
        ),
        (
            Shape::Weekly,
            re(format!(
                r"(?:\b(?:every|each|once a)\s+week\b|\bweekly\b)(?:{TIME})?"
            )),
        ),
        (
            Shape::Daily,
            re(format!(
                r"(?:\b(?:every|each)\s+(?P<part>day|morning|evening|night|afternoon)\b|\b(?P<adj>daily|nightly)\b)(?:{TIME})?"
            )),
        ),
    ]
});

#[derive(Clone, Copy, Debug)]
enum Shape {
    EveryMinutes,
    EveryHours,
    Hourly,
    Weekdays,
    Weekday,
    Monthly,
    Weekly,
    Daily,
}

/// The first schedule in `text`, if any.
pub fn find(text: &str) -> Option<Schedule> {
    let (shape, captures) = PATTERNS
        .iter()
        .filter_map(|(shape, re)| re.captures(text).map(|c| (*shape, c)))
        .min_by_key(|(_, c)| c.get(0).map_or(usize::MAX, |m| m.start()))?;
    let whole = captures.get(0)?;
    let mut span = whole.range();
    let mut time = time_of(&captures);
    if time.is_none() {
        // "at 9am every day": the time before the phrase.
        time = time_before(text, span.start).map(|(t, start)| {
            span.start = start;
            t
        });
    }
    let number = |name: &str| {
        captures
            .name(name)
            .and_then(|m| m.as_str().parse::<u32>().ok())
    };
    let (hour, minute) = time.unwrap_or_else(|| default_time(&captures));
    let cron = match shape {
        Shape::EveryMinutes => match number("n")? {
            0 | 60.. => return None,
            1 => "* * * * *".to_owned(),
            n => format!("*/{n} * * * *"),
        },
        Shape::EveryHours => match number("n")? {
            0 | 24.. => return None,
            1 => "0 * * * *".to_owned(),
            n => format!("0 */{n} * * *"),
        },
        Shape::Hourly => "0 * * * *".to_owned(),
        Shape::Weekdays => format!("{minute} {hour} * * 1-5"),
        Shape::Weekday => {
            let day = captures.name("day")?.as_str();
            format!("{minute} {hour} * * {}", weekday_number(day)?)
        }
        Shape::Monthly => {
            let dom = number("dom").unwrap_or(1);
            if !(1..=31).contains(&dom) {
                return None;
            }
            format!("{minute} {hour} {dom} * *")
        }
        Shape::Weekly => format!("{minute} {hour} * * 1"),
        Shape::Daily => format!("{minute} {hour} * * *"),
    };
    Some(Schedule {
        cron,
        span,
        time_given: time.is_some()
            || matches!(
                shape,
                Shape::EveryMinutes | Shape::EveryHours | Shape::Hourly
            ),
    })
}

fn time_of(captures: &Captures) -> Option<(u32, u32)> {
    if let Some(named) = captures.name("named") {
        return Some(if named.as_str() == "noon" {
            (12, 0)
        } else {
            (0, 0)
        });
    }
    let hour: u32 = captures.name("h")?.as_str().parse().ok()?;
    let minute: u32 = captures
        .name("m")
        .map_or(Some(0), |m| m.as_str().parse().ok())?;
    let meridiem = captures.name("ap").map(|m| m.as_str().starts_with('p'));
    to_24h(
        hour,
        minute,
        meridiem,
        captures.name("part").map(|p| p.as_str()),
    )
}

fn to_24h(hour: u32, minute: u32, pm: Option<bool>, part: Option<&str>) -> Option<(u32, u32)> {
    if minute > 59 {
        return None;
    }
    let hour = match (pm, part) {
        (Some(true), _) if hour < 12 => hour + 12,
        (Some(false), _) if hour == 12 => 0,
        (None, Some("evening" | "night" | "afternoon")) if hour < 12 => hour + 12,
        _ => hour,
    };
    (hour < 24).then_some((hour, minute))
}

fn time_before(text: &str, end: usize) -> Option<((u32, u32), usize)> {
    static BEFORE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\bat\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\s*$").expect("time before")
    });
    let captures = BEFORE.captures(&text[..end])?;
    let hour = captures[1].parse().ok()?;
    let minute = captures
        .get(2)
        .map_or(Some(0), |m| m.as_str().parse().ok())?;
    let pm = captures.get(3).map(|m| m.as_str() == "pm");
    Some((to_24h(hour, minute, pm, None)?, captures.get(0)?.start()))
}

/// When nothing says the hour: mornings at 9, evenings at 18, nights at 23.
fn default_time(captures: &Captures) -> (u32, u32) {
    match captures
        .name("part")
        .or_else(|| captures.name("adj"))
        .map(|m| m.as_str())
    {
        Some("evening") => (18, 0),
        Some("night" | "nightly") => (23, 0),
        Some("afternoon") => (14, 0),
        _ => (9, 0),
    }
}

fn weekday_number(day: &str) -> Option<u32> {
    let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    days.iter()
        .position(|d| day.starts_with(d))
        .map(|i| i as u32)
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn phrases_become_cron() {
        for (text, cron) in [
            ("every day at 9 post", "0 9 * * *"),
            ("every weekday at 8:30 text", "30 8 * * 1-5"),
            ("every monday 9am create", "0 9 * * 1"),
            ("every monday at 9am create", "0 9 * * 1"),
            ("each hour, call", "0 * * * *"),
            ("hourly, call", "0 * * * *"),
            ("every 15 minutes fetch", "*/15 * * * *"),
            ("every night at 11pm list", "0 23 * * *"),
            ("on the 1st of every month at 9 email", "0 9 1 * *"),
            ("every friday at 5pm post", "0 17 * * 5"),
            ("send me a daily summary", "0 9 * * *"),
            ("at 7am every day send", "0 7 * * *"),
            ("every sunday at 10pm remind", "0 22 * * 0"),
            ("every evening at 6 post", "0 18 * * *"),
        ] {
            assert_eq!(find(text).map(|s| s.cron), Some(cron.to_owned()), "{text}");
        }
        assert_eq!(find("when a customer signs up"), None);
        assert_eq!(find("every 99 minutes"), None);
    }
}
