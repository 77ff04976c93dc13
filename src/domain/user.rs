//! Users, passwords and sessions.

use super::time::Timestamp;
use crate::error::{Error, Result};
use crate::id::Id;
use serde::{Deserialize, Serialize};

pub const ERR_USER_NOT_FOUND: &str = "user not found";
/// InfluxDB's minimum password length.
pub const MIN_PASSWORD_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Active,
    Inactive,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: Id,
    pub name: String,
    pub status: Status,
    /// argon2 PHC string; never rendered, never logged.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// The setup user: holds every right, as InfluxDB's instance owner does.
    #[serde(default)]
    pub operator: bool,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    #[serde(rename = "userID")]
    pub user_id: Id,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "expiresAt")]
    pub expires_at: Timestamp,
}

#[derive(Debug, Deserialize)]
pub struct CreateUser {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PatchUser {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<Status>,
}

#[derive(Debug, Deserialize)]
pub struct PasswordBody {
    #[serde(default)]
    pub password: Option<String>,
}

pub fn check_user_name(name: Option<&str>) -> Result<String> {
    let name = name.unwrap_or_default().trim();
    if name.is_empty() {
        return Err(Error::invalid("user name is empty"));
    }
    if name.len() > 256 {
        return Err(Error::invalid("user name must be at most 256 bytes"));
    }
    Ok(name.to_string())
}

pub fn check_password(p: &str) -> Result<()> {
    if p.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::invalid(format!(
            "passwords must be at least {MIN_PASSWORD_LEN} characters long"
        )));
    }
    if p.len() > 1024 {
        return Err(Error::invalid("passwords must be at most 1024 bytes long"));
    }
    Ok(())
}

