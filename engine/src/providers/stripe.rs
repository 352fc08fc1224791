//! Stripe: payments. Form bodies with nested fields in brackets, a secret
//! key as bearer token, and an `Idempotency-Key` on every POST so that a
//! retried step never charges twice.

use model::{FieldSpec, FieldType};
use serde_json::{Map, json};

use super::{
    Action, Auth, Body, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors,
    PayloadField, Place, Protocol, Provider, RateLimit, Source, TestRequest, TriggerSpec,
    body_text, paging::Paging, payload, registration::Registration,
};
use crate::ErrorClass;

const CUSTOMER: &[(&str, &str, &str)] = &[
    ("id", "string", "The customer's id (cus_…)."),
    ("email", "string", ""),
    ("name", "string", ""),
    ("phone", "string", ""),
    ("description", "string", ""),
    ("metadata", "object", "Your own key-value pairs."),
    ("created", "integer", "Unix time of creation."),
];

fn text(name: &str, label: &str) -> FieldSpec {
    FieldSpec::new(name, label, FieldType::text())
}

fn metadata() -> FieldSpec {
    FieldSpec::new("metadata", "Metadata", FieldType::KeyValue)
        .help("Key-value pairs stored on the object.")
}

/// What its webhook deliveries hold, for the variable picker and the AI builder.
const PAYLOAD: &[PayloadField] = &[
    payload("*", "type", "string", "The event type."),
    payload("*", "id", "string", "The event's id (evt_…)."),
    payload(
        "customer.*",
        "data.object.id",
        "string",
        "The customer's id.",
    ),
    payload(
        "customer.*",
        "data.object.email",
        "string",
        "The customer's email.",
    ),
    payload(
        "customer.*",
        "data.object.name",
        "string",
        "The customer's name.",
    ),
    payload(
        "customer.*",
        "data.object.phone",
        "string",
        "The customer's phone.",
    ),
    payload(
        "payment_intent.*",
        "data.object.id",
        "string",
        "The payment intent's id.",
    ),
    payload(
        "payment_intent.* charge.*",
        "data.object.amount",
        "integer",
        "In the smallest currency unit.",
    ),
    payload(
        "payment_intent.* charge.*",
        "data.object.currency",
        "string",
        "",
    ),
    payload(
        "payment_intent.* charge.*",
        "data.object.receipt_email",
        "string",
        "Where the receipt goes.",
    ),
    payload(
        "payment_intent.* charge.* invoice.*",
        "data.object.customer",
        "string",
        "The customer's id.",
    ),
    payload(
        "payment_intent.* charge.* invoice.*",
        "data.object.description",
        "string",
        "",
    ),
    payload(
        "charge.*",
        "data.object.amount_refunded",
        "integer",
        "In the smallest currency unit.",
    ),
    payload("invoice.*", "data.object.id", "string", "The invoice's id."),
    payload("invoice.*", "data.object.customer_email", "string", ""),
    payload("invoice.*", "data.object.customer_name", "string", ""),
    payload(
        "invoice.*",
        "data.object.amount_paid",
        "integer",
        "In the smallest currency unit.",
    ),
    payload(
        "invoice.*",
        "data.object.amount_due",
        "integer",
        "In the smallest currency unit.",
    ),
    payload("invoice.*", "data.object.currency", "string", ""),
    payload(
        "invoice.*",
        "data.object.hosted_invoice_url",
        "string",
        "The invoice's page.",
    ),
];

