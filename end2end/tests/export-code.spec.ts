// "Export as code" in the editor: the saved workflow downloads as a zip of
// a TypeScript project; a step the export cannot translate is named
// instead of a download.
import { test, expect, hydrated } from "./fixtures";
import { createWorkflow, localWorkflow, signUp } from "./helpers";

test("the editor exports a workflow as a TypeScript project", async ({ page }) => {
  await signUp(page, "export");
  const id = await createWorkflow(page, localWorkflow("Export me"));
  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export as code" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("export-me.zip");
  const bytes = await (await import("node:fs/promises")).readFile(await file.path());
  expect(bytes.subarray(0, 2).toString()).toBe("PK");
  await expect(page.getByRole("status").filter({ hasText: "Exported as a TypeScript project" })).toContainText("export-me.zip");
});

test("a step the export cannot translate is named", async ({ page }) => {
  await signUp(page, "export-refused");
  const id = await createWorkflow(page, {
    name: "Cannot export",
    nodes: [
      { id: "start", kind: "manual_trigger", config: {}, position: { x: 0, y: 0 } },
      { id: "shape", kind: "transform", config: { template: { ids: "{{ trigger.items | map(attribute='id') | list }}" } }, position: { x: 240, y: 0 } },
    ],
    edges: [{ source: "start", target: "shape" }],
  });
  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Export as code" }).click();
  const alert = page.getByRole("alert").filter({ hasText: "Cannot export as code" });
  await expect(alert).toContainText("`shape`");
  await expect(alert).toContainText("`map`");
});
