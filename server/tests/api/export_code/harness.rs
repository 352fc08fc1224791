//! Running one workflow twice, in Switchyard and as its exported
//! TypeScript project (type-checked with tsc, run with Node against the same
//! local stand-ins), and comparing what each did: the requests the
//! providers received, the e-mails sent, and every step's status, port and
//! output.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use testkit::{Received, same_json, typescript::node_modules};

use crate::{helpers::User, templates::Fakes};

/// What one side of the comparison did.
#[derive(Debug)]
pub struct Side {
    pub requests: Vec<Value>,
    pub mails: Vec<Value>,
    /// `node_id[#item]` → `{status, port, output, error}`.
    pub steps: Vec<(String, Value)>,
    pub status: String,
}

/// Headers both sides' HTTP clients set on their own.
const TRANSPORT_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "user-agent",
    "accept-encoding",
    "accept-language",
    "sec-fetch-mode",
    "connection",
];

/// A request as compared: the run's id written as `<run>` (it is in
/// idempotency keys), JSON bodies parsed.
fn request(received: &Received, run: &str) -> Value {
    let mut headers = serde_json::Map::new();
    for (name, value) in &received.headers {
        if TRANSPORT_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).replace(run, "<run>");
        headers.insert(name.as_str().to_owned(), json!(value));
    }
    let text = String::from_utf8_lossy(&received.body).replace(run, "<run>");
    let is_json = headers
        .get("content-type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.contains("json"));
    let body = if is_json {
        serde_json::from_str(&text).unwrap_or(json!(text))
    } else {
        json!(text)
    };
    json!({"method": received.method, "path": received.path, "query": received.query, "headers": headers, "body": body})
}

/// Mails as the SMTP server got them: envelope, and the headers and text
/// that do not change between two sends (not Date or Message-ID).
fn mail(mail: &testkit::Mail) -> Value {
    let (head, body) = mail.data.split_once("\r\n\r\n").unwrap_or((&mail.data, ""));
    let mut kept: Vec<String> = head
        .split("\r\n")
        .filter(|line| {
            let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            ["from", "to", "cc", "subject", "reply-to"].contains(&name.as_str())
        })
        .map(str::to_owned)
        .collect();
    kept.sort();
    json!({"login": mail.login, "from": mail.from, "to": mail.to, "headers": kept, "has_body": !body.trim().is_empty()})
}

/// Response headers that differ between two calls.
fn normalize_output(value: &mut Value, run: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(headers)) = map.get_mut("headers") {
                headers.remove("date");
            }
            if map.contains_key("waited_until") {
                map.insert("waited_until".into(), json!("<time>"));
            }
            map.values_mut().for_each(|v| normalize_output(v, run));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| normalize_output(v, run)),
        Value::String(text) if text.contains(run) => *text = text.replace(run, "<run>"),
        _ => {}
    }
}

fn step_entry(
    id: &str,
    item: &str,
    status: &Value,
    port: &Value,
    output: &Value,
    error: &Value,
    run: &str,
) -> (String, Value) {
    let mut output = output.clone();
    normalize_output(&mut output, run);
    // Errors are compared by class, status and message; their details
    // (response excerpts) are compared through the outputs that carry them.
    let error = if error.is_null() {
        Value::Null
    } else {
        json!({"class": error["class"], "status": error.get("status"), "message": error["message"]})
    };
    let key = if item.is_empty() {
        id.to_owned()
    } else {
        format!("{id}#{item}")
    };
    (
        key,
        json!({"status": status, "port": port, "output": output, "error": error}),
    )
}

/// Runs the workflow in Switchyard on `input` and records what it did.
pub async fn run_in_switchyard(user: &User, fakes: &Fakes, workflow: &str, input: &Value) -> Side {
    let (requests_before, mails_before) =
        (fakes.remote.all_received().len(), fakes.mail.mails().len());
    let started = user
        .post(&format!("/workflows/{workflow}/execute"), input.clone())
        .await;
    assert_eq!(started.status(), 202, "{}", started.text().await.unwrap());
    let started: Value = started.json().await.unwrap();
    let id = started["execution_id"].as_str().unwrap().to_owned();
    let run = user.finished_run(&id).await;
    let steps: Value = user
        .get(&format!("/executions/{id}/steps?limit=200"))
        .await
        .json()
        .await
        .unwrap();
    assert!(steps["next_cursor"].is_null(), "a corpus run fits one page");
    let list = steps["items"].as_array().cloned().unwrap_or_default();
    Side {
        requests: fakes.remote.all_received()[requests_before..]
            .iter()
            .map(|r| request(r, &id))
            .collect(),
        mails: fakes.mail.mails()[mails_before..]
            .iter()
            .map(mail)
            .collect(),
        steps: list
            .iter()
            .map(|s| {
                step_entry(
                    s["node_id"].as_str().unwrap(),
                    s["item"].as_str().unwrap_or(""),
                    &s["status"],
                    &s["port"],
                    &s["output"],
                    &s["error"],
                    &id,
                )
            })
            .collect(),
        status: run["status"].as_str().unwrap().to_owned(),
    }
}

