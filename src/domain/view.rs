//! Cell views and the rules for their properties.
//!
//! Properties are kept exactly as the client sent them (the raw JSON text, so
//! no field, order or number formatting is lost). We check only what InfluxDB's
//! decoder relies on: an object, `shape` of `chronograf-v2` (or `empty`), and a
//! known `type` whose collection fields have the right JSON kind.

use crate::error::{Error, Result};
use serde::de::{MapAccess, SeqAccess, Visitor};
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
    // One pass of the parser that keeps only what the rules look at: a view
    // is kilobytes of nested JSON, and building a `Value` tree of it cost a
    // fifth of a view PATCH. The parser is serde_json's either way, so the
    // same text is rejected with the same message.
    let Top(Some(fields)) = parsed(raw)? else {
        return Err(Error::invalid("view properties must be a JSON object"));
    };
    match &fields.shape {
        Some(Kind::Str(s)) if s == "empty" => Ok(empty_properties()),
        Some(Kind::Str(s)) if s == CHRONOGRAF_V2 => {
            fields.check()?;
            Ok(raw.to_owned())
        }
        None => {
            fields.check()?;
            with_shape_first(raw)
        }
        // Rare: parsed again to show the value as the client wrote it.
        Some(_) => {
            let other = parsed::<Map<String, Value>>(raw)?
                .get("shape")
                .cloned()
                .unwrap_or_default();
            Err(Error::invalid(format!(
                "unknown view properties shape {other}; expected \"chronograf-v2\""
            )))
        }
    }
}

fn parsed<T: serde::de::DeserializeOwned>(raw: &RawValue) -> Result<T> {
    serde_json::from_str(raw.get())
        .map_err(|e| Error::invalid(format!("invalid view properties: {e}")))
}

/// The same object with `"shape":"chronograf-v2"` as its first field.
fn with_shape_first(raw: &RawValue) -> Result<Box<RawValue>> {
    let obj: Map<String, Value> = parsed(raw)?;
    let mut with_shape = Map::with_capacity(obj.len() + 1);
    with_shape.insert("shape".into(), Value::String(CHRONOGRAF_V2.into()));
    with_shape.extend(obj);
    let text = serde_json::to_string(&with_shape).map_err(Error::internal)?;
    RawValue::from_string(text).map_err(Error::internal)
}

/// Visitor methods that accept every JSON scalar as `$v`.
macro_rules! scalars {
    ($v:expr) => {
        fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
    };
}
/// The top-level fields the rules look at (the last of a repeated key wins,
/// as in a parsed object); `None` when the document is not an object.
struct Top(Option<Fields>);

#[derive(Default)]
struct Fields {
    shape: Option<Kind>,
    ty: Option<Kind>,
    queries: Option<Kind>,
    colors: Option<Kind>,
    field_options: Option<Kind>,
    note: Option<Kind>,
    geom: Option<Kind>,
    axes: Option<Kind>,
}

/// The JSON kind of a field's value, with a string's text.
enum Kind {
    Null,
    Scalar,
    Str(String),
    Array { objects_only: bool },
    Object,
}

