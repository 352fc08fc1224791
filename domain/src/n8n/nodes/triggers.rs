//! Manual Trigger, Webhook, Schedule Trigger, Cron and Interval.

use serde_json::{Value, json};

use super::{Context, Data, Step, Translation};

fn trigger(kind: &str, config: Value) -> Translation {
    Translation::Step(Step::new(kind, config, &[&["out"]], Data::Trigger))
}

pub fn manual(_cx: &Context) -> Translation {
    trigger("manual_trigger", json!({}))
}

pub fn webhook(cx: &Context) -> Translation {
    let methods: Vec<String> = match cx.param("httpMethod") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_uppercase)
            .collect(),
        Some(Value::String(method)) => vec![method.to_uppercase()],
        _ => vec!["GET".into()],
    };
    let respond = match cx.text("responseMode").unwrap_or("onReceived") {
        "lastNode" => "output",
        "responseNode" => {
            cx.unsupported(
                Some("responseMode"),
                "answering from a Respond to Webhook node: Switchyard answers when the request is accepted, or with the run's output",
            );
            "accepted"
        }
        _ => "accepted",
    };
    if let Some(path) = cx.text("path") {
        cx.note(
            Some("path"),
            format!("n8n's path `{path}` becomes this workflow's own webhook URL (shown on the workflow once saved)"),
        );
    }
    match cx.text("authentication").unwrap_or("none") {
        "none" => {}
        other => cx.note(
            Some("authentication"),
            format!("n8n checked `{other}` on each request: set a signature check (GitHub, Stripe, Slack or HMAC) on the trigger"),
        ),
    }
    trigger(
        "webhook_trigger",
        json!({"methods": methods, "respond": respond}),
    )
}

fn number(cx: &Context, path: &str, default: i64) -> i64 {
    cx.param(path).and_then(Value::as_i64).unwrap_or(default)
}

fn scheduled(cx: &Context, cron: String) -> Translation {
    let timezone = match cx.timezone {
        Some(zone) => zone.to_owned(),
        None => {
            cx.note(None, "the export names no time zone (n8n used its instance's): the schedule runs in UTC until you set one");
            "UTC".to_owned()
        }
    };
    Translation::Step(Step::new(
        "schedule_trigger",
        json!({"cron": cron, "timezone": timezone, "missed": "skip"}),
        &[&["out"]],
        Data::Schedule,
    ))
}

/// Schedule Trigger: `rule.interval[]`, one rule per line.
pub fn schedule(cx: &Context) -> Translation {
    let rules = cx
        .param("rule.interval")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if rules.len() > 1 {
        cx.unsupported(
            Some("rule.interval"),
            format!(
                "{} schedules in one trigger: only the first was kept",
                rules.len()
            ),
        );
    }
    let rule = rules.first().cloned().unwrap_or_else(|| json!({}));
    let get = |key: &str, default: i64| rule.get(key).and_then(Value::as_i64).unwrap_or(default);
    let (hour, minute) = (get("triggerAtHour", 0), get("triggerAtMinute", 0));
    let cron = match rule.get("field").and_then(Value::as_str).unwrap_or("days") {
        "cronExpression" => match rule.get("expression").and_then(Value::as_str) {
            Some(expression) if !expression.starts_with('=') => expression.trim().to_owned(),
            _ => {
                return Translation::Unsupported(
                    "a cron expression that is itself an expression".into(),
                );
            }
        },
        "seconds" => format!("*/{} * * * * *", get("secondsInterval", 30)),
        "minutes" => format!("*/{} * * * *", get("minutesInterval", 5)),
        "hours" => format!("{minute} */{} * * *", get("hoursInterval", 1)),
        "days" => match get("daysInterval", 1) {
            1 => format!("{minute} {hour} * * *"),
            n => format!("{minute} {hour} */{n} * *"),
        },
        "weeks" => {
            let days: Vec<String> = match rule.get("triggerAtDay") {
                Some(Value::Array(days)) if !days.is_empty() => days
                    .iter()
                    .filter_map(Value::as_i64)
                    .map(|d| d.to_string())
                    .collect(),
                _ => vec!["0".into()],
            };
            if get("weeksInterval", 1) > 1 {
                cx.unsupported(
                    Some("rule.interval"),
                    "every few weeks: cron has no such rule, so it runs every week",
                );
            }
            format!("{minute} {hour} * * {}", days.join(","))
        }
        "months" => format!(
            "{minute} {hour} {} */{} *",
            get("triggerAtDayOfMonth", 1),
            get("monthsInterval", 1)
        ),
        other => return Translation::Unsupported(format!("the schedule rule `{other}`")),
    };
    scheduled(cx, cron)
}

