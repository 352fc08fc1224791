//! Reusable pieces of the interface.

pub mod badge;
pub mod bell;
pub mod field;
pub mod graph;
pub mod nav;
pub mod status_card;
pub mod working;
