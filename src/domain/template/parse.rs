//! Decoding templates (JSON, YAML, multi-document YAML, the 2.0–2.3 UI's
//! dashboard files) and graphing their objects into checked resources,
//! reporting failures as pkger does.

use super::chart::ChartSpec;
use super::errors::{ResourceErr, VErr};
use super::resource::{as_resource, Fields, Reference, Resource};
use super::wire::{EnvReference, RetentionRule};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

pub const API_VERSION: &str = "influxdata.com/v2alpha1";
pub const API_VERSION2: &str = "influxdata.com/v2alpha2";

/// Every kind pkger knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Label,
    Bucket,
    Check,
    CheckDeadman,
    CheckThreshold,
    NotificationEndpoint,
    NotificationEndpointHttp,
    NotificationEndpointPagerDuty,
    NotificationEndpointSlack,
    NotificationRule,
    Task,
    Variable,
    Dashboard,
    Telegraf,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Label,
        Kind::Bucket,
        Kind::Check,
        Kind::CheckDeadman,
        Kind::CheckThreshold,
        Kind::NotificationEndpoint,
        Kind::NotificationEndpointHttp,
        Kind::NotificationEndpointPagerDuty,
        Kind::NotificationEndpointSlack,
        Kind::NotificationRule,
        Kind::Task,
        Kind::Variable,
        Kind::Dashboard,
        Kind::Telegraf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Label => "Label",
            Kind::Bucket => "Bucket",
            Kind::Check => "Check",
            Kind::CheckDeadman => "CheckDeadman",
            Kind::CheckThreshold => "CheckThreshold",
            Kind::NotificationEndpoint => "NotificationEndpoint",
            Kind::NotificationEndpointHttp => "NotificationEndpointHTTP",
            Kind::NotificationEndpointPagerDuty => "NotificationEndpointPagerDuty",
            Kind::NotificationEndpointSlack => "NotificationEndpointSlack",
            Kind::NotificationRule => "NotificationRule",
            Kind::Task => "Task",
            Kind::Variable => "Variable",
            Kind::Dashboard => "Dashboard",
            Kind::Telegraf => "Telegraf",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// pkger's `Kind.OK` message for a kind it does not know.
    pub fn check(s: &str) -> Result<Kind, &'static str> {
        if s.is_empty() {
            return Err("invalid kind");
        }
        Kind::parse(s).ok_or("unsupported kind provided")
    }

    /// The permission resource type (and label mapping type) of the kind.
    pub fn resource_type(self) -> &'static str {
        match self {
            Kind::Bucket => "buckets",
            Kind::Check | Kind::CheckDeadman | Kind::CheckThreshold => "checks",
            Kind::Dashboard => "dashboards",
            Kind::Label => "labels",
            Kind::NotificationEndpoint
            | Kind::NotificationEndpointHttp
            | Kind::NotificationEndpointPagerDuty
            | Kind::NotificationEndpointSlack => "notificationEndpoints",
            Kind::NotificationRule => "notificationRules",
            Kind::Task => "tasks",
            Kind::Telegraf => "telegrafs",
            Kind::Variable => "variables",
        }
    }

    /// Skip actions name check and endpoint kinds by their family.
    pub fn family(self) -> Kind {
        match self {
            Kind::CheckDeadman | Kind::CheckThreshold => Kind::Check,
            Kind::NotificationEndpointHttp
            | Kind::NotificationEndpointPagerDuty
            | Kind::NotificationEndpointSlack => Kind::NotificationEndpoint,
            k => k,
        }
    }

    /// Whether Tessera stores resources of this kind.
    pub fn runs_here(self) -> bool {
        matches!(
            self,
            Kind::Label | Kind::Bucket | Kind::Variable | Kind::Dashboard
        )
    }

    /// The order exports and stacks list kinds in.
    pub fn priority(self) -> usize {
        Kind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(usize::MAX)
    }
}

/// How the bytes of a template are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Yaml,
    /// Guess from the bytes.
    Source,
}

/// One template as sent: pkger objects, or a legacy dashboard file.
#[derive(Debug, Clone)]
pub enum Decoded {
    Objects(Vec<Value>),
    Legacy(Value),
}

/// A legacy (2.0–2.3 UI) dashboard file: `{"meta": …, "content": {"data":
/// {"type": "dashboard"}, "included": […]}}`.
pub fn is_legacy(v: &Value) -> bool {
    v.get("content")
        .and_then(|c| c.get("data"))
        .and_then(|d| d.get("type"))
        .and_then(Value::as_str)
        == Some("dashboard")
}

