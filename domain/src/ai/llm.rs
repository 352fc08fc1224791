//! The language-model planner: a conversation with any OpenAI-compatible
//! chat-completions endpoint (OpenAI, Ollama, vLLM, llama.cpp server).
//! The model gets the briefing the planner retrieves (never a secret),
//! answers JSON (`json_schema` where the server takes it, JSON mode
//! otherwise), and every answer is checked by the allow-list and the
//! editor's validator; problems go back for repair. Whatever goes wrong —
//! a deadline passed, a refusal, a 429, a 500, answers that stay broken —
//! the offline planner's draft is the answer, with the reason.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    types::chat::{
        ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
        ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
        CreateChatCompletionRequest, ResponseFormat, ResponseFormatJsonSchema,
    },
};
use futures_util::StreamExt;
use model::ai::{Generated, Modification, Progress};
use tokio::{sync::mpsc::UnboundedSender, time::Instant};

use super::Planning;

/// How the operator configured the model.
#[derive(Clone, Debug)]
pub struct LlmSettings {
    /// `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1` (Ollama), …
    pub base_url: String,
    /// Sent as the bearer token; empty for servers that need none.
    pub api_key: String,
    pub model: String,
    /// Longest a whole planning (every attempt) may take.
    pub timeout: Duration,
    /// Attempts to repair a draft the checks refuse, after the first.
    pub max_repairs: u32,
}

pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Where progress goes while a planner works (the streaming endpoints).
pub type ProgressSink = Option<UnboundedSender<Progress>>;

pub fn report(sink: &ProgressSink, stage: &str, message: impl Into<String>) {
    if let Some(sink) = sink {
        // The page may have gone: its events have nowhere to go.
        let _ = sink.send(Progress::new(stage, message));
    }
}

pub struct LanguageModel {
    client: Client<OpenAIConfig>,
    settings: LlmSettings,
    /// Cleared once the server refuses `json_schema`: JSON mode from then on.
    json_schema: AtomicBool,
}

impl LanguageModel {
    pub fn new(settings: LlmSettings) -> LanguageModel {
        let config = OpenAIConfig::new()
            .with_api_base(settings.base_url.trim_end_matches('/'))
            .with_api_key(settings.api_key.clone());
        // No retries inside the client: a 429 or a 500 falls back at once
        // instead of waiting out its backoff past the deadline.
        let no_retries = backoff::ExponentialBackoff {
            max_elapsed_time: Some(Duration::ZERO),
            ..Default::default()
        };
        LanguageModel {
            client: Client::with_config(config).with_backoff(no_retries),
            settings,
            json_schema: AtomicBool::new(true),
        }
    }

    /// A draft for a description: the model's, checked, or the offline
    /// planner's with the reason it stood in.
    pub async fn generate(
        &self,
        planning: &Planning,
        prompt: &str,
        timezone: &str,
        progress: &ProgressSink,
    ) -> Generated {
        let deadline = Instant::now() + self.settings.timeout;
        report(progress, "understanding", "Understanding the description");
        let request = planning.request(prompt, timezone);
        let analysis = planner::analyze(&planning.catalog, &request);
        let offline = planner::generate(&planning.catalog, &request);
        let briefing = planner::llm::brief(
            &planning.catalog,
            prompt,
            timezone,
            &planning.connections,
            &analysis,
            &offline,
        );
        report_providers(&analysis, progress);
        let name = planner::workflow_name(prompt);
        let answer = self
            .converse(
                briefing,
                Expecting {
                    what: "the workflow",
                    schema_name: "workflow_draft",
                    schema: planner::llm::reply_schema(),
                },
                deadline,
                progress,
                |text| planner::llm::check(&planning.catalog, &planning.connections, text, &name),
            )
            .await;
        match answer {
            Ok(draft) => draft,
            Err(reason) => {
                announce_fallback(&reason, progress);
                Generated {
                    fallback_reason: Some(reason),
                    ..offline
                }
            }
        }
    }

