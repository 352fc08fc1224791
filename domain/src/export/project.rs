//! The files of an exported project: `package.json`, `tsconfig.json`,
//! `README.md`, the runtime, the workflow's graph (`src/workflow.ts`), its
//! steps, its providers and connections, and the entry point its trigger
//! makes (`src/main.ts`).

use engine::providers;
use model::{OnError, WorkflowDefinition, graph::Graph};
use serde_json::{Value, json};

use super::{
    ConnectionInfo, EnvVar, ExportError, ExportFile, Names, RUNTIME,
    connections::{Bindings, env_name},
    steps::{self, json as literal},
};

/// TypeScript and the Node types the project builds with (those the
/// tests type-check it with).
const TYPESCRIPT: &str = "5.9.3";
const NODE_TYPES: &str = "20.19.43";

/// How the workflow starts.
enum Start {
    Manual,
    Webhook { secret_env: Option<String> },
    Schedule,
    Event,
}

fn start_of(def: &WorkflowDefinition) -> Result<(usize, Start), ExportError> {
    let (index, node) = def
        .nodes
        .iter()
        .enumerate()
        .find(|(_, n)| n.kind.ends_with("trigger"))
        .ok_or_else(|| ExportError {
            node: String::new(),
            field: String::new(),
            construct: "a workflow without a trigger".into(),
        })?;
    // A webhook's secret is part of its signature settings; a provider
    // trigger's is its own field.
    let has_secret = [
        node.config.pointer("/signature/secret"),
        node.config.get("secret"),
    ]
    .into_iter()
    .flatten()
    .any(|s| s.as_str().is_some_and(|s| !s.trim().is_empty()));
    let start = match node.kind.as_str() {
        "manual_trigger" => Start::Manual,
        "schedule_trigger" => Start::Schedule,
        "event_trigger" => Start::Event,
        "webhook_trigger" => Start::Webhook {
            secret_env: has_secret.then(|| "WEBHOOK_SECRET".to_owned()),
        },
        kind => {
            let provider = providers::trigger_provider(kind).ok_or_else(|| ExportError {
                node: node.id.clone(),
                field: "kind".into(),
                construct: format!("the trigger `{kind}`"),
            })?;
            Start::Webhook {
                secret_env: Some(format!("{}_WEBHOOK_SECRET", env_name(&provider.id))),
            }
        }
    };
    Ok((index, start))
}

pub fn files(
    workflow_id: &str,
    def: &WorkflowDefinition,
    connections: &[ConnectionInfo],
    imported: &[providers::Provider],
) -> Result<Vec<ExportFile>, ExportError> {
    let (trigger, start) = start_of(def)?;
    let names = Names::new(def);
    let bindings = Bindings::new(def, connections, imported);
    for node in &def.nodes {
        if bindings.chosen_by_expression(node) {
            return Err(ExportError {
                node: node.id.clone(),
                field: if node.kind == "http_request" {
                    "connection_id"
                } else {
                    "connection"
                }
                .into(),
                construct: "a connection chosen by an expression".into(),
            });
        }
    }
    let mut step_code = Vec::new();
    for (index, node) in def.nodes.iter().enumerate() {
        if index != trigger {
            step_code.push(steps::step(node, &names, &bindings)?);
        }
    }
    let mut variables = bindings.variables();
    variables.extend(step_secrets(def, trigger));
    let mut out = vec![
        file("package.json", package_json(def)),
        file("tsconfig.json", TSCONFIG.to_owned()),
        file("src/steps.ts", steps_file(&step_code)),
        file(
            "src/workflow.ts",
            workflow_file(workflow_id, def, &names, trigger),
        ),
        file("src/connections.ts", bindings.code()),
        file("src/providers.ts", providers_file(def, &bindings)),
        file("src/main.ts", main_file(def, trigger, &start)?),
    ];
    if let Start::Webhook {
        secret_env: Some(name),
    } = &start
    {
        variables.push(EnvVar {
            name: name.clone(),
            about: "The trigger's signing secret: deliveries whose signature does not match are refused.".into(),
            secret: true,
            required: true,
            current: None,
        });
    }
    out.push(file(
        "README.md",
        super::project_readme::readme(def, &start_text(&start), &variables, &bindings),
    ));
    for (name, contents) in RUNTIME {
        out.push(file(
            &format!("src/switchyard/{name}"),
            (*contents).to_owned(),
        ));
    }
    for (files, needed) in [
        (
            super::WEBHOOK_RUNTIME,
            matches!(start, Start::Webhook { .. }),
        ),
        (super::SCHEDULE_RUNTIME, matches!(start, Start::Schedule)),
        (super::EVENTS_RUNTIME, matches!(start, Start::Event)),
        (
            super::SMTP_RUNTIME,
            step_code.iter().any(|code| code.contains("smtp.")),
        ),
    ] {
        if needed {
            for (name, contents) in files {
                out.push(file(
                    &format!("src/switchyard/{name}"),
                    (*contents).to_owned(),
                ));
            }
        }
    }
    Ok(out)
}

