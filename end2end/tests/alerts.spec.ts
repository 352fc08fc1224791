// Alerts in the browser: the bell counts a new alert live, the inbox lists
// it and marks it read; a workflow paused automatically says why; the
// settings add a signed-webhook channel and test it.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test, expect, hydrated, snapshot } from "./fixtures";
import { createWorkflow, execute, signUp } from "./helpers";

const failing = {
  name: "Nightly sync",
  nodes: [
    { id: "start", kind: "manual_trigger" },
    { id: "stop", kind: "stop_and_fail", config: { message: "the export was empty" } },
  ],
  edges: [{ source: "start", target: "stop" }],
};

test("an alert appears live in the bell and the inbox; auto-pause says why", async ({ page }) => {
  await signUp(page, "alerts");
  const workflow = await createWorkflow(page, failing);
  const rules = await page.request.put(`/api/v1/workflows/${workflow}/alerts`, {
    data: { consecutive_failures: 2, error_rate: null, auto_pause: { after_failures: 3 } },
  });
  expect(rules.status(), await rules.text()).toBe(200);
  expect((await page.request.post(`/api/v1/workflows/${workflow}/activate`)).status()).toBe(200);

  await page.goto("/workflows");
  await hydrated(page);
  const bell = page.getByTestId("notification-bell");
  await expect(bell).toBeVisible();
  await expect(page.getByTestId("unread-count")).toHaveCount(0);

  // Two failures in a row: the alert reaches the open page by itself.
  await execute(page, workflow);
  await execute(page, workflow);
  await expect(page.getByTestId("unread-count")).toHaveText("1");
  await expect(bell).toHaveAttribute("aria-label", "Notifications: 1 unread");

  // A third: the workflow is paused automatically.
  await execute(page, workflow);
  await expect(page.getByTestId("unread-count")).toHaveText("2");

  await bell.click();
  await expect(page).toHaveURL(/\/notifications$/);
  await hydrated(page);
  const entries = page.getByTestId("notification");
  await expect(entries).toHaveCount(2);
  await expect(entries.first()).toHaveAttribute("data-kind", "paused");
  await expect(entries.first()).toContainText("Paused automatically: 3 runs in a row failed.");
  await expect(entries.nth(1)).toContainText("runs failing in a row");
  await expect(entries.nth(1)).toContainText("Last error: step stop: the export was empty");
  await snapshot(page, "notifications");
  await page.getByRole("button", { name: "Mark all read" }).click();
  await expect(page.getByTestId("inbox-unread")).toHaveText("0 unread");

  await entries.first().getByRole("link", { name: "Open the workflow" }).click();
  await expect(page).toHaveURL(new RegExp(`/workflows/${workflow}$`));
  await hydrated(page);
  await expect(page.getByTestId("paused-reason")).toContainText("Paused automatically: 3 runs in a row failed.");
  await expect(page.getByTestId("paused-reason")).toContainText("held");

  // The workflow's own rules, in the editor.
  await page.getByTestId("alerts-toggle").click();
  const own = page.getByTestId("workflow-alerts");
  await expect(own.getByTestId("rules-source")).toHaveText("This workflow has rules of its own.");
  await expect(own.getByLabel("Alert after this many failed runs in a row")).toHaveValue("2");
  await expect(own.getByLabel("Pause a workflow after this many failed runs in a row")).toHaveValue("3");
});

test("a signed webhook channel is added and tested from the settings", async ({ page }) => {
  const received: { signature: string; body: string }[] = [];
  const receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ signature: String(request.headers["switchyard-signature"] ?? ""), body });
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const port = (receiver.address() as AddressInfo).port;
  try {
    await signUp(page, "channels");
    await page.goto("/settings");
    await hydrated(page);
    await expect(page.getByTestId("no-channels")).toBeVisible();
    await page.getByLabel("Kind", { exact: true }).selectOption("webhook");
    await page.getByLabel("Name", { exact: true }).fill("Pager");
    await page.getByLabel("Webhook URL", { exact: true }).fill(`http://127.0.0.1:${port}/alerts`);
    await page.getByLabel("Signing secret", { exact: true }).fill("short");
    await page.getByRole("button", { name: "Add channel" }).click();
    await expect(page.getByText("must be at least 16 characters")).toBeVisible();
    await page.getByLabel("Signing secret", { exact: true }).fill("whsec-browser-0123456789");
    await page.getByRole("button", { name: "Add channel" }).click();
    await expect(page.getByTestId("channel")).toHaveCount(1);
    await page.getByRole("button", { name: "Send a test to Pager" }).click();
    await expect(page.getByTestId("test-outcome")).toContainText("Delivered.");
    expect(received).toHaveLength(1);
    expect(received[0].signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(JSON.parse(received[0].body).type).toBe("test");
    await snapshot(page, "settings-alerts");

    // The default rules: a value out of range is named, a good one saved.
    const rules = page.getByTestId("alert-rules");
    await rules.getByLabel("Pause a workflow after this many failed runs in a row").fill("0");
    await rules.getByRole("button", { name: "Save rules" }).click();
    await expect(rules.getByText("must be 1 to 1000")).toBeVisible();
    await rules.getByLabel("Pause a workflow after this many failed runs in a row").fill("5");
    await rules.getByRole("button", { name: "Save rules" }).click();
    await expect(rules.getByText("Saved.")).toBeVisible();
    const saved = await (await page.request.get("/api/v1/alerts/settings")).json();
    expect(saved.auto_pause.after_failures).toBe(5);

    // What retention keeps, and a dry run of the next pass.
    const retention = page.getByTestId("retention");
    await expect(retention).toContainText("Finished runs: 14 days, at most the newest 10000 per workflow");
    await expect(retention.getByTestId("would-delete")).toContainText("The next pass would delete 0 runs");
  } finally {
    receiver.close();
  }
});
