//! `spawn_app()`: the real server on port 0 over a fresh database, and
//! clients that act as users of it.

use std::{path::PathBuf, time::Duration};

use reqwest::{Client, Response};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use server::{
    config::{Config, LogFormat},
    startup::Application,
};
pub use testkit::Backend;
use testkit::TestDatabase;
use tokio::sync::oneshot;

/// A running server and what it needs to stay alive.
pub struct TestApp {
    pub address: String,
    /// A client with its own cookie jar: one browser.
    pub client: Client,
    pub db: DatabaseConnection,
    /// `http://…/metrics` of the separate metrics address, when configured.
    pub metrics_url: Option<String>,
    _database: TestDatabase,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A browser-like client: keeps cookies, never follows redirects.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the server")
    }

    /// Settings for another instance on this database and data directory.
    pub fn config(&self) -> Config {
        test_config(
            self._database.dir.path().join("data"),
            self._database.url.clone(),
        )
    }

    /// Stops this server and starts another on the same database, with
    /// its settings changed by `adjust` (another secret key, say).
    pub async fn restart_with(&mut self, adjust: impl FnOnce(&mut Config)) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let mut config = self.config();
        adjust(&mut config);
        let (address, db, stop, metrics_url) = serve(config).await;
        self.address = address;
        self.metrics_url = metrics_url;
        self.db = db;
        self.stop = Some(stop);
    }

    /// A signed-in user with their own cookie jar.
    pub async fn user(&self, email: &str) -> User {
        let client = browser();
        let response = client
            .post(self.url("/api/v1/auth/register"))
            .json(&json!({"email": email, "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let account: Value = response.json().await.unwrap();
        User {
            client,
            base: self.address.clone(),
            id: account["id"].as_str().unwrap().to_owned(),
        }
    }
}

/// A user of the test server, speaking JSON to `/api/v1`.
pub struct User {
    pub client: Client,
    pub base: String,
    pub id: String,
}

impl User {
    /// The same user (same session) on `app`, after a restart.
    pub fn on(&self, app: &TestApp) -> User {
        User {
            client: self.client.clone(),
            base: app.address.clone(),
            id: self.id.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.client
            .put(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).send().await.unwrap()
    }

    /// Creates a workflow and returns its id.
    pub async fn create_workflow(&self, definition: Value) -> String {
        let response = self.post("/workflows", definition).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits until a run has ended and returns it.
    pub async fn finished_run(&self, id: &str) -> Value {
        for _ in 0..600 {
            let run: Value = self
                .get(&format!("/executions/{id}"))
                .await
                .json()
                .await
                .unwrap();
            if matches!(
                run["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("run {id} did not end");
    }
}

/// Asserts an API error: status, code, and (when given) the field named.
pub async fn assert_error(
    response: Response,
    status: u16,
    code: &str,
    field: Option<&str>,
) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    if let Some(field) = field {
        let fields: Vec<&str> = body["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field} not in {fields:?}: {body}");
    }
    body
}

/// A valid workflow: manual trigger → transform → HTTP call to `url`.
pub fn sample_workflow(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "description": "sample",
        "nodes": [
            {"id": "start", "kind": "manual_trigger", "position": {"x": 0, "y": 0}},
            {"id": "shape", "kind": "transform", "config": {"template": {"n": "{{ trigger.n | default(1) }}"}}},
            {"id": "call", "kind": "http_request", "config": {"url": url}}
        ],
        "edges": [{"source": "start", "target": "shape"}, {"source": "shape", "target": "call"}]
    })
}

/// Settings for a test instance: port 0, a private data directory, quiet
/// logs unless TEST_LOG is set, loopback allowed for outbound calls.
pub fn test_config(data_dir: PathBuf, database_url: String) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: Some(database_url),
        db_max_connections: None,
        data_dir,
        secret_key: None,
        previous_secret_keys: Vec::new(),
        public_url: None,
        log_format: LogFormat::Pretty,
        log: "info".into(),
        site_root: site_root(),
        outbound_allow: engine::outbound::OutboundPolicy::parse("127.0.0.1/32").unwrap(),
        trusted_proxies: Default::default(),
        forwarded_header: Default::default(),
        workers: 32,
        intake_target_ms: 2,
        step_output_cap: 1024 * 1024,
        lease_ms: 2_000,
        webhook_body_limit: 1024 * 1024,
        webhook_response_timeout: 10,
        llm_base_url: None,
        llm_api_key: None,
        llm_model: "gpt-4o-mini".into(),
        llm_timeout: 60,
        llm_max_repairs: 2,
        metrics_token: None,
        smtp_url: None,
        smtp_from: None,
        retention_days: 14,
        retention_max_runs: 10_000,
        retention_payload_days: 3,
        retention_dead_letter_days: 90,
        retention_audit_days: 365,
        retention_interval: 600,
        metrics_bind: None,
        shutdown_timeout: 5,
        command: None,
    }
}

/// The built site when there is one (the test script builds it first).
fn site_root() -> PathBuf {
    std::env::var_os("LEPTOS_SITE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site"))
}

/// Starts a server on `backend`; `None` when that backend is unavailable.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    if std::env::var_os("TEST_LOG").is_some() {
        server::telemetry::init(LogFormat::Pretty, "info");
    }
    let database = TestDatabase::create(backend).await?;
    let mut config = test_config(database.dir.path().join("data"), database.url.clone());
    adjust(&mut config);
    let (address, db, stop, metrics_url) = serve(config).await;
    Some(TestApp {
        address,
        client: browser(),
        db,
        metrics_url,
        _database: database,
        stop: Some(stop),
    })
}

/// Builds and runs a server; sending on (or dropping) the sender stops it.
async fn serve(
    config: Config,
) -> (
    String,
    DatabaseConnection,
    oneshot::Sender<()>,
    Option<String>,
) {
    let application = Application::build(config).await.expect("server starts");
    let address = format!("http://{}", application.local_addr());
    let metrics_url = application
        .metrics_addr()
        .map(|addr| format!("http://{addr}/metrics"));
    let db = application.db().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(application.run_until(async move {
        let _ = stopped.await;
    }));
    (address, db, stop, metrics_url)
}

/// Another server on the same database and data directory (so the same
/// secret key), as several instances share one Postgres.
pub struct Instance {
    pub address: String,
    _stop: oneshot::Sender<()>,
}

impl TestApp {
    pub async fn another_instance(&self) -> Instance {
        let config = test_config(
            self._database.dir.path().join("data"),
            self._database.url.clone(),
        );
        let (address, _, stop, _) = serve(config).await;
        Instance {
            address,
            _stop: stop,
        }
    }
}

/// Name of the newest schema migration.
pub fn newest_migration() -> String {
    use migration::MigratorTrait;
    migration::Migrator::migrations()
        .last()
        .map(|m| m.name().to_owned())
        .unwrap_or_default()
}

/// Declares each listed test once per backend: `sqlite::name` and
/// `postgres::name`, each running `name(app)` on a fresh server.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    super::$test(app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await
                    else {
                        return;
                    };
                    super::$test(app).await;
                }
            )+
        }
    };
}