fn file(path: &str, contents: String) -> ExportFile {
    ExportFile {
        path: path.to_owned(),
        contents,
    }
}

/// Secrets written into steps (an HTTP request's own credentials, an
/// `Authorization` header).
fn step_secrets(def: &WorkflowDefinition, trigger: usize) -> Vec<EnvVar> {
    let mut out = Vec::new();
    for (index, node) in def.nodes.iter().enumerate() {
        if index == trigger {
            continue;
        }
        for path in steps::secret_literals(node) {
            out.push(EnvVar {
                name: steps::step_secret_name(&node.id, &path),
                about: format!(
                    "The `{}` written into the step `{}`.",
                    path.join("."),
                    node.id
                ),
                secret: true,
                required: true,
                current: None,
            });
        }
    }
    out
}

fn start_text(start: &Start) -> String {
    match start {
        Start::Manual => "by hand: `node dist/main.js input.json` (or the input as JSON text, or `-` for standard input; none means `{}`)".into(),
        Start::Webhook { .. } => "from webhooks: `node dist/main.js` serves them on `PORT` (default 3000), on any path".into(),
        Start::Schedule => "on its schedule: `node dist/main.js` keeps running and starts a run at each fire time".into(),
        Start::Event => "from events: `node dist/main.js` accepts `POST /events` with `{\"type\", \"source\", \"data\"}` on `PORT` (default 3000)".into(),
    }
}

