//! The built-in catalogue, as the server gives it to the planner.

use planner::{Catalog, ProviderInfo};

pub fn builtin_catalog() -> Catalog {
    let providers = engine::providers::builtin()
        .iter()
        .map(|p| ProviderInfo {
            id: p.id.to_string(),
            name: p.name.to_string(),
            category: p.category.to_string(),
            synonyms: p.synonyms.iter().map(|s| s.to_string()).collect(),
        })
        .collect();
    Catalog::new(providers, engine::Registry::builtin().catalogue().clone())
}