impl Fields {
    fn check(&self) -> Result<()> {
        let ty = match &self.ty {
            Some(Kind::Str(t)) => t.as_str(),
            Some(_) => return Err(Error::invalid("view properties type must be a string")),
            None => return Err(Error::invalid("view properties must have a type")),
        };
        if !VIEW_TYPES.contains(&ty) {
            return Err(Error::invalid(format!(
                "unknown view properties type {ty:?}; expected one of {}",
                VIEW_TYPES.join(", ")
            )));
        }
        for (field, v) in [
            ("queries", &self.queries),
            ("colors", &self.colors),
            ("fieldOptions", &self.field_options),
        ] {
            if !matches!(v, None | Some(Kind::Null) | Some(Kind::Array { .. })) {
                return Err(Error::invalid(format!(
                    "view properties field {field} must be an array"
                )));
            }
        }
        if let Some(Kind::Array {
            objects_only: false,
        }) = &self.queries
        {
            return Err(Error::invalid(
                "each of view properties queries must be an object",
            ));
        }
        for (field, v) in [("note", &self.note), ("geom", &self.geom)] {
            if !matches!(v, None | Some(Kind::Str(_))) {
                return Err(Error::invalid(format!(
                    "view properties field {field} must be a string"
                )));
            }
        }
        if !matches!(self.axes, None | Some(Kind::Object)) {
            return Err(Error::invalid(
                "view properties field axes must be an object",
            ));
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Top;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Top, A::Error> {
                let mut fields = Fields::default();
                while let Some(name) = map.next_key::<FieldName>()? {
                    let slot = match name {
                        FieldName::Shape => &mut fields.shape,
                        FieldName::Type => &mut fields.ty,
                        FieldName::Queries => &mut fields.queries,
                        FieldName::Colors => &mut fields.colors,
                        FieldName::FieldOptions => &mut fields.field_options,
                        FieldName::Note => &mut fields.note,
                        FieldName::Geom => &mut fields.geom,
                        FieldName::Axes => &mut fields.axes,
                        FieldName::Other => {
                            map.next_value::<Checked>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value::<Kind>()?);
                }
                Ok(Top(Some(fields)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Top, A::Error> {
                consume_seq(seq)?;
                Ok(Top(None))
            }
            scalars!(Top(None));
        }
        d.deserialize_any(V)
    }
}

/// A top-level key, as the rules know it.
enum FieldName {
    Shape,
    Type,
    Queries,
    Colors,
    FieldOptions,
    Note,
    Geom,
    Axes,
    Other,
}

impl<'de> Deserialize<'de> for FieldName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FieldName;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<FieldName, E> {
                Ok(match s {
                    "shape" => FieldName::Shape,
                    "type" => FieldName::Type,
                    "queries" => FieldName::Queries,
                    "colors" => FieldName::Colors,
                    "fieldOptions" => FieldName::FieldOptions,
                    "note" => FieldName::Note,
                    "geom" => FieldName::Geom,
                    "axes" => FieldName::Axes,
                    _ => FieldName::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Kind;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> std::result::Result<Kind, E> {
                Ok(Kind::Null)
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Kind, E> {
                Ok(Kind::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Kind, E> {
                Ok(Kind::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Kind, E> {
                Ok(Kind::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Kind, E> {
                Ok(Kind::Scalar)
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Kind, E> {
                Ok(Kind::Str(s.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Kind, A::Error> {
                let mut objects_only = true;
                while let Some(Checked(o)) = seq.next_element()? {
                    objects_only &= o;
                }
                Ok(Kind::Array { objects_only })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Kind, A::Error> {
                consume_map(map)?;
                Ok(Kind::Object)
            }
        }
        d.deserialize_any(V)
    }
}

/// Any JSON value, checked as a parse would and then dropped; true when it
/// was an object.
struct Checked(bool);

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Checked;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Checked, A::Error> {
                consume_map(map)?;
                Ok(Checked(true))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<Checked, A::Error> {
                consume_seq(seq)?;
                Ok(Checked(false))
            }
            scalars!(Checked(false));
        }
        d.deserialize_any(V)
    }
}

fn consume_map<'de, A: MapAccess<'de>>(mut map: A) -> std::result::Result<(), A::Error> {
    while map.next_entry::<Checked, Checked>()?.is_some() {}
    Ok(())
}

fn consume_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> std::result::Result<(), A::Error> {
    while seq.next_element::<Checked>()?.is_some() {}
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

    /// The rules as they read on a parsed `Value`: the shallow pass must
    /// agree with them on every input, error messages included.
    fn on_value(text: &str) -> std::result::Result<String, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("invalid view properties: {e}"))?;
        let Value::Object(obj) = value else {
            return Err("view properties must be a JSON object".into());
        };
        let check = |obj: &Map<String, Value>| -> std::result::Result<(), String> {
            match obj.get("type") {
                Some(Value::String(t)) if VIEW_TYPES.contains(&t.as_str()) => {}
                Some(Value::String(t)) => {
                    return Err(format!(
                        "unknown view properties type {t:?}; expected one of {}",
                        VIEW_TYPES.join(", ")
                    ))
                }
                Some(_) => return Err("view properties type must be a string".into()),
                None => return Err("view properties must have a type".into()),
            }
            for f in ["queries", "colors", "fieldOptions"] {
                if obj.get(f).is_some_and(|v| !v.is_array() && !v.is_null()) {
                    return Err(format!("view properties field {f} must be an array"));
                }
            }
            if let Some(Value::Array(q)) = obj.get("queries") {
                if q.iter().any(|q| !q.is_object()) {
                    return Err("each of view properties queries must be an object".into());
                }
            }
            for f in ["note", "geom"] {
                if obj.get(f).is_some_and(|v| !v.is_string()) {
                    return Err(format!("view properties field {f} must be a string"));
                }
            }
            if obj.get("axes").is_some_and(|v| !v.is_object()) {
                return Err("view properties field axes must be an object".into());
            }
            Ok(())
        };
        match obj.get("shape") {
            Some(Value::String(s)) if s == "empty" => Ok(EMPTY_PROPERTIES.into()),
            Some(Value::String(s)) if s == CHRONOGRAF_V2 => check(&obj).map(|_| text.to_string()),
            None => {
                check(&obj)?;
                let mut m = Map::new();
                m.insert("shape".into(), Value::String(CHRONOGRAF_V2.into()));
                m.extend(obj);
                Ok(serde_json::to_string(&m).expect("json"))
            }
            Some(other) => Err(format!(
                "unknown view properties shape {other}; expected \"chronograf-v2\""
            )),
        }
    }

    #[test]
    fn agrees_with_the_rules_on_a_parsed_value() {
        let mut cases: Vec<String> = std::fs::read_dir("tests/fixtures/views")
            .expect("fixtures")
            .map(|e| {
                std::fs::read_to_string(e.expect("entry").path())
                    .expect("fixture")
                    .trim()
                    .to_string()
            })
            .collect();
        assert!(cases.len() >= 5, "view fixtures found");
        for text in [
            r#"{"shape":"chronograf-v2","type":"xy","type":"pie"}"#,
            r#"{"shape":"chronograf-v2","type":"pie","type":"xy"}"#,
            r#"{"\u0073hape":"chronograf-v2","type":"xy"}"#,
            r#"{"shape":"chronograf-v2","type":"xy","queries":[{"a":[1,{"b":null}]},[]]}"#,
            r#"{"shape":"chronograf-v2","type":"xy","queries":[{},{}],"colors":null,"fieldOptions":[]}"#,
            r#"{"shape":"chronograf-v2","type":"xy","colors":{}}"#,
            r#"{"shape":"chronograf-v2","type":"markdown","note":1}"#,
            r#"{"shape":"chronograf-v2","type":"geo","geom":"circle","axes":[]}"#,
            r#"{"shape":"chronograf-v2","type":"xy","x":1e400}"#,
            r#"{"shape":"chronograf-v2","type":"xy","x":[1,2,}"#,
            r#"{"shape":{"a":[1]},"type":"xy"}"#,
            r#"{"shape":12.50,"type":"xy"}"#,
            r#"{"shape":"empty","anything":[true]}"#,
            r#"{"type":"table","queries":[],"z":{"deep":[[[1]]]}}"#,
            r#"{"type":7}"#,
            r#""xy""#,
            r#"[{"shape":"chronograf-v2"}]"#,
            r#"null"#,
            r#"{"shape":"chronograf-v2","type":"xy"} x"#,
        ] {
            cases.push(text.to_string());
        }
        for text in &cases {
            let shallow = match RawValue::from_string(text.clone()) {
                Ok(raw) => validate_properties(&raw)
                    .map(|r| r.get().to_string())
                    .map_err(|e| e.message),
                // Not a JSON document at all: the parse of either fails alike.
                Err(_) => continue,
            };
            assert_eq!(shallow, on_value(text), "{text}");
        }
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
