// The message Switchyard's SMTP provider sends (lettre's): addresses
// parsed and checked as lettre does, headers encoded for any receiver
// (RFC 2047 words, folded lines), bodies in UTF-8 as 7bit,
// quoted-printable or base64, whichever lettre picks. `smtp.ts` sends it.

import { randomBytes } from "node:crypto";
import { json, type Json } from "./expressions.js";
import { validation } from "./run.js";

export const CRLF = "\r\n";

/** Connection fields and config values as text, as Switchyard reads them. */
export function plainText(value: Json | undefined): string {
  if (typeof value === "string") return value;
  return value === null || value === undefined ? "" : json(value);
}

// ------------------------------------------------------------- addresses

interface Mailbox {
  name?: string;
  email: string;
}

/** Why lettre refuses an address, in its words. */
class AddressError extends Error {}

const ATEXT = /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]|[^\x00-\x7f]/u;
const QTEXT = /[\x21\x23-\x5b\x5d-\x7e\x01-\x08\x0b\x0c\x0e-\x1f\x7f]|[^\x00-\x7f]/u;
const ALPHANUMERIC = /^[\p{Alphabetic}\p{N}]$/u;

/**
 * lettre's address grammar (RFC 2822's, without comments): an address, or
 * a display name (words, quoted strings, dots) and an address in `<>`.
 */
class AddressParser {
  private at = 0;
  private readonly chars: string[];

  constructor(text: string) {
    this.chars = [...text];
  }

  mailbox(): Mailbox {
    this.skip(/\s/u);
    const start = this.at;
    const named = this.attempt(() => {
      const name = this.attempt(() => this.phrase());
      return { name: name ?? undefined, email: this.angleAddress() };
    });
    if (named === null) this.at = start;
    const mailbox = named ?? { email: this.address() };
    if (!this.atEnd()) throw new AddressError("Invalid input");
    return mailbox;
  }

  private atEnd(): boolean {
    this.skip(/\s/u);
    return this.at === this.chars.length;
  }

  private angleAddress(): string {
    this.skip(/[ \t]/);
    this.expect("<");
    const email = this.address();
    this.expect(">");
    this.skip(/[ \t]/);
    return email;
  }

  /** `local@domain`, checked as lettre checks them. */
  private address(): string {
    const local = this.attempt(() => this.dotAtom()) ?? this.quoted();
    this.expect("@");
    const domain = this.dotAtom();
    if (!validLocalPart(local)) throw new AddressError("Invalid email user");
    if (!validDomain(domain)) throw new AddressError("Invalid email domain");
    return `${local}@${domain}`;
  }

  /** Words, quoted strings and dots; a space where there was white space. */
  private phrase(): string {
    let out = this.word();
    for (;;) {
      const before = this.at;
      const spaced = this.skip(/[ \t]/) > 0;
      const next = this.attempt(() => this.word()) ?? (this.peek() === "." ? (this.at++, ".") : null);
      if (next === null) {
        this.at = before;
        return out;
      }
      out += (spaced ? " " : "") + next;
    }
  }

  private word(): string {
    return this.peek() === '"' ? this.quoted() : this.atom();
  }

  private atom(): string {
    this.skip(/[ \t]/);
    const start = this.at;
    this.skip(ATEXT);
    if (this.at === start) throw new AddressError("Invalid input");
    return this.chars.slice(start, this.at).join("");
  }

  private dotAtom(): string {
    let out = this.atom();
    while (this.peek() === "." && this.chars[this.at + 1] !== undefined && ATEXT.test(this.chars[this.at + 1])) {
      this.at++;
      const start = this.at;
      this.skip(ATEXT);
      out += "." + this.chars.slice(start, this.at).join("");
    }
    return out;
  }

  /** A quoted string's content: white space inside shrinks to one character, and none before the end. */
  private quoted(): string {
    this.expect('"');
    let out = "";
    for (;;) {
      const space = this.peek();
      const spaced = this.skip(/[ \t]/) > 0;
      const c = this.peek();
      if (c === '"') break;
      if (c === "\\" && /^[\x01-\x09\x0b\x0c\x0e-\x7f]$/.test(this.chars[this.at + 1] ?? "")) {
        out += (spaced ? space : "") + this.chars[this.at + 1];
        this.at += 2;
      } else if (c !== undefined && QTEXT.test(c)) {
        out += (spaced ? space : "") + c;
        this.at++;
      } else {
        throw new AddressError("Invalid input");
      }
    }
    this.at++;
    return out;
  }

