//! Buckets: Tessera stores no time series, but setup creates one and the
//! clients and UI expect to see it.

use super::time::Timestamp;
use crate::id::Id;
use serde::{Deserialize, Serialize};

pub const ERR_BUCKET_NOT_FOUND: &str = "bucket not found";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub id: Id,
    #[serde(rename = "orgID")]
    pub org_id: Id,
    pub name: String,
    pub description: String,
    /// 0 keeps data forever.
    #[serde(rename = "retentionSeconds")]
    pub retention_seconds: u64,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

// ---- rules ---------------------------------------------------------------

use super::org::ERR_ORG_NOT_FOUND;
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::error::{Error, Result};

#[derive(Debug, Default)]
pub struct BucketFilter {
    pub org_id: Option<Id>,
    pub org: Option<String>,
    pub name: Option<String>,
}

impl Service {
    pub fn bucket(&self, actor: &Actor, id: Id) -> Result<Bucket> {
        let b = self
            .store
            .bucket(id)?
            .ok_or_else(|| Error::not_found(ERR_BUCKET_NOT_FOUND))?;
        actor.require(Action::Read, "buckets", Some(b.org_id), Some(b.id))?;
        Ok(b)
    }

    pub fn list_buckets(&self, actor: &Actor, f: BucketFilter) -> Result<Vec<Bucket>> {
        let store = self.store.as_ref();
        let org_id = match (f.org_id, &f.org) {
            (Some(id), _) => Some(id),
            (None, Some(name)) => Some(
                store
                    .org_by_name(name)?
                    .ok_or_else(|| Error::not_found(ERR_ORG_NOT_FOUND))?
                    .id,
            ),
            _ => None,
        };
        Ok(store
            .buckets()?
            .into_iter()
            .filter(|b| org_id.is_none_or(|o| b.org_id == o))
            .filter(|b| f.name.as_deref().is_none_or(|n| b.name == n))
            .filter(|b| actor.can(Action::Read, "buckets", Some(b.org_id), Some(b.id)))
            .collect())
    }
}
