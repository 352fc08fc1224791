//! APIs imported from OpenAPI documents: their operations become node
//! kinds of the importing account only, run against a local server that
//! checks the request the document describes, and a re-import reports
//! what changed and which workflows it touches.

use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, User, assert_error},
    integrations::{header, json_body, run_chain, step},
    on_both_backends,
};

on_both_backends!(
    an_imported_api_runs_its_operations_for_its_owner_only,
    a_re_import_reports_changes_and_delete_waits_for_workflows
);

pub(crate) const ACME: &str = r##"
openapi: 3.1.0
info: { title: Acme Invoices, version: "2.1" }
servers: [{ url: "https://api.acme.example/v2" }]
security: [{ key: [] }]
components:
  securitySchemes:
    key: { type: apiKey, in: header, name: X-Acme-Key }
  schemas:
    Invoice:
      type: object
      required: [customer]
      properties:
        id: { type: string, readOnly: true }
        customer: { type: string }
        amount: { type: [integer, "null"], minimum: 0 }
        memo: { type: string }
paths:
  /invoices:
    post:
      operationId: createInvoice
      summary: Create an invoice
      parameters:
        - { name: Idempotency-Key, in: header, schema: { type: string } }
        - { name: expand, in: query, schema: { type: string } }
      requestBody:
        required: true
        content:
          application/json: { schema: { $ref: "#/components/schemas/Invoice" } }
      responses:
        "201":
          description: created
          content:
            application/json: { schema: { $ref: "#/components/schemas/Invoice" } }
  /invoices/{id}:
    get:
      operationId: getInvoice
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
"##;

async fn import(user: &User, body: Value) -> Value {
    let response = user.post("/apis/import", body).await;
    let status = response.status().as_u16();
    let report: Value = response.json().await.unwrap();
    assert!(status == 201 || status == 200, "{status}: {report}");
    report
}

async fn an_imported_api_runs_its_operations_for_its_owner_only(app: TestApp) {
    let remote = ScriptedServer::start().await;
    remote.script(
        "/v2/invoices",
        vec![Reply::json(
            201,
            json!({"id": "inv_1", "customer": "cus_9", "amount": 1200}),
        )],
    );
    let ada = app.user("ada@example.com").await;
    let report = import(&ada, json!({"document": ACME, "id": "acme"})).await;
    assert_eq!(report["id"], "acme");
    assert_eq!(report["name"], "Acme Invoices");
    assert_eq!(report["revision"], 1);
    assert_eq!(report["operations"], 2);

    let apis: Value = ada.get("/apis").await.json().await.unwrap();
    let acme = apis
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "acme")
        .expect("the import is in the catalogue");
    assert_eq!(acme["source"], "imported");
    assert_eq!(acme["auth"], "header");
    let detail: Value = ada.get("/apis/acme").await.json().await.unwrap();
    assert_eq!(detail["openapi"], "3.1.0");
    let create = detail["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "create_invoice")
        .unwrap();
    assert!(
        create["output"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "amount")
    );
    let found: Value = ada.get("/apis/search?q=acme").await.json().await.unwrap();
    assert_eq!(found[0]["id"], "acme");
    let found: Value = ada
        .get("/apis/search?q=create%20invoice")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        found.as_array().unwrap().iter().any(|a| a["id"] == "acme"),
        "{found}"
    );

    let fields = json!({"api_key": "acme_secret_1", "base_url": remote.url("/v2")});
    let created = ada
        .post(
            "/connections",
            json!({"name": "Acme", "kind": "acme", "fields": fields}),
        )
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let connection = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let run = run_chain(
        &ada,
        json!([{"id": "bill", "kind": "acme.create_invoice", "config": {
            "connection": connection,
            "customer": "{{ trigger.customer }}",
            "amount": 1200,
            "Idempotency-Key": "bill-cus_9",
            "expand": "customer"
        }}]),
        json!({"customer": "cus_9"}),
    )
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(step(&run, "bill")["output"]["id"], "inv_1");
    let sent = remote.received("/v2/invoices");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].query.as_deref(), Some("expand=customer"));
    assert_eq!(header(&sent[0], "x-acme-key"), Some("acme_secret_1"));
    assert_eq!(header(&sent[0], "idempotency-key"), Some("bill-cus_9"));
    assert_eq!(
        json_body(&sent[0]),
        json!({"customer": "cus_9", "amount": 1200})
    );
    assert!(
        !run.to_string().contains("acme_secret_1"),
        "the key is never in a run"
    );

    // Another account neither sees nor uses ada's import.
    let bob = app.user("bob@example.com").await;
    let apis: Value = bob.get("/apis").await.json().await.unwrap();
    assert!(!apis.as_array().unwrap().iter().any(|a| a["id"] == "acme"));
    assert_error(bob.get("/apis/acme").await, 404, "not_found", None).await;
    let refused = bob
        .post(
            "/workflows",
            json!({"name": "x", "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "bill", "kind": "acme.create_invoice", "config": {"customer": "c"}}
            ], "edges": [{"source": "start", "target": "bill"}]}),
        )
        .await;
    assert_eq!(refused.status(), 201, "a draft is saved with its problems");
    let draft: Value = refused.json().await.unwrap();
    assert!(
        draft["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["node_id"] == "bill" && p["severity"] == "error"),
        "acme.create_invoice is an unknown kind for bob: {draft}"
    );
    assert_error(
        bob.post(
            "/connections",
            json!({"name": "A", "kind": "acme", "fields": {"api_key": "k"}}),
        )
        .await,
        422,
        "invalid",
        Some("kind"),
    )
    .await;
}

