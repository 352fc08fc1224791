// E-mail as Switchyard's SMTP provider sends it (with lettre): the same
// connection settings and checks, the same addresses accepted and refused,
// the same message (headers encoded for any receiver, bodies in UTF-8 as
// 7bit, quoted-printable or base64, whichever lettre picks), the same SMTP
// exchange (EHLO, STARTTLS or TLS, AUTH PLAIN or LOGIN, one RCPT per
// recipient), the same step output and the same error classes: a 4xx
// reply may pass later (transient), a 5xx will not (validation), refused
// credentials are `auth`.

import { randomBytes, randomUUID } from "node:crypto";
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import * as tls from "node:tls";
import { json, type Json } from "./expressions.js";
import { StepError, validation } from "./run.js";

/** An SMTP connection: its fields, or as the project reads connections (kind and text values). */
export type SmtpConnection = SmtpSettings | { kind: string; values: { [field: string]: string | undefined } };

export interface SmtpSettings {
  host: string;
  /** 587 for STARTTLS (the default), 465 for TLS, 25 without. */
  port?: number | string;
  /** `starttls` (the default), `tls` or `none`. */
  security?: string;
  username?: string;
  password?: string;
  /** The default sender: `Name <you@example.com>`. */
  from?: string;
}

const TIMEOUT_MS = 30_000;
const DEFAULT_PORTS: { [security: string]: number } = { starttls: 587, tls: 465, none: 25 };

interface Server {
  host: string;
  port: number;
  security: string;
  login?: { user: string; password: string };
  from?: string;
}

/** Connection fields and config values as text, as Switchyard reads them. */
function plainText(value: Json | undefined): string {
  if (typeof value === "string") return value;
  return value === null || value === undefined ? "" : json(value);
}