/// The older Cron node: `triggerTimes.item[]`.
pub fn cron(cx: &Context) -> Translation {
    let items = cx
        .param("triggerTimes.item")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.len() > 1 {
        cx.unsupported(
            Some("triggerTimes.item"),
            format!("{} trigger times: only the first was kept", items.len()),
        );
    }
    let item = items
        .first()
        .cloned()
        .unwrap_or_else(|| json!({"mode": "everyDay"}));
    let get = |key: &str, default: i64| item.get(key).and_then(Value::as_i64).unwrap_or(default);
    let (hour, minute) = (get("hour", 14), get("minute", 0));
    let cron = match item
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or("everyDay")
    {
        "everyMinute" => "* * * * *".to_owned(),
        "everyHour" => format!("{minute} * * * *"),
        "everyDay" => format!("{minute} {hour} * * *"),
        "everyWeek" => format!(
            "{minute} {hour} * * {}",
            item.get("weekday")
                .and_then(|d| d
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| d.as_i64().map(|n| n.to_string())))
                .unwrap_or_else(|| "1".into())
        ),
        "everyMonth" => format!("{minute} {hour} {} * *", get("dayOfMonth", 1)),
        "everyX" => match item.get("unit").and_then(Value::as_str).unwrap_or("hours") {
            "minutes" => format!("*/{} * * * *", get("value", 2)),
            _ => format!("0 */{} * * *", get("value", 2)),
        },
        "custom" => match item.get("cronExpression").and_then(Value::as_str) {
            Some(expression) => expression.trim().to_owned(),
            None => {
                return Translation::Unsupported(
                    "a custom trigger time without its expression".into(),
                );
            }
        },
        other => return Translation::Unsupported(format!("the trigger time `{other}`")),
    };
    scheduled(cx, cron)
}

/// The Interval node: every N seconds, minutes or hours.
pub fn interval(cx: &Context) -> Translation {
    let every = number(cx, "interval", 1).max(1);
    let cron = match cx.text("unit").unwrap_or("seconds") {
        "seconds" => format!("*/{every} * * * * *"),
        "minutes" => format!("*/{every} * * * *"),
        _ => format!("0 */{every} * * *"),
    };
    scheduled(cx, cron)
}

/// Stripe, GitHub, Slack and Twilio triggers: the provider's trigger with
/// the same event types. Stripe and GitHub webhooks are registered with
/// the account's connection on activation, as n8n did; Slack and Twilio
/// need the signing secret n8n kept in its credential.
pub fn provider(cx: &Context) -> Translation {
    let list = |path: &str| -> Vec<String> {
        match cx.param(path) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    };
    let (kind, events, mut config) = match cx.node.ty.as_str() {
        "n8n-nodes-base.stripeTrigger" => ("stripe.trigger", list("events"), json!({})),
        "n8n-nodes-base.githubTrigger" => {
            let mut config = json!({});
            for (from, to) in [("owner", "owner"), ("repository", "repo")] {
                if let Some(value) = cx.value(from) {
                    config[to] = value;
                }
            }
            ("github.trigger", list("events"), config)
        }
        "n8n-nodes-base.slackTrigger" => ("slack.trigger", list("trigger"), json!({})),
        _ => (
            "twilio.trigger",
            list("updates")
                .into_iter()
                .map(|u| match u.as_str() {
                    "com.twilio.messaging.inbound-message.received" => {
                        "message.received".to_owned()
                    }
                    other => other.to_owned(),
                })
                .collect(),
            json!({}),
        ),
    };
    let provider = kind.trim_end_matches(".trigger");
    let known = engine::providers::find(provider)
        .map(|p| p.events)
        .unwrap_or(&[]);
    let (kept, dropped): (Vec<String>, Vec<String>) = events
        .into_iter()
        .partition(|e| known.contains(&e.as_str()));
    if events_all(&dropped) {
        cx.unsupported(
            Some("events"),
            "every event (`*`): choose the event types the workflow handles",
        );
    } else if !dropped.is_empty() {
        cx.unsupported(
            Some("events"),
            format!(
                "the event types {} are not among Switchyard's",
                dropped.join(", ")
            ),
        );
    }
    config["events"] = json!(kept);
    if matches!(provider, "slack" | "twilio") {
        cx.note(None, format!("{provider} signs its deliveries with a secret n8n kept in its credential: enter it as the trigger's signing secret"));
    }
    Translation::Step(Step::new(kind, config, &[&["out"]], Data::Delivery))
}

fn events_all(dropped: &[String]) -> bool {
    dropped.iter().any(|e| e == "*" || e == "any_event")
}
