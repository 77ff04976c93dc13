//! What applying a template would do to an org (pkger's state coordinator
//! and dry run): each resource is new, already exists (found by its stack
//! record or, for labels and buckets, by name) or is to be removed (in the
//! stack but no longer in the template). A plan renders as pkger's
//! `summary` and `diff`, and turns into one list of store changes.

use super::parse::{Graph, Kind, PBucket, PDashboard, PLabel, PSkipped, PVariable, API_VERSION};
use super::wire::{
    DiffBucket, DiffBucketValues, DiffDashboard, DiffDashboardValues, DiffIdentifier, DiffLabel,
    DiffLabelMapping, DiffLabelValues, DiffVariable, DiffVariableValues, RetentionRule,
    SkippedResource, Summary, SummaryBucket, SummaryChart, SummaryDashboard, SummaryLabel,
    SummaryLabelMapping, SummaryVariable,
};
use crate::auth::permission::{Action, Actor};
use crate::domain::bucket::Bucket;
use crate::domain::dashboard::{validate_position, Cell, Dashboard, Position};
use crate::domain::label::{Label, LabelMapping, Properties};
use crate::domain::member::{Mapping, Role};
use crate::domain::stack::{sort_resources, Stack, StackAssociation, StackResource};
use crate::domain::time::Timestamp;
use crate::domain::variable::{check_variable_name, Arguments, Variable};
use crate::domain::view::View;
use crate::error::{Error, Result};
use crate::id::Id;
use crate::store::{Change, StoreRead};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    New,
    Exists,
    Remove,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Exists => "exists",
            Status::Remove => "remove",
        }
    }
}

/// One template resource and what the org already has of it.
#[derive(Debug, Clone)]
pub struct Item<P, E> {
    pub p: P,
    pub status: Status,
    pub id: Option<Id>,
    pub existing: Option<E>,
}

impl<P, E> Item<P, E> {
    fn new(p: P) -> Self {
        Item {
            p,
            status: Status::New,
            id: None,
            existing: None,
        }
    }

    fn stub(p: P, id: Id) -> Self {
        Item {
            p,
            status: Status::Remove,
            id: Some(id),
            existing: None,
        }
    }
}

pub trait Existing {
    fn id(&self) -> Id;
}

impl Existing for Label {
    fn id(&self) -> Id {
        self.id
    }
}

impl Existing for Variable {
    fn id(&self) -> Id {
        self.id
    }
}

impl Existing for Bucket {
    fn id(&self) -> Id {
        self.id
    }
}

/// A dashboard as it is now, with its views.
#[derive(Debug, Clone)]
pub struct ExistingDashboard {
    pub dashboard: Dashboard,
    pub views: HashMap<Id, View>,
}

impl Existing for ExistingDashboard {
    fn id(&self) -> Id {
        self.dashboard.id
    }
}

impl<P, E: Existing> Item<P, E> {
    /// The platform ID: the existing resource's, else the one assigned.
    pub fn current_id(&self) -> Option<Id> {
        match (&self.existing, self.status) {
            (Some(e), s) if s != Status::New => Some(e.id()),
            _ => self.id,
        }
    }

