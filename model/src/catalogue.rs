//! What each node kind looks like: its fields (the config schema the editor
//! builds forms from and the validator enforces) and its output ports.
//! The server owns the catalogue (built-in kinds and integrations) and sends
//! it to the browser, so both validate against the same data.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::{DEFAULT_PORT, ERROR_PORT};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Trigger,
    Action,
    Logic,
    Integration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindSpec {
    /// `http_request`, `slack.post_message`, …
    pub kind: String,
    pub label: String,
    pub category: Category,
    pub description: String,
    pub fields: Vec<FieldSpec>,
    pub ports: Ports,
    /// The integration this kind belongs to (`stripe`), for grouping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The fields of the step's output, offered as `steps.<id>.output.<name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<OutputField>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One field of a step's output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputField {
    /// A path below `output`: `id`, `customer.email`, `items`.
    pub name: String,
    /// `string`, `number`, `integer`, `boolean`, `object` or `array`.
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// For a provider trigger: the event types whose deliveries hold it
    /// (`customer.*` for every customer event); empty for all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

impl OutputField {
    pub fn new(name: &str, ty: &str, description: &str) -> OutputField {
        OutputField {
            name: name.into(),
            ty: ty.into(),
            description: description.into(),
            events: Vec::new(),
        }
    }
}

/// The ports a kind fires on (besides `error`, open to any node that routes errors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "names")]
pub enum Ports {
    Fixed(Vec<String>),
    /// One port per `config.cases[].port`, plus `default`.
    SwitchCases,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldSpec {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub help: String,
    /// Shown in a new node's form; the executor applies the same default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FieldType {
    /// Any string; may contain `{{ … }}` templates.
    Text {
        multiline: bool,
    },
    /// Text that is a credential: masked in forms, hidden in stored step inputs.
    Secret,
    /// An http(s) URL, or a template producing one.
    Url,
    /// A `{{ … }}` expression, evaluated to a JSON value.
    Expression,
    Integer {
        min: i64,
        max: i64,
    },
    Boolean,
    Select {
        options: Vec<String>,
    },
    /// Several of the options.
    MultiSelect {
        options: Vec<String>,
    },
    /// An object of string values (headers, query parameters).
    KeyValue,
    /// Any JSON value; strings inside may hold templates.
    Json,
    /// An RFC 3339 date-time, or a template producing one.
    Timestamp,
    /// A nested object with fields of its own.
    Object {
        fields: Vec<FieldSpec>,
    },
    /// The id of one of the user's connections for `provider` (a literal
    /// id: which account a step acts as is not decided at run time).
    Connection {
        provider: String,
    },
    /// A list of objects, each with the given fields.
    List {
        fields: Vec<FieldSpec>,
        max_items: usize,
    },
}

/// Constraints that span several fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum Rule {
    /// Exactly one of these fields must be set.
    ExactlyOneOf { fields: Vec<String> },
    /// Within the list field `list`, the values of `field` are unique,
    /// identifiers, and none of `reserved`.
    UniqueNames {
        list: String,
        field: String,
        reserved: Vec<String>,
    },
}

impl FieldSpec {
    pub fn new(name: &str, label: &str, ty: FieldType) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            label: label.into(),
            ty,
            required: false,
            help: String::new(),
            default: None,
        }
    }

    pub fn required(mut self) -> FieldSpec {
        self.required = true;
        self
    }

    pub fn help(mut self, help: &str) -> FieldSpec {
        self.help = help.into();
        self
    }

    pub fn default_value(mut self, value: Value) -> FieldSpec {
        self.default = Some(value);
        self
    }
}

impl FieldType {
    pub fn text() -> FieldType {
        FieldType::Text { multiline: false }
    }

    pub fn select(options: &[&str]) -> FieldType {
        FieldType::Select {
            options: options.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl KindSpec {
    pub fn is_trigger(&self) -> bool {
        self.category == Category::Trigger
    }

    /// The ports a node of this kind with `config` can fire, `error` excluded.
    pub fn ports(&self, config: &Value) -> Vec<String> {
        match &self.ports {
            Ports::Fixed(names) => names.clone(),
            Ports::SwitchCases => {
                let mut ports: Vec<String> = config
                    .get("cases")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|case| case.get("port").and_then(Value::as_str).map(str::to_owned))
                    .collect();
                ports.push("default".into());
                ports
            }
        }
    }

    /// Config paths (`["auth", "token"]`) whose values are credentials.
    pub fn secret_paths(&self) -> Vec<Vec<String>> {
        fn collect(fields: &[FieldSpec], prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            for field in fields {
                prefix.push(field.name.clone());
                match &field.ty {
                    FieldType::Secret => out.push(prefix.clone()),
                    FieldType::Object { fields } => collect(fields, prefix, out),
                    _ => {}
                }
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        collect(&self.fields, &mut Vec::new(), &mut out);
        out
    }

    /// Whether `port` is a port a node of this kind may fire.
    pub fn has_port(&self, config: &Value, port: &str, routes_errors: bool) -> bool {
        (routes_errors && port == ERROR_PORT) || self.ports(config).iter().any(|p| p == port)
    }
}

/// Convenience for the common single `out` port.
pub fn single_output() -> Ports {
    Ports::Fixed(vec![DEFAULT_PORT.into()])
}

/// Every kind the server knows, built-in and integrations alike.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    pub kinds: Vec<KindSpec>,
}

impl Catalogue {
    pub fn get(&self, kind: &str) -> Option<&KindSpec> {
        self.kinds.iter().find(|spec| spec.kind == kind)
    }
}
