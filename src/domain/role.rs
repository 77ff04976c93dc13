//! Custom roles per org: a name and a list of Influx permissions within one
//! org, held by org members on top of their owner/member role. Two built-in
//! roles exist in every org without being stored: "Org Admin" (an owner's
//! rights) and "Viewer" (a member's), with IDs derived from the org's.

use super::time::Timestamp;
use crate::auth::permission::{
    org_member_permissions, org_owner_permissions, org_scoped_types, Permission,
};
use crate::error::{Code, Error, Result};
use crate::id::Id;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ERR_ROLE_NOT_FOUND: &str = "role not found";
pub const MAX_ROLE_NAME_LEN: usize = 256;
pub const MAX_ROLE_DESCRIPTION_LEN: usize = 1024;

/// A custom role as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomRole {
    pub id: Id,
    #[serde(rename = "orgID")]
    pub org_id: Id,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Each one carries the role's org as its resource org.
    pub permissions: Vec<Permission>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

/// The roles one member holds in one org, replaced as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    #[serde(rename = "orgID")]
    pub org_id: Id,
    #[serde(rename = "userID")]
    pub user_id: Id,
    #[serde(rename = "roleIDs")]
    pub role_ids: Vec<Id>,
}

/// The two roles every org has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltIn {
    OrgAdmin,
    Viewer,
}

impl BuiltIn {
    pub const ALL: [BuiltIn; 2] = [BuiltIn::OrgAdmin, BuiltIn::Viewer];

    pub fn name(self) -> &'static str {
        match self {
            BuiltIn::OrgAdmin => "Org Admin",
            BuiltIn::Viewer => "Viewer",
        }
    }

    fn description(self) -> &'static str {
        match self {
            BuiltIn::OrgAdmin => "read and write on everything in the org, as its owners have",
            BuiltIn::Viewer => "read on everything in the org, as its members have",
        }
    }

    /// Stable across restarts and instances: a hash of the org ID and the name.
    pub fn id(self, org: Id) -> Id {
        let mut h = Sha256::new();
        h.update(org.to_bytes());
        h.update(self.name().as_bytes());
        let digest = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&digest[..8]);
        Id::from_u64(u64::from_be_bytes(b)).unwrap_or(org)
    }

    pub fn of(org: Id, id: Id) -> Option<BuiltIn> {
        BuiltIn::ALL.into_iter().find(|b| b.id(org) == id)
    }

    pub fn permissions(self, org: Id) -> Vec<Permission> {
        match self {
            BuiltIn::OrgAdmin => org_owner_permissions(org),
            BuiltIn::Viewer => org_member_permissions(org),
        }
    }

    /// The built-in role as a record, for answers.
    pub fn record(self, org: &super::org::Org) -> CustomRole {
        CustomRole {
            id: self.id(org.id),
            org_id: org.id,
            name: self.name().into(),
            description: self.description().into(),
            permissions: self.permissions(org.id),
            created_at: org.created_at,
            updated_at: org.created_at,
        }
    }
}

/// A role in an answer: built-in ones are flagged.
#[derive(Debug, Clone)]
pub struct RoleView {
    pub role: CustomRole,
    pub built_in: bool,
}

/// The body of a create (name required) or a patch (what is given changes).
#[derive(Debug, Deserialize)]
pub struct RoleBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Option<Vec<Permission>>,
}

#[derive(Debug, Deserialize)]
pub struct SetMemberRoles {
    #[serde(rename = "roleIDs", default)]
    pub role_ids: Option<Vec<Id>>,
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("role name is required"));
    }
    if name.len() > MAX_ROLE_NAME_LEN {
        return Err(Error::invalid(format!(
            "role name must be at most {MAX_ROLE_NAME_LEN} bytes"
        )));
    }
    Ok(name.to_string())
}

fn check_description(d: &str) -> Result<()> {
    if d.len() > MAX_ROLE_DESCRIPTION_LEN {
        return Err(Error::invalid(format!(
            "role description must be at most {MAX_ROLE_DESCRIPTION_LEN} bytes"
        )));
    }
    Ok(())
}

