// E-mail as Switchyard's SMTP provider sends it (with lettre): the same
// connection settings and checks, the same addresses accepted and refused,
// the same message (headers encoded for any receiver, bodies in UTF-8 as
// 7bit, quoted-printable or base64, whichever lettre picks), the same SMTP
// exchange (EHLO, STARTTLS or TLS, AUTH PLAIN or LOGIN, one RCPT per
// recipient), the same step output and the same error classes: a 4xx
// reply may pass later (transient), a 5xx will not (validation), refused
// credentials are `auth`. The message itself is built in `mime.ts`.

import { randomUUID } from "node:crypto";
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Json } from "./expressions.js";
import { build, CRLF, plainText, type Email } from "./mime.js";
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
  const email = build(config, settings.from, stepKey ?? randomUUID());
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