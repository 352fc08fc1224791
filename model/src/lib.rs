//! Switchyard's workflow model: the public JSON format of a workflow, its
//! lifecycle, the catalogue of node kinds, expressions and validation.
//!
//! Compiled for the server and for the browser, so that the editor
//! validates live with exactly the code the server enforces.

pub mod ai;
pub mod alerts;
pub mod catalogue;
pub mod definition;
pub mod expr;
pub mod graph;
pub mod layout;
pub mod patch;
pub mod status;
pub mod templates;
pub mod validate;
pub mod workflow_import;

pub use catalogue::{Catalogue, Category, FieldSpec, FieldType, KindSpec, OutputField, Ports};
pub use definition::{
    Edge, Node, OnError, Position, RetryPolicy, WorkflowDefinition, WorkflowSettings,
};
pub use status::{ExecutionStatus, StepStatus, WorkflowStatus};
pub use validate::{Problem, Severity, validate};
