// Accounts in the browser: the sign-in redirect and back, registration,
// sign-in errors, settings with API tokens, and the API docs page.
import { test, expect, hydrated, snapshot } from "./fixtures";

function unique(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

test("a protected page sends visitors to sign in and back", async ({ page }) => {
  const response = await page.goto("/workflows");
  expect(response?.status()).toBe(200);
  await expect(page).toHaveURL(/\/login\?next=%2Fworkflows|\/login\?next=\/workflows/);
  await hydrated(page);
  await snapshot(page, "sign-in");
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page).toHaveURL(/\/register\?next=/);
  await hydrated(page);

  const email = unique("ada");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#field-password-error")).toContainText("at least 10 characters");

  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/workflows$/);
  await expect(page.getByTestId("account-menu")).toHaveText(email);

  await hydrated(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("link", { name: "Sign in" })).toBeVisible();
  await page.goto("/settings");
  await expect(page).toHaveURL(/\/login\?next=/);
});

test("signing in shows what went wrong, then goes where you were headed", async ({ page, request }) => {
  const email = unique("bob");
  const created = await request.post("/api/v1/auth/register", { data: { email, password: "correct horse battery" } });
  expect(created.status()).toBe(201);
  await page.context().clearCookies();

  await page.goto("/login?next=/settings");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "wrong email or password" })).toBeVisible();

  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByTestId("account-email")).toHaveText(email);
});

test("settings create a token shown once, and revoke it", async ({ page }) => {
  const email = unique("cy");
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/workflows$/);

  await page.goto("/settings");
  await hydrated(page);
  await expect(page.getByTestId("no-tokens")).toBeVisible();
  await page.getByLabel("Token name").fill("deploy script");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = await page.getByTestId("new-token").textContent();
  expect(token).toMatch(/^sy_/);
  await expect(page.getByTestId("tokens")).toContainText("deploy script");
  await snapshot(page, "settings-token");

  // The token works for scripts…
  const me = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect((await me.json()).email).toBe(email);
  // …until it is revoked.
  await page.getByRole("button", { name: "Revoke deploy script" }).click();
  await expect(page.getByTestId("no-tokens")).toBeVisible();
  const refused = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(refused.status()).toBe(401);
  await page.reload();
  await expect(page.getByTestId("new-token")).toHaveCount(0);
});

test("the API docs page lists the endpoints", async ({ page }) => {
  await page.goto("/api-docs");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("REST API");
  await expect(page.locator(".api-operation")).not.toHaveCount(0);
  await expect(page.getByText("/workflows/{id}/execute")).toBeVisible();
  await page.getByText("/workflows/{id}/execute").click();
  await expect(page.getByText("Idempotency-Key", { exact: true })).toBeVisible();
});
