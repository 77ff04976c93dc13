//! Labels: named tags with free-form properties (colour, description) that an
//! org puts on its dashboards, and the mappings that attach them.

use crate::error::{Error, Result};
use crate::id::Id;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const ERR_LABEL_NOT_FOUND: &str = "label not found";
/// Taking off a label the resource does not carry: InfluxDB answers 204
/// without looking; Tessera says what happened.
pub const ERR_LABEL_MAPPING_NOT_FOUND: &str = "label mapping not found";

/// Longest label name we accept; InfluxDB sets none, but the name is an index key.
pub const MAX_LABEL_NAME_LEN: usize = 128;

/// String to string, sorted by key as Go encodes a map.
pub type Properties = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub id: Id,
    #[serde(rename = "orgID")]
    pub org_id: Id,
    pub name: String,
    #[serde(default)]
    pub properties: Properties,
}

/// A label on a resource; the store keeps it under both ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelMapping {
    #[serde(rename = "labelID")]
    pub label_id: Id,
    #[serde(rename = "resourceID")]
    pub resource_id: Id,
    #[serde(rename = "resourceType")]
    pub resource_type: String,
}

/// `POST /api/v2/labels`.
#[derive(Debug, Deserialize)]
pub struct CreateLabel {
    #[serde(rename = "orgID", default)]
    pub org_id: Option<Id>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: Option<Properties>,
}

impl CreateLabel {
    /// The org and the trimmed name, checked in InfluxDB's order (name first).
    pub fn check(&self) -> Result<(Id, String)> {
        let name = check_label_name(self.name.as_deref().unwrap_or_default())?;
        let org = self
            .org_id
            .ok_or_else(|| Error::invalid("orgID is required"))?;
        Ok((org, name))
    }
}

/// Trims surrounding whitespace (InfluxDB stores names trimmed), then checks.
pub fn check_label_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("label name is required"));
    }
    if name.len() > MAX_LABEL_NAME_LEN {
        return Err(Error::invalid(format!(
            "label name must be at most {MAX_LABEL_NAME_LEN} bytes"
        )));
    }
    Ok(name.to_string())
}

/// `PATCH /api/v2/labels/{labelID}` (InfluxDB's `LabelUpdate`): an empty or
/// absent name keeps the name; a property set to `""` is removed, the others
/// are merged in. `{}` changes nothing and is not an error.
#[derive(Debug, Default, Deserialize)]
pub struct PatchLabel {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: Option<Properties>,
}

impl PatchLabel {
    /// The new name, if the patch renames.
    pub fn new_name(&self) -> Result<Option<String>> {
        match self.name.as_deref() {
            None | Some("") => Ok(None),
            Some(n) => check_label_name(n).map(Some),
        }
    }

