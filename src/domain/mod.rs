//! Domain types, validation and rules. Nothing here knows about HTTP or sled:
//! handlers call `Service` methods, and `Service` talks to a `Store`.

pub mod authorization;
pub mod bucket;
pub mod dashboard;
pub mod label;
pub mod member;
pub mod org;
pub mod paging;
pub mod setup;
pub mod stack;
pub mod template;
pub mod time;
pub mod user;
pub mod variable;
pub mod view;

use crate::auth::cache::AuthCache;
use crate::auth::token::{generate_secret, TokenSigner};
use crate::error::Result;
use crate::store::{Change, Store};
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Page `GET /api/v2/dashboards?orgID=…` by `limit`/`offset`. InfluxDB
    /// (and the Influx UI, which relies on it) returns a whole org by default.
    pub enforce_org_dashboard_limits: bool,
    /// How long a signed-in session lasts.
    pub session_length: Duration,
    /// Signing secret for minted tokens; generated and kept in the store when
    /// not configured.
    pub token_secret: Option<Vec<u8>>,
}

/// The rules of every resource, over one store.
///
/// Writers serialise on `lock` for their read-modify-write and release it
/// before waiting for durability, so concurrent writers share a disk sync.
/// Readers that need several keys to agree (a dashboard and its views) take
/// the lock shared.
pub struct Service {
    pub(crate) store: Arc<dyn Store>,
    lock: RwLock<()>,
    pub(crate) signer: TokenSigner,
    pub(crate) auth_cache: AuthCache,
    pub settings: Settings,
}

const SIGNING_KEY: &str = "signing_key";

impl Service {
    /// Wraps a store, creating the token signing secret on first start.
    pub fn open(store: Arc<dyn Store>, settings: Settings) -> Result<Self> {
        let secret = match &settings.token_secret {
            Some(s) => s.clone(),
            None => match store.meta(SIGNING_KEY)? {
                Some(k) => k,
                None => {
                    let k = generate_secret();
                    let ticket = store.apply(vec![Change::PutMeta {
                        key: SIGNING_KEY,
                        value: k.clone(),
                    }])?;
                    store.wait_durable(ticket)?;
                    k
                }
            },
        };
        Ok(Service {
            store,
            lock: RwLock::new(()),
            signer: TokenSigner::new(&secret),
            auth_cache: AuthCache::default(),
            settings,
        })
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
            let ticket = self.store.apply(changes)?;
            // Any write may revoke or change someone's rights.
            self.auth_cache.invalidate();
            (value, ticket)
        };
        self.store.wait_durable(ticket)?;
        Ok(value)
    }

    fn read<T>(&self, f: impl FnOnce(&dyn Store) -> Result<T>) -> Result<T> {
        let _guard = self.lock.read().unwrap_or_else(|p| p.into_inner());
        f(self.store.as_ref())
    }
}