/// Every permission must lie within `org`: its resource org is set to it
/// (or must already be it), and the type must be one an org holds.
fn within_org(org: Id, perms: Vec<Permission>) -> Result<Vec<Permission>> {
    perms
        .into_iter()
        .map(|mut p| {
            p.check()?;
            if !org_scoped_types().any(|t| t == p.resource.kind) {
                return Err(Error::invalid(format!(
                    "resource type {:?} does not belong to an org and cannot be in a role",
                    p.resource.kind
                )));
            }
            match p.resource.org_id {
                Some(o) if o != org => {
                    return Err(Error::invalid(format!(
                        "permission {p} is outside the role's org {org}"
                    )))
                }
                _ => p.resource.org_id = Some(org),
            }
            Ok(p)
        })
        .collect()
}

fn built_in_refused(name: &str) -> Error {
    Error::new(
        Code::Forbidden,
        format!("role {name:?} is built in and cannot be changed or deleted"),
    )
}

fn name_taken(name: &str) -> Error {
    Error::new(
        Code::AlreadyExists,
        format!("role with name {name} already exists in this org"),
    )
}

// ---- rules ---------------------------------------------------------------

use super::org::{Org, ERR_ORG_NOT_FOUND};
use super::user::ERR_USER_NOT_FOUND;
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::store::{Change, StoreRead};

fn load_org(store: &dyn StoreRead, actor: &Actor, org: Id, action: Action) -> Result<Org> {
    let o = store
        .org(org)?
        .ok_or_else(|| Error::not_found(ERR_ORG_NOT_FOUND))?;
    actor.require(action, "orgs", Some(org), Some(org))?;
    Ok(o)
}

/// A role of the org, built in or stored; 404 otherwise.
fn find(store: &dyn StoreRead, org: &Org, id: Id) -> Result<RoleView> {
    if let Some(b) = BuiltIn::of(org.id, id) {
        return Ok(RoleView {
            role: b.record(org),
            built_in: true,
        });
    }
    match store.role(id)? {
        Some(role) if role.org_id == org.id => Ok(RoleView {
            role,
            built_in: false,
        }),
        _ => Err(Error::not_found(ERR_ROLE_NOT_FOUND)),
    }
}

fn name_in_use(store: &dyn StoreRead, org: Id, name: &str, except: Option<Id>) -> Result<bool> {
    if BuiltIn::ALL
        .iter()
        .any(|b| b.name().to_lowercase() == name.to_lowercase())
    {
        return Ok(true);
    }
    Ok(store
        .role_by_name(org, name)?
        .is_some_and(|r| Some(r.id) != except))
}

/// The answer and the change that store a custom role.
fn put(role: CustomRole, previous_name: Option<String>) -> (RoleView, Vec<Change>) {
    let view = RoleView {
        role: role.clone(),
        built_in: false,
    };
    (
        view,
        vec![Change::PutRole {
            role,
            previous_name,
        }],
    )
}

/// Nobody hands out a right they do not hold.
fn require_held(actor: &Actor, perms: &[Permission]) -> Result<()> {
    for p in perms {
        if !actor.allows(p) {
            return Err(Error::new(
                Code::Forbidden,
                format!("permission {p} is not allowed"),
            ));
        }
    }
    Ok(())
}

/// The roles a user holds in one org: the built-in one their membership
/// gives (owner → Org Admin, member → Viewer) and those assigned to them.
pub fn roles_held(store: &dyn StoreRead, user: Id, org: Id) -> Result<Vec<Id>> {
    let mut held = Vec::new();
    for m in store.mappings_of_user(user)? {
        if m.resource_id == org && m.resource_type == "orgs" {
            held.push(match m.role {
                super::member::Role::Owner => BuiltIn::OrgAdmin.id(org),
                super::member::Role::Member => BuiltIn::Viewer.id(org),
            });
        }
    }
    if held.is_empty() {
        // Assignments count only while the user belongs to the org.
        return Ok(held);
    }
    for a in store.role_assignments_of_user(user)? {
        if a.org_id == org {
            held.extend(a.role_ids);
        }
    }
    Ok(held)
}

