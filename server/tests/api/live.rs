//! Live event streams over server-sent events: a run's events as they
//! happen, a user's stream across runs, resuming after `Last-Event-ID`
//! without gaps or duplicates, and owner-only access.

use reqwest::Response;
use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, User, assert_error, sample_workflow},
    on_both_backends,
};

on_both_backends!(
    a_run_streams_its_events_and_resumes_after_the_last_seen,
    the_user_stream_follows_new_runs_and_only_the_users_own,
    item14_open_streams_per_user_are_limited
);

/// One server-sent event: its id and its JSON data.
#[derive(Debug)]
struct Received {
    id: i64,
    data: Value,
}

/// Reads a `text/event-stream` response event by event.
struct EventReader {
    response: Response,
    buffer: String,
}

impl EventReader {
    async fn open(user: &User, path: &str, last_event_id: Option<i64>) -> EventReader {
        let mut request = user.client.get(user.url(path));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        EventReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next event with data (comments and keep-alives are skipped).
    async fn next(&mut self) -> Received {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("id:") {
                        id = Some(value.trim().parse().unwrap());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if let Some(id) = id {
                    return Received {
                        id,
                        data: serde_json::from_str(&data).unwrap(),
                    };
                }
            }
            let chunk = self
                .response
                .chunk()
                .await
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Events up to and including the first of `kind` for `execution`.
    async fn until(&mut self, execution: &str, kind: &str) -> Vec<Received> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let done = event.data["execution_id"] == execution && event.data["kind"] == kind;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

async fn start_run(user: &User, workflow: &str) -> String {
    let started: Value = user
        .post(&format!("/workflows/{workflow}/execute"), json!({"n": 2}))
        .await
        .json()
        .await
        .unwrap();
    started["execution_id"].as_str().unwrap().to_owned()
}

fn kinds(events: &[Received]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e.data["kind"].as_str().unwrap())
        .collect()
}

async fn a_run_streams_its_events_and_resumes_after_the_last_seen(app: TestApp) {
    let server = ScriptedServer::start().await;
    server.script(
        "/hook",
        vec![
            Reply::json(400, json!({"error": "not yet"})),
            Reply::json(200, json!({"ok": true})),
        ],
    );
    let ada = app.user("ada@example.com").await;
    let workflow = ada
        .create_workflow(sample_workflow("Streamed", &server.url("/hook")))
        .await;
    let run = start_run(&ada, &workflow).await;

    let mut stream = EventReader::open(&ada, &format!("/executions/{run}/events"), None).await;
    let events = stream.until(&run, "execution.failed").await;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as i64).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let kinds = kinds(&events);
    assert_eq!(kinds.first(), Some(&"execution.queued"));
    for step in ["start", "shape"] {
        assert!(
            events
                .iter()
                .any(|e| e.data["kind"] == "step.succeeded" && e.data["data"]["node_id"] == step),
            "{step} succeeded in {kinds:?}"
        );
    }
    let failed = events
        .iter()
        .find(|e| e.data["kind"] == "step.failed")
        .unwrap();
    assert_eq!(failed.data["data"]["node_id"], "call", "{:?}", failed.data);

    // A reconnect after the third event gets exactly the rest.
    let mut resumed = EventReader::open(&ada, &format!("/executions/{run}/events"), Some(3)).await;
    let rest = resumed.until(&run, "execution.failed").await;
    assert_eq!(
        rest.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[3..].to_vec()
    );

    // Running it again streams on, after what was already seen.
    let retried = ada
        .post(&format!("/executions/{run}/retry"), json!({}))
        .await;
    assert_eq!(retried.status(), 202, "{}", retried.text().await.unwrap());
    let again = stream.until(&run, "execution.succeeded").await;
    assert_eq!(again[0].id, *ids.last().unwrap() + 1, "no gap, no repeat");
    let call = again
        .iter()
        .find(|e| e.data["kind"] == "step.succeeded" && e.data["data"]["node_id"] == "call")
        .expect("the failed step ran again");
    assert_eq!(
        call.data["data"]["output"]["body"],
        json!({"ok": true}),
        "{:?}",
        call.data
    );

    let bad = ada
        .client
        .get(ada.url(&format!("/executions/{run}/events")))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_error(bad, 400, "bad_request", None).await;
    let anonymous = app.get(&format!("/api/v1/executions/{run}/events")).await;
    assert_error(anonymous, 401, "unauthorized", None).await;
}

async fn the_user_stream_follows_new_runs_and_only_the_users_own(app: TestApp) {
    let server = ScriptedServer::start().await;
    server.script("/hook", vec![Reply::json(200, json!({}))]);
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let adas = ada
        .create_workflow(sample_workflow("Ada's", &server.url("/hook")))
        .await;
    let bobs = bob
        .create_workflow(sample_workflow("Bob's", &server.url("/hook")))
        .await;

    let mut bob_stream = EventReader::open(&bob, "/stream", None).await;
    let mut ada_stream = EventReader::open(&ada, "/stream", None).await;
    let first = start_run(&ada, &adas).await;
    let events = ada_stream.until(&first, "execution.succeeded").await;
    assert_eq!(events[0].data["kind"], "execution.queued");
    assert_eq!(events[0].data["data"]["workflow_id"], adas.as_str());
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "log order");
    assert!(
        events
            .iter()
            .all(|e| e.data["execution_id"] == first.as_str())
    );

    // Bob's stream never shows Ada's run: his own run is the first he sees.
    let his = start_run(&bob, &bobs).await;
    let seen = bob_stream.until(&his, "execution.succeeded").await;
    assert!(
        seen.iter().all(|e| e.data["execution_id"] == his.as_str()),
        "{seen:?}"
    );
    assert_error(
        bob.get(&format!("/executions/{first}/events")).await,
        404,
        "not_found",
        None,
    )
    .await;

    // Resuming after Ada's second event replays the rest of that run and
    // goes on live with the next one, without repeats.
    let second = start_run(&ada, &adas).await;
    let mut resumed = EventReader::open(&ada, "/stream", Some(events[1].id)).await;
    let replayed = resumed.until(&second, "execution.succeeded").await;
    let expected: Vec<i64> = events[2..].iter().map(|e| e.id).collect();
    assert_eq!(
        replayed
            .iter()
            .map(|e| e.id)
            .take(expected.len())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(replayed.windows(2).all(|w| w[0].id < w[1].id));
    assert!(
        replayed[expected.len()..]
            .iter()
            .all(|e| e.data["execution_id"] == second.as_str())
    );
}

/// An account holds at most 16 streams at once: the 17th is refused with
/// 429 and a JSON error, another account is not affected, and closing a
/// stream frees its slot.
async fn item14_open_streams_per_user_are_limited(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let mut open = Vec::new();
    for _ in 0..16 {
        open.push(EventReader::open(&ada, "/stream", None).await);
    }
    assert_error(ada.get("/stream").await, 429, "too_many_requests", None).await;
    let _bobs = EventReader::open(&bob, "/stream", None).await;

    // The slot is free once the server has seen the connection close.
    drop(open.pop());
    let mut reopened = None;
    for _ in 0..400 {
        let response = ada.get("/stream").await;
        if response.status() == 200 {
            reopened = Some(response);
            break;
        }
        assert_eq!(response.status(), 429);
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(reopened.is_some(), "closing a stream frees its slot");
    assert_error(ada.get("/stream").await, 429, "too_many_requests", None).await;
}