  private attempt<T>(parse: () => T): T | null {
    const start = this.at;
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof AddressError)) throw error;
      this.at = start;
      return null;
    }
  }

  private expect(c: string): void {
    if (this.peek() !== c) throw new AddressError("Invalid input");
    this.at++;
  }

  private peek(): string | undefined {
    return this.chars[this.at];
  }

  private skip(pattern: RegExp): number {
    const start = this.at;
    while (this.at < this.chars.length && pattern.test(this.chars[this.at])) this.at++;
    return this.at - start;
  }
}

const bytes = (text: string) => Buffer.byteLength(text);
const isAtext = (c: string) => ATEXT.test(c) || ALPHANUMERIC.test(c);

function validLocalPart(local: string): boolean {
  if (local === "" || bytes(local) > 64) return false;
  return local.split(".").every((part) => part !== "" && [...part].every(isAtext));
}

function validDomain(domain: string): boolean {
  if (domain === "" || bytes(domain) > 254) return false;
  return domain.split(".").every((label) => {
    const chars = [...label];
    return (
      chars.length > 0 &&
      ALPHANUMERIC.test(chars[0]) &&
      ALPHANUMERIC.test(chars[chars.length - 1]) &&
      bytes(label) <= 63 &&
      chars.every(isAtext)
    );
  });
}

function mailbox(text: string, label: string): Mailbox {
  try {
    return new AddressParser(text).mailbox();
  } catch (error) {
    if (!(error instanceof AddressError)) throw error;
    throw validation(`${label}\`${text}\` is not an email address (${error.message})`);
  }
}

/** `a@x, B <b@y>` or `["a@x", …]`; the field's label names the one that does not parse. */
function mailboxes(value: Json | undefined, label: string): Mailbox[] {
  const items =
    value === undefined || value === null ? [] : Array.isArray(value) ? value.map(plainText) : plainText(value).split(",");
  return items
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map((item) => mailbox(item, `${label}: `));
}

// --------------------------------------------------------------- message

/** Header text: words with characters a header cannot hold are RFC 2047 encoded, as lettre encodes them. */
function headerText(value: string): string {
  let out = "";
  let pending = "";
  const flush = () => {
    const words = pending.replace(/ +$/, "");
    out += encodedWords(words) + pending.slice(words.length);
    pending = "";
  };
  for (const word of value.split(/(?<= )/)) {
    if (/^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(word)) {
      flush();
      out += word;
    } else {
      pending += word;
    }
  }
  flush();
  return out;
}

