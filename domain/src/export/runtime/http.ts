// Outbound HTTP as Switchyard makes it: the HTTP request step, and calls
// to an API provider (its base URL, default headers and authentication,
// JSON or bracketed form bodies, paging, and its own way of reporting
// errors). Bodies are written with keys in sorted order, as Switchyard
// writes them, so that the bytes sent are the same.

import * as http from "node:http";
import type { Json } from "./expressions";
import { StepError, validation } from "./run";

/** What an HTTP step outputs, and what a provider call reads. */
export interface Reply {
  status: number;
  headers: { [name: string]: Json };
  body: Json;
  link: string | null;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 300_000;
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const ERROR_EXCERPT = 2048;
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const USER_AGENT = "switchyard-export";

/** Header and query values are text; numbers and booleans are written out. */
export function plainText(value: Json | undefined): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  return canonicalJson(value);
}

/** JSON with object keys sorted, as Switchyard serialises. */
export function canonicalJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Form fields with nested values in brackets (`metadata[plan]=pro`), keys sorted. */
export function formPairs(fields: { [name: string]: Json }): [string, string][] {
  const out: [string, string][] = [];
  const push = (name: string, value: Json) => {
    if (value === null) return;
    if (Array.isArray(value)) value.forEach((item, index) => push(`${name}[${index}]`, item));
    else if (typeof value === "object") for (const key of Object.keys(value).sort()) push(`${name}[${key}]`, value[key]);
    else out.push([name, typeof value === "string" ? value : String(value)]);
  };
  for (const name of Object.keys(fields).sort()) push(name, fields[name]);
  return out;
}

export function formBody(pairs: [string, string][]): string {
  return new URLSearchParams(pairs).toString();
}

/** `Retry-After` in seconds or as an HTTP date, in milliseconds from now. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const when = Date.parse(text);
  return Number.isNaN(when) ? undefined : Math.max(when - Date.now(), 0);
}

function parseBody(contentType: string, bytes: Buffer, cut: boolean, head: boolean): Json {
  if (head || bytes.length === 0) return null;
  const isJson = contentType.includes("json");
  const utf8 = (() => {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return null;
    }
  })();
  const isText =
    contentType.startsWith("text/") ||
    contentType.includes("xml") ||
    contentType.includes("x-www-form-urlencoded") ||
    contentType.includes("javascript") ||
    (contentType === "" && utf8 !== null);
  if (isJson && !cut) {
    try {
      return JSON.parse(bytes.toString("utf8")) as Json;
    } catch {
      // Not JSON after all: kept as text below.
    }
  }
  if (isJson || isText) {
    const text = bytes.toString("utf8");
    return cut ? { _truncated: true, text, read_bytes: bytes.length } : text;
  }
  return { binary: true, content_type: contentType, size: bytes.length, truncated: cut };
}

async function readBody(response: Response): Promise<[Buffer, boolean]> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (response.body === null) return [Buffer.alloc(0), false];
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return [Buffer.concat(chunks), false];
    const room = MAX_RESPONSE_BYTES - size;
    chunks.push(Buffer.from(value.subarray(0, Math.min(value.length, room))));
    size += Math.min(value.length, room);
    if (value.length > room) {
      await reader.cancel();
      return [Buffer.concat(chunks), true];
    }
  }
}

export interface Request {
  method: string;
  url: URL;
  headers: [string, string][];
  body?: string | Buffer;
  timeoutMs: number;
}

interface Raw {
  reply: Reply;
  bytes: Buffer;
  retryAfterMs: number | undefined;
  shown: string;
}

/** Sends a request; an answer of any status comes back, a failed exchange throws. */
async function exchange(request: Request): Promise<Raw> {
  const shown = `${request.method} ${request.url.origin}${request.url.pathname}`;
  const headers = new Headers({ "user-agent": USER_AGENT });
  for (const [name, value] of request.headers) headers.append(name, value);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers,
      // A Buffer, not a string: fetch would add `text/plain` to a string.
      body: request.body === undefined ? undefined : Buffer.from(request.body),
      redirect: "follow",
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    const name = (error as Error).name;
    if (name === "TimeoutError" || name === "AbortError") {
      throw new StepError("transient", `no response within ${request.timeoutMs} ms`);
    }
    const cause = (error as { cause?: Error }).cause;
    throw new StepError("transient", `request to ${request.url.origin}${request.url.pathname} failed: ${cause?.message ?? (error as Error).message}`);
  }
  const out: { [name: string]: Json } = {};
  response.headers.forEach((value, name) => {
    out[name] = typeof out[name] === "string" ? `${out[name]}, ${value}` : value;
  });
  const contentType = (response.headers.get("content-type") ?? "").toLowerCase();
  const [bytes, cut] = await readBody(response);
  const body = parseBody(contentType, bytes, cut, request.method === "HEAD");
  const reply = { status: response.status, headers: out, body, link: response.headers.get("link") };
  return { reply, bytes, retryAfterMs: retryAfter(response.headers.get("retry-after")), shown };
}

