//! Export as code: a workflow as a standalone TypeScript project. This
//! part translates expressions; its runtime is `runtime/expressions.ts`,
//! copied into every exported project.

pub mod expression;

/// The runtime the translated expressions call (`import * as x`).
pub const EXPRESSIONS_RUNTIME: &str = include_str!("runtime/expressions.ts");
