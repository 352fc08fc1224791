//! Workflows: the list, and the editor with its canvas and live runs.

pub mod editor;
pub mod list;
