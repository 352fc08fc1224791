//! Checks every provider's declaration: what a typo in one would break
//! only at run time is caught here.

use std::collections::HashSet;

use super::*;

/// `{name}`s in a template.
fn placeholders(template: &str) -> Vec<&str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .collect()
}

#[test]
fn every_action_is_well_formed() {
    let mut kinds = HashSet::new();
    for provider in all() {
        assert!(
            provider
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{}",
            provider.id
        );
        let connection: Vec<&str> = provider
            .connection
            .fields
            .iter()
            .map(|f| f.name.as_ref())
            .collect();
        for kind in provider.kinds() {
            assert!(kinds.insert(kind.clone()), "{kind} is declared twice");
        }
        assert!(
            provider.rate_limit.per_second > 0.0 && provider.rate_limit.burst > 0,
            "{}",
            provider.id
        );
        for action in &provider.actions {
            let name = format!("{}.{}", provider.id, action.name);
            let fields: Vec<&str> = action.fields.iter().map(|f| f.spec.name.as_str()).collect();
            let unique: HashSet<&&str> = fields.iter().collect();
            assert_eq!(unique.len(), fields.len(), "{name} repeats a field");
            assert!(
                !fields.contains(&"connection") && !fields.contains(&"max_items"),
                "{name} uses a reserved field name"
            );
            let computed: Vec<&str> = action.computed.iter().map(|(n, _)| *n).collect();
            for placeholder in placeholders(&action.path) {
                let known = action
                    .fields
                    .iter()
                    .any(|f| f.spec.name == placeholder && f.place == Place::Path)
                    || connection.contains(&placeholder)
                    || (action.prepare.is_some() && placeholder == "subscriber_hash");
                assert!(known, "{name}: nothing fills `{{{placeholder}}}`");
            }
            for field in &action.fields {
                if field.place == Place::Path {
                    assert!(
                        action.path.contains(&format!("{{{}}}", field.spec.name)),
                        "{name}: {} is not in the path",
                        field.spec.name
                    );
                    assert!(
                        field.spec.required,
                        "{name}: path field {} must be required",
                        field.spec.name
                    );
                }
                let sends_body = matches!(
                    field.place,
                    Place::Body | Place::BodyAs(_) | Place::BodySpread
                );
                assert!(
                    !sends_body || action.encoding != Encoding::None,
                    "{name}: {} goes in a body it has none",
                    field.spec.name
                );
            }
            assert!(
                computed.is_empty() || action.prepare.is_some(),
                "{name}: computed values need a preparation"
            );
            assert!(
                action.paging.is_some() || !action.output.is_empty() || action.name == "tag_member",
                "{name} declares no output"
            );
            assert!(!action.description.is_empty(), "{name} has no description");
        }
        for placeholder in placeholders(&provider.base_url) {
            assert!(
                connection.contains(&placeholder) || provider.connection.derive.is_some(),
                "{}: nothing fills `{{{placeholder}}}` in the base URL",
                provider.id
            );
        }
    }
}

#[test]
fn the_registry_holds_every_provider_kind_with_a_connection_field() {
    let registry = Registry::builtin();
    for provider in all() {
        for kind in provider.kinds() {
            let spec = registry
                .catalogue()
                .get(&kind)
                .unwrap_or_else(|| panic!("{kind} is not registered"));
            assert_eq!(spec.provider.as_deref(), Some(provider.id.as_ref()));
            if kind.ends_with(".trigger") {
                assert!(spec.is_trigger());
                assert!(receives_webhooks(&kind));
                continue;
            }
            assert_eq!(spec.fields[0].name, "connection");
            assert!(spec.fields[0].required);
        }
    }
    for kind in [
        "stripe.create_customer",
        "stripe.retrieve_customer",
        "stripe.list_customers",
        "stripe.create_payment_intent",
        "stripe.create_refund",
        "slack.post_message",
        "slack.update_message",
        "mailchimp.add_member",
        "mailchimp.tag_member",
        "github.create_issue",
        "github.create_comment",
        "github.list_issues",
        "twilio.send_sms",
        "resend.send_email",
        "sendgrid.send_email",
        "linear.create_issue",
        "linear.create_comment",
        "stripe.trigger",
        "github.trigger",
        "linear.trigger",
    ] {
        assert!(registry.get(kind).is_some(), "{kind} is missing");
    }
}

#[test]
fn mailchimp_members_are_addressed_by_the_hash_of_the_lower_cased_address() {
    // Mailchimp's documented example: md5("urist.mcvankab@freddiesjokes.com").
    assert_eq!(
        mailchimp::subscriber_hash("Urist.McVankab@FreddiesJokes.com"),
        "62eeb292278cc15f5817cb78f7790b08"
    );
}
