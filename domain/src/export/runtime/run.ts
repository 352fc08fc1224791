// How a run goes, as Switchyard runs it: a step starts once every edge
// into it is settled and at least one of them fired (a branch not taken
// skips what lies only behind it); a failing step is retried with
// exponential backoff and full jitter while its error is retryable
// (honouring Retry-After), then fails the run, continues or takes its
// error port as the step says; loops run their body once per item, at
// most `concurrency` at a time, and output the body's results in order.

import { randomUUID } from "node:crypto";
import { ExpressionError, type Json } from "./expressions";

export type ErrorClass = "rate_limit" | "transient" | "auth" | "validation" | "stopped" | "cancelled" | "internal";

/** Why a step failed; the class decides whether it is retried. */
export class StepError extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
    readonly extra: { retryAfterMs?: number; status?: number; details?: Json } = {},
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.errorClass === "rate_limit" || this.errorClass === "transient";
  }

  /** The error as steps and expressions see it (`steps.<id>.error`). */
  toJson(): Json {
    const out: { [key: string]: Json } = { class: this.errorClass, message: this.message };
    if (this.extra.retryAfterMs !== undefined) out.retry_after_ms = this.extra.retryAfterMs;
    if (this.extra.status !== undefined) out.status = this.extra.status;
    if (this.extra.details !== undefined) out.details = this.extra.details;
    return out;
  }
}

export const validation = (message: string) => new StepError("validation", message);

/** Any error a step throws, as a StepError (an expression error is the configuration's fault). */
export function asStepError(error: unknown): StepError {
  if (error instanceof StepError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ExpressionError) return validation(`expression error: ${message}`);
  return new StepError("internal", message);
}

/** What a step came to. */
export type Outcome =
  | { type: "done"; output: Json; port: string }
  | { type: "sleep"; untilMs: number }
  | { type: "loop"; items: Json[]; concurrency: number };

export const done = (output: Json, port = "out"): Outcome => ({ type: "done", output, port });

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  jitter: boolean;
}

/** What a step's code reads: `trigger`, `steps`, `execution`, and in loops `item` and `index`. */
export interface Context {
  trigger: Json;
  steps: { [id: string]: Json };
  execution: Json;
  /** Inside a loop body only: elsewhere reading them fails, as in Switchyard. */
  item: Json;
  index: Json;
}

/** Everything a step is given besides its context. */
export interface StepCall {
  ctx: Context;
  /** Outputs of the steps that fired into this one, by node id. */
  inputs: [string, Json][];
  /** Stable across retries: `<execution>:<node>[:<item>]`, sent as Idempotency-Key. */
  key: string;
  attempt: number;
}

export interface StepSpec {
  id: string;
  kind: string;
  label: string;
  isTrigger: boolean;
  /** The innermost loop whose body holds the step. */
  frame: string | null;
  retry: RetryPolicy;
  onError: "fail" | "continue" | "route";
  run: (call: StepCall) => Promise<Outcome>;
}

export interface EdgeSpec {
  source: string;
  port: string;
  target: string;
}

export interface Workflow {
  id: string;
  name: string;
  steps: StepSpec[];
  edges: EdgeSpec[];
  /** Longest a run may take, from start to finish. */
  timeoutMs?: number;
}

export type StepStatus = "succeeded" | "failed" | "skipped";

export interface StepRecord {
  node: string;
  /** Loop item path (`2`, `2/0`); empty outside loops. */
  item: string;
  status: StepStatus;
  attempts: number;
  output: Json;
  port: string | null;
  error: Json;
}

export interface RunResult {
  executionId: string;
  status: "succeeded" | "failed";
  steps: StepRecord[];
  /** Why the run failed, with the node (and item) where it did. */
  error: Json;
}

export interface RunOptions {
  executionId?: string;
  log?: (line: string) => void;
}

/** The most Retry-After a step waits for, as Switchyard: a day. */
const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;
/** Loop body steps one run may take, as Switchyard. */
const MAX_LOOP_STEPS = 100_000;
const LOOP_BODY_PORT = "body";

/** Epoch milliseconds as Switchyard writes them: `2026-01-31T09:00:00.000Z`. */
export const rfc3339 = (ms: number): string => new Date(ms).toISOString();

