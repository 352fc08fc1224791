// Webhook requests read as Switchyard reads them (`server/src/webhooks`,
// with `http::HeaderMap` and `form_urlencoded`): headers, form fields, and
// the body by its content type. Used by `webhook.ts` and `signatures.ts`.

import type { Json } from "./expressions.js";

export type JsonObject = { [key: string]: Json };
/** Request headers as received: lower-case names, values as latin1 text (one char per byte), in order. */
export type Headers = [string, string][];

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function has(value: Json, key: string): boolean {
  return isObject(value) && Object.prototype.hasOwnProperty.call(value, key);
}

/** Rust's `str::trim` (Unicode White_Space; unlike JS's, no U+FEFF but U+0085). */
const SPACE = "[\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const ENDS = new RegExp(`^${SPACE}+|${SPACE}+$`, "g");
export function trim(text: string): string {
  return text.replace(ENDS, "");
}

/** A header's first value, as `HeaderMap::get` gives it. */
export function first(headers: Headers, name: string): string | undefined {
  return headers.find(([n]) => n === name)?.[1];
}

/** `HeaderValue::to_str`: only visible ASCII (and tabs) is text. */
export function asText(value: string | undefined): string | undefined {
  return value !== undefined && /^[\t\x20-\x7e]*$/.test(value) ? value : undefined;
}

/** A header's trimmed, non-empty text (the providers' `header_text`). */
export function headerText(headers: Headers, name: string): string | undefined {
  const value = asText(first(headers, name));
  const trimmed = value === undefined ? "" : trim(value);
  return trimmed === "" ? undefined : trimmed;
}

/** A non-empty string in the body below `path` (the providers' `body_text`). */
export function bodyText(body: Json, ...path: string[]): string | undefined {
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
export function formPairs(bytes: Buffer): [string, string][] {
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
export function fieldObject(bytes: Buffer): JsonObject {
  const object: JsonObject = {};
  for (const [name, value] of formPairs(bytes)) define(object, name, value);
  return object;
}

/** Sets a key, even `__proto__`, as a plain data property. */
function define(object: JsonObject, key: string, value: Json): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

export function headerObject(headers: Headers): JsonObject {
  const object: JsonObject = {};
  for (const [name, value] of headers) {
    // Signatures and cookies are checked or useless in the run.
    if (name === "cookie" || name === "authorization") continue;
    define(object, name, lossy(Buffer.from(value, "latin1")));
  }
  return object;
}

/** What Switchyard's `ApiError` answers with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}



/** The body as the workflow sees it: JSON, form fields, text, or nothing. */
export function parseBody(headers: Headers, body: Buffer): Json {
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
