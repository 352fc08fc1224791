//! From a parsed document to an [`ApiDescription`]: operations to
//! actions, parameters and body properties to fields placed where the
//! API expects them, the security scheme and the base URL.

use std::collections::HashSet;

use model::{FieldSpec, FieldType};
use oas3::spec::{
    MediaType, Operation as SpecOperation, Parameter, ParameterIn, SecurityScheme, Spec,
};

use super::{
    ApiDescription, BodyEncoding, ImportError, ImportedAuth, Operation, Skipped,
    schema::{self, RefProblem},
};
use crate::providers::{ActionField, Place, Text};

/// Most operations one import may hold.
const MAX_OPERATIONS: usize = 5_000;
/// Most fields of one operation's form.
const MAX_FIELDS: usize = 200;
/// Most declared output fields of one operation.
const MAX_OUTPUTS: usize = 100;
/// Names no action may take: they are the provider's own kinds.
const RESERVED: &[&str] = &["request", "trigger"];
/// Headers the connection and the request body set themselves.
const MANAGED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "content-length",
    "accept",
    "host",
];

/// Describes a parsed document as the API `id`, named `name` or by its title.
pub fn describe(spec: &Spec, id: &str, name: Option<&str>) -> Result<ApiDescription, ImportError> {
    let mut operations = Vec::new();
    let mut skipped = Vec::new();
    let mut names = HashSet::new();
    for (path, method, operation) in spec.operations() {
        if operations.len() >= MAX_OPERATIONS {
            return Err(ImportError::at(
                "paths",
                format!("the document has more than {MAX_OPERATIONS} operations"),
            ));
        }
        let method = method.as_str().to_owned();
        let at = format!("paths.{path}.{}", method.to_ascii_lowercase());
        let params = path_parameters(spec, &path);
        match operation_of(spec, &path, &method, operation, params, &at)? {
            Built::Operation(mut op) => {
                op.name = unique(op.name, &mut names);
                operations.push(op);
            }
            Built::Skipped(reason) => skipped.push(Skipped {
                operation: format!("{method} {path}"),
                reason,
            }),
        }
    }
    let title = spec.info.title.trim();
    Ok(ApiDescription {
        id: id.to_owned(),
        name: name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(if title.is_empty() { id } else { title })
            .chars()
            .take(80)
            .collect(),
        version: spec.info.version.chars().take(40).collect(),
        openapi: spec.openapi.clone(),
        docs: spec
            .external_docs
            .as_ref()
            .map(|d| d.url.to_string())
            .unwrap_or_default(),
        base_url: base_url(spec)?,
        auth: auth(spec)?,
        operations,
        skipped,
    })
}

/// The path item's own parameters, shared by its operations.
fn path_parameters<'s>(
    spec: &'s Spec,
    path: &str,
) -> &'s [oas3::spec::ObjectOrReference<Parameter>] {
    spec.paths
        .as_ref()
        .and_then(|paths| paths.get(path))
        .map_or(&[], |item| item.parameters.as_slice())
}

enum Built {
    Operation(Operation),
    Skipped(String),
}

fn located(at: &str) -> impl Fn(RefProblem) -> ImportError + '_ {
    move |problem| ImportError::at(at, problem)
}

