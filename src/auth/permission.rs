//! Who may do what: permissions as InfluxDB's `authorizer` has them, and the
//! `Actor` every request acts as.

use crate::error::{Error, Result};
use crate::id::Id;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Read,
    Write,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Read => "read",
            Action::Write => "write",
        })
    }
}

/// InfluxDB's `AllResourceTypes` (`authz.go`), in its order: what
/// `/api/v2/resources` lists and what a permission may name. Tokens may
/// carry rights on types Tessera does not store (tasks, checks, …); they are
/// kept and grant nothing here.
pub const RESOURCE_TYPES: &[&str] = &[
    "authorizations",
    "buckets",
    "dashboards",
    "orgs",
    "sources",
    "tasks",
    "telegrafs",
    "users",
    "variables",
    "scrapers",
    "secrets",
    "labels",
    "views",
    "documents",
    "notificationRules",
    "notificationEndpoints",
    "checks",
    "dbrp",
    "notebooks",
    "annotations",
    "remotes",
    "replications",
    "instance",
];

/// Types an org owner or member holds rights on within the org.
pub fn org_scoped_types() -> impl Iterator<Item = &'static str> {
    RESOURCE_TYPES
        .iter()
        .copied()
        .filter(|t| !matches!(*t, "users" | "instance"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "orgID", default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.org_id, self.id) {
            (Some(o), Some(i)) => write!(f, "orgs/{o}/{}/{i}", self.kind),
            (Some(o), None) => write!(f, "orgs/{o}/{}", self.kind),
            (None, Some(i)) => write!(f, "{}/{i}", self.kind),
            (None, None) => f.write_str(&self.kind),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub action: Action,
    pub resource: Resource,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.action, self.resource)
    }
}

impl Permission {
    pub fn new(action: Action, kind: &str, org_id: Option<Id>, id: Option<Id>) -> Self {
        Permission {
            action,
            resource: Resource {
                kind: kind.to_string(),
                org_id,
                id,
            },
        }
    }

    /// Whether holding `self` grants `want` (InfluxDB's `Permission.Matches`).
    pub fn grants(&self, want: &Permission) -> bool {
        if self.action != want.action || self.resource.kind != want.resource.kind {
            return false;
        }
        let (p, w) = (&self.resource, &want.resource);
        match (p.org_id, p.id) {
            (None, None) => true,
            (Some(po), Some(pi)) => w.org_id == Some(po) && w.id == Some(pi),
            (Some(po), None) => w.org_id == Some(po),
            (None, Some(pi)) => w.id == Some(pi),
        }
    }

    pub fn check(&self) -> Result<()> {
        if !RESOURCE_TYPES.contains(&self.resource.kind.as_str()) {
            return Err(Error::invalid(format!(
                "unknown resource type {:?} for permission",
                self.resource.kind
            )));
        }
        Ok(())
    }
}

/// Every right on everything: the setup user's and its first token.
pub fn operator_permissions() -> Vec<Permission> {
    RESOURCE_TYPES
        .iter()
        .flat_map(|t| {
            [Action::Read, Action::Write]
                .into_iter()
                .map(move |a| Permission::new(a, t, None, None))
        })
        .collect()
}

/// Read and write on everything in one org.
pub fn org_owner_permissions(org: Id) -> Vec<Permission> {
    let mut v: Vec<Permission> = org_scoped_types()
        .flat_map(|t| {
            [Action::Read, Action::Write]
                .into_iter()
                .map(move |a| Permission::new(a, t, Some(org), None))
        })
        .collect();
    // The org itself by id alone, as InfluxDB's `OwnerPermissions` has it:
    // the UI's token forms ask for exactly `{type: orgs, id}`.
    v.push(Permission::new(Action::Read, "orgs", None, Some(org)));
    v.push(Permission::new(Action::Write, "orgs", None, Some(org)));
    v
}

/// Read on everything in one org.
pub fn org_member_permissions(org: Id) -> Vec<Permission> {
    let mut v: Vec<Permission> = org_scoped_types()
        .map(|t| Permission::new(Action::Read, t, Some(org), None))
        .collect();
    v.push(Permission::new(Action::Read, "orgs", None, Some(org)));
    v
}

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Token {
        authorization: Id,
    },
    Session {
        session: String,
        /// When it ends, as stored when the actor was looked up.
        expires_at: crate::domain::time::Timestamp,
    },
}

/// Who a request acts as, and what it may do.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Id,
    pub credential: Credential,
    /// Shared: cached actors are cloned on every request.
    pub permissions: Arc<Vec<Permission>>,
}

impl Actor {
    pub fn allows(&self, want: &Permission) -> bool {
        self.permissions.iter().any(|p| p.grants(want))
    }

    pub fn can(&self, action: Action, kind: &str, org: Option<Id>, id: Option<Id>) -> bool {
        self.allows(&Permission::new(action, kind, org, id))
    }

    /// InfluxDB answers a missing right with 401 and the permission it lacked.
    pub fn require(
        &self,
        action: Action,
        kind: &str,
        org: Option<Id>,
        id: Option<Id>,
    ) -> Result<()> {
        let want = Permission::new(action, kind, org, id);
        if self.allows(&want) {
            Ok(())
        } else {
            Err(Error::unauthorized(format!("{want} is unauthorized")))
        }
    }

    /// True when the actor reads every dashboard without per-item checks.
    pub fn reads_all(&self, kind: &str) -> bool {
        self.permissions.iter().any(|p| {
            p.action == Action::Read
                && p.resource.kind == kind
                && p.resource.org_id.is_none()
                && p.resource.id.is_none()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> Id {
        Id::from_u64(n).expect("id")
    }

    #[test]
    fn matching_follows_influx() {
        let org = Permission::new(Action::Read, "dashboards", Some(id(1)), None);
        assert!(org.grants(&Permission::new(
            Action::Read,
            "dashboards",
            Some(id(1)),
            Some(id(9))
        )));
        assert!(!org.grants(&Permission::new(
            Action::Read,
            "dashboards",
            Some(id(2)),
            Some(id(9))
        )));
        assert!(!org.grants(&Permission::new(
            Action::Write,
            "dashboards",
            Some(id(1)),
            Some(id(9))
        )));
        let one = Permission::new(Action::Write, "dashboards", None, Some(id(9)));
        assert!(one.grants(&Permission::new(
            Action::Write,
            "dashboards",
            Some(id(1)),
            Some(id(9))
        )));
        assert!(!one.grants(&Permission::new(
            Action::Write,
            "dashboards",
            Some(id(1)),
            None
        )));
        assert_eq!(
            Permission::new(Action::Read, "dashboards", Some(id(1)), Some(id(9))).to_string(),
            "read:orgs/0000000000000001/dashboards/0000000000000009"
        );
    }
}
