//! Owners and members of orgs and dashboards (InfluxDB's user resource mappings).

use crate::id::Id;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    #[serde(rename = "resourceID")]
    pub resource_id: Id,
    #[serde(rename = "userID")]
    pub user_id: Id,
    pub role: Role,
}

#[derive(Debug, Deserialize)]
pub struct AddMember {
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    pub name: Option<String>,
}

// ---- rules ---------------------------------------------------------------

use super::dashboard::ERR_DASHBOARD_NOT_FOUND;
use super::org::ERR_ORG_NOT_FOUND;
use super::user::{User, ERR_USER_NOT_FOUND};
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::error::{Error, Result};
use crate::store::{Change, StoreRead};

/// A resource that has owners and members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    Org(Id),
    Dashboard(Id),
}

impl Owned {
    pub fn kind(self) -> &'static str {
        match self {
            Owned::Org(_) => "orgs",
            Owned::Dashboard(_) => "dashboards",
        }
    }

    pub fn id(self) -> Id {
        match self {
            Owned::Org(id) | Owned::Dashboard(id) => id,
        }
    }

    /// The org the resource lives in; 404 when the resource is gone.
    fn org(self, store: &dyn StoreRead) -> Result<Id> {
        match self {
            Owned::Org(id) => store
                .org(id)?
                .map(|o| o.id)
                .ok_or_else(|| Error::not_found(ERR_ORG_NOT_FOUND)),
            Owned::Dashboard(id) => store
                .dashboard(id)?
                .map(|d| d.org_id)
                .ok_or_else(|| Error::not_found(ERR_DASHBOARD_NOT_FOUND)),
        }
    }

    fn require(self, store: &dyn StoreRead, actor: &Actor, action: Action) -> Result<()> {
        if let Owned::Dashboard(id) = self {
            // A private dashboard the actor may not see does not exist.
            return super::dashboard::load_for(store, actor, id, action).map(|_| ());
        }
        let org = self.org(store)?;
        actor.require(action, self.kind(), Some(org), Some(self.id()))
    }
}

/// Parses the `id` of an add-member body the way InfluxDB reports it.
pub fn member_id(body: &AddMember) -> Result<Id> {
    match &body.id {
        Some(serde_json::Value::String(s)) => {
            Id::parse(s).map_err(|_| Error::invalid("user id missing or invalid"))
        }
        _ => Err(Error::invalid("user id missing or invalid")),
    }
}

impl Service {
    pub fn members(&self, actor: &Actor, res: Owned, role: Role) -> Result<Vec<(User, Role)>> {
        let store = self.store.as_ref();
        res.require(store, actor, Action::Read)?;
        let mut out = Vec::new();
        for m in store.mappings_of_resource(res.id())? {
            if m.role != role {
                continue;
            }
            if let Some(u) = store.user(m.user_id)? {
                out.push((u, m.role));
            }
        }
        Ok(out)
    }

    pub fn add_member(&self, actor: &Actor, res: Owned, user: Id, role: Role) -> Result<User> {
        self.write(|store| {
            res.require(store, actor, Action::Write)?;
            let u = store
                .user(user)?
                .ok_or_else(|| Error::not_found(ERR_USER_NOT_FOUND))?;
            let m = Mapping {
                resource_type: res.kind().into(),
                resource_id: res.id(),
                user_id: user,
                role,
            };
            Ok((u, vec![Change::PutMapping(m)]))
        })
    }

    /// Removing someone who holds no such role succeeds, as in InfluxDB.
    pub fn remove_member(&self, actor: &Actor, res: Owned, user: Id, role: Role) -> Result<()> {
        self.write(|store| {
            res.require(store, actor, Action::Write)?;
            let held = store
                .mappings_of_resource(res.id())?
                .into_iter()
                .any(|m| m.user_id == user && m.role == role);
            let mut changes = Vec::new();
            if held {
                changes.push(Change::DeleteMapping {
                    resource: res.id(),
                    user,
                });
                // Custom roles are held only by the org's owners and members.
                if let Owned::Org(org) = res {
                    changes.push(Change::DeleteRoleAssignment { org, user });
                }
            }
            Ok(((), changes))
        })
    }
}
