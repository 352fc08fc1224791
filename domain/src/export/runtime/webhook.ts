// The workflow's webhook, served with `node:http` as Switchyard serves it
// (`server/src/webhooks`): the same checks in the same order, the same
// payload, the same answers and error bodies.
//
// Every path is the webhook: the project has one workflow, so the path
// carries nothing (Switchyard's `/webhooks/{token}` token is what chose the
// workflow). A request goes through:
//   1. its method (405 with `Allow`);
//   2. its body, read up to `bodyLimit` bytes (413);
//   3. its signature over the raw body, when the trigger has one (401);
//   4. its body parsed by content type: JSON, form fields, text, or null
//      when empty (400, 415);
//   5. for a provider's trigger (`stripe.trigger`, …): Slack's URL check
//      answered, event types the workflow does not start on answered 200
//      `{"ignored": true, …}` without a run, `payload.event` set;
//   6. a signed message seen before refused (409 `replayed`), unless it is
//      the sender retrying the same delivery id;
//   7. `start`, answered 202 `{"execution_id"}` (with
//      `x-switchyard-duplicate: true` when the delivery id was seen), or,
//      with `"respond": "output"`, the run's last output.
// The secret is never logged nor sent back. Requests are read in
// `requests.ts`; signatures and replays are checked in `signatures.ts`.

import * as crypto from "node:crypto";
import * as http from "node:http";
import { json, type Json } from "./expressions.js";
import {
  ApiError,
  asText,
  bodyText,
  fieldObject,
  first,
  has,
  headerObject,
  headerText,
  isObject,
  parseBody,
  trim,
  type Headers,
  type JsonObject,
} from "./requests.js";
import { check, Refusal, Replays, type Signature, type Signed } from "./signatures.js";

export interface WebhookTrigger {
  /** `webhook_trigger` or `<provider>.trigger` */
  kind: string;
  /** The trigger node's config from the workflow, with `secret` removed. */
  config: { [key: string]: Json };
  /** The signing secret (read from an environment variable by the caller), if the trigger has one. */
  secret?: string;
}

export interface Delivery {
  payload: Json;
  /** idempotency key `delivery:<id>` when the delivery carries one */
  idempotencyKey?: string;
}

export interface Started {
  executionId: string;
  /** false when the idempotency key was seen before */
  created: boolean;
  /** resolves when the run ends: its status and the last succeeded top-level step's output */
  finished: Promise<{ status: "succeeded" | "failed"; output: Json }>;
}

export type Start = (delivery: Delivery) => Promise<Started>;

export interface Options {
  /** The URL senders reach this server at (Twilio signs the full URL it called); default `http://<Host header>`. */
  publicUrl?: string;
  /** Largest body accepted, in bytes; default 1 MiB as Switchyard's `webhook_body_limit`. */
  bodyLimit?: number;
  /** The clock, in milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
  /** Seconds `"respond": "output"` waits for the run before answering 202; default 30. */
  responseTimeout?: number;
}

const DUPLICATE_HEADER = "x-switchyard-duplicate";
const REQUEST_ID = "x-request-id";

// ---------------------------------------------------------------------------
// The trigger's settings (`domain/src/webhooks.rs`).

interface Provider {
  scheme: string;
  /** The delivery's event type. */
  eventOf: (headers: Headers, body: Json) => string | undefined;
  /** The provider's id for the delivery, so that a redelivery starts no second run. */
  deliveryOf: (headers: Headers, body: Json) => string | undefined;
}

