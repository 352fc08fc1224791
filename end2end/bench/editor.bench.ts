// How the editor copes with a 300-node workflow in headless Chromium:
// time until the graph is painted (server-rendered) and until it is
// interactive (hydrated), and the frame rate while dragging one node and
// all 300. Prints a table and writes test-results/bench/editor.json.
import { writeFileSync, mkdirSync } from "node:fs";
import { test, expect, type Page } from "@playwright/test";

const NODES = 300;
const OPENS = 5;

const ROWS = 20;

function bigWorkflow(): object {
  // A trigger feeding 20 chains of 15 steps: 300 nodes in a block that
  // "fit to view" shows whole, so every node is painted while dragging.
  const nodes: object[] = [{ id: "n0", kind: "manual_trigger", label: "Start", position: { x: 40, y: 40 + (ROWS / 2) * 104 } }];
  const edges: object[] = [];
  for (let i = 1; i < NODES; i++) {
    const column = Math.floor((i - 1) / ROWS);
    const row = (i - 1) % ROWS;
    const parent = column === 0 ? "n0" : `n${i - ROWS}`;
    nodes.push({
      id: `n${i}`,
      kind: "transform",
      label: `Step ${i}`,
      position: { x: 330 + column * 290, y: 40 + row * 104 },
      config: { template: { value: `{{ steps.${parent}.output }}` } },
    });
    edges.push({ source: parent, target: `n${i}` });
  }
  return { name: "Three hundred nodes", nodes, edges };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Frames painted per second while `drive` runs, and the slowest frame. */
async function framesDuring(page: Page, drive: () => Promise<void>) {
  await page.evaluate(() => {
    const w = window as unknown as { frames_: number[]; stop_: boolean };
    w.frames_ = [];
    w.stop_ = false;
    const tick = (t: number) => {
      w.frames_.push(t);
      if (!w.stop_) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await drive();
  return page.evaluate(() => {
    const w = window as unknown as { frames_: number[]; stop_: boolean };
    w.stop_ = true;
    const f = w.frames_;
    const gaps = f.slice(1).map((t, i) => t - f[i]).sort((a, b) => a - b);
    const seconds = (f[f.length - 1] - f[0]) / 1000;
    return {
      fps: (f.length - 1) / seconds,
      p95FrameMs: gaps[Math.floor(gaps.length * 0.95)],
      worstFrameMs: gaps[gaps.length - 1],
    };
  });
}

async function drag(page: Page, from: { x: number; y: number }, moves: number) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  for (let i = 1; i <= moves; i++) {
    await page.mouse.move(from.x + i * 2, from.y + Math.sin(i / 10) * 40);
  }
  await page.mouse.up();
}

test("editor with 300 nodes", async ({ page }) => {
  const email = `bench-${Date.now()}@example.com`;
  expect((await page.request.post("/api/v1/auth/register", { data: { email, password: "correct horse battery" } })).status()).toBe(201);
  const created = await page.request.post("/api/v1/workflows", { data: bigWorkflow() });
  expect(created.status(), await created.text()).toBe(201);
  const id = (await created.json()).id;

  const painted: number[] = [];
  const interactive: number[] = [];
  for (let run = 0; run < OPENS; run++) {
    await page.goto("about:blank");
    await page.goto(`/workflows/${id}`, { waitUntil: "commit" });
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=node]").length === n, NODES, { polling: "raf" });
    painted.push(await page.evaluate(() => performance.now()));
    await page.waitForFunction(() => document.body.dataset.hydrated === "true", null, { polling: "raf" });
    interactive.push(await page.evaluate(() => performance.now()));
  }

  await page.getByRole("button", { name: "Fit to view" }).click();
  const centreOf = async (node: string) => {
    const box = (await page.locator(`[data-testid=node][data-node-id=${node}] .node-box`).boundingBox())!;
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  };
  // A drag that the editor did not follow would measure nothing: check
  // that the nodes ended up somewhere else.
  const placeOf = (node: string) => page.locator(`[data-testid=node][data-node-id=${node}]`).getAttribute("transform");
  const [n0Before, lastBefore] = [await placeOf("n0"), await placeOf(`n${NODES - 1}`)];
  const one = await framesDuring(page, async () => drag(page, await centreOf("n0"), 150));
  expect(await placeOf("n0")).not.toBe(n0Before);
  expect(await placeOf(`n${NODES - 1}`)).toBe(lastBefore);
  await page.locator("[data-testid=canvas]").focus();
  await page.keyboard.press("Control+a");
  await expect(page.locator("[data-testid=node].selected")).toHaveCount(NODES);
  const all = await framesDuring(page, async () => drag(page, await centreOf("n0"), 150));
  expect(await placeOf(`n${NODES - 1}`)).not.toBe(lastBefore);

  const results = {
    nodes: NODES,
    openPaintedMs: { median: median(painted), all: painted },
    openInteractiveMs: { median: median(interactive), all: interactive },
    dragOneNode: one,
    dragAllNodes: all,
    chromium: page.context().browser()?.version(),
  };
  console.table({
    "graph painted (ms, median)": Math.round(results.openPaintedMs.median),
    "interactive (ms, median)": Math.round(results.openInteractiveMs.median),
    "drag 1 node: fps": Math.round(one.fps),
    "drag 1 node: p95 frame (ms)": Math.round(one.p95FrameMs),
    "drag 300 nodes: fps": Math.round(all.fps),
    "drag 300 nodes: p95 frame (ms)": Math.round(all.p95FrameMs),
  });
  mkdirSync("test-results/bench", { recursive: true });
  writeFileSync("test-results/bench/editor.json", JSON.stringify(results, null, 2));
});