    /// A described change to `workflow`: the model's operations, applied
    /// and checked, or the offline planner's with the reason.
    pub async fn change(
        &self,
        planning: &Planning,
        workflow: &model::WorkflowDefinition,
        instruction: &str,
        timezone: &str,
        progress: &ProgressSink,
    ) -> Modification {
        let deadline = Instant::now() + self.settings.timeout;
        report(progress, "understanding", "Understanding the change");
        let analysis =
            planner::analyze(&planning.catalog, &planning.request(instruction, timezone));
        let offline = planning.change(
            workflow,
            &super::Change::Instruction {
                text: instruction,
                timezone: timezone.to_owned(),
            },
        );
        let briefing = planner::llm::brief_change(
            &planning.catalog,
            workflow,
            instruction,
            &planning.connections,
            &analysis,
            &offline,
        );
        report_providers(&analysis, progress);
        let answer = self
            .converse(
                briefing,
                Expecting {
                    what: "the change",
                    schema_name: "workflow_change",
                    schema: planner::llm::change_schema(),
                },
                deadline,
                progress,
                |text| {
                    planner::llm::check_change(
                        &planning.catalog,
                        &planning.connections,
                        workflow,
                        text,
                    )
                },
            )
            .await;
        match answer {
            Ok(change) => change,
            Err(reason) => {
                announce_fallback(&reason, progress);
                Modification {
                    fallback_reason: Some(reason),
                    ..offline
                }
            }
        }
    }

    /// Asks, checks, and sends the problems back for repair until an
    /// answer passes, the repairs run out or the deadline passes; an error
    /// is why the model's answer is not the answer.
    async fn converse<T>(
        &self,
        briefing: planner::llm::Briefing,
        expecting: Expecting,
        deadline: Instant,
        progress: &ProgressSink,
        check: impl Fn(&str) -> Result<T, Vec<String>>,
    ) -> Result<T, String> {
        let mut messages = vec![system_message(briefing.system), user_message(briefing.user)];
        let mut remaining = Vec::new();
        for attempt in 0..=self.settings.max_repairs {
            let stage = if attempt == 0 {
                report(
                    progress,
                    "drafting",
                    format!("Drafting {} with {}", expecting.what, self.settings.model),
                );
                "drafting"
            } else {
                report(
                    progress,
                    "repairing",
                    format!(
                        "Repairing {} (attempt {attempt} of {})",
                        expecting.what, self.settings.max_repairs
                    ),
                );
                "repairing"
            };
            let asked = self.complete(&messages, &expecting, stage, progress);
            let text = match tokio::time::timeout_at(deadline, asked).await {
                Err(_) => {
                    return Err(format!(
                        "the model did not answer within {} s",
                        self.settings.timeout.as_secs_f32()
                    ));
                }
                Ok(Err(error)) => return Err(describe(&error)),
                Ok(Ok(text)) => text,
            };
            report(progress, "checking", format!("Checking {}", expecting.what));
            match check(&text) {
                Ok(answer) => return Ok(answer),
                Err(problems) => {
                    tracing::info!(attempt, problems = problems.len(), "model answer refused");
                    messages.push(assistant_message(text));
                    messages.push(user_message(planner::llm::repair_request(&problems)));
                    remaining = problems;
                }
            }
        }
        Err(format!(
            "the model's answer still had problems after {} repair attempt(s): {}",
            self.settings.max_repairs,
            remaining.join("; ")
        ))
    }

    /// One answer of the model: streamed when someone watches progress.
    async fn complete(
        &self,
        messages: &[ChatCompletionRequestMessage],
        expecting: &Expecting,
        stage: &str,
        progress: &ProgressSink,
    ) -> Result<String, OpenAIError> {
        let schema = self.json_schema.load(Ordering::Relaxed);
        match self
            .ask(messages, schema.then_some(expecting), stage, progress)
            .await
        {
            Err(OpenAIError::ApiError(error)) if schema && refuses_schema(&error) => {
                tracing::info!("the model's server takes no json_schema; JSON mode from now on");
                self.json_schema.store(false, Ordering::Relaxed);
                self.ask(messages, None, stage, progress).await
            }
            answer => answer,
        }
    }