pub fn hash_password(p: &str) -> Result<String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(p.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

pub fn verify_password(p: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(p.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

// ---- rules ---------------------------------------------------------------

use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::auth::token::session_id;
use crate::store::{Change, StoreRead};

fn load(store: &dyn StoreRead, id: Id) -> Result<User> {
    store
        .user(id)?
        .ok_or_else(|| Error::not_found(ERR_USER_NOT_FOUND))
}

fn name_taken(name: &str) -> Error {
    Error::conflict(format!("user with name {name} already exists"))
}

impl Service {
    pub fn create_user(&self, actor: &Actor, req: CreateUser) -> Result<User> {
        actor.require(Action::Write, "users", None, None)?;
        let name = check_user_name(req.name.as_deref())?;
        let password_hash = match req.password.as_deref() {
            Some(p) => {
                check_password(p)?;
                Some(hash_password(p)?)
            }
            None => None,
        };
        self.write(|store| {
            if store.user_by_name(&name)?.is_some() {
                return Err(name_taken(&name));
            }
            let user = User {
                id: store.new_id(),
                name,
                status: req.status.unwrap_or_default(),
                password_hash,
                operator: false,
                created_at: Timestamp::now(),
            };
            Ok((
                user.clone(),
                vec![Change::PutUser {
                    user,
                    previous_name: None,
                }],
            ))
        })
    }

    pub fn user(&self, actor: &Actor, id: Id) -> Result<User> {
        let user = load(self.store.as_ref(), id)?;
        actor.require(Action::Read, "users", None, Some(id))?;
        Ok(user)
    }

    /// For Basic-authenticated password changes; unknown names look like a
    /// wrong password.
    pub fn user_id_by_name(&self, name: &str) -> Result<Id> {
        self.store
            .user_by_name(name)?
            .map(|u| u.id)
            .ok_or_else(|| Error::forbidden("your username or password is incorrect"))
    }

    /// The actor's own user: always readable by its holder.
    pub fn me(&self, actor: &Actor) -> Result<User> {
        load(self.store.as_ref(), actor.user_id)
    }

    /// Users the actor may read, in ID order, optionally by name or id.
    pub fn list_users(
        &self,
        actor: &Actor,
        name: Option<&str>,
        id: Option<Id>,
    ) -> Result<Vec<User>> {
        let store = self.store.as_ref();
        let candidates = match (id, name) {
            (Some(id), _) => store.user(id)?.into_iter().collect(),
            (None, Some(n)) => store.user_by_name(n)?.into_iter().collect(),
            (None, None) => store.users()?,
        };
        Ok(candidates
            .into_iter()
            .filter(|u| actor.can(Action::Read, "users", None, Some(u.id)))
            .collect())
    }

    pub fn update_user(&self, actor: &Actor, id: Id, patch: PatchUser) -> Result<User> {
        if patch.name.is_none() && patch.status.is_none() {
            return Err(Error::invalid("must update at least one attribute"));
        }
        let new_name = patch
            .name
            .as_deref()
            .map(|n| check_user_name(Some(n)))
            .transpose()?;
        self.write(|store| {
            let mut user = load(store, id)?;
            actor.require(Action::Write, "users", None, Some(id))?;
            let previous_name = Some(user.name.clone());
            if let Some(name) = new_name {
                if name != user.name && store.user_by_name(&name)?.is_some() {
                    return Err(name_taken(&name));
                }
                user.name = name;
            }
            if let Some(status) = patch.status {
                user.status = status;
            }
            Ok((
                user.clone(),
                vec![Change::PutUser {
                    user,
                    previous_name,
                }],
            ))
        })
    }

    /// Deletes the user with its tokens, sessions and owner/member mappings.
    pub fn delete_user(&self, actor: &Actor, id: Id) -> Result<()> {
        self.write(|store| {
            let user = load(store, id)?;
            actor.require(Action::Write, "users", None, Some(id))?;
            let mut changes: Vec<Change> = store
                .authorizations()?
                .into_iter()
                .filter(|a| a.user_id == id)
                .map(|a| Change::DeleteAuthorization {
                    id: a.id,
                    token_hash: a.token_hash,
                })
                .collect();
            changes.extend(
                store
                    .sessions()?
                    .into_iter()
                    .filter(|s| s.user_id == id)
                    .map(|s| Change::DeleteSession(s.id)),
            );
            changes.push(Change::DeleteUser {
                id,
                name: user.name,
            });
            Ok(((), changes))
        })
    }

    pub fn set_password(&self, actor: &Actor, id: Id, password: Option<String>) -> Result<()> {
        let password = password.unwrap_or_default();
        check_password(&password)?;
        let hash = hash_password(&password)?;
        self.write(|store| {
            let mut user = load(store, id)?;
            actor.require(Action::Write, "users", None, Some(id))?;
            user.password_hash = Some(hash);
            Ok((
                (),
                vec![Change::PutUser {
                    user,
                    previous_name: None,
                }],
            ))
        })
    }

    /// Replaces a password after checking the current one (InfluxDB's
    /// `CompareAndSetPassword`): the caller proves itself with the old password.
    pub fn change_password(&self, user_id: Id, old: &str, new: Option<String>) -> Result<()> {
        let wrong = || Error::forbidden("your username or password is incorrect");
        let new = new.unwrap_or_default();
        let user = self.store.user(user_id)?.ok_or_else(wrong)?;
        let ok = match user.password_hash.as_deref() {
            Some(hash) => verify_password(old, hash),
            None => {
                let _ = verify_password(old, dummy_hash());
                false
            }
        };
        if !ok || user.status != Status::Active {
            return Err(wrong());
        }
        check_password(&new)?;
        let hash = hash_password(&new)?;
        self.write(|store| {
            let mut user = load(store, user_id)?;
            user.password_hash = Some(hash);
            Ok((
                (),
                vec![Change::PutUser {
                    user,
                    previous_name: None,
                }],
            ))
        })
    }

    /// Checks a username and password and opens a session.
    pub fn sign_in(&self, username: &str, password: &str) -> Result<Session> {
        let store = self.store.as_ref();
        let user = store.user_by_name(username)?;
        let ok = match user.as_ref().and_then(|u| u.password_hash.as_deref()) {
            Some(hash) => verify_password(password, hash),
            None => {
                // Spend the same time as a real check so names cannot be probed.
                let _ = verify_password(password, dummy_hash());
                false
            }
        };
        let user = match user {
            Some(u) if ok && u.status == Status::Active => u,
            _ => return Err(crate::auth::unauthorized()),
        };
        let now = Timestamp::now();
        let length = self.settings.session_length.as_nanos() as i64;
        let session = Session {
            id: session_id(),
            user_id: user.id,
            created_at: now,
            expires_at: Timestamp::from_nanos(now.nanos().saturating_add(length)),
        };
        self.write(|_| Ok((session.clone(), vec![Change::PutSession(session.clone())])))
    }

    /// Whether a session ending at `expires_at` is due for renewal.
    pub fn session_renewal_due(&self, expires_at: Timestamp) -> bool {
        renewed_expiry(Timestamp::now(), expires_at).is_some()
    }

    /// Extends a session used near its end, as InfluxDB's `RenewSession`
    /// does; returns the new end when one was written.
    pub fn renew_session(&self, id: &str) -> Result<Option<Timestamp>> {
        self.write(|store| {
            let mut session = store.session(id)?.ok_or_else(crate::auth::unauthorized)?;
            let now = Timestamp::now();
            if session.expires_at <= now {
                return Err(Error::unauthorized("session has expired"));
            }
            match renewed_expiry(now, session.expires_at) {
                Some(end) => {
                    session.expires_at = end;
                    Ok((Some(end), vec![Change::PutSession(session)]))
                }
                None => Ok((None, Vec::new())),
            }
        })
    }

    pub fn sign_out(&self, session: &str) -> Result<()> {
        let id = session.to_string();
        self.write(|_| Ok(((), vec![Change::DeleteSession(id)])))
    }
}

/// InfluxDB extends a session on every use to at least this long from now
/// (`RenewSessionTime`), so a person active in the UI stays signed in.
pub const SESSION_RENEWAL: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Extensions shorter than this are not written: a session near its end is
/// stored again at most once a minute, not on every request.
const SESSION_RENEWAL_STEP: std::time::Duration = std::time::Duration::from_secs(60);

/// The new end of a session used at `now`, if it is worth storing.
fn renewed_expiry(now: Timestamp, expires_at: Timestamp) -> Option<Timestamp> {
    let end = now
        .nanos()
        .saturating_add(SESSION_RENEWAL.as_nanos() as i64);
    let worth = expires_at
        .nanos()
        .saturating_add(SESSION_RENEWAL_STEP.as_nanos() as i64);
    (end >= worth).then(|| Timestamp::from_nanos(end))
}

/// A real argon2 hash of a random string, so failed sign-ins for unknown
/// users cost as much as wrong passwords.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&crate::auth::token::session_id()).unwrap_or_default())
}
