//! Reading schemas of an OpenAPI document: following `$ref`s (by
//! reference, without copying the document's trees, and with a bound so
//! that a cycle of references ends), merging `allOf`, and turning a
//! property into a form field type or an output field.

use model::{FieldType, OutputField};
use oas3::spec::{ObjectOrReference, ObjectSchema, Schema, SchemaType, SchemaTypeSet, Spec};

/// How many references are followed in a row before giving up: a chain
/// this long is a cycle.
const MAX_REFS: usize = 32;
/// How deep `allOf` is merged.
const MAX_ALL_OF: usize = 8;
/// Longest help text kept from a description.
pub const MAX_HELP: usize = 300;

/// Why a reference cannot be followed.
pub type RefProblem = String;

/// The component `#/components/<kind>/<name>` names, or why it cannot be read.
fn component_name<'r>(reference: &'r str, kind: &str) -> Result<&'r str, RefProblem> {
    let prefix = format!("#/components/{kind}/");
    reference
        .strip_prefix(&prefix)
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            if reference.starts_with('#') {
                format!("`{reference}` is not a reference to components/{kind}")
            } else {
                format!(
                    "`{reference}` points outside the document (only local references are read)"
                )
            }
        })
}

/// The schema behind `schema`, following references; `None` for boolean schemas.
pub fn resolve<'s>(
    spec: &'s Spec,
    schema: &'s Schema,
) -> Result<Option<&'s ObjectSchema>, RefProblem> {
    let mut current = schema;
    for _ in 0..MAX_REFS {
        match current {
            Schema::Boolean(_) => return Ok(None),
            Schema::Object(inner) => match inner.as_ref() {
                ObjectOrReference::Object(object) => return Ok(Some(object)),
                ObjectOrReference::Ref { ref_path, .. } => {
                    let name = component_name(ref_path, "schemas")?;
                    current = spec
                        .components
                        .as_ref()
                        .and_then(|c| c.schemas.get(name))
                        .ok_or_else(|| format!("`{ref_path}` does not exist"))?;
                }
            },
        }
    }
    Err("the schema's references go round in a cycle".into())
}

/// An object or one of the document's components of that kind.
pub fn component<'s, T>(
    spec: &'s Spec,
    item: &'s ObjectOrReference<T>,
    kind: &str,
    of: impl Fn(&'s oas3::spec::Components) -> &'s oas3::Map<String, ObjectOrReference<T>>,
) -> Result<&'s T, RefProblem> {
    let mut current = item;
    for _ in 0..MAX_REFS {
        match current {
            ObjectOrReference::Object(object) => return Ok(object),
            ObjectOrReference::Ref { ref_path, .. } => {
                let name = component_name(ref_path, kind)?;
                current = spec
                    .components
                    .as_ref()
                    .and_then(|c| of(c).get(name))
                    .ok_or_else(|| format!("`{ref_path}` does not exist"))?;
            }
        }
    }
    Err(format!("the {kind} references go round in a cycle"))
}

/// Properties by name, in the document's order, and the required names.
pub type Properties<'s> = (Vec<(&'s str, &'s Schema)>, Vec<&'s str>);

/// The properties of an object schema with those of its `allOf` parts,
/// and which of them are required. Properties keep the document's order.
pub fn properties<'s>(
    spec: &'s Spec,
    object: &'s ObjectSchema,
) -> Result<Properties<'s>, RefProblem> {
    let mut found = Vec::new();
    let mut required = Vec::new();
    collect(spec, object, 0, &mut found, &mut required)?;
    Ok((found, required))
}

fn collect<'s>(
    spec: &'s Spec,
    object: &'s ObjectSchema,
    depth: usize,
    found: &mut Vec<(&'s str, &'s Schema)>,
    required: &mut Vec<&'s str>,
) -> Result<(), RefProblem> {
    if depth > MAX_ALL_OF {
        return Err("`allOf` is nested too deeply (or refers to itself)".into());
    }
    for part in &object.all_of {
        if let Some(part) = resolve(spec, part)? {
            collect(spec, part, depth + 1, found, required)?;
        }
    }
    for (name, schema) in &object.properties {
        if !found.iter().any(|(seen, _)| *seen == name.as_str()) {
            found.push((name.as_str(), schema));
        }
    }
    required.extend(object.required.iter().map(String::as_str));
    Ok(())
}

/// The single type a schema declares, leaving `null` aside (`[string, null]`).
pub fn main_type(object: &ObjectSchema) -> Option<SchemaType> {
    match object.schema_type.as_ref()? {
        SchemaTypeSet::Single(single) => Some(*single),
        SchemaTypeSet::Multiple(several) => {
            let mut types = several.iter().filter(|t| **t != SchemaType::Null);
            match (types.next(), types.next()) {
                (Some(only), None) => Some(*only),
                _ => None,
            }
        }
    }
}

