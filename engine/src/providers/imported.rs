//! The node kinds of APIs users imported from OpenAPI documents. Each
//! account sees the built-in kinds and its own imports; the set is read
//! from `imported_apis` and kept per account until an import changes it
//! (a cheap query on the ids and revisions tells, so every instance on a
//! shared database sees a re-import on its next look).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use uuid::Uuid;

use super::openapi::ApiDescription;
use crate::{
    nodes::Registry,
    store::{get, sql::Sql},
};

/// Accounts whose kinds are kept at once.
const CACHED_ACCOUNTS: usize = 1_000;

/// Registries of built-in plus imported kinds, by account.
#[derive(Default)]
pub struct ImportedKinds {
    cache: Mutex<HashMap<Uuid, (String, Arc<Registry>)>>,
}

impl ImportedKinds {
    /// The kinds `owner` can use: `builtin` when there are no imports.
    pub async fn for_owner(
        &self,
        db: &DatabaseConnection,
        builtin: &Arc<Registry>,
        owner: Uuid,
    ) -> Result<Arc<Registry>, DbErr> {
        let stamp = stamp(db, owner).await?;
        if stamp.is_empty() {
            return Ok(builtin.clone());
        }
        if let Some((seen, registry)) = self.cache.lock().expect("imported kinds").get(&owner)
            && *seen == stamp
        {
            return Ok(registry.clone());
        }
        let apis = descriptions(db, owner).await?;
        let mut registry = (**builtin).clone();
        super::register(
            &mut registry,
            apis.iter().map(ApiDescription::provider).collect(),
        );
        let registry = Arc::new(registry);
        let mut cache = self.cache.lock().expect("imported kinds");
        if cache.len() >= CACHED_ACCOUNTS {
            cache.clear();
        }
        cache.insert(owner, (stamp, registry.clone()));
        Ok(registry)
    }
}

/// The ids and revisions of an account's imports: changes with every import.
async fn stamp(db: &DatabaseConnection, owner: Uuid) -> Result<String, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT provider_id, revision FROM imported_apis WHERE owner_id = ")
        .bind(owner);
    sql.push(" ORDER BY provider_id");
    let rows = db.query_all_raw(sql.build()).await?;
    let mut stamp = String::new();
    for row in rows {
        let id: String = get(&row, "provider_id")?;
        let revision: i32 = get(&row, "revision")?;
        stamp.push_str(&format!("{id}:{revision};"));
    }
    Ok(stamp)
}

/// An account's imported APIs; one that no longer reads (stored by a
/// newer version) is left out rather than hiding the others.
pub async fn descriptions(
    db: &DatabaseConnection,
    owner: Uuid,
) -> Result<Vec<ApiDescription>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT provider_id, description FROM imported_apis WHERE owner_id = ")
        .bind(owner);
    sql.push(" ORDER BY provider_id");
    let rows = db.query_all_raw(sql.build()).await?;
    let mut apis = Vec::with_capacity(rows.len());
    for row in rows {
        let text: String = get(&row, "description")?;
        match serde_json::from_str::<ApiDescription>(&text) {
            Ok(api) => apis.push(api),
            Err(error) => {
                let id: String = get(&row, "provider_id")?;
                tracing::error!(%owner, api = %id, %error, "an imported API cannot be read");
            }
        }
    }
    Ok(apis)
}