/// The permissions a user's role assignments add, for orgs they still
/// belong to (`member_of`).
pub fn assigned_permissions(
    store: &dyn StoreRead,
    user: Id,
    member_of: &[Id],
) -> Result<Vec<Permission>> {
    let mut out = Vec::new();
    for a in store.role_assignments_of_user(user)? {
        if !member_of.contains(&a.org_id) {
            continue;
        }
        for id in a.role_ids {
            match BuiltIn::of(a.org_id, id) {
                Some(b) => out.extend(b.permissions(a.org_id)),
                None => {
                    if let Some(r) = store.role(id)?.filter(|r| r.org_id == a.org_id) {
                        out.extend(r.permissions);
                    }
                }
            }
        }
    }
    Ok(out)
}

impl Service {
    /// The org's built-in roles first, then its own in ID order.
    pub fn list_roles(&self, actor: &Actor, org: Id) -> Result<Vec<RoleView>> {
        self.read(|store| {
            let o = load_org(store, actor, org, Action::Read)?;
            let mut out: Vec<RoleView> = BuiltIn::ALL
                .iter()
                .map(|b| RoleView {
                    role: b.record(&o),
                    built_in: true,
                })
                .collect();
            out.extend(store.roles(Some(org))?.into_iter().map(|role| RoleView {
                role,
                built_in: false,
            }));
            Ok(out)
        })
    }

    pub fn role(&self, actor: &Actor, org: Id, id: Id) -> Result<RoleView> {
        self.read(|store| {
            let o = load_org(store, actor, org, Action::Read)?;
            find(store, &o, id)
        })
    }

    pub fn create_role(&self, actor: &Actor, org: Id, req: RoleBody) -> Result<RoleView> {
        let name = check_name(req.name.as_deref().unwrap_or_default())?;
        let description = req.description.unwrap_or_default();
        check_description(&description)?;
        let permissions = within_org(org, req.permissions.unwrap_or_default())?;
        self.write(|store| {
            load_org(store, actor, org, Action::Write)?;
            require_held(actor, &permissions)?;
            if name_in_use(store, org, &name, None)? {
                return Err(name_taken(&name));
            }
            let now = Timestamp::now();
            let role = CustomRole {
                id: store.new_id(),
                org_id: org,
                name,
                description,
                permissions,
                created_at: now,
                updated_at: now,
            };
            Ok(put(role, None))
        })
    }

    pub fn update_role(&self, actor: &Actor, org: Id, id: Id, patch: RoleBody) -> Result<RoleView> {
        if patch.name.is_none() && patch.description.is_none() && patch.permissions.is_none() {
            return Err(Error::invalid("must update at least one attribute"));
        }
        let name = patch.name.as_deref().map(check_name).transpose()?;
        if let Some(d) = &patch.description {
            check_description(d)?;
        }
        let permissions = patch.permissions.map(|p| within_org(org, p)).transpose()?;
        self.write(|store| {
            let o = load_org(store, actor, org, Action::Write)?;
            let found = find(store, &o, id)?;
            if found.built_in {
                return Err(built_in_refused(&found.role.name));
            }
            let mut role = found.role;
            let previous_name = role.name.clone();
            if let Some(name) = name {
                if name_in_use(store, org, &name, Some(id))? {
                    return Err(name_taken(&name));
                }
                role.name = name;
            }
            if let Some(d) = patch.description {
                role.description = d;
            }
            if let Some(p) = permissions {
                require_held(actor, &p)?;
                role.permissions = p;
            }
            role.updated_at = Timestamp::now_after(role.updated_at);
            Ok(put(role, Some(previous_name)))
        })
    }

    /// Deletes the role and takes it off every member who held it, in one write.
    pub fn delete_role(&self, actor: &Actor, org: Id, id: Id) -> Result<()> {
        self.write(|store| {
            let o = load_org(store, actor, org, Action::Write)?;
            let found = find(store, &o, id)?;
            if found.built_in {
                return Err(built_in_refused(&found.role.name));
            }
            let mut changes = Vec::new();
            for mut a in store.role_assignments_of_org(org)? {
                if !a.role_ids.contains(&id) {
                    continue;
                }
                a.role_ids.retain(|r| *r != id);
                changes.push(if a.role_ids.is_empty() {
                    Change::DeleteRoleAssignment {
                        org,
                        user: a.user_id,
                    }
                } else {
                    Change::PutRoleAssignment(a)
                });
            }
            changes.push(Change::DeleteRole {
                id,
                org,
                name: found.role.name,
            });
            Ok(((), changes))
        })
    }

