//! Reading loosely typed template fields the way pkger's `Resource` does:
//! a field of the wrong type reads as its zero value, numbers read as
//! strings, and `{envRef: {key, default}}` stands in for a value.

use serde_json::{Map, Number, Value};
use std::collections::{BTreeMap, HashMap};

pub type Resource = Map<String, Value>;

pub fn as_resource(v: &Value) -> Option<&Resource> {
    v.as_object()
}

/// A string for strings and numbers (ints as digits, floats in shortest
/// plain form), nothing for anything else (pkger's `ifaceToStr`).
pub fn value_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(number_str(n)),
        _ => None,
    }
}

fn number_str(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    // Rust's `Display` for f64 is the shortest round-trip form without an
    // exponent, as Go's FormatFloat(f, 'f', -1, 64).
    n.as_f64().map(|f| f.to_string()).unwrap_or_default()
}

/// A float64 as Go's encoding/json writes it: integral values without a
/// fraction.
pub fn go_float(f: f64) -> Value {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Value::from(f as i64);
    }
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

pub trait Fields {
    fn field(&self, key: &str) -> Option<&Value>;

    fn string(&self, key: &str) -> Option<String> {
        self.field(key).and_then(value_str)
    }

    fn str_or_empty(&self, key: &str) -> String {
        self.string(key).unwrap_or_default()
    }

    /// The trimmed `name` field.
    fn name_field(&self) -> String {
        self.str_or_empty("name").trim().to_string()
    }

    fn int(&self, key: &str) -> Option<i64> {
        let n = self.field(key)?.as_number()?;
        n.as_i64()
            .or_else(|| n.as_u64().map(|u| u as i64))
            .or_else(|| n.as_f64().map(|f| f as i64))
    }

    fn int_or_zero(&self, key: &str) -> i64 {
        self.int(key).unwrap_or(0)
    }

    fn float_or_zero(&self, key: &str) -> f64 {
        self.field(key).and_then(Value::as_f64).unwrap_or(0.0)
    }

    fn bool_or_false(&self, key: &str) -> bool {
        self.field(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// The objects of a list field; other items are skipped.
    fn resources(&self, key: &str) -> Vec<&Resource> {
        match self.field(key) {
            Some(Value::Array(items)) => items.iter().filter_map(as_resource).collect(),
            _ => Vec::new(),
        }
    }

    /// The string items of a list; `None` when absent or with no items (a
    /// nil Go slice, written as `null`).
    fn strings(&self, key: &str) -> Option<Vec<String>> {
        let Some(Value::Array(items)) = self.field(key) else {
            return None;
        };
        let out: Vec<String> = items.iter().filter_map(value_str).collect();
        (!out.is_empty()).then_some(out)
    }

    fn string_map(&self, key: &str) -> Option<BTreeMap<String, String>> {
        let obj = self.field(key)?.as_object()?;
        Some(
            obj.iter()
                .filter_map(|(k, v)| value_str(v).map(|s| (k.clone(), s)))
                .collect(),
        )
    }

    fn reference(&self, key: &str) -> Reference {
        match self.field(key) {
            Some(v) => Reference::from_value(v),
            None => Reference::default(),
        }
    }
}

impl Fields for Resource {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

/// A value that may be given in place or through an environment reference
/// (pkger's `references`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reference {
    pub env_ref: String,
    pub value: Option<Value>,
    pub default: Option<Value>,
}

impl Reference {
    pub fn from_value(v: &Value) -> Reference {
        if let Some(obj) = v.as_object() {
            if let Some(env) = obj.get("envRef").and_then(Value::as_object) {
                let key = env.str_or_empty("key");
                if !key.is_empty() {
                    return Reference {
                        env_ref: key,
                        value: None,
                        default: env.get("default").cloned(),
                    };
                }
            }
        }
        Reference {
            env_ref: String::new(),
            value: (!v.is_null()).then(|| v.clone()),
            default: None,
        }
    }

    pub fn literal(s: &str) -> Reference {
        Reference {
            value: Some(Value::String(s.to_string())),
            ..Reference::default()
        }
    }

    /// Fills the value from the caller's `envRefs`.
    pub fn resolve(mut self, env: &HashMap<String, Value>) -> Reference {
        if !self.env_ref.is_empty() {
            if let Some(v) = env.get(&self.env_ref) {
                self.value = Some(v.clone());
            }
        }
        self
    }

    pub fn has_env_ref(&self) -> bool {
        !self.env_ref.is_empty()
    }

    /// The value as a string; an unresolved reference reads as its default
    /// or as `env-<key>`.
    pub fn string(&self) -> String {
        if let Some(s) = self.value.as_ref().and_then(value_str) {
            if !s.is_empty() {
                return s;
            }
        }
        if self.has_env_ref() {
            if let Some(s) = self.default.as_ref().and_then(value_str) {
                if !s.is_empty() {
                    return s;
                }
            }
            return format!("env-{}", self.env_ref);
        }
        String::new()
    }
}

/// Map keys in Go's order (sorted), as `encoding/json` writes a map.
pub fn sorted(m: Resource) -> Value {
    let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(pairs.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_read_as_go_does() {
        let r: Resource =
            serde_json::from_value(json!({"a": 4.0, "b": 2.5, "c": 7, "d": "x", "e": true}))
                .expect("map");
        assert_eq!(r.string("a").as_deref(), Some("4"));
        assert_eq!(r.string("b").as_deref(), Some("2.5"));
        assert_eq!(r.int("b"), Some(2));
        assert_eq!(r.string("e"), None);
        assert_eq!(r.float_or_zero("c"), 7.0);
        assert_eq!(go_float(1.0), json!(1));
        assert_eq!(go_float(0.25), json!(0.25));
    }

    #[test]
    fn references_fall_back() {
        let r = Reference::from_value(&json!({"envRef": {"key": "bkt"}}));
        assert_eq!(r.string(), "env-bkt");
        let env = HashMap::from([("bkt".to_string(), json!("telegraf"))]);
        assert_eq!(r.resolve(&env).string(), "telegraf");
        assert_eq!(Reference::from_value(&json!("plain")).string(), "plain");
    }
}