fn operation_of(
    spec: &Spec,
    path: &str,
    method: &str,
    operation: &SpecOperation,
    shared: &[oas3::spec::ObjectOrReference<Parameter>],
    at: &str,
) -> Result<Built, ImportError> {
    let mut fields: Vec<ActionField> = Vec::new();
    // The operation's parameters override the path item's of the same name and place.
    let mut parameters: Vec<(&Parameter, String)> = Vec::new();
    for (index, item) in operation.parameters.iter().enumerate() {
        let param_at = format!("{at}.parameters[{index}]");
        let param = schema::component(spec, item, "parameters", |c| &c.parameters)
            .map_err(located(&param_at))?;
        parameters.push((param, param_at));
    }
    for (index, item) in shared.iter().enumerate() {
        let param_at = format!("paths.{path}.parameters[{index}]");
        let param = schema::component(spec, item, "parameters", |c| &c.parameters)
            .map_err(located(&param_at))?;
        if !parameters
            .iter()
            .any(|(p, _)| p.name == param.name && p.location == param.location)
        {
            parameters.push((param, param_at));
        }
    }
    for (param, param_at) in parameters {
        let place = match param.location {
            ParameterIn::Path => Place::Path,
            ParameterIn::Query => Place::Query,
            ParameterIn::Header
                if MANAGED_HEADERS.contains(&param.name.to_ascii_lowercase().as_str()) =>
            {
                continue;
            }
            ParameterIn::Header => Place::Header(Text::Owned(param.name.clone())),
            ParameterIn::Cookie => continue,
        };
        let (ty, about) = match &param.schema {
            Some(s) => {
                match schema::resolve(spec, s).map_err(located(&format!("{param_at}.schema")))? {
                    Some(object) => (schema::field_type(spec, object), schema::describe(object)),
                    None => (FieldType::text(), String::new()),
                }
            }
            None => (FieldType::Json, String::new()),
        };
        let help = param
            .description
            .as_deref()
            .map(schema::short)
            .filter(|h| !h.is_empty())
            .unwrap_or(about);
        let required = param.required.unwrap_or(false) || param.location == ParameterIn::Path;
        push_field(&mut fields, &param.name, ty, required, help, place);
    }
    for name in template_names(path) {
        if !fields
            .iter()
            .any(|f| f.place == Place::Path && f.spec.name == name)
        {
            push_field(
                &mut fields,
                &name,
                FieldType::text(),
                true,
                String::new(),
                Place::Path,
            );
        }
    }

    let mut body = BodyEncoding::None;
    if let Some(item) = &operation.request_body {
        let body_at = format!("{at}.requestBody");
        let request = schema::component(spec, item, "requestBodies", |c| &c.request_bodies)
            .map_err(located(&body_at))?;
        let Some((encoding, media_type, media)) = pick_media(&request.content) else {
            let types: Vec<&str> = request.content.keys().map(String::as_str).collect();
            return Ok(Built::Skipped(format!(
                "its request body is {}, which steps cannot send (use the custom API call)",
                types.join(", ")
            )));
        };
        body = encoding;
        let media_at = format!("{body_at}.content.{media_type}.schema");
        let required = request.required.unwrap_or(false);
        body_fields(spec, media, required, &media_at, &mut fields)?;
    }

    let output = match success_schema(spec, operation, at)? {
        Some((schema, response_at)) => {
            schema::output_fields(spec, schema, MAX_OUTPUTS).map_err(located(&response_at))?
        }
        None => Vec::new(),
    };
    fields.truncate(MAX_FIELDS);

    let name = operation
        .operation_id
        .as_deref()
        .map(snake_case)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| snake_case(&format!("{method} {path}")));
    let label = operation
        .summary
        .as_deref()
        .map(schema::short)
        .filter(|s| !s.is_empty())
        .or_else(|| operation.operation_id.clone())
        .unwrap_or_else(|| format!("{method} {path}"));
    Ok(Built::Operation(Operation {
        name,
        label: label.chars().take(100).collect(),
        description: operation
            .description
            .as_deref()
            .or(operation.summary.as_deref())
            .map(schema::short)
            .unwrap_or_default(),
        method: method.to_owned(),
        path: path.to_owned(),
        body,
        fields,
        output,
    }))
}

/// The request body's properties as fields; a body that is not an object
/// with properties is one JSON field sent as the whole body.
fn body_fields(
    spec: &Spec,
    media: &MediaType,
    required: bool,
    at: &str,
    fields: &mut Vec<ActionField>,
) -> Result<(), ImportError> {
    let object = match &media.schema {
        Some(s) => schema::resolve(spec, s).map_err(located(at))?,
        None => None,
    };
    let Some(object) = object.filter(|o| schema::is_object(spec, o)) else {
        push_field(
            fields,
            "body",
            FieldType::Json,
            required,
            "The request body.".into(),
            Place::BodyWhole,
        );
        return Ok(());
    };
    let (properties, required_names) = schema::properties(spec, object).map_err(located(at))?;
    if properties.is_empty() {
        push_field(
            fields,
            "body",
            FieldType::Json,
            required,
            "The request body.".into(),
            Place::BodyWhole,
        );
        return Ok(());
    }
    for (name, property) in properties {
        let prop_at = format!("{at}.properties.{name}");
        let Some(prop) = schema::resolve(spec, property).map_err(located(&prop_at))? else {
            continue;
        };
        if prop.read_only == Some(true) {
            continue;
        }
        push_field(
            fields,
            name,
            schema::field_type(spec, prop),
            required_names.contains(&name),
            schema::describe(prop),
            Place::Body,
        );
    }
    Ok(())
}

