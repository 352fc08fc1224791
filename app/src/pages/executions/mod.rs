//! Runs: the live list with filters and dead letters, and one run's detail.

pub mod detail;
pub mod list;
