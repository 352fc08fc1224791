//! `spawn_app()` and the throw-away databases it runs on.

use std::{path::PathBuf, time::Duration};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use server::{
    config::{Config, LogFormat},
    startup::Application,
};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// Which database a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and what it needs to stay alive.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    _data_dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    _postgres: Option<PostgresDatabase>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the server")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Postgres server used by the tests; override with SWITCHYARD_TEST_POSTGRES_URL.
pub fn postgres_server_url() -> String {
    std::env::var("SWITCHYARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A database created for one test and dropped when the test ends.
pub struct PostgresDatabase {
    pub name: String,
    pub url: String,
}

impl PostgresDatabase {
    /// Creates a fresh database, or `None` when Postgres is unreachable
    /// outside CI (the test is then skipped, loudly). In CI it must work.
    pub async fn create() -> Option<PostgresDatabase> {
        let server = postgres_server_url();
        let admin = match Database::connect(format!("{server}/postgres")).await {
            Ok(admin) => admin,
            Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("SKIPPED: Postgres at {server} is unreachable ({error})");
                return None;
            }
            Err(error) => panic!("Postgres at {server} is unreachable in CI: {error}"),
        };
        let name = format!("switchyard_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("test database is created");
        admin.close().await.ok();
        Some(PostgresDatabase {
            url: format!("{server}/{name}"),
            name,
        })
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let (server, name) = (postgres_server_url(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a separate thread with its own runtime does the work.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin = Database::connect(format!("{server}/postgres"))
                    .await
                    .map_err(std::io::Error::other)?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(std::io::Error::other)?;
                admin.close().await.map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// Settings for a test instance: port 0, a private data directory, quiet logs
/// unless TEST_LOG is set.
pub fn test_config(data_dir: PathBuf, database_url: Option<String>) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url,
        db_max_connections: None,
        data_dir,
        secret_key: None,
        public_url: None,
        log_format: LogFormat::Pretty,
        log: "info".into(),
        site_root: site_root(),
        shutdown_timeout: 5,
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
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PostgresDatabase::create().await?),
    };
    let mut config = test_config(
        data_dir.path().join("data"),
        postgres.as_ref().map(|p| p.url.clone()),
    );
    adjust(&mut config);
    let application = Application::build(config).await.expect("server starts");
    let address = format!("http://{}", application.local_addr());
    let db = application.db().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(application.run_until(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Some(TestApp {
        address,
        client,
        db,
        _data_dir: data_dir,
        stop: Some(stop),
        _postgres: postgres,
    })
}

/// Declares each listed test once per backend: `sqlite::name` and
/// `postgres::name`, each running `name(app)` on a fresh server.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
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
                #[tokio::test]
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