/// Fetches the export and writes the project to `dir`.
pub async fn export_to(user: &User, workflow: &str, dir: &Path) -> Value {
    let response = user
        .get(&format!("/workflows/{workflow}/export/typescript"))
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let project: Value = response.json().await.unwrap();
    for file in project["files"].as_array().unwrap() {
        let path = dir.join(file["path"].as_str().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file["contents"].as_str().unwrap()).unwrap();
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(node_modules(), dir.join("node_modules")).unwrap();
    project
}

/// Builds the project with its own `npm run build` (tsc), as its README says.
pub fn build(dir: &Path) {
    testkit::typescript::compile(dir);
}

/// The variables of the connections `connect_all` made, for the export.
pub fn env_for(fakes: &Fakes, providers: &[&str]) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for provider in providers {
        let prefix = domain::export::connections::env_name(&format!("{provider} (test)"));
        for (field, value) in fakes.fields(provider).as_object().unwrap() {
            let value = value.as_str().map_or(value.to_string(), str::to_owned);
            env.push((format!("{prefix}_{}", field.to_ascii_uppercase()), value));
        }
    }
    env
}

/// Runs the built project once on `input` (`node dist/main.js run`).
pub async fn run_exported(
    fakes: &Fakes,
    dir: &Path,
    env: &[(String, String)],
    input: &Value,
) -> Side {
    let (requests_before, mails_before) =
        (fakes.remote.all_received().len(), fakes.mail.mails().len());
    std::fs::write(dir.join("input.json"), input.to_string()).unwrap();
    let mut command = tokio::process::Command::new("node");
    command
        .arg("dist/main.js")
        .arg("run")
        .arg("input.json")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().await.expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| {
            panic!(
                "the exported run printed no result ({e}):\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let run = result["executionId"].as_str().unwrap().to_owned();
    Side {
        requests: fakes.remote.all_received()[requests_before..]
            .iter()
            .map(|r| request(r, &run))
            .collect(),
        mails: fakes.mail.mails()[mails_before..]
            .iter()
            .map(mail)
            .collect(),
        steps: result["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                step_entry(
                    s["node"].as_str().unwrap(),
                    s["item"].as_str().unwrap(),
                    &s["status"],
                    &s["port"],
                    &s["output"],
                    &s["error"],
                    &run,
                )
            })
            .collect(),
        status: result["status"].as_str().unwrap().to_owned(),
    }
}

fn sorted(values: &[Value]) -> Vec<Value> {
    let mut out = values.to_vec();
    out.sort_by_key(|v| v.to_string());
    out
}

/// Asserts both sides did the same, naming the first difference.
pub fn assert_same(name: &str, switchyard: &Side, exported: &Side) {
    assert_eq!(
        switchyard.status, exported.status,
        "{name}: run status\nSwitchyard: {:#?}\nexported: {:#?}",
        switchyard.steps, exported.steps
    );
    let (a, b) = (sorted(&switchyard.requests), sorted(&exported.requests));
    assert_eq!(
        a.len(),
        b.len(),
        "{name}: requests\nSwitchyard: {a:#?}\nexported: {b:#?}"
    );
    for (x, y) in a.iter().zip(&b) {
        assert!(
            same_json(x, y),
            "{name}: a request differs\nSwitchyard: {x:#}\nexported:   {y:#}"
        );
    }
    assert_eq!(
        sorted(&switchyard.mails),
        sorted(&exported.mails),
        "{name}: e-mails"
    );
    let mut a = switchyard.steps.clone();
    let mut b = exported.steps.clone();
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    let keys = |s: &[(String, Value)]| s.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&a), keys(&b), "{name}: the steps that ran");
    for ((key, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            same_json(x, y),
            "{name}: step `{key}` differs\nSwitchyard: {x:#}\nexported:   {y:#}"
        );
    }
}

/// A fresh directory for one exported project.
pub fn project_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-export-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
