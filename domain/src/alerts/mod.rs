//! Alerts: rules read what happens to a workflow's runs (as this
//! instance's engine reports them) and open an incident when one fires,
//! once, until the condition clears; the owner hears of both in the
//! in-app inbox and on their channels. Auto-pause stops a workflow that
//! keeps failing or keeps being rate limited, holding its queued runs.

mod channels;
mod incidents;
mod notifications;
mod settings;

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use engine::{Engine, signals::RunSignal, store::sql::Sql};
use model::{
    WorkflowStatus,
    alerts::{AlertRule, AlertSettings, RATE_LIMIT_WINDOW_MINUTES},
};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

pub use channels::{
    Channel, ChannelInput, ChannelKind, Delivery, Mailer, SIGNATURE_HEADER,
    create as create_channel, list as channels, remove as remove_channel, signature,
    test as test_channel, update as update_channel,
};
pub use notifications::{
    Notification, after as notifications_after, list as notifications, mark_read,
    newest_id as newest_notification, unread,
};
pub use settings::{
    WorkflowAlerts, account_settings, set_account_settings, set_workflow_settings,
    workflow_settings,
};

use crate::{DomainError, connections::Connections, vault::Vault, webhook_registrations::Hooks};

/// What the rules need to know of a workflow.
struct Subject {
    owner: Uuid,
    name: String,
    status: String,
    settings: AlertSettings,
}

async fn subject(db: &DatabaseConnection, workflow: Uuid) -> Result<Option<Subject>, DomainError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT w.owner_id, w.name, w.status, w.alert_settings AS own, u.alert_settings AS account FROM workflows w JOIN users u ON u.id = w.owner_id WHERE w.id = ")
        .bind(workflow);
    let Some(row) = db.query_one_raw(sql.build()).await? else {
        return Ok(None);
    };
    Ok(Some(Subject {
        owner: row.try_get("", "owner_id")?,
        name: row.try_get("", "name")?,
        status: row.try_get("", "status")?,
        settings: settings::parse(row.try_get("", "own")?)
            .or_else(|| settings::parse(row.try_get("", "account").ok().flatten()))
            .unwrap_or_default(),
    }))
}

/// How often incidents of windowed rules are looked at again, so that
/// they resolve as their window slides past the failures.
const SWEEP: Duration = Duration::from_secs(30);

/// The alerts of one instance.
pub struct Alerts {
    pub db: DatabaseConnection,
    pub engine: Engine,
    /// Opens channels' settings.
    pub channel_vault: Arc<Vault>,
    pub delivery: Delivery,
    /// For pausing: provider webhooks are removed as a manual pause does.
    pub connections: Connections,
    pub workflow_secrets: Arc<Vault>,
    /// Switchyard's public URL, without a trailing slash.
    pub public_url: String,
    /// 429 answers per workflow in the auto-pause window (this instance's).
    rate_limited: Mutex<HashMap<Uuid, VecDeque<i64>>>,
    /// Runs answered 429 that have not ended: their own success does not
    /// clear the rate-limit incident, a clean run's does.
    limited_runs: Mutex<std::collections::HashSet<Uuid>>,
    /// When each workflow's windowed rules were last evaluated, and the
    /// workflows whose evaluation waits for the next tick: under a burst
    /// of runs they are read at most once per [`WINDOWED_EVERY`].
    windowed_at: Mutex<HashMap<Uuid, std::time::Instant>>,
    windowed_pending: Mutex<std::collections::HashSet<Uuid>>,
}

/// How often at most a workflow's windowed rules are evaluated.
const WINDOWED_EVERY: Duration = Duration::from_secs(1);

