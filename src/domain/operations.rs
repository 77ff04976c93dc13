//! What operators ask of a running server: the store's figures for
//! `/metrics` and its health.

use super::Service;
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