/** The providers with a trigger (`engine/src/providers`, their `TriggerSpec`). */
const PROVIDERS: { [id: string]: Provider } = {
  stripe: {
    scheme: "stripe",
    eventOf: (_, body) => bodyText(body, "type"),
    deliveryOf: (_, body) => bodyText(body, "id"),
  },
  github: {
    scheme: "github",
    eventOf: (headers) => headerText(headers, "x-github-event"),
    deliveryOf: (headers) => headerText(headers, "x-github-delivery"),
  },
  slack: {
    scheme: "slack",
    eventOf: (_, body) => bodyText(body, "event", "type") ?? bodyText(body, "type"),
    deliveryOf: (_, body) => bodyText(body, "event_id"),
  },
  linear: {
    scheme: "linear",
    // `{"type": "Issue", "action": "create"}` is `Issue.create`.
    eventOf: (_, body) => {
      const type = bodyText(body, "type");
      const action = bodyText(body, "action");
      return type !== undefined && action !== undefined ? `${type}.${action}` : undefined;
    },
    deliveryOf: (headers) => headerText(headers, "linear-delivery"),
  },
  twilio: {
    scheme: "twilio",
    // Status callbacks carry the message's status; incoming messages do not.
    eventOf: (_, body) => (has(body, "MessageStatus") && !has(body, "Body") ? "message.status" : "message.received"),
    deliveryOf: (headers) => headerText(headers, "i-twilio-idempotency-token"),
  },
};

interface Target {
  /** Upper-case methods accepted. */
  methods: string[];
  signature?: Signature;
  dedupeHeader?: string;
  respondWithOutput: boolean;
  provider?: Provider;
  /** Event types that start a run (provider triggers). */
  events: string[];
}
/** A trimmed, non-empty string setting. */
function setting(config: Json | undefined, name: string): string | undefined {
  const value = isObject(config) && has(config, name) ? config[name] : undefined;
  if (typeof value !== "string") return undefined;
  const trimmed = trim(value);
  return trimmed === "" ? undefined : trimmed;
}

function target(trigger: WebhookTrigger): Target {
  const config = trigger.config;
  const secret = trim(trigger.secret ?? "");
  if (trigger.kind !== "webhook_trigger") {
    const id = trigger.kind.endsWith(".trigger") ? trigger.kind.slice(0, -".trigger".length) : "";
    const provider = Object.prototype.hasOwnProperty.call(PROVIDERS, id) ? PROVIDERS[id] : undefined;
    if (provider === undefined) throw new Error(`${trigger.kind} does not receive webhooks`);
    const events = Array.isArray(config.events) ? config.events : [];
    return {
      methods: ["POST"],
      // A trigger without its secret accepts nothing rather than anything.
      signature: { scheme: provider.scheme, secret, algorithm: "sha256", prefix: "", encoding: "hex" },
      respondWithOutput: false,
      provider,
      events: events.filter((e): e is string => typeof e === "string"),
    };
  }
  const listed = Array.isArray(config.methods) ? config.methods : [];
  const methods = listed.length > 0 ? listed.filter((m): m is string => typeof m === "string").map((m) => m.toUpperCase()) : ["POST"];
  const signature = isObject(config.signature) ? config.signature : undefined;
  return {
    methods,
    signature: signature && {
      scheme: setting(signature, "scheme") ?? "hmac",
      secret,
      header: setting(signature, "header"),
      algorithm: setting(signature, "algorithm") ?? "sha256",
      prefix: setting(signature, "prefix") ?? "",
      encoding: setting(signature, "encoding") ?? "hex",
    },
    dedupeHeader: setting(config, "dedupe_header"),
    respondWithOutput: setting(config, "respond") === "output",
    events: [],
  };
}

// ---------------------------------------------------------------------------
// Answering.

interface Answer {
  status: number;
  body: Json;
  headers?: { [name: string]: string };
}

const SERVER_ERROR = "Something went wrong on our side; the request id in the x-request-id header helps us find it.";

const error = (e: ApiError): Answer => ({
  status: e.status,
  body: { error: { code: e.code, message: e.status >= 500 ? SERVER_ERROR : e.message, fields: [] } },
});

