//! Cell views and the rules for their properties.
//!
//! Properties are kept exactly as the client sent them (the raw JSON text, so
//! no field, order or number formatting is lost). We check only what InfluxDB's
//! decoder relies on: an object, `shape` of `chronograf-v2` (or `empty`), and a
//! known `type` whose collection fields have the right JSON kind.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Every chart type InfluxDB 2.x and its UI know.
pub const VIEW_TYPES: &[&str] = &[
    "xy",
    "line-plus-single-stat",
    "single-stat",
    "gauge",
    "table",
    "simple-table",
    "markdown",
    "scatter",
    "heatmap",
    "histogram",
    "mosaic",
    "band",
    "geo",
    "check",
    "log-viewer",
];

pub const CHRONOGRAF_V2: &str = "chronograf-v2";
const EMPTY_PROPERTIES: &str = r#"{"shape":"empty"}"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct View {
    pub name: String,
    pub properties: Box<RawValue>,
}

impl View {
    pub fn empty(name: String) -> View {
        View {
            name,
            properties: empty_properties(),
        }
    }
}

pub fn empty_properties() -> Box<RawValue> {
    // A literal valid object: the fallback never runs.
    RawValue::from_string(EMPTY_PROPERTIES.to_string()).unwrap_or_default()
}

/// Validates view properties and returns what is to be stored: the client's
/// bytes untouched when they already carry a shape, otherwise the same object
/// with `"shape":"chronograf-v2"` put first (clients always send it; InfluxDB
/// would silently turn a shapeless view into an empty one).
pub fn validate_properties(raw: &RawValue) -> Result<Box<RawValue>> {
    let value: Value = serde_json::from_str(raw.get())
        .map_err(|e| Error::invalid(format!("invalid view properties: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(Error::invalid("view properties must be a JSON object"));
    };
    match obj.get("shape") {
        Some(Value::String(s)) if s == "empty" => Ok(empty_properties()),
        Some(Value::String(s)) if s == CHRONOGRAF_V2 => {
            check_type(&obj)?;
            Ok(raw.to_owned())
        }
        None => {
            check_type(&obj)?;
            let mut with_shape = Map::with_capacity(obj.len() + 1);
            with_shape.insert("shape".into(), Value::String(CHRONOGRAF_V2.into()));
            with_shape.extend(obj);
            let text = serde_json::to_string(&with_shape).map_err(Error::internal)?;
            RawValue::from_string(text).map_err(Error::internal)
        }
        Some(other) => Err(Error::invalid(format!(
            "unknown view properties shape {other}; expected \"chronograf-v2\""
        ))),
    }
}

fn check_type(obj: &Map<String, Value>) -> Result<()> {
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(Error::invalid("view properties type must be a string")),
        None => return Err(Error::invalid("view properties must have a type")),
    };
    if !VIEW_TYPES.contains(&ty) {
        return Err(Error::invalid(format!(
            "unknown view properties type {ty:?}; expected one of {}",
            VIEW_TYPES.join(", ")
        )));
    }
    for field in ["queries", "colors", "fieldOptions"] {
        if let Some(v) = obj.get(field) {
            if !v.is_array() && !v.is_null() {
                return Err(Error::invalid(format!(
                    "view properties field {field} must be an array"
                )));
            }
        }
    }
    if let Some(Value::Array(queries)) = obj.get("queries") {
        if queries.iter().any(|q| !q.is_object()) {
            return Err(Error::invalid(
                "each of view properties queries must be an object",
            ));
        }
    }
    for field in ["note", "geom"] {
        if let Some(v) = obj.get(field) {
            if !v.is_string() {
                return Err(Error::invalid(format!(
                    "view properties field {field} must be a string"
                )));
            }
        }
    }
    if let Some(v) = obj.get("axes") {
        if !v.is_object() {
            return Err(Error::invalid(
                "view properties field axes must be an object",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).expect("test json")
    }

    #[test]
    fn keeps_bytes_exactly() {
        let text = r#"{"shape":"chronograf-v2","type":"xy","queries":[],"z":1.50,"a":{"b":[1e3]}}"#;
        assert_eq!(validate_properties(&raw(text)).expect("valid").get(), text);
    }

    #[test]
    fn adds_missing_shape_first() {
        let out = validate_properties(&raw(r#"{"type":"markdown","note":"hi"}"#)).expect("valid");
        assert_eq!(
            out.get(),
            r#"{"shape":"chronograf-v2","type":"markdown","note":"hi"}"#
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            r#"[]"#,
            r#"{"type":"pie"}"#,
            r#"{"shape":"x","type":"xy"}"#,
            r#"{"type":"xy","queries":{}}"#,
            r#"{"shape":"chronograf-v2"}"#,
        ] {
            assert!(validate_properties(&raw(bad)).is_err(), "{bad}");
        }
    }
}
