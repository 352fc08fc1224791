//! `cargo run -p migration -- up|down|status`: manage the schema by hand.
//!
//! Uses the same database as the server: `DATABASE_URL`, or SQLite in
//! `SWITCHYARD_DATA_DIR` (default `./data`).

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait, database};

#[derive(Parser)]
#[command(
    name = "migration",
    about = "Apply, roll back or list Switchyard's schema migrations"
)]
struct Cli {
    /// Database to migrate; defaults to the server's SQLite file.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Directory holding the default SQLite file.
    #[arg(long, env = "SWITCHYARD_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations (all, or the next N).
    Up {
        #[arg(short = 'n', long)]
        steps: Option<u32>,
    },
    /// Roll back applied migrations (the last one, or the last N).
    Down {
        #[arg(short = 'n', long, default_value_t = 1)]
        steps: u32,
    },
    /// List every migration and whether it is applied.
    Status,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("migration: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let url = match cli.database_url {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(&cli.data_dir)
                .map_err(|e| format!("cannot create {}: {e}", cli.data_dir.display()))?;
            database::default_url(&cli.data_dir)
        }
    };
    let db = database::connect(&url, Some(1))
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    match cli.command {
        Command::Up { steps: None } => database::migrate(&db).await,
        Command::Up { steps } => Migrator::up(&db, steps).await,
        Command::Down { steps } => Migrator::down(&db, Some(steps)).await,
        Command::Status => Ok(()),
    }
    .map_err(|e| e.to_string())?;
    for migration in Migrator::get_migration_with_status(&db)
        .await
        .map_err(|e| e.to_string())?
    {
        println!(
            "{:<9} {}",
            format!("{:?}", migration.status()),
            migration.name()
        );
    }
    Ok(())
}
