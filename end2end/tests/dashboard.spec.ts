// The dashboard: runs per hour, rates, durations per workflow and recent
// failures, updating live as runs end.
import { test, expect, hydrated, snapshot } from "./fixtures";
import { createWorkflow, execute, localWorkflow, signUp } from "./helpers";

test("the dashboard counts runs and follows new ones live", async ({ page }) => {
  await signUp(page, "dash");
  const doubler = await createWorkflow(page, localWorkflow("Doubler"));
  const failing = await createWorkflow(page, {
    name: "Fails",
    nodes: [
      { id: "start", kind: "manual_trigger" },
      { id: "stop", kind: "stop_and_fail", config: { message: "out of stock" } },
    ],
    edges: [{ source: "start", target: "stop" }],
  });
  await page.goto("/dashboard");
  await hydrated(page);
  await expect(page.getByTestId("stat-total")).toHaveText("0");
  await expect(page.getByTestId("chart-hour")).toHaveCount(24);

  for (const n of [1, 2, 3]) await execute(page, doubler, { n });
  await execute(page, failing);
  await expect(page.getByTestId("stat-total")).toHaveText("4");
  await expect(page.getByTestId("stat-success")).toHaveText("75.0 %");
  await expect(page.getByTestId("stat-errors")).toHaveText("25.0 %");
  await expect(page.getByTestId("chart-hour").last()).toHaveAttribute("data-succeeded", "3");
  await expect(page.getByTestId("chart-hour").last()).toHaveAttribute("data-failed", "1");
  await expect(page.getByTestId("latency-row").first()).toContainText("Doubler");
  await expect(page.getByTestId("recent-failure")).toContainText("out of stock");
  await snapshot(page, "dashboard");
});
