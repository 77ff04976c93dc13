//! API tokens ("authorizations"): a set of permissions, for one user in one org.

use super::time::Timestamp;
use super::user::Status;
use crate::auth::permission::Permission;
use crate::id::Id;
use serde::{Deserialize, Serialize};

pub const ERR_AUTHORIZATION_NOT_FOUND: &str = "authorization not found";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Authorization {
    pub id: Id,
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    /// Whether Tessera minted the token as a JWT (checked as one on use).
    pub minted: bool,
    pub status: Status,
    pub description: String,
    #[serde(rename = "orgID")]
    pub org_id: Id,
    #[serde(rename = "userID")]
    pub user_id: Id,
    pub permissions: Vec<Permission>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize)]
pub struct CreateAuthorization {
    #[serde(rename = "orgID", default)]
    pub org_id: Option<Id>,
    #[serde(rename = "userID", default)]
    pub user_id: Option<Id>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub permissions: Option<Vec<Permission>>,
}

#[derive(Debug, Deserialize)]
pub struct PatchAuthorization {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status: Option<Status>,
}

pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut hex = [0u8; 64];
    crate::id::hex_into(&digest, &mut hex);
    hex.iter().map(|&b| char::from(b)).collect()
}

// ---- rules ---------------------------------------------------------------

use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::error::{Code, Error, Result};
use crate::store::{Change, StoreRead};

fn load(store: &dyn StoreRead, id: Id) -> Result<Authorization> {
    store
        .authorization(id)?
        .ok_or_else(|| Error::not_found(ERR_AUTHORIZATION_NOT_FOUND))
}

/// Narrows `GET /api/v2/authorizations`.
#[derive(Debug, Default)]
pub struct AuthorizationFilter {
    pub user_id: Option<Id>,
    pub user: Option<String>,
    pub org_id: Option<Id>,
    pub org: Option<String>,
}

impl Service {
    /// Creates a token; returns it with the token string, shown only now.
    pub fn create_authorization(
        &self,
        actor: &Actor,
        req: CreateAuthorization,
    ) -> Result<(Authorization, String)> {
        let org_id = req
            .org_id
            .ok_or_else(|| Error::invalid("org id is required"))?;
        let permissions = req.permissions.unwrap_or_default();
        if permissions.is_empty() {
            return Err(Error::invalid(
                "authorization must contain at least one permission",
            ));
        }
        for p in &permissions {
            p.check()?;
            // Nobody hands out a right they do not hold.
            if !actor.allows(p) {
                return Err(Error::new(
                    Code::Forbidden,
                    format!("permission {p} is not allowed"),
                ));
            }
        }
        let user_id = req.user_id.unwrap_or(actor.user_id);
        actor.require(Action::Write, "authorizations", Some(org_id), None)?;
        self.write(|store| {
            if store.org(org_id)?.is_none() {
                return Err(Error::not_found(super::org::ERR_ORG_NOT_FOUND));
            }
            if store.user(user_id)?.is_none() {
                return Err(Error::not_found(super::user::ERR_USER_NOT_FOUND));
            }
            let id = store.new_id();
            let token = self.signer.mint(id, user_id)?;
            let now = Timestamp::now();
            let auth = Authorization {
                id,
                token_hash: token_hash(&token),
                minted: true,
                status: req.status.unwrap_or_default(),
                description: req.description.unwrap_or_default(),
                org_id,
                user_id,
                permissions,
                created_at: now,
                updated_at: now,
            };
            Ok(((auth.clone(), token), vec![Change::PutAuthorization(auth)]))
        })
    }

    pub fn authorization(&self, actor: &Actor, id: Id) -> Result<Authorization> {
        let a = load(self.store.as_ref(), id)?;
        actor.require(Action::Read, "authorizations", Some(a.org_id), Some(a.id))?;
        Ok(a)
    }

    pub fn list_authorizations(
        &self,
        actor: &Actor,
        f: AuthorizationFilter,
    ) -> Result<Vec<Authorization>> {
        let store = self.store.as_ref();
        let user_id = match (f.user_id, &f.user) {
            (Some(id), _) => Some(id),
            (None, Some(name)) => Some(
                store
                    .user_by_name(name)?
                    .ok_or_else(|| Error::not_found(super::user::ERR_USER_NOT_FOUND))?
                    .id,
            ),
            _ => None,
        };
        let org_id = match (f.org_id, &f.org) {
            (Some(id), _) => Some(id),
            (None, Some(name)) => Some(
                store
                    .org_by_name(name)?
                    .ok_or_else(|| Error::not_found(super::org::ERR_ORG_NOT_FOUND))?
                    .id,
            ),
            _ => None,
        };
        Ok(store
            .authorizations()?
            .into_iter()
            .filter(|a| user_id.is_none_or(|u| a.user_id == u))
            .filter(|a| org_id.is_none_or(|o| a.org_id == o))
            .filter(|a| actor.can(Action::Read, "authorizations", Some(a.org_id), Some(a.id)))
            .collect())
    }

    pub fn update_authorization(
        &self,
        actor: &Actor,
        id: Id,
        patch: PatchAuthorization,
    ) -> Result<Authorization> {
        if patch.status.is_none() && patch.description.is_none() {
            return Err(Error::invalid("must update at least one attribute"));
        }
        self.write(|store| {
            let mut a = load(store, id)?;
            actor.require(Action::Write, "authorizations", Some(a.org_id), Some(a.id))?;
            if let Some(s) = patch.status {
                a.status = s;
            }
            if let Some(d) = patch.description {
                a.description = d;
            }
            a.updated_at = Timestamp::now();
            Ok((a.clone(), vec![Change::PutAuthorization(a)]))
        })
    }

    pub fn delete_authorization(&self, actor: &Actor, id: Id) -> Result<()> {
        self.write(|store| {
            let a = load(store, id)?;
            actor.require(Action::Write, "authorizations", Some(a.org_id), Some(a.id))?;
            Ok((
                (),
                vec![Change::DeleteAuthorization {
                    id,
                    token_hash: a.token_hash,
                }],
            ))
        })
    }
}

impl Service {
    /// The org and user names an authorization is rendered with.
    pub fn names(&self, org: Id, user: Id) -> Result<(String, String)> {
        let store = self.store.as_ref();
        let org = store.org(org)?.map(|o| o.name).unwrap_or_default();
        let user = store.user(user)?.map(|u| u.name).unwrap_or_default();
        Ok((org, user))
    }
}
