// Browser performance measurements (not tests: nothing here passes or
// fails on time). Same server and Chromium set-up as the tests; run with
//   npx playwright test --config bench/bench.config.ts
// after `cargo leptos build --release` (see docs/PERFORMANCE.md).
import { defineConfig } from "@playwright/test";
import base from "../playwright.config";

export default defineConfig({
  ...base,
  testDir: ".",
  testMatch: "*.bench.ts",
  globalSetup: "../global-setup.ts",
  reporter: [["list"]],
  outputDir: "../test-results/bench",
  timeout: 120_000,
});