/** The class Switchyard gives an HTTP error status. */
export function classifyStatus(status: number): "rate_limit" | "auth" | "transient" | "validation" {
  if (status === 429) return "rate_limit";
  if (status === 401 || status === 403) return "auth";
  if (status === 408 || (status >= 500 && status <= 599)) return "transient";
  return "validation";
}

function excerpt(bytes: Buffer): string {
  return bytes.subarray(0, ERROR_EXCERPT).toString("utf8");
}

function statusError(raw: Raw, message: string, details: Json): StepError {
  const status = raw.reply.status;
  return new StepError(classifyStatus(status), message, {
    status,
    retryAfterMs: status === 429 || status === 503 ? raw.retryAfterMs : undefined,
    details,
  });
}

const reason = (status: number) => http.STATUS_CODES[status] ?? "";

/** A connection's fields, read from the environment, and its kind. */
export interface Connection {
  kind: string;
  values: { [name: string]: string };
}

/** Adds a generic connection's credentials (bearer, basic, header, OAuth 2 token). */
export function applyCredential(headers: [string, string][], connection: Connection) {
  const need = (field: string) => {
    const value = connection.values[field];
    if (value === undefined || value === "") throw validation(`the ${connection.kind} connection has no \`${field}\``);
    return value;
  };
  switch (connection.kind) {
    case "bearer":
      headers.push(["authorization", `Bearer ${need("token")}`]);
      break;
    case "oauth2":
      headers.push(["authorization", `Bearer ${need("access_token")}`]);
      break;
    case "basic":
      headers.push(["authorization", basic(need("username"), connection.values.password)]);
      break;
    case "header":
      headers.push([need("header_name"), need("value")]);
      break;
    default:
      throw validation(`connections of kind \`${connection.kind}\` cannot be used in HTTP requests`);
  }
}

/** HTTP basic credentials, with no colon when there is no password (as reqwest writes them). */
function basic(username: string, password: string | undefined): string {
  const pair = password === undefined ? `${username}:` : `${username}:${password}`;
  return `Basic ${Buffer.from(pair).toString("base64")}`;
}

/** The HTTP request step: config as Switchyard's `http_request` takes it. */
export async function httpRequest(config: { [key: string]: Json }, key: string, connection?: Connection): Promise<Json> {
  const method = plainText(config.method ?? "GET").toUpperCase();
  if (!METHODS.includes(method)) throw validation(`\`${plainText(config.method)}\` is not an HTTP method`);
  let url: URL;
  try {
    url = new URL(plainText(config.url));
  } catch (error) {
    throw validation(`invalid URL \`${plainText(config.url)}\`: ${(error as Error).message}`);
  }
  for (const [name, value] of Object.entries(objectOf(config.query))) url.searchParams.append(name, plainText(value));
  const timeoutMs = Math.min(Math.max(typeof config.timeout_ms === "number" ? config.timeout_ms : DEFAULT_TIMEOUT_MS, 1), MAX_TIMEOUT_MS);
  const headers: [string, string][] = Object.entries(objectOf(config.headers)).map(([n, v]) => [n, plainText(v)]);
  if (config.send_idempotency_key === true) headers.push(["idempotency-key", key]);
  if (connection) applyCredential(headers, connection);
  if (config.auth !== undefined && config.auth !== null) inlineAuth(headers, objectOf(config.auth));
  let body: string | undefined;
  const given = config.body ?? null;
  if (given !== null) {
    const type = config.body_type ?? "json";
    if (type === "form") {
      if (given === null || typeof given !== "object" || Array.isArray(given)) throw validation("a form body must be an object of fields");
      const pairs: [string, string][] = Object.keys(given).sort().map((k) => [k, plainText(given[k])]);
      // As reqwest: a form body replaces any content type given, JSON keeps one.
      headers.splice(0, headers.length, ...headers.filter(([name]) => name.toLowerCase() !== "content-type"));
      headers.push(["content-type", "application/x-www-form-urlencoded"]);
      body = formBody(pairs);
    } else if (type === "raw") {
      body = plainText(given);
    } else {
      if (!headers.some(([name]) => name.toLowerCase() === "content-type")) headers.push(["content-type", "application/json"]);
      body = canonicalJson(given);
    }
  }
  const raw = await exchange({ method, url, headers, body, timeoutMs });
  const status = raw.reply.status;
  if (status >= 400) {
    const message = `${raw.shown} answered ${status} ${reason(status)}`.trimEnd();
    throw statusError(raw, message, { body: excerpt(raw.bytes), headers: raw.reply.headers });
  }
  return { status, headers: raw.reply.headers, body: raw.reply.body };
}

