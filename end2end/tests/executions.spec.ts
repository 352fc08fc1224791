// Runs in the browser: the list updating live with filters, a run's detail
// with its steps and live log, running a failed run again, and owner-only
// access.
import { test, expect, hydrated, snapshot } from "./fixtures";
import { createWorkflow, execute, localWorkflow, signUp } from "./helpers";

test("runs appear live, filter by status, and open with their steps", async ({ page }) => {
  await signUp(page, "runs");
  const doubler = await createWorkflow(page, localWorkflow("Doubler"));
  const failing = await createWorkflow(page, {
    name: "Always fails",
    nodes: [
      { id: "start", kind: "manual_trigger" },
      { id: "stop", kind: "stop_and_fail", config: { message: "nothing to do for {{ trigger.who }}" } },
    ],
    edges: [{ source: "start", target: "stop" }],
  });
  await page.goto("/executions");
  await hydrated(page);
  await expect(page.getByTestId("runs-empty")).toBeVisible();

  const ok = await execute(page, doubler, { n: 8 });
  const bad = await execute(page, failing, { who: "ada" });
  await expect(page.locator(`[data-run-id="${ok}"] [data-status]`)).toHaveText("succeeded");
  await expect(page.locator(`[data-run-id="${bad}"] [data-status]`)).toHaveText("failed");
  await snapshot(page, "executions-list");

  await page.getByTestId("status-filter").selectOption("failed");
  await expect(page.getByTestId("run-row")).toHaveCount(1);
  await expect(page.getByTestId("run-row")).toHaveAttribute("data-run-id", bad);
  await page.getByTestId("status-filter").selectOption("");
  await expect(page.getByTestId("run-row")).toHaveCount(2);

  await page.locator(`[data-run-id="${ok}"]`).getByRole("link", { name: "Details" }).click();
  await expect(page).toHaveURL(new RegExp(`/executions/${ok}$`));
  await hydrated(page);
  for (const node of ["start", "double", "big"]) {
    await expect(page.locator(`[data-testid=step][data-node-id=${node}]`)).toHaveAttribute("data-status", "succeeded");
  }
  await expect(page.locator("[data-testid=step][data-node-id=double] [data-testid=step-output]")).toContainText('"n": 16');
  await expect(page.locator("[data-testid=step][data-node-id=big]")).toContainText("port true");
  await expect(page.getByTestId("event-log")).toContainText("execution.succeeded");

  // The graph of the run: every node green, laid out although the workflow
  // was created without positions, and a click points at the node's step.
  const graphNodes = page.getByTestId("run-node");
  await expect(graphNodes).toHaveCount(3);
  for (const node of ["start", "double", "big"]) {
    await expect(page.locator(`[data-testid=run-node][data-node-id=${node}]`)).toHaveAttribute("data-status", "succeeded");
  }
  const placed = await graphNodes.evaluateAll((nodes) => nodes.map((n) => n.getAttribute("transform")));
  expect(new Set(placed).size).toBe(3);
  await page.locator("[data-testid=run-node][data-node-id=double]").click();
  await expect(page.locator("[data-testid=step][data-node-id=double]")).toHaveClass(/picked/);
  await page.locator("[data-testid=run-node][data-node-id=big]").focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("[data-testid=step][data-node-id=big]")).toHaveClass(/picked/);
  await expect(page.locator("[data-testid=step][data-node-id=double]")).not.toHaveClass(/picked/);
  await snapshot(page, "execution-detail");

  // A failed run shows its error and runs again on request.
  await page.goto(`/executions/${bad}`);
  await hydrated(page);
  await expect(page.getByTestId("run-error")).toHaveText("nothing to do for ada");
  await expect(page.locator("[data-testid=run-node][data-node-id=stop]")).toHaveAttribute("data-status", "failed");
  await page.getByRole("button", { name: "Run again from the failed step" }).click();
  await expect(page.getByText("re-run 1 time")).toBeVisible();
  await expect(page.locator("[data-testid=step][data-node-id=stop]")).toHaveAttribute("data-status", "failed");
});

test("another user's run is a page that does not exist", async ({ page, browser }) => {
  await signUp(page, "owner");
  const workflow = await createWorkflow(page, localWorkflow("Private"));
  const run = await execute(page, workflow);

  const other = await browser.newPage();
  await signUp(other, "stranger");
  const response = await other.goto(`/executions/${run}`);
  expect(response?.status()).toBe(404);
  await expect(other.getByTestId("not-found")).toBeVisible();
  await other.close();
  // The owner sees it.
  await page.goto(`/executions/${run}`);
  await expect(page.getByText("Private")).toBeVisible();
});
