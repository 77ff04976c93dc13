//! Dashboard files exported by the InfluxDB 2.0–2.3 UI (`meta.version`
//! "1", JSON:API style `content.data` + `content.included`). InfluxDB 2.5
//! accepts them and silently creates nothing; Tessera turns them into the
//! same resources a pkger template would give.

use super::errors::{ResourceErr, VErr};
use super::parse::{Graph, PChart, PDashboard, PLabel, PVariable};
use super::resource::{Fields, Resource};
use crate::domain::view::validate_properties;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashMap;

fn rel_ids(rels: Option<&Value>, key: &str) -> Vec<String> {
    match rels.and_then(|r| r.get(key)).and_then(|r| r.get("data")) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.get("id").and_then(Value::as_str).map(str::to_string))
            .collect(),
        Some(Value::Object(o)) => o
            .get("id")
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    let mut out: String = out.chars().take(40).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "resource".into()
    } else {
        out
    }
}

/// Converts one legacy file; `n` keeps metadata names apart across files.
pub fn graph_legacy(doc: &Value, n: usize) -> Graph {
    let mut g = Graph::default();
    let empty = Map::new();
    let content = doc
        .get("content")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let data = content
        .get("data")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let attrs = data
        .get("attributes")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let included: Vec<&Resource> = content
        .get("included")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let find = |ty: &str, id: &str| {
        included.iter().copied().find(|i| {
            i.get("type").and_then(Value::as_str) == Some(ty)
                && i.get("id").and_then(Value::as_str) == Some(id)
        })
    };
    let attrs_of = |r: &Resource| {
        r.get("attributes")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };

    let mut label_meta: HashMap<String, String> = HashMap::new();
    for (i, l) in included
        .iter()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("label"))
        .enumerate()
    {
        let a = attrs_of(l);
        let props = a
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let meta = format!("legacy{n}-label{i}-{}", slug(&a.name_field()));
        label_meta.insert(l.str_or_empty("id"), meta.clone());
        g.labels.push(PLabel {
            meta,
            name: a.name_field(),
            color: props.str_or_empty("color"),
            description: props.str_or_empty("description"),
            env: Vec::new(),
        });
    }
    let labels_of = |rels: Option<&Value>| -> Vec<String> {
        let mut v: Vec<String> = rel_ids(rels, "label")
            .iter()
            .filter_map(|id| label_meta.get(id).cloned())
            .collect();
        v.sort();
        v
    };
    for (i, v) in included
        .iter()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("variable"))
        .enumerate()
    {
        let a = attrs_of(v);
        let args = a
            .get("arguments")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let kind = args.str_or_empty("type");
        let values = args.get("values");
        g.variables.push(PVariable {
            meta: format!("legacy{n}-variable{i}-{}", slug(&a.name_field())),
            name: a.name_field(),
            description: a.str_or_empty("description"),
            query: values
                .and_then(|v| v.get("query"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_string(),
            language: values
                .and_then(|v| v.get("language"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            constants: match values {
                Some(Value::Array(items)) if kind == "constant" => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            },
            map: match values {
                Some(Value::Object(m)) if kind == "map" => m
                    .iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect(),
                _ => Default::default(),
            },
            kind,
            selected: a.strings("selected").unwrap_or_default(),
            labels: labels_of(v.get("relationships")),
            env: Vec::new(),
        });
    }

    let name = attrs.name_field();
    let mut charts = Vec::new();
    let mut errs = Vec::new();
    for (i, cell_id) in rel_ids(data.get("relationships"), "cell")
        .iter()
        .enumerate()
    {
        let Some(cell) = find("cell", cell_id) else {
            continue;
        };
        let pos = attrs_of(cell);
        let view_id = rel_ids(cell.get("relationships"), "view")
            .into_iter()
            .next()
            .unwrap_or_else(|| cell_id.clone());
        let view = find("view", &view_id).map(attrs_of).unwrap_or_default();
        let props = view.get("properties").cloned().unwrap_or(Value::Null);
        let properties = match RawValue::from_string(props.to_string())
            .map_err(|e| e.to_string())
            .and_then(|raw| validate_properties(&raw).map_err(|e| e.message))
            .and_then(|raw| {
                serde_json::from_str::<Map<String, Value>>(raw.get()).map_err(|e| e.to_string())
            }) {
            Ok(p) => p,
            Err(msg) => {
                errs.push(VErr::nested("spec", vec![VErr::leaf("charts", msg).at(i)]));
                continue;
            }
        };
        charts.push(PChart {
            name: view.name_field(),
            x: pos.int_or_zero("x"),
            y: pos.int_or_zero("y"),
            w: pos.int_or_zero("w"),
            h: pos.int_or_zero("h"),
            properties,
        });
    }
    if name.is_empty() {
        errs.push(VErr::nested(
            "spec",
            vec![VErr::leaf(
                "name",
                "must be a string of at least 2 chars in length",
            )],
        ));
    }
    if !errs.is_empty() {
        g.errors.push(ResourceErr {
            kind: "Dashboard".into(),
            idx: Some(n),
            root: Vec::new(),
            errs,
        });
    }
    g.dashboards.push(PDashboard {
        meta: format!("legacy{n}-dashboard-{}", slug(&name)),
        name,
        description: attrs.str_or_empty("description"),
        charts,
        labels: labels_of(data.get("relationships")),
        env: Vec::new(),
    });
    g
}