function inlineAuth(headers: [string, string][], auth: { [key: string]: Json }) {
  const type = plainText(auth.type);
  const need = (field: string) => {
    const value = auth[field];
    if (typeof value !== "string") throw validation(`${type} authentication needs \`${field}\``);
    return value;
  };
  if (type === "bearer") headers.push(["authorization", `Bearer ${need("token")}`]);
  else if (type === "basic") headers.push(["authorization", basic(need("username"), typeof auth.password === "string" ? auth.password : undefined)]);
  else if (type === "header") headers.push([need("name"), need("value")]);
  else throw validation(`unknown authentication type \`${type}\``);
}

export function objectOf(value: Json | undefined): { [key: string]: Json } {
  return value !== null && value !== undefined && typeof value === "object" && !Array.isArray(value) ? value : {};
}

// ---------------------------------------------------------------------------
// Providers

export type Auth =
  | { type: "none" }
  | { type: "bearer"; token: Source }
  | { type: "basic"; username: Source; password: Source }
  | { type: "header"; name: string; prefix: string; value: Source }
  | { type: "query"; param: string; value: Source };

export type Source = { from: "field"; value: string } | { from: "literal"; value: string };

/** An API as Switchyard describes it (its declaration, exported). */
export interface Provider {
  id: string;
  name: string;
  baseUrl: string;
  headers: [string, string][];
  auth: Auth;
  errors: { messageAt: string[]; inBody: "none" | "ok_false" | "graph_ql"; codes: [string, ErrorClassName][] };
  idempotentPosts: boolean;
  /** Computes connection values from the others (Mailchimp's data centre). */
  derive?: (values: { [name: string]: string }) => void;
}

type ErrorClassName = "rate_limit" | "transient" | "auth" | "validation";

/** A provider as one connection reaches it. */
export class Endpoint {
  readonly values: { [name: string]: string };
  readonly base: string;

  constructor(
    readonly provider: Provider,
    readonly connection: Connection,
  ) {
    const generic = ["bearer", "basic", "header", "oauth2"].includes(connection.kind);
    if (connection.kind !== provider.id && !generic) {
      throw validation(`this is a ${connection.kind} connection; ${provider.name} steps need a ${provider.name} connection`);
    }
    this.values = { ...connection.values };
    if (connection.kind === provider.id && provider.derive) provider.derive(this.values);
    const own = (this.values.base_url ?? "").trim();
    this.base = own !== "" ? own : fill(provider.baseUrl, this.values, (v) => v, (name) => `the connection has no \`${name}\` for the base URL`);
  }

  /** Fills `{name}` in a path from the step's fields, then from the connection. */
  path(template: string, fields: { [name: string]: Json }): string {
    return fill(template, { ...this.values, ...fields }, encodeSegment, (name) => `\`${name}\` is required`);
  }

  url(path: string): URL {
    if (path.startsWith("http://") || path.startsWith("https://")) {
      const url = new URL(path);
      if (url.origin !== new URL(this.base).origin) {
        throw validation(`${this.provider.name} answered with a link to another host (${url.origin})`);
      }
      return url;
    }
    return new URL(`${this.base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`);
  }

