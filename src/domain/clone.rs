//! `POST /api/v2/dashboards/{id}/clone`: a copy of a dashboard — grid
//! (new cell IDs), views and labels — made in one atomic write, so no half
//! copy is ever visible. Into another org, labels are matched by name and
//! created there when missing.

use super::dashboard::{load_for, Cell, Dashboard, MAX_DESCRIPTION_LEN, MAX_NAME_LEN};
use super::history::Edit;
use super::label::{Label, LabelMapping};
use super::member::{Mapping, Role};
use super::org::ERR_ORG_NOT_FOUND;
use super::time::Timestamp;
use super::view::View;
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::error::{Error, Result};
use crate::id::Id;
use crate::store::Change;
use serde::Deserialize;
use std::collections::HashMap;

/// The body of a clone request; every field is optional.
#[derive(Debug, Default, Deserialize)]
pub struct CloneDashboard {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "orgID", default)]
    pub org_id: Option<Id>,
    #[serde(default)]
    pub description: Option<String>,
}

impl CloneDashboard {
    fn check(&self) -> Result<()> {
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                return Err(Error::invalid("dashboard name is required"));
            }
        }
        let long = |s: &Option<String>, max: u64| {
            s.as_ref()
                .is_some_and(|s| u64::try_from(s.chars().count()).unwrap_or(u64::MAX) > max)
        };
        if long(&self.name, MAX_NAME_LEN) || long(&self.description, MAX_DESCRIPTION_LEN) {
            return Err(Error::invalid(format!(
                "dashboard name must be at most {MAX_NAME_LEN} bytes and description at most {MAX_DESCRIPTION_LEN}"
            )));
        }
        Ok(())
    }
}

impl Service {
    /// Copies a dashboard: needs read on the source and write on dashboards
    /// in the target org. Returns the copy and the labels it carries that
    /// the actor may read.
    pub fn clone_dashboard(
        &self,
        actor: &Actor,
        id: Id,
        req: CloneDashboard,
    ) -> Result<(Dashboard, Vec<Label>)> {
        req.check()?;
        self.write(|store| {
            let src = load_for(store, actor, id, Action::Read)?;
            let org = req.org_id.unwrap_or(src.org_id);
            actor.require(Action::Write, "dashboards", Some(org), None)?;
            if store.org(org)?.is_none() {
                return Err(Error::not_found(ERR_ORG_NOT_FOUND));
            }
            let new_id = store.new_id();
            let now = Timestamp::now();
            let mut changes = Vec::new();
            let mut views: HashMap<Id, View> = store.views(id)?.into_iter().collect();
            let mut cells = Vec::with_capacity(src.cells.len());
            for c in &src.cells {
                let cell = Cell {
                    id: store.new_id(),
                    pos: c.pos,
                };
                let view = views
                    .remove(&c.id)
                    .unwrap_or_else(|| View::empty(String::new()));
                changes.push(Change::PutView {
                    dashboard: new_id,
                    cell: cell.id,
                    view,
                });
                cells.push(cell);
            }
            let mut labels = Vec::new();
            for m in store.label_mappings_of_resource(id)? {
                let Some(label) = store.label(m.label_id)? else {
                    continue;
                };
                let label = if org == src.org_id {
                    label
                } else if let Some(same) = store.label_by_name(org, &label.name)? {
                    same
                } else {
                    let copy = Label {
                        id: store.new_id(),
                        org_id: org,
                        ..label
                    };
                    changes.push(Change::PutLabel {
                        label: copy.clone(),
                        previous_name: None,
                    });
                    copy
                };
                changes.push(Change::PutLabelMapping(LabelMapping {
                    label_id: label.id,
                    resource_id: new_id,
                    resource_type: "dashboards".into(),
                }));
                if actor.can(Action::Read, "labels", Some(org), Some(label.id)) {
                    labels.push(label);
                }
            }
            let mut d = Dashboard {
                id: new_id,
                org_id: org,
                name: req
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{} (clone)", src.name)),
                description: req
                    .description
                    .clone()
                    .unwrap_or_else(|| src.description.clone()),
                created_at: now,
                updated_at: now,
                cells,
                owner: None,
                version: 0,
                created_by: None,
                updated_by: None,
                private: src.private,
            };
            changes.extend(self.record_version(
                store,
                actor,
                None,
                &mut d,
                Edit::new(format!("cloned from {id}")),
            )?);
            changes.push(Change::PutDashboard(d.clone()));
            changes.push(Change::PutMapping(Mapping {
                resource_type: "dashboards".into(),
                resource_id: new_id,
                user_id: actor.user_id,
                role: Role::Owner,
            }));
            labels.sort_by_key(|l| l.id);
            Ok(((d, labels), changes))
        })
    }
}