/** `=?utf-8?b?…?=` words of at most 75 characters, whole characters each. */
function encodedWords(text: string): string {
  const words: string[] = [];
  let chunk = "";
  for (const c of text) {
    if (bytes(chunk + c) > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += c;
  }
  if (chunk !== "") words.push(chunk);
  return words.map((word) => `=?utf-8?b?${Buffer.from(word).toString("base64")}?=`).join(" ");
}

/** A display name as lettre writes it: bare, quoted, quoted with escapes, or encoded. */
function displayName(name: string): string {
  if (/^[A-Za-z0-9._-]*$/.test(name)) return name;
  if (/^[A-Za-z0-9 ._-]*$/.test(name)) return `"${name}"`;
  if (/^[A-Za-z0-9 ._\-\\"]*$/.test(name)) return `"${name.replace(/[\\"]/g, "\\$&")}"`;
  return encodedWords(name);
}

const address = (m: Mailbox) => (m.name === undefined ? m.email : `${displayName(m.name)} <${m.email}>`);

/** `Name: value`, folded before a space where a line would pass 78 characters. */
function header(name: string, value: string): string {
  let out = `${name}:`;
  let [length, fresh] = [out.length, true];
  for (const word of value.split(" ")) {
    if (!fresh && length + 1 + word.length > 78) {
      out += CRLF;
      length = 0;
    }
    out += ` ${word}`;
    [length, fresh] = [length + 1 + word.length, false];
  }
  return out + CRLF;
}

/** A body in UTF-8 with CRLF line ends, and the transfer encoding lettre picks for it. */
function encodeBody(text: string): { encoding: string; body: string } {
  const raw = Buffer.from(text);
  const lines = text.replace(/\r?\n/g, CRLF);
  // lettre measures lines in bytes, from one LF to the next (the first without it).
  let last = 0;
  let long = false;
  raw.forEach((b, i) => {
    if (b !== 0x0a) return;
    long ||= i - last >= 76;
    last = i;
  });
  long ||= raw.length - last >= 76;
  const ascii = raw.every((b) => b < 0x80);
  if (ascii && !long) return { encoding: "7bit", body: lines };
  const escaped = raw.filter((b) => b !== 0x09 && (b < 0x20 || b > 0x7e)).length;
  if (escaped <= Math.floor(raw.length / 3)) return { encoding: "quoted-printable", body: quotedPrintable(lines) };
  const base64 = Buffer.from(lines).toString("base64");
  return { encoding: "base64", body: base64.match(/.{1,76}/g)?.join(CRLF) ?? "" };
}

/** Quoted-printable: CRLF stays a line break, lines are at most 76 characters. */
function quotedPrintable(text: string): string {
  return text
    .split(CRLF)
    .map((line) => {
      const out: string[] = [""];
      const data = Buffer.from(line);
      data.forEach((b, i) => {
        const atEnd = i === data.length - 1;
        const literal = (b >= 0x21 && b <= 0x7e && b !== 0x3d) || ((b === 0x20 || b === 0x09) && !atEnd);
        const piece = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
        const room = atEnd ? 76 : 75;
        if (out[out.length - 1].length + piece.length > room) out.push("");
        out[out.length - 1] += piece;
      });
      return out.join(`=${CRLF}`);
    })
    .join(CRLF);
}

function part(contentType: string, text: string): string {
  const { encoding, body } = encodeBody(text);
  return `Content-Type: ${contentType}${CRLF}Content-Transfer-Encoding: ${encoding}${CRLF}${CRLF}${body}`;
}

const PLAIN = "text/plain; charset=utf-8";
const HTML = "text/html; charset=utf-8";

/** A Message-ID made from the step key (`<execution>:<node>[:item]`): the same on every retry. */
function messageId(stepKey: string): string {
  return `<${stepKey.replace(/[^A-Za-z0-9-]/gu, ".")}@switchyard.invalid>`;
}

export interface Email {
  from: string;
  recipients: string[];
  data: string;
  id: string;
}

/** The message `config` describes, with its envelope; `defaultFrom` (the connection's) when it names no sender. */
export function build(config: { [key: string]: Json }, defaultFrom: string | undefined, stepKey: string): Email {
  const text = (name: string) => {
    const value = config[name] === undefined ? undefined : plainText(config[name]);
    return value === undefined || value.trim() === "" ? undefined : value;
  };
  const fromText = text("from") ?? defaultFrom;
  if (fromText === undefined) throw validation("From is required (or a default sender on the connection)");
  const from = mailbox(fromText, "From: ");
  const to = mailboxes(config.to, "To");
  if (to.length === 0) throw validation("To needs at least one address");
  const cc = mailboxes(config.cc, "Cc");
  const bcc = mailboxes(config.bcc, "Bcc");
  const replyText = text("reply_to");
  const replyTo = replyText === undefined ? [] : replyList(replyText);
  const [plain, html] = [text("text"), text("html")];
  if (plain === undefined && html === undefined) throw validation("give the email a text or an HTML body");

  const id = messageId(stepKey);
  let data =
    header("From", address(from)) +
    header("Subject", headerText(text("subject") ?? "")) +
    header("Message-ID", id) +
    header("To", to.map(address).join(", ")) +
    (cc.length > 0 ? header("Cc", cc.map(address).join(", ")) : "") +
    (replyTo.length > 0 ? header("Reply-To", replyTo.map(address).join(", ")) : "") +
    // lettre leaves MIME-Version out of text-only messages; it is right to send it.
    header("MIME-Version", "1.0") +
    header("Date", new Date().toUTCString().replace(/GMT$/, "+0000"));
  if (plain !== undefined && html !== undefined) {
    const boundary = randomBytes(20).toString("hex");
    data +=
      `Content-Type: multipart/alternative; boundary="${boundary}"${CRLF}${CRLF}` +
      `--${boundary}${CRLF}${part(PLAIN, plain)}${CRLF}` +
      `--${boundary}${CRLF}${part(HTML, html)}${CRLF}` +
      `--${boundary}--${CRLF}`;
  } else if (html !== undefined) {
    data += part(HTML, html) + CRLF;
  } else {
    data += part(PLAIN, plain ?? "");
  }
  const recipients = [...to, ...cc, ...bcc].map((m) => m.email);
  return { from: from.email, recipients, data, id };
}

/** Reply-To: a list of addresses; an error names the whole field. */
function replyList(text: string): Mailbox[] {
  try {
    return splitList(text).map((item) => new AddressParser(item).mailbox());
  } catch (error) {
    if (!(error instanceof AddressError)) throw error;
    throw validation(`Reply to: \`${text}\` is not an email address (${error.message})`);
  }
}

/** `a@x, "B, C" <b@y>`: the commas outside quotes and angle brackets. */
function splitList(text: string): string[] {
  const items = [""];
  let [quoted, angled] = [false, false];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && quoted) items[items.length - 1] += c + (text[++i] ?? "");
    else if (c === "," && !quoted && !angled) items.push("");
    else {
      if (c === '"') quoted = !quoted;
      if (c === "<" && !quoted) angled = true;
      if (c === ">" && !quoted) angled = false;
      items[items.length - 1] += c;
    }
  }
  return items;
}
