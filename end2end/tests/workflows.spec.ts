// The workflows list: empty state, import, search, activate and pause,
// duplicate, export, delete with confirmation, and the last run updating live.
import { readFileSync } from "node:fs";
import { test, expect, hydrated, snapshot } from "./fixtures";
import { createWorkflow, execute, localWorkflow, signUp } from "./helpers";

test("the workflows list manages workflows and follows their runs live", async ({ page }) => {
  await signUp(page, "list");
  await page.goto("/workflows");
  await hydrated(page);
  await expect(page.getByTestId("workflows-empty")).toBeVisible();
  await snapshot(page, "workflows-empty");

  // Import a workflow's JSON from a file.
  await page.getByLabel("Import a workflow from a JSON file").setInputFiles({
    name: "nightly.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify(localWorkflow("Nightly sync"))),
  });
  await expect(page.getByTestId("import-report")).toContainText("Imported “Nightly sync” as a draft.");
  const row = page.getByTestId("workflow-row").filter({ hasText: "Nightly sync" });
  await expect(row).toBeVisible();
  await expect(row.locator("[data-status]").first()).toHaveText("draft");
  await expect(row).toContainText("manual");

  // A file that is not a workflow is refused with the field named.
  await page.getByLabel("Import a workflow from a JSON file").setInputFiles({
    name: "broken.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify({ name: "Broken", nodes: [], edges: [], colour: "red" })),
  });
  await expect(page.getByRole("alert")).toContainText("broken.json could not be imported");
  await expect(page.getByRole("alert")).toContainText("colour");

  // Search.
  await page.getByLabel("Search workflows").fill("no such thing");
  await expect(page.getByTestId("no-matches")).toBeVisible();
  await page.getByLabel("Search workflows").fill("nightly");
  await expect(row).toBeVisible();
  await page.getByLabel("Search workflows").fill("");

  // Activate, then pause.
  const toggle = row.getByRole("switch", { name: "Active: Nightly sync" });
  await toggle.click();
  await expect(page.getByRole("status")).toHaveText("“Nightly sync” is active.");
  await expect(toggle).toHaveAttribute("aria-checked", "true");
  await expect(row.locator("[data-status]").first()).toHaveText("active");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-checked", "false");
  await expect(row.locator("[data-status]").first()).toHaveText("paused");

  // A run started elsewhere shows up as the last run without a reload.
  const id = await row.getAttribute("data-workflow-id");
  await expect(row).toContainText("never");
  await execute(page, id!, { n: 7 });
  await expect(row.locator(".last-run [data-status]")).toHaveText("succeeded");

  // Duplicate, export, delete.
  await row.getByRole("button", { name: "Duplicate Nightly sync" }).click();
  const copy = page.getByTestId("workflow-row").filter({ hasText: "Copy of Nightly sync" });
  await expect(copy).toBeVisible();
  const download = page.waitForEvent("download");
  await row.getByRole("button", { name: "Export Nightly sync" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("nightly-sync.json");
  const exported = JSON.parse(readFileSync((await file.path())!, "utf8"));
  expect(exported.name).toBe("Nightly sync");
  expect(exported.nodes.map((n: { id: string }) => n.id)).toEqual(["start", "double", "big"]);
  expect(exported.id).toBeUndefined();

  await copy.getByRole("button", { name: "Delete Copy of Nightly sync" }).click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("Delete “Copy of Nightly sync”?");
  await snapshot(page, "workflows-delete-dialog");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(copy).toBeVisible();
  await copy.getByRole("button", { name: "Delete Copy of Nightly sync" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete" }).click();
  await expect(copy).toHaveCount(0);
  await expect(row).toBeVisible();
  await snapshot(page, "workflows-list");
});

test("an invalid workflow cannot be activated and says why", async ({ page }) => {
  await signUp(page, "invalid");
  await createWorkflow(page, {
    name: "No URL",
    nodes: [
      { id: "start", kind: "manual_trigger" },
      { id: "call", kind: "http_request", config: {} },
    ],
    edges: [{ source: "start", target: "call" }],
  });
  await page.goto("/workflows");
  await hydrated(page);
  await page.getByRole("switch", { name: "Active: No URL" }).click();
  await expect(page.getByRole("alert")).toContainText("“No URL” cannot be activated");
  await expect(page.getByRole("alert")).toContainText("url");
  await expect(page.getByRole("switch", { name: "Active: No URL" })).toHaveAttribute("aria-checked", "false");
});
