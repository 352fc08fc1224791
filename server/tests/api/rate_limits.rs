//! Provider rate limits: a burst of runs waits its turn at the
//! connection's limit instead of drawing 429s, and a 429's `Retry-After`
//! is honoured.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use serde_json::{Value, json};

use crate::helpers::{Backend, User, spawn_app};

/// A Stripe stand-in that allows `per_window` requests in any second and
/// answers 429 (with `Retry-After`, when `retry_after` is set) beyond it,
/// recording when each request came.
#[derive(Clone)]
struct Limited {
    times: Arc<Mutex<Vec<(Instant, u16)>>>,
    per_window: usize,
    refuse_first: bool,
}

async fn customers(State(fake): State<Limited>) -> impl IntoResponse {
    let now = Instant::now();
    let mut times = fake.times.lock().unwrap();
    let recent = times
        .iter()
        .filter(|(at, status)| *status == 200 && now.duration_since(*at) < Duration::from_secs(1))
        .count();
    let status = if (fake.refuse_first && times.is_empty()) || recent >= fake.per_window {
        429
    } else {
        200
    };
    times.push((now, status));
    let mut response = (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"id": format!("cus_{}", times.len())})),
    )
        .into_response();
    if status == 429 {
        response
            .headers_mut()
            .insert("retry-after", "2".parse().unwrap());
    }
    response
}

async fn start(fake: Limited) -> String {
    let app = Router::new()
        .route("/v1/customers", post(customers))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

fn customer_step(run: &Value) -> &Value {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["node_id"] == "customer")
        .unwrap()
}

async fn customer_workflow(user: &User, base_url: &str, limit: Value) -> String {
    let mut fields = json!({"secret_key": "sk_test_limits", "base_url": base_url});
    if let Value::Object(extra) = limit {
        fields.as_object_mut().unwrap().extend(extra);
    }
    let connection: Value = user
        .post(
            "/connections",
            json!({"name": "Stripe", "kind": "stripe", "fields": fields}),
        )
        .await
        .json()
        .await
        .unwrap();
    user.create_workflow(json!({
        "name": "Burst",
        "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "customer", "kind": "stripe.create_customer", "config": {"connection": connection["id"], "email": "{{ trigger.email }}"}}
        ],
        "edges": [{"source": "start", "target": "customer"}]
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_runs_wait_their_turn_at_twenty_per_second() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let ada = app.user("ada@example.com").await;
    // The fake tolerates the limit's burst of 20 plus 20 a second, and one
    // more for timing at the window's edge; anything faster draws a 429.
    let fake = Limited {
        times: Arc::default(),
        per_window: 41,
        refuse_first: false,
    };
    let base = start(fake.clone()).await;
    let workflow = customer_workflow(
        &ada,
        &base,
        json!({"rate_per_second": "20", "rate_burst": "20"}),
    )
    .await;
    let mut ids = Vec::new();
    let path = format!("/workflows/{workflow}/execute");
    for chunk in (0..200).collect::<Vec<_>>().chunks(25) {
        let starts = chunk
            .iter()
            .map(|i| ada.post(&path, json!({"email": format!("c{i}@example.com")})));
        for started in futures_util::future::join_all(starts).await {
            assert_eq!(started.status(), 202);
            ids.push(
                started.json::<Value>().await.unwrap()["execution_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    for id in &ids {
        let run = ada.finished_run(id).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(
            customer_step(&run)["attempts"],
            1,
            "waiting for a slot is not an attempt: {run}"
        );
    }
    let times = fake.times.lock().unwrap().clone();
    assert_eq!(times.len(), 200, "one request per run");
    assert!(
        times.iter().all(|(_, status)| *status == 200),
        "no request drew a 429"
    );
    let span = times.last().unwrap().0.duration_since(times[0].0);
    // (200 − a burst of 20) requests at 20 a second.
    assert!(
        span >= Duration::from_millis(8_900),
        "the requests took {span:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_the_wait_it_asks_for() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let ada = app.user("ada@example.com").await;
    let fake = Limited {
        times: Arc::default(),
        per_window: 1_000,
        refuse_first: true,
    };
    let base = start(fake.clone()).await;
    let workflow = customer_workflow(&ada, &base, json!({})).await;
    let started: Value = ada
        .post(
            &format!("/workflows/{workflow}/execute"),
            json!({"email": "a@example.com"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let run = ada
        .finished_run(started["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(customer_step(&run)["attempts"], 2, "{run}");
    let times = fake.times.lock().unwrap().clone();
    assert_eq!(
        times.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [429, 200]
    );
    let waited = times[1].0.duration_since(times[0].0);
    assert!(
        waited >= Duration::from_secs(2),
        "retried after {waited:?}, before Retry-After's 2 s"
    );
}
