//! `POST /api/v2/templates/export`: stored resources as template objects,
//! the way pkger's `clone_resource.go` writes them (generated metadata
//! names, chart specs, label associations and their Label objects).

use super::chart::ChartSpec;
use super::parse::{Kind, API_VERSION};
use super::resource::sorted;
use super::unique_meta_name;
use crate::auth::permission::{Action, Actor};
use crate::domain::bucket::Bucket;
use crate::domain::dashboard::{visible_in, Dashboard};
use crate::domain::label::Label;
use crate::domain::stack::{self, require_org};
use crate::domain::variable::{Arguments, Variable};
use crate::domain::Service;
use crate::error::{Error, Result};
use crate::id::Id;
use crate::store::{DashboardScan, StoreRead};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// One resource to export: by ID, or by name when the ID is absent.
#[derive(Debug, Clone)]
pub struct ResourceToClone {
    pub kind: Kind,
    pub id: Option<Id>,
    pub name: String,
    /// Kept from a stack record.
    pub meta: String,
}

#[derive(Debug, Clone)]
pub struct OrgExport {
    pub org: Id,
    pub by_label: Vec<String>,
    pub by_kind: Vec<Kind>,
}

#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    pub stack: Option<Id>,
    pub orgs: Vec<OrgExport>,
    pub resources: Vec<ResourceToClone>,
}

/// An exported object, keyed as pkger keys them so one label shared by
/// several resources is written once.
type Key = (Id, u64, Kind, String);

struct Exporter<'a> {
    store: &'a dyn StoreRead,
    actor: &'a Actor,
    objects: HashMap<Key, Value>,
    names: HashSet<String>,
}

fn object(kind: Kind, meta: &str, spec: Map<String, Value>) -> Value {
    json!({"apiVersion": API_VERSION, "kind": kind.as_str(),
           "metadata": {"name": meta}, "spec": sorted(spec)})
}

fn label_spec(name: &str, l: &Label) -> Map<String, Value> {
    let mut spec = Map::new();
    spec.insert(
        "name".into(),
        if name.is_empty() {
            l.name.as_str()
        } else {
            name
        }
        .to_string()
        .into(),
    );
    for (k, v) in [("description", "description"), ("color", "color")] {
        if let Some(s) = l.properties.get(v).filter(|s| !s.is_empty()) {
            spec.insert(k.into(), s.clone().into());
        }
    }
    spec
}