/** Waits `ms`, in chunks a timer can hold (up to a year for a delay step), or until `signal` aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  let left = ms;
  while (left > 0 && !signal?.aborted) {
    const chunk = Math.min(left, 2 ** 31 - 1);
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(wake, chunk);
      signal?.addEventListener("abort", wake, { once: true });
    });
    left -= chunk;
  }
}

/** The wait before attempt `attempt + 1`, after `attempt` failed ones. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 64);
  const grown = policy.initialDelayMs * Math.max(policy.factor, 1) ** exponent;
  const ceiling = Number.isFinite(grown) ? Math.min(Math.floor(grown), policy.maxDelayMs) : policy.maxDelayMs;
  return policy.jitter ? Math.floor(ceiling * Math.min(Math.max(random, 0), 1)) : ceiling;
}

interface Instance {
  loop: string;
  parent: string;
  index: number;
  value: Json;
}

class Run {
  private readonly records = new Map<string, StepRecord>();
  private readonly instances = new Map<string, Instance>();
  private readonly byId = new Map<string, StepSpec>();
  private failure: Json = null;
  private loopSteps = 0;
  /** Steps under way, by record key: cancelled if the run passes its deadline. */
  private readonly running = new Map<string, { node: string; item: string; attempts: number }>();
  /** Aborts waits (delays, retry backoff) when the run passes its deadline. */
  private readonly deadline = new AbortController();
  private readonly execution: Json;

  constructor(
    private readonly workflow: Workflow,
    private readonly trigger: Json,
    private readonly executionId: string,
    private readonly log: (line: string) => void,
  ) {
    for (const step of workflow.steps) this.byId.set(step.id, step);
    this.execution = { id: executionId, workflow_id: workflow.id, started_at: rfc3339(Date.now()) };
  }

  async go(): Promise<RunResult> {
    const work = this.frame(null, "");
    const limit = this.workflow.timeoutMs;
    if (limit === undefined) {
      await work;
    } else {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.expire(Date.now());
          resolve();
        }, limit);
      });
      await Promise.race([work, expired]);
      clearTimeout(timer);
    }
    const steps = [...this.records.values()];
    if (this.failure === null) {
      return { executionId: this.executionId, status: "succeeded", steps, error: null };
    }
    return { executionId: this.executionId, status: "failed", steps, error: this.failure };
  }

  /** The run passed its deadline: steps under way fail as cancelled, and the run fails. */
  private expire(now: number) {
    if (this.failure === null) {
      this.failure = { class: "transient", message: `the run did not finish before its deadline (${rfc3339(now)})` };
    }
    for (const [, step] of this.running) {
      const error = new StepError("cancelled", "the run was cancelled").toJson();
      this.save({ node: step.node, item: step.item, status: "failed", attempts: step.attempts, output: null, port: null, error });
    }
    this.running.clear();
    this.deadline.abort();
  }

  private record(node: string, item: string): StepRecord | undefined {
    return this.records.get(`${node}\u0000${item}`);
  }

  private save(record: StepRecord) {
    this.records.set(`${record.node}\u0000${record.item}`, record);
  }

  private isBodyEdge(edge: EdgeSpec, target: StepSpec): boolean {
    return edge.port === LOOP_BODY_PORT && this.byId.get(edge.source)?.kind === "loop" && target.frame === edge.source;
  }

  /** Runs the steps of one frame (the main one, or a loop item's body) to the end. */
  private async frame(frame: string | null, item: string): Promise<void> {
    const members = this.workflow.steps.filter((s) => s.frame === frame);
    const undecided = new Set(members.map((s) => s.id));
    const running = new Map<string, Promise<void>>();
    for (;;) {
      let progressed = true;
      while (progressed) {
        progressed = false;
        for (const step of members) {
          if (!undecided.has(step.id)) continue;
          const verdict = this.decide(step, item);
          if (verdict === "wait") continue;
          undecided.delete(step.id);
          progressed = true;
          if (verdict === "skip" || this.failure !== null) {
            this.save({ node: step.id, item, status: "skipped", attempts: 0, output: null, port: null, error: null });
          } else {
            running.set(step.id, this.step(step, item).finally(() => running.delete(step.id)));
          }
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    // Steps left waiting sit behind a failed step: the run has failed.
    for (const id of undecided) {
      this.save({ node: id, item, status: "skipped", attempts: 0, output: null, port: null, error: null });
    }
  }

  /** Whether a step may run now, is skipped, or waits for an edge into it. */
  private decide(step: StepSpec, item: string): "run" | "skip" | "wait" {
    let taken = step.isTrigger && item === "";
    for (const edge of this.workflow.edges) {
      if (edge.target !== step.id) continue;
      if (this.isBodyEdge(edge, step)) {
        taken = true;
        continue;
      }
      const source = this.record(edge.source, item);
      if (source === undefined || source.status === "failed" && source.port === null) return "wait";
      taken ||= source.status !== "skipped" && source.port === edge.port;
    }
    return taken ? "run" : "skip";
  }

  private inputs(step: StepSpec, item: string): [string, Json][] {
    const out: [string, Json][] = [];
    for (const edge of this.workflow.edges) {
      if (edge.target !== step.id) continue;
      if (this.isBodyEdge(edge, step)) {
        const instance = this.instances.get(item);
        if (instance) out.push([edge.source, instance.value]);
        continue;
      }
      const source = this.record(edge.source, item);
      if (source && source.status !== "skipped" && source.port === edge.port) out.push([edge.source, source.output]);
    }
    return out;
  }

  /** The instance, among `item` and its ancestors, that belongs to `frame`. */
  private instanceFor(item: string, frame: string | null): string {
    let current = item;
    for (;;) {
      const instance = this.instances.get(current);
      if (instance === undefined) return "";
      if (instance.loop === frame) return current;
      current = instance.parent;
    }
  }

  private context(item: string): Context {
    const steps: { [id: string]: Json } = {};
    for (const step of this.workflow.steps) {
      const record = this.record(step.id, this.instanceFor(item, step.frame));
      if (record === undefined) continue;
      steps[step.id] = { output: record.output, status: record.status, port: record.port, error: record.error };
    }
    const ctx = { trigger: this.trigger, steps, execution: this.execution } as Context;
    const instance = this.instances.get(item);
    if (instance) {
      ctx.item = instance.value;
      ctx.index = instance.index;
    }
    return ctx;
  }

  /** Runs a step with its retries, and what its outcome asks for. */
  private async step(step: StepSpec, item: string): Promise<void> {
    const key = item === "" ? `${this.executionId}:${step.id}` : `${this.executionId}:${step.id}:${item}`;
    const running = `${step.id}\u0000${item}`;
    const signal = this.deadline.signal;
    let attempt = 0;
    for (;;) {
      attempt += 1;
      if (signal.aborted) return;
      this.running.set(running, { node: step.id, item, attempts: attempt });
      let outcome: Outcome;
      let finished: { output: Json; port: string };
      try {
        outcome = step.isTrigger ? done(this.trigger) : await step.run({ ctx: this.context(item), inputs: this.inputs(step, item), key, attempt });
        if (outcome.type === "sleep") {
          await sleep(outcome.untilMs - Date.now(), signal);
          outcome = done({ waited_until: rfc3339(outcome.untilMs) });
        }
        if (outcome.type === "loop") {
          outcome = done(await this.loop(step, item, outcome.items, outcome.concurrency));
        }
        finished = outcome.type === "done" ? outcome : { output: null, port: "out" };
      } catch (thrown) {
        const error = asStepError(thrown);
        if (error.retryable && attempt < step.retry.maxAttempts && this.failure === null) {
          const backoff = backoffMs(step.retry, attempt, Math.random());
          const wait = error.extra.retryAfterMs === undefined ? backoff : Math.min(error.extra.retryAfterMs, MAX_RETRY_AFTER_MS);
          this.log(`${step.id}: attempt ${attempt} failed (${error.message}); retrying in ${wait} ms`);
          await sleep(wait, signal);
          continue;
        }
        if (signal.aborted) return;
        this.running.delete(running);
        this.fail(step, item, attempt, error);
        return;
      }
      // Past the deadline the step was recorded as cancelled.
      if (signal.aborted) return;
      this.running.delete(running);
      this.save({ node: step.id, item, status: "succeeded", attempts: attempt, output: finished.output, port: finished.port, error: null });
      return;
    }
  }

  private fail(step: StepSpec, item: string, attempts: number, error: StepError) {
    const handling = error.errorClass === "cancelled" ? "fail" : step.onError;
    this.log(`${step.id}: failed (${error.message})`);
    if (handling === "fail") {
      this.save({ node: step.id, item, status: "failed", attempts, output: null, port: null, error: error.toJson() });
      if (this.failure === null) {
        const failure = error.toJson() as { [key: string]: Json };
        failure.node_id = step.id;
        if (item !== "") failure.item = item;
        this.failure = failure;
      }
      return;
    }
    const port = handling === "route" ? "error" : "out";
    this.save({ node: step.id, item, status: "failed", attempts, output: { error: error.toJson() }, port, error: error.toJson() });
  }

  /** Runs the loop's body for each item, at most `concurrency` at once; the results in item order. */
  private async loop(step: StepSpec, item: string, items: Json[], concurrency: number): Promise<Json> {
    const body = this.workflow.steps.filter((s) => s.frame === step.id);
    const taken = items.length * Math.max(body.length, 1);
    if (this.loopSteps + taken > MAX_LOOP_STEPS) {
      throw validation(
        `the loop \`${step.id}\` would make this run take about ${this.loopSteps + taken} loop steps (${items.length} items × ${Math.max(body.length, 1)} steps), more than the ${MAX_LOOP_STEPS} a run may take; split the work into smaller runs`,
      );
    }
    this.loopSteps += taken;
    const sinks = body.filter((member) =>
      this.workflow.edges.every((edge) => edge.source !== member.id || this.byId.get(edge.target)?.frame !== step.id),
    );
    const results: Json[] = items.map(() => null);
    let next = 0;
    const worker = async () => {
      while (next < items.length && this.failure === null) {
        const index = next++;
        const child = item === "" ? String(index) : `${item}/${index}`;
        this.instances.set(child, { loop: step.id, parent: item, index, value: items[index] });
        await this.frame(step.id, child);
        const output = (id: string) => this.record(id, child)?.output ?? null;
        results[index] = sinks.length === 1 ? output(sinks[0].id) : Object.fromEntries(sinks.map((s) => [s.id, output(s.id)]));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
    if (this.failure !== null) throw new StepError("cancelled", "the run failed while the loop ran");
    return results;
  }
}

/** Runs the workflow once on `trigger`. */
export function run(workflow: Workflow, trigger: Json, options: RunOptions = {}): Promise<RunResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  return new Run(workflow, trigger, options.executionId ?? randomUUID(), log).go();
}