/// Turns a decoded document (a JSON value or one YAML document) into
/// template objects.
fn push_document(v: Value, out: &mut Vec<Value>, legacy: &mut Vec<Value>) {
    match v {
        Value::Array(items) => out.extend(items),
        Value::Null => {}
        v if is_legacy(&v) => legacy.push(v),
        v => out.push(v),
    }
}

/// Decodes template bytes; the error is the decoder's message.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<Vec<Decoded>, String> {
    let encoding = match encoding {
        Encoding::Source => {
            let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
            if matches!(first, Some(b'{') | Some(b'[')) {
                Encoding::Json
            } else {
                Encoding::Yaml
            }
        }
        e => e,
    };
    let mut objects = Vec::new();
    let mut legacy = Vec::new();
    match encoding {
        Encoding::Json => {
            let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            push_document(v, &mut objects, &mut legacy);
        }
        _ => {
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            for doc in serde_norway::Deserializer::from_str(text) {
                let v = Value::deserialize(doc).map_err(|e| e.to_string())?;
                push_document(v, &mut objects, &mut legacy);
            }
        }
    }
    let mut out: Vec<Decoded> = legacy.into_iter().map(Decoded::Legacy).collect();
    if !objects.is_empty() {
        out.push(Decoded::Objects(objects));
    }
    Ok(out)
}

// ---- graphed resources -----------------------------------------------------

#[derive(Debug, Clone)]
pub struct PLabel {
    pub meta: String,
    pub name: String,
    pub color: String,
    pub description: String,
    pub env: Vec<EnvReference>,
}

#[derive(Debug, Clone)]
pub struct PBucket {
    pub meta: String,
    pub name: String,
    pub description: String,
    pub retention_rules: Option<Vec<RetentionRule>>,
    pub labels: Vec<String>,
    pub env: Vec<EnvReference>,
}