impl Exporter<'_> {
    fn meta_name(&mut self, given: &str, seed: Id) -> String {
        let name = if given.is_empty() {
            unique_meta_name(seed, &self.names)
        } else {
            given.to_string()
        };
        self.names.insert(name.clone());
        name
    }

    /// The label associations of a resource (creating their Label
    /// objects), or `None` when the label filter leaves it out.
    fn associations(
        &mut self,
        id: Id,
        filter: &HashSet<String>,
        label_metas: &HashMap<Id, String>,
    ) -> Result<Option<Vec<Value>>> {
        let mut labels = Vec::new();
        for m in self.store.label_mappings_of_resource(id)? {
            if let Some(l) = self.store.label(m.label_id)? {
                if self
                    .actor
                    .can(Action::Read, "labels", Some(l.org_id), Some(l.id))
                {
                    labels.push(l);
                }
            }
        }
        if !filter.is_empty() && !labels.iter().any(|l| filter.contains(&l.name)) {
            return Ok(None);
        }
        let mut out: Vec<String> = Vec::new();
        for l in labels {
            if !filter.is_empty() && !filter.contains(&l.name) {
                continue;
            }
            let key = (l.org_id, 0, Kind::Label, l.name.clone());
            if let Some(existing) = self.objects.get(&key) {
                out.push(
                    existing["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
                continue;
            }
            let meta = self.meta_name(
                label_metas.get(&l.id).map(String::as_str).unwrap_or(""),
                l.id,
            );
            self.objects
                .insert(key, object(Kind::Label, &meta, label_spec("", &l)));
            out.push(meta);
        }
        out.sort();
        Ok(Some(
            out.into_iter()
                .map(|m| json!({"kind": "Label", "name": m}))
                .collect(),
        ))
    }

    fn put(
        &mut self,
        key: Key,
        kind: Kind,
        meta: &str,
        mut spec: Map<String, Value>,
        assoc: Vec<Value>,
    ) {
        if !assoc.is_empty() {
            spec.insert("associations".into(), Value::Array(assoc));
        }
        self.objects.insert(key, object(kind, meta, spec));
    }

    fn export(&mut self, mut rs: Vec<ResourceToClone>, filter: &[String]) -> Result<()> {
        let filter: HashSet<String> = filter.iter().cloned().collect();
        let label_metas: HashMap<Id, String> = rs
            .iter()
            .filter(|r| r.kind == Kind::Label && !r.meta.is_empty())
            .filter_map(|r| r.id.map(|id| (id, r.meta.clone())))
            .collect();
        let mut seen = HashSet::new();
        rs.retain(|r| seen.insert((r.kind, r.id, r.name.clone())));
        rs.sort_by(|a, b| {
            a.kind
                .priority()
                .cmp(&b.kind.priority())
                .then_with(|| a.name.cmp(&b.name))
        });
        for r in rs {
            match r.kind {
                Kind::Label => {
                    let labels: Vec<Label> = match r.id {
                        Some(id) => vec![self
                            .store
                            .label(id)?
                            .ok_or_else(|| Error::not_found("label not found"))?],
                        None => self
                            .store
                            .labels(None)?
                            .into_iter()
                            .filter(|l| l.name == r.name)
                            .collect(),
                    };
                    for l in labels {
                        self.actor
                            .require(Action::Read, "labels", Some(l.org_id), Some(l.id))?;
                        if !filter.is_empty() && !filter.contains(&l.name) {
                            continue;
                        }
                        let meta = self.meta_name(&r.meta, l.id);
                        let spec = label_spec(&r.name, &l);
                        let name = spec["name"].as_str().unwrap_or_default().to_string();
                        self.put(
                            (l.org_id, 0, Kind::Label, name),
                            Kind::Label,
                            &meta,
                            spec,
                            Vec::new(),
                        );
                    }
                }
                Kind::Bucket => {
                    let buckets: Vec<Bucket> = self
                        .store
                        .buckets()?
                        .into_iter()
                        .filter(|b| r.id.is_none_or(|id| b.id == id))
                        .filter(|b| r.name.is_empty() || b.name == r.name)
                        .collect();
                    if buckets.is_empty() {
                        return Err(Error::not_found("no buckets found"));
                    }
                    for b in buckets {
                        self.actor
                            .require(Action::Read, "buckets", Some(b.org_id), Some(b.id))?;
                        let Some(assoc) = self.associations(b.id, &filter, &label_metas)? else {
                            continue;
                        };
                        let meta = self.meta_name(&r.meta, b.id);
                        let mut spec = Map::new();
                        spec.insert(
                            "name".into(),
                            if r.name.is_empty() {
                                b.name.as_str()
                            } else {
                                r.name.as_str()
                            }
                            .to_string()
                            .into(),
                        );
                        if !b.description.is_empty() {
                            spec.insert("description".into(), b.description.clone().into());
                        }
                        if b.retention_seconds != 0 {
                            spec.insert(
                                "retentionRules".into(),
                                json!([{"type": "expire", "everySeconds": b.retention_seconds}]),
                            );
                        }
                        self.put(
                            (b.org_id, b.id.get(), Kind::Bucket, String::new()),
                            Kind::Bucket,
                            &meta,
                            spec,
                            assoc,
                        );
                    }
                }
                Kind::Dashboard => {
                    let found: Vec<Dashboard> = match r.id {
                        Some(id) => self.store.dashboard(id)?.into_iter().collect(),
                        None => self
                            .store
                            .dashboards(DashboardScan {
                                org: None,
                                descending: false,
                                offset: 0,
                                limit: None,
                            })?
                            .into_iter()
                            .filter(|d| d.name == r.name)
                            .filter(|d| {
                                self.actor.can(
                                    Action::Read,
                                    "dashboards",
                                    Some(d.org_id),
                                    Some(d.id),
                                )
                            })
                            .collect(),
                    };
                    // A private dashboard the actor may not see is not found.
                    let mut dashboards = Vec::with_capacity(found.len());
                    for d in found {
                        if visible_in(self.store, self.actor, &d)? {
                            dashboards.push(d);
                        }
                    }
                    if dashboards.is_empty() {
                        return Err(Error::not_found("no dashboards found"));
                    }
                    for d in dashboards {
                        self.actor.require(
                            Action::Read,
                            "dashboards",
                            Some(d.org_id),
                            Some(d.id),
                        )?;
                        let Some(assoc) = self.associations(d.id, &filter, &label_metas)? else {
                            continue;
                        };
                        let meta = self.meta_name(&r.meta, d.id);
                        let spec = dashboard_spec(self.store, &d, &r.name)?;
                        self.put(
                            (d.org_id, d.id.get(), Kind::Dashboard, String::new()),
                            Kind::Dashboard,
                            &meta,
                            spec,
                            assoc,
                        );
                    }
                }
                Kind::Variable => {
                    let vars: Vec<Variable> = match r.id {
                        Some(id) => vec![self
                            .store
                            .variable(id)?
                            .ok_or_else(|| Error::not_found("variable not found"))?],
                        None => self
                            .store
                            .variables(None)?
                            .into_iter()
                            .filter(|v| v.name == r.name)
                            .collect(),
                    };
                    if vars.is_empty() {
                        return Err(Error::not_found("no variables found"));
                    }
                    for v in vars {
                        self.actor.require(
                            Action::Read,
                            "variables",
                            Some(v.org_id),
                            Some(v.id),
                        )?;
                        let Some(assoc) = self.associations(v.id, &filter, &label_metas)? else {
                            continue;
                        };
                        let meta = self.meta_name(&r.meta, v.id);
                        let spec = variable_spec(&v, &r.name);
                        let name = spec["name"].as_str().unwrap_or_default().to_string();
                        self.put(
                            (v.org_id, 0, Kind::Variable, name),
                            Kind::Variable,
                            &meta,
                            spec,
                            assoc,
                        );
                    }
                }
                other => {
                    return Err(Error::not_found(format!(
                        "no {} resources found; Tessera does not store them",
                        other.as_str()
                    )))
                }
            }
        }
        Ok(())
    }
}

/// A dashboard's spec: charts ordered by position, views templates cannot
/// carry left out.
fn dashboard_spec(store: &dyn StoreRead, d: &Dashboard, name: &str) -> Result<Map<String, Value>> {
    let views: HashMap<Id, _> = store.views(d.id)?.into_iter().collect();
    let mut cells = d.cells.clone();
    cells.sort_by_key(|c| (c.pos.x, c.pos.y));
    let mut charts = Vec::new();
    for c in cells {
        let Some(v) = views.get(&c.id) else { continue };
        let Ok(props) = serde_json::from_str::<Value>(v.properties.get()) else {
            continue;
        };
        let pos = (
            c.pos.x.into(),
            c.pos.y.into(),
            c.pos.w.into(),
            c.pos.h.into(),
        );
        if let Some(chart) = ChartSpec::from_view(&v.name, pos, &props) {
            charts.push(chart.to_template());
        }
    }
    let mut spec = Map::new();
    spec.insert(
        "name".into(),
        if name.is_empty() { &d.name } else { name }
            .to_string()
            .into(),
    );
    if !d.description.is_empty() {
        spec.insert("description".into(), d.description.clone().into());
    }
    spec.insert("charts".into(), Value::Array(charts));
    Ok(spec)
}

fn variable_spec(v: &Variable, name: &str) -> Map<String, Value> {
    let mut spec = Map::new();
    spec.insert(
        "name".into(),
        if name.is_empty() {
            v.name.as_str()
        } else {
            name
        }
        .to_string()
        .into(),
    );
    if !v.description.is_empty() {
        spec.insert("description".into(), v.description.clone().into());
    }
    if let Some(sel) = v.selected.as_ref().filter(|s| !s.is_empty()) {
        spec.insert("selected".into(), json!(sel));
    }
    match &v.arguments {
        Arguments::Constant(vals) => {
            spec.insert("type".into(), "constant".into());
            spec.insert("values".into(), json!(vals));
        }
        Arguments::Map(vals) => {
            spec.insert("type".into(), "map".into());
            spec.insert("values".into(), json!(vals));
        }
        Arguments::Query(q) => {
            spec.insert("type".into(), "query".into());
            spec.insert("language".into(), q.language.clone().into());
            spec.insert("query".into(), q.query.trim().to_string().into());
        }
    }
    spec
}

/// Every resource of an org of the given kinds (all kinds when none).
fn org_resources(
    store: &dyn StoreRead,
    actor: &Actor,
    o: &OrgExport,
) -> Result<Vec<ResourceToClone>> {
    let want = |k: Kind| o.by_kind.is_empty() || o.by_kind.contains(&k);
    let mut out = Vec::new();
    let clone = |kind, id, name: &str| ResourceToClone {
        kind,
        id: Some(id),
        name: name.to_string(),
        meta: String::new(),
    };
    if want(Kind::Bucket) {
        for b in store.buckets()?.into_iter().filter(|b| b.org_id == o.org) {
            out.push(clone(Kind::Bucket, b.id, &b.name));
        }
    }
    if want(Kind::Dashboard) {
        let scan = DashboardScan {
            org: Some(o.org),
            descending: false,
            offset: 0,
            limit: None,
        };
        for d in store.dashboards(scan)? {
            if visible_in(store, actor, &d)? {
                out.push(clone(Kind::Dashboard, d.id, ""));
            }
        }
    }
    if want(Kind::Variable) {
        for v in store.variables(Some(o.org))? {
            out.push(clone(Kind::Variable, v.id, ""));
        }
    }
    if want(Kind::Label) {
        for l in store.labels(Some(o.org))? {
            out.push(clone(Kind::Label, l.id, &l.name));
        }
    }
    Ok(out)
}

impl Service {
    /// The template objects for the requested resources, sorted as pkger
    /// sorts them (kind, then metadata name).
    pub fn export_template(&self, actor: &Actor, req: ExportRequest) -> Result<Vec<Value>> {
        self.read(|store| {
            let mut ex = Exporter {
                store,
                actor,
                objects: HashMap::new(),
                names: HashSet::new(),
            };
            let mut resources = req.resources.clone();
            if let Some(id) = req.stack {
                let st = stack::load(store, id)?;
                require_org(actor, st.org_id, Action::Read)?;
                for r in st.latest().resources {
                    let Some(kind) = Kind::parse(&r.kind) else {
                        continue;
                    };
                    resources.push(ResourceToClone {
                        kind,
                        id: Some(r.id),
                        name: String::new(),
                        meta: r.meta_name,
                    });
                }
            }
            for o in &req.orgs {
                let rs = org_resources(store, actor, o)?;
                ex.export(rs, &o.by_label)?;
            }
            ex.export(resources, &[])?;
            let mut objects: Vec<Value> = ex.objects.into_values().collect();
            let prio = |v: &Value| {
                v["kind"]
                    .as_str()
                    .and_then(Kind::parse)
                    .map(Kind::priority)
                    .unwrap_or(usize::MAX)
            };
            objects.sort_by(|a, b| {
                prio(a).cmp(&prio(b)).then_with(|| {
                    a["metadata"]["name"]
                        .as_str()
                        .cmp(&b["metadata"]["name"].as_str())
                })
            });
            Ok(objects)
        })
    }
}