function send(res: http.ServerResponse, requestId: string, answer: Answer): void {
  // 1xx, 204 and 304 answers carry no body (a run's output may choose them).
  const bodyless = answer.status < 200 || answer.status === 204 || answer.status === 304;
  const text = bodyless ? "" : json(answer.body);
  res.statusCode = answer.status;
  res.setHeader("content-type", "application/json");
  if (!bodyless) res.setHeader("content-length", Buffer.byteLength(text));
  res.setHeader(REQUEST_ID, requestId);
  for (const [name, value] of Object.entries(answer.headers ?? {})) {
    // A value a header cannot hold is left out, as Switchyard does with `Allow`.
    try {
      res.setHeader(name, value);
    } catch {
      /* left out */
    }
  }
  res.end(text);
}

/** The body up to `limit` bytes (413 beyond it). */
function readBody(req: http.IncomingMessage, headers: Headers, limit: number): Promise<Buffer> {
  const declared = asText(first(headers, "content-length"));
  if (declared !== undefined && /^\+?[0-9]+$/.test(declared) && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (outcome: () => void) => {
      if (!done) {
        done = true;
        outcome();
      }
    };
    req.on("data", (chunk: Buffer) => {
      if (done) return; // The rest is drained by Node, unread.
      size += chunk.length;
      if (size > limit) finish(() => reject(tooLarge(limit)));
      else chunks.push(chunk);
    });
    req.on("end", () => finish(() => resolve(Buffer.concat(chunks))));
    req.on("error", (e) => finish(() => reject(new ApiError(400, "bad_request", `could not read the body: ${e.message}`))));
    req.on("aborted", () => finish(() => reject(new ApiError(400, "bad_request", "could not read the body: the request was aborted"))));
  });
}

const tooLarge = (limit: number) => new ApiError(413, "payload_too_large", `the request body is larger than ${limit} bytes`);

