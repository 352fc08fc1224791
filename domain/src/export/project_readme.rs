//! `README.md` of an exported project: what the workflow does, how to
//! build and start it, every environment variable it reads (never a
//! secret's value), and where the code differs from Switchyard running it.

use model::WorkflowDefinition;

use super::{EnvVar, connections::Bindings};

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn readme(
    def: &WorkflowDefinition,
    start: &str,
    variables: &[EnvVar],
    bindings: &Bindings,
) -> String {
    let mut out = format!("# {}\n\n", def.name);
    if !def.description.is_empty() {
        out.push_str(&format!("{}\n\n", def.description));
    }
    out.push_str(
        "Exported from Switchyard as a standalone TypeScript project. It needs\n\
         Node.js 20 or later and nothing else at run time.\n\n\
         ## Build and run\n\n\
         ```sh\n\
         npm install        # TypeScript and Node's types, to build\n\
         npm run build      # compiles src/ to dist/\n\
         node dist/main.js run input.json   # one run on a trigger payload; prints the run as JSON\n\
         ```\n\n",
    );
    out.push_str(&format!("The workflow starts {start}.\n\n"));
    out.push_str("## Environment variables\n\n");
    if variables.is_empty() {
        out.push_str("None: the workflow uses no connections or secrets.\n\n");
    } else {
        out.push_str(
            "Connections and secrets are read from the environment when a step\n\
             needs them; none of their values were exported.\n\n\
             | Variable | What | Secret | Required | Value in Switchyard |\n\
             |---|---|---|---|---|\n",
        );
        for var in variables {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                var.name,
                cell(&var.about),
                if var.secret { "yes" } else { "no" },
                if var.required { "yes" } else { "no" },
                var.current
                    .as_deref()
                    .map_or("".to_owned(), |v| format!("`{}`", cell(v))),
            ));
        }
        out.push('\n');
        if bindings.all().any(|b| b.missing) {
            out.push_str(
                "Some steps had no connection chosen in Switchyard: set their variables\n\
                 before running them.\n\n",
            );
        }
    }
    out.push_str(
        "## The code\n\n\
         - `src/steps.ts`: one function per step; each builds its configuration from\n\
           the trigger and earlier steps (`ctx`) and does what its kind does.\n\
         - `src/workflow.ts`: the graph: steps, their retry policies and error\n\
           handling, and the edges between them.\n\
         - `src/main.ts`: the entry point the trigger makes.\n\
         - `src/connections.ts`, `src/providers.ts`: the connections (read from the\n\
           environment) and the APIs the steps call.\n\
         - `src/switchyard/`: the runtime, the same rules Switchyard runs by: a step\n\
           starts once every edge into it is settled and one fired; conditions and\n\
           switches take one branch and skip the others; loops run their body per\n\
           item with their concurrency; failing steps are retried with exponential\n\
           backoff and full jitter while the error is retryable (rate limits, 5xx,\n\
           timeouts), honouring `Retry-After`; each step's idempotency key is\n\
           `<execution>:<step>[:<item>]`, sent where Switchyard sends it.\n\n\
         ## Differences from running it in Switchyard\n\n\
         - Runs are held in memory: a run in progress when the process stops is lost.\n\
           Switchyard keeps every step in its database and resumes after a crash.\n\
         - Provider rate limits are not paced ahead of time; a `429` answer is retried\n\
           after the wait the provider asks for.\n\
         - OAuth 2 access tokens are not renewed: set a current token.\n\
         - Webhooks are not registered with the provider: point the provider's\n\
           webhook settings at this server.\n",
    );
    out
}
