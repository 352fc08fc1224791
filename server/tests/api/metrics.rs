//! `/metrics`: hidden without a token, refused with a wrong one, Prometheus
//! text that parses, and counters that move with runs, retries, outbound
//! calls and webhook deliveries; the separate metrics address.

use std::time::Duration;

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::{Value, json};
use testkit::{Backend, Reply, ScriptedServer};

use crate::helpers::{TestApp, assert_error, sample_workflow, spawn_app, spawn_app_with};

const TOKEN: &str = "metrics-token-0123456789abcdef";

mod sqlite {
    #[tokio::test]
    async fn metrics_move_with_runs_retries_and_webhooks() {
        super::metrics_move_with_runs_retries_and_webhooks(testkit::Backend::Sqlite).await;
    }
    #[tokio::test]
    async fn metrics_are_off_without_a_token_and_served_on_their_own_address() {
        super::off_by_default_and_on_their_own_address(testkit::Backend::Sqlite).await;
    }
}

mod postgres {
    #[tokio::test]
    async fn metrics_move_with_runs_retries_and_webhooks() {
        super::metrics_move_with_runs_retries_and_webhooks(testkit::Backend::Postgres).await;
    }
}

/// Checks every line is Prometheus/OpenMetrics text, then parses it.
fn parse_strictly(text: &str) -> Scrape {
    assert!(text.ends_with("# EOF\n"), "the text ends with # EOF");
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let word = comment.split(' ').next().unwrap();
            assert!(
                matches!(word, "HELP" | "TYPE" | "UNIT" | "EOF"),
                "unknown comment: {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        assert!(
            value.parse::<f64>().is_ok() || matches!(value, "+Inf" | "-Inf" | "NaN"),
            "not a number: {line}"
        );
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "bad labels: {line}"
            );
        }
    }
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses")
}

/// The value of `metric` whose labels include all of `labels` (0 when absent).
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => *v,
            Sample::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Sample::Summary(_) => 0.0,
        })
        .sum()
}

async fn scrape(app: &TestApp) -> Scrape {
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    parse_strictly(&response.text().await.unwrap())
}

/// Counts are taken just after a write commits, which an API reader may
/// see first: scrape until `ready` holds (or give up after ~10 s).
async fn scrape_until(app: &TestApp, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    for _ in 0..200 {
        let scraped = scrape(app).await;
        if ready(&scraped) {
            return scraped;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the metrics never showed what was expected");
}

async fn metrics_move_with_runs_retries_and_webhooks(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |config| {
        config.metrics_token = Some(server::config::HiddenText(TOKEN.into()));
    })
    .await
    else {
        return;
    };
    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_error(anonymous, 401, "unauthorized", None).await;
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token-0123456789abcdeX")
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "unauthorized", None).await;

    let before = scrape(&app).await;
    assert!(value(&before, "process_resident_memory_bytes", &[]) > 1e6);
    assert!(value(&before, "process_open_fds", &[]) > 0.0);
    assert_eq!(
        value(
            &before,
            "switchyard_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert!(value(&before, "switchyard_db_pool_max_connections", &[]) >= 1.0);
    assert_eq!(
        value(&before, "switchyard_queue_runs", &[("status", "queued")]),
        0.0
    );

    // A run whose HTTP step fails once (503) and succeeds on its retry.
    let provider = ScriptedServer::start().await;
    provider.script(
        "/flaky",
        vec![
            Reply::json(503, json!({})),
            Reply::json(200, json!({"ok": true})),
        ],
    );
    let ada = app.user("ada@example.com").await;
    let mut definition = sample_workflow("Flaky", &provider.url("/flaky"));
    definition["settings"] =
        json!({"retry": {"max_attempts": 3, "initial_delay_ms": 10, "max_delay_ms": 20}});
    let workflow = ada.create_workflow(definition).await;
    let started: Value = ada
        .post(&format!("/workflows/{workflow}/execute"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let run = ada
        .finished_run(started["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded");
    let wf = ("workflow_id", workflow.as_str());
    let after = scrape_until(&app, |s| {
        value(s, "switchyard_runs_finished_total", &[wf]) >= 1.0
    })
    .await;
    assert_eq!(value(&after, "switchyard_runs_started_total", &[wf]), 1.0);
    assert_eq!(
        value(
            &after,
            "switchyard_runs_finished_total",
            &[wf, ("status", "succeeded")]
        ),
        1.0
    );
    assert_eq!(value(&after, "switchyard_run_duration_seconds", &[wf]), 1.0);
    let retried = [("kind", "http_request"), ("error_class", "transient")];
    assert_eq!(
        value(&after, "switchyard_step_retries_total", &retried),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "switchyard_outbound_requests_total",
            &[("provider", "http"), ("status_class", "5xx")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "switchyard_outbound_requests_total",
            &[("provider", "http"), ("status_class", "2xx")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "switchyard_steps_finished_total",
            &[("kind", "http_request"), ("status", "succeeded")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "switchyard_step_duration_seconds",
            &[("kind", "transform")]
        ),
        1.0
    );
    assert!(value(&after, "switchyard_run_claims_total", &[("kind", "due")]) >= 1.0);

    // Webhook deliveries: one refused for its signature, one accepted.
    let hook = json!({
        "name": "Signed hook",
        "nodes": [
            {"id": "hook", "kind": "webhook_trigger", "config": {"signature": {"scheme": "github", "secret": "gh-secret"}}},
            {"id": "reply", "kind": "transform", "config": {"template": {"ok": true}}}
        ],
        "edges": [{"source": "hook", "target": "reply"}]
    });
    let created: Value = ada.post("/workflows", hook).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let url = created["webhook_url"].as_str().unwrap().to_owned();
    ada.post(&format!("/workflows/{id}/activate"), json!(null))
        .await;
    let unsigned = reqwest::Client::new()
        .post(&url)
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let body = br#"{"a":1}"#;
    let signed = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", github_signature(body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 202);
    let webhooks = scrape(&app).await;
    assert_eq!(
        value(
            &webhooks,
            "switchyard_webhook_requests_total",
            &[("outcome", "401")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &webhooks,
            "switchyard_webhook_requests_total",
            &[("outcome", "accepted")]
        ),
        1.0
    );
    assert_eq!(
        value(&webhooks, "switchyard_webhook_duration_seconds", &[]),
        2.0
    );
}

fn github_signature(body: &[u8]) -> String {
    use ::hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"gh-secret").unwrap();
    mac.update(body);
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={digest}")
}

async fn off_by_default_and_on_their_own_address(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_error(app.get("/metrics").await, 404, "not_found", None).await;
    assert!(app.metrics_url.is_none());

    let Some(app) = spawn_app_with(backend, |config| {
        config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    })
    .await
    else {
        return;
    };
    // The main address still hides them; the metrics address serves them
    // without a token, and nothing else.
    assert_error(app.get("/metrics").await, 404, "not_found", None).await;
    let url = app.metrics_url.clone().expect("a metrics address");
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    let scraped = parse_strictly(&response.text().await.unwrap());
    assert_eq!(value(&scraped, "switchyard_live_streams", &[]), 0.0);
    let elsewhere = reqwest::get(url.replace("/metrics", "/health"))
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);
}
