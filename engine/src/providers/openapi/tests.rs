//! Imports of the real documents in `../shared/data/openapi/` and of
//! small documents written here for what those do not show.

use model::FieldType;
use testkit::openapi_document;

use super::*;
use crate::providers::Place;

/// Each real document, with the operations its README counts.
const DOCUMENTS: &[(&str, usize)] = &[
    ("stripe.json", 452),
    ("stripe-2023-09.yaml", 468),
    ("github.json", 845),
    ("mailchimp.json", 272),
    ("slack.json", 174),
    ("sendgrid.json", 334),
    ("twilio_api_v2010.json", 197),
];

fn action<'d>(api: &'d ApiDescription, method: &str, path: &str) -> &'d Operation {
    api.operations
        .iter()
        .find(|op| op.method == method && op.path == path)
        .unwrap_or_else(|| panic!("{method} {path} was not imported"))
}

fn field<'o>(op: &'o Operation, name: &str) -> &'o ActionField {
    op.fields
        .iter()
        .find(|f| f.spec.name == name)
        .unwrap_or_else(|| panic!("{} has no field {name}", op.name))
}

#[test]
fn every_real_document_imports_with_all_its_operations() {
    for (file, count) in DOCUMENTS {
        let api =
            import(&openapi_document(file), "real", None).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            api.operations.len() + api.skipped.len(),
            *count,
            "{file}: every operation is imported or reported"
        );
        assert!(
            api.skipped.len() * 10 < *count,
            "{file}: most operations import ({} skipped: {:?})",
            api.skipped.len(),
            api.skipped.first()
        );
        let provider = api.provider();
        assert_eq!(provider.actions.len(), api.operations.len());
        let stored = serde_json::to_string(&api).unwrap();
        assert_eq!(
            serde_json::from_str::<ApiDescription>(&stored).unwrap(),
            api,
            "{file}"
        );
    }
}

#[test]
fn stripe_operations_become_form_actions_with_their_fields_and_output() {
    let api = import(&openapi_document("stripe-2023-09.yaml"), "stripe_api", None).unwrap();
    assert_eq!(api.name, "Stripe API");
    assert_eq!(api.base_url, "https://api.stripe.com");
    assert_eq!(
        api.auth,
        ImportedAuth::Basic,
        "Stripe lists basicAuth first"
    );
    let create = action(&api, "POST", "/v1/customers");
    assert_eq!(create.name, "post_customers");
    assert_eq!(create.body, BodyEncoding::Form);
    assert_eq!(field(create, "email").place, Place::Body);
    assert_eq!(field(create, "metadata").spec.ty, FieldType::Json);
    let retrieve = action(&api, "GET", "/v1/customers/{customer}");
    let customer = field(retrieve, "customer");
    assert!(customer.spec.required);
    assert_eq!(customer.place, Place::Path);
    assert!(
        retrieve.output.iter().any(|o| o.name == "email"),
        "the customer schema (a $ref inside anyOf or direct) drives the output: {:?}",
        retrieve.output
    );
    let list = action(&api, "GET", "/v1/customers");
    assert_eq!(
        field(list, "limit").spec.ty,
        FieldType::Integer {
            min: i64::MIN,
            max: i64::MAX
        }
    );
    assert_eq!(field(list, "starting_after").place, Place::Query);
}

#[test]
fn github_parameters_refs_and_json_bodies() {
    let api = import(&openapi_document("github.json"), "gh", Some("My GitHub")).unwrap();
    assert_eq!(api.name, "My GitHub");
    let create = action(&api, "POST", "/repos/{owner}/{repo}/issues");
    assert_eq!(create.name, "issues_create");
    assert_eq!(create.body, BodyEncoding::Json);
    assert_eq!(
        field(create, "owner").place,
        Place::Path,
        "a $ref'd path parameter"
    );
    assert!(field(create, "title").spec.required);
    assert!(
        create
            .output
            .iter()
            .any(|o| o.name == "number" && o.ty == "integer")
    );
}

#[test]
fn twilio_form_bodies_and_basic_auth() {
    let api = import(
        &openapi_document("twilio_api_v2010.json"),
        "twilio_api",
        None,
    )
    .unwrap();
    assert_eq!(api.auth, ImportedAuth::Basic);
    let send = action(
        &api,
        "POST",
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
    );
    assert_eq!(send.body, BodyEncoding::Form);
    assert!(field(send, "To").spec.required);
}

/// A small 3.1 document: type lists with `null`, `examples`, `webhooks`,
/// server variables, an API key in a header, a `$ref` cycle.
const INVOICES_31: &str = r##"
openapi: 3.1.0
info: { title: Acme Invoices, version: "2.1" }
servers:
  - url: https://{region}.acme.test/v2
    variables:
      region: { default: eu, enum: [eu, us] }
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
        customer: { type: string, examples: [cus_1] }
        amount: { type: [integer, "null"], minimum: 0 }
        status: { type: string, enum: [draft, open, paid] }
        lines: { type: array, items: { $ref: "#/components/schemas/Line" } }
        parent: { $ref: "#/components/schemas/Invoice" }
    Line:
      type: object
      properties:
        invoice: { $ref: "#/components/schemas/Invoice" }
paths:
  /invoices:
    post:
      operationId: createInvoice
      summary: Create an invoice
      parameters:
        - { name: Idempotency-Key, in: header, schema: { type: string } }
        - { name: Authorization, in: header, schema: { type: string } }
      requestBody:
        required: true
        content:
          application/json: { schema: { $ref: "#/components/schemas/Invoice" } }
      responses:
        "201":
          description: created
          content:
            application/json: { schema: { $ref: "#/components/schemas/Invoice" } }
    get:
      operationId: listInvoices
      parameters:
        - { name: status, in: query, schema: { type: [string, "null"], enum: [draft, open, paid, null] } }
      responses:
        "200": { description: ok }
  /invoices/{id}/attachments:
    post:
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      requestBody:
        content:
          multipart/form-data: { schema: { type: object } }
      responses: { "200": { description: ok } }
