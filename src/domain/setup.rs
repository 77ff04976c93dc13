//! Onboarding: the first user, org, bucket and operator token.

use super::authorization::{token_hash, Authorization};
use super::bucket::Bucket;
use super::member::{Mapping, Role};
use super::org::{check_org_name, Org};
use super::time::Timestamp;
use super::user::{check_password, check_user_name, hash_password, Status, User};
use super::Service;
use crate::auth::permission::operator_permissions;
use crate::error::{Error, Result};
use crate::store::Change;
use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
pub struct SetupRequest {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(rename = "retentionPeriodSeconds", default)]
    pub retention_period_seconds: Option<i64>,
    #[serde(rename = "retentionPeriodHrs", default)]
    pub retention_period_hrs: Option<i64>,
    #[serde(default)]
    pub token: Option<String>,
}

pub struct SetupResult {
    pub user: User,
    pub org: Org,
    pub bucket: Bucket,
    pub authorization: Authorization,
    pub token: String,
}

impl Service {
    pub fn setup_allowed(&self) -> Result<bool> {
        Ok(self.store.users()?.is_empty())
    }

    pub fn setup(&self, req: SetupRequest) -> Result<SetupResult> {
        let username = check_user_name(req.username.as_deref())
            .map_err(|_| Error::invalid("username is empty"))?;
        let org_name =
            check_org_name(req.org.as_deref()).map_err(|_| Error::invalid("org name is empty"))?;
        let bucket_name = req.bucket.as_deref().unwrap_or_default().trim().to_string();
        if bucket_name.is_empty() {
            return Err(Error::invalid("bucket name is empty"));
        }
        let password_hash = match req.password.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => {
                check_password(p)?;
                Some(hash_password(p)?)
            }
            None => None,
        };
        let retention = match (req.retention_period_seconds, req.retention_period_hrs) {
            (Some(s), _) if s > 0 => s as u64,
            (_, Some(h)) if h > 0 => h as u64 * 3600,
            (Some(s), _) | (_, Some(s)) if s < 0 => {
                return Err(Error::invalid("retention period must not be negative"))
            }
            _ => 0,
        };
        if let Some(t) = &req.token {
            if t.trim().is_empty() || t.len() > 4096 {
                return Err(Error::invalid("token must be 1 to 4096 characters"));
            }
        }
        self.write(|store| {
            if !store.users()?.is_empty() {
                // InfluxDB's ErrOnboardingNotAllowed: code conflict, sent as 422.
                return Err(Error::conflict("onboarding has already been completed"));
            }
            let now = Timestamp::now();
            let user = User {
                id: store.new_id(),
                name: username,
                status: Status::Active,
                password_hash,
                operator: true,
                created_at: now,
            };
            let org = Org {
                id: store.new_id(),
                name: org_name,
                description: String::new(),
                created_at: now,
                updated_at: now,
            };
            let bucket = Bucket {
                id: store.new_id(),
                org_id: org.id,
                name: bucket_name,
                description: String::new(),
                retention_seconds: retention,
                created_at: now,
                updated_at: now,
            };
            let auth_id = store.new_id();
            let (token, minted) = match req.token {
                Some(t) => (t, false),
                None => (self.signer.mint(auth_id, user.id)?, true),
            };
            let authorization = Authorization {
                id: auth_id,
                token_hash: token_hash(&token),
                minted,
                status: Status::Active,
                description: format!("{}'s Token", user.name),
                org_id: org.id,
                user_id: user.id,
                permissions: operator_permissions(),
                created_at: now,
                updated_at: now,
            };
            let changes = vec![
                Change::PutUser {
                    user: user.clone(),
                    previous_name: None,
                },
                Change::PutOrg(org.clone()),
                Change::PutMapping(Mapping {
                    resource_type: "orgs".into(),
                    resource_id: org.id,
                    user_id: user.id,
                    role: Role::Owner,
                }),
                Change::PutBucket(bucket.clone()),
                Change::PutAuthorization(authorization.clone()),
            ];
            Ok((
                SetupResult {
                    user,
                    org,
                    bucket,
                    authorization,
                    token,
                },
                changes,
            ))
        })
    }
}