async fn a_re_import_reports_changes_and_delete_waits_for_workflows(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    import(&ada, json!({"document": ACME, "id": "acme"})).await;
    let workflow = ada
        .create_workflow(json!({"name": "Billing", "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "fetch", "kind": "acme.get_invoice", "config": {"id": "inv_1"}}
        ], "edges": [{"source": "start", "target": "fetch"}]}))
        .await;

    let changed = ACME
        .replace(
            "      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]\n",
            "      parameters:\n        - { name: id, in: path, required: true, schema: { type: string } }\n        - { name: lang, in: query, required: true, schema: { type: string } }\n",
        )
        .replace("  /invoices/{id}:", "  /customers:\n    get:\n      operationId: listCustomers\n      responses: { \"200\": { description: ok } }\n  /invoices/{id}:");
    // The raw document as the body, the id in the query.
    let response = ada
        .client
        .post(ada.url("/apis/import?id=acme"))
        .header("content-type", "application/yaml")
        .body(changed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "a re-import");
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["revision"], 2);
    assert_eq!(report["changes"]["added"], json!(["list_customers"]));
    assert_eq!(report["changes"]["changed"], json!(["get_invoice"]));
    assert_eq!(report["changes"]["removed"], json!([]));
    assert_eq!(
        report["affected_workflows"][0]["workflow_id"],
        workflow.as_str()
    );
    assert_eq!(
        report["affected_workflows"][0]["kinds"],
        json!(["acme.get_invoice"])
    );

    let broken = ACME.replace(
        "#/components/schemas/Invoice\" } }\n      responses",
        "#/components/schemas/Nope\" } }\n      responses",
    );
    let error = assert_error(
        ada.post("/apis/import", json!({"document": broken, "id": "acme"}))
            .await,
        422,
        "invalid",
        Some("document"),
    )
    .await;
    assert!(
        error
            .to_string()
            .contains("paths./invoices.post.requestBody.content.application/json.schema"),
        "the error names the place: {error}"
    );
    assert_error(
        ada.post("/apis/import", json!({"document": ACME, "id": "stripe"}))
            .await,
        422,
        "invalid",
        Some("id"),
    )
    .await;
    assert_error(ada.delete("/apis/stripe").await, 409, "conflict", None).await;

    let refused = assert_error(ada.delete("/apis/acme").await, 409, "conflict", None).await;
    assert!(refused.to_string().contains("Billing"), "{refused}");
    assert_eq!(
        ada.delete(&format!("/workflows/{workflow}")).await.status(),
        204
    );
    assert_eq!(ada.delete("/apis/acme").await.status(), 204);
    assert_error(ada.get("/apis/acme").await, 404, "not_found", None).await;
}
