// The built-in step kinds, as Switchyard runs them, on a step's config
// with its expressions already evaluated.

import type { Json } from "./expressions";
import { truthy } from "./expressions";
import { done, type Outcome, StepError, validation } from "./run";

type Config = { [key: string]: Json };

const MAX_DELAY_MS = 366 * 24 * 3600 * 1000;
const MAX_LOOP_ITEMS = 10_000;
const MAX_CONCURRENCY = 50;

export function transform(config: Config): Outcome {
  return done(config.template ?? null);
}

export function condition(config: Config): Outcome {
  if (!("expression" in config)) throw validation("the condition has no expression");
  const result = truthy(config.expression);
  return done({ result }, String(result));
}

/** The first case whose expression holds, else `default`. */
export function switchCase(config: Config): Outcome {
  const cases = Array.isArray(config.cases) ? config.cases : [];
  const hit = cases.find((c) => c !== null && typeof c === "object" && !Array.isArray(c) && "expression" in c && truthy(c.expression));
  const port = hit !== undefined && typeof (hit as Config).port === "string" ? ((hit as Config).port as string) : "default";
  return done({ port }, port);
}

export function delay(config: Config): Outcome {
  const ms = config.duration_ms;
  const until = config.until;
  const has = (v: Json | undefined) => v !== undefined && v !== null;
  if (has(ms) && !has(until) && typeof ms === "number" && Number.isInteger(ms) && ms >= 0 && ms <= MAX_DELAY_MS) {
    return { type: "sleep", untilMs: Date.now() + ms };
  }
  if (!has(ms) && typeof until === "string") {
    const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(until.trim()) ? Date.parse(until.trim()) : NaN;
    if (Number.isNaN(at)) throw validation(`\`${until}\` is not a date and time like 2026-01-31T09:00:00Z`);
    return { type: "sleep", untilMs: at };
  }
  throw validation("set exactly one of duration_ms (0 to one year) or until");
}

/** Outputs of the branches that ran into it, by node id. */
export function merge(inputs: [string, Json][]): Outcome {
  return done(Object.fromEntries(inputs));
}

export function loop(config: Config): Outcome {
  const concurrency = typeof config.concurrency === "number" ? config.concurrency : 1;
  const items = config.items;
  if (!Array.isArray(items)) throw validation(`items must be a list, got ${describe(items)}`);
  if (items.length > MAX_LOOP_ITEMS) throw validation(`a loop runs at most ${MAX_LOOP_ITEMS} items, got ${items.length}`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw validation(`concurrency must be between 1 and ${MAX_CONCURRENCY}`);
  }
  return { type: "loop", items, concurrency };
}

function describe(value: Json | undefined): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "number") return "a number";
  if (typeof value === "string") return "text";
  return Array.isArray(value) ? "a list" : "an object";
}

export function stopAndFail(config: Config): never {
  const message = config.message;
  throw new StepError("stopped", typeof message === "string" ? message : message === undefined ? "stopped" : JSON.stringify(message));
}
