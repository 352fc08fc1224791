//! Workflows: the list, and the editor with its canvas and live runs.

mod describe;
pub mod editor;
mod import;
pub mod list;
