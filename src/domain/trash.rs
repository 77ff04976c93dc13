//! The dashboard trash. Deleting a dashboard moves it — grid, views,
//! owners and members, label mappings and history — into one trash record
//! in the same atomic write, and drops every live key, so InfluxDB routes
//! answer 404 as before. Restoring moves it back under the same ID; purging
//! (by hand, by `--trash-retention` or by deleting the org) drops it.

use super::dashboard::{visible, Dashboard, Tagged};
use super::history::{author, Author, Edit, Version};
use super::label::LabelMapping;
use super::member::Mapping;
use super::org::ERR_ORG_NOT_FOUND;
use super::time::Timestamp;
use super::view::View;
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::error::{Error, Result};
use crate::id::Id;
use crate::store::{Change, StoreRead};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const ERR_TRASHED_NOT_FOUND: &str = "dashboard not found in the trash";

/// How long deleted dashboards stay in the trash.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// A deleted dashboard with everything it had, stored as one record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trashed {
    pub dashboard: Dashboard,
    pub views: Vec<(Id, View)>,
    pub members: Vec<Mapping>,
    pub labels: Vec<LabelMapping>,
    pub versions: Vec<Version>,
    #[serde(rename = "deletedAt")]
    pub deleted_at: Timestamp,
    #[serde(rename = "deletedBy")]
    pub deleted_by: Author,
}

fn load_trashed(store: &dyn StoreRead, id: Id) -> Result<Trashed> {
    store
        .trashed(id)?
        .ok_or_else(|| Error::not_found(ERR_TRASHED_NOT_FOUND))
}

/// A private dashboard stays private in the trash.
fn shown(actor: &Actor, t: &Trashed) -> Result<bool> {
    visible(actor, &t.dashboard, || Ok(t.members.clone()))
}

fn load_trashed_for(store: &dyn StoreRead, actor: &Actor, id: Id) -> Result<Trashed> {
    let t = load_trashed(store, id)?;
    if !shown(actor, &t)? {
        return Err(Error::not_found(ERR_TRASHED_NOT_FOUND));
    }
    Ok(t)
}

impl Service {
    /// The changes that delete `d`: into the trash, or for good when the
    /// trash is off (`--trash-retention 0`).
    pub(super) fn trash_dashboard(
        &self,
        store: &dyn StoreRead,
        actor: &Actor,
        d: Dashboard,
    ) -> Result<Vec<Change>> {
        let delete = Change::DeleteDashboard {
            id: d.id,
            org: d.org_id,
        };
        if self.settings.trash_retention.is_none() {
            return Ok(vec![delete]);
        }
        let t = Trashed {
            views: store.views(d.id)?,
            members: store.mappings_of_resource(d.id)?,
            labels: store.label_mappings_of_resource(d.id)?,
            versions: store.versions(d.id, 0)?,
            deleted_at: Timestamp::now(),
            deleted_by: author(store, actor)?,
            dashboard: d,
        };
        Ok(vec![delete, Change::PutTrash(Box::new(t))])
    }

    /// `GET /api/v2/trash/dashboards?orgID=…`: needs read on the org's
    /// dashboards.
    pub fn list_trash(&self, actor: &Actor, org: Id) -> Result<Vec<Trashed>> {
        self.read(|store| {
            if store.org(org)?.is_none() {
                return Err(Error::not_found(ERR_ORG_NOT_FOUND));
            }
            actor.require(Action::Read, "dashboards", Some(org), None)?;
            let mut out = Vec::new();
            for t in store.trash(Some(org))? {
                if shown(actor, &t)? {
                    out.push(t);
                }
            }
            Ok(out)
        })
    }

    /// `POST /api/v2/trash/dashboards/{id}/restore`: the dashboard comes
    /// back under its ID with its views, members, labels (those that still
    /// exist) and history, plus a version that records the restore.
    pub fn restore_trashed(&self, actor: &Actor, id: Id) -> Result<Tagged<Dashboard>> {
        self.write(|store| {
            let t = load_trashed_for(store, actor, id)?;
            let org = t.dashboard.org_id;
            actor.require(Action::Write, "dashboards", Some(org), None)?;
            if store.org(org)?.is_none() {
                return Err(Error::conflict(format!(
                    "dashboard {id} cannot be restored: its organization no longer exists"
                )));
            }
            if store.dashboard(id)?.is_some() {
                return Err(Error::conflict(format!(
                    "dashboard {id} cannot be restored: a dashboard with this ID exists"
                )));
            }
            let mut changes = vec![Change::DeleteTrash { id, org }];
            for (cell, view) in t.views {
                changes.push(Change::PutView {
                    dashboard: id,
                    cell,
                    view,
                });
            }
            for m in t.members {
                if store.user(m.user_id)?.is_some() {
                    changes.push(Change::PutMapping(m));
                }
            }
            for m in t.labels {
                if store.label(m.label_id)?.is_some() {
                    changes.push(Change::PutLabelMapping(m));
                }
            }
            for version in t.versions {
                changes.push(Change::PutVersion {
                    dashboard: id,
                    version,
                });
            }
            let before = t.dashboard;
            let mut d = before.clone();
            d.updated_at = Timestamp::now_after(before.updated_at);
            changes.extend(self.record_version(
                store,
                actor,
                Some(&before),
                &mut d,
                Edit::new("restored from the trash"),
            )?);
            changes.push(Change::PutDashboard(d.clone()));
            Ok((Tagged::of(d.clone(), &d), changes))
        })
    }

    /// `DELETE /api/v2/trash/dashboards/{id}`: gone for good.
    pub fn purge_trashed(&self, actor: &Actor, id: Id) -> Result<()> {
        self.write(|store| {
            let t = load_trashed_for(store, actor, id)?;
            let org = t.dashboard.org_id;
            actor.require(Action::Write, "dashboards", Some(org), None)?;
            Ok(((), vec![Change::DeleteTrash { id, org }]))
        })
    }

    /// Purges what has been in the trash longer than the retention;
    /// returns how many dashboards went.
    pub fn prune_trash(&self, now: Timestamp) -> Result<usize> {
        let Some(retention) = self.settings.trash_retention else {
            return Ok(0);
        };
        let age = i64::try_from(retention.as_nanos()).unwrap_or(i64::MAX);
        let cutoff = Timestamp::from_nanos(now.nanos().saturating_sub(age));
        self.write(|store| {
            let changes: Vec<Change> = store
                .trash(None)?
                .into_iter()
                .filter(|t| t.deleted_at < cutoff)
                .map(|t| Change::DeleteTrash {
                    id: t.dashboard.id,
                    org: t.dashboard.org_id,
                })
                .collect();
            Ok((changes.len(), changes))
        })
    }
}