impl PBucket {
    /// Seconds; the first rule wins, as in pkger.
    pub fn retention_seconds(&self) -> i64 {
        self.retention_rules
            .as_ref()
            .and_then(|r| r.first())
            .map(|r| r.every_seconds)
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub struct PVariable {
    pub meta: String,
    pub name: String,
    pub description: String,
    /// `query`, `constant`, `map` or empty.
    pub kind: String,
    pub query: String,
    pub language: String,
    pub constants: Vec<String>,
    pub map: BTreeMap<String, String>,
    pub selected: Vec<String>,
    pub labels: Vec<String>,
    pub env: Vec<EnvReference>,
}

impl PVariable {
    /// InfluxDB's `VariableArguments` JSON, or `None` without a type.
    pub fn arguments(&self) -> Option<Value> {
        match self.kind.as_str() {
            "query" => Some(serde_json::json!({"type": "query",
                "values": {"query": self.query, "language": self.language}})),
            "constant" => Some(serde_json::json!({"type": "constant", "values": self.constants})),
            "map" => Some(serde_json::json!({"type": "map", "values": self.map})),
            "" => None,
            other => Some(serde_json::json!({"type": other, "values": null})),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PChart {
    pub name: String,
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub properties: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct PDashboard {
    pub meta: String,
    pub name: String,
    pub description: String,
    pub charts: Vec<PChart>,
    pub labels: Vec<String>,
    pub env: Vec<EnvReference>,
}

/// An object of a kind Tessera does not run.
#[derive(Debug, Clone)]
pub struct PSkipped {
    pub kind: Kind,
    pub meta: String,
    pub name: String,
}

/// A template's resources, checked, in pkger's order (by metadata name).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub labels: Vec<PLabel>,
    pub buckets: Vec<PBucket>,
    pub variables: Vec<PVariable>,
    pub dashboards: Vec<PDashboard>,
    pub skipped: Vec<PSkipped>,
    pub errors: Vec<ResourceErr>,
    /// Every environment reference seen, and whether the caller gave it.
    pub env_refs: BTreeMap<String, bool>,
}

impl Graph {
    pub fn missing_env_refs(&self) -> Vec<String> {
        self.env_refs
            .iter()
            .filter(|(_, given)| !**given)
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
            && self.buckets.is_empty()
            && self.variables.is_empty()
            && self.dashboards.is_empty()
            && self.skipped.is_empty()
    }

    fn sort(&mut self) {
        self.labels.sort_by(|a, b| a.meta.cmp(&b.meta));
        self.buckets.sort_by(|a, b| a.meta.cmp(&b.meta));
        self.variables.sort_by(|a, b| a.meta.cmp(&b.meta));
        self.dashboards.sort_by(|a, b| a.meta.cmp(&b.meta));
        self.errors.sort_by_key(|e| e.idx);
    }
}

const DNS1123_MSG: &str = "a DNS-1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn dns1123_errors(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    let b = name.as_bytes();
    let ok_char = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = !b.is_empty()
        && ok_char(&b[0])
        && ok_char(&b[b.len() - 1])
        && b.iter().all(|c| ok_char(c) || *c == b'-');
    if !valid {
        errs.push(DNS1123_MSG.to_string());
    }
    errs
}

fn name_too_short(name: &str, min: usize) -> Option<VErr> {
    (name.len() < min).then(|| {
        VErr::leaf(
            "name",
            format!("must be a string of at least {min} chars in length"),
        )
    })
}

fn env_summary(field: &str, r: &Reference) -> EnvReference {
    EnvReference {
        field: field.to_string(),
        key: r.env_ref.clone(),
        value_type: String::new(),
        value: r.value.clone(),
        default_value: r.default.clone(),
    }
}

struct Identity {
    meta: String,
    name: String,
    env: Vec<EnvReference>,
}

/// Graphs template objects (pkger's `graphResources`).
pub fn graph(objects: &[Value], env: &HashMap<String, Value>) -> Graph {
    let mut g = Graph::default();
    let mut seen_meta: HashSet<(Kind, String)> = HashSet::new();
    let mut seen_name: HashSet<(Kind, String)> = HashSet::new();
    let note_ref = |g: &mut Graph, r: &Reference| {
        if r.has_env_ref() {
            let given = r.value.as_ref().is_some_and(|v| !v.is_null());
            g.env_refs.insert(r.env_ref.clone(), given);
        }
    };

    // Labels first: every other kind's associations are checked against them.
    let mut order: Vec<(usize, &Value)> = objects.iter().enumerate().collect();
    let rank = |v: &Value| {
        let k = v.get("kind").and_then(Value::as_str).and_then(Kind::parse);
        usize::from(k != Some(Kind::Label))
    };
    order.sort_by_key(|(i, v)| (rank(v), *i));
    let mut label_metas: HashMap<String, String> = HashMap::new();

    for (idx, obj) in order {
        let fail = |g: &mut Graph, kind: &str, errs: Vec<VErr>| {
            if !errs.is_empty() {
                g.errors.push(ResourceErr {
                    kind: kind.to_string(),
                    idx: Some(idx),
                    root: Vec::new(),
                    errs,
                });
            }
        };
        let empty = Map::new();
        let o = obj.as_object().unwrap_or(&empty);
        let raw_kind = o.str_or_empty("kind");
        let kind = match Kind::check(&raw_kind) {
            Ok(k) => k,
            Err(msg) => {
                let shown = if raw_kind.is_empty() {
                    "unknown"
                } else {
                    raw_kind.as_str()
                };
                fail(&mut g, shown, vec![VErr::leaf("kind", msg)]);
                continue;
            }
        };
        let api = o.str_or_empty("apiVersion");
        if api != API_VERSION && api != API_VERSION2 {
            fail(
                &mut g,
                kind.as_str(),
                vec![VErr::leaf(
                    "apiVersion",
                    format!("invalid API version provided {api:?}; must be 1 in [{API_VERSION}, {API_VERSION2}]"),
                )],
            );
            continue;
        }
        let metadata = o.get("metadata").and_then(as_resource).unwrap_or(&empty);
        let spec = o.get("spec").and_then(as_resource).unwrap_or(&empty);
        let raw_meta = metadata.reference("name").string();
        let dns = dns1123_errors(&raw_meta);
        if !dns.is_empty() {
            fail(
                &mut g,
                kind.as_str(),
                vec![VErr::nested(
                    "metadata",
                    vec![VErr::leaf(
                        "name",
                        format!("name {raw_meta:?} is invalid; {}", dns.join("; ")),
                    )],
                )],
            );
            continue;
        }

        let name_ref = metadata.reference("name").resolve(env);
        let display_ref = spec.reference("name").resolve(env);
        note_ref(&mut g, &name_ref);
        note_ref(&mut g, &display_ref);
        let meta = name_ref.string();
        let display = display_ref.string();
        let ident = Identity {
            name: if display.is_empty() {
                meta.clone()
            } else {
                display
            },
            env: {
                let mut e = Vec::new();
                if name_ref.has_env_ref() {
                    e.push(env_summary("metadata.name", &name_ref));
                }
                if display_ref.has_env_ref() {
                    e.push(env_summary("spec.name", &display_ref));
                }
                e
            },
            meta,
        };
        let family = kind.family();
        if !seen_meta.insert((family, ident.meta.clone())) {
            fail(
                &mut g,
                kind.as_str(),
                vec![VErr::nested(
                    "metadata",
                    vec![VErr::leaf(
                        "name",
                        format!("duplicate name: {}", ident.meta),
                    )],
                )],
            );
            continue;
        }
        let unique_by_name = matches!(
            family,
            Kind::Label | Kind::Bucket | Kind::Variable | Kind::NotificationEndpoint
        );
        if unique_by_name && !seen_name.insert((family, ident.name.clone())) {
            fail(
                &mut g,
                kind.as_str(),
                vec![VErr::nested(
                    "spec",
                    vec![VErr::leaf(
                        "name",
                        format!("duplicate name: {}", ident.meta),
                    )],
                )],
            );
            continue;
        }

        if !kind.runs_here() {
            g.skipped.push(PSkipped {
                kind,
                meta: ident.meta,
                name: ident.name,
            });
            continue;
        }

        let (labels, assoc_errs) = nested_labels(spec, env, &label_metas);
        let mut errs = Vec::new();
        let mut spec_errs = Vec::new();
        match kind {
            Kind::Label => {
                spec_errs.extend(name_too_short(&ident.name, 2));
                label_metas.insert(ident.meta.clone(), ident.name.clone());
                g.labels.push(PLabel {
                    meta: ident.meta,
                    name: ident.name,
                    color: spec.str_or_empty("color"),
                    description: spec.str_or_empty("description"),
                    env: ident.env,
                });
            }
            Kind::Bucket => {
                spec_errs.extend(name_too_short(&ident.name, 2));
                let mut rules = None;
                for (i, r) in spec.resources("retentionRules").into_iter().enumerate() {
                    let rule = RetentionRule {
                        kind: r.str_or_empty("type"),
                        every_seconds: r.int_or_zero("everySeconds"),
                    };
                    let mut ff = Vec::new();
                    if rule.every_seconds < 3600 {
                        ff.push(VErr::leaf(
                            "everySeconds",
                            "seconds must be a minimum of 3600",
                        ));
                    }
                    if rule.kind != "expire" {
                        ff.push(VErr::leaf("type", r#"type must be "expire""#));
                    }
                    if !ff.is_empty() {
                        spec_errs.push(VErr::nested("retentionRules", ff).at(i));
                    }
                    rules.get_or_insert_with(Vec::new).push(rule);
                }
                g.buckets.push(PBucket {
                    meta: ident.meta,
                    name: ident.name,
                    description: spec.str_or_empty("description"),
                    retention_rules: rules,
                    labels,
                    env: ident.env,
                });
            }
            Kind::Variable => {
                spec_errs.extend(name_too_short(&ident.name, 1));
                let v = PVariable {
                    meta: ident.meta,
                    name: ident.name,
                    description: spec.str_or_empty("description"),
                    kind: spec.str_or_empty("type").trim().to_lowercase(),
                    query: spec.str_or_empty("query").trim().to_string(),
                    language: spec.str_or_empty("language").trim().to_lowercase(),
                    constants: spec.strings("values").unwrap_or_default(),
                    map: spec.string_map("values").unwrap_or_default(),
                    selected: match spec.get("selected") {
                        Some(Value::Array(items)) => items
                            .iter()
                            .map(|i| {
                                let r = Reference::from_value(i).resolve(env);
                                note_ref(&mut g, &r);
                                r.string()
                            })
                            .filter(|s| !s.is_empty())
                            .collect(),
                        _ => Vec::new(),
                    },
                    labels,
                    env: ident.env,
                };
                match v.kind.as_str() {
                    "map" if v.map.is_empty() => spec_errs.push(VErr::leaf(
                        "values",
                        "map variable must have at least 1 key/val pair",
                    )),
                    "constant" if v.constants.is_empty() => spec_errs.push(VErr::leaf(
                        "values",
                        "constant variable must have a least 1 value provided",
                    )),
                    "query" => {
                        if v.query.is_empty() {
                            spec_errs.push(VErr::leaf(
                                "query",
                                "query variable must provide a query string",
                            ));
                        }
                        if v.language != "influxql" && v.language != "flux" {
                            spec_errs.push(VErr::leaf(
                                "language",
                                format!(r#"query variable language must be either "influxql" or "flux"; got {:?}"#, v.language),
                            ));
                        }
                    }
                    _ => {}
                }
                g.variables.push(v);
            }
            Kind::Dashboard => {
                let mut charts = Vec::new();
                for (i, cr) in spec.resources("charts").into_iter().enumerate() {
                    match ChartSpec::parse(cr) {
                        Ok(c) => charts.push(PChart {
                            name: c.name.clone(),
                            x: c.x_pos,
                            y: c.y_pos,
                            w: c.width,
                            h: c.height,
                            properties: c.properties(),
                        }),
                        Err(fails) => errs.push(VErr::nested(
                            "spec",
                            vec![VErr::nested("charts", fails).at(i)],
                        )),
                    }
                }
                spec_errs.extend(name_too_short(&ident.name, 2));
                g.dashboards.push(PDashboard {
                    meta: ident.meta,
                    name: ident.name,
                    description: spec.str_or_empty("description"),
                    charts,
                    labels,
                    env: ident.env,
                });
            }
            _ => {}
        }
        if !spec_errs.is_empty() {
            errs.push(VErr::nested("spec", spec_errs));
        }
        errs.extend(assoc_errs);
        fail(&mut g, kind.as_str(), errs);
    }
    g.sort();
    g
}

/// The labels a resource associates with (their metadata names, sorted),
/// and the association failures.
fn nested_labels(
    spec: &Resource,
    env: &HashMap<String, Value>,
    labels: &HashMap<String, String>,
) -> (Vec<String>, Vec<VErr>) {
    let mut out: Vec<String> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut errs = Vec::new();
    for (i, a) in spec.resources("associations").into_iter().enumerate() {
        let raw_kind = a.str_or_empty("kind");
        let kind = match a.get("kind") {
            None | Some(Value::Null) => Err("no kind provided"),
            _ => Kind::check(&raw_kind),
        };
        match kind {
            Err(msg) => {
                errs.push(VErr::nested("associations", vec![VErr::leaf("kind", msg)]).at(i));
                continue;
            }
            Ok(Kind::Label) => {}
            Ok(_) => continue,
        }
        let meta = a.reference("name").resolve(env).string();
        let Some(name) = labels.get(&meta) else {
            errs.push(
                VErr::leaf(
                    "associations",
                    format!("label {:?} does not exist in pkg", a.name_field()),
                )
                .at(i),
            );
            continue;
        };
        if !names.insert(name.clone()) {
            errs.push(
                VErr::leaf("associations", format!("duplicate nested label: {name:?}")).at(i),
            );
            continue;
        }
        out.push(meta);
    }
    out.sort();
    (out, errs)
}

/// A template without objects (pkger's minimum-resources check).
pub fn no_resources_error() -> ResourceErr {
    ResourceErr {
        kind: "Package".into(),
        idx: None,
        root: vec![VErr::leaf("resources", "at least 1 kind must be provided")],
        errs: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::template::errors::flatten;
    use serde_json::json;

    #[test]
    fn multi_document_yaml_and_errors() {
        let yaml = "apiVersion: influxdata.com/v2alpha1\nkind: Label\nmetadata:\n  name: lbl\nspec:\n  name: prod\n---\napiVersion: influxdata.com/v2alpha1\nkind: Dashboard\nmetadata:\n  name: Bad_Name\n---\napiVersion: influxdata.com/v2alpha1\nkind: Wat\nmetadata:\n  name: x\n";
        let decoded = decode(yaml.as_bytes(), Encoding::Source).expect("yaml");
        let Decoded::Objects(objs) = &decoded[0] else {
            panic!("objects")
        };
        assert_eq!(objs.len(), 3);
        let g = graph(objs, &HashMap::new());
        assert_eq!(g.labels.len(), 1);
        let errs = flatten(&g.errors);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].kind, "Dashboard");
        assert_eq!(errs[0].fields, vec!["root", "metadata", "name"]);
        assert_eq!(errs[0].idxs, vec![Some(1), None, None]);
        assert_eq!(errs[1].reason, "unsupported kind provided");
    }

    #[test]
    fn legacy_is_recognised() {
        let v = json!({"meta": {"version": "1"}, "content": {"data": {"type": "dashboard"}, "included": []}});
        let d = decode(v.to_string().as_bytes(), Encoding::Json).expect("json");
        assert!(matches!(d[0], Decoded::Legacy(_)));
    }
}