webhooks:
  invoicePaid:
    post:
      requestBody:
        content:
          application/json: { schema: { $ref: "#/components/schemas/Invoice" } }
      responses: { "200": { description: ok } }
"##;

#[test]
fn an_openapi_3_1_document_imports() {
    let api = import(INVOICES_31, "acme", None).unwrap();
    assert_eq!(api.openapi, "3.1.0");
    assert_eq!(api.name, "Acme Invoices");
    assert_eq!(
        api.base_url, "https://eu.acme.test/v2",
        "server variables take their default"
    );
    assert_eq!(
        api.auth,
        ImportedAuth::Header {
            name: "X-Acme-Key".into()
        }
    );
    let create = action(&api, "POST", "/invoices");
    assert_eq!(create.name, "create_invoice");
    assert_eq!(create.label, "Create an invoice");
    let names: Vec<&str> = create.fields.iter().map(|f| f.spec.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Idempotency-Key",
            "customer",
            "amount",
            "status",
            "lines",
            "parent"
        ],
        "read-only properties and the Authorization header are left out"
    );
    assert_eq!(
        field(create, "Idempotency-Key").place,
        Place::Header("Idempotency-Key".into())
    );
    assert!(field(create, "customer").spec.required);
    assert_eq!(
        field(create, "amount").spec.ty,
        FieldType::Integer {
            min: 0,
            max: i64::MAX
        }
    );
    assert_eq!(
        field(create, "status").spec.ty,
        FieldType::Select {
            options: vec!["draft".into(), "open".into(), "paid".into()]
        }
    );
    assert!(
        create
            .output
            .iter()
            .any(|o| o.name == "id" && o.ty == "string")
    );
    let list = action(&api, "GET", "/invoices");
    assert!(matches!(
        field(list, "status").spec.ty,
        FieldType::Select { .. }
    ));
    assert_eq!(api.skipped.len(), 1, "{:?}", api.skipped);
    assert_eq!(api.skipped[0].operation, "POST /invoices/{id}/attachments");
    assert!(api.skipped[0].reason.contains("multipart/form-data"));
    let provider = api.provider();
    assert_eq!(
        provider.kinds(),
        ["acme.list_invoices", "acme.create_invoice", "acme.request"]
    );
    let test = provider.test.expect("GET /invoices needs nothing");
    assert_eq!(test.path, "/invoices");
}

#[test]
fn broken_documents_name_the_place_of_the_problem() {
    let broken = INVOICES_31.replace(
        "application/json: { schema: { $ref: \"#/components/schemas/Invoice\" } }\n      responses:\n        \"201\"",
        "application/json: { schema: { $ref: \"#/components/schemas/Missing\" } }\n      responses:\n        \"201\"",
    );
    let error = import(&broken, "acme", None).unwrap_err();
    assert_eq!(
        error.location,
        "paths./invoices.post.requestBody.content.application/json.schema"
    );
    assert!(
        error.message.contains("#/components/schemas/Missing"),
        "{error}"
    );

    let wrong_type = INVOICES_31.replace(
        "required: true\n        content",
        "required: maybe\n        content",
    );
    let error = import(&wrong_type, "acme", None).unwrap_err();
    assert!(
        error
            .location
            .starts_with("paths./invoices.post.requestBody"),
        "{error:?}"
    );

    let error = import(
        "swagger: \"2.0\"\ninfo: { title: x, version: \"1\" }\npaths: {}\n",
        "x",
        None,
    )
    .unwrap_err();
    assert!(
        error.message.contains("not an OpenAPI 3 document"),
        "{error:?}"
    );
    let error = import(
        "{\"openapi\": \"4.0.0\", \"info\": {\"title\": \"x\", \"version\": \"1\"}}",
        "x",
        None,
    )
    .unwrap_err();
    assert_eq!(error.location, "openapi");
    assert!(
        import("   ", "x", None)
            .unwrap_err()
            .message
            .contains("empty")
    );
    assert!(import("{ not json", "x", None).is_err());
}

#[test]
fn a_re_import_reports_what_changed() {
    let before = import(INVOICES_31, "acme", None).unwrap();
    let after_text = INVOICES_31
        .replace("        - { name: status, in: query, schema: { type: [string, \"null\"], enum: [draft, open, paid, null] } }\n", "        - { name: status, in: query, required: true, schema: { type: string } }\n")
        .replace("      operationId: createInvoice\n      summary: Create an invoice", "      operationId: createInvoice\n      summary: Make an invoice")
        .replace("  /invoices/{id}/attachments:", "  /invoices/{id}:\n    delete:\n      operationId: deleteInvoice\n      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]\n      responses: { \"204\": { description: gone } }\n  /invoices/{id}/attachments:");
    let after = import(&after_text, "acme", None).unwrap();
    let changes = Changes::between(&before, &after);
    assert_eq!(changes.added, ["delete_invoice"]);
    assert_eq!(
        changes.changed,
        ["list_invoices"],
        "a new label alone is no change"
    );
    assert!(changes.removed.is_empty());
    let changes = Changes::between(&after, &before);
    assert_eq!(changes.removed, ["delete_invoice"]);
}

#[test]
fn slugs_are_usable_ids() {
    assert_eq!(slug("Acme Invoices API"), "acme_invoices_api");
    assert_eq!(slug("  3D printing!! "), "api_3d_printing");
    assert_eq!(slug("∆∆"), "api");
}