  private read(source: Source): string {
    if (source.from === "literal") return source.value;
    const value = this.values[source.value];
    if (value === undefined || value === "") throw validation(`the connection has no \`${source.value}\``);
    return value;
  }

  /** The provider's default headers and the connection's credentials. */
  sign(url: URL, headers: [string, string][]) {
    headers.push(...this.provider.headers);
    if (this.connection.kind !== this.provider.id) return applyCredential(headers, this.connection);
    const auth = this.provider.auth;
    if (auth.type === "bearer") headers.push(["authorization", `Bearer ${this.read(auth.token)}`]);
    else if (auth.type === "basic") headers.push(["authorization", basic(this.read(auth.username), this.read(auth.password))]);
    else if (auth.type === "header") headers.push([auth.name, `${auth.prefix}${this.read(auth.value)}`]);
    else if (auth.type === "query") url.searchParams.append(auth.param, this.read(auth.value));
  }
}

function fill(template: string, values: { [name: string]: Json }, encode: (v: string) => string, missing: (name: string) => string): string {
  return template.replace(/\{([^}]*)\}/g, (_, name: string) => {
    const value = plainText(values[name]);
    if (value === "") throw validation(missing(name));
    return encode(value);
  });
}

/** A path segment: everything but letters, digits and `-._~` percent-encoded. */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export type Body = { type: "none" } | { type: "json"; value: Json } | { type: "form"; fields: { [name: string]: Json } };

export interface Call {
  method: string;
  url: URL;
  headers: [string, string][];
  body: Body;
}

/** Sends one call to a provider and reads its answer, failing as Switchyard fails it. */
export async function send(endpoint: Endpoint, call: Call, key: string): Promise<Reply> {
  const url = new URL(call.url);
  const headers: [string, string][] = [...call.headers];
  if (endpoint.provider.idempotentPosts && call.method === "POST") headers.push(["idempotency-key", key]);
  endpoint.sign(url, headers);
  let body: string | undefined;
  if (call.body.type === "json") {
    headers.push(["content-type", "application/json"]);
    body = canonicalJson(call.body.value);
  } else if (call.body.type === "form") {
    headers.push(["content-type", "application/x-www-form-urlencoded"]);
    body = formBody(formPairs(call.body.fields));
  }
  const raw = await exchange({ method: call.method, url, headers, body, timeoutMs: DEFAULT_TIMEOUT_MS });
  const provider = endpoint.provider;
  const status = raw.reply.status;
  if (status >= 400) {
    const found = messageIn(provider, raw.reply.body);
    const message = found === null ? `${raw.shown} answered ${status} ${reason(status)}`.trimEnd() : `${provider.name} answered ${status}: ${found}`;
    throw statusError(raw, message, { body: excerpt(raw.bytes) });
  }
  bodyError(provider, raw.shown, raw.reply.body);
  return raw.reply;
}

