//! Run-time configuration, read from command-line flags or environment
//! variables (`server --help` lists them all).

mod mail;

pub use mail::SmtpUrl;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum, error::ContextKind};

use crate::{
    client_ip::{ForwardedHeader, TrustedProxies},
    secret_key::SecretKey,
};

#[derive(Clone, Debug, Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Switchyard: API workflows you can watch run.",
    after_help = "Every option can also be set through the environment variable shown beside it."
)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "SWITCHYARD_BIND",
        default_value = "127.0.0.1:3000",
        value_name = "ADDR"
    )]
    pub bind: SocketAddr,

    /// Database to use: `postgres://user@host/db` or `sqlite://path?mode=rwc`.
    /// Default: a SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL",
          value_parser = parse_database_url)]
    pub database_url: Option<String>,

    /// Size of the database connection pool (default: 1 for SQLite, 20 for Postgres).
    #[arg(long, env = "SWITCHYARD_DB_MAX_CONNECTIONS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: Option<u32>,

    /// Directory for the embedded database and the generated secret key.
    #[arg(
        long,
        env = "SWITCHYARD_DATA_DIR",
        default_value = "data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Key for signing and encrypting secrets: 32 bytes as base64 or hex.
    /// Default: generated on first start into `<data dir>/secret.key` (mode 0600).
    #[arg(long, env = "SWITCHYARD_SECRET_KEY", hide_env_values = true, value_name = "KEY",
          value_parser = SecretKey::parse)]
    pub secret_key: Option<SecretKey>,

    /// Keys that were the secret key before, comma-separated (base64 or hex).
    /// Values they sealed still open, while new ones are sealed with the
    /// secret key; set during a key rotation (see `rotate-key --help`).
    #[arg(long, env = "SWITCHYARD_PREVIOUS_SECRET_KEYS", hide_env_values = true,
          value_name = "KEYS", value_delimiter = ',', value_parser = SecretKey::parse)]
    pub previous_secret_keys: Vec<SecretKey>,

    /// The address users reach Switchyard at, e.g. `https://switchyard.example.com`;
    /// used for links and to mark cookies Secure. Default: `http://<bind>`.
    #[arg(long, env = "SWITCHYARD_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,

    /// Log output: `pretty` for people, `json` for log collectors.
    #[arg(long, env = "SWITCHYARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Which logs to keep, in `tracing` filter syntax, e.g. `info` or `info,server=debug`.
    #[arg(long, env = "SWITCHYARD_LOG", default_value = "info", value_name = "FILTER",
          value_parser = parse_log_filter)]
    pub log: String,

    /// Directory holding the compiled site (WASM, JS, CSS and public assets).
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site",
        value_name = "DIR"
    )]
    pub site_root: PathBuf,

    /// Hosts and networks outbound HTTP calls may reach although they are not
    /// public, comma-separated: `api.internal, 10.1.0.0/16, 127.0.0.1/32`.
    #[arg(long, env = "SWITCHYARD_OUTBOUND_ALLOW", default_value = "", value_name = "LIST",
          value_parser = parse_outbound_allow)]
    pub outbound_allow: engine::outbound::OutboundPolicy,

    /// Reverse proxies in front of Switchyard, comma-separated addresses or
    /// networks (`10.0.0.5, 10.1.0.0/16`). Only requests from these have their
    /// forwarded header believed for the client's address (sign-in throttling);
    /// empty: the TCP peer is the client.
    #[arg(long, env = "SWITCHYARD_TRUSTED_PROXIES", default_value = "", value_name = "LIST",
          value_parser = parse_trusted_proxies)]
    pub trusted_proxies: TrustedProxies,

    /// The header the trusted proxies append the client's address to.
    #[arg(long, env = "SWITCHYARD_FORWARDED_HEADER", value_enum,
          default_value_t = ForwardedHeader::XForwardedFor)]
    pub forwarded_header: ForwardedHeader,

    /// Workflow runs worked on at the same time by this instance.
    #[arg(long, env = "SWITCHYARD_WORKERS", default_value_t = 128, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub workers: u32,

    /// While accepting runs (webhooks, events, manual starts) takes longer
    /// than this many milliseconds, this instance works on fewer runs at
    /// once, so that intake stays fast under a burst; 0 turns it off.
    #[arg(long, env = "SWITCHYARD_INTAKE_TARGET_MS", default_value_t = 2, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub intake_target_ms: u64,

    /// Step inputs and outputs larger than this many bytes are stored truncated.
    #[arg(long, env = "SWITCHYARD_STEP_OUTPUT_CAP", default_value_t = 1024 * 1024, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1024..=64 * 1024 * 1024))]
    pub step_output_cap: u64,

    /// Milliseconds a run stays reserved for this instance without a heartbeat;
    /// after a crash, other instances take its runs over this much later.
    #[arg(long, env = "SWITCHYARD_LEASE_MS", default_value_t = 30_000, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(500..=3_600_000))]
    pub lease_ms: u64,

    /// Largest webhook request body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "SWITCHYARD_WEBHOOK_BODY_LIMIT", default_value_t = 1024 * 1024, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..=64 * 1024 * 1024))]
    pub webhook_body_limit: u64,

    /// Seconds a webhook in "respond with output" mode waits for its run.
    #[arg(long, env = "SWITCHYARD_WEBHOOK_RESPONSE_TIMEOUT", default_value_t = 30, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub webhook_response_timeout: u64,

    /// The AI builder's language model: an OpenAI-compatible endpoint
    /// (`http://127.0.0.1:11434/v1` for Ollama). Setting it, or an API key
    /// alone (for OpenAI itself), turns the language-model planner on;
    /// without either, the offline planner answers.
    #[arg(long, env = "SWITCHYARD_LLM_BASE_URL", value_name = "URL", value_parser = parse_llm_url)]
    pub llm_base_url: Option<url::Url>,

    /// The bearer token for the language model's endpoint.
    #[arg(
        long,
        env = "SWITCHYARD_LLM_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub llm_api_key: Option<HiddenText>,

    /// The model to ask (`gpt-4o-mini`, `llama3.1`, …).
    #[arg(
        long,
        env = "SWITCHYARD_LLM_MODEL",
        default_value = "gpt-4o-mini",
        value_name = "NAME"
    )]
    pub llm_model: String,

    /// Seconds the language model gets for a whole answer, repairs
    /// included; past it the offline planner answers.
    #[arg(long, env = "SWITCHYARD_LLM_TIMEOUT", default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub llm_timeout: u64,

    /// Times a draft the checks refuse goes back to the model for repair.
    #[arg(long, env = "SWITCHYARD_LLM_MAX_REPAIRS", default_value_t = 2, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=5))]
    pub llm_max_repairs: u32,

    /// Serves `GET /metrics` (Prometheus) on the main address to callers
    /// sending `Authorization: Bearer <this token>`. Without it (and
    /// without a metrics address) `/metrics` answers 404.
    #[arg(
        long,
        env = "SWITCHYARD_METRICS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = parse_metrics_token
    )]
    pub metrics_token: Option<HiddenText>,

    /// A second address serving only `GET /metrics`, without a token: bind
    /// it to an interface only Prometheus reaches (`10.0.0.5:9464`).
    #[arg(long, env = "SWITCHYARD_METRICS_BIND", value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,

    /// The mail server alerts are sent through: `smtp://user:password@host:587`
    /// (STARTTLS), `smtps://…:465` (TLS), `?security=none` for a plain
    /// local relay. Without it, e-mail channels cannot be added.
    #[arg(long, env = "SWITCHYARD_SMTP_URL", hide_env_values = true, value_name = "URL", value_parser = mail::parse_smtp_url)]
    pub smtp_url: Option<SmtpUrl>,

    /// The sender of alert e-mails: `Switchyard <alerts@example.com>`.
    #[arg(long, env = "SWITCHYARD_SMTP_FROM", value_name = "ADDRESS")]
    pub smtp_from: Option<String>,

    /// Days finished runs are kept after they ended (0: no age limit).
    #[arg(long, env = "SWITCHYARD_RETENTION_DAYS", default_value_t = 14, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub retention_days: u32,

    /// Finished runs kept per workflow, the newest (0: no count limit).
    #[arg(
        long,
        env = "SWITCHYARD_RETENTION_MAX_RUNS",
        default_value_t = 10_000,
        value_name = "N"
    )]
    pub retention_max_runs: u64,

    /// Days the whole values of large steps of succeeded runs are kept
    /// (the step keeps its preview; 0: as long as the run).
    #[arg(long, env = "SWITCHYARD_RETENTION_PAYLOAD_DAYS", default_value_t = 3, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub retention_payload_days: u32,

    /// Days dead letters, and the failed runs they hold, are kept (0: forever).
    #[arg(long, env = "SWITCHYARD_RETENTION_DEAD_LETTER_DAYS", default_value_t = 90, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub retention_dead_letter_days: u32,

    /// Days audit log entries are kept (0: forever).
    #[arg(long, env = "SWITCHYARD_RETENTION_AUDIT_DAYS", default_value_t = 365, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub retention_audit_days: u32,

    /// Seconds between two pruning passes.
    #[arg(long, env = "SWITCHYARD_RETENTION_INTERVAL", default_value_t = 600, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub retention_interval: u64,

    /// Seconds that in-flight requests get to finish after SIGTERM or SIGINT.
    #[arg(
        long,
        env = "SWITCHYARD_SHUTDOWN_TIMEOUT",
        default_value_t = 30,
        value_name = "SECS"
    )]
    pub shutdown_timeout: u64,

    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Seal every stored secret anew under the secret key and exit.
    ///
    /// Give the new key as the secret key and the old one in
    /// SWITCHYARD_PREVIOUS_SECRET_KEYS (servers on the same database need
    /// both while this runs). Values already under the secret key are
    /// skipped, so running it again is harmless. Prints counts per table,
    /// never a secret; exits with 1 if any value did not open.
    RotateKey(RotateKey),
}

#[derive(Clone, Debug, Args)]
pub struct RotateKey {
    /// Rows read and written per transaction.
    #[arg(long, default_value_t = 100, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch_size: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Config {
    /// Reads the configuration from the process's arguments and environment.
    /// `Err` holds either clap's own output (help, version) or one line
    /// naming the setting that is wrong.
    pub fn from_env_and_args() -> Result<Config, ConfigError> {
        Config::try_parse().map_err(ConfigError::from_clap)
    }

    /// The URL users reach this server at.
    pub fn public_url(&self) -> url::Url {
        self.public_url.clone().unwrap_or_else(|| {
            url::Url::parse(&format!("http://{}", self.bind))
                .expect("a socket address is a valid host")
        })
    }

    /// How long run data is kept.
    pub fn retention(&self) -> domain::retention::RetentionPolicy {
        domain::retention::RetentionPolicy {
            run_days: self.retention_days,
            max_runs_per_workflow: self.retention_max_runs,
            payload_days: self.retention_payload_days,
            dead_letter_days: self.retention_dead_letter_days,
            audit_days: self.retention_audit_days,
            every: std::time::Duration::from_secs(self.retention_interval),
        }
    }

    /// The language model's settings, when one is configured.
    pub fn llm(&self) -> Option<domain::ai::llm::LlmSettings> {
        if self.llm_base_url.is_none() && self.llm_api_key.is_none() {
            return None;
        }
        Some(domain::ai::llm::LlmSettings {
            base_url: self.llm_base_url.as_ref().map_or_else(
                || domain::ai::llm::OPENAI_BASE_URL.to_owned(),
                |url| url.as_str().trim_end_matches('/').to_owned(),
            ),
            api_key: self
                .llm_api_key
                .as_ref()
                .map(|key| key.0.clone())
                .unwrap_or_default(),
            model: self.llm_model.clone(),
            timeout: Duration::from_secs(self.llm_timeout),
            max_repairs: self.llm_max_repairs,
        })
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout)
    }
}

/// Why the configuration could not be read.
#[derive(Debug)]
pub enum ConfigError {
    /// `--help` or `--version`: print clap's text and exit successfully.
    Informational(clap::Error),
    /// A bad setting, described in one line.
    Invalid(String),
}

impl ConfigError {
    fn from_clap(error: clap::Error) -> ConfigError {
        use clap::error::ErrorKind;
        if matches!(
            error.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        ) {
            return ConfigError::Informational(error);
        }
        ConfigError::Invalid(one_line(&error))
    }
}

/// Turns clap's multi-line report into one line that also names the
/// environment variable, since most people configure through those.
fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first = rendered
        .lines()
        .next()
        .unwrap_or("invalid configuration")
        .trim_start_matches("error: ")
        .to_owned();
    let flag = match error.get(ContextKind::InvalidArg) {
        Some(clap::error::ContextValue::String(flag)) => flag.clone(),
        _ => return first,
    };
    let long = flag
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_start_matches("--");
    let command = <Config as clap::CommandFactory>::command();
    let Some(arg) = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
    else {
        return first;
    };
    let mut line = first;
    // Database URLs and keys carry secrets: never repeat them.
    if arg.is_hide_env_values_set()
        && let Some(clap::error::ContextValue::String(value)) = error.get(ContextKind::InvalidValue)
        && !value.is_empty()
    {
        line = line.replace(value.as_str(), "<hidden>");
    }
    match arg.get_env() {
        Some(env) => format!("{line} (set by {} or --{long})", env.to_string_lossy()),
        None => line,
    }
}

fn parse_database_url(value: &str) -> Result<String, String> {
    match migration::database::backend_of(value) {
        Some(_) => Ok(value.to_owned()),
        None => {
            Err("expected a URL starting with postgres://, postgresql:// or sqlite:".to_owned())
        }
    }
}

fn parse_public_url(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("expected an http:// or https:// URL with a host".to_owned());
    }
    Ok(url)
}

fn parse_outbound_allow(value: &str) -> Result<engine::outbound::OutboundPolicy, String> {
    engine::outbound::OutboundPolicy::parse(value)
}

fn parse_trusted_proxies(value: &str) -> Result<TrustedProxies, String> {
    TrustedProxies::parse(value)
}

fn parse_log_filter(value: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(value)
        .map(|_| value.to_owned())
        .map_err(|e| e.to_string())
}

/// Text that is a credential: never shown by `Debug`.
#[derive(Clone)]
pub struct HiddenText(pub String);

impl std::fmt::Debug for HiddenText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

impl std::str::FromStr for HiddenText {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(HiddenText(text.trim().to_owned()))
    }
}

/// A metrics token guessable in reasonable time would expose the
/// workflow ids and volumes to anyone on the public address.
fn parse_metrics_token(text: &str) -> Result<HiddenText, String> {
    let token = text.trim();
    if token.len() < 16 {
        return Err("at least 16 characters (e.g. `openssl rand -hex 24`)".into());
    }
    Ok(HiddenText(token.to_owned()))
}

fn parse_llm_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("an http:// or https:// URL, such as http://127.0.0.1:11434/v1".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        Config::try_parse_from(std::iter::once("switchyard").chain(args.iter().copied()))
            .map_err(ConfigError::from_clap)
    }

    fn invalid(args: &[&str]) -> String {
        match parse(args) {
            Err(ConfigError::Invalid(line)) => line,
            other => panic!("expected an invalid configuration, got {other:?}"),
        }
    }

    #[test]
    fn defaults_need_no_settings() {
        let config = parse(&[]).expect("defaults are valid");
        assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(config.data_dir, PathBuf::from("data"));
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.public_url().as_str(), "http://127.0.0.1:3000/");
    }

    #[test]
    fn bad_values_are_one_line_naming_the_variable() {
        let line = invalid(&["--bind", "nonsense"]);
        assert!(line.contains("SWITCHYARD_BIND"), "{line}");
        assert!(!line.contains('\n'), "{line}");

        let line = invalid(&["--database-url", "mysql://x"]);
        assert!(
            line.contains("DATABASE_URL") && line.contains("postgres://"),
            "{line}"
        );

        let line = invalid(&["--public-url", "ftp://x"]);
        assert!(line.contains("SWITCHYARD_PUBLIC_URL"), "{line}");

        let line = invalid(&["--log", "info,,=["]);
        assert!(line.contains("SWITCHYARD_LOG"), "{line}");

        let line = invalid(&["--outbound-allow", "10.0.0.0/99"]);
        assert!(line.contains("SWITCHYARD_OUTBOUND_ALLOW"), "{line}");

        let line = invalid(&["--trusted-proxies", "10.0.0.0/99"]);
        assert!(line.contains("SWITCHYARD_TRUSTED_PROXIES"), "{line}");

        let line = invalid(&["--log-format", "xml"]);
        assert!(line.contains("SWITCHYARD_LOG_FORMAT"), "{line}");
    }

    #[test]
    fn the_database_url_is_never_echoed() {
        let line = invalid(&["--database-url", "mysql://root:hunter2@db/x"]);
        assert!(!line.contains("hunter2"), "{line}");
    }

    #[test]
    fn item14_previous_keys_and_the_rotate_key_command() {
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        let hex: String = b.bytes().iter().map(|x| format!("{x:02x}")).collect();
        let config = parse(&[
            "--previous-secret-keys",
            &format!(
                "{}, {hex}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, a.bytes())
            ),
            "rotate-key",
            "--batch-size",
            "7",
        ])
        .unwrap();
        assert_eq!(config.previous_secret_keys, vec![a, b]);
        assert!(matches!(
            config.command,
            Some(Command::RotateKey(RotateKey { batch_size: 7 }))
        ));
        assert!(parse(&[]).unwrap().previous_secret_keys.is_empty());
        assert!(parse(&[]).unwrap().command.is_none());

        let line = invalid(&["--previous-secret-keys", "hunter2hunter2"]);
        assert!(line.contains("SWITCHYARD_PREVIOUS_SECRET_KEYS"), "{line}");
        assert!(!line.contains("hunter2"), "{line}");
    }
}
