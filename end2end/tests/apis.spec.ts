// The API explorer as a new user meets it: find an API by what it does,
// read an action's fields and output, start a workflow with it; import an
// OpenAPI document by pasting it and find its operations among the APIs.
import { test, expect, hydrated, snapshot } from "./fixtures";
import { node, signUp } from "./helpers";

const ACME = `openapi: 3.1.0
info: { title: Acme Invoices, version: "2.1" }
servers: [{ url: "https://api.acme.example/v2" }]
components:
  securitySchemes:
    key: { type: apiKey, in: header, name: X-Acme-Key }
paths:
  /invoices:
    post:
      operationId: createInvoice
      summary: Create an invoice
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [customer]
              properties:
                customer: { type: string, description: The customer to bill. }
                amount: { type: integer }
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: { type: object, properties: { id: { type: string } } }
  /files:
    post:
      operationId: uploadFile
      requestBody:
        content:
          multipart/form-data: { schema: { type: object } }
      responses: { "200": { description: ok } }
`;

test("find an API, read an action, use it in a workflow, and import a document", async ({ page }) => {
  await signUp(page, "explorer");
  await page.goto("/apis");
  await hydrated(page);

  await page.getByLabel("Search").fill("sms");
  await expect(page.getByTestId("api-list").locator("button").first()).toHaveAttribute("data-api", "twilio");
  await page.getByTestId("api-list").locator("[data-api=twilio]").click();
  const detail = page.getByTestId("api-detail");
  await expect(detail).toHaveAttribute("data-api", "twilio");
  const send = detail.locator("[data-kind='twilio.send_sms']");
  await send.locator("summary").click();
  await expect(send).toContainText("POST /2010-04-01/Accounts/{account_sid}/Messages.json");
  await expect(send).toContainText("to *");
  await expect(send).toContainText("Output:");
  await snapshot(page, "apis-twilio");

  await send.getByRole("button", { name: "Use in a workflow" }).click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]+$/);
  await hydrated(page);
  await expect(node(page, "step")).toBeVisible();
  await expect(node(page, "step")).toHaveAttribute("data-kind", "twilio.send_sms");
  await expect(node(page, "step")).toContainText("Send an SMS");

  await page.goto("/apis");
  await hydrated(page);
  await page.getByText("Import an OpenAPI document").click();
  await page.getByLabel("Or paste the document").fill(ACME);
  await page.getByLabel("Id (optional)").fill("acme");
  await page.getByTestId("import-api").getByRole("button", { name: "Import" }).click();
  const report = page.getByTestId("import-report");
  await expect(report).toContainText("Acme Invoices (acme): 1 operation, revision 1.");
  await expect(report).toContainText("1 left out");
  await expect(detail).toHaveAttribute("data-api", "acme");
  await expect(detail.locator("[data-kind='acme.create_invoice']")).toBeVisible();
  await expect(detail).toContainText("POST /files");
  await expect(detail).toContainText("multipart/form-data");
  await snapshot(page, "apis-imported");

  await page.getByLabel("Or paste the document").fill("openapi: 3.1.0\ninfo: { title: Broken, version: '1' }\npaths:\n  /x:\n    get:\n      responses: { '200': { $ref: '#/components/responses/Nope' } }\n");
  await page.getByLabel("Id (optional)").fill("broken");
  await page.getByTestId("import-api").getByRole("button", { name: "Import" }).click();
  await expect(page.locator("#import-document ~ .field-error")).toContainText("paths./x.get.responses.200");
});
