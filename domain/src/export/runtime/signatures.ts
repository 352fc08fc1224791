// Signatures (`server/src/webhooks/signature.rs`), checked over the raw
// body, and the replay memory that lets a signed message start one run.

import * as crypto from "node:crypto";
import { asText, first, formPairs, trim, type Headers } from "./requests.js";

/** How far a signed timestamp may be from now (Stripe and Slack). */
const TOLERANCE_SECS = 300;
/** How long content signed without a timestamp is remembered against replays. */
const UNTIMED_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Signed contents remembered at most (Switchyard's `PER_WORKFLOW`). */
const REPLAY_LIMIT = 100_000;
const PRUNE_EVERY_MS = 10 * 60 * 1000;

/** A trigger's signature settings (`domain/src/webhooks.rs`). */
export interface Signature {
  /** `stripe`, `github`, `slack`, `linear`, `twilio`; anything else is generic HMAC. */
  scheme: string;
  secret: string;
  header?: string;
  algorithm: string;
  prefix: string;
  encoding: string;
}

/** Why a signature was refused; the text is Switchyard's. */
export class Refusal extends Error {}

/** What a valid signature covers, so that a replay is recognised. */
export interface Signed {
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
export function check(config: Signature, headers: Headers, body: Buffer, url: Buffer, now: number): Signed {
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

export class Replays {
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
