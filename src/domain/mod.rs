//! Domain types, validation and rules. Nothing here knows about HTTP or sled:
//! handlers call `Service` methods, and `Service` talks to a `Store`.

pub mod dashboard;
pub mod org;
pub mod paging;
pub mod time;
pub mod view;

use crate::error::Result;
use crate::store::{Change, Store};
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Page `GET /api/v2/dashboards?orgID=…` by `limit`/`offset`. InfluxDB
    /// (and the Influx UI, which relies on it) returns a whole org by default.
    pub enforce_org_dashboard_limits: bool,
}

/// The rules of every resource, over one store.
///
/// Writers serialise on `lock` for their read-modify-write and release it
/// before waiting for durability, so concurrent writers share a disk sync.
/// Readers that need several keys to agree (a dashboard and its views) take
/// the lock shared.
pub struct Service {
    store: Arc<dyn Store>,
    lock: RwLock<()>,
    pub settings: Settings,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        Service {
            store,
            lock: RwLock::new(()),
            settings,
        }
    }

    /// Runs `f` under the write lock, applies the changes it returns
    /// atomically, and returns once they are durable.
    fn write<T>(&self, f: impl FnOnce(&dyn Store) -> Result<(T, Vec<Change>)>) -> Result<T> {
        let (value, ticket) = {
            let _guard = self.lock.write().unwrap_or_else(|p| p.into_inner());
            let (value, changes) = f(self.store.as_ref())?;
            if changes.is_empty() {
                return Ok(value);
            }
            (value, self.store.apply(changes)?)
        };
        self.store.wait_durable(ticket)?;
        Ok(value)
    }

    fn read<T>(&self, f: impl FnOnce(&dyn Store) -> Result<T>) -> Result<T> {
        let _guard = self.lock.read().unwrap_or_else(|p| p.into_inner());
        f(self.store.as_ref())
    }
}
