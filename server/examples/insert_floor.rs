//! The floor for the webhook benchmark: a bare axum handler that stores
//! each request body with one INSERT and answers after its commit.
//!
//! DATABASE_URL=postgres://… cargo run --release -p server --example insert_floor -- 127.0.0.1:3901

use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3901".into());
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let mut options = sea_orm::ConnectOptions::new(url);
    options.max_connections(32).sqlx_logging(false);
    let db = Database::connect(options).await.expect("database");
    db.execute_unprepared("CREATE TABLE IF NOT EXISTS floor_requests (id BIGSERIAL PRIMARY KEY, body JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        .await
        .expect("table");
    let app = Router::new().route("/", post(store)).with_state(db);
    let listener = tokio::net::TcpListener::bind(&address).await.expect("bind");
    println!("floor listening on http://{address}");
    axum::serve(listener, app).await.expect("serve");
}

async fn store(State(db): State<DatabaseConnection>, body: Bytes) -> StatusCode {
    let text = String::from_utf8_lossy(&body).into_owned();
    let insert = Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO floor_requests (body) VALUES (CAST($1 AS jsonb))",
        [text.into()],
    );
    match db.execute_raw(insert).await {
        Ok(_) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