fn package_json(def: &WorkflowDefinition) -> String {
    let slug: String = env_name(&def.name).to_ascii_lowercase().replace('_', "-");
    let value = json!({
        "name": slug,
        "version": "1.0.0",
        "private": true,
        "description": if def.description.is_empty() { def.name.clone() } else { def.description.clone() },
        "license": "UNLICENSED",
        "engines": { "node": ">=20" },
        "scripts": {
            "build": "tsc",
            "check": "tsc --noEmit",
            "start": "node dist/main.js",
            "run-once": "node dist/main.js run"
        },
        "devDependencies": { "typescript": TYPESCRIPT, "@types/node": NODE_TYPES }
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

const TSCONFIG: &str = r#"{
  "compilerOptions": {
    "target": "ES2022",
    "module": "commonjs",
    "lib": ["ES2022"],
    "types": ["node"],
    "strict": true,
    "esModuleInterop": true,
    "skipLibCheck": true,
    "outDir": "dist",
    "rootDir": "src"
  },
  "include": ["src"]
}
"#;

fn steps_file(functions: &[String]) -> String {
    let code = functions.concat();
    let uses = |marker: &str| code.contains(marker);
    let mut out = String::from(
        "// One function per step of the workflow. Each builds its configuration\n\
         // from the trigger and earlier steps (`ctx`), then does what its kind does.\n\
         // Failures are thrown as StepError; run.ts retries and routes them.\n\n\
         import * as x from \"./switchyard/expressions\";\n",
    );
    // Only the modules the steps use.
    for (marker, import) in [
        ("k.", "import * as k from \"./switchyard/kinds\";"),
        ("http.", "import * as http from \"./switchyard/http\";"),
        (
            "actions.",
            "import * as actions from \"./switchyard/actions\";",
        ),
        ("smtp.", "import * as smtp from \"./switchyard/smtp\";"),
        ("env(", "import { env } from \"./switchyard/env\";"),
        (
            "connections.",
            "import * as connections from \"./connections\";",
        ),
        ("providers.", "import * as providers from \"./providers\";"),
    ] {
        if uses(marker) {
            out.push_str(import);
            out.push('\n');
        }
    }
    out.push_str(if uses("done(") {
        "import { done, type Outcome, type StepCall } from \"./switchyard/run\";\n"
    } else {
        "import type { Outcome, StepCall } from \"./switchyard/run\";\n"
    });
    out.push_str("\ntype Config = { [key: string]: x.Json };\n");
    for function in functions {
        out.push('\n');
        out.push_str(function);
    }
    out
}

fn workflow_file(
    workflow_id: &str,
    def: &WorkflowDefinition,
    names: &Names,
    trigger: usize,
) -> String {
    let graph = Graph::new(def);
    let frames = graph.innermost_loops();
    let mut out = String::from(
        "// The workflow's graph: its steps (with their retry policy and what a\n\
         // failure does) and the edges between them, from the port that fires.\n\n\
         import type { Workflow } from \"./switchyard/run\";\n\
         import * as steps from \"./steps\";\n\n",
    );
    out.push_str(&format!(
        "export const workflow: Workflow = {{\n  id: {},\n  name: {},\n  steps: [\n",
        literal(&workflow_id),
        literal(&def.name)
    ));
    for (index, node) in def.nodes.iter().enumerate() {
        let retry = def.retry_policy(node);
        let on_error = match def.on_error(node) {
            OnError::Fail => "fail",
            OnError::Continue => "continue",
            OnError::Route => "route",
        };
        let run = if index == trigger {
            "async () => { throw new Error(\"a trigger is not run\"); }".to_owned()
        } else {
            format!("steps.{}", names.function(&node.id))
        };
        out.push_str(&format!(
            "    {{\n      id: {},\n      kind: {},\n      label: {},\n      isTrigger: {},\n      frame: {},\n      retry: {{ maxAttempts: {}, initialDelayMs: {}, factor: {}, maxDelayMs: {}, jitter: {} }},\n      onError: {},\n      run: {run},\n    }},\n",
            literal(&node.id),
            literal(&node.kind),
            literal(&node.label),
            index == trigger,
            frames[index].map_or("null".to_owned(), |f| literal(&def.nodes[f].id)),
            retry.max_attempts,
            retry.initial_delay_ms,
            retry.factor,
            retry.max_delay_ms,
            retry.jitter,
            literal(&on_error),
        ));
    }
    out.push_str("  ],\n  edges: [\n");
    for edge in &def.edges {
        out.push_str(&format!(
            "    {{ source: {}, port: {}, target: {} }},\n",
            literal(&edge.source),
            literal(&edge.source_port),
            literal(&edge.target)
        ));
    }
    out.push_str("  ],\n");
    if let Some(ms) = def.settings.timeout_ms {
        out.push_str(&format!("  timeoutMs: {ms},\n"));
    }
    out.push_str("};\n");
    out
}

fn providers_file(def: &WorkflowDefinition, bindings: &Bindings) -> String {
    let mut used: Vec<&providers::Provider> = Vec::new();
    for node in &def.nodes {
        if let Some((id, action)) = node.kind.split_once('.')
            && action != "trigger"
            && let Some(provider) = bindings.provider(id)
            && provider.protocol == providers::Protocol::Http
            && !used.iter().any(|p| p.id == provider.id)
        {
            used.push(provider);
        }
    }
    let mut out = String::from(
        "// The APIs the workflow calls, as Switchyard declares them: base URL,\n\
         // default headers, authentication and how each reports errors.\n\n\
         import type { Provider } from \"./switchyard/http\";\n",
    );
    if used.iter().any(|p| p.connection.derive.is_some()) {
        out.push_str("import { derive } from \"./switchyard/prepare\";\n");
    }
    for provider in used {
        let errors = &provider.errors;
        let codes: Vec<Value> = errors
            .codes
            .iter()
            .map(|(code, class)| json!([code, class]))
            .collect();
        let derive = if provider.connection.derive.is_some() {
            format!("\n  derive: derive[{}],", literal(&provider.id))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "\nexport const {}: Provider = {{\n  id: {},\n  name: {},\n  baseUrl: {},\n  headers: {},\n  auth: {},\n  errors: {{ messageAt: {}, inBody: {}, codes: {} }},\n  idempotentPosts: {},{derive}\n}};\n",
            steps::ident(&provider.id),
            literal(&provider.id),
            literal(&provider.name),
            literal(&provider.base_url),
            literal(&provider.headers.iter().map(|(n, v)| [n.to_ascii_lowercase(), v.to_string()]).collect::<Vec<_>>()),
            literal(&provider.connection.auth),
            literal(&errors.message_at),
            literal(&errors.in_body),
            literal(&codes),
            provider.idempotent_posts,
        ));
    }
    out
}

fn main_file(
    def: &WorkflowDefinition,
    trigger: usize,
    start: &Start,
) -> Result<String, ExportError> {
    let node = &def.nodes[trigger];
    let mut config = node.config.clone();
    if let Some(map) = config.as_object_mut() {
        // Secrets come from the environment; the connection registers hooks
        // in Switchyard only.
        map.remove("secret");
        map.remove("connection");
        if let Some(Value::Object(signature)) = map.get_mut("signature") {
            signature.remove("secret");
        }
    }
    let entry = match start {
        Start::Manual => "  await once(readPayload(command));\n  // Requests a deadline cut short are not waited for.\n  process.exit();\n".to_owned(),
        Start::Webhook { secret_env } => format!(
            "  const trigger: WebhookTrigger = {{ kind: {}, config: {}, secret: {} }};\n  const server = await serve(trigger, start, Number(process.env.PORT ?? 3000), process.env.HOST);\n  const address = server.address();\n  console.log(`listening for webhooks on port ${{typeof address === \"object\" && address ? address.port : address}}`);\n",
            literal(&node.kind),
            literal(&config),
            secret_env
                .as_ref()
                .map_or("undefined".to_owned(), |name| format!("process.env.{name}"))
        ),
        Start::Schedule => format!(
            "  await runSchedule({}, async (payload) => {{\n    await once(payload);\n  }});\n",
            literal(&json!({
                "cron": config.get("cron").cloned().unwrap_or(Value::Null),
                "timezone": config.get("timezone").cloned().unwrap_or(json!("UTC")),
                "missed": config.get("missed").cloned().unwrap_or(json!("skip")),
            }))
        ),
        Start::Event => {
            let filter = match config.get("filter") {
                Some(Value::String(text)) if !text.trim().is_empty() => {
                    super::expression::value_in(
                        &Value::String(text.clone()),
                        &["type", "source", "data"],
                    )
                    .map_err(|e| ExportError {
                        node: node.id.clone(),
                        field: "filter".into(),
                        construct: e.0,
                    })?
                }
                _ => "true".to_owned(),
            };
            format!(
                "  const server = await serveEvents({}, (ctx) => x.truthy({filter}), start, Number(process.env.PORT ?? 3000), process.env.HOST);\n  const address = server.address();\n  console.log(`listening for events on port ${{typeof address === \"object\" && address ? address.port : address}}`);\n",
                literal(&config.get("type").cloned().unwrap_or(Value::Null)),
            )
        }
    };
    let imports = match start {
        Start::Manual => "",
        Start::Webhook { .. } => {
            "import { serve, type WebhookTrigger } from \"./switchyard/webhook\";\n"
        }
        Start::Schedule => "import { runSchedule } from \"./switchyard/schedule\";\n",
        Start::Event => {
            "import { serveEvents } from \"./switchyard/events\";\nimport * as x from \"./switchyard/expressions\";\n"
        }
    };
    let starts = match start {
        Start::Webhook { .. } | Start::Event => MAIN_START,
        Start::Manual | Start::Schedule => "",
    };
    Ok(format!(
        "{MAIN_HEAD}{imports}\n{MAIN_BODY}{starts}\nasync function main(): Promise<void> {{\n  const [command, argument] = process.argv.slice(2);\n  if (command === \"run\") {{\n    await once(readPayload(argument));\n    // Requests a deadline cut short are not waited for.\n    process.exit();\n  }}\n{entry}}}\n\nmain().catch((error: unknown) => {{\n  console.error(error);\n  process.exitCode = 1;\n}});\n"
    ))
}

const MAIN_HEAD: &str = "// The entry point. `node dist/main.js run [input]` runs the workflow once\n\
// on a trigger payload (a file, JSON text, or `-` for standard input) and\n\
// prints the run as JSON; without `run`, the trigger starts runs.\n\n\
import { randomUUID } from \"node:crypto\";\n\
import { readFileSync } from \"node:fs\";\n\
import type { Json } from \"./switchyard/expressions\";\n\
import { run, type RunResult } from \"./switchyard/run\";\n\
import { workflow } from \"./workflow\";\n";

const MAIN_BODY: &str = "function readPayload(argument: string | undefined): Json {\n\
  if (argument === undefined) return {};\n\
  if (argument === \"-\") return JSON.parse(readFileSync(0, \"utf8\")) as Json;\n\
  const text = argument.trim();\n\
  if (text.startsWith(\"{\") || text.startsWith(\"[\")) return JSON.parse(text) as Json;\n\
  return JSON.parse(readFileSync(argument, \"utf8\")) as Json;\n\
}\n\n\
/** Runs once and prints the run; a failed run sets the exit code. */\n\
async function once(payload: Json, executionId?: string): Promise<RunResult> {\n\
  const result = await run(workflow, payload, { executionId });\n\
  process.stdout.write(`${JSON.stringify(result)}\\n`);\n\
  if (result.status !== \"succeeded\") process.exitCode = 1;\n\
  return result;\n\
}\n";

/// What webhook and event servers start runs with.
const MAIN_START: &str = "\n/** Deliveries already started, by idempotency key: a redelivery starts no second run. */\n\
const started = new Map<string, string>();\n\n\
/** Starts a run for a delivery; answers before it ends. */\n\
async function start(delivery: { payload: Json; idempotencyKey?: string }) {\n\
  const known = delivery.idempotencyKey === undefined ? undefined : started.get(delivery.idempotencyKey);\n\
  if (known !== undefined) {\n\
    return { executionId: known, created: false, finished: new Promise<never>(() => {}) };\n\
  }\n\
  const executionId = randomUUID();\n\
  if (delivery.idempotencyKey !== undefined) started.set(delivery.idempotencyKey, executionId);\n\
  const finished = once(delivery.payload, executionId).then((result) => ({\n\
    status: result.status,\n\
    output: [...result.steps].reverse().find((s) => s.status === \"succeeded\" && s.item === \"\")?.output ?? null,\n\
  }));\n\
  return { executionId, created: true, finished };\n\
}\n";
