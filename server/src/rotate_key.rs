//! `server rotate-key`: seals every stored secret anew under the secret
//! key, opening each with whichever configured key (current or previous)
//! sealed it. It reports counts per table and the rows whose values did not
//! open; it never prints a key or a secret, only key ids.

use std::io::Write;

use engine::Registry;

use crate::{
    config::{Config, RotateKey},
    secret_key::SecretKey,
    startup::{StartError, open_database},
};

/// Runs the rotation, writing its report to `out`. `Ok(true)` when every
/// sealed value is now under the secret key; `Ok(false)` when some did not
/// open (they keep their old sealing and are listed).
pub async fn run(config: &Config, args: &RotateKey, out: &mut impl Write) -> Result<bool, String> {
    // A key generated here would seal nothing anyone can open: the key
    // must be given or already in the data directory.
    let secret_key = match &config.secret_key {
        Some(key) => key.clone(),
        None => SecretKey::load(&config.data_dir)
            .map_err(|e| format!("secret key: {e} (set SWITCHYARD_SECRET_KEY to the new key)"))?,
    };
    let keys = secret_key.keyring(&config.previous_secret_keys);
    let db = open_database(config).await.map_err(|e| e.to_string())?;
    migration::database::migrate(&db)
        .await
        .map_err(|e| StartError::Migration(e).to_string())?;

    let current = keys.key_id();
    let previous = keys.previous_ids();
    write(
        out,
        format!(
            "Sealing stored secrets under key {current}{}.",
            if previous.is_empty() {
                " (no previous keys given: only values sealed before key ids can be upgraded)"
                    .to_owned()
            } else {
                format!(", opening values of keys {}", previous.join(", "))
            }
        ),
    )?;
    let registry = Registry::builtin();
    let report = domain::rotation::reseal_all(&db, &keys, registry.catalogue(), args.batch_size)
        .await
        .map_err(|e| {
            format!(
                "the rotation stopped: {e} (batches already written stay written; run it again)"
            )
        })?;
    for table in &report.tables {
        write(
            out,
            format!(
                "{}: {} rows, {} values sealed anew, {} rows already under key {current} (or holding none), {} rows changed meanwhile (left as written)",
                table.table, table.rows, table.resealed, table.current, table.changed_meanwhile
            ),
        )?;
    }
    if report.unopened.is_empty() {
        write(
            out,
            format!("Done: every sealed value is under key {current}."),
        )?;
        return Ok(true);
    }
    write(
        out,
        format!(
            "{} values did not open and keep their old sealing:",
            report.unopened.len()
        ),
    )?;
    for unopened in &report.unopened {
        write(
            out,
            format!("  {} {}: {}", unopened.table, unopened.row, unopened.reason),
        )?;
    }
    Ok(false)
}

fn write(out: &mut impl Write, line: String) -> Result<(), String> {
    writeln!(out, "{line}").map_err(|e| format!("cannot write the report: {e}"))
}