    async fn ask(
        &self,
        messages: &[ChatCompletionRequestMessage],
        schema: Option<&Expecting>,
        stage: &str,
        progress: &ProgressSink,
    ) -> Result<String, OpenAIError> {
        let request = CreateChatCompletionRequest {
            model: self.settings.model.clone(),
            messages: messages.to_vec(),
            temperature: Some(0.1),
            response_format: Some(match schema {
                Some(expecting) => ResponseFormat::JsonSchema {
                    json_schema: ResponseFormatJsonSchema {
                        description: Some(format!("Switchyard: {}", expecting.what)),
                        name: expecting.schema_name.into(),
                        schema: Some(expecting.schema.clone()),
                        strict: Some(false),
                    },
                },
                None => ResponseFormat::JsonObject,
            }),
            ..Default::default()
        };
        let chat = self.client.chat();
        if progress.is_none() {
            let response = chat.create(request).await?;
            return Ok(response
                .choices
                .into_iter()
                .next()
                .and_then(|c| c.message.content)
                .unwrap_or_default());
        }
        let mut stream = chat.create_stream(request).await?;
        let mut text = String::new();
        let mut reported = 0;
        while let Some(chunk) = stream.next().await {
            for choice in chunk?.choices {
                if let Some(content) = choice.delta.content {
                    text.push_str(&content);
                }
            }
            if text.len() >= reported + 512 {
                reported = text.len();
                report(
                    progress,
                    stage,
                    format!(
                        "Receiving the model's answer ({:.1} kB so far)",
                        reported as f32 / 1000.0
                    ),
                );
            }
        }
        Ok(text)
    }
}

/// What the model is asked for.
struct Expecting {
    /// "the workflow", "the change": for progress messages.
    what: &'static str,
    schema_name: &'static str,
    schema: serde_json::Value,
}

fn report_providers(analysis: &model::ai::Analysis, progress: &ProgressSink) {
    let names: Vec<&str> = analysis.providers.iter().map(|p| p.name.as_str()).collect();
    report(
        progress,
        "choosing_apis",
        if names.is_empty() {
            "Choosing the APIs".to_owned()
        } else {
            format!("Choosing the APIs: {}", names.join(", "))
        },
    );
}

fn announce_fallback(reason: &str, progress: &ProgressSink) {
    tracing::warn!(%reason, "the offline planner answers instead of the model");
    report(
        progress,
        "falling_back",
        format!("The model could not help ({reason}); using the offline planner"),
    );
}

/// Servers without structured outputs (Ollama's older versions, llama.cpp
/// without grammar support) refuse the response format by name.
fn refuses_schema(error: &async_openai::error::ApiError) -> bool {
    let text = format!(
        "{} {}",
        error.message,
        error.param.as_deref().unwrap_or_default()
    )
    .to_lowercase();
    text.contains("response_format") || text.contains("json_schema")
}

/// Why the model could not answer, for people (no secret: the key is a
/// header, never in these messages).
fn describe(error: &OpenAIError) -> String {
    match error {
        OpenAIError::ApiError(api) => {
            let message: String = api.message.chars().take(300).collect();
            let rate = api.code.as_deref() == Some("rate_limit_exceeded")
                || api.message.to_lowercase().contains("rate limit");
            if rate {
                format!("the model's server is rate limiting requests: {message}")
            } else {
                format!("the model's server answered with an error: {message}")
            }
        }
        OpenAIError::Reqwest(e) if e.is_connect() => {
            "could not connect to the model's server".into()
        }
        OpenAIError::Reqwest(e) => {
            let status = e.status().map(|s| format!(" ({s})")).unwrap_or_default();
            format!("the request to the model's server failed{status}")
        }
        OpenAIError::JSONDeserialize(..) => {
            "the model's server sent something that is not a chat completion".into()
        }
        OpenAIError::StreamError(e) => {
            let message: String = e.to_string().chars().take(300).collect();
            format!("the model's answer stream failed: {message}")
        }
        other => {
            let message: String = other.to_string().chars().take(300).collect();
            format!("the model could not be asked: {message}")
        }
    }
}

fn system_message(text: String) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage::from(text.as_str()))
}

fn user_message(text: String) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage::from(text.as_str()))
}

fn assistant_message(text: String) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage::from(
        text.as_str(),
    ))
}
