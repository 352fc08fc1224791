//! `application/x-www-form-urlencoded` bodies with nested values written in
//! brackets, the way Stripe (and Rails-style APIs) read them:
//! `metadata[plan]=pro`, `items[0][price]=price_1`. Flat fields stay flat,
//! which is all Twilio needs.

use serde_json::{Map, Value};

/// The body's fields as ordered `(name, value)` pairs; nulls are left out.
pub fn pairs(fields: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in fields {
        push(name.clone(), value, &mut out);
    }
    out
}

fn push(name: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::String(text) => out.push((name, text.clone())),
        Value::Bool(flag) => out.push((name, flag.to_string())),
        Value::Number(number) => out.push((name, number.to_string())),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                push(format!("{name}[{index}]"), item, out);
            }
        }
        Value::Object(entries) => {
            for (key, item) in entries {
                push(format!("{name}[{key}]"), item, out);
            }
        }
    }
}

/// The encoded body.
pub fn encode(fields: &Map<String, Value>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs(fields) {
        serializer.append_pair(&name, &value);
    }
    serializer.finish()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_values_are_written_in_brackets() {
        let fields = json!({
            "email": "ada@example.com",
            "metadata": {"plan": "pro", "seats": 3},
            "items": [{"price": "price_1"}, {"price": "price_2", "quantity": 2}],
            "livemode": false,
            "description": null
        });
        let fields = fields.as_object().unwrap();
        // Object keys come in the map's order (sorted, or as written when
        // serde_json keeps insertion order): compare them sorted.
        let mut written = pairs(fields);
        written.sort();
        let mut expected: Vec<(String, String)> = [
            ("email", "ada@example.com"),
            ("metadata[plan]", "pro"),
            ("metadata[seats]", "3"),
            ("items[0][price]", "price_1"),
            ("items[1][price]", "price_2"),
            ("items[1][quantity]", "2"),
            ("livemode", "false"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        expected.sort();
        assert_eq!(written, expected);
        assert_eq!(
            encode(
                &json!({"metadata": {"a b": "c&d"}})
                    .as_object()
                    .unwrap()
                    .clone()
            ),
            "metadata%5Ba+b%5D=c%26d"
        );
    }
}