function server(connection: SmtpConnection): Server {
  const fields: { [field: string]: Json | undefined } = "values" in connection ? connection.values : { ...connection };
  if ("values" in connection && connection.kind !== "smtp") {
    throw validation(`this is a ${connection.kind} connection; SMTP steps need an SMTP connection`);
  }
  const text = (name: string) => plainText(fields[name]).trim() || undefined;
  const host = text("host");
  if (host === undefined) throw validation("the connection has no `host`");
  const security = (text("security") ?? "starttls").toLowerCase();
  if (!(security in DEFAULT_PORTS)) throw validation(`security \`${security}\` is not one of starttls, tls, none`);
  const portText = text("port");
  const port = portText === undefined ? DEFAULT_PORTS[security] : Number(portText.replace(/^\+/, ""));
  if (portText !== undefined && (!/^\+?\d+$/.test(portText) || port < 1 || port > 65535)) {
    throw validation(`port \`${portText}\` is not a port number`);
  }
  const user = text("username");
  return {
    host,
    port,
    security,
    login: user === undefined ? undefined : { user, password: text("password") ?? "" },
    from: text("from"),
  };
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

const CRLF = "\r\n";

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

interface Email {
  from: string;
  recipients: string[];
  data: string;
  id: string;
}

function build(config: { [key: string]: Json }, server: Server, stepKey: string): Email {
  const text = (name: string) => {
    const value = config[name] === undefined ? undefined : plainText(config[name]);
    return value === undefined || value.trim() === "" ? undefined : value;
  };
  const fromText = text("from") ?? server.from;
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

// ---------------------------------------------------------- SMTP session

interface Reply {
  code: number;
  lines: string[];
}

/** A failed exchange, sorted as Switchyard sorts it (535, 534 and 530 are refused credentials). */
function refused(host: string, detail: string, code?: number): StepError {
  const kind = code === 535 || code === 534 || code === 530 ? "auth" : code !== undefined && code >= 500 ? "validation" : "transient";
  return new StepError(kind, `the mail server ${host} refused: ${detail}`, code === undefined ? {} : { details: { smtp_code: String(code) } });
}

/** One conversation with the server, reply by reply. */
class Session {
  private socket!: net.Socket;
  private received = "";
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly listeners = {
    data: (chunk: string) => {
      this.received += chunk;
      this.wake?.();
    },
    error: (error: Error) => {
      this.failure ??= error;
      this.wake?.();
    },
    close: () => {
      this.failure ??= new Error("the server closed the connection");
      this.wake?.();
    },
  };
  features = new Set<string>();

  constructor(
    readonly host: string,
    socket: net.Socket,
  ) {
    this.attach(socket);
  }

  /** Connects, reads the greeting, says EHLO, and encrypts as the connection says. */
  static async open(server: Server): Promise<Session> {
    // The certificate must name the host (SNI takes names, not addresses).
    const names = { host: server.host, ...(net.isIP(server.host) ? {} : { servername: server.host }) };
    const socket = server.security === "tls" ? tls.connect({ ...names, port: server.port }) : net.connect({ ...names, port: server.port });
    const session = new Session(server.host, socket);
    try {
      await session.connected(socket, server.security === "tls" ? "secureConnect" : "connect");
      await session.expect(session.reply());
      await session.hello();
      if (server.security === "starttls") {
        if (!session.features.has("STARTTLS")) throw session.client("STARTTLS is not supported on this server");
        await session.command("STARTTLS");
        const secure = tls.connect({ ...names, socket: session.detach() });
        session.attach(secure);
        await session.connected(secure, "secureConnect");
        await session.hello();
      }
      return session;
    } catch (error) {
      session.close();
      throw error;
    }
  }

  /** AUTH with the first of PLAIN and LOGIN that the server offers. */
  async authenticate(user: string, password: string): Promise<void> {
    const base64 = (text: string) => Buffer.from(text).toString("base64");
    if (this.features.has("AUTH PLAIN")) {
      const reply = await this.command(`AUTH PLAIN ${base64(`\0${user}\0${password}`)}`);
      if (reply.code === 334) throw this.client("This mechanism does not expect a challenge");
      return;
    }
    if (!this.features.has("AUTH LOGIN")) throw this.client("No compatible authentication mechanism was found");
    let reply = await this.command("AUTH LOGIN");
    for (let challenges = 10; reply.code === 334; challenges--) {
      if (challenges === 0) throw new StepError("transient", `the mail server ${this.host} refused: response error: Unexpected number of challenges`);
      const challenge = Buffer.from(reply.lines.join(""), "base64").toString().toLowerCase();
      const answer = /user ?name/.test(challenge) ? user : challenge.includes("password") ? password : undefined;
      if (answer === undefined) throw this.client("Unrecognized challenge");
      reply = await this.command(base64(answer));
    }
  }

  async send(email: Email): Promise<Reply> {
    // Addresses in UTF-8 need SMTPUTF8; headers in UTF-8 need 8BITMIME.
    const params: string[] = [];
    if (![email.from, ...email.recipients].every((a) => /^[\x00-\x7f]*$/.test(a))) {
      if (!this.features.has("SMTPUTF8")) throw this.client("Envelope contains non-ascii chars but server does not support SMTPUTF8");
      params.push(" SMTPUTF8");
    }
    if (!/^[\x00-\x7f]*$/.test(email.data)) {
      if (!this.features.has("8BITMIME")) throw this.client("Message contains non-ascii chars but server does not support 8BITMIME");
      params.push(" BODY=8BITMIME");
    }
    await this.command(`MAIL FROM:<${email.from}>${params.join("")}`);
    for (const recipient of email.recipients) await this.command(`RCPT TO:<${recipient}>`);
    await this.command("DATA");
    // Lines starting with a dot get another one; a dot alone ends the message.
    this.socket.write(Buffer.from(email.data.replace(/(^|\r\n)\./g, "$1..") + `${CRLF}.${CRLF}`));
    return this.expect(this.reply());
  }

  async quit(): Promise<void> {
    await this.command("QUIT");
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }

  async command(line: string): Promise<Reply> {
    this.socket.write(line + CRLF);
    return this.expect(this.reply());
  }

  private async hello(): Promise<void> {
    const reply = await this.command("EHLO [127.0.0.1]");
    this.features = new Set();
    for (const line of reply.lines) {
      const [keyword, ...rest] = line.split(/\s+/);
      if (keyword === "AUTH") rest.forEach((mechanism) => this.features.add(`AUTH ${mechanism}`));
      else this.features.add(keyword);
    }
  }

  /** A positive reply (1xx to 3xx), else the server's refusal. */
  private async expect(pending: Promise<Reply>): Promise<Reply> {
    const reply = await pending;
    if (reply.code < 400) return reply;
    const kind = reply.code >= 500 ? "permanent" : "transient";
    return Promise.reject(refused(this.host, `${kind} error (${reply.code}): ${joined(reply.lines)}`, reply.code));
  }

  private async reply(): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const end = this.received.indexOf("\n");
      if (end < 0) {
        if (this.failure !== undefined) throw refused(this.host, `network error: ${this.failure.message}`);
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const line = this.received.slice(0, end).replace(/\r$/, "");
      this.received = this.received.slice(end + 1);
      const match = /^(\d{3})([ -]?)(.*)$/.exec(line);
      if (match === null) throw refused(this.host, `response error: unexpected reply \`${line}\``);
      lines.push(match[3]);
      if (match[2] !== "-") return { code: Number(match[1]), lines };
    }
  }

  private client(message: string): StepError {
    return refused(this.host, `internal client error: ${message}`);
  }

  private connected(socket: net.Socket, event: "connect" | "secureConnect"): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = () => reject(refused(this.host, `Connection error: ${this.failure?.message ?? "no connection"}`));
      if (this.failure !== undefined) return fail();
      socket.once(event, resolve);
      socket.once("close", fail);
    });
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    this.failure = undefined;
    socket.setEncoding("utf8");
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error("timed out")));
    socket.on("data", this.listeners.data);
    socket.on("error", this.listeners.error);
    socket.on("close", this.listeners.close);
  }

  /** The socket, for TLS to take over. */
  private detach(): net.Socket {
    const socket = this.socket;
    socket.off("data", this.listeners.data);
    socket.off("error", this.listeners.error);
    socket.off("close", this.listeners.close);
    socket.setTimeout(0);
    // Errors of the plain socket reach us through TLS; unheard, they would end the process.
    socket.on("error", () => {});
    return socket;
  }
}

