//! What operators ask of a running server: the store's figures for
//! `/metrics`, its health and a backup.

use super::Service;
use crate::auth::permission::{operator_permissions, Actor};
use crate::error::{Code, Error, Result};
use crate::store::backup::{Snapshot, ON_POSTGRES};
use crate::store::{StoreResult, StoreStats};

impl Service {
    /// Bytes on disk and records per kind.
    pub fn store_stats(&self) -> StoreResult<StoreStats> {
        self.store.stats()
    }

    /// The error a write would meet now, if any.
    pub fn store_check(&self) -> StoreResult<()> {
        self.store.check()
    }
}

impl Service {
    /// A consistent snapshot of every record, for an operator (a token
    /// with every permission, as influxd's backup asks).
    pub fn snapshot(&self, actor: &Actor) -> Result<Snapshot> {
        if !operator_permissions().iter().all(|p| actor.allows(p)) {
            return Err(Error::forbidden("a backup needs an operator token"));
        }
        if !self.store.backup_supported() {
            return Err(Error::new(Code::NotImplemented, ON_POSTGRES));
        }
        Snapshot::take(self.store.as_ref()).map_err(Error::internal)
    }
}
