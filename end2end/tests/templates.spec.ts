// The template gallery: every template listed with what it needs; using
// one asks for its values, makes a draft and opens it in the editor, where
// the step without a connection is marked.
import { test, expect, hydrated, snapshot } from "./fixtures";
import { signUp } from "./helpers";

test("a template becomes a draft with the values given", async ({ page }) => {
  await signUp(page, "templates");
  await page.goto("/templates");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Templates");
  const cards = page.getByTestId("template-gallery").getByRole("listitem");
  expect(await cards.count()).toBeGreaterThanOrEqual(10);
  const check = page.getByTestId("template-daily-url-health-check");
  await expect(check).toContainText("Daily health check of a URL → Slack alert");
  await expect(check).toContainText("Connects to Slack");
  await snapshot(page, "templates");

  await check.getByRole("button", { name: "Use this template" }).click();
  await check.getByLabel("URL to check", { exact: true }).fill("https://shop.example.net/health");
  await check.getByLabel("Slack channel for alerts", { exact: true }).fill("#shop-ops");
  await check.getByRole("button", { name: "Create draft" }).click();

  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  await hydrated(page);
  const id = page.url().split("/").pop();
  await expect(page.getByTestId("node")).toHaveCount(3);
  const alert = page.locator('[data-testid="node"][data-node-id="alert"]');
  await expect(alert.getByTestId("node-needs-connection")).toBeVisible();

  const saved = await (await page.request.get(`/api/v1/workflows/${id}`)).json();
  const nodes = Object.fromEntries(saved.nodes.map((n: { id: string }) => [n.id, n]));
  expect(nodes.check.config.url).toBe("https://shop.example.net/health");
  expect(nodes.alert.config.channel).toBe("#shop-ops");
  expect(saved.status).toBe("draft");
});

test("a template's inputs that do not fit are named", async ({ page }) => {
  await signUp(page, "templates-bad");
  await page.goto("/templates");
  await hydrated(page);
  const card = page.getByTestId("template-nightly-stripe-customers-export");
  await card.getByRole("button", { name: "Use this template" }).click();
  await card.getByLabel("Time zone", { exact: true }).fill("Mars/Olympus");
  await card.getByRole("button", { name: "Create draft" }).click();
  // A draft is made all the same: the time zone is reported in the editor.
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  await hydrated(page);
  const id = page.url().split("/").pop();
  const saved = await (await page.request.get(`/api/v1/workflows/${id}`)).json();
  const problems = saved.problems.map((p: { node_id: string; field: string }) => `${p.node_id} ${p.field}`);
  expect(problems).toContain("nightly config.timezone");
});
