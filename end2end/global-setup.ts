// Starts the release server built by `cargo leptos build --release` on port
// 0 with a new data directory, and stops it after the run.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = process.env.SWITCHYARD_SERVER_BIN;
  const siteRoot = process.env.LEPTOS_SITE_ROOT;
  if (!bin || !siteRoot) {
    throw new Error("SWITCHYARD_SERVER_BIN and LEPTOS_SITE_ROOT must be set (run .ci/test)");
  }
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
  const server = spawn(bin, [], {
    env: {
      PATH: process.env.PATH,
      SWITCHYARD_BIND: "127.0.0.1:0",
      SWITCHYARD_DATA_DIR: dataDir,
      LEPTOS_SITE_ROOT: siteRoot,
      SWITCHYARD_LOG: "warn",
      // The tests point HTTP steps at servers they start on loopback.
      SWITCHYARD_OUTBOUND_ALLOW: "127.0.0.1",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });

  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: server.stdout! });
    lines.on("line", (line) => {
      const match = /^Switchyard is running at (http:\/\/\S+)$/.exec(line);
      if (match) resolve(match[1]);
    });
    server.on("exit", (code) => reject(new Error(`server exited early with code ${code}`)));
    setTimeout(() => reject(new Error("server did not start within 60 s")), 60_000);
  });
  process.env.SWITCHYARD_URL = url;

  return async () => {
    const exited = new Promise((resolve) => server.on("exit", resolve));
    server.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
}