/** Reply lines joined by spaces, an enhanced status code repeated on later lines said once (as lettre). */
function joined(lines: string[]): string {
  const code = /^\d\.\d{1,3}\.\d{1,3}(?= )/.exec(lines[0] ?? "")?.[0];
  return lines
    .map((line, i) => (i > 0 && code !== undefined && line.startsWith(`${code} `) ? line.slice(code.length).trimStart() : line))
    .join(" ");
}

/**
 * `smtp.send_email`: sends the email `config` describes through the
 * connection's server. Resolves to the step's output; rejects with a
 * StepError. `stepKey` (`<execution>:<node>[:item]`) makes the Message-ID,
 * the same on every retry; without it the Message-ID is random.
 */
export async function sendEmail(connection: SmtpConnection, config: { [key: string]: Json }, stepKey?: string): Promise<Json> {
  const settings = server(connection);
  const email = build(config, settings, stepKey ?? randomUUID());
  // A name that does not resolve is the connection's fault, as in Switchyard.
  await lookup(settings.host, { all: true }).catch((error: Error) => {
    throw validation(`${settings.host} cannot be resolved: ${error.message}`);
  });
  const session = await Session.open(settings);
  try {
    if (settings.login !== undefined) await session.authenticate(settings.login.user, settings.login.password);
    const reply = await session.send(email);
    await session.quit();
    return { message_id: email.id, accepted: email.recipients, response: `${reply.code} ${reply.lines.join(" ")}` };
  } finally {
    session.close();
  }
}
