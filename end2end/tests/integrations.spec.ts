// Integrations as a new user meets them: add a Slack connection pointed at a
// local stand-in and test it, then build Stripe event → Mailchimp member →
// Slack message from the palette, run it with a sample event, and see each
// provider call succeed with the request the real API expects.
import { test, expect, hydrated, snapshot } from "./fixtures";
import { connect, node, signUp, slackAndMailchimp } from "./helpers";

test("connect Slack, build Stripe → Mailchimp → Slack from the palette, and run it", async ({ page }) => {
  const remote = await slackAndMailchimp();
  await signUp(page, "integrator");

  // A Slack connection, through the Connections page, tested against the stand-in.
  await page.goto("/connections");
  await hydrated(page);
  await expect(page.getByTestId("no-connections")).toBeVisible();
  await page.locator("#connection-kind").selectOption("slack");
  await page.locator("#connection-name").fill("Team Slack");
  await page.locator("#connection-field-token").fill("xoxb-e2e-secret");
  await page.locator("#connection-field-base_url").fill(`${remote.url}/slack/api`);
  await page.getByRole("button", { name: "Add connection" }).click();
  const row = page.locator("tr[data-connection='Team Slack']");
  await expect(row).toBeVisible();
  await expect(page.locator("body")).not.toContainText("xoxb-e2e-secret");
  await row.getByRole("button", { name: "Test" }).click();
  await expect(row.getByTestId("connection-status")).toContainText("Works");
  await snapshot(page, "connections-slack-tested");
  // The Mailchimp key goes in through the API, as a script would.
  const mailchimp = await page.request.post("/api/v1/connections", {
    data: { name: "Audience", kind: "mailchimp", fields: { api_key: "0123abcd-us21", base_url: `${remote.url}/mailchimp/3.0` } },
  });
  expect(mailchimp.status()).toBe(201);

  // The workflow, from the palette: the Stripe trigger replaces the manual one.
  await page.goto("/workflows");
  await hydrated(page);
  await page.getByRole("button", { name: "New workflow" }).click();
  await expect(page.getByTestId("editor")).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Workflow name").fill("New customers");
  await node(page, "start").locator(".node-box").click();
  await page.keyboard.press("Delete");
  // Providers' steps sit in folded groups; a search opens them.
  await expect(page.locator(".palette-item[data-kind='stripe.trigger']")).toBeHidden();
  await page.locator(".palette-provider[data-provider=Stripe] > summary").click();
  await page.locator(".palette-item[data-kind='stripe.trigger']").dblclick();
  await page.locator("#palette-search").fill("mailchimp");
  await page.locator(".palette-item[data-kind='mailchimp.add_member']").dblclick();
  await page.locator("#palette-search").fill("post a message");
  await page.locator(".palette-item[data-kind='slack.post_message']").dblclick();
  await page.locator("#palette-search").fill("");
  await expect(page.getByTestId("node")).toHaveCount(3);
  await page.getByRole("button", { name: "Fit to view" }).click();
  await connect(page, "stripe", "out", "add_member");
  await connect(page, "add_member", "out", "post_message");
  await expect(page.getByTestId("edge")).toHaveCount(2);

  await node(page, "stripe").locator(".node-box").click();
  await page.getByRole("checkbox", { name: "customer.created" }).check();
  await page.locator("#config-secret").fill("whsec_e2e");

  // Without a connection the node says so on the canvas.
  await expect(node(page, "add_member").getByTestId("node-problem")).toBeVisible();
  await expect(node(page, "add_member").getByTestId("node-needs-connection")).toHaveText("Needs a connection");
  await node(page, "add_member").locator(".node-box").click();
  await page.locator("#config-connection").selectOption({ label: "Audience (mailchimp)" });
  await expect(node(page, "add_member").getByTestId("node-needs-connection")).toHaveCount(0);
  await page.locator("#config-list_id").fill("a1b2c3");
  await page.locator("#config-email_address").fill("{{ trigger.body.data.object.email }}");

  await node(page, "post_message").locator(".node-box").click();
  await expect(page.getByTestId("node-form")).toContainText("steps.add_member.output.status");
  await page.locator("#config-connection").selectOption({ label: "Team Slack (slack)" });
  await page.locator("#config-channel").fill("#sales");
  await page.locator("#config-text").fill("New customer {{ trigger.body.data.object.email }} is {{ steps.add_member.output.status }}");
  await expect(page.getByTestId("no-problems")).toBeVisible();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status")).toHaveText(/Saved as version/);

  // A sample event, as Stripe would deliver it.
  await page.locator("#run-payload").fill(
    JSON.stringify({ event: "customer.created", body: { id: "evt_1", type: "customer.created", data: { object: { id: "cus_1", email: "Ada@Example.com" } } } }),
  );
  await page.getByTestId("run-button").click();
  for (const id of ["stripe", "add_member", "post_message"]) {
    await expect(node(page, id)).toHaveAttribute("data-status", "succeeded");
  }
  await snapshot(page, "editor-integrations-run");

  const member = remote.seen.find((r) => r.path.startsWith("/mailchimp/"))!;
  expect(member.method).toBe("PUT");
  // Mailchimp addresses members by the MD5 of the lower-cased address.
  expect(member.path).toBe("/mailchimp/3.0/lists/a1b2c3/members/3e3417d7ef77d5932a6734b916515ed5");
  expect(member.headers.authorization).toBe(`Basic ${Buffer.from("switchyard:0123abcd-us21").toString("base64")}`);
  expect(JSON.parse(member.body)).toEqual({ email_address: "Ada@Example.com", status_if_new: "subscribed" });
  const post = remote.seen.find((r) => r.path === "/slack/api/chat.postMessage")!;
  expect(post.headers.authorization).toBe("Bearer xoxb-e2e-secret");
  expect(JSON.parse(post.body)).toEqual({ channel: "#sales", text: "New customer Ada@Example.com is subscribed" });
  remote.close();
});