/// Adds a field; a name already taken (a query `id` and a body `id`) is
/// prefixed with where the value goes, and sent under its own name.
fn push_field(
    fields: &mut Vec<ActionField>,
    name: &str,
    ty: FieldType,
    required: bool,
    help: String,
    place: Place,
) {
    let taken = |candidate: &str| {
        fields.iter().any(|f| f.spec.name == candidate) || candidate == "connection"
    };
    let (field_name, place) = if !taken(name) {
        (name.to_owned(), place)
    } else {
        let (prefix, renamed) = match place {
            Place::Query => ("query", Place::QueryAs(Text::Owned(name.to_owned()))),
            Place::Body => ("body", Place::BodyAs(Text::Owned(name.to_owned()))),
            Place::Header(header) => ("header", Place::Header(header)),
            // Path names are unique by construction; nothing else repeats.
            _ => return,
        };
        let renamed_name = format!("{prefix}_{name}");
        if taken(&renamed_name) {
            return;
        }
        (renamed_name, renamed)
    };
    let label = humanize(&field_name);
    let mut spec = FieldSpec::new(&field_name, &label, ty).help(&help);
    if required {
        spec = spec.required();
    }
    fields.push(ActionField::new(spec, place));
}

/// The body encoding steps can send, preferring JSON.
fn pick_media(content: &oas3::Map<String, MediaType>) -> Option<(BodyEncoding, &str, &MediaType)> {
    let find = |wanted: fn(&str) -> bool| {
        content
            .iter()
            .find(|(media_type, _)| wanted(media_type.split(';').next().unwrap_or("").trim()))
            .map(|(t, m)| (t.as_str(), m))
    };
    if let Some((t, m)) = find(|t| t == "application/json" || t.ends_with("+json") || t == "*/*") {
        return Some((BodyEncoding::Json, t, m));
    }
    find(|t| t == "application/x-www-form-urlencoded").map(|(t, m)| (BodyEncoding::Form, t, m))
}

/// The JSON schema of the first successful response.
fn success_schema<'s>(
    spec: &'s Spec,
    operation: &'s SpecOperation,
    at: &str,
) -> Result<Option<(&'s oas3::spec::Schema, String)>, ImportError> {
    let Some(responses) = &operation.responses else {
        return Ok(None);
    };
    let success = responses
        .iter()
        .find(|(code, _)| code.starts_with('2'))
        .or_else(|| {
            responses
                .iter()
                .find(|(code, _)| code.as_str() == "default")
        });
    let Some((code, item)) = success else {
        return Ok(None);
    };
    let response_at = format!("{at}.responses.{code}");
    let response = schema::component(spec, item, "responses", |c| &c.responses)
        .map_err(located(&response_at))?;
    let json = response.content.iter().find(|(t, _)| {
        let t = t.split(';').next().unwrap_or("").trim();
        t == "application/json" || t.ends_with("+json")
    });
    Ok(json.and_then(|(t, media)| {
        media
            .schema
            .as_ref()
            .map(|s| (s, format!("{response_at}.content.{t}.schema")))
    }))
}

/// The first server's URL with its variables' defaults; empty when it
/// is relative (or there is none): each connection then names its own.
fn base_url(spec: &Spec) -> Result<String, ImportError> {
    let Some(server) = spec.servers.first() else {
        return Ok(String::new());
    };
    let mut url = server.url.trim().to_owned();
    for (name, variable) in &server.variables {
        url = url.replace(&format!("{{{name}}}"), &variable.default);
    }
    if url.contains('{') {
        return Err(ImportError::at(
            "servers[0].url",
            format!(
                "`{}` uses a variable that `variables` does not define",
                server.url
            ),
        ));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Ok(String::new())
    }
}