/// Whether a schema describes an object (declared, or implied by properties).
pub fn is_object(spec: &Spec, object: &ObjectSchema) -> bool {
    match main_type(object) {
        Some(SchemaType::Object) => true,
        Some(_) => false,
        None => {
            !object.properties.is_empty()
                || object
                    .all_of
                    .iter()
                    .any(|part| matches!(resolve(spec, part), Ok(Some(p)) if is_object(spec, p)))
        }
    }
}

/// The form field type for a value of this schema.
pub fn field_type(spec: &Spec, object: &ObjectSchema) -> FieldType {
    let strings = |values: &[serde_json::Value]| -> Option<Vec<String>> {
        let options: Vec<String> = values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .filter(|v| !v.is_empty())
            .collect();
        (!options.is_empty() && options.len() == values.iter().filter(|v| !v.is_null()).count())
            .then_some(options)
    };
    match main_type(object) {
        Some(SchemaType::String) => {
            if let Some(options) = strings(&object.enum_values) {
                return FieldType::Select { options };
            }
            match object.format.as_deref() {
                Some("date-time") => FieldType::Timestamp,
                Some("uri" | "url") => FieldType::Url,
                Some("password") => FieldType::Secret,
                _ => FieldType::text(),
            }
        }
        Some(SchemaType::Integer) => FieldType::Integer {
            min: bound(object.minimum.as_ref()).unwrap_or(i64::MIN),
            max: bound(object.maximum.as_ref()).unwrap_or(i64::MAX),
        },
        Some(SchemaType::Boolean) => FieldType::Boolean,
        Some(SchemaType::Array) => {
            let items = object
                .items
                .as_deref()
                .and_then(|items| resolve(spec, items).ok().flatten());
            match items {
                Some(items) if main_type(items) == Some(SchemaType::String) => {
                    match strings(&items.enum_values) {
                        Some(options) => FieldType::MultiSelect { options },
                        None => FieldType::Json,
                    }
                }
                _ => FieldType::Json,
            }
        }
        Some(SchemaType::Object) if object.properties.is_empty() && string_values(spec, object) => {
            FieldType::KeyValue
        }
        _ => FieldType::Json,
    }
}

/// An object of string values only (`metadata`).
fn string_values(spec: &Spec, object: &ObjectSchema) -> bool {
    object
        .additional_properties
        .as_ref()
        .and_then(|extra| resolve(spec, extra).ok().flatten())
        .is_some_and(|extra| main_type(extra) == Some(SchemaType::String))
}

fn bound(number: Option<&serde_json::Number>) -> Option<i64> {
    let number = number?;
    number.as_i64().or_else(|| {
        number
            .as_f64()
            .map(|f| f.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
    })
}

/// The type name the variable picker shows.
pub fn type_name(spec: &Spec, object: &ObjectSchema) -> &'static str {
    match main_type(object) {
        Some(SchemaType::String) => "string",
        Some(SchemaType::Integer) => "integer",
        Some(SchemaType::Number) => "number",
        Some(SchemaType::Boolean) => "boolean",
        Some(SchemaType::Array) => "array",
        Some(SchemaType::Object) => "object",
        _ if is_object(spec, object) => "object",
        _ => "any",
    }
}

/// The output fields of a response schema: its top-level properties.
pub fn output_fields(
    spec: &Spec,
    schema: &Schema,
    limit: usize,
) -> Result<Vec<OutputField>, RefProblem> {
    let Some(mut object) = resolve(spec, schema)? else {
        return Ok(Vec::new());
    };
    if !is_object(spec, object) {
        // `anyOf: [customer, deleted_customer]`: the first object is what
        // a successful call usually answers.
        let variants = object.any_of.iter().chain(&object.one_of);
        let mut first_object = None;
        for variant in variants {
            if let Some(candidate) = resolve(spec, variant)?
                && is_object(spec, candidate)
            {
                first_object = Some(candidate);
                break;
            }
        }
        match first_object {
            Some(found) => object = found,
            None => return Ok(Vec::new()),
        }
    }
    let (props, _) = properties(spec, object)?;
    let mut fields = Vec::new();
    for (name, schema) in props.into_iter().take(limit) {
        let (ty, about) = match resolve(spec, schema)? {
            Some(prop) => (type_name(spec, prop), describe(prop)),
            None => ("any", String::new()),
        };
        fields.push(OutputField::new(name, ty, &about));
    }
    Ok(fields)
}

/// A schema's description (or title), cut to a help text's length.
pub fn describe(object: &ObjectSchema) -> String {
    let text = object
        .description
        .as_deref()
        .or(object.title.as_deref())
        .unwrap_or("");
    short(text)
}

/// The first paragraph of a text, without markup line breaks, at most
/// [`MAX_HELP`] characters.
pub fn short(text: &str) -> String {
    let first = text.trim().split("\n\n").next().unwrap_or("");
    let flat = first.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_HELP {
        return flat;
    }
    let mut cut: String = flat.chars().take(MAX_HELP - 1).collect();
    cut.push('…');
    cut
}
