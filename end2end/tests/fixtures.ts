// A `page` that fails the test on any console error or uncaught exception,
// and a helper that waits for hydration.
import { test as base, expect, type Page } from "@playwright/test";

/** Documents a test deliberately opens although they answer 404. */
const expectedMissing = new WeakMap<Page, Set<string>>();

export const test = base.extend<{ page: Page }>({
  page: async ({ page }, use) => {
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const source = message.location().url;
      if (message.text().includes("404") && expectedMissing.get(page)?.has(source)) return;
      // Refusals of the API (4xx) are answers the page shows to the user;
      // the browser still logs them. Server errors (5xx) still count.
      if (/status of 4\d\d/.test(message.text()) && new URL(source).pathname.startsWith("/api/")) return;
      problems.push(`console: ${message.text()} (${source})`);
    });
    page.on("pageerror", (error) => problems.push(`exception: ${error.message}`));
    await use(page);
    expect(problems, "no console errors or exceptions").toEqual([]);
  },
});

export { expect };

/** Opens a page that is meant to answer 404, without counting that as an error. */
export async function gotoMissing(page: Page, path: string) {
  const url = new URL(path, process.env.SWITCHYARD_URL).toString();
  const allowed = expectedMissing.get(page) ?? new Set<string>();
  allowed.add(url);
  expectedMissing.set(page, allowed);
  return page.goto(path);
}

/** Waits until the WASM bundle has hydrated the page. */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Saves a screenshot among the run's artifacts. */
export async function snapshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}