pub fn provider() -> Provider {
    Provider {
        id: "stripe".into(),
        name: "Stripe".into(),
        category: "Payments".into(),
        docs: "https://docs.stripe.com/api".into(),
        synonyms: &[
            "payments",
            "charge",
            "billing",
            "invoice",
            "subscription",
            "refund",
        ],
        base_url: "https://api.stripe.com".into(),
        connection: ConnectionSpec {
            fields: vec![ConnectionField::secret(
                "secret_key",
                "Secret key",
                "sk_live_… or sk_test_… (or a restricted key rk_…)",
            )],
            auth: Auth::Bearer {
                token: Source::field("secret_key"),
            },
            derive: None,
        },
        headers: &[],
        test: Some(TestRequest {
            method: "GET".into(),
            path: "/v1/balance".into(),
            body: None,
        }),
        rate_limit: RateLimit {
            per_second: 25.0,
            burst: 25,
            concurrent: None,
            note: "Stripe allows 25 requests/s in test mode and 100/s in live mode; set 100 on a live connection.",
        },
        errors: Errors {
            message_at: &["/error/message", "/error/code"],
            in_body: BodyErrors::None,
            codes: &[("rate_limit", ErrorClass::RateLimit)],
        },
        protocol: Protocol::Http,
        idempotent_posts: true,
        default_encoding: Encoding::Form,
        actions: vec![
            Action::new(
                "create_customer",
                "Create a customer",
                "POST",
                "/v1/customers",
                Encoding::Form,
            )
            .describe("Creates a customer (POST /v1/customers).")
            .field(text("email", "Email"), Place::Body)
            .field(text("name", "Name"), Place::Body)
            .field(text("phone", "Phone"), Place::Body)
            .field(text("description", "Description"), Place::Body)
            .field(metadata(), Place::Body)
            .output(CUSTOMER),
            Action::new(
                "retrieve_customer",
                "Retrieve a customer",
                "GET",
                "/v1/customers/{customer}",
                Encoding::None,
            )
            .describe("Reads one customer by id (GET /v1/customers/{customer}).")
            .field(
                text("customer", "Customer id").required().help("cus_…"),
                Place::Path,
            )
            .output(CUSTOMER),
            Action::new(
                "list_customers",
                "List customers",
                "GET",
                "/v1/customers",
                Encoding::None,
            )
            .describe("Lists customers, newest first, optionally those with one email.")
            .field(
                text("email", "Email").help("Only customers with exactly this email."),
                Place::Query,
            )
            .field(
                FieldSpec::new(
                    "created_since",
                    "Created since",
                    FieldType::Integer { min: 0, max: i64::MAX },
                )
                .help("Only customers created at or after this Unix time (a schedule's `trigger.scheduled_unix - 86400` is the last day)."),
                Place::QueryAs(super::Text::Borrowed("created[gte]")),
            )
            .paged(Paging::StartingAfter),
            Action::new(
                "create_payment_intent",
                "Create a payment intent",
                "POST",
                "/v1/payment_intents",
                Encoding::Form,
            )
            .describe("Starts a payment of an amount in the smallest currency unit (cents).")
            .field(
                FieldSpec::new(
                    "amount",
                    "Amount",
                    FieldType::Integer {
                        min: 1,
                        max: 99_999_999,
                    },
                )
                .required()
                .help("In the smallest unit: 1000 is $10.00."),
                Place::Body,
            )
            .field(
                text("currency", "Currency")
                    .required()
                    .help("Three-letter ISO code, lower case: usd, eur."),
                Place::Body,
            )
            .field(text("customer", "Customer id"), Place::Body)
            .field(text("description", "Description"), Place::Body)
            .field(text("receipt_email", "Receipt email"), Place::Body)
            .field(
                FieldSpec::new(
                    "payment_method_types",
                    "Payment method types",
                    FieldType::Json,
                )
                .help(
                    "A list such as [\"card\"]; Stripe's dashboard settings apply when left out.",
                ),
                Place::Body,
            )
            .field(metadata(), Place::Body)
            .output(&[
                ("id", "string", "The payment intent's id (pi_…)."),
                ("amount", "integer", ""),
                ("currency", "string", ""),
                ("status", "string", "requires_payment_method, succeeded, …"),
                (
                    "client_secret",
                    "string",
                    "For confirming the payment in the browser.",
                ),
                ("customer", "string", ""),
                ("metadata", "object", ""),
            ]),
            Action::new(
                "create_refund",
                "Create a refund",
                "POST",
                "/v1/refunds",
                Encoding::Form,
            )
            .describe("Refunds a payment intent in full, or the amount given.")
            .field(
                text("payment_intent", "Payment intent id")
                    .required()
                    .help("pi_…"),
                Place::Body,
            )
            .field(
                FieldSpec::new(
                    "amount",
                    "Amount",
                    FieldType::Integer {
                        min: 1,
                        max: 99_999_999,
                    },
                )
                .help("Leave empty to refund everything."),
                Place::Body,
            )
            .field(
                FieldSpec::new(
                    "reason",
                    "Reason",
                    FieldType::select(&["duplicate", "fraudulent", "requested_by_customer"]),
                ),
                Place::Body,
            )
            .field(metadata(), Place::Body)
            .output(&[
                ("id", "string", "The refund's id (re_…)."),
                ("amount", "integer", ""),
                ("status", "string", "pending, succeeded, failed, …"),
                ("payment_intent", "string", ""),
            ]),
        ],
        events: &[
            "customer.created",
            "customer.updated",
            "customer.deleted",
            "payment_intent.succeeded",
            "payment_intent.payment_failed",
            "charge.refunded",
            "invoice.paid",
            "invoice.payment_failed",
            "checkout.session.completed",
            "customer.subscription.created",
            "customer.subscription.deleted",
        ],
        trigger: Some(TriggerSpec {
            scheme: "stripe",
            payload: PAYLOAD,
            secret_help: "The endpoint's signing secret (whsec_…), under Developers → Webhooks.",
            event_of: |_, body| body_text(body, "/type"),
            delivery_of: |_, body| body_text(body, "/id"),
            registration: Some(Registration {
                fields: &[],
                path: "/v1/webhook_endpoints",
                body: |hook| {
                    let mut fields = Map::new();
                    fields.insert("url".into(), json!(hook.url));
                    fields.insert("enabled_events".into(), json!(hook.events));
                    fields.insert("description".into(), json!("Switchyard workflow"));
                    Body::Form(fields)
                },
                id_at: "/id",
                secret_at: Some("/secret"),
                delete: "/v1/webhook_endpoints/{id}",
            }),
        }),
    }
}
