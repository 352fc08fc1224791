//! SeaORM entities: the rows Switchyard stores, one module per table.

pub mod user;
pub mod workflow;