impl Alerts {
    pub fn new(
        db: DatabaseConnection,
        engine: Engine,
        channel_vault: Arc<Vault>,
        delivery: Delivery,
        connections: Connections,
        workflow_secrets: Arc<Vault>,
        public_url: String,
    ) -> Alerts {
        Alerts {
            db,
            engine,
            channel_vault,
            delivery,
            connections,
            workflow_secrets,
            public_url,
            rate_limited: Mutex::new(HashMap::new()),
            limited_runs: Mutex::new(std::collections::HashSet::new()),
            windowed_at: Mutex::new(HashMap::new()),
            windowed_pending: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// Follows this instance's runs until `stop`.
    pub async fn run(
        self: Arc<Self>,
        mut signals: broadcast::Receiver<RunSignal>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut sweep = tokio::time::interval(SWEEP);
        let mut pending = tokio::time::interval(WINDOWED_EVERY);
        loop {
            tokio::select! {
                _ = pending.tick() => {
                    let due: Vec<Uuid> = self.windowed_pending.lock().expect("pending").drain().collect();
                    for workflow in due {
                        if let Err(error) = self.windowed_now(workflow).await {
                            tracing::warn!(%error, %workflow, "could not evaluate the windowed alert rules");
                        }
                    }
                }
                signal = signals.recv() => match signal {
                    Ok(signal) => {
                        if let Err(error) = self.handle(&signal).await {
                            tracing::warn!(%error, workflow_id = %signal.run().workflow_id, "could not evaluate the alert rules");
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "alerts fell behind the runs; some were not evaluated");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = sweep.tick() => {
                    if let Err(error) = self.sweep().await {
                        tracing::warn!(%error, "could not look at open incidents again");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }

    async fn handle(&self, signal: &RunSignal) -> Result<(), DomainError> {
        let workflow = signal.run().workflow_id;
        let Some(subject) = subject(&self.db, workflow).await? else {
            return Ok(());
        };
        let rules = &subject.settings;
        match signal {
            RunSignal::Ended {
                run,
                status,
                dead_letter,
            } => {
                let limited = self
                    .limited_runs
                    .lock()
                    .expect("limited runs")
                    .remove(&run.execution_id);
                self.run_ended(workflow, &subject, status, *dead_letter, limited)
                    .await
            }
            RunSignal::RateLimited { run, node_id } => {
                {
                    let mut limited = self.limited_runs.lock().expect("limited runs");
                    // Bounded: runs whose end this instance never saw are forgotten.
                    if limited.len() >= 10_000 {
                        limited.clear();
                    }
                    limited.insert(run.execution_id);
                }
                if rules.rate_limited {
                    let message = format!(
                        "A provider answered step {node_id} with 429 (rate limited); Switchyard backs off and retries."
                    );
                    self.fire(workflow, &subject, AlertRule::RateLimited, "", &message)
                        .await?;
                }
                if let Some(limit) = rules.auto_pause.after_rate_limits
                    && self.count_rate_limit(workflow) >= limit
                {
                    let reason = format!(
                        "providers answered 429 (rate limited) {limit} times within {RATE_LIMIT_WINDOW_MINUTES} minutes"
                    );
                    self.pause(workflow, &subject, &reason).await?;
                }
                Ok(())
            }
            RunSignal::CredentialsRefused { node_id, .. } => {
                if rules.connection_refused {
                    let message = format!(
                        "The provider refused the credentials of the connection step {node_id} uses (401/403): reconnect it under Connections."
                    );
                    self.fire(
                        workflow,
                        &subject,
                        AlertRule::ConnectionRefused,
                        node_id,
                        &message,
                    )
                    .await?;
                }
                Ok(())
            }
        }
    }

    async fn run_ended(
        &self,
        workflow: Uuid,
        subject: &Subject,
        status: &str,
        dead_letter: bool,
        rate_limited: bool,
    ) -> Result<(), DomainError> {
        let rules = &subject.settings;
        let needed = [
            rules.consecutive_failures,
            rules.auto_pause.after_failures,
            Some(1),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(1);
        let outcomes = incidents::recent_outcomes(&self.db, workflow, needed).await?;
        let in_a_row = outcomes.iter().take_while(|s| *s == "failed").count() as u32;
        if let Some(n) = rules.consecutive_failures
            && in_a_row >= n
        {
            let message = format!("{n} runs in a row failed.");
            self.fire(
                workflow,
                subject,
                AlertRule::ConsecutiveFailures,
                "",
                &message,
            )
            .await?;
        }
        if status == "succeeded" {
            for rule in [AlertRule::ConsecutiveFailures, AlertRule::ConnectionRefused] {
                self.clear(workflow, subject, rule, None).await?;
            }
            if !rate_limited {
                self.clear(workflow, subject, AlertRule::RateLimited, None)
                    .await?;
            }
            if incidents::open_dead_letters(&self.db, workflow).await? == 0 {
                self.clear(workflow, subject, AlertRule::DeadLetter, None)
                    .await?;
            }
        }
        if dead_letter && rules.dead_letter {
            let message = "A run failed after all its retries and went to the dead-letter queue; redrive it once the cause is fixed.";
            self.fire(workflow, subject, AlertRule::DeadLetter, "", message)
                .await?;
        }
        self.windowed_soon(workflow, subject).await?;
        if let Some(n) = rules.auto_pause.after_failures
            && in_a_row >= n
        {
            self.pause(workflow, subject, &format!("{n} runs in a row failed"))
                .await?;
        }
        Ok(())
    }

    /// Evaluates the windowed rules now, or at the next tick when they were
    /// evaluated less than [`WINDOWED_EVERY`] ago.
    async fn windowed_soon(&self, workflow: Uuid, subject: &Subject) -> Result<(), DomainError> {
        if subject.settings.error_rate.is_none() && subject.settings.slow_runs.is_none() {
            return Ok(());
        }
        {
            let mut evaluated = self.windowed_at.lock().expect("windowed");
            let now = std::time::Instant::now();
            if evaluated
                .get(&workflow)
                .is_some_and(|at| now.duration_since(*at) < WINDOWED_EVERY)
            {
                self.windowed_pending
                    .lock()
                    .expect("pending")
                    .insert(workflow);
                return Ok(());
            }
            if evaluated.len() >= 10_000 {
                evaluated.retain(|_, at| now.duration_since(*at) < WINDOWED_EVERY);
            }
            evaluated.insert(workflow, now);
        }
        self.windowed(workflow, subject).await
    }

    async fn windowed_now(&self, workflow: Uuid) -> Result<(), DomainError> {
        self.windowed_at
            .lock()
            .expect("windowed")
            .insert(workflow, std::time::Instant::now());
        match subject(&self.db, workflow).await? {
            Some(subject) => self.windowed(workflow, &subject).await,
            None => Ok(()),
        }
    }

    /// The rules over a window: the failure rate and slow runs.
    async fn windowed(&self, workflow: Uuid, subject: &Subject) -> Result<(), DomainError> {
        let rules = &subject.settings;
        let now = chrono::Utc::now().timestamp_millis();
        if let Some(rule) = &rules.error_rate {
            let since = now - i64::from(rule.window_minutes) * 60_000;
            let (total, failed) = incidents::failure_rate(&self.db, workflow, since).await?;
            let percent = if total == 0 {
                0.0
            } else {
                failed as f64 * 100.0 / total as f64
            };
            if total >= u64::from(rule.min_runs) && percent > rule.percent {
                let message = format!(
                    "{failed} of the {total} runs that ended in the last {} minutes failed ({percent:.0} %, over {} %).",
                    rule.window_minutes, rule.percent
                );
                self.fire(workflow, subject, AlertRule::ErrorRate, "", &message)
                    .await?;
            } else {
                self.clear(workflow, subject, AlertRule::ErrorRate, None)
                    .await?;
            }
        }
        if let Some(rule) = &rules.slow_runs {
            let since = now - i64::from(rule.window_minutes) * 60_000;
            let mut durations = incidents::durations(&self.db, workflow, since).await?;
            match incidents::p95(&mut durations) {
                Some(p95) if p95 > rule.p95_ms as i64 => {
                    let message = format!(
                        "The 95th percentile of run durations in the last {} minutes is {p95} ms (over {} ms).",
                        rule.window_minutes, rule.p95_ms
                    );
                    self.fire(workflow, subject, AlertRule::SlowRuns, "", &message)
                        .await?;
                }
                _ => {
                    self.clear(workflow, subject, AlertRule::SlowRuns, None)
                        .await?
                }
            }
        }
        Ok(())
    }

    /// Windowed incidents resolve as time passes, without new runs.
    async fn sweep(&self) -> Result<(), DomainError> {
        let open =
            incidents::workflows_with_open(&self.db, &[AlertRule::ErrorRate, AlertRule::SlowRuns])
                .await?;
        for workflow in open {
            if let Some(subject) = subject(&self.db, workflow).await? {
                self.windowed(workflow, &subject).await?;
            }
        }
        Ok(())
    }

    /// Ticks that fired late open the missed-schedule incident; one on
    /// time resolves it.
    pub async fn schedules_fired(&self, fired: &crate::schedules::Fired) {
        for (workflow, missed) in &fired.late {
            let message = format!(
                "{missed} scheduled time(s) passed while no instance was running; the workflow's missed-tick policy decided what ran."
            );
            if let Err(error) = self.schedule_news(*workflow, Some(&message)).await {
                tracing::warn!(%error, %workflow, "could not evaluate the missed-schedule rule");
            }
        }
        for workflow in &fired.on_time {
            if let Err(error) = self.schedule_news(*workflow, None).await {
                tracing::warn!(%error, %workflow, "could not evaluate the missed-schedule rule");
            }
        }
    }

    async fn schedule_news(&self, workflow: Uuid, missed: Option<&str>) -> Result<(), DomainError> {
        let Some(subject) = subject(&self.db, workflow).await? else {
            return Ok(());
        };
        match missed {
            Some(message) if subject.settings.missed_schedule => {
                self.fire(workflow, &subject, AlertRule::MissedSchedule, "", message)
                    .await
            }
            Some(_) => Ok(()),
            None => {
                self.clear(workflow, &subject, AlertRule::MissedSchedule, None)
                    .await
            }
        }
    }

    fn count_rate_limit(&self, workflow: Uuid) -> u32 {
        let now = chrono::Utc::now().timestamp_millis();
        let window = i64::from(RATE_LIMIT_WINDOW_MINUTES) * 60_000;
        let mut seen = self.rate_limited.lock().expect("rate limit counts");
        let times = seen.entry(workflow).or_default();
        times.push_back(now);
        while times.front().is_some_and(|t| *t < now - window) {
            times.pop_front();
        }
        times.len() as u32
    }

    async fn fire(
        &self,
        workflow: Uuid,
        subject: &Subject,
        rule: AlertRule,
        on: &str,
        message: &str,
    ) -> Result<(), DomainError> {
        // Opened first: while the incident is open, a repeat costs one
        // insert that does nothing, not the error's lookup as well.
        let opened = incidents::open(&self.db, subject.owner, workflow, rule, on, message).await?;
        let Some(incident) = opened else {
            return Ok(());
        };
        let mut body = message.to_owned();
        let about_failures = matches!(
            rule,
            AlertRule::ErrorRate | AlertRule::ConsecutiveFailures | AlertRule::DeadLetter
        );
        if about_failures
            && let Some((execution, error)) = incidents::last_error(&self.db, workflow).await?
        {
            let details = json!({ "execution_id": execution, "last_error": error });
            incidents::describe(&self.db, incident, &details).await?;
            body.push_str(&format!("\nLast error: {error}"));
        }
        let title = format!("Alert: “{}”: {}", subject.name, headline(rule));
        self.notify(
            workflow,
            subject,
            Some(incident),
            "alert",
            &title,
            &body,
            Some(rule),
        )
        .await
    }

    async fn clear(
        &self,
        workflow: Uuid,
        subject: &Subject,
        rule: AlertRule,
        on: Option<&str>,
    ) -> Result<(), DomainError> {
        for (incident, _) in incidents::resolve(&self.db, workflow, rule, on).await? {
            let title = format!("Resolved: “{}”: {}", subject.name, headline(rule));
            let body = "The condition cleared: the workflow's runs are fine again.";
            self.notify(
                workflow,
                subject,
                Some(incident),
                "resolved",
                &title,
                body,
                Some(rule),
            )
            .await?;
        }
        Ok(())
    }

    async fn pause(
        &self,
        workflow: Uuid,
        subject: &Subject,
        reason: &str,
    ) -> Result<(), DomainError> {
        if subject.status != WorkflowStatus::Active.as_str() {
            return Ok(());
        }
        let reason = format!("Paused automatically: {reason}.");
        let paused = crate::workflows::change_status_because(
            &self.db,
            self.engine.catalogue(),
            subject.owner,
            workflow,
            WorkflowStatus::Paused,
            Some(&reason),
        )
        .await;
        match paused {
            Ok(_) => {}
            // Paused meanwhile (by its owner or another instance).
            Err(DomainError::Conflict(_)) => return Ok(()),
            Err(error) => return Err(error),
        }
        let hooks = Hooks {
            db: &self.db,
            connections: &self.connections,
            vault: &self.workflow_secrets,
            public_url: &self.public_url,
        };
        if let Err(error) = hooks.deactivate(subject.owner, workflow).await {
            tracing::warn!(%error, %workflow, "could not remove the provider webhook of a paused workflow");
        }
        tracing::info!(workflow_id = %workflow, %reason, "workflow paused automatically");
        let title = format!("Paused: “{}”", subject.name);
        let body = format!(
            "{reason} Its queued runs are held, not lost, and continue when you resume it."
        );
        self.notify(workflow, subject, None, "paused", &title, &body, None)
            .await
    }

    /// Tells the owner: in the inbox, and on each enabled channel (in the
    /// background, with retries).
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        workflow: Uuid,
        subject: &Subject,
        incident: Option<Uuid>,
        kind: &str,
        title: &str,
        body: &str,
        rule: Option<AlertRule>,
    ) -> Result<(), DomainError> {
        notifications::insert(
            &self.db,
            notifications::NewNotification {
                owner: subject.owner,
                kind,
                title,
                body,
                workflow: Some(workflow),
                incident,
            },
        )
        .await?;
        let message = channels::Message {
            kind: match kind {
                "alert" => "alert.fired",
                "resolved" => "alert.resolved",
                _ => "workflow.paused",
            }
            .into(),
            title: title.to_owned(),
            body: body.to_owned(),
            workflow_id: Some(workflow),
            incident_id: incident,
            rule: rule.map(|r| r.as_str().to_owned()),
            link: Some(format!("{}/workflows/{workflow}", self.public_url)),
            created_at: chrono::Utc::now().to_rfc3339(),
        };
        let targets =
            channels::stored_channels(&self.db, &self.channel_vault, subject.owner, true).await?;
        channels::deliver_in_background(&self.db, &self.delivery, targets, message);
        Ok(())
    }
}

fn headline(rule: AlertRule) -> &'static str {
    match rule {
        AlertRule::ErrorRate => "failure rate over its limit",
        AlertRule::ConsecutiveFailures => "runs failing in a row",
        AlertRule::SlowRuns => "runs slower than their limit",
        AlertRule::RateLimited => "rate limited by a provider",
        AlertRule::DeadLetter => "a run went to the dead-letter queue",
        AlertRule::ConnectionRefused => "a connection needs reconnecting",
        AlertRule::MissedSchedule => "a schedule missed its time",
    }
}
