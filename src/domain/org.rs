//! Organizations: the owners of dashboards.

use super::time::Timestamp;
use crate::error::{Error, Result};
use crate::id::Id;
use serde::{Deserialize, Serialize};

pub const ERR_ORG_NOT_FOUND: &str = "organization not found";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Org {
    pub id: Id,
    pub name: String,
    pub description: String,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize)]
pub struct CreateOrg {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PatchOrg {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

pub fn check_org_name(name: Option<&str>) -> Result<String> {
    let name = name.unwrap_or_default().trim();
    if name.is_empty() {
        return Err(Error::invalid("org name is empty"));
    }
    if name.len() > 256 {
        return Err(Error::invalid("org name must be at most 256 bytes"));
    }
    Ok(name.to_string())
}

// ---- rules ---------------------------------------------------------------

use super::member::{Mapping, Role};
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::store::{Change, DashboardScan, StoreRead};

fn load(store: &dyn StoreRead, id: Id) -> Result<Org> {
    store
        .org(id)?
        .ok_or_else(|| Error::not_found(ERR_ORG_NOT_FOUND))
}

fn load_for(store: &dyn StoreRead, actor: &Actor, id: Id, action: Action) -> Result<Org> {
    let org = load(store, id)?;
    actor.require(action, "orgs", Some(id), Some(id))?;
    Ok(org)
}

fn name_taken(name: &str) -> Error {
    Error::conflict(format!("organization with name {name} already exists"))
}

impl Service {
    /// Creates an org; its creator becomes an owner.
    pub fn create_org(&self, actor: &Actor, req: CreateOrg) -> Result<Org> {
        actor.require(Action::Write, "orgs", None, None)?;
        let name = check_org_name(req.name.as_deref())?;
        self.write(|store| {
            if store.org_by_name(&name)?.is_some() {
                return Err(name_taken(&name));
            }
            let now = Timestamp::now();
            let org = Org {
                id: store.new_id(),
                name,
                description: req.description.unwrap_or_default(),
                created_at: now,
                updated_at: now,
            };
            let owner = Mapping {
                resource_type: "orgs".into(),
                resource_id: org.id,
                user_id: actor.user_id,
                role: Role::Owner,
            };
            Ok((
                org.clone(),
                vec![Change::PutOrg(org), Change::PutMapping(owner)],
            ))
        })
    }

    pub fn org(&self, actor: &Actor, id: Id) -> Result<Org> {
        load_for(self.store.as_ref(), actor, id, Action::Read)
    }

    /// Orgs the actor may read, in ID order, optionally by name or ID.
    /// `user` narrows to the orgs that user owns or belongs to.
    pub fn list_orgs(
        &self,
        actor: &Actor,
        name: Option<&str>,
        id: Option<Id>,
        user: Option<Id>,
    ) -> Result<Vec<Org>> {
        let store = self.store.as_ref();
        let member_of: Option<Vec<Id>> = match user {
            Some(u) => Some(
                store
                    .mappings_of_user(u)?
                    .into_iter()
                    .filter(|m| m.resource_type == "orgs")
                    .map(|m| m.resource_id)
                    .collect(),
            ),
            None => None,
        };
        let found = match (id, name) {
            (Some(id), _) => vec![load(store, id)?],
            (None, Some(name)) => vec![store
                .org_by_name(name)?
                .ok_or_else(|| Error::not_found(ERR_ORG_NOT_FOUND))?],
            (None, None) => store.orgs()?,
        };
        Ok(found
            .into_iter()
            .filter(|o| member_of.as_ref().is_none_or(|ids| ids.contains(&o.id)))
            .filter(|o| actor.can(Action::Read, "orgs", Some(o.id), Some(o.id)))
            .collect())
    }

    pub fn update_org(&self, actor: &Actor, id: Id, patch: PatchOrg) -> Result<Org> {
        if patch.name.is_none() && patch.description.is_none() {
            return Err(Error::invalid("must update at least one attribute"));
        }
        let new_name = match &patch.name {
            Some(n) => Some(check_org_name(Some(n))?),
            None => None,
        };
        self.write(|store| {
            let mut org = load_for(store, actor, id, Action::Write)?;
            let previous_name = org.name.clone();
            if let Some(name) = new_name {
                if name != org.name {
                    if store.org_by_name(&name)?.is_some() {
                        return Err(name_taken(&name));
                    }
                    org.name = name;
                }
            }
            if let Some(d) = patch.description {
                org.description = d;
            }
            org.updated_at = Timestamp::now();
            Ok((org.clone(), vec![Change::RenameOrg { org, previous_name }]))
        })
    }

    /// Deletes the org and, with it, its dashboards, labels, variables, buckets
    /// and tokens.
    pub fn delete_org(&self, actor: &Actor, id: Id) -> Result<()> {
        self.write(|store| {
            let org = load_for(store, actor, id, Action::Write)?;
            let dashboards = store.dashboards(DashboardScan {
                org: Some(id),
                descending: false,
                offset: 0,
                limit: None,
            })?;
            let mut changes: Vec<Change> = dashboards
                .into_iter()
                .map(|d| Change::DeleteDashboard { id: d.id, org: id })
                .collect();
            for t in store.trash(Some(id))? {
                changes.push(Change::DeleteTrash {
                    id: t.dashboard.id,
                    org: id,
                });
            }
            for l in store.labels(Some(id))? {
                changes.push(Change::DeleteLabel {
                    id: l.id,
                    org: id,
                    name: l.name,
                });
            }
            for v in store.variables(Some(id))? {
                changes.push(Change::DeleteVariable {
                    id: v.id,
                    org: id,
                    name: v.name,
                });
            }
            for d in store.external_dashboards(Some(id))? {
                changes.push(Change::DeleteExternalDashboard {
                    id: d.id,
                    org: id,
                    name: d.name,
                });
            }
            for b in store.buckets()?.into_iter().filter(|b| b.org_id == id) {
                changes.push(Change::DeleteBucket(b.id));
            }
            for st in store.stacks(id)? {
                changes.push(Change::DeleteStack { id: st.id, org: id });
            }
            for a in store
                .authorizations()?
                .into_iter()
                .filter(|a| a.org_id == id)
            {
                changes.push(Change::DeleteAuthorization {
                    id: a.id,
                    token_hash: a.token_hash,
                });
            }
            changes.push(Change::DeleteOrg { id, name: org.name });
            Ok(((), changes))
        })
    }
}