    /// The roles a member holds in the org, in the order they were given.
    pub fn member_roles(&self, actor: &Actor, org: Id, user: Id) -> Result<Vec<RoleView>> {
        self.read(|store| {
            let o = load_org(store, actor, org, Action::Read)?;
            check_member(store, org, user)?;
            let ids = store
                .role_assignments_of_user(user)?
                .into_iter()
                .find(|a| a.org_id == org)
                .map(|a| a.role_ids)
                .unwrap_or_default();
            let mut out = Vec::new();
            for id in ids {
                // A role deleted concurrently is simply not listed.
                if let Ok(r) = find(store, &o, id) {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    /// Replaces a member's roles in the org as a whole.
    pub fn set_member_roles(
        &self,
        actor: &Actor,
        org: Id,
        user: Id,
        req: SetMemberRoles,
    ) -> Result<Vec<RoleView>> {
        let wanted = req
            .role_ids
            .ok_or_else(|| Error::invalid("roleIDs is required"))?;
        self.write(|store| {
            let o = load_org(store, actor, org, Action::Write)?;
            check_member(store, org, user)?;
            let mut roles = Vec::new();
            let mut seen = Vec::new();
            for id in wanted.iter().copied() {
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                let r = find(store, &o, id).map_err(|_| {
                    Error::invalid(format!("role {id} does not exist in org {org}"))
                })?;
                require_held(actor, &r.role.permissions)?;
                roles.push(r);
            }
            let change = if seen.is_empty() {
                Change::DeleteRoleAssignment { org, user }
            } else {
                Change::PutRoleAssignment(RoleAssignment {
                    org_id: org,
                    user_id: user,
                    role_ids: seen,
                })
            };
            Ok((roles, vec![change]))
        })
    }
}

/// Roles go to the org's owners and members only.
fn check_member(store: &dyn StoreRead, org: Id, user: Id) -> Result<()> {
    if store.user(user)?.is_none() {
        return Err(Error::not_found(ERR_USER_NOT_FOUND));
    }
    let member = store
        .mappings_of_user(user)?
        .iter()
        .any(|m| m.resource_type == "orgs" && m.resource_id == org);
    if !member {
        return Err(Error::invalid(format!(
            "user {user} is not a member or owner of org {org}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> Id {
        Id::from_u64(n).expect("id")
    }

    #[test]
    fn built_in_ids_are_stable_and_distinct() {
        let (a, b) = (id(1), id(2));
        assert_eq!(BuiltIn::OrgAdmin.id(a), BuiltIn::OrgAdmin.id(a));
        assert_ne!(BuiltIn::OrgAdmin.id(a), BuiltIn::Viewer.id(a));
        assert_ne!(BuiltIn::OrgAdmin.id(a), BuiltIn::OrgAdmin.id(b));
        assert_eq!(BuiltIn::of(a, BuiltIn::Viewer.id(a)), Some(BuiltIn::Viewer));
        assert_eq!(BuiltIn::of(b, BuiltIn::Viewer.id(a)), None);
    }

    #[test]
    fn permissions_are_kept_within_the_org() {
        let org = id(1);
        let p = |kind: &str, o: Option<Id>| {
            Permission::new(crate::auth::permission::Action::Write, kind, o, None)
        };
        let got = within_org(org, vec![p("dashboards", None)]).expect("ok");
        assert_eq!(got[0].resource.org_id, Some(org));
        assert!(within_org(org, vec![p("dashboards", Some(id(2)))]).is_err());
        assert!(within_org(org, vec![p("users", None)]).is_err());
        assert!(within_org(org, vec![p("nonsense", None)]).is_err());
    }
}
