//! The `server` binary as an operator runs it: flags, bad settings, first
//! start, and shutdown on SIGTERM.

use std::{os::unix::fs::PermissionsExt, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::Command,
};

use crate::server_process::{RunningServer, SERVER};

/// Runs the binary to completion with a clean environment plus `envs`.
async fn run_to_end(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(SERVER)
        .args(args)
        .env_clear()
        .env("SWITCHYARD_DATA_DIR", data.path())
        .envs(envs.iter().copied())
        .output()
        .await
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn help_lists_every_setting() {
    let (code, stdout, _) = run_to_end(&["--help"], &[]).await;
    assert_eq!(code, 0);
    for env in [
        "SWITCHYARD_BIND",
        "DATABASE_URL",
        "SWITCHYARD_DATA_DIR",
        "SWITCHYARD_SECRET_KEY",
        "SWITCHYARD_PUBLIC_URL",
        "SWITCHYARD_LOG_FORMAT",
        "SWITCHYARD_LOG",
        "SWITCHYARD_DB_MAX_CONNECTIONS",
        "LEPTOS_SITE_ROOT",
        "SWITCHYARD_SHUTDOWN_TIMEOUT",
    ] {
        assert!(stdout.contains(env), "--help does not mention {env}");
    }
}

#[tokio::test]
async fn a_bad_setting_fails_with_one_line() {
    let (code, stdout, stderr) = run_to_end(&[], &[("SWITCHYARD_BIND", "not-an-address")]).await;
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("SWITCHYARD_BIND"), "{stderr}");

    let (code, _, stderr) = run_to_end(&[], &[("SWITCHYARD_SECRET_KEY", "too-short")]).await;
    assert_eq!(code, 2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("SWITCHYARD_SECRET_KEY") && !stderr.contains("too-short"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_unreachable_database_fails_with_one_line_and_no_password() {
    let (code, _, stderr) = run_to_end(
        &[],
        &[
            (
                "DATABASE_URL",
                "postgres://app:hunter2@127.0.0.1:1/switchyard",
            ),
            ("SWITCHYARD_LOG", "off"),
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(
        !stderr.contains("hunter2") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[tokio::test]
async fn first_start_creates_the_data_directory_and_a_private_key() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    let server = RunningServer::start(&data_dir, false, &[]).await;
    let health = reqwest::get(format!("{}/health", server.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    assert!(data_dir.join("switchyard.db").exists());
    let key_file = data_dir.join("secret.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();

    server.signal("-TERM");
    let (code, logs) = server.wait().await;
    assert_eq!(code, 0, "{logs}");
    assert!(!logs.contains(key.trim()), "the key is never logged");

    let again = RunningServer::start(&data_dir, false, &[]).await;
    again.signal("-INT");
    assert_eq!(again.wait().await.0, 0);
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        key,
        "the key survives restarts"
    );
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish() {
    let root = tempfile::tempdir().unwrap();
    let server = RunningServer::start(root.path(), true, &[]).await;
    let host = server.address.trim_start_matches("http://").to_owned();

    // A request whose body is still arriving when the signal comes.
    let mut stream = TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /api/system_status HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nConnection: close\r\n\r\nx="
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal("-TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(b"yz").await.unwrap();

    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("x-request-id:"),
        "{response}"
    );

    let (code, logs) = server.wait().await;
    assert_eq!(code, 0);
    let request_log = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["message"] == "finished")
        .expect("the request is logged as JSON");
    assert_eq!(request_log["span"]["path"], "/api/system_status");
    assert!(request_log["span"]["request_id"].is_string());
    assert!(logs.contains("shutting down"));
}

#[tokio::test]
async fn sigterm_ends_live_streams_so_shutdown_need_not_wait() {
    let root = tempfile::tempdir().unwrap();
    let server = RunningServer::start(root.path(), true, &[]).await;
    let browser = crate::helpers::browser();
    let registered = browser
        .post(format!("{}/api/v1/auth/register", server.address))
        .json(&serde_json::json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let mut stream = browser
        .get(format!("{}/api/v1/stream", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let opening = stream.chunk().await.unwrap().expect("the stream opens");
    assert!(String::from_utf8_lossy(&opening).contains("retry:"));

    server.signal("-TERM");
    while stream.chunk().await.unwrap().is_some() {}

    let (code, logs) = server.wait().await;
    assert_eq!(code, 0);
    assert!(!logs.contains("grace period over"), "{logs}");
}

#[tokio::test]
async fn json_logs_about_a_run_name_its_workflow_execution_and_node() {
    let provider = testkit::ScriptedServer::start().await;
    provider.script(
        "/refuses",
        vec![testkit::Reply::json(
            400,
            serde_json::json!({"error": "no"}),
        )],
    );
    let root = tempfile::tempdir().unwrap();
    let server = RunningServer::start(
        root.path(),
        true,
        &[("SWITCHYARD_OUTBOUND_ALLOW", "127.0.0.1/32")],
    )
    .await;
    let ada = crate::helpers::User {
        client: crate::helpers::browser(),
        base: server.address.clone(),
        id: String::new(),
    };
    let registered = ada
        .post(
            "/auth/register",
            serde_json::json!({"email": "ada@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(registered.status(), 201);
    let workflow = ada
        .create_workflow(crate::helpers::sample_workflow(
            "Refused",
            &provider.url("/refuses"),
        ))
        .await;
    let started: serde_json::Value = ada
        .post(
            &format!("/workflows/{workflow}/execute"),
            serde_json::json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let execution = started["execution_id"].as_str().unwrap().to_owned();
    assert_eq!(ada.finished_run(&execution).await["status"], "failed");

    // The line is written as the run ends, just after the API can see it.
    let mut line = None;
    for _ in 0..100 {
        line = server
            .logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|entry| entry["message"] == "run failed");
        if line.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let line = line.expect("the failed run is logged");
    assert_eq!(line["node_id"], "call");
    assert_eq!(line["error_class"], "validation");
    let run_span = line["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|span| span["name"] == "execution")
        .expect("the line is inside the run's span");
    assert_eq!(run_span["execution_id"], execution.as_str());
    assert_eq!(run_span["workflow_id"], workflow.as_str());
}