function pointer(value: Json, path: string): Json | undefined {
  if (path === "") return value;
  let current: Json | undefined = value;
  for (const raw of path.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(current)) current = /^(0|[1-9]\d*)$/.test(part) ? current[Number(part)] : undefined;
    else if (current !== null && typeof current === "object") current = Object.prototype.hasOwnProperty.call(current, part) ? current[part] : undefined;
    else return undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

function messageIn(provider: Provider, body: Json): string | null {
  for (const path of provider.errors.messageAt) {
    const found = pointer(body, path);
    if (found === undefined || found === null) continue;
    if (typeof found === "string") {
      if (found !== "") return found;
      continue;
    }
    return canonicalJson(found);
  }
  return null;
}

function classOf(provider: Provider, code: string): ErrorClassName {
  const known = provider.errors.codes.find(([name]) => name.toLowerCase() === code.toLowerCase());
  return known ? known[1] : "validation";
}

/** Failures a provider reports with a 2xx status: Slack's `ok: false`, GraphQL's `errors`. */
function bodyError(provider: Provider, shown: string, body: Json) {
  const object = objectOf(body);
  if (provider.errors.inBody === "ok_false") {
    if (object.ok !== false) return;
    const code = typeof object.error === "string" ? object.error : "unknown_error";
    throw new StepError(classOf(provider, code), `${provider.name} refused the request: ${code}`, { details: { error: code, request: shown } });
  }
  if (provider.errors.inBody === "graph_ql") {
    const errors = object.errors;
    if (!Array.isArray(errors) || errors.length === 0) return;
    const messages = errors.map((e) => objectOf(e).message).filter((m): m is string => typeof m === "string");
    const code = errors.map((e) => pointer(e, "/extensions/code")).find((c): c is string => typeof c === "string") ?? "";
    throw new StepError(classOf(provider, code), `${provider.name} refused the request: ${messages.join("; ")}`, { details: { errors, request: shown } });
  }
}

/** The action's output: the body (or the part at `resultAt`), or status and headers when there is none. */
export function resultOf(reply: Reply, resultAt?: string): Json {
  if (reply.body === null) return { status: reply.status, headers: reply.headers };
  if (resultAt === undefined) return reply.body;
  const found = pointer(reply.body, resultAt);
  if (found === undefined) {
    throw new StepError("validation", `the response has nothing at \`${resultAt}\``, { details: { body: reply.body } });
  }
  return found;
}

export const PAGE_SIZE = 100;
export const DEFAULT_MAX_ITEMS = 100;
export const MAX_ITEMS = 10_000;

export type Paging =
  | { type: "starting_after" }
  | { type: "link_header" }
  | { type: "cursor"; items: string; next: string; param: string; sizeParam: string };

function sizeParam(paging: Paging): string {
  return paging.type === "starting_after" ? "limit" : paging.type === "link_header" ? "per_page" : paging.sizeParam;
}

function nextLink(header: string): string | null {
  for (const link of header.split(",")) {
    const at = link.indexOf(";");
    if (at < 0) continue;
    const target = link.slice(0, at).trim();
    const isNext = link
      .slice(at + 1)
      .split(";")
      .some((p) => ['rel="next"', "rel=next"].includes(p.trim().replace(/ /g, "")));
    if (isNext && target.startsWith("<") && target.endsWith(">")) return target.slice(1, -1);
  }
  return null;
}

/** Fetches pages until `maxItems` are collected or the API has no more. */
export async function collectPages(endpoint: Endpoint, first: Call, paging: Paging, maxItemsConfig: Json | undefined, key: string): Promise<Json> {
  const maxItems = Math.min(Math.max(typeof maxItemsConfig === "number" ? Math.trunc(maxItemsConfig) : DEFAULT_MAX_ITEMS, 1), MAX_ITEMS);
  const pageSize = String(Math.min(maxItems, PAGE_SIZE));
  const withSize = (call: Call, extra: [string, string][]) => {
    const url = new URL(call.url);
    url.searchParams.append(sizeParam(paging), pageSize);
    for (const [name, value] of extra) url.searchParams.append(name, value);
    return { ...call, url };
  };
  let call = withSize(first, []);
  const items: Json[] = [];
  for (let page = 1; ; page++) {
    const failed = (why: string) => validation(`page ${page}: ${why}`);
    let reply: Reply;
    try {
      reply = await send(endpoint, call, key);
    } catch (error) {
      if (error instanceof StepError) throw new StepError(error.errorClass, `page ${page}: ${error.message}`, error.extra);
      throw error;
    }
    const list = paging.type === "starting_after" ? objectOf(reply.body).data : paging.type === "link_header" ? reply.body : pointer(reply.body, paging.items);
    if (!Array.isArray(list)) throw failed("the response holds no list of items");
    let next: { query: [string, string][] } | { url: string } | null = null;
    if (paging.type === "starting_after") {
      if (objectOf(reply.body).has_more === true) {
        const last = objectOf(list[list.length - 1] ?? null).id;
        if (typeof last !== "string") throw failed("the page says it has more but its last item has no id");
        next = { query: [["starting_after", last]] };
      }
    } else if (paging.type === "link_header") {
      const link = reply.link === null ? null : nextLink(reply.link);
      if (link !== null) next = { url: link };
    } else {
      const cursor = pointer(reply.body, paging.next);
      if (typeof cursor === "string" && cursor !== "") next = { query: [[paging.param, cursor]] };
    }
    const room = maxItems - items.length;
    const overflow = list.length > room;
    items.push(...list.slice(0, room));
    if (items.length >= maxItems || next === null) {
      return { items, count: items.length, has_more: overflow || next !== null };
    }
    call = "url" in next ? { ...first, url: endpoint.url(next.url) } : withSize(first, next.query);
  }
}
