//! Outbound calls may not reach private addresses unless allowed.

use engine::{EngineConfig, outbound::OutboundPolicy};
use serde_json::json;
use testkit::{Backend, Reply};

use crate::harness::{Harness, http_workflow, test_config};

async fn locked_down() -> Harness {
    let config = EngineConfig {
        outbound: OutboundPolicy::default(),
        ..test_config()
    };
    Harness::start_with(Backend::Sqlite, config).await.unwrap()
}

async fn refusal(h: &Harness, url: &str) -> String {
    let run = h.run(http_workflow(url, json!({})), json!({})).await;
    assert_eq!(run.status, "failed", "{url} should be refused");
    let error = run.error.unwrap();
    assert_eq!(error["class"], "validation", "refusals are never retried");
    error["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn loopback_metadata_and_private_addresses_are_refused() {
    let h = locked_down().await;
    h.server.script("/ok", vec![Reply::json(200, json!({}))]);
    let port = h.server.address.port();
    for url in [
        format!("http://127.0.0.1:{port}/ok"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.7/".to_owned(),
        format!("http://[::1]:{port}/ok"),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
    ] {
        let message = refusal(&h, &url).await;
        assert!(
            message.contains("refused to call") && message.contains("SWITCHYARD_OUTBOUND_ALLOW"),
            "{message}"
        );
    }
    assert!(
        h.server.received("/ok").is_empty(),
        "nothing reached the server"
    );
}

#[tokio::test]
async fn a_host_name_resolving_to_loopback_is_refused() {
    let h = locked_down().await;
    h.server.script("/ok", vec![Reply::json(200, json!({}))]);
    let message = refusal(
        &h,
        &format!("http://localhost:{}/ok", h.server.address.port()),
    )
    .await;
    assert!(message.contains("refused to call localhost"), "{message}");
    assert!(h.server.received("/ok").is_empty());
}

#[tokio::test]
async fn redirects_are_checked_at_every_hop() {
    let h = Harness::start(Backend::Sqlite).await.unwrap();
    h.server.script(
        "/hop",
        vec![Reply::json(302, json!({})).header("Location", "/ok")],
    );
    h.server
        .script("/ok", vec![Reply::json(200, json!({"landed": true}))]);
    h.server.script(
        "/escape",
        vec![Reply::json(302, json!({})).header("Location", "http://10.1.2.3/admin")],
    );
    let allowed = h
        .run(http_workflow(&h.server.url("/hop"), json!({})), json!({}))
        .await;
    assert_eq!(
        allowed.status, "succeeded",
        "redirects within the allowed network are followed"
    );
    assert_eq!(
        h.step(allowed.id, "call").await.output.unwrap()["body"],
        json!({"landed": true})
    );

    let message = refusal(&h, &h.server.url("/escape")).await;
    assert!(message.contains("10.1.2.3"), "{message}");
}
