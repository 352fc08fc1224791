//! Runs: the live list with filters and dead letters, and one run's detail
//! with its graph.

pub mod detail;
pub mod graph;
pub mod list;
