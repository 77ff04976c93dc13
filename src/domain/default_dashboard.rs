//! Default dashboards: one a user picks for themself, one an org's owners
//! pick for the org. Deleting the dashboard clears both (the store drops
//! every default naming it with the dashboard).

use crate::error::{Error, Result};
use crate::id::Id;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    User,
    Org,
}

/// Whose default it is (a user's or an org's ID) and which dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultDashboard {
    pub scope: Scope,
    #[serde(rename = "ownerID")]
    pub owner_id: Id,
    #[serde(rename = "dashboardID")]
    pub dashboard_id: Id,
}

#[derive(Debug, Deserialize)]
pub struct SetDefault {
    #[serde(rename = "dashboardID", default)]
    pub dashboard_id: Option<serde_json::Value>,
}

impl SetDefault {
    pub fn dashboard(&self) -> Result<Id> {
        match &self.dashboard_id {
            Some(serde_json::Value::String(s)) => Id::parse(s),
            _ => Err(Error::invalid("dashboardID is required")),
        }
    }
}

/// What a dashboard answer says about defaults, for one reader.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultFlags {
    pub for_user: bool,
    pub for_org: bool,
}

// ---- rules ---------------------------------------------------------------

use super::dashboard::{load_visible, Dashboard, ERR_DASHBOARD_NOT_FOUND};
use super::org::ERR_ORG_NOT_FOUND;
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::store::{Change, StoreRead};
use std::collections::HashMap;

/// The defaults that matter to one reader: their own and those of the
/// orgs of the dashboards they read.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    user: Option<Id>,
    orgs: HashMap<Id, Id>,
}

impl Defaults {
    pub fn flags(&self, d: &Dashboard) -> DefaultFlags {
        self.flags_of(d.id, d.org_id)
    }

    pub fn flags_of(&self, dashboard: Id, org: Id) -> DefaultFlags {
        DefaultFlags {
            for_user: self.user == Some(dashboard),
            for_org: self.orgs.get(&org) == Some(&dashboard),
        }
    }
}

impl Service {
    /// The defaults a reader of dashboards in `orgs` sees. With no other
    /// writer, each owner's default comes from the facts cache, as a GET's
    /// do: a list page read both from the store every time.
    pub(crate) fn defaults_for(
        &self,
        store: &dyn StoreRead,
        actor: &Actor,
        orgs: impl IntoIterator<Item = Id>,
    ) -> Result<Defaults> {
        let cached = self.store.sole_writer();
        let default_of = |owner: Id| -> Result<Option<Id>> {
            if let Some(known) = cached.then(|| self.facts.default_of(owner)).flatten() {
                return Ok(known);
            }
            let seen = self.facts.generation();
            let found = store.default_dashboard(owner)?.map(|d| d.dashboard_id);
            if cached {
                self.facts.insert_default(owner, found, seen);
            }
            Ok(found)
        };
        let mut out = Defaults {
            user: default_of(actor.user_id)?,
            orgs: HashMap::new(),
        };
        for org in orgs {
            if out.orgs.contains_key(&org) {
                continue;
            }
            if let Some(d) = default_of(org)? {
                out.orgs.insert(org, d);
            }
        }
        Ok(out)
    }
}

/// A dashboard the actor may read, or 404 as if it did not exist.
fn readable_dashboard(store: &dyn StoreRead, actor: &Actor, id: Id) -> Result<Dashboard> {
    let d = load_visible(store, actor, id)?;
    if !actor.can(Action::Read, "dashboards", Some(d.org_id), Some(d.id)) {
        return Err(Error::not_found(ERR_DASHBOARD_NOT_FOUND));
    }
    Ok(d)
}

/// Whose default a request is about: the actor's own, or the org's once
/// the actor holds `action` on it.
fn owner(
    store: &dyn StoreRead,
    actor: &Actor,
    scope: Scope,
    org: Id,
    action: Action,
) -> Result<Id> {
    if scope == Scope::User {
        return Ok(actor.user_id);
    }
    if store.org(org)?.is_none() {
        return Err(Error::not_found(ERR_ORG_NOT_FOUND));
    }
    actor.require(action, "orgs", Some(org), Some(org))?;
    Ok(org)
}

fn no_default() -> Error {
    Error::not_found("no default dashboard is set")
}

impl Service {
    /// Defaults for a reader of dashboards in `orgs`.
    pub fn dashboard_defaults(
        &self,
        actor: &Actor,
        orgs: impl IntoIterator<Item = Id>,
    ) -> Result<Defaults> {
        self.read(|store| self.defaults_for(store, actor, orgs))
    }

    /// The default of the actor (`Scope::User`) or of an org; 404 when none
    /// is set or the actor may not see it.
    pub fn default_dashboard(&self, actor: &Actor, scope: Scope, org: Id) -> Result<Id> {
        self.read(|store| {
            let owner = owner(store, actor, scope, org, Action::Read)?;
            let set = store.default_dashboard(owner)?.ok_or_else(no_default)?;
            readable_dashboard(store, actor, set.dashboard_id).map_err(|_| no_default())?;
            Ok(set.dashboard_id)
        })
    }

    pub fn set_default_dashboard(
        &self,
        actor: &Actor,
        scope: Scope,
        org: Id,
        req: SetDefault,
    ) -> Result<Id> {
        let dashboard = req.dashboard()?;
        self.write(|store| {
            let owner = owner(store, actor, scope, org, Action::Write)?;
            let d = readable_dashboard(store, actor, dashboard)?;
            if scope == Scope::Org && d.org_id != org {
                return Err(Error::invalid(format!(
                    "dashboard {dashboard} is not in org {org}"
                )));
            }
            let record = DefaultDashboard {
                scope,
                owner_id: owner,
                dashboard_id: d.id,
            };
            Ok((d.id, vec![Change::PutDefaultDashboard(record)]))
        })
    }

    /// Clearing a default that is not set succeeds.
    pub fn clear_default_dashboard(&self, actor: &Actor, scope: Scope, org: Id) -> Result<()> {
        self.write(|store| {
            let owner = owner(store, actor, scope, org, Action::Write)?;
            let changes = if store.default_dashboard(owner)?.is_some() {
                vec![Change::DeleteDefaultDashboard { owner }]
            } else {
                Vec::new()
            };
            Ok(((), changes))
        })
    }
}
