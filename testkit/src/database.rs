//! Throw-away databases. Postgres comes from SWITCHYARD_TEST_POSTGRES_URL
//! (default `postgres://postgres@127.0.0.1:5432`); outside CI an unreachable
//! Postgres skips the test with a notice, in CI (`CI=true`) it fails it.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tempfile::TempDir;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The Postgres server tests create their databases on.
pub fn postgres_server_url() -> String {
    std::env::var("SWITCHYARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    /// Holds the SQLite file's directory (and a data directory for servers).
    pub dir: TempDir,
    postgres_name: Option<String>,
}

impl TestDatabase {
    /// A fresh, empty database; `None` when Postgres is unreachable outside CI.
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Some(TestDatabase {
                    url,
                    backend,
                    dir,
                    postgres_name: None,
                })
            }
            Backend::Postgres => {
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
                Some(TestDatabase {
                    url: format!("{server}/{name}"),
                    backend,
                    dir,
                    postgres_name: Some(name),
                })
            }
        }
    }

    /// Connects with the server's settings and applies every migration.
    pub async fn connect_migrated(&self, max_connections: Option<u32>) -> DatabaseConnection {
        let db = migration::database::connect(&self.url, max_connections)
            .await
            .expect("test database opens");
        migration::database::migrate(&db)
            .await
            .expect("migrations apply");
        db
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        let server = postgres_server_url();
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a thread with its own runtime does the work.
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
            eprintln!("warning: could not drop a test database");
        }
    }
}

/// Creates a user and a workflow owned by them (the rows runs refer to);
/// returns `(owner_id, workflow_id)`.
pub async fn seed_workflow(
    db: &DatabaseConnection,
    definition: &serde_json::Value,
) -> (uuid::Uuid, uuid::Uuid) {
    use sea_orm::sea_query::{Alias, Query};
    let (owner, workflow) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let now = chrono_like_now();
    let users = Query::insert()
        .into_table(Alias::new("users"))
        .columns(["id", "email", "password_hash", "created_at", "updated_at"].map(Alias::new))
        .values_panic([
            owner.into(),
            format!("{owner}@example.com").into(),
            "-".into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    db.execute(&users).await.expect("user is created");
    let name = definition
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("test")
        .to_owned();
    let workflows = Query::insert()
        .into_table(Alias::new("workflows"))
        .columns(
            [
                "id",
                "owner_id",
                "name",
                "description",
                "status",
                "version",
                "definition",
                "created_at",
                "updated_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            workflow.into(),
            owner.into(),
            name.into(),
            "".into(),
            "active".into(),
            1.into(),
            definition.clone().into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    db.execute(&workflows).await.expect("workflow is created");
    let version = Query::insert()
        .into_table(Alias::new("workflow_versions"))
        .columns(
            [
                "workflow_id",
                "version",
                "definition",
                "created_by",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            workflow.into(),
            1.into(),
            definition.clone().into(),
            owner.into(),
            now.into(),
        ])
        .to_owned();
    db.execute(&version)
        .await
        .expect("workflow version is saved");
    (owner, workflow)
}

/// The current time as the timestamp type the entity columns use.
fn chrono_like_now() -> sea_orm::prelude::DateTimeUtc {
    sea_orm::prelude::DateTimeUtc::from(std::time::SystemTime::now())
}
