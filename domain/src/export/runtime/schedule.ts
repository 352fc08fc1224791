// Schedule triggers as Switchyard's scheduler runs them: each tick's run
// payload, the ticks missed while nothing ran (skipped, or the last run
// once), and the loop that fires them. The expressions and their fire
// times are in `cron.ts`.

import { fires, nextFires, parse, type Cron } from "./cron.js";
import type { Json } from "./expressions.js";

export { fires, nextFires, parse, ScheduleError, Zone, type Cron, type Pattern } from "./cron.js";

/** A schedule trigger's settings, as the workflow holds them. */
export interface Schedule {
  cron: string;
  /** An IANA time zone such as Europe/Berlin; UTC when absent. */
  timezone?: string;
  /** Ticks missed while nothing ran: `skip` them (the default), or `run_once` for the last. */
  missed?: string;
}

/** A tick older than this when it fires was missed (nothing ran then). */
export const GRACE_MS = 60_000;

const SECOND = 1000;

/** RFC 3339 as chrono writes it: the offset as `+01:00`, fractions only when there are some. */
function rfc3339(instant: number, offset: number): string {
  const local = new Date(instant + offset);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const year = local.getUTCFullYear();
  const yearText = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? "-" : "+"}${pad(Math.abs(year), 4)}`;
  const millis = local.getUTCMilliseconds();
  const minutes = Math.floor((Math.abs(offset) / SECOND + 30) / 60);
  return (
    `${yearText}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    (millis === 0 ? "" : `.${pad(millis, 3)}`) +
    `${offset < 0 ? "-" : "+"}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
  );
}

/**
 * The trigger payload of the run for the tick `scheduledMs`, fired at
 * `firedMs`, as Switchyard writes it (keys in its order). `missed` counts
 * the ticks missed in the same pass.
 */
export function payload(cron: Cron, scheduledMs: number, firedMs: number, missed: number): Json {
  return {
    fired_at: rfc3339(firedMs, 0),
    missed,
    scheduled_at: rfc3339(scheduledMs, cron.zone.offsetAt(scheduledMs)),
    // Unix seconds, for APIs that filter by number (Stripe's `created[gte]`).
    scheduled_unix: Math.floor(scheduledMs / SECOND),
  };
}

/**
 * The runs due at `nowMs` when `dueMs` was the next tick: every tick since
 * then fires if it is within the grace period; older ones were missed and
 * are skipped, or (`run_once`) the last of them runs first.
 */
export function dueRuns(cron: Cron, missed: string, dueMs: number, nowMs: number): { tick: number; payload: Json }[] {
  const ticks = [dueMs];
  for (const tick of fires(cron, dueMs)) {
    if (tick > nowMs || ticks.length > 10_000) break;
    ticks.push(tick);
  }
  const late = ticks.filter((tick) => nowMs - tick > GRACE_MS);
  const run = ticks.filter((tick) => nowMs - tick <= GRACE_MS);
  if (missed === "run_once" && late.length > 0) run.unshift(late[late.length - 1]);
  return run.map((tick) => ({ tick, payload: payload(cron, tick, nowMs, late.length) }));
}

export interface RunScheduleOptions {
  /** Stops the schedule; runSchedule resolves once the runs under way end. */
  signal?: AbortSignal;
  /** Fire the ticks after this instant (the last tick fired before a restart); now by default. */
  after?: number;
  /** The clock, for tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Where a failed run is reported; the schedule goes on. */
  onError?: (error: unknown) => void;
}

/** Switchyard looks for due schedules every second; reading the clock as often notices sleeps and clock changes. */
const POLL_MS = 1000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal?.addEventListener("abort", wake, { once: true });
  });
}

/**
 * Fires `fire` at every tick of the schedule until `signal` aborts or the
 * schedule has no more ticks. Like Switchyard, which queues each tick's
 * run without waiting for the previous one, runs may overlap.
 */
export async function runSchedule(
  schedule: Schedule,
  fire: (payload: Json) => Promise<void>,
  options: RunScheduleOptions = {},
): Promise<void> {
  const cron = parse(schedule.cron, schedule.timezone ?? "UTC");
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const report = options.onError ?? ((error: unknown) => console.error(error));
  const running = new Set<Promise<void>>();
  let lastTick = -Infinity;
  let due: number | undefined = nextFires(cron, options.after ?? now(), 1)[0];
  while (due !== undefined && !options.signal?.aborted) {
    const current = now();
    if (current < due) {
      await wait(Math.min(due - current, POLL_MS), options.signal);
      continue;
    }
    // Ticks come in order; each fires once, even if the clock is set back.
    for (const { tick, payload } of dueRuns(cron, schedule.missed ?? "skip", due, current)) {
      if (tick <= lastTick) continue;
      lastTick = tick;
      const run: Promise<void> = Promise.resolve()
        .then(() => fire(payload))
        .catch(report)
        .finally(() => running.delete(run));
      running.add(run);
    }
    due = nextFires(cron, Math.max(current, lastTick), 1)[0];
  }
  await Promise.all(running);
}