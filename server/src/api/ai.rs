//! `/ai`: the AI builder. A description becomes an analysis (trigger,
//! intents, entities, providers) or a draft workflow with explanations,
//! the connections it still needs, the values left to the user and what
//! could not be understood. Each call has a streaming variant that sends
//! the planner's progress as server-sent events, then the answer.

use std::{convert::Infallible, sync::Arc};

use axum::{
    Json, Router,
    extract::State,
    response::sse::{Event, Sse},
    routing::post,
};
use domain::ai::{
    Change, ChangeRequest, Description, NextRequest, Planning,
    llm::{LanguageModel, ProgressSink, report},
};
use futures_util::{Stream, StreamExt, stream};
use model::ai::{Analysis, Generated, Modification, Progress, Suggestion};
use serde::Serialize;

use super::ErrorResponse;
use crate::{
    auth::{
        CurrentUser,
        throttle::{AI_USER, Throttle},
    },
    error::ApiError,
    extract::ApiJson,
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ai/analyze", post(analyze))
        .route("/ai/analyze/stream", post(analyze_stream))
        .route("/ai/generate", post(generate))
        .route("/ai/generate/stream", post(generate_stream))
        .route("/ai/modify", post(modify))
        .route("/ai/modify/stream", post(modify_stream))
        .route("/ai/suggest-next", post(suggest_next))
        .route("/ai/suggest-next/stream", post(suggest_next_stream))
}

/// A change to a workflow: an `instruction` in plain English becomes
/// patch operations on its node ids (add_node, remove_node, set_config,
/// connect, disconnect, insert_between); `operations` are applied as they
/// are. Either way the answer holds the operations and the workflow they
/// make; a change that would break the workflow is refused (422) with the
/// problems, and nothing is saved.
#[utoipa::path(post, path = "/ai/modify", tag = "ai", request_body = ChangeRequest,
    responses((status = 200, body = Modification), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn modify(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ChangeRequest>,
) -> Result<Json<Modification>, ApiError> {
    Ok(Json(changing(&state, &user, body).await?.run(&None).await?))
}

/// `/ai/modify` as server-sent events: `progress`, then `result`.
#[utoipa::path(post, path = "/ai/modify/stream", tag = "ai", request_body = ChangeRequest,
    responses((status = 200, description = "`event: progress`, then `event: result` with the change", content_type = "text/event-stream"),
        (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn modify_stream(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ChangeRequest>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job = changing(&state, &user, body).await?;
    Ok(streamed(async move |sink| job.run(&sink).await))
}

/// A change to make, checked and counted before any work starts.
struct Changing {
    planning: Planning,
    body: ChangeRequest,
    llm: Option<Arc<LanguageModel>>,
}

impl Changing {
    async fn run(self, sink: &ProgressSink) -> Result<Modification, ApiError> {
        let change = self.body.checked()?;
        let answer = match (&self.llm, &change) {
            (Some(llm), Change::Instruction { text, timezone }) => {
                llm.change(&self.planning, &self.body.workflow, text, timezone, sink)
                    .await
            }
            _ => {
                report(sink, "understanding", "Understanding the change");
                let answer = self.planning.change(&self.body.workflow, &change);
                report(sink, "checking", "Checking the changed workflow");
                answer
            }
        };
        match domain::ai::refused(&answer) {
            Some(error) => Err(error.into()),
            None => Ok(answer),
        }
    }
}

async fn changing(
    state: &AppState,
    user: &CurrentUser,
    body: ChangeRequest,
) -> Result<Changing, ApiError> {
    body.checked()?;
    let llm = body.language_model(state.llm.as_ref())?.cloned();
    count(&state.throttle, user)?;
    Ok(Changing {
        planning: planning(state, user).await?,
        body,
        llm,
    })
}

/// Likely next steps after a node, best first, each with the config it
/// would get (mapped from the steps before it) and why.
#[utoipa::path(post, path = "/ai/suggest-next", tag = "ai", request_body = NextRequest,
    responses((status = 200, body = Suggestions), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn suggest_next(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<NextRequest>,
) -> Result<Json<Suggestions>, ApiError> {
    Ok(Json(suggestions(&state, &user, &body).await?))
}

/// `/ai/suggest-next` as server-sent events: `progress`, then `result`.
#[utoipa::path(post, path = "/ai/suggest-next/stream", tag = "ai", request_body = NextRequest,
    responses((status = 200, description = "`event: progress`, then `event: result` with the suggestions", content_type = "text/event-stream"),
        (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn suggest_next_stream(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<NextRequest>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let answer = suggestions(&state, &user, &body).await?;
    Ok(streamed(async move |sink| {
        report(&sink, "understanding", "Reading the workflow");
        Ok::<_, ApiError>(answer)
    }))
}

/// The suggestions for one node.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Suggestions {
    pub suggestions: Vec<Suggestion>,
}

async fn suggestions(
    state: &AppState,
    user: &CurrentUser,
    body: &NextRequest,
) -> Result<Suggestions, ApiError> {
    count(&state.throttle, user)?;
    let planning = planning(state, user).await?;
    Ok(Suggestions {
        suggestions: planning.suggest_next(&body.workflow, &body.node_id)?,
    })
}

/// Reads a description: the trigger, what is to be done, the literal
/// values, the providers involved (with confidence and alternatives), what
/// is unknown, and a question when the description is too vague.
#[utoipa::path(post, path = "/ai/analyze", tag = "ai", request_body = Description,
    responses((status = 200, body = Analysis), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn analyze(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Description>,
) -> Result<Json<Analysis>, ApiError> {
    Ok(Json(analysis(&state, &user, &body).await?))
}

/// Drafts a workflow from a description. The draft passes the editor's
/// validation except for what the answer lists as left to the user: the
/// connections to create (`missing_connections`) and the values the
/// description did not give (`needs_input`). Nothing is saved.
#[utoipa::path(post, path = "/ai/generate", tag = "ai", request_body = Description,
    responses((status = 200, body = Generated), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn generate(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Description>,
) -> Result<Json<Generated>, ApiError> {
    Ok(Json(draft(&state, &user, &body).await?))
}

/// `/ai/analyze` as server-sent events: `progress` events, then `result`.
#[utoipa::path(post, path = "/ai/analyze/stream", tag = "ai", request_body = Description,
    responses((status = 200, description = "`event: progress` with `{stage, message}`, then `event: result` with the analysis", content_type = "text/event-stream"),
        (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn analyze_stream(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Description>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let answer = analysis(&state, &user, &body).await?;
    Ok(streamed(async move |sink| {
        report(&sink, "understanding", "Understanding the description");
        Ok::<_, ApiError>(answer)
    }))
}

/// `/ai/generate` as server-sent events: `progress` events as the planner
/// works (understanding, choosing_apis, drafting, checking, repairing,
/// falling_back, done), then `result` with the draft. Closing the stream
/// cancels the planning.
#[utoipa::path(post, path = "/ai/generate/stream", tag = "ai", request_body = Description,
    responses((status = 200, description = "`event: progress` with `{stage, message}`, then `event: result` with the draft", content_type = "text/event-stream"),
        (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn generate_stream(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Description>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job = drafting(&state, &user, &body).await?;
    Ok(streamed(async move |sink| {
        Ok::<_, ApiError>(job.run(&sink).await)
    }))
}

async fn analysis(
    state: &AppState,
    user: &CurrentUser,
    body: &Description,
) -> Result<Analysis, ApiError> {
    let (prompt, timezone) = body.checked()?;
    count(&state.throttle, user)?;
    Ok(planning(state, user).await?.analyze(prompt, timezone))
}

/// A draft to make, checked and counted before any work starts (so a
/// stream never begins for a request that is refused).
struct Drafting {
    planning: Planning,
    prompt: String,
    timezone: String,
    llm: Option<Arc<LanguageModel>>,
}

impl Drafting {
    async fn run(self, sink: &ProgressSink) -> Generated {
        match &self.llm {
            Some(llm) => {
                llm.generate(&self.planning, &self.prompt, &self.timezone, sink)
                    .await
            }
            None => {
                report(sink, "understanding", "Understanding the description");
                let draft = self.planning.generate(&self.prompt, &self.timezone);
                report(sink, "checking", "Checking the draft");
                draft
            }
        }
    }
}

async fn drafting(
    state: &AppState,
    user: &CurrentUser,
    body: &Description,
) -> Result<Drafting, ApiError> {
    let (prompt, timezone) = body.checked()?;
    let llm = body.language_model(state.llm.as_ref())?.cloned();
    count(&state.throttle, user)?;
    Ok(Drafting {
        planning: planning(state, user).await?,
        prompt: prompt.to_owned(),
        timezone: timezone.to_owned(),
        llm,
    })
}

async fn draft(
    state: &AppState,
    user: &CurrentUser,
    body: &Description,
) -> Result<Generated, ApiError> {
    Ok(drafting(state, user, body).await?.run(&None).await)
}

/// Counts a call against the account's limit.
fn count(throttle: &std::sync::Arc<Throttle>, user: &CurrentUser) -> Result<(), ApiError> {
    let subject = user.id().to_string();
    throttle
        .reserve(&[(AI_USER, &subject)])
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?
        .count();
    Ok(())
}

pub(super) async fn planning(state: &AppState, user: &CurrentUser) -> Result<Planning, ApiError> {
    Ok(Planning::for_owner(
        &state.context.engine,
        &state.context.db,
        &state.connections,
        user.id(),
    )
    .await?)
}

/// Runs the work in a task of its own, streaming its progress as it
/// reports it, then `done` and the answer. When the page goes away, the
/// stream is dropped and the task with it: nothing works on for nobody.
fn streamed<T, F>(
    work: impl FnOnce(ProgressSink) -> F,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    T: Serialize + Send + 'static,
    F: Future<Output = Result<T, ApiError>> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let task = AbortOnDrop(tokio::spawn(work(Some(sender))));
    let events = stream::unfold(Some((receiver, task)), |state| async move {
        let (mut receiver, mut task) = state?;
        if let Some(progress) = receiver.recv().await {
            return Some((vec![progress_event(&progress)], Some((receiver, task))));
        }
        // The work is over once it dropped its sender.
        let answer = match (&mut task.0).await {
            Ok(Ok(answer)) => serde_json::to_string(&answer).unwrap_or_else(|_| "null".into()),
            Ok(Err(error)) => return Some((vec![error_event(&error)], None)),
            Err(error) => {
                let error = ApiError::Internal(format!("the planning task failed: {error}"));
                return Some((vec![error_event(&error)], None));
            }
        };
        Some((
            vec![
                progress_event(&Progress::new("done", "Done")),
                Event::default().event("result").data(answer),
            ],
            None,
        ))
    })
    .flat_map(|events| stream::iter(events.into_iter().map(Ok)));
    Sse::new(events)
}

/// What the request would have answered as an error, as the last event.
fn error_event(error: &ApiError) -> Event {
    Event::default()
        .event("error")
        .data(error.body().to_string())
}

fn progress_event(progress: &Progress) -> Event {
    Event::default()
        .event("progress")
        .data(serde_json::to_string(progress).unwrap_or_default())
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
