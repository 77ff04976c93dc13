//! Which org a request acts in, for the per-org request budget
//! (`api/rate_limit.rs`; README "Rate limits").

use super::Service;
use crate::auth::permission::Actor;
use crate::error::Result;
use crate::id::Id;

/// A resource a path names, whose org a request acts in.
#[derive(Debug, Clone, Copy)]
pub enum Named {
    Org(Id),
    Dashboard(Id),
    ExternalDashboard(Id),
}

impl Service {
    /// The org of a resource (none when it does not exist). Only the org is
    /// read, for accounting: the handler checks rights as usual.
    pub fn org_of(&self, named: Named) -> Result<Option<Id>> {
        Ok(match named {
            Named::Org(id) => Some(id),
            Named::Dashboard(id) => self.store.dashboard_stamp(id)?.map(|s| s.org),
            Named::ExternalDashboard(id) => self.store.external_dashboard(id)?.map(|d| d.org_id),
        })
    }
}

/// Whether the actor holds any right in `org` (or rights over every org):
/// only then may a request name that org's budget, so nobody spends
/// another org's budget by naming it.
pub fn acts_in(actor: &Actor, org: Id) -> bool {
    actor.permissions.iter().any(|p| {
        let r = &p.resource;
        r.org_id == Some(org)
            || (r.kind == "orgs" && r.id == Some(org))
            || (r.org_id.is_none() && r.id.is_none())
    })
}

/// The one org the actor's rights are scoped to, if there is exactly one
/// (a token made for an org; a session of a member of one org).
pub fn home_org(actor: &Actor) -> Option<Id> {
    let mut found = None;
    for p in actor.permissions.iter() {
        let r = &p.resource;
        let org = match (r.org_id, r.kind.as_str(), r.id) {
            (Some(org), _, _) => org,
            (None, "orgs", Some(org)) => org,
            _ => continue,
        };
        match found {
            None => found = Some(org),
            Some(seen) if seen == org => {}
            Some(_) => return None,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::permission::{
        operator_permissions, org_member_permissions, Action, Credential, Permission,
    };
    use std::sync::Arc;

    fn id(n: u64) -> Id {
        Id::from_u64(n).expect("id")
    }

    fn actor(perms: Vec<Permission>) -> Actor {
        Actor {
            user_id: id(99),
            credential: Credential::Token {
                authorization: id(98),
            },
            permissions: Arc::new(perms),
        }
    }

    #[test]
    fn home_org_is_the_single_org_of_the_rights() {
        assert_eq!(home_org(&actor(org_member_permissions(id(1)))), Some(id(1)));
        let mut two = org_member_permissions(id(1));
        two.extend(org_member_permissions(id(2)));
        assert_eq!(home_org(&actor(two)), None);
        assert_eq!(home_org(&actor(operator_permissions())), None);
    }

    #[test]
    fn a_request_names_only_an_org_it_holds_rights_in() {
        let member = actor(org_member_permissions(id(1)));
        assert!(acts_in(&member, id(1)));
        assert!(!acts_in(&member, id(2)));
        assert!(acts_in(&actor(operator_permissions()), id(2)));
        let one = actor(vec![Permission::new(
            Action::Read,
            "dashboards",
            None,
            Some(id(5)),
        )]);
        assert!(!acts_in(&one, id(1)));
    }
}
