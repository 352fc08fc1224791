//! Test support shared by the crates' integration tests: fresh databases
//! (a SQLite file or a new Postgres database per test, dropped afterwards)
//! and scripted HTTP servers on 127.0.0.1.

pub mod database;
pub mod http;

pub use database::{Backend, TestDatabase};
pub use http::{Received, Reply, ScriptedServer};
