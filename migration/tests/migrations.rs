//! Every migration goes up and comes back down on both backends, and the
//! queue's claim query reads its partial index instead of the backlog.

use migration::{Migrator, MigratorTrait, database};
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use testkit::{Backend, TestDatabase};

async fn tables(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        sea_orm_migration::sea_orm::DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        _ => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        }
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect()
}

async fn up_down_up(backend: Backend) {
    let Some(test_db) = TestDatabase::create(backend).await else {
        return;
    };
    let db = database::connect(&test_db.url, None).await.unwrap();
    database::migrate(&db).await.unwrap();
    let created = tables(&db).await;
    assert!(created.contains(&"executions".to_owned()), "{created:?}");

    Migrator::down(&db, None).await.unwrap();
    assert_eq!(tables(&db).await, vec!["seaql_migrations".to_owned()]);

    Migrator::up(&db, None).await.unwrap();
    assert_eq!(tables(&db).await, created);
}

/// What Postgres plans for the worker's claim: the partial index, in
/// order, however long the queue (no sort of every queued run).
async fn claims_read_the_due_index() {
    let Some(test_db) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let db = database::connect(&test_db.url, None).await.unwrap();
    database::migrate(&db).await.unwrap();
    let plan = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "EXPLAIN SELECT id FROM executions WHERE status IN ('queued', 'waiting') AND run_after <= 1 \
             ORDER BY run_after LIMIT 64 FOR UPDATE SKIP LOCKED",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "QUERY PLAN").unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plan.contains("idx_executions_due"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");
}

mod sqlite {
    #[tokio::test]
    async fn every_migration_goes_down_and_up_again() {
        super::up_down_up(testkit::Backend::Sqlite).await;
    }
}

mod postgres {
    #[tokio::test]
    async fn every_migration_goes_down_and_up_again() {
        super::up_down_up(testkit::Backend::Postgres).await;
    }

    #[tokio::test]
    async fn claims_read_the_due_index() {
        super::claims_read_the_due_index().await;
    }
}
