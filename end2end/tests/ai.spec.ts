// The AI builder as a new user meets it: describe the seed workflow, read
// the draft's explanations and the connections it still needs, create them
// (pointed at local stand-ins), draft again, create the workflow, fill in
// what it left open, save, activate, and send a signed Stripe event: every
// step succeeds with the requests the real APIs expect.
import { createHmac } from "node:crypto";
import { test, expect, hydrated, snapshot } from "./fixtures";
import { node, signUp, slackAndMailchimp } from "./helpers";

const SEED = "When a new customer signs up in Stripe, add them to Mailchimp and send Slack notification";

async function describe(page: import("@playwright/test").Page) {
  await page.goto("/workflows");
  await hydrated(page);
  await page.getByTestId("describe-prompt").fill(SEED);
  await page.getByTestId("describe-submit").click();
  await expect(page.getByTestId("draft-review")).toBeVisible();
}

test("describe a workflow, create what it needs, and run it on a signed Stripe event", async ({ page }) => {
  const remote = await slackAndMailchimp();
  await signUp(page, "describer");

  await describe(page);
  // The draft drawn as it will be on the canvas, then a line per step.
  const graph = page.getByTestId("draft-graph");
  await expect(graph.getByTestId("run-node")).toHaveCount(3);
  await expect(graph.getByTestId("run-edge")).toHaveCount(2);
  await expect(graph.locator("[data-node-id=trigger]")).toHaveAttribute("aria-label", "Stripe: Event, stripe.trigger");
  const steps = page.getByTestId("draft-step");
  await expect(steps).toHaveCount(3);
  await expect(steps.nth(0)).toContainText("Starts when Stripe sends customer.created");
  await expect(steps.nth(1)).toContainText("Mailchimp");
  await expect(steps.nth(1)).toContainText("trigger.body.data.object.email");
  await expect(steps.nth(2)).toContainText("Slack");
  const missing = page.getByTestId("draft-missing");
  await expect(missing).toHaveCount(3);
  await expect(page.locator("[data-testid=draft-missing][data-provider=mailchimp] a")).toHaveAttribute(
    "href",
    "/connections?provider=mailchimp",
  );
  await expect(page.getByTestId("draft-needs")).toHaveCount(2);
  await snapshot(page, "ai-draft");

  // The connections it asked for, through the Connections page it links to.
  for (const [provider, name, field, secret, base] of [
    ["mailchimp", "Audience", "api_key", "0123abcd-us21", "/mailchimp/3.0"],
    ["slack", "Team Slack", "token", "xoxb-e2e-secret", "/slack/api"],
  ]) {
    await page.goto(`/connections?provider=${provider}`);
    await hydrated(page);
    await expect(page.locator("#connection-kind")).toHaveValue(provider);
    await page.locator("#connection-name").fill(name);
    await page.locator(`#connection-field-${field}`).fill(secret);
    await page.locator("#connection-field-base_url").fill(`${remote.url}${base}`);
    await page.getByRole("button", { name: "Add connection" }).click();
    await expect(page.locator(`tr[data-connection='${name}']`)).toBeVisible();
  }

  // Drafted again, it uses them; only Stripe's webhook is left to set up.
  await describe(page);
  await expect(page.getByTestId("draft-missing")).toHaveCount(1);
  await expect(page.locator("[data-testid=draft-missing][data-provider=stripe]")).toBeVisible();
  await page.getByTestId("describe-create").click();
  await expect(page.getByTestId("editor")).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId("node")).toHaveCount(3);
  await expect(page.getByTestId("edge")).toHaveCount(2);

  // What it left open: the signing secret, the audience and the channel.
  await node(page, "trigger").locator(".node-box").click();
  await page.locator("#config-secret").fill("whsec_e2e");
  await node(page, "mailchimp_add_member").locator(".node-box").click();
  await expect(page.locator("#config-email_address")).toHaveValue("{{ trigger.body.data.object.email }}");
  await page.locator("#config-list_id").fill("a1b2c3");
  await node(page, "slack_post_message").locator(".node-box").click();
  await page.locator("#config-channel").fill("#sales");
  await expect(page.getByTestId("no-problems")).toBeVisible();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status")).toHaveText(/Saved as version/);
  await page.getByRole("button", { name: "Activate" }).click();
  await expect(page.getByRole("button", { name: "Pause" })).toBeVisible();
  await snapshot(page, "ai-workflow-active");

  // A customer.created event, signed as Stripe signs it.
  const id = new URL(page.url()).pathname.split("/").pop()!;
  const workflow = await (await page.request.get(`/api/v1/workflows/${id}`)).json();
  const event = JSON.stringify({
    id: "evt_ai_1",
    type: "customer.created",
    data: { object: { id: "cus_1", email: "Grace@Example.com", name: "Grace" } },
  });
  const t = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", "whsec_e2e").update(`${t}.${event}`).digest("hex");
  const delivered = await page.request.post(workflow.webhook_url, {
    headers: { "content-type": "application/json", "stripe-signature": `t=${t},v1=${signature}` },
    data: event,
  });
  expect(delivered.status()).toBe(202);
  const { execution_id } = await delivered.json();
  await expect
    .poll(async () => (await (await page.request.get(`/api/v1/executions/${execution_id}`)).json()).status, { timeout: 20_000 })
    .toBe("succeeded");

  const member = remote.seen.find((r) => r.path.startsWith("/mailchimp/"))!;
  expect(member.method).toBe("PUT");
  expect(member.path).toBe("/mailchimp/3.0/lists/a1b2c3/members/9f528ceb410182ebd9d490172948f11f");
  expect(JSON.parse(member.body).email_address).toBe("Grace@Example.com");
  const post = JSON.parse(remote.seen.find((r) => r.path === "/slack/api/chat.postMessage")!.body);
  expect(post.channel).toBe("#sales");
  expect(post.text).toContain("Grace@Example.com");
  remote.close();
});

