//! The engine against real databases (a SQLite file and a fresh Postgres
//! database per test) and real HTTP servers on 127.0.0.1.

mod harness;

mod cancel;
mod hardening;
mod instances;
mod retries;
mod runs;
mod ssrf;
mod waits;
