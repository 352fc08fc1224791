// Every page at the narrowest supported width (1024 px): nothing spills
// sideways, and the main controls are reachable with the keyboard, with a
// visible focus ring.
import { test, expect, hydrated, snapshot } from "./fixtures";
import { createWorkflow, execute, localWorkflow, signUp } from "./helpers";

test.use({ viewport: { width: 1024, height: 768 } });

test("every page fits 1024 px wide", async ({ page }) => {
  await signUp(page, "narrow");
  const workflow = await createWorkflow(page, localWorkflow("Narrow screens"));
  const run = await execute(page, workflow, { n: 7 });
  const pages: [string, string][] = [
    ["workflows", "/workflows"],
    ["editor", `/workflows/${workflow}`],
    ["executions", "/executions"],
    ["run", `/executions/${run}`],
    ["events", "/events"],
    ["connections", "/connections"],
    ["apis", "/apis"],
    ["dashboard", "/dashboard"],
    ["settings", "/settings"],
  ];
  for (const [name, path] of pages) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.locator("main")).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${path} scrolls sideways by ${overflow} px`).toBeLessThanOrEqual(0);
    // Nothing sticks out of the page's content box into its margin either
    // (what scrolls or clips inside its own box is fine).
    const sticking = await page.evaluate(() => {
      const main = document.querySelector("main")!;
      const right = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
      const clipped = (el: Element) => {
        for (let p = el.parentElement; p && p !== main; p = p.parentElement) {
          if (getComputedStyle(p).overflowX !== "visible") return true;
        }
        return false;
      };
      return [...main.querySelectorAll("*")]
        .filter((el) => el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().right > right + 1 && !clipped(el))
        .map((el) => `${el.tagName.toLowerCase()}.${el.getAttribute("class") ?? ""}`)
        .slice(0, 5);
    });
    expect(sticking, `${path}: elements past the right margin`).toEqual([]);
    await snapshot(page, `narrow-${name}`);
  }
});

test("the editor's controls are reached with Tab and show where the focus is", async ({ page }) => {
  await signUp(page, "keys");
  const workflow = await createWorkflow(page, localWorkflow("By keyboard"));
  await page.goto(`/workflows/${workflow}`);
  await hydrated(page);

  const reached = new Set<string>();
  for (let i = 0; i < 60 && reached.size < 4; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      // A ring is an outline, a box shadow (fields) or, on the canvas's
      // nodes, a thick stroke around the box.
      const box = el.querySelector(":scope > .node-box");
      const ring =
        (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) ||
        style.boxShadow !== "none" ||
        (box !== null && parseFloat(getComputedStyle(box).strokeWidth) >= 3);
      return {
        name: el.getAttribute("aria-label") ?? el.textContent?.trim() ?? "",
        what: `${el.tagName.toLowerCase()}.${el.getAttribute("class") ?? ""}`,
        testid: (el as HTMLElement).dataset?.testid ?? "",
        ring,
      };
    });
    if (!focused) continue;
    expect(focused.ring, `focus ring on “${focused.name}” (${focused.what})`).toBe(true);
    if (focused.name === "Auto-layout") reached.add("layout");
    if (focused.name === "Run") reached.add("run");
    if (focused.testid === "canvas") reached.add("canvas");
    if (focused.testid === "node") reached.add("node");
  }
  expect([...reached].sort()).toEqual(["canvas", "layout", "node", "run"]);
});
