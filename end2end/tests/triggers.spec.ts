// Triggers in the browser: a webhook's URL in the editor and making a new
// one (the old stops working), a schedule's next fire times and what is
// wrong with a bad expression, and the events page with the runs each
// event started.
import { test, expect, hydrated, snapshot } from "./fixtures";
import { createWorkflow, signUp } from "./helpers";

function node(page: import("@playwright/test").Page, id: string) {
  return page.locator(`[data-testid=node][data-node-id="${id}"]`);
}

async function activate(page: import("@playwright/test").Page, id: string) {
  const response = await page.request.post(`/api/v1/workflows/${id}/activate`);
  expect(response.status(), await response.text()).toBe(200);
}

test("a webhook's URL is shown in the editor and can be replaced", async ({ page }) => {
  await signUp(page, "hooks");
  const id = await createWorkflow(page, {
    name: "Inbound",
    nodes: [
      { id: "hook", kind: "webhook_trigger", position: { x: 40, y: 100 }, config: { methods: ["POST"] } },
      { id: "echo", kind: "transform", position: { x: 330, y: 100 }, config: { template: "{{ trigger.body.n }}" } },
    ],
    edges: [{ source: "hook", target: "echo" }],
  });
  await activate(page, id);
  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  await node(page, "hook").locator(".node-box").click();
  const url = page.getByTestId("webhook-url");
  await expect(url).toContainText("/webhooks/");
  const first = (await url.textContent())!;
  expect((await page.request.post(first, { data: { n: 1 } })).status()).toBe(202);

  await page.getByRole("button", { name: "New URL…" }).click();
  await expect(page.getByText("Senders using the current URL will get 404")).toBeVisible();
  await page.getByRole("button", { name: "Make a new URL" }).click();
  await expect(url).not.toHaveText(first);
  await expect(page.getByText("the old one no longer starts runs")).toBeVisible();
  const second = (await url.textContent())!;
  expect((await page.request.post(first, { data: { n: 2 } })).status()).toBe(404);
  expect((await page.request.post(second, { data: { n: 3 } })).status()).toBe(202);
  await snapshot(page, "webhook-url");
});

test("a schedule shows its next five fire times and explains a bad expression", async ({ page }) => {
  await signUp(page, "cron");
  const id = await createWorkflow(page, {
    name: "Weekday mornings",
    nodes: [
      { id: "tick", kind: "schedule_trigger", position: { x: 40, y: 100 }, config: { cron: "0 9 * * 1-5", timezone: "Europe/Berlin" } },
    ],
    edges: [],
  });
  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  await node(page, "tick").locator(".node-box").click();
  const times = page.getByTestId("fire-times").locator("li");
  await expect(times).toHaveCount(5);
  for (const time of await times.allTextContents()) {
    // 09:00 in Berlin, winter or summer time.
    expect(time).toMatch(/ 09:00:00 \+0[12]:00$/);
  }

  await page.locator("#config-cron").fill("61 * * * *");
  await expect(page.getByTestId("cron-problem")).toContainText("not a valid cron expression");
  await expect(page.getByTestId("fire-times")).toHaveCount(0);
  await page.locator("#config-timezone").fill("Mars/Olympus");
  await page.locator("#config-cron").fill("*/15 * * * *");
  await expect(page.getByTestId("cron-problem")).toContainText("not an IANA time zone");
  await page.locator("#config-timezone").fill("UTC");
  await expect(times).toHaveCount(5);
  await expect(times.first()).toContainText(/:(00|15|30|45):00 \+00:00$/);
  await snapshot(page, "schedule-fire-times");
});

test("events list the runs they started, live", async ({ page }) => {
  await signUp(page, "events");
  const id = await createWorkflow(page, {
    name: "Big orders",
    nodes: [
      { id: "on", kind: "event_trigger", position: { x: 40, y: 100 }, config: { type: "order.paid", filter: "{{ data.total > 100 }}" } },
      { id: "note", kind: "transform", position: { x: 330, y: 100 }, config: { template: "{{ trigger.data.total }}" } },
    ],
    edges: [{ source: "on", target: "note" }],
  });
  await activate(page, id);
  await page.goto("/events");
  await hydrated(page);
  await expect(page.getByTestId("events-empty")).toBeVisible();

  await page.getByLabel("Type").fill("order.paid");
  await page.getByLabel("Source (optional)").fill("shop");
  await page.getByLabel("Data (JSON)").fill('{"total": 150}');
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("event-outcome")).toHaveText("Sent; it started 1 run.");
  const row = page.getByTestId("event-row").first();
  await expect(row.getByTestId("event-runs")).toContainText("Big orders");
  await expect(row.getByTestId("event-runs").locator("[data-status]")).toHaveText("succeeded");

  await page.getByLabel("Data (JSON)").fill('{"total": 5}');
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("event-outcome")).toHaveText("Sent; no active workflow matched it.");
  await expect(page.getByTestId("event-row")).toHaveCount(2);
  await expect(page.getByTestId("event-row").first().getByTestId("event-runs")).toHaveText("No workflow matched");

  await page.getByLabel("Data (JSON)").fill("{total: 5");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("event-outcome")).toContainText("data: not valid JSON");
  await expect(page.getByTestId("event-row")).toHaveCount(2);
  await snapshot(page, "events");

  // The run link opens the run the event started.
  await page.getByTestId("event-row").nth(1).getByRole("link", { name: "Big orders" }).click();
  await expect(page).toHaveURL(/\/executions\//);
  await expect(page.locator("[data-testid=step][data-node-id=note]")).toHaveAttribute("data-status", "succeeded");
});
