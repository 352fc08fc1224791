//! `server`: runs one Switchyard instance.

use std::process::ExitCode;

// Allocation-heavy work (JSON documents for every step) runs markedly
// faster with mimalloc than with the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use server::{
    config::{Command, Config, ConfigError},
    startup::Application,
    telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env_and_args() {
        Ok(config) => config,
        Err(ConfigError::Informational(output)) => {
            let _ = output.print();
            return ExitCode::SUCCESS;
        }
        Err(ConfigError::Invalid(line)) => {
            eprintln!("switchyard: invalid configuration: {line}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format, &config.log);

    if let Some(Command::RotateKey(args)) = &config.command {
        return match server::rotate_key::run(&config, args, &mut std::io::stdout()).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => {
                eprintln!("switchyard: {error}");
                ExitCode::FAILURE
            }
        };
    }

    let public_url = config.public_url();
    let application = match Application::build(config).await {
        Ok(application) => application,
        Err(error) => {
            eprintln!("switchyard: {error}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = shutdown_signal();
    let url = format!("http://{}", application.local_addr());
    tracing::info!(%url, public_url = %public_url, "Switchyard is listening");
    println!("Switchyard is running at {url}");
    if let Some(metrics) = application.metrics_addr() {
        tracing::info!(url = %format!("http://{metrics}/metrics"), "Prometheus metrics are served (no token)");
    }

    match application.run_until(shutdown).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("switchyard: server error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed
/// when this is called, not when it is first awaited: a signal sent right
/// after the server announces itself must not be missed (or ignored, when
/// the parent started it with SIGINT ignored, as shells do for `&`).
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).expect("SIGINT handler installs");
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    }
}