    fn merge_properties(&self, into: &mut Properties) {
        for (k, v) in self.properties.iter().flatten() {
            if v.is_empty() {
                into.remove(k);
            } else {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `POST /api/v2/dashboards/{dashboardID}/labels`.
#[derive(Debug, Deserialize)]
pub struct AddLabel {
    #[serde(rename = "labelID", default)]
    pub label_id: Option<Id>,
}

impl AddLabel {
    pub fn label_id(&self) -> Result<Id> {
        self.label_id
            .ok_or_else(|| Error::invalid("label id is required"))
    }
}

/// Which org `GET /api/v2/labels` lists.
#[derive(Debug, Clone)]
pub enum LabelOrg {
    Id(Id),
    Name(String),
}

#[derive(Debug, Clone, Default)]
pub struct LabelFilter {
    pub org: Option<LabelOrg>,
    /// Matched without case, as InfluxDB does.
    pub name: Option<String>,
}

// ---- rules ---------------------------------------------------------------

use super::dashboard::{self, Dashboard};
use super::org::ERR_ORG_NOT_FOUND;
use super::variable::{self, VARIABLES};
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::store::{Change, StoreRead};
use std::collections::HashMap;

const LABELS: &str = "labels";
const DASHBOARDS: &str = "dashboards";

fn load(store: &dyn StoreRead, id: Id) -> Result<Label> {
    store
        .label(id)?
        .ok_or_else(|| Error::not_found(ERR_LABEL_NOT_FOUND))
}

/// Loads a label the actor may act on: 404 first, then the right.
fn load_for(store: &dyn StoreRead, actor: &Actor, id: Id, action: Action) -> Result<Label> {
    let l = load(store, id)?;
    actor.require(action, LABELS, Some(l.org_id), Some(l.id))?;
    Ok(l)
}

pub(super) fn readable(actor: &Actor, l: &Label) -> bool {
    actor.can(Action::Read, LABELS, Some(l.org_id), Some(l.id))
}

fn name_taken(name: &str) -> Error {
    Error::conflict(format!("label with name {name} already exists"))
}

/// The labels on a resource the actor may read, in label ID order: one prefix
/// scan, and a look-up per label not yet in `seen` (labels are shared, so a
/// list page looks each up once).
pub(super) fn readable_labels_of(
    store: &dyn StoreRead,
    actor: &Actor,
    resource: Id,
    seen: &mut HashMap<Id, Option<Label>>,
) -> Result<Vec<Label>> {
    let ids: Vec<Id> = store
        .label_mappings_of_resource(resource)?
        .iter()
        .map(|m| m.label_id)
        .collect();
    readable_labels(store, actor, &ids, seen)
}

/// The labels of these IDs the actor may read, in the order given; `seen`
/// remembers each label's answer across the resources of one list.
pub(super) fn readable_labels(
    store: &dyn StoreRead,
    actor: &Actor,
    ids: &[Id],
    seen: &mut HashMap<Id, Option<Label>>,
) -> Result<Vec<Label>> {
    let mut out = Vec::new();
    for id in ids {
        let label = match seen.get(id) {
            Some(l) => l.clone(),
            None => {
                let l = store.label(*id)?.filter(|l| readable(actor, l));
                seen.insert(*id, l.clone());
                l
            }
        };
        out.extend(label);
    }
    Ok(out)
}

/// The readable labels on one resource.
pub(super) fn labels_in(store: &dyn StoreRead, actor: &Actor, dashboard: Id) -> Result<Vec<Label>> {
    readable_labels_of(store, actor, dashboard, &mut HashMap::new())
}

impl Service {
    pub fn create_label(&self, actor: &Actor, req: CreateLabel) -> Result<Label> {
        let (org_id, name) = req.check()?;
        actor.require(Action::Write, LABELS, Some(org_id), None)?;
        self.write(|store| {
            if store.org(org_id)?.is_none() {
                return Err(Error::not_found(ERR_ORG_NOT_FOUND));
            }
            if store.label_by_name(org_id, &name)?.is_some() {
                return Err(name_taken(&name));
            }
            let label = Label {
                id: store.new_id(),
                org_id,
                name,
                properties: req.properties.unwrap_or_default(),
            };
            let change = Change::PutLabel {
                label: label.clone(),
                previous_name: None,
            };
            Ok((label, vec![change]))
        })
    }

    pub fn label(&self, actor: &Actor, id: Id) -> Result<Label> {
        self.read(|store| load_for(store, actor, id, Action::Read))
    }

    /// The labels the actor may read, in ID order.
    pub fn list_labels(&self, actor: &Actor, filter: LabelFilter) -> Result<Vec<Label>> {
        let name = filter.name.map(|n| n.to_lowercase());
        self.read(|store| {
            let org = match filter.org {
                Some(LabelOrg::Id(id)) => Some(id),
                Some(LabelOrg::Name(name)) => Some(
                    store
                        .org_by_name(&name)?
                        .ok_or_else(|| Error::not_found(ERR_ORG_NOT_FOUND))?
                        .id,
                ),
                None => None,
            };
            Ok(store
                .labels(org)?
                .into_iter()
                .filter(|l| name.as_ref().is_none_or(|n| l.name.to_lowercase() == *n))
                .filter(|l| readable(actor, l))
                .collect())
        })
    }

    pub fn update_label(&self, actor: &Actor, id: Id, patch: PatchLabel) -> Result<Label> {
        let new_name = patch.new_name()?;
        self.write(|store| {
            let mut label = load_for(store, actor, id, Action::Write)?;
            let before = label.clone();
            if let Some(name) = new_name {
                if let Some(other) = store.label_by_name(label.org_id, &name)? {
                    if other.id != id {
                        return Err(name_taken(&name));
                    }
                }
                label.name = name;
            }
            patch.merge_properties(&mut label.properties);
            if label == before {
                return Ok((label, Vec::new()));
            }
            let change = Change::PutLabel {
                label: label.clone(),
                previous_name: Some(before.name),
            };
            Ok((label, vec![change]))
        })
    }

    /// Deletes the label and takes it off every resource.
    pub fn delete_label(&self, actor: &Actor, id: Id) -> Result<()> {
        self.write(|store| {
            let l = load_for(store, actor, id, Action::Write)?;
            Ok((
                (),
                vec![Change::DeleteLabel {
                    id,
                    org: l.org_id,
                    name: l.name,
                }],
            ))
        })
    }

    /// `GET …/dashboards/{id}/labels`: read on the dashboard; only the labels
    /// the actor may read are listed.
    pub fn dashboard_labels(&self, actor: &Actor, dashboard_id: Id) -> Result<Vec<Label>> {
        self.read(|store| {
            dashboard::load_for(store, actor, dashboard_id, Action::Read)?;
            labels_in(store, actor, dashboard_id)
        })
    }

    /// The readable labels of each dashboard of a list page.
    pub fn labels_of_dashboards(
        &self,
        actor: &Actor,
        dashboards: &[Dashboard],
    ) -> Result<HashMap<Id, Vec<Label>>> {
        self.read(|store| {
            let mut seen = HashMap::new();
            dashboards
                .iter()
                .map(|d| Ok((d.id, readable_labels_of(store, actor, d.id, &mut seen)?)))
                .collect()
        })
    }

    /// Puts a label on a dashboard. As InfluxDB's authorizer: read and write
    /// on the label, write on the dashboard.
    pub fn add_dashboard_label(
        &self,
        actor: &Actor,
        dashboard_id: Id,
        req: AddLabel,
    ) -> Result<Label> {
        self.write(|store| {
            let d = dashboard::load_visible(store, actor, dashboard_id)?;
            let (label, mut changes) =
                attach(store, actor, Labelled::new(DASHBOARDS, d.id, d.org_id), req)?;
            changes.extend(self.record_labels(store, actor, &d, Some(&label), None)?);
            Ok((label, changes))
        })
    }

    /// Takes a label off a dashboard: write on the label and on the dashboard.
    pub fn remove_dashboard_label(
        &self,
        actor: &Actor,
        dashboard_id: Id,
        label_id: Id,
    ) -> Result<()> {
        self.write(|store| {
            let d = dashboard::load_visible(store, actor, dashboard_id)?;
            let ((), mut changes) = detach(
                store,
                actor,
                Labelled::new(DASHBOARDS, d.id, d.org_id),
                label_id,
            )?;
            changes.extend(self.record_labels(store, actor, &d, None, Some(label_id))?);
            Ok(((), changes))
        })
    }

    /// `GET …/variables/{id}/labels`: read on the variable.
    pub fn variable_labels(&self, actor: &Actor, variable_id: Id) -> Result<Vec<Label>> {
        self.read(|store| {
            variable::load_for(store, actor, variable_id, Action::Read)?;
            labels_in(store, actor, variable_id)
        })
    }

    pub fn add_variable_label(
        &self,
        actor: &Actor,
        variable_id: Id,
        req: AddLabel,
    ) -> Result<Label> {
        self.write(|store| {
            let v = variable::load(store, variable_id)?;
            attach(store, actor, Labelled::new(VARIABLES, v.id, v.org_id), req)
        })
    }

    pub fn remove_variable_label(
        &self,
        actor: &Actor,
        variable_id: Id,
        label_id: Id,
    ) -> Result<()> {
        self.write(|store| {
            let v = variable::load(store, variable_id)?;
            detach(
                store,
                actor,
                Labelled::new(VARIABLES, v.id, v.org_id),
                label_id,
            )
        })
    }
}

/// A resource that carries labels.
pub(super) struct Labelled {
    /// The resource type whose rights govern it.
    kind: &'static str,
    /// How its label mappings name it (the same unless `mapped_as`).
    mapping_type: &'static str,
    id: Id,
    org: Id,
}

impl Labelled {
    pub(super) fn new(kind: &'static str, id: Id, org: Id) -> Self {
        Labelled {
            kind,
            mapping_type: kind,
            id,
            org,
        }
    }

    pub(super) fn mapped_as(mut self, mapping_type: &'static str) -> Self {
        self.mapping_type = mapping_type;
        self
    }
}

/// As InfluxDB's authorizer: read and write on the label, write on the resource.
pub(super) fn attach(
    store: &dyn StoreRead,
    actor: &Actor,
    target: Labelled,
    req: AddLabel,
) -> Result<(Label, Vec<Change>)> {
    let label_id = req.label_id()?;
    let label = load_for(store, actor, label_id, Action::Read)?;
    actor.require(Action::Write, LABELS, Some(label.org_id), Some(label.id))?;
    if label.org_id != target.org {
        return Err(Error::invalid(
            "label and resource must belong to the same org",
        ));
    }
    actor.require(
        Action::Write,
        target.kind,
        Some(target.org),
        Some(target.id),
    )?;
    if store.label_mapping(target.id, label.id)?.is_some() {
        return Err(Error::conflict(
            "Cannot add label, label already exists on resource",
        ));
    }
    let mapping = LabelMapping {
        label_id: label.id,
        resource_id: target.id,
        resource_type: target.mapping_type.into(),
    };
    Ok((label, vec![Change::PutLabelMapping(mapping)]))
}

/// Write on the label and on the resource.
pub(super) fn detach(
    store: &dyn StoreRead,
    actor: &Actor,
    target: Labelled,
    label_id: Id,
) -> Result<((), Vec<Change>)> {
    load_for(store, actor, label_id, Action::Write)?;
    actor.require(
        Action::Write,
        target.kind,
        Some(target.org),
        Some(target.id),
    )?;
    if store.label_mapping(target.id, label_id)?.is_none() {
        return Err(Error::not_found(ERR_LABEL_MAPPING_NOT_FOUND));
    }
    Ok((
        (),
        vec![Change::DeleteLabelMapping {
            resource: target.id,
            label: label_id,
        }],
    ))
}
