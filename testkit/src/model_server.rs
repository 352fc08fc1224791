//! A local server speaking OpenAI's chat-completions protocol, plain JSON
//! and streamed (server-sent chunks, then `[DONE]`), as OpenAI, Ollama and
//! vLLM do. It answers from a script (the last answer repeats) and keeps
//! every request it received, headers and body.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

/// One scripted answer of the model's server.
#[derive(Clone, Debug)]
pub enum ModelReply {
    /// The assistant's message.
    Content(String),
    /// The assistant's message, after a wait.
    Slow(Duration, String),
    /// An HTTP error status with its JSON body.
    Error(u16, Value),
    /// A 200 whose body is no chat completion at all.
    Garbage(String),
}

/// A request the server received.
#[derive(Clone, Debug)]
pub struct ModelRequest {
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Bytes,
}

#[derive(Default)]
struct Script {
    replies: VecDeque<ModelReply>,
    received: Vec<ModelRequest>,
}

#[derive(Clone)]
pub struct ModelServer {
    pub address: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl ModelServer {
    pub async fn start(replies: Vec<ModelReply>) -> ModelServer {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            received: Vec::new(),
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("model server binds");
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        ModelServer { address, script }
    }

    /// The base URL a client is configured with.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// Replaces the answers still to give.
    pub fn script(&self, replies: Vec<ModelReply>) {
        self.script.lock().unwrap().replies = replies.into();
    }

    pub fn requests(&self) -> Vec<ModelRequest> {
        self.script.lock().unwrap().received.clone()
    }
}

async fn complete(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let reply = {
        let mut script = script.lock().unwrap();
        script.received.push(ModelRequest {
            headers,
            body: body.clone(),
            raw,
        });
        if script.replies.len() > 1 {
            script.replies.pop_front()
        } else {
            script.replies.front().cloned()
        }
    };
    let model = body["model"].as_str().unwrap_or("model").to_owned();
    let streamed = body["stream"] == json!(true);
    match reply {
        None => (StatusCode::NOT_FOUND, "nothing scripted").into_response(),
        Some(ModelReply::Error(status, body)) => {
            (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
        }
        Some(ModelReply::Garbage(text)) => (
            [(
                header::CONTENT_TYPE,
                if streamed {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            )],
            text,
        )
            .into_response(),
        Some(ModelReply::Slow(wait, content)) => {
            tokio::time::sleep(wait).await;
            answer(&model, &content, streamed)
        }
        Some(ModelReply::Content(content)) => answer(&model, &content, streamed),
    }
}

fn answer(model: &str, content: &str, streamed: bool) -> Response {
    if !streamed {
        return Json(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_764_000_000,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
        }))
        .into_response();
    }
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1_764_000_000,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
            })
        )
    };
    let mut body = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    // Pieces of about 200 characters, cut on character boundaries.
    let chars: Vec<char> = content.chars().collect();
    for piece in chars.chunks(200) {
        body.push_str(&chunk(
            json!({"content": piece.iter().collect::<String>()}),
            Value::Null,
        ));
    }
    body.push_str(&chunk(json!({}), json!("stop")));
    body.push_str("data: [DONE]\n\n");
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}