/// The scheme the document asks for first (globally, else by an
/// operation, else the first it defines), as a connection's auth.
fn auth(spec: &Spec) -> Result<ImportedAuth, ImportError> {
    let Some(components) = &spec.components else {
        return Ok(ImportedAuth::None);
    };
    let schemes = &components.security_schemes;
    let wanted = spec
        .security
        .iter()
        .chain(
            spec.operations()
                .flat_map(|(_, _, op)| op.security.iter())
                .take(1000),
        )
        .flat_map(|requirement| requirement.0.keys())
        .find(|name| schemes.contains_key(name.as_str()))
        .cloned()
        .or_else(|| schemes.keys().next().cloned());
    let Some(name) = wanted else {
        return Ok(ImportedAuth::None);
    };
    let at = format!("components.securitySchemes.{name}");
    let item = &schemes[name.as_str()];
    let scheme = schema::component(spec, item, "securitySchemes", |c| &c.security_schemes)
        .map_err(located(&at))?;
    Ok(match scheme {
        SecurityScheme::ApiKey { name, location, .. } => match location.as_str() {
            "query" => ImportedAuth::Query {
                param: name.clone(),
            },
            "header" => ImportedAuth::Header { name: name.clone() },
            other => {
                return Err(ImportError::at(
                    format!("{at}.in"),
                    format!("API keys in `{other}` are not supported (header or query are)"),
                ));
            }
        },
        SecurityScheme::Http { scheme, .. } if scheme.eq_ignore_ascii_case("basic") => {
            ImportedAuth::Basic
        }
        SecurityScheme::Http { .. }
        | SecurityScheme::OAuth2 { .. }
        | SecurityScheme::OpenIdConnect { .. } => ImportedAuth::Bearer,
        SecurityScheme::MutualTls { .. } => ImportedAuth::None,
    })
}

/// `{customer}` names in a path template.
fn template_names(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .filter(|name| !name.is_empty())
        .collect()
}

/// `PostCustomersCustomer` → `post_customers_customer`; `issues/create`
/// → `issues_create`.
fn snake_case(text: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            let boundary = c.is_ascii_uppercase()
                && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        previous = Some(c);
    }
    let out = out.trim_matches('_');
    let out: String = out.chars().take(80).collect();
    match out.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("op_{out}"),
        _ => out,
    }
}

/// A unique action name: a repeated one gets `_2`, `_3`, …
fn unique(name: String, names: &mut HashSet<String>) -> String {
    let base = if RESERVED.contains(&name.as_str()) {
        format!("{name}_operation")
    } else {
        name
    };
    let mut candidate = base.clone();
    let mut n = 2;
    while !names.insert(candidate.clone()) {
        candidate = format!("{base}_{n}");
        n += 1;
    }
    candidate
}

/// `starting_after` → `Starting after`.
fn humanize(name: &str) -> String {
    let spaced: String = name
        .chars()
        .map(|c| {
            if c == '_' || c == '-' || c == '.' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let spaced = spaced.trim();
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn names_are_snake_case_and_unique() {
        assert_eq!(
            snake_case("PostCustomersCustomer"),
            "post_customers_customer"
        );
        assert_eq!(snake_case("issues/create-comment"), "issues_create_comment");
        assert_eq!(
            snake_case("GET /v1/customers/{customer}"),
            "get_v1_customers_customer"
        );
        assert_eq!(snake_case("2fa.enable"), "op_2fa_enable");
        let mut names = HashSet::new();
        assert_eq!(unique("list".into(), &mut names), "list");
        assert_eq!(unique("list".into(), &mut names), "list_2");
        assert_eq!(unique("request".into(), &mut names), "request_operation");
    }

    #[test]
    fn template_names_are_read_from_paths() {
        assert_eq!(
            template_names("/repos/{owner}/{repo}/issues"),
            ["owner", "repo"]
        );
        assert!(template_names("/v1/customers").is_empty());
    }
}
