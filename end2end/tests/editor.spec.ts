// The editor as a new user meets it: build a workflow by dragging kinds
// onto the canvas and connecting them, save, run it and watch the steps
// live; retries and failures on the nodes; validation that blocks
// activation; undo, redo, delete, auto-layout and zoom; owner-only access.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test, expect, hydrated, snapshot } from "./fixtures";
import { connect, createWorkflow, localWorkflow, node, signUp } from "./helpers";

/** A local HTTP server answering each request with the next status. */
async function scripted(statuses: number[]): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((_request, response) => {
    const status = statuses[Math.min(hits, statuses.length - 1)];
    hits += 1;
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify({ hello: "world", status }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/orders`, server, hits: () => hits };
}


test("build, save and run a workflow, watching each step turn green", async ({ page }) => {
  const api = await scripted([200]);
  await signUp(page, "builder");
  await page.goto("/workflows");
  await hydrated(page);
  await page.getByRole("button", { name: "New workflow" }).click();
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("editor")).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Workflow name").fill("Order lookup");

  const canvas = page.getByTestId("canvas");
  await page.locator(".palette-item[data-kind=http_request]").dragTo(canvas, { targetPosition: { x: 420, y: 140 } });
  await page.locator(".palette-item[data-kind=condition]").dragTo(canvas, { targetPosition: { x: 420, y: 340 } });
  await expect(page.getByTestId("node")).toHaveCount(3);
  await connect(page, "start", "out", "http_request");
  await connect(page, "http_request", "out", "condition");
  await expect(page.getByTestId("edge")).toHaveCount(2);

  // Both new nodes lack config: the validator says so on the nodes.
  await expect(node(page, "http_request").getByTestId("node-problem")).toBeVisible();
  await node(page, "http_request").locator(".node-box").click();
  await page.locator("#config-url").fill(api.url);
  await expect(node(page, "http_request").getByTestId("node-problem")).toHaveCount(0);
  await node(page, "condition").locator(".node-box").click();
  await expect(page.getByTestId("node-form")).toContainText("steps.http_request.output");
  await page.locator("#config-expression").fill("{{ steps.http_request.output.status == 200 }}");
  await expect(page.getByTestId("no-problems")).toBeVisible();

  await expect(page.getByTestId("unsaved")).toBeVisible();
  // Leaving through a link asks first; staying keeps the changes.
  const editorUrl = page.url();
  let asked = "";
  page.once("dialog", (dialog) => {
    asked = dialog.message();
    void dialog.dismiss();
  });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workflows" }).click();
  await expect.poll(() => asked).toContain("unsaved changes");
  expect(page.url()).toBe(editorUrl);
  await expect(page.getByTestId("unsaved")).toBeVisible();

  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status")).toHaveText("Saved as version 2.");
  await expect(page.getByTestId("unsaved")).toHaveCount(0);

  await page.getByTestId("run-button").click();
  for (const id of ["start", "http_request", "condition"]) {
    await expect(node(page, id)).toHaveAttribute("data-status", "succeeded");
  }
  const panel = page.getByTestId("run-panel");
  await expect(panel.locator("[data-testid=step][data-node-id=http_request] [data-testid=step-output]")).toContainText('"hello": "world"');
  await snapshot(page, "editor-run-succeeded");
  expect(api.hits()).toBe(1);

  // Everything persisted, and the server-rendered HTML already has the graph.
  const html = await (await page.request.get(page.url())).text();
  expect(html).toContain('data-node-id="http_request"');
  expect(html).toContain("Order lookup");
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("node")).toHaveCount(3);
  await expect(page.getByTestId("edge")).toHaveCount(2);
  await expect(page.getByLabel("Workflow name")).toHaveValue("Order lookup");
  api.server.close();
});

test("retries show live with their attempts; a client error fails the step at once", async ({ page }) => {
  const flaky = await scripted([500, 500, 200]);
  await signUp(page, "retries");
  const id = await createWorkflow(page, {
    name: "Flaky",
    nodes: [
      { id: "start", kind: "manual_trigger", position: { x: 40, y: 100 } },
      // Waits of a fixed 3 s (no jitter, which may draw ~0 ms) so the
      // retrying state lasts long enough to be seen however busy the machine.
      {
        id: "call", kind: "http_request", label: "Call", position: { x: 330, y: 100 }, config: { url: flaky.url },
        retry: { max_attempts: 3, initial_delay_ms: 3000, factor: 1, max_delay_ms: 3000, jitter: false },
      },
    ],
    edges: [{ source: "start", target: "call" }],
  });
  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  await page.getByTestId("run-button").click();
  await expect(node(page, "call")).toHaveAttribute("data-status", "retrying");
  await expect(node(page, "call").getByTestId("node-status")).toContainText("retrying after attempt");
  // Two waits of 3 s before the third attempt.
  await expect(node(page, "call")).toHaveAttribute("data-status", "succeeded", { timeout: 20_000 });
  await expect(node(page, "call").getByTestId("node-status")).toHaveText("succeeded · attempt 3");
  await expect(page.getByTestId("run-panel").locator("[data-testid=step][data-node-id=call]")).toContainText("3 attempts");
  expect(flaky.hits()).toBe(3);

  const refusing = await scripted([400]);
  await node(page, "call").locator(".node-box").click();
  await page.locator("#config-url").fill(refusing.url);
  await page.getByTestId("run-button").click();
  await expect(node(page, "call")).toHaveAttribute("data-status", "failed");
  await expect(node(page, "call").getByTestId("node-status")).toHaveText("failed");
  await expect(page.getByTestId("run-panel").getByTestId("run-error")).toContainText("400");
  await snapshot(page, "editor-run-failed");
  expect(refusing.hits()).toBe(1);
  flaky.server.close();
  refusing.server.close();
});

test("a cycle and a missing URL show on the nodes and block activation", async ({ page }) => {
  await signUp(page, "validation");
  const id = await createWorkflow(page, {
    name: "Loops forever",
    nodes: [
      { id: "start", kind: "manual_trigger", position: { x: 40, y: 100 } },
      { id: "a", kind: "transform", position: { x: 330, y: 40 }, config: { template: "x" } },
      { id: "b", kind: "transform", position: { x: 620, y: 40 }, config: { template: "y" } },
      { id: "call", kind: "http_request", position: { x: 330, y: 220 }, config: {} },
    ],
    edges: [
      { source: "start", target: "a" },
      { source: "a", target: "b" },
      { source: "b", target: "a" },
      { source: "start", target: "call" },
    ],
  });
  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  await expect(node(page, "call").getByTestId("node-problem")).toBeVisible();
  const problems = page.getByTestId("problems");
  await expect(problems).toContainText("cycle");
  await expect(problems).toContainText("url");
  await expect(page.getByRole("button", { name: "Activate" })).toBeDisabled();
  await snapshot(page, "editor-problems");

  // Clicking a problem selects its node.
  await problems.getByRole("button").filter({ hasText: "call:" }).first().click();
  await expect(node(page, "call")).toHaveClass(/selected/);
  // The server refuses activation too.
  const refused = await page.request.post(`/api/v1/workflows/${id}/activate`);
  expect(refused.status()).toBe(422);
});

test("undo, redo, delete, auto-layout and zoom to fit", async ({ page }) => {
  await signUp(page, "tools");
  // Placed by hand, backwards: right to left down a diagonal.
  const messy = localWorkflow("Tidy me") as { nodes: { position?: object }[] };
  messy.nodes.forEach((n, i) => (n.position = { x: 600 - 300 * i, y: 150 * i }));
  const id = await createWorkflow(page, messy);
  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  const transforms = () => page.getByTestId("node").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("transform")));

  // The layout puts the trigger first, left to right.
  const before = await transforms();
  expect(before[0]).toBe("translate(600.0,0.0)");
  await page.getByRole("button", { name: "Auto-layout" }).click();
  const after = await transforms();
  expect(new Set(after).size).toBe(3);
  expect(after).not.toEqual(before);

  await node(page, "double").locator(".node-box").click();
  await page.keyboard.press("Delete");
  await expect(page.getByTestId("node")).toHaveCount(2);
  await expect(page.getByTestId("edge")).toHaveCount(0);
  await page.keyboard.press("Control+z");
  await expect(page.getByTestId("node")).toHaveCount(3);
  await expect(page.getByTestId("edge")).toHaveCount(2);
  await page.keyboard.press("Control+Shift+Z");
  await expect(page.getByTestId("node")).toHaveCount(2);
  await page.getByRole("button", { name: "Undo" }).click();
  await expect(page.getByTestId("node")).toHaveCount(3);
  await page.getByRole("button", { name: "Undo" }).click();
  expect(await transforms()).toEqual(before);
  await page.getByRole("button", { name: "Redo" }).click();
  expect(await transforms()).toEqual(after);

  // Keyboard: select a node with Enter, move it with the arrow keys, undo.
  const big = node(page, "big");
  const placedAt = (await big.getAttribute("transform"))!;
  const [, x, y] = /translate\(([-\d.]+),([-\d.]+)\)/.exec(placedAt)!;
  await big.focus();
  await page.keyboard.press("Enter");
  await expect(big).toHaveClass(/selected/);
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Shift+ArrowDown");
  await expect(big).toHaveAttribute("transform", `translate(${(+x + 20).toFixed(1)},${(+y + 50).toFixed(1)})`);
  await page.keyboard.press("Control+z");
  await expect(big).toHaveAttribute("transform", placedAt);

  // Copy and paste makes new nodes with new ids.
  await node(page, "big").locator(".node-box").click();
  await page.keyboard.press("Control+c");
  await page.keyboard.press("Control+v");
  await expect(node(page, "condition")).toHaveCount(1);

  const zoom = page.getByTestId("zoom");
  await page.getByRole("button", { name: "Fit to view" }).click();
  const fitted = await zoom.textContent();
  await page.getByRole("button", { name: "Zoom in" }).click();
  await expect(zoom).not.toHaveText(fitted!);
  await page.getByRole("button", { name: "Fit to view" }).click();
  await expect(zoom).toHaveText(fitted!);
  await expect(page.getByTestId("minimap").locator(".minimap-node")).toHaveCount(4);
  await snapshot(page, "editor-tools");
});

test("another user cannot open the workflow", async ({ page, browser }) => {
  await signUp(page, "mine");
  const id = await createWorkflow(page, localWorkflow("Mine alone"));
  const other = await browser.newPage();
  await signUp(other, "theirs");
  const response = await other.goto(`/workflows/${id}`);
  expect(response?.status()).toBe(404);
  await expect(other.getByTestId("not-found")).toBeVisible();
  await other.close();
});

test("item15: nodes added from the palette by keyboard or double-click land in free space", async ({ page }) => {
  await signUp(page, "placer");
  await page.goto("/workflows");
  await hydrated(page);
  await page.getByRole("button", { name: "New workflow" }).click();
  await expect(page.getByTestId("editor")).toBeVisible();
  await hydrated(page);

  await node(page, "start").locator(".node-box").click();
  await page.locator(".palette-item[data-kind=transform]").dblclick();
  await page.locator(".palette-item[data-kind=delay]").focus();
  await page.keyboard.press("Enter");
  await page.locator(".palette-item[data-kind=condition]").dblclick();
  await expect(page.getByTestId("node")).toHaveCount(4);

  const boxes = [];
  for (const box of await page.locator("[data-testid=node] .node-box").all()) {
    boxes.push((await box.boundingBox())!);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      expect(apart, `nodes ${i} and ${j} overlap`).toBe(true);
    }
  }
  await snapshot(page, "editor-added-nodes-apart");
});
