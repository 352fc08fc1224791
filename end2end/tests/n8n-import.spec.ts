// Importing an n8n export from the workflows list: the report lists, node
// by node, what could not be translated; the draft opens in the editor
// with those steps marked.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test, expect, hydrated, snapshot } from "./fixtures";
import { signUp } from "./helpers";

const mixed = readFileSync(join(__dirname, "../../domain/tests/n8n/mixed.json"));

test("an n8n export is imported with a report of what did not carry over", async ({ page }) => {
  await signUp(page, "n8n");
  await page.goto("/workflows");
  await hydrated(page);
  await page.getByLabel("Import a workflow from a JSON file", { exact: false }).setInputFiles({
    name: "orders.json",
    mimeType: "application/json",
    buffer: mixed,
  });
  const report = page.getByTestId("import-report");
  await expect(report).toContainText("Imported “Route orders (with parts to redo)” as a draft; 5 part(s) could not be translated");
  const unsupported = page.getByTestId("import-unsupported").getByRole("listitem");
  await expect(unsupported).toHaveCount(5);
  await expect(unsupported.filter({ hasText: "Custom scoring" })).toContainText("a Code node runs JavaScript");
  await expect(unsupported.filter({ hasText: "Greeting" })).toContainText("arrow functions");
  await expect(unsupported.filter({ hasText: "Log to sheet" })).toContainText("n8n-nodes-base.googleSheets");
  await expect(page.getByTestId("import-notes")).toContainText("merge");
  await snapshot(page, "n8n-import-report");

  await report.getByRole("link", { name: "Open the draft" }).click();
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  await hydrated(page);
  await expect(page.getByTestId("node")).toHaveCount(10);
  await expect(page.locator('[data-testid="node"][data-node-id="custom_scoring"]')).toHaveAttribute("aria-label", /^Not imported: Custom scoring/);
});
