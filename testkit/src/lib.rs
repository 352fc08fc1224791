//! Test support shared by the crates' integration tests: fresh databases
//! (a SQLite file or a new Postgres database per test, dropped afterwards),
//! scripted HTTP, SMTP and OpenAI-protocol servers on 127.0.0.1, and
//! TypeScript projects compiled and run with Node.js.

pub mod database;
pub mod documents;
pub mod fixtures;
pub mod http;
pub mod json;
pub mod model_server;
pub mod smtp;
pub mod typescript;

pub use database::{Backend, TestDatabase};
pub use documents::{openapi_dir, openapi_document};
pub use http::{Received, Reply, ScriptedServer};
pub use json::same_json;
pub use model_server::{ModelReply, ModelRequest, ModelServer};
pub use smtp::{Mail, SmtpServer};
