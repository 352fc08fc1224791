// The application shell: server rendering, hydration, navigation, 404.
import { test, expect, gotoMissing, hydrated, snapshot } from "./fixtures";

test("the server-rendered HTML has the content before any script runs", async ({ browser, request }) => {
  const response = await request.get("/");
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain("API workflows you can watch run");
  for (const section of ["Workflows", "Templates", "Executions", "Events", "Connections", "Dashboard", "Settings"]) {
    // (erased views mark the end of a text node with an empty comment)
    expect(html).toMatch(new RegExp(`>${section}(<!>)?</a>`));
  }

  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("API workflows you can watch run");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link")).toHaveCount(8);
  await expect(page.getByTestId("database-kind")).toContainText("SQLite");
  await expect(page.locator("body")).not.toHaveAttribute("data-hydrated", "true");
  await context.close();
});

test("after hydration the theme toggle works and is remembered", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  const html = page.locator("html");
  await expect(html).toHaveAttribute("data-theme", "light");
  await snapshot(page, "home-light");

  const toggle = page.getByTestId("theme-toggle");
  await expect(toggle).toHaveAttribute("aria-pressed", "false");
  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "dark");
  await expect(toggle).toHaveAttribute("aria-pressed", "true");
  await snapshot(page, "home-dark");

  // The server renders the remembered theme: no flash of the other one.
  const response = await page.request.get("/");
  expect(await response.text()).toContain('data-theme="dark"');
  await page.reload();
  await hydrated(page);
  await expect(html).toHaveAttribute("data-theme", "dark");
  await page.getByTestId("theme-toggle").click();
  await expect(html).toHaveAttribute("data-theme", "light");
});

test("the status card re-checks readiness from the browser", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await page.getByTestId("check-again").click();
  await expect(page.getByTestId("probe-result")).toHaveText(/^Ready: answered in \d+ ms$/);
  await expect(page.getByTestId("database-kind")).toContainText("Connected");
});

test("navigation moves between sections without a full reload", async ({ page }) => {
  const email = `nav-${Date.now()}@example.com`;
  const signedUp = await page.request.post("/api/v1/auth/register", { data: { email, password: "correct horse battery" } });
  expect(signedUp.status()).toBe(201);
  await page.goto("/");
  await hydrated(page);
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const section of ["Workflows", "Templates", "Executions", "Events", "Connections", "Dashboard", "Settings"]) {
    await nav.getByRole("link", { name: section }).click();
    await expect(page).toHaveURL(new RegExp(`/${section.toLowerCase()}$`));
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(section);
    await expect(nav.getByRole("link", { name: section })).toHaveAttribute("aria-current", "page");
    await expect(page).toHaveTitle(`${section} · Switchyard`);
  }
  // Still the same document: client-side routing kept the hydration mark.
  await hydrated(page);
});

test("an unknown address shows the styled 404 page", async ({ page }) => {
  const response = await gotoMissing(page, "/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("This page does not exist");
  await expect(page).toHaveTitle("Page not found · Switchyard");
  await snapshot(page, "not-found");
  await hydrated(page);
  await page.getByRole("link", { name: "Back to the start" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("API workflows you can watch run");
});

test("keyboard users can skip to the content", async ({ page }) => {
  await page.goto("/");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
});
