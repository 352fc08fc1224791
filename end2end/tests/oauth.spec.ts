// OAuth 2 "Connect" as a user meets it: add an oauth2 connection with an
// authorize URL, see which workflow uses it, press Connect, pass through a
// local stand-in provider that approves at once (or refuses), and come back
// to the Connections page with the tokens stored and never shown.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test, expect, hydrated } from "./fixtures";
import { createWorkflow, signUp } from "./helpers";

/** A provider whose authorize page redirects straight back with a code
 * (or with `error=access_denied` once `deny` is set), and a token endpoint. */
async function provider() {
  const state = { deny: false, authorized: [] as URLSearchParams[], exchanged: [] as URLSearchParams[] };
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://provider.test");
      if (url.pathname === "/authorize") {
        state.authorized.push(url.searchParams);
        const back = new URL(url.searchParams.get("redirect_uri")!);
        back.searchParams.set("state", url.searchParams.get("state")!);
        if (state.deny) back.searchParams.set("error", "access_denied");
        else back.searchParams.set("code", "e2e-code");
        response.writeHead(302, { location: back.toString() });
        return response.end();
      }
      if (url.pathname === "/token" && request.method === "POST") {
        state.exchanged.push(new URLSearchParams(body));
        response.writeHead(200, { "content-type": "application/json" });
        return response.end(
          JSON.stringify({ access_token: "e2e-access-token", refresh_token: "e2e-refresh-token", expires_in: 3600, token_type: "Bearer" }),
        );
      }
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "not scripted" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, state, close: () => server.close() };
}

test("connect an OAuth 2 service through the provider, then see a refusal explained", async ({ page }) => {
  const remote = await provider();
  await signUp(page, "oauth");

  await page.goto("/connections");
  await hydrated(page);
  await page.locator("#connection-kind").selectOption("oauth2");
  await page.locator("#connection-name").fill("Acme OAuth");
  await page.locator("#connection-field-authorize_url").fill(`${remote.url}/authorize`);
  await page.locator("#connection-field-token_url").fill(`${remote.url}/token`);
  await page.locator("#connection-field-client_id").fill("e2e-client");
  await page.locator("#connection-field-client_secret").fill("e2e-client-secret");
  await page.locator("#connection-field-scope").fill("orders:read");
  await page.getByRole("button", { name: "Add connection" }).click();
  const row = page.locator("tr[data-connection='Acme OAuth']");
  await expect(row).toBeVisible();

  // A workflow using it shows under "Used by".
  const connections = await (await page.request.get("/api/v1/connections")).json();
  const id = connections.find((c: { name: string }) => c.name === "Acme OAuth").id;
  await createWorkflow(page, {
    name: "Acme orders",
    nodes: [
      { id: "start", kind: "manual_trigger" },
      { id: "orders", kind: "http_request", config: { url: `${remote.url}/orders`, connection_id: id } },
    ],
    edges: [{ source: "start", target: "orders" }],
  });
  await page.reload();
  await hydrated(page);
  await expect(row.getByTestId("used-by").getByRole("link", { name: "Acme orders" })).toBeVisible();

  // Connect: to the provider and straight back.
  await row.getByRole("button", { name: "Connect Acme OAuth" }).click();
  await page.waitForURL(/\/connections\?connected=/);
  await hydrated(page);
  await expect(page.getByTestId("connected")).toContainText("Connected Acme OAuth");
  const asked = remote.state.authorized[0];
  expect(asked.get("client_id")).toBe("e2e-client");
  expect(asked.get("code_challenge_method")).toBe("S256");
  const exchanged = remote.state.exchanged[0];
  expect(exchanged.get("grant_type")).toBe("authorization_code");
  expect(exchanged.get("code")).toBe("e2e-code");
  expect(exchanged.get("code_verifier")?.length).toBeGreaterThanOrEqual(43);
  await expect(row).toContainText("access_token");
  await expect(page.locator("body")).not.toContainText("e2e-access-token");
  await expect(page.locator("body")).not.toContainText("e2e-client-secret");

  // Reconnect, and the provider refuses: said plainly, nothing stored.
  remote.state.deny = true;
  await row.getByRole("button", { name: "Reconnect Acme OAuth" }).click();
  await page.waitForURL(/\/connections\?error=denied/);
  await hydrated(page);
  await expect(page.getByTestId("connect-error")).toContainText("did not grant access (access_denied)");
  expect(remote.state.exchanged).toHaveLength(1);
  remote.close();
});
