//! Authentication: turning a token or a session cookie into an `Actor` with
//! its permissions. Permission rules are in `permission.rs`.

pub mod cache;
pub mod permission;
pub mod token;

use crate::domain::member::Role;
use crate::domain::user::{Status, User};
use crate::domain::{time::Timestamp, Service};
use crate::error::{Error, Result};
use crate::store::StoreRead;
use permission::{
    operator_permissions, org_member_permissions, org_owner_permissions, Action, Actor, Credential,
    Permission,
};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What a request presented.
#[derive(Debug, Clone)]
pub enum Presented {
    Token(String),
    Session(String),
}

pub fn unauthorized() -> Error {
    Error::unauthorized("unauthorized access")
}

/// A user's rights from its roles: operator, org owner/member, resource
/// owner/member, its own user record, and the custom or built-in roles it
/// holds in the orgs it belongs to (a union: roles only add).
pub fn user_permissions(store: &dyn StoreRead, user: &User) -> Result<Vec<Permission>> {
    if user.operator {
        return Ok(operator_permissions());
    }
    let mut perms = vec![
        Permission::new(Action::Read, "users", None, Some(user.id)),
        Permission::new(Action::Write, "users", None, Some(user.id)),
    ];
    let mut orgs = Vec::new();
    for m in store.mappings_of_user(user.id)? {
        match (m.resource_type.as_str(), m.role) {
            ("orgs", Role::Owner) => {
                orgs.push(m.resource_id);
                perms.extend(org_owner_permissions(m.resource_id))
            }
            ("orgs", Role::Member) => {
                orgs.push(m.resource_id);
                perms.extend(org_member_permissions(m.resource_id))
            }
            (kind, role) => {
                perms.push(Permission::new(
                    Action::Read,
                    kind,
                    None,
                    Some(m.resource_id),
                ));
                if role == Role::Owner {
                    perms.push(Permission::new(
                        Action::Write,
                        kind,
                        None,
                        Some(m.resource_id),
                    ));
                }
            }
        }
    }
    perms.extend(crate::domain::role::assigned_permissions(
        store, user.id, &orgs,
    )?);
    Ok(perms)
}

impl Service {
    /// The actor for a credential seen recently, without touching the store.
    pub fn cached_actor(&self, presented: &Presented) -> Option<Actor> {
        self.auth_cache.get(presented)
    }

    /// Checks a credential against the store and remembers the answer.
    pub fn authenticate(&self, presented: Presented) -> Result<Actor> {
        let seen = self.auth_cache.generation();
        let (actor, expires_at) = self.authenticate_uncached(&presented)?;
        self.auth_cache
            .insert(&presented, actor.clone(), expires_at, seen);
        Ok(actor)
    }

    fn authenticate_uncached(&self, presented: &Presented) -> Result<(Actor, Option<Timestamp>)> {
        let store = self.store.as_ref();
        match presented {
            Presented::Token(token) => {
                let hash = crate::domain::authorization::token_hash(token);
                let auth = store
                    .authorization_by_token_hash(&hash)?
                    .ok_or_else(unauthorized)?;
                // Defence in depth: the index is keyed by hash already.
                if !bool::from(auth.token_hash.as_bytes().ct_eq(hash.as_bytes())) {
                    return Err(unauthorized());
                }
                if auth.minted && self.signer.verify(token) != Some(auth.id) {
                    return Err(unauthorized());
                }
                if auth.status != Status::Active {
                    return Err(Error::unauthorized("authorization is inactive"));
                }
                let user = store.user(auth.user_id)?.ok_or_else(unauthorized)?;
                if user.status != Status::Active {
                    return Err(Error::unauthorized("User is inactive"));
                }
                let actor = Actor {
                    user_id: user.id,
                    credential: Credential::Token {
                        authorization: auth.id,
                    },
                    permissions: Arc::new(auth.permissions),
                };
                Ok((actor, None))
            }
            Presented::Session(id) => {
                let session = store.session(id)?.ok_or_else(unauthorized)?;
                if session.expires_at <= Timestamp::now() {
                    return Err(Error::unauthorized("session has expired"));
                }
                let user = store.user(session.user_id)?.ok_or_else(unauthorized)?;
                if user.status != Status::Active {
                    return Err(Error::unauthorized("User is inactive"));
                }
                let actor = Actor {
                    user_id: user.id,
                    credential: Credential::Session {
                        session: id.clone(),
                        expires_at: session.expires_at,
                    },
                    permissions: Arc::new(user_permissions(store, &user)?),
                };
                Ok((actor, Some(session.expires_at)))
            }
        }
    }
}
