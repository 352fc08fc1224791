//! Building and running one Switchyard instance: open the database, apply
//! migrations, assemble the router, serve until asked to stop.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Instant};

use app::{App, server_context::ServerContext, shell};
use axum::{Router, extract::FromRef, middleware};
use domain::{ai::llm::LanguageModel, alerts::Alerts};
use domain::{
    connection_tokens::ConnectionCredentials,
    connections::Connections,
    vault::{Vault, purpose},
};
use engine::{Engine, EngineConfig, Registry, outbound::OutboundClient};
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::{catch_panic::CatchPanicLayer, compression::CompressionLayer, trace::TraceLayer};
use tower_sessions::{
    Expiry, SessionManagerLayer, cookie::SameSite, session_store::ExpiredDeletion,
};

use crate::{
    api,
    auth::{session_store::DbSessionStore, throttle::Throttle},
    config::Config,
    error::panic_response,
    live_hub::{LiveHub, STREAMS_PER_USER},
    request_id, routes,
    secret_key::SecretKey,
    webhooks::{self, TargetCache},
};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "switchyard_session";
/// Sessions end after this long without use.
const SESSION_IDLE_DAYS: i64 = 14;

/// Shared by every handler.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub context: ServerContext,
    pub secret_key: SecretKey,
    pub config: Arc<Config>,
    /// Password guesses and other Argon2 work for anonymous callers.
    pub throttle: Arc<Throttle>,
    pub connections: Connections,
    /// Seals and opens secrets written into workflows.
    pub workflow_secrets: Arc<Vault>,
    pub webhooks: Arc<TargetCache>,
    /// Routes live events to their owner's streams and counts the streams.
    pub live: Arc<LiveHub>,
    /// Set at shutdown: live event streams end so connections can close.
    pub streams_stop: Arc<tokio::sync::watch::Sender<bool>>,
    /// The AI builder's language model, when one is configured.
    pub llm: Option<Arc<LanguageModel>>,
    /// Alert rules, incidents and notification channels.
    pub alerts: Arc<Alerts>,
}