/** A request's id: a well-formed incoming `x-request-id`, or a new UUIDv7. */
function requestId(headers: Headers): string {
  const incoming = first(headers, REQUEST_ID);
  if (incoming !== undefined && /^[A-Za-z0-9\-_.:]{1,128}$/.test(incoming)) return incoming;
  const bytes = crypto.randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Serves the trigger's webhook on every path. */
export function handler(
  trigger: WebhookTrigger,
  start: Start,
  options: Options = {},
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const settings = target(trigger);
  const replays = new Replays();
  const limit = options.bodyLimit ?? 1024 * 1024;
  const now = options.now ?? Date.now;
  const waitMs = (options.responseTimeout ?? 30) * 1000;
  const publicUrl = options.publicUrl?.replace(/\/+$/, "");

  async function deliver(req: http.IncomingMessage, headers: Headers, id: string): Promise<Answer> {
    const method = req.method ?? "";
    if (!settings.methods.includes(method)) {
      return { ...error(new ApiError(405, "method_not_allowed", "method not allowed")), headers: { allow: settings.methods.join(", ") } };
    }
    // Without a fragment, as `http::Uri` reads the request's target.
    const url = (req.url ?? "/").split("#")[0];
    const query = url.includes("?") ? url.slice(url.indexOf("?") + 1) : "";
    // The URL the sender called, as it signs it (Twilio); the request's
    // own text is latin1 here, one char per byte received.
    const base = publicUrl === undefined ? Buffer.from(`http://${first(headers, "host") ?? ""}`, "latin1") : Buffer.from(publicUrl);
    const called = Buffer.concat([base, Buffer.from(url, "latin1")]);
    const body = await readBody(req, headers, limit);
    const at = now();
    let signature: Signed | undefined;
    if (settings.signature !== undefined) {
      try {
        signature = check(settings.signature, headers, body, called, Math.floor(at / 1000));
      } catch (refusal) {
        if (!(refusal instanceof Refusal)) throw refusal;
        console.warn(`webhook signature refused (request ${id}, scheme ${settings.signature.scheme}): ${refusal.message}`);
        return error(new ApiError(401, "unauthorized", `signature check failed: ${refusal.message}`));
      }
    }
    const payload: JsonObject = {
      method,
      headers: headerObject(headers),
      query: fieldObject(Buffer.from(query, "latin1")),
      body: parseBody(headers, body),
    };
    let delivery = settings.dedupeHeader === undefined ? undefined : asText(first(headers, settings.dedupeHeader.toLowerCase()));
    if (settings.provider !== undefined) {
      const provider = settings.provider;
      const parsed = payload.body;
      if (provider.scheme === "slack" && isObject(parsed) && has(parsed, "type") && parsed.type === "url_verification") {
        return { status: 200, body: { challenge: has(parsed, "challenge") ? parsed.challenge : null } };
      }
      const event = provider.eventOf(headers, payload.body) ?? "";
      if (!settings.events.includes(event)) {
        // 2xx, so that the provider does not send it again.
        return { status: 200, body: { ignored: true, event, reason: "the workflow does not start on this event type" } };
      }
      payload.event = event;
      delivery = provider.deliveryOf(headers, payload.body);
    }
    const key = delivery === undefined ? "" : trim(delivery);
    const idempotencyKey = key !== "" && Buffer.byteLength(key) <= 200 ? `delivery:${key}` : undefined;
    // Last of the checks: only a delivery that would run is remembered.
    if (signature !== undefined && !replays.admit(signature, idempotencyKey, at)) {
      console.warn(`replayed webhook delivery refused (request ${id})`);
      return error(new ApiError(409, "replayed", "this signed delivery was received before; a replay starts no run"));
    }
    let started: Started;
    try {
      started = await start(idempotencyKey === undefined ? { payload } : { payload, idempotencyKey });
    } catch (e) {
      if (signature !== undefined) replays.forget(signature);
      throw e;
    }
    const accepted = (duplicate: boolean): Answer => ({
      status: 202,
      body: { execution_id: started.executionId },
      headers: duplicate ? { [DUPLICATE_HEADER]: "true" } : undefined,
    });
    if (settings.respondWithOutput && started.created) {
      return (await output(started, waitMs)) ?? accepted(false);
    }
    return accepted(!started.created);
  }

  return (req, res) => {
    const raw = req.rawHeaders;
    let headers: Headers = [];
    for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i].toLowerCase(), raw[i + 1]]);
    const id = requestId(headers);
    // The run sees the request's id among its headers, as in Switchyard.
    headers = [...headers.filter(([name]) => name !== REQUEST_ID), [REQUEST_ID, id]];
    deliver(req, headers, id).then(
      (answer) => send(res, id, answer),
      (e: unknown) => {
        if (!(e instanceof ApiError)) {
          console.error(`webhook request ${id} failed:`, e);
          e = new ApiError(500, "internal", "internal error");
        }
        if (!res.headersSent) send(res, id, error(e as ApiError));
      },
    );
  };
}

/**
 * Waits for the run and answers with its output: an output of the form
 * `{"status": <code>, "body": …}` chooses the answer, any other is the JSON
 * body with 200; a failed run is 502. `undefined` when the wait times out.
 */
async function output(started: Started, waitMs: number): Promise<Answer | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), waitMs);
  });
  const run = await Promise.race([started.finished.catch(() => undefined), timeout]);
  clearTimeout(timer);
  if (run === undefined) return undefined;
  const status = run.status as string;
  if (status === "failed" || status === "cancelled") {
    return {
      status: 502,
      body: { error: { code: "run_failed", message: "the workflow run failed", execution_id: started.executionId } },
    };
  }
  if (status !== "succeeded") return undefined;
  const out = run.output;
  const code = isObject(out) ? out.status : undefined;
  if (isObject(out) && has(out, "body") && typeof code === "number" && Number.isInteger(code) && code >= 100 && code <= 599) {
    return { status: code, body: out.body };
  }
  return { status: 200, body: out };
}

/** Listens on `port` (0 for any free one) and resolves once listening. */
export function serve(trigger: WebhookTrigger, start: Start, port: number, host?: string, options?: Options): Promise<http.Server> {
  const server = http.createServer(handler(trigger, start, options));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}