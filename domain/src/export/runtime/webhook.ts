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
// The secret is never logged nor sent back.

import * as crypto from "node:crypto";
import * as http from "node:http";
import { json, type Json } from "./expressions.js";

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

/** How far a signed timestamp may be from now (Stripe and Slack). */
const TOLERANCE_SECS = 300;
/** How long content signed without a timestamp is remembered against replays. */
const UNTIMED_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Signed contents remembered at most (Switchyard's `PER_WORKFLOW`). */
const REPLAY_LIMIT = 100_000;
const PRUNE_EVERY_MS = 10 * 60 * 1000;
const DUPLICATE_HEADER = "x-switchyard-duplicate";
const REQUEST_ID = "x-request-id";

type JsonObject = { [key: string]: Json };
/** Request headers as received: lower-case names, values as latin1 text (one char per byte), in order. */
type Headers = [string, string][];

// ---------------------------------------------------------------------------
// The trigger's settings (`domain/src/webhooks.rs`).

interface Signature {
  /** `stripe`, `github`, `slack`, `linear`, `twilio`; anything else is generic HMAC. */
  scheme: string;
  secret: string;
  header?: string;
  algorithm: string;
  prefix: string;
  encoding: string;
}

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

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function has(value: Json, key: string): boolean {
  return isObject(value) && Object.prototype.hasOwnProperty.call(value, key);
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
// Reading requests as Switchyard's `http::HeaderMap` and `form_urlencoded` do.

/** Rust's `str::trim` (Unicode White_Space; unlike JS's, no U+FEFF but U+0085). */
const SPACE = "[\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const ENDS = new RegExp(`^${SPACE}+|${SPACE}+$`, "g");
function trim(text: string): string {
  return text.replace(ENDS, "");
}

/** A header's first value, as `HeaderMap::get` gives it. */
function first(headers: Headers, name: string): string | undefined {
  return headers.find(([n]) => n === name)?.[1];
}

/** `HeaderValue::to_str`: only visible ASCII (and tabs) is text. */
function asText(value: string | undefined): string | undefined {
  return value !== undefined && /^[\t\x20-\x7e]*$/.test(value) ? value : undefined;
}

/** A header's trimmed, non-empty text (the providers' `header_text`). */
function headerText(headers: Headers, name: string): string | undefined {
  const value = asText(first(headers, name));
  const trimmed = value === undefined ? "" : trim(value);
  return trimmed === "" ? undefined : trimmed;
}

/** A non-empty string in the body below `path` (the providers' `body_text`). */
function bodyText(body: Json, ...path: string[]): string | undefined {
  let at: Json = body;
  for (const key of path) {
    if (!has(at, key)) return undefined;
    at = (at as JsonObject)[key];
  }
  return typeof at === "string" && at !== "" ? at : undefined;
}

const lossy = (bytes: Buffer): string => bytes.toString("utf8");

/** Strict UTF-8, a byte-order mark kept as a character (as Rust does). */
function utf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** `form_urlencoded::parse`: `&`-separated pairs, `+` a space, `%XX` a byte, names and values lossy UTF-8. */
function formPairs(bytes: Buffer): [string, string][] {
  const decode = (part: Buffer): string => {
    const out: number[] = [];
    for (let i = 0; i < part.length; i++) {
      const hex = part[i] === 0x25 ? part.subarray(i + 1, i + 3).toString("latin1") : "";
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
      } else out.push(part[i] === 0x2b ? 0x20 : part[i]);
    }
    return lossy(Buffer.from(out));
  };
  const pairs: [string, string][] = [];
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x26, start);
    if (end < 0) end = bytes.length;
    const piece = bytes.subarray(start, end);
    if (piece.length > 0) {
      const eq = piece.indexOf(0x3d);
      pairs.push(eq < 0 ? [decode(piece), ""] : [decode(piece.subarray(0, eq)), decode(piece.subarray(eq + 1))]);
    }
    start = end + 1;
  }
  return pairs;
}

/** Fields by name, the last of a repeated one winning. */
function fieldObject(bytes: Buffer): JsonObject {
  const object: JsonObject = {};
  for (const [name, value] of formPairs(bytes)) define(object, name, value);
  return object;
}

/** Sets a key, even `__proto__`, as a plain data property. */
function define(object: JsonObject, key: string, value: Json): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function headerObject(headers: Headers): JsonObject {
  const object: JsonObject = {};
  for (const [name, value] of headers) {
    // Signatures and cookies are checked or useless in the run.
    if (name === "cookie" || name === "authorization") continue;
    define(object, name, lossy(Buffer.from(value, "latin1")));
  }
  return object;
}

/** What Switchyard's `ApiError` answers with. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const SERVER_ERROR = "Something went wrong on our side; the request id in the x-request-id header helps us find it.";

/** The body as the workflow sees it: JSON, form fields, text, or nothing. */
function parseBody(headers: Headers, body: Buffer): Json {
  if (body.length === 0) return null;
  const contentType = trim((asText(first(headers, "content-type")) ?? "").split(";")[0]).toLowerCase();
  if (contentType === "application/json" || contentType.endsWith("+json")) {
    const text = utf8(body);
    if (text === undefined) throw new ApiError(400, "malformed_json", "the body is not valid JSON: invalid UTF-8");
    let value: Json;
    try {
      value = JSON.parse(text) as Json;
    } catch (error) {
      throw new ApiError(400, "malformed_json", `the body is not valid JSON: ${(error as Error).message}`);
    }
    const problem = unlikeSerde(value, 1);
    if (problem !== undefined) throw new ApiError(400, "malformed_json", `the body is not valid JSON: ${problem}`);
    return value;
  }
  if (contentType === "application/x-www-form-urlencoded") {
    if (utf8(body) === undefined) throw new ApiError(400, "bad_request", "the form is not UTF-8");
    return fieldObject(body);
  }
  if (contentType.startsWith("text/") || contentType === "") {
    const text = utf8(body);
    if (text === undefined) throw new ApiError(400, "bad_request", "the body is not UTF-8 text");
    return text;
  }
  throw new ApiError(415, "unsupported_media_type", "send the body as application/json");
}

/** What `serde_json` refuses and `JSON.parse` takes: nesting past 127 levels, lone surrogates (`"\ud800"`). */
function unlikeSerde(value: Json, depth: number): string | undefined {
  const lone = (text: string) => /\p{Cs}/u.test(text);
  if (typeof value === "string") return lone(value) ? "lone surrogate in hex escape" : undefined;
  if (value === null || typeof value !== "object") return undefined;
  if (depth > 127) return "recursion limit exceeded";
  for (const [key, item] of Array.isArray(value) ? value.map((v): [string, Json] => ["", v]) : Object.entries(value)) {
    if (lone(key)) return "lone surrogate in hex escape";
    const problem = unlikeSerde(item, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Signatures (`server/src/webhooks/signature.rs`), checked over the raw body.

/** Why a signature was refused; the text is Switchyard's. */
class Refusal extends Error {}

/** What a valid signature covers, so that a replay is recognised. */
interface Signed {
  /** Hex SHA-256 of the scheme and the signed message. */
  digest: string;
  /** The signed timestamp (Stripe, Slack), in Unix seconds. */
  timestamp?: number;
}

function header(headers: Headers, name: string): string {
  const value = first(headers, name);
  if (value === undefined) throw new Refusal(`the ${name} header is missing`);
  const text = asText(value);
  if (text === undefined) throw malformed("not text");
  return text;
}

const malformed = (what: string) => new Refusal(`the signature header is malformed: ${what}`);

/** Rust's `decode_hex`: pairs of hex digits (`u8::from_str_radix` also takes `+f`). */
function decodeHex(text: string): Buffer | undefined {
  if (text.length % 2 !== 0 || !/^[\x00-\x7f]*$/.test(text)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 2) {
    const pair = text.slice(i, i + 2);
    if (!/^(\+[0-9a-fA-F]|[0-9a-fA-F]{2})$/.test(pair)) return undefined;
    bytes.push(parseInt(pair, 16));
  }
  return Buffer.from(bytes);
}

/** Standard base64 with canonical padding, as the `base64` crate's `STANDARD` decodes it. */
function decodeBase64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  // Non-zero trailing bits are refused too.
  return bytes.toString("base64") === text ? bytes : undefined;
}

/** The signed timestamp, if it is within the tolerance of `now` (seconds). */
function fresh(timestamp: string, now: number): number {
  const text = trim(timestamp);
  if (!/^[+-]?[0-9]+$/.test(text)) throw malformed("timestamp");
  const at = BigInt(text);
  if (at > 9223372036854775807n || at < -9223372036854775808n) throw malformed("timestamp");
  const away = BigInt(now) - at;
  if (away > BigInt(TOLERANCE_SECS) || away < -BigInt(TOLERANCE_SECS)) {
    throw new Refusal(`the signed timestamp is more than ${TOLERANCE_SECS} s away from now`);
  }
  return Number(at);
}

/** Verifies `signature` over `message` in constant time. */
function verify(algorithm: "sha256" | "sha1", secret: string, message: Buffer, signature: Buffer): boolean {
  const expected = crypto.createHmac(algorithm, secret).update(message).digest();
  return expected.length === signature.length && crypto.timingSafeEqual(expected, signature);
}

function signed(valid: boolean, scheme: string, message: Buffer, timestamp?: number): Signed {
  if (!valid) throw new Refusal("the signature does not match");
  const digest = crypto.createHash("sha256").update(scheme).update(Buffer.from([0])).update(message).digest("hex");
  return { digest, timestamp };
}

/** Byte-wise order, as Rust sorts strings. */
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Checks a request; `url` is the full URL the sender called (bytes), `now` Unix seconds. Throws a `Refusal`. */
function check(config: Signature, headers: Headers, body: Buffer, url: Buffer, now: number): Signed {
  switch (config.scheme) {
    case "linear": {
      const signature = decodeHex(trim(header(headers, "linear-signature")));
      if (signature === undefined) throw malformed("not hex");
      return signed(verify("sha256", config.secret, body, signature), "linear", body);
    }
    case "twilio": {
      // Base64 HMAC-SHA1 of the URL followed by each form parameter's name
      // and value, sorted by name.
      const signature = decodeBase64(trim(header(headers, "x-twilio-signature")));
      if (signature === undefined) throw malformed("not base64");
      const params = formPairs(body).sort(([a, x], [b, y]) => byBytes(a, b) || byBytes(x, y));
      const message = Buffer.concat([url, Buffer.from(params.map(([name, value]) => name + value).join(""))]);
      return signed(verify("sha1", config.secret, message, signature), "twilio", message);
    }
    case "stripe": {
      const value = header(headers, "stripe-signature");
      let timestamp: string | undefined;
      const candidates: string[] = [];
      for (const part of value.split(",")) {
        const piece = trim(part);
        const eq = piece.indexOf("=");
        if (eq < 0) continue;
        const [name, text] = [piece.slice(0, eq), piece.slice(eq + 1)];
        if (name === "t") timestamp = text;
        else if (name === "v1") candidates.push(text);
      }
      if (timestamp === undefined) throw malformed("no t=");
      if (candidates.length === 0) throw malformed("no v1=");
      const at = fresh(timestamp, now);
      const message = Buffer.concat([Buffer.from(timestamp), Buffer.from("."), body]);
      // Several v1 signatures are allowed (while a secret is rolled).
      const matched = candidates.some((candidate) => {
        const signature = decodeHex(candidate);
        return signature !== undefined && verify("sha256", config.secret, message, signature);
      });
      return signed(matched, "stripe", message, at);
    }
    case "github": {
      const value = header(headers, "x-hub-signature-256");
      if (!value.startsWith("sha256=")) throw malformed("expected sha256=");
      const signature = decodeHex(value.slice("sha256=".length));
      if (signature === undefined) throw malformed("not hex");
      return signed(verify("sha256", config.secret, body, signature), "github", body);
    }
    case "slack": {
      const timestamp = header(headers, "x-slack-request-timestamp");
      const value = header(headers, "x-slack-signature");
      const at = fresh(timestamp, now);
      if (!value.startsWith("v0=")) throw malformed("expected v0=");
      const signature = decodeHex(value.slice("v0=".length));
      if (signature === undefined) throw malformed("not hex");
      const message = Buffer.concat([Buffer.from(`v0:${timestamp}:`), body]);
      return signed(verify("sha256", config.secret, message, signature), "slack", message, at);
    }
    default: {
      const name = (config.header ?? "x-signature").toLowerCase();
      const value = trim(header(headers, name));
      if (!value.startsWith(config.prefix)) throw malformed("the prefix is missing");
      const encoded = value.slice(config.prefix.length);
      const signature = config.encoding === "base64" ? decodeBase64(encoded) : decodeHex(encoded);
      if (signature === undefined) throw malformed(config.encoding === "base64" ? "not base64" : "not hex");
      const algorithm = config.algorithm === "sha1" ? "sha1" : "sha256";
      return signed(verify(algorithm, config.secret, body, signature), "hmac", body);
    }
  }
}

// ---------------------------------------------------------------------------
// Replays (`server/src/webhooks/replay.rs`, `domain/src/webhook_replays.rs`):
// a signed message starts at most one run while it is remembered. Kept in
// memory, so a restart forgets them (Switchyard keeps them in its database).

class Replays {
  private seen = new Map<string, { delivery?: string; expiresAt: number }>();
  private prunedAt = 0;

  /** Whether the delivery may go on: first seen, or the sender retrying the same delivery id. */
  admit(signed: Signed, delivery: string | undefined, now: number): boolean {
    // Past its timestamp's tolerance the signature check refuses it as stale anyway.
    const expiresAt = signed.timestamp !== undefined ? (signed.timestamp + TOLERANCE_SECS + 1) * 1000 : now + UNTIMED_WINDOW_MS;
    const seen = this.seen.get(signed.digest);
    if (seen !== undefined && seen.expiresAt > now) {
      return delivery !== undefined && seen.delivery === delivery;
    }
    this.seen.set(signed.digest, { delivery, expiresAt });
    // Bounded: expired records go every few minutes, and beyond the limit
    // (with some slack, so that sorting is rare) those expiring soonest.
    if (now - this.prunedAt >= PRUNE_EVERY_MS || this.seen.size > REPLAY_LIMIT + REPLAY_LIMIT / 10) this.prune(now);
    return true;
  }

  /** Undoes `admit` when the run could not start, so that the sender's retry is no replay. */
  forget(signed: Signed): void {
    this.seen.delete(signed.digest);
  }

  private prune(now: number): void {
    this.prunedAt = now;
    for (const [digest, { expiresAt }] of this.seen) if (expiresAt <= now) this.seen.delete(digest);
    if (this.seen.size > REPLAY_LIMIT) {
      const soonest = [...this.seen].sort(([, a], [, b]) => a.expiresAt - b.expiresAt);
      for (const [digest] of soonest.slice(0, this.seen.size - REPLAY_LIMIT)) this.seen.delete(digest);
    }
  }
}

// ---------------------------------------------------------------------------
// Answering.

interface Answer {
  status: number;
  body: Json;
  headers?: { [name: string]: string };
}

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