/// Why an instance could not start; each variant reads as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("secret key: {0}")]
    SecretKey(String),
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: sea_orm::DbErr },
    #[error("cannot migrate the database schema: {0}")]
    Migration(sea_orm::DbErr),
    #[error("cannot start the workflow engine: {0}")]
    Engine(sea_orm::DbErr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A started instance, listening but not yet serving.
pub struct Application {
    listener: TcpListener,
    /// `SWITCHYARD_METRICS_BIND`'s listener, when set.
    metrics_listener: Option<TcpListener>,
    router: Router,
    state: AppState,
}

impl Application {
    pub async fn build(mut config: Config) -> Result<Application, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let secret_key = match &config.secret_key {
            Some(key) => key.clone(),
            None => SecretKey::load_or_create(&config.data_dir).map_err(StartError::SecretKey)?,
        };
        let keys = secret_key.keyring(&config.previous_secret_keys);
        tracing::info!(key_id = %keys.key_id(), previous_key_ids = ?keys.previous_ids(), "secrets are sealed under this key");
        let db = open_database(&config).await?;
        migration::database::migrate(&db)
            .await
            .map_err(StartError::Migration)?;
        let schema_version = migration::database::schema_version(&db)
            .await
            .map_err(StartError::Migration)?;
        let connections = Connections::new(
            db.clone(),
            &keys,
            OutboundClient::new(config.outbound_allow.clone()),
        );
        let workflow_secrets = Arc::new(keys.vault(purpose::WORKFLOW_SECRETS));
        let credentials = Arc::new(ConnectionCredentials::new(
            connections.clone(),
            workflow_secrets.clone(),
        ));
        let engine = Engine::start_with_credentials(
            db.clone(),
            Registry::builtin(),
            engine_config(&config),
            credentials,
        )
        .await
        .map_err(StartError::Engine)?;

        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.bind,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
        let metrics_listener = match config.metrics_bind {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?,
            ),
            None => None,
        };

        // Without a configured public URL, links point at the address bound
        // (port 0 resolved to the real port).
        if config.public_url.is_none() {
            config.public_url = url::Url::parse(&format!("http://{local_addr}")).ok();
        }
        let leptos_options = LeptosOptions::builder()
            .output_name("switchyard")
            .site_root(config.site_root.display().to_string())
            .site_addr(local_addr)
            .env(leptos::config::Env::PROD)
            .build();
        let live = LiveHub::start(engine.subscribe(), STREAMS_PER_USER);
        match config.llm() {
            Some(llm) => {
                tracing::info!(base_url = %llm.base_url, model = %llm.model, "the AI builder drafts with a language model")
            }
            None => tracing::info!(
                "the AI builder drafts offline (no SWITCHYARD_LLM_BASE_URL or SWITCHYARD_LLM_API_KEY)"
            ),
        }
        let alerts = Arc::new(Alerts::new(
            db.clone(),
            engine.clone(),
            Arc::new(keys.vault(purpose::NOTIFICATION_CHANNELS)),
            domain::alerts::Delivery {
                http: OutboundClient::new(config.outbound_allow.clone()),
                mailer: config.mailer(),
            },
            connections.clone(),
            workflow_secrets.clone(),
            config
                .public_url()
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
        ));
        let state = AppState {
            leptos_options,
            context: ServerContext {
                db,
                engine,
                started_at: Instant::now(),
                schema_version,
                openapi: Arc::new(
                    serde_json::to_value(<api::openapi::ApiDoc as utoipa::OpenApi>::openapi())
                        .unwrap_or_default(),
                ),
                public_url: config
                    .public_url()
                    .as_str()
                    .trim_end_matches('/')
                    .to_owned(),
            },
            secret_key,
            llm: config
                .llm()
                .map(|settings| Arc::new(LanguageModel::new(settings))),
            config: Arc::new(config),
            throttle: Arc::new(Throttle::default()),
            connections,
            workflow_secrets,
            webhooks: Arc::new(TargetCache::default()),
            live,
            streams_stop: Arc::new(tokio::sync::watch::channel(false).0),
            alerts,
        };
        let router = router(state.clone());
        Ok(Application {
            listener,
            metrics_listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` is served without a token, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.context.db
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish
    /// within the configured grace period.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.state.config.shutdown_timeout();
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let server = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        })
        .into_future();
        let mut server = tokio::spawn(server);
        if let Some(listener) = self.metrics_listener {
            let metrics = routes::metrics::own_router(self.state.clone());
            let mut stop = stop_tx.subscribe();
            tokio::spawn(
                axum::serve(listener, metrics)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    })
                    .into_future(),
            );
        }
        let (scheduler_stop, scheduler_stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(domain::schedules::run_scheduler(
            self.state.context.db.clone(),
            self.state.context.engine.clone(),
            Some(self.state.alerts.clone()),
            scheduler_stopped.clone(),
        ));
        tokio::spawn(self.state.alerts.clone().run(
            self.state.context.engine.signals(),
            scheduler_stopped.clone(),
        ));
        tokio::spawn(crate::live_hub::follow_notifications(
            self.state.context.db.clone(),
            self.state.live.clone(),
            scheduler_stopped.clone(),
        ));
        tokio::spawn(domain::retention::run_pruner(
            self.state.context.db.clone(),
            self.state.config.retention(),
            self.state.context.engine.metrics().clone(),
            scheduler_stopped,
        ));
        tokio::select! {
            result = &mut server => return result.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            () = shutdown => {}
        }
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down; finishing in-flight requests"
        );
        let _ = stop_tx.send(true);
        self.state.streams_stop.send_replace(true);
        let _ = scheduler_stop.send(true);
        let engine = self.state.context.engine.clone();
        let (served, ()) =
            tokio::join!(tokio::time::timeout(grace, server), engine.shutdown(grace));
        match served {
            Ok(result) => result.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            Err(_) => {
                tracing::warn!("grace period over; closing the remaining connections");
                Ok(())
            }
        }
    }
}

/// Removes expired sessions now and every hour.
async fn delete_expired_sessions(sessions: DbSessionStore) {
    loop {
        if let Err(error) = sessions.delete_expired().await {
            tracing::warn!(%error, "could not delete expired sessions");
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

fn engine_config(config: &Config) -> EngineConfig {
    EngineConfig {
        concurrency: config.workers as usize,
        intake_target: (config.intake_target_ms > 0)
            .then(|| std::time::Duration::from_millis(config.intake_target_ms)),
        lease_ms: config.lease_ms as i64,
        output_cap_bytes: config.step_output_cap as usize,
        outbound: config.outbound_allow.clone(),
        ..EngineConfig::default()
    }
}

pub(crate) async fn open_database(config: &Config) -> Result<DatabaseConnection, StartError> {
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| migration::database::default_url(&config.data_dir));
    migration::database::connect(&url, config.db_max_connections)
        .await
        .map_err(|source| StartError::Database {
            url: redact_password(&url),
            source,
        })
}

/// The URL with any password replaced, fit for messages and logs.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn router(state: AppState) -> Router {
    let leptos_routes = generate_route_list(App);
    let provide_server_context = {
        let context = state.context.clone();
        move || provide_context(context.clone())
    };
    let render_shell = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };

    let sessions = DbSessionStore::new(state.context.db.clone());
    tokio::spawn(delete_expired_sessions(sessions.clone()));
    tokio::spawn(webhooks::replay::prune_periodically(
        state.context.db.clone(),
    ));
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.public_url().scheme() == "https")
        .with_expiry(Expiry::OnInactivity(time::Duration::days(
            SESSION_IDLE_DAYS,
        )));

    Router::new()
        .merge(routes::health::router())
        .merge(routes::metrics::router())
        .merge(routes::oauth::router())
        .merge(webhooks::router())
        .nest("/api/v1", api::router())
        .leptos_routes_with_context(
            &state,
            leptos_routes,
            provide_server_context.clone(),
            render_shell,
        )
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            provide_server_context,
            shell,
        ))
        .layer(session_layer)
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_id::make_span)
                .on_response(request_id::on_response),
        )
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_password("postgres://app:hunter2@db:5432/switchyard"),
            "postgres://app:***@db:5432/switchyard"
        );
        assert_eq!(
            redact_password("sqlite://data/x.db?mode=rwc"),
            "sqlite://data/x.db?mode=rwc"
        );
    }
}
