//! Server-sent events: one run's events (`/executions/{id}/events`, ids are
//! the run's sequence numbers, the whole log from the start unless resumed)
//! and all of a user's runs (`/stream`, ids are log ids, from now unless
//! resumed). Both resume after `Last-Event-ID` without gaps or duplicates:
//! they subscribe to the live bus first, read what the log holds after the
//! client's position, then pass on only live events beyond what was sent.

use std::{collections::VecDeque, convert::Infallible, time::Duration};

use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
    routing::get,
};
use domain::executions::EventEntry;
use engine::store::StoredEvent;
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::ErrorResponse;
use crate::{
    auth::CurrentUser,
    error::ApiError,
    extract::PathId,
    live_hub::{Live, Subscription, TooManyStreams},
    startup::AppState,
};

/// Comments sent while nothing happens, so proxies keep the connection.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a browser waits before reconnecting.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// Events read from the log at a time while catching up.
const PAGE: u64 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/executions/{id}/events", get(execution_events))
        .route("/stream", get(owner_stream))
}

/// One run's events as they happen, from the first (or after `Last-Event-ID`,
/// a sequence number). Each `data` is an event as in `/executions/{id}/log`.
#[utoipa::path(get, path = "/executions/{id}/events", tag = "executions", params(("id" = Uuid, Path),
    ("Last-Event-ID" = Option<i32>, Header, description = "Resume after this sequence number")),
    responses((status = 200, content_type = "text/event-stream", body = EventEntry), (status = 404, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn execution_events(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = last_event_id(&headers)?;
    let feed = Feed::open(&state, user.id(), Scope::Execution(id), after).await?;
    Ok(sse(feed))
}

/// Every event of the signed-in user's runs as it happens, from now (or after
/// `Last-Event-ID`, a log id): what lists and the dashboard follow.
#[utoipa::path(get, path = "/stream", tag = "executions",
    params(("Last-Event-ID" = Option<i64>, Header, description = "Resume after this log id")),
    responses((status = 200, content_type = "text/event-stream", body = EventEntry), (status = 401, body = ErrorResponse), (status = 429, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn owner_stream(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = last_event_id(&headers)?;
    let feed = Feed::open(&state, user.id(), Scope::Owner, after).await?;
    Ok(sse(feed))
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::BadRequest("header `Last-Event-ID`: expected a non-negative number".into())
        })
}

fn sse(feed: Feed) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first = Event::default()
        .retry(RECONNECT_AFTER)
        .comment("stream open");
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    let stream = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok(first) }),
        events,
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

#[derive(Clone, Copy)]
enum Scope {
    Execution(Uuid),
    Owner,
}

/// The position of events in one stream, and which events belong to it.
struct Feed {
    db: DatabaseConnection,
    owner: Uuid,
    scope: Scope,
    /// Position of the last event sent (a sequence number or a log id).
    sent: i64,
    backlog: VecDeque<EventEntry>,
    /// The owner's events only; holds one of the owner's stream slots.
    live: Subscription,
    stop: watch::Receiver<bool>,
}

impl Feed {
    async fn open(
        state: &AppState,
        owner: Uuid,
        scope: Scope,
        after: Option<i64>,
    ) -> Result<Feed, ApiError> {
        let live = state
            .live
            .subscribe(owner)
            .map_err(|TooManyStreams { limit }| ApiError::TooManyStreams { limit })?;
        let mut feed = Feed {
            db: state.context.db.clone(),
            owner,
            scope,
            sent: 0,
            backlog: VecDeque::new(),
            live,
            stop: state.streams_stop.subscribe(),
        };
        match (scope, after) {
            (Scope::Execution(_), after) => feed.sent = after.unwrap_or(0),
            (Scope::Owner, Some(after)) => feed.sent = after,
            // From now: the newest log id this user can see is where it starts.
            (Scope::Owner, None) => {
                feed.sent = i64::MAX;
                return Ok(feed);
            }
        }
        // An unknown or foreign run fails here, before the stream starts.
        feed.read_log().await?;
        Ok(feed)
    }

    fn position(&self, event: &EventEntry) -> i64 {
        match self.scope {
            Scope::Execution(_) => i64::from(event.seq),
            Scope::Owner => event.id,
        }
    }

    fn belongs(&self, event: &StoredEvent) -> bool {
        // The hub routes by owner; checked again since it costs nothing.
        event.row.owner_id == self.owner
            && match self.scope {
                Scope::Execution(id) => event.row.execution_id == id,
                Scope::Owner => true,
            }
    }

    /// Queues the log's events after the last one sent (one page).
    async fn read_log(&mut self) -> Result<(), ApiError> {
        let page = match self.scope {
            Scope::Execution(id) => {
                let after = i32::try_from(self.sent).unwrap_or(i32::MAX);
                domain::executions::events(&self.db, self.owner, id, after, PAGE).await?
            }
            Scope::Owner => {
                domain::executions::owner_events_after(&self.db, self.owner, self.sent, PAGE)
                    .await?
            }
        };
        self.backlog.extend(page);
        Ok(())
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.backlog.pop_front() {
                let position = self.position(&event);
                if position > self.sent {
                    self.sent = position;
                    if self.backlog.is_empty() && self.read_log().await.is_err() {
                        return None;
                    }
                    return Some(to_sse(position, &event));
                }
                continue;
            }
            let received = tokio::select! {
                received = self.live.receiver.recv() => received,
                _ = self.stop.wait_for(|stop| *stop) => return None,
            };
            match received {
                Ok(Live::Event(event)) if self.belongs(&event) => {
                    let entry = entry(&event);
                    let position = self.position(&entry);
                    if self.sent == i64::MAX || position > self.sent {
                        self.sent = position;
                        return Some(to_sse(position, &entry));
                    }
                }
                Ok(Live::Event(_)) => {}
                Ok(Live::Notification(notification)) => {
                    if matches!(self.scope, Scope::Owner) && notification.owner_id == self.owner {
                        let unread = domain::alerts::unread(&self.db, self.owner)
                            .await
                            .unwrap_or(0);
                        let data =
                            serde_json::json!({ "notification": *notification, "unread": unread });
                        return Some(
                            Event::default()
                                .event("notification")
                                .data(data.to_string()),
                        );
                    }
                }
                // This stream or the hub fell behind: the log has everything missed.
                Ok(Live::Lagged) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    if self.sent == i64::MAX || self.read_log().await.is_err() {
                        // Nothing to resume from; the client reconnects with
                        // its Last-Event-ID.
                        return None;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

fn entry(event: &StoredEvent) -> EventEntry {
    EventEntry {
        id: event.id,
        execution_id: event.row.execution_id,
        seq: event.row.seq,
        kind: event.row.kind.clone(),
        data: event.row.data.clone(),
        at: engine::time::to_rfc3339(event.row.created_at),
    }
}

fn to_sse(position: i64, entry: &EventEntry) -> Event {
    let data = serde_json::to_string(entry).unwrap_or_else(|_| "{}".into());
    Event::default().id(position.to_string()).data(data)
}