    fn safe_id(&self) -> u64 {
        self.current_id().map(Id::get).unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub struct MappingPlan {
    pub status: Status,
    pub kind: Kind,
    pub resource_meta: String,
    pub label_meta: String,
}

#[derive(Debug, Clone)]
pub struct MappingRemoval {
    pub kind: Kind,
    pub resource_id: Id,
    pub resource_meta: String,
    pub label_id: Option<Id>,
    pub label_meta: String,
}

/// A resource that carries labels: kind, metadata name, status, ID, label
/// metadata names.
type Labelled = (Kind, String, Status, Option<Id>, Vec<String>);

/// Resources and kinds an apply leaves out (`actions`).
#[derive(Debug, Clone, Default)]
pub struct Skips {
    pub kinds: HashSet<Kind>,
    pub resources: HashSet<(Kind, String)>,
}

impl Skips {
    fn skip(&self, kind: Kind, meta: &str) -> bool {
        self.kinds.contains(&kind.family())
            || self.resources.contains(&(kind.family(), meta.to_string()))
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub org: Id,
    pub labels: Vec<Item<PLabel, Label>>,
    pub buckets: Vec<Item<PBucket, Bucket>>,
    pub dashboards: Vec<Item<PDashboard, ExistingDashboard>>,
    pub variables: Vec<Item<PVariable, Variable>>,
    pub mappings: Vec<MappingPlan>,
    pub removals: Vec<MappingRemoval>,
    pub skipped: Vec<PSkipped>,
    pub missing_env: Vec<String>,
}

fn label_stub(meta: &str) -> PLabel {
    PLabel {
        meta: meta.into(),
        name: meta.into(),
        color: String::new(),
        description: String::new(),
        env: Vec::new(),
    }
}

fn bucket_stub(meta: &str) -> PBucket {
    PBucket {
        meta: meta.into(),
        name: meta.into(),
        description: String::new(),
        retention_rules: None,
        labels: Vec::new(),
        env: Vec::new(),
    }
}

fn variable_stub(meta: &str) -> PVariable {
    PVariable {
        meta: meta.into(),
        name: meta.into(),
        description: String::new(),
        kind: String::new(),
        query: String::new(),
        language: String::new(),
        constants: Vec::new(),
        map: Default::default(),
        selected: Vec::new(),
        labels: Vec::new(),
        env: Vec::new(),
    }
}

fn dashboard_stub(meta: &str) -> PDashboard {
    PDashboard {
        meta: meta.into(),
        name: meta.into(),
        description: String::new(),
        charts: Vec::new(),
        labels: Vec::new(),
        env: Vec::new(),
    }
}

impl Plan {
    /// pkger's dry run: what the template and the stack (if any) would do.
    pub fn build(
        store: &dyn StoreRead,
        org: Id,
        graph: &Graph,
        stack: Option<&Stack>,
        skips: &Skips,
    ) -> Result<Plan> {
        let mut plan = Plan {
            org,
            labels: Vec::new(),
            buckets: Vec::new(),
            dashboards: Vec::new(),
            variables: Vec::new(),
            mappings: Vec::new(),
            removals: Vec::new(),
            skipped: graph
                .skipped
                .iter()
                .filter(|s| !skips.skip(s.kind, &s.meta))
                .cloned()
                .collect(),
            missing_env: graph.missing_env_refs(),
        };
        for l in &graph.labels {
            if !skips.skip(Kind::Label, &l.meta) {
                plan.labels.push(Item::new(l.clone()));
            }
        }
        let kept: HashSet<String> = plan.labels.iter().map(|l| l.p.meta.clone()).collect();
        let keep_labels = |ls: &[String]| -> Vec<String> {
            ls.iter().filter(|m| kept.contains(*m)).cloned().collect()
        };
        for b in &graph.buckets {
            if !skips.skip(Kind::Bucket, &b.meta) {
                let mut b = b.clone();
                b.labels = keep_labels(&b.labels);
                plan.buckets.push(Item::new(b));
            }
        }
        for v in &graph.variables {
            if !skips.skip(Kind::Variable, &v.meta) {
                let mut v = v.clone();
                v.labels = keep_labels(&v.labels);
                plan.variables.push(Item::new(v));
            }
        }
        for d in &graph.dashboards {
            if !skips.skip(Kind::Dashboard, &d.meta) {
                let mut d = d.clone();
                d.labels = keep_labels(&d.labels);
                plan.dashboards.push(Item::new(d));
            }
        }

        if let Some(stack) = stack {
            plan.add_stack_state(stack);
        }

        for l in &mut plan.labels {
            let found = match l.id {
                Some(id) => store.label(id)?,
                None => store.label_by_name(org, &l.p.name)?,
            };
            if l.status == Status::New && found.is_some() {
                l.status = Status::Exists;
            }
            l.existing = found;
        }
        let buckets: Vec<Bucket> = store
            .buckets()?
            .into_iter()
            .filter(|b| b.org_id == org)
            .collect();
        for b in &mut plan.buckets {
            let found = match b.id {
                Some(id) => store.bucket(id)?,
                None => buckets.iter().find(|x| x.name == b.p.name).cloned(),
            };
            if b.status == Status::New && found.is_some() {
                b.status = Status::Exists;
            }
            b.existing = found;
        }
        for v in &mut plan.variables {
            let found = match v.id {
                Some(id) => store.variable(id)?,
                None => store.variable_by_name(org, &v.p.name)?,
            };
            if v.status == Status::New && found.is_some() {
                v.status = Status::Exists;
            }
            v.existing = found;
        }
        for d in &mut plan.dashboards {
            let Some(id) = d.id else { continue };
            if let Some(dashboard) = store.dashboard(id)? {
                let views = store.views(id)?.into_iter().collect();
                if d.status == Status::New {
                    d.status = Status::Exists;
                }
                d.existing = Some(ExistingDashboard { dashboard, views });
            }
        }
        plan.plan_mappings(store)?;
        Ok(plan)
    }

    /// Resources the stack recorded: found again by metadata name, or to be
    /// removed; label associations it recorded but the template dropped are
    /// to be taken off.
    fn add_stack_state(&mut self, stack: &Stack) {
        let resources = stack.latest().resources;
        for r in &resources {
            let Some(kind) = Kind::parse(&r.kind) else {
                continue;
            };
            let meta = r.meta_name.as_str();
            macro_rules! reconcile {
                ($items:expr, $stub:expr) => {
                    match $items.iter_mut().find(|i| i.p.meta == meta) {
                        Some(i) => {
                            i.id = Some(r.id);
                            i.status = Status::Exists;
                        }
                        None => $items.push(Item::stub($stub(meta), r.id)),
                    }
                };
            }
            match kind {
                Kind::Label => reconcile!(self.labels, label_stub),
                Kind::Bucket => reconcile!(self.buckets, bucket_stub),
                Kind::Dashboard => reconcile!(self.dashboards, dashboard_stub),
                Kind::Variable => reconcile!(self.variables, variable_stub),
                _ => {}
            }
        }
        let label_ids: HashMap<&str, Id> = resources
            .iter()
            .filter(|r| r.kind == Kind::Label.as_str())
            .map(|r| (r.meta_name.as_str(), r.id))
            .collect();
        for r in &resources {
            let Some(kind) = Kind::parse(&r.kind) else {
                continue;
            };
            let current = self.labels_of(kind, &r.meta_name);
            for a in &r.associations {
                if a.kind != Kind::Label.as_str() || current.contains(&a.meta_name) {
                    continue;
                }
                self.removals.push(MappingRemoval {
                    kind,
                    resource_id: r.id,
                    resource_meta: r.meta_name.clone(),
                    label_id: label_ids.get(a.meta_name.as_str()).copied(),
                    label_meta: a.meta_name.clone(),
                });
            }
        }
    }

    fn labels_of(&self, kind: Kind, meta: &str) -> Vec<String> {
        match kind {
            Kind::Bucket => self
                .buckets
                .iter()
                .find(|b| b.p.meta == meta && b.status != Status::Remove)
                .map(|b| b.p.labels.clone()),
            Kind::Dashboard => self
                .dashboards
                .iter()
                .find(|d| d.p.meta == meta && d.status != Status::Remove)
                .map(|d| d.p.labels.clone()),
            Kind::Variable => self
                .variables
                .iter()
                .find(|v| v.p.meta == meta && v.status != Status::Remove)
                .map(|v| v.p.labels.clone()),
            _ => None,
        }
        .unwrap_or_default()
    }

    /// Which label mappings exist already and which are new.
    fn plan_mappings(&mut self, store: &dyn StoreRead) -> Result<()> {
        let by_name: HashMap<String, String> = self
            .labels
            .iter()
            .filter(|l| l.status != Status::Remove)
            .map(|l| (l.p.name.clone(), l.p.meta.clone()))
            .collect();
        let label_name: HashMap<String, String> = self
            .labels
            .iter()
            .map(|l| (l.p.meta.clone(), l.p.name.clone()))
            .collect();
        let mut resources: Vec<Labelled> = Vec::new();
        for b in self.buckets.iter().filter(|b| b.status != Status::Remove) {
            resources.push((
                Kind::Bucket,
                b.p.meta.clone(),
                b.status,
                b.current_id(),
                b.p.labels.clone(),
            ));
        }
        for d in self
            .dashboards
            .iter()
            .filter(|d| d.status != Status::Remove)
        {
            resources.push((
                Kind::Dashboard,
                d.p.meta.clone(),
                d.status,
                d.current_id(),
                d.p.labels.clone(),
            ));
        }
        for v in self.variables.iter().filter(|v| v.status != Status::Remove) {
            resources.push((
                Kind::Variable,
                v.p.meta.clone(),
                v.status,
                v.current_id(),
                v.p.labels.clone(),
            ));
        }
        for (kind, meta, status, id, labels) in resources {
            let mut wanted: Vec<(String, String)> = labels
                .iter()
                .map(|m| (label_name.get(m).cloned().unwrap_or_default(), m.clone()))
                .collect();
            if status == Status::Exists {
                if let Some(id) = id {
                    for m in store.label_mappings_of_resource(id)? {
                        let Some(l) = store.label(m.label_id)? else {
                            continue;
                        };
                        wanted.retain(|(name, _)| *name != l.name);
                        if let Some(label_meta) = by_name.get(&l.name) {
                            self.mappings.push(MappingPlan {
                                status: Status::Exists,
                                kind,
                                resource_meta: meta.clone(),
                                label_meta: label_meta.clone(),
                            });
                        }
                    }
                }
            }
            for (_, label_meta) in wanted {
                self.mappings.push(MappingPlan {
                    status: Status::New,
                    kind,
                    resource_meta: meta.clone(),
                    label_meta,
                });
            }
        }
        Ok(())
    }

    /// The resource types the plan writes, for the permission check.
    pub fn kinds(&self) -> BTreeSet<&'static str> {
        let mut k = BTreeSet::new();
        if !self.labels.is_empty() || !self.mappings.is_empty() || !self.removals.is_empty() {
            k.insert("labels");
        }
        if !self.buckets.is_empty() {
            k.insert("buckets");
        }
        if !self.dashboards.is_empty() {
            k.insert("dashboards");
        }
        if !self.variables.is_empty() {
            k.insert("variables");
        }
        for m in self
            .mappings
            .iter()
            .map(|m| m.kind)
            .chain(self.removals.iter().map(|r| r.kind))
        {
            k.insert(m.resource_type());
        }
        k
    }

    pub fn require(&self, actor: &Actor, action: Action) -> Result<()> {
        for kind in self.kinds() {
            actor.require(action, kind, Some(self.org), None)?;
        }
        Ok(())
    }

    fn label_id(&self, meta: &str) -> Option<Id> {
        self.labels
            .iter()
            .find(|l| l.p.meta == meta && l.status != Status::Remove)
            .and_then(Item::current_id)
    }

    fn resource(&self, kind: Kind, meta: &str) -> (Option<Id>, String) {
        match kind {
            Kind::Bucket => self
                .buckets
                .iter()
                .find(|b| b.p.meta == meta)
                .map(|b| (b.current_id(), b.p.name.clone())),
            Kind::Dashboard => self
                .dashboards
                .iter()
                .find(|d| d.p.meta == meta)
                .map(|d| (d.current_id(), d.p.name.clone())),
            Kind::Variable => self
                .variables
                .iter()
                .find(|v| v.p.meta == meta)
                .map(|v| (v.current_id(), v.p.name.clone())),
            _ => None,
        }
        .unwrap_or((None, String::new()))
    }

    /// The store changes that carry the plan out; assigns IDs to what it
    /// creates. `user` becomes the owner of new dashboards.
    pub fn changes(&mut self, store: &dyn StoreRead, user: Id) -> Result<Vec<Change>> {
        let org = self.org;
        let now = Timestamp::now();
        let mut out = Vec::new();

        for l in &mut self.labels {
            match (l.status, l.existing.clone()) {
                (Status::Remove, Some(e)) => out.push(Change::DeleteLabel {
                    id: e.id,
                    org: e.org_id,
                    name: e.name,
                }),
                (Status::Remove, None) => {}
                (_, existing) => {
                    let id = match &existing {
                        Some(e) => e.id,
                        None => store.new_id(),
                    };
                    if let Some(other) = store.label_by_name(org, &l.p.name)? {
                        if other.id != id {
                            return Err(Error::conflict(format!(
                                "label with name {} already exists",
                                l.p.name
                            )));
                        }
                    }
                    let mut properties: Properties = existing
                        .as_ref()
                        .map(|e| e.properties.clone())
                        .unwrap_or_default();
                    for (k, v) in [("color", &l.p.color), ("description", &l.p.description)] {
                        if v.is_empty() {
                            properties.remove(k);
                        } else {
                            properties.insert(k.into(), v.clone());
                        }
                    }
                    let label = Label {
                        id,
                        org_id: org,
                        name: l.p.name.clone(),
                        properties,
                    };
                    if existing.as_ref() != Some(&label) {
                        out.push(Change::PutLabel {
                            label,
                            previous_name: existing.map(|e| e.name),
                        });
                    }
                    l.id = Some(id);
                }
            }
        }

        let buckets: Vec<Bucket> = store
            .buckets()?
            .into_iter()
            .filter(|b| b.org_id == org)
            .collect();
        for b in &mut self.buckets {
            match (b.status, b.existing.clone()) {
                (Status::Remove, Some(e)) => {
                    for m in store.label_mappings_of_resource(e.id)? {
                        out.push(Change::DeleteLabelMapping {
                            resource: e.id,
                            label: m.label_id,
                        });
                    }
                    out.push(Change::DeleteBucket(e.id));
                }
                (Status::Remove, None) => {}
                (_, existing) => {
                    let id = existing
                        .as_ref()
                        .map(|e| e.id)
                        .unwrap_or_else(|| store.new_id());
                    if buckets.iter().any(|x| x.name == b.p.name && x.id != id) {
                        return Err(Error::conflict(format!(
                            "bucket with name {} already exists",
                            b.p.name
                        )));
                    }
                    let bucket = Bucket {
                        id,
                        org_id: org,
                        name: b.p.name.clone(),
                        description: b.p.description.clone(),
                        retention_seconds: u64::try_from(b.p.retention_seconds()).unwrap_or(0),
                        created_at: existing.as_ref().map(|e| e.created_at).unwrap_or(now),
                        updated_at: now,
                    };
                    out.push(Change::PutBucket(bucket));
                    b.id = Some(id);
                }
            }
        }

        for v in &mut self.variables {
            match (v.status, v.existing.clone()) {
                (Status::Remove, Some(e)) => out.push(Change::DeleteVariable {
                    id: e.id,
                    org: e.org_id,
                    name: e.name,
                }),
                (Status::Remove, None) => {}
                (_, existing) => {
                    let invalid = |msg: String| {
                        Error::new(
                            crate::error::Code::UnprocessableEntity,
                            format!("variable {:?}: {msg}", v.p.meta),
                        )
                    };
                    let name = check_variable_name(&v.p.name).map_err(|e| invalid(e.message))?;
                    let args =
                        v.p.arguments()
                            .ok_or_else(|| invalid("invalid arguments type".into()))?;
                    let arguments = Arguments::parse(&args).map_err(|e| invalid(e.message))?;
                    let id = existing
                        .as_ref()
                        .map(|e| e.id)
                        .unwrap_or_else(|| store.new_id());
                    if let Some(other) = store.variable_by_name(org, &name)? {
                        if other.id != id {
                            return Err(Error::conflict(format!(
                                "variable with name {name} already exists"
                            )));
                        }
                    }
                    let variable = Variable {
                        id,
                        org_id: org,
                        name,
                        description: v.p.description.clone(),
                        selected: Some(v.p.selected.clone()),
                        arguments,
                        created_at: existing.as_ref().map(|e| e.created_at).unwrap_or(now),
                        updated_at: now,
                    };
                    out.push(Change::PutVariable {
                        variable,
                        previous_name: existing.map(|e| e.name),
                    });
                    v.id = Some(id);
                }
            }
        }

        for d in &mut self.dashboards {
            match (d.status, d.existing.clone()) {
                (Status::Remove, Some(e)) => out.push(Change::DeleteDashboard {
                    id: e.dashboard.id,
                    org: e.dashboard.org_id,
                }),
                (Status::Remove, None) => {}
                (_, existing) => {
                    let (id, created_at, old_cells, updated) = match &existing {
                        Some(e) => (
                            e.dashboard.id,
                            e.dashboard.created_at,
                            e.dashboard.cells.clone(),
                            Timestamp::now_after(e.dashboard.updated_at),
                        ),
                        None => (store.new_id(), now, Vec::new(), now),
                    };
                    let mut cells = Vec::new();
                    for (i, c) in d.p.charts.iter().enumerate() {
                        let pos = position(c.x, c.y, c.w, c.h)?;
                        // Charts keep the cell IDs of the charts they replace.
                        let cell_id = old_cells
                            .get(i)
                            .map(|c| c.id)
                            .unwrap_or_else(|| store.new_id());
                        let text = serde_json::to_string(&c.properties).map_err(Error::internal)?;
                        let properties = RawValue::from_string(text).map_err(Error::internal)?;
                        out.push(Change::PutView {
                            dashboard: id,
                            cell: cell_id,
                            view: View {
                                name: c.name.clone(),
                                properties,
                            },
                        });
                        cells.push(Cell { id: cell_id, pos });
                    }
                    for gone in old_cells.iter().skip(cells.len()) {
                        out.push(Change::DeleteView {
                            dashboard: id,
                            cell: gone.id,
                        });
                    }
                    out.push(Change::PutDashboard(Dashboard {
                        id,
                        org_id: org,
                        name: d.p.name.clone(),
                        description: d.p.description.clone(),
                        created_at,
                        updated_at: updated,
                        cells,
                        owner: existing.as_ref().and_then(|e| e.dashboard.owner),
                        // A template rewrites the dashboard outside its
                        // history, so that history starts again here.
                        version: 0,
                        created_by: existing
                            .as_ref()
                            .map_or(Some(user), |e| e.dashboard.created_by),
                        updated_by: Some(user),
                        private: existing.as_ref().is_some_and(|e| e.dashboard.private),
                    }));
                    if existing.is_some() {
                        out.push(Change::DeleteVersions {
                            dashboard: id,
                            below: u64::MAX,
                        });
                    }
                    if existing.is_none() {
                        out.push(Change::PutMapping(Mapping {
                            resource_type: "dashboards".into(),
                            resource_id: id,
                            user_id: user,
                            role: Role::Owner,
                        }));
                    }
                    d.id = Some(id);
                }
            }
        }

        for m in &self.mappings {
            if m.status != Status::New {
                continue;
            }
            let (Some(label), (Some(resource), _)) = (
                self.label_id(&m.label_meta),
                self.resource(m.kind, &m.resource_meta),
            ) else {
                continue;
            };
            if store.label_mapping(resource, label)?.is_none() {
                out.push(Change::PutLabelMapping(LabelMapping {
                    label_id: label,
                    resource_id: resource,
                    resource_type: m.kind.resource_type().into(),
                }));
            }
        }
        for r in &self.removals {
            if let Some(label) = r.label_id {
                out.push(Change::DeleteLabelMapping {
                    resource: r.resource_id,
                    label,
                });
            }
        }
        Ok(out)
    }

    /// What the stack records after a successful apply.
    pub fn stack_resources(&self) -> Vec<StackResource> {
        let assoc = |labels: &[String]| -> Vec<StackAssociation> {
            labels
                .iter()
                .map(|m| StackAssociation {
                    kind: Kind::Label.as_str().into(),
                    meta_name: m.clone(),
                })
                .collect()
        };
        let mut out = Vec::new();
        let mut push = |kind: Kind, id: Option<Id>, meta: &str, labels: &[String]| {
            if let Some(id) = id {
                out.push(StackResource {
                    api_version: API_VERSION.into(),
                    id,
                    kind: kind.as_str().into(),
                    meta_name: meta.into(),
                    associations: assoc(labels),
                });
            }
        };
        for l in self.labels.iter().filter(|l| l.status != Status::Remove) {
            push(Kind::Label, l.current_id(), &l.p.meta, &[]);
        }
        for b in self.buckets.iter().filter(|b| b.status != Status::Remove) {
            push(Kind::Bucket, b.current_id(), &b.p.meta, &b.p.labels);
        }
        for v in self.variables.iter().filter(|v| v.status != Status::Remove) {
            push(Kind::Variable, v.current_id(), &v.p.meta, &v.p.labels);
        }
        for d in self
            .dashboards
            .iter()
            .filter(|d| d.status != Status::Remove)
        {
            push(Kind::Dashboard, d.current_id(), &d.p.meta, &d.p.labels);
        }
        sort_resources(&mut out);
        out
    }

    fn summary_label(&self, l: &Item<PLabel, Label>) -> SummaryLabel {
        SummaryLabel {
            kind: "Label",
            meta_name: l.p.meta.clone(),
            env_references: l.p.env.clone(),
            id: l.safe_id(),
            org_id: self.org.get(),
            name: l.p.name.clone(),
            properties: super::wire::LabelProperties {
                color: l.p.color.clone(),
                description: l.p.description.clone(),
            },
        }
    }

    fn label_summaries(&self, metas: &[String]) -> Vec<SummaryLabel> {
        metas
            .iter()
            .filter_map(|m| {
                self.labels
                    .iter()
                    .find(|l| l.p.meta == *m && l.status != Status::Remove)
            })
            .map(|l| self.summary_label(l))
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let org = self.org.get();
        let mut s = Summary {
            missing_env_refs: self.missing_env.clone(),
            ..Summary::default()
        };
        for l in self.labels.iter().filter(|l| l.status != Status::Remove) {
            s.labels.push(self.summary_label(l));
        }
        for b in self.buckets.iter().filter(|b| b.status != Status::Remove) {
            s.buckets.push(SummaryBucket {
                kind: "Bucket",
                meta_name: b.p.meta.clone(),
                env_references: b.p.env.clone(),
                id: b.safe_id(),
                org_id: org,
                name: b.p.name.clone(),
                description: b.p.description.clone(),
                retention_period: b.p.retention_seconds().saturating_mul(1_000_000_000),
                label_associations: self.label_summaries(&b.p.labels),
            });
        }
        for d in self
            .dashboards
            .iter()
            .filter(|d| d.status != Status::Remove)
        {
            let charts: Vec<SummaryChart> =
                d.p.charts
                    .iter()
                    .map(|c| SummaryChart {
                        properties: Value::Object(c.properties.clone()),
                        x_pos: c.x,
                        y_pos: c.y,
                        height: c.h,
                        width: c.w,
                    })
                    .collect();
            s.dashboards.push(SummaryDashboard {
                kind: "Dashboard",
                meta_name: d.p.meta.clone(),
                env_references: d.p.env.clone(),
                id: d.safe_id(),
                org_id: org,
                name: d.p.name.clone(),
                description: d.p.description.clone(),
                charts: (!charts.is_empty()).then_some(charts),
                label_associations: self.label_summaries(&d.p.labels),
            });
        }
        for v in self.variables.iter().filter(|v| v.status != Status::Remove) {
            s.variables.push(SummaryVariable {
                kind: "Variable",
                meta_name: v.p.meta.clone(),
                env_references: v.p.env.clone(),
                id: v.safe_id(),
                org_id: org,
                name: v.p.name.clone(),
                description: v.p.description.clone(),
                variables: v.p.selected.clone(),
                arguments: v.p.arguments(),
                label_associations: self.label_summaries(&v.p.labels),
            });
        }
        for m in &self.mappings {
            let (rid, rname) = self.resource(m.kind, &m.resource_meta);
            let label = self.labels.iter().find(|l| l.p.meta == m.label_meta);
            s.label_mappings.push(SummaryLabelMapping {
                status: m.status.as_str().into(),
                resource_id: rid.map(Id::get).unwrap_or(0),
                resource_meta_name: m.resource_meta.clone(),
                resource_name: rname,
                resource_type: m.kind.resource_type(),
                label_meta_name: m.label_meta.clone(),
                label_name: label.map(|l| l.p.name.clone()).unwrap_or_default(),
                label_id: label.map(|l| l.safe_id()).unwrap_or(0),
            });
        }
        s.label_mappings.sort_by(|a, b| {
            (a.resource_type, &a.resource_meta_name, &a.label_name).cmp(&(
                b.resource_type,
                &b.resource_meta_name,
                &b.label_name,
            ))
        });
        for k in &self.skipped {
            s.skipped_resources.push(SkippedResource {
                kind: k.kind.as_str().into(),
                meta_name: k.meta.clone(),
                name: k.name.clone(),
                reason: format!(
                    "Tessera stores dashboards, labels, variables and buckets; {} resources are not run, so this one was not created",
                    k.kind.as_str()
                ),
            });
        }
        s
    }

    pub fn diff(&self) -> super::wire::Diff {
        let mut d = super::wire::Diff::default();
        let ident = |id: u64, status: Status, meta: &str, kind: &'static str| DiffIdentifier {
            id,
            state_status: status.as_str(),
            meta_name: meta.into(),
            kind,
        };
        let rules = |secs: u64| {
            (secs > 0).then(|| {
                vec![RetentionRule {
                    kind: "expire".into(),
                    every_seconds: secs as i64,
                }]
            })
        };
        for b in &self.buckets {
            d.buckets.push(DiffBucket {
                ident: ident(b.safe_id(), b.status, &b.p.meta, "Bucket"),
                new: DiffBucketValues {
                    name: b.p.name.clone(),
                    description: b.p.description.clone(),
                    retention_rules: b.p.retention_rules.clone(),
                },
                old: b.existing.as_ref().map(|e| DiffBucketValues {
                    name: e.name.clone(),
                    description: e.description.clone(),
                    retention_rules: rules(e.retention_seconds),
                }),
            });
        }
        for x in &self.dashboards {
            d.dashboards.push(DiffDashboard {
                ident: ident(x.safe_id(), x.status, &x.p.meta, "Dashboard"),
                new: DiffDashboardValues {
                    name: x.p.name.clone(),
                    description: x.p.description.clone(),
                    // pkger leaves new charts' positions out of the diff.
                    charts: x
                        .p
                        .charts
                        .iter()
                        .map(|c| SummaryChart {
                            properties: Value::Object(c.properties.clone()),
                            x_pos: 0,
                            y_pos: 0,
                            height: c.h,
                            width: c.w,
                        })
                        .collect(),
                },
                old: x.existing.as_ref().map(|e| DiffDashboardValues {
                    name: e.dashboard.name.clone(),
                    description: e.dashboard.description.clone(),
                    charts: e
                        .dashboard
                        .cells
                        .iter()
                        .map(|c| SummaryChart {
                            properties: e
                                .views
                                .get(&c.id)
                                .and_then(|v| serde_json::from_str(v.properties.get()).ok())
                                .unwrap_or(Value::Null),
                            x_pos: c.pos.x.into(),
                            y_pos: c.pos.y.into(),
                            height: c.pos.h.into(),
                            width: c.pos.w.into(),
                        })
                        .collect(),
                }),
            });
        }
        for l in &self.labels {
            d.labels.push(DiffLabel {
                ident: ident(l.safe_id(), l.status, &l.p.meta, "Label"),
                new: DiffLabelValues {
                    name: l.p.name.clone(),
                    color: l.p.color.clone(),
                    description: l.p.description.clone(),
                },
                old: l.existing.as_ref().map(|e| DiffLabelValues {
                    name: e.name.clone(),
                    color: e.properties.get("color").cloned().unwrap_or_default(),
                    description: e.properties.get("description").cloned().unwrap_or_default(),
                }),
            });
        }
        for m in &self.mappings {
            let (rid, rname) = self.resource(m.kind, &m.resource_meta);
            let label = self.labels.iter().find(|l| l.p.meta == m.label_meta);
            d.label_mappings.push(DiffLabelMapping {
                state_status: m.status.as_str(),
                resource_type: m.kind.resource_type(),
                resource_id: rid.map(Id::get).unwrap_or(0),
                resource_name: rname,
                resource_meta_name: m.resource_meta.clone(),
                label_id: label.map(|l| l.safe_id()).unwrap_or(0),
                label_name: label.map(|l| l.p.name.clone()).unwrap_or_default(),
                label_meta_name: m.label_meta.clone(),
            });
        }
        for v in &self.variables {
            d.variables.push(DiffVariable {
                ident: ident(v.safe_id(), v.status, &v.p.meta, "Variable"),
                new: DiffVariableValues {
                    name: v.p.name.clone(),
                    description: v.p.description.clone(),
                    args: v.p.arguments(),
                },
                old: v.existing.as_ref().map(|e| DiffVariableValues {
                    name: e.name.clone(),
                    description: e.description.clone(),
                    args: serde_json::to_value(&e.arguments).ok(),
                }),
            });
        }
        for r in &self.removals {
            d.label_mappings.push(DiffLabelMapping {
                state_status: Status::Remove.as_str(),
                resource_type: r.kind.resource_type(),
                resource_id: r.resource_id.get(),
                resource_name: String::new(),
                resource_meta_name: r.resource_meta.clone(),
                label_id: r.label_id.map(Id::get).unwrap_or(0),
                label_name: String::new(),
                label_meta_name: r.label_meta.clone(),
            });
        }
        d.label_mappings.sort_by(|a, b| {
            (a.resource_type, &a.resource_meta_name, &a.label_name).cmp(&(
                b.resource_type,
                &b.resource_meta_name,
                &b.label_name,
            ))
        });
        d
    }
}

fn position(x: i64, y: i64, w: i64, h: i64) -> Result<Position> {
    let conv = |v: i64| {
        i32::try_from(v).map_err(|_| Error::invalid(format!("chart position {v} is out of range")))
    };
    let pos = Position {
        x: conv(x)?,
        y: conv(y)?,
        w: conv(w)?,
        h: conv(h)?,
    };
    validate_position(&pos)?;
    Ok(pos)
}