test("a vague description gets a question, and an answer drafts it", async ({ page }) => {
  await signUp(page, "vague");
  await page.goto("/workflows");
  await hydrated(page);
  await page.getByTestId("describe-prompt").fill("send me a daily summary");
  await page.getByTestId("describe-submit").click();
  await expect(page.getByTestId("draft-question")).toBeVisible();
  await page.getByTestId("draft-suggestion").filter({ hasText: "Slack" }).click();
  await expect(page.getByTestId("draft-question")).toHaveCount(0);
  await expect(page.getByTestId("draft-step")).toHaveCount(2);
  await expect(page.getByTestId("draft-step").nth(0)).toContainText("0 9 * * *");
});

test("describe a change in the editor, see it on the canvas, reject or apply it; suggest the next step", async ({ page }) => {
  await signUp(page, "changer");
  const draft = await (await page.request.post("/api/v1/ai/generate", { data: { prompt: SEED } })).json();
  const created = await (await page.request.post("/api/v1/workflows", { data: draft.workflow })).json();
  await page.goto(`/workflows/${created.id}`);
  await expect(page.getByTestId("editor")).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId("node")).toHaveCount(3);

  // A delay before the Slack step: drawn as an added node, then discarded.
  const instruction = page.getByTestId("change-instruction");
  await instruction.fill("put a delay of 2 days before the Slack message");
  await page.getByTestId("change-propose").click();
  await expect(page.getByTestId("change-op")).toHaveCount(1);
  await expect(page.getByTestId("change-op")).toContainText("insert delay `delay` between `mailchimp_add_member` and `slack_post_message`");
  await expect(page.locator("[data-testid=node].diff-added")).toHaveAttribute("data-kind", "delay");
  await expect(page.getByTestId("edge")).toHaveCount(3);
  await snapshot(page, "ai-change-proposed");
  await page.getByTestId("change-discard").click();
  await expect(page.getByTestId("node")).toHaveCount(3);
  await expect(page.locator(".diff-added")).toHaveCount(0);

  // Removing a step shows its ghost; unticking the change brings it back.
  await instruction.fill("remove the Slack step");
  await page.getByTestId("change-propose").click();
  await expect(page.getByTestId("ghost-node")).toHaveAttribute("data-node-id", "slack_post_message");
  await expect(page.getByTestId("node")).toHaveCount(2);
  await page.getByTestId("change-op").locator("input").uncheck();
  await expect(page.getByTestId("ghost-node")).toHaveCount(0);
  await expect(page.getByTestId("node")).toHaveCount(3);
  await page.getByTestId("change-discard").click();

  // Applied, the delay is part of the workflow (unsaved) and the old
  // direct edge is gone.
  await instruction.fill("put a delay of 2 days before the Slack message");
  await page.getByTestId("change-propose").click();
  await page.getByTestId("change-apply").click();
  await expect(page.getByRole("status")).toHaveText("1 change applied; save to keep them.");
  await expect(page.getByTestId("node")).toHaveCount(4);
  await expect(page.locator(".diff-added")).toHaveCount(0);
  await expect(page.getByTestId("unsaved")).toBeVisible();
  await expect(page.locator("[data-testid=edge][data-source=mailchimp_add_member][data-target=slack_post_message]")).toHaveCount(0);
  await expect(page.locator("[data-testid=edge][data-source=delay][data-target=slack_post_message]")).toHaveCount(1);

  // Suggest next after the Slack step: adding one connects it there.
  await node(page, "slack_post_message").locator(".node-box").click();
  await page.getByTestId("suggest-next-button").click();
  const suggestions = page.getByTestId("suggestion");
  await expect(suggestions.first()).toBeVisible();
  const kind = await suggestions.first().getAttribute("data-kind");
  await suggestions.first().getByTestId("suggestion-add").click();
  await expect(page.getByTestId("node")).toHaveCount(5);
  await expect(page.locator(`[data-testid=node][data-kind='${kind}']`).last()).toBeVisible();
  await expect(page.locator("[data-testid=edge][data-source=slack_post_message]")).toHaveCount(1);
});
