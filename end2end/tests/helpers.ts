// Acting as a user through the API, from inside the browser's context so
// that the page and the calls share one session.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "@playwright/test";
import { expect } from "./fixtures";

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Registers a new user; the page's context is signed in as them. */
export async function signUp(page: Page, prefix: string): Promise<string> {
  const email = uniqueEmail(prefix);
  const response = await page.request.post("/api/v1/auth/register", {
    data: { email, password: "correct horse battery" },
  });
  expect(response.status()).toBe(201);
  return email;
}

/** Creates a workflow from its JSON format and returns its id. */
export async function createWorkflow(page: Page, definition: object): Promise<string> {
  const response = await page.request.post("/api/v1/workflows", { data: definition });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()).id;
}

/** Starts a run and returns its id. */
export async function execute(page: Page, workflow: string, input: object = {}): Promise<string> {
  const response = await page.request.post(`/api/v1/workflows/${workflow}/execute`, { data: input });
  expect(response.status(), await response.text()).toBe(202);
  return (await response.json()).execution_id;
}

/** Manual trigger → transform → condition: runs with no outside calls. */
export function localWorkflow(name: string): object {
  return {
    name,
    description: "doubles a number and checks it",
    nodes: [
      { id: "start", kind: "manual_trigger", label: "Start", position: { x: 0, y: 0 } },
      { id: "double", kind: "transform", label: "Double", config: { template: { n: "{{ (trigger.n | default(1)) * 2 }}" } } },
      { id: "big", kind: "condition", label: "Is it big?", config: { expression: "{{ steps.double.output.n > 10 }}" } },
    ],
    edges: [
      { source: "start", target: "double" },
      { source: "double", target: "big" },
    ],
  };
}

/** A node on the editor's canvas. */
export const node = (page: Page, id: string) => page.locator(`[data-testid=node][data-node-id="${id}"]`);

/** Drags from `source`'s `port` onto the node `target`. */
export async function connect(page: Page, source: string, port: string, target: string) {
  const from = await node(page, source).locator(`circle[data-port="${port}"]`).boundingBox();
  const to = await node(page, target).locator(".node-box").boundingBox();
  await page.mouse.move(from!.x + from!.width / 2, from!.y + from!.height / 2);
  await page.mouse.down();
  await page.mouse.move(to!.x + to!.width / 2, to!.y + to!.height / 2, { steps: 8 });
  await page.mouse.up();
}

export type Seen = { method: string; path: string; headers: IncomingMessage["headers"]; body: string };

/** Slack and Mailchimp stand-ins on one local server (`/slack/api`,
 * `/mailchimp/3.0`, audience `a1b2c3`), recording each request. */
export async function slackAndMailchimp() {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const path = request.url ?? "";
      seen.push({ method: request.method ?? "", path, headers: request.headers, body });
      const reply = (status: number, data: object) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(data));
      };
      if (path === "/slack/api/auth.test") return reply(200, { ok: true, team: "Acme" });
      if (path === "/slack/api/chat.postMessage") return reply(200, { ok: true, channel: "C024BE91L", ts: "1503435956.000247" });
      if (path.startsWith("/mailchimp/3.0/lists/a1b2c3/members/")) return reply(200, { id: path.split("/").pop(), status: "subscribed" });
      reply(404, { error: "not scripted" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => server.close() };
}
