//! Domain types, validation and rules. Nothing here knows about HTTP or sled:
//! handlers call `Service` methods, and `Service` talks to a `Store`.

pub mod authorization;
pub mod bucket;
pub mod clone;
pub mod dashboard;
pub mod default_dashboard;
pub mod external_dashboard;
pub mod facts;
pub mod fair_use;
pub mod history;
pub mod label;
pub mod member;
pub mod operations;
pub mod org;
pub mod paging;
pub mod role;
pub mod setup;
pub mod stack;
pub mod template;
pub mod time;
pub mod trash;
pub mod user;
pub mod variable;
pub mod view;

use crate::auth::cache::AuthCache;
use crate::auth::token::{generate_secret, TokenSigner};
use crate::error::Error;
use crate::error::Result;
use crate::store::{Change, Store, StoreRead};
use std::sync::Arc;
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
    /// How long and how many dashboard versions are kept.
    pub history: history::HistorySettings,
    /// How long deleted dashboards stay in the trash (`None`: deletes are
    /// final).
    pub trash_retention: Option<Duration>,
}

/// The rules of every resource, over one store. Consistency between
/// concurrent writers (in this process or others on the same database) is
/// the store's: see `Store::write`.
pub struct Service {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) signer: TokenSigner,
    pub(crate) auth_cache: Arc<AuthCache>,
    /// Used only when the store has no other writer (`Store::sole_writer`).
    pub(crate) facts: facts::FactsCache,
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
                    // Another instance may be creating it at the same time:
                    // whichever writes first wins, the other takes its key.
                    let mut key = Vec::new();
                    store.write(&mut |s| {
                        if let Some(k) = s.meta(SIGNING_KEY)? {
                            key = k;
                            return Ok(Vec::new());
                        }
                        key = generate_secret();
                        Ok(vec![Change::PutMeta {
                            key: SIGNING_KEY,
                            value: key.clone(),
                        }])
                    })?;
                    key
                }
            },
        };
        let auth_cache = Arc::new(AuthCache::default());
        let cache = auth_cache.clone();
        store.on_foreign_change(Box::new(move || cache.invalidate()));
        Ok(Service {
            store,
            signer: TokenSigner::new(&secret),
            auth_cache,
            facts: facts::FactsCache::default(),
            settings,
        })
    }

    /// Whether reads may run on an async worker (see `Store::reads_in_place`).
    pub fn reads_in_place(&self) -> bool {
        self.store.reads_in_place()
    }

    /// Threads per HTTP worker for blocking work (see `Store::blocking_threads`).
    pub fn blocking_threads(&self, workers: usize) -> usize {
        self.store.blocking_threads(workers)
    }

    /// Gives back what the store holds for this process (see `Store::close`).
    pub fn close(&self) {
        self.store.close()
    }

    /// Runs `f` as one read-modify-write in the store, applies the changes
    /// it returns atomically, and returns once they are durable.
    fn write<T>(&self, f: impl FnOnce(&dyn StoreRead) -> Result<(T, Vec<Change>)>) -> Result<T> {
        let mut f = Some(f);
        let mut value = None;
        let mut rights = false;
        let mut touched = Vec::new();
        let wrote = self.store.write(&mut |store| {
            let f = f
                .take()
                .ok_or_else(|| Error::internal("a write step ran twice"))?;
            let (v, changes) = f(store)?;
            value = Some(v);
            rights = changes.iter().any(Change::may_change_rights);
            touched = changes.iter().map(facts::Touched::of).collect();
            Ok(changes)
        })?;
        if wrote && rights {
            self.auth_cache.invalidate();
        }
        if wrote {
            self.facts.forget(&touched);
        }
        value.ok_or_else(|| Error::internal("a write step did not run"))
    }

    /// Runs `f` over one consistent state of the store.
    fn read<T>(&self, f: impl FnOnce(&dyn StoreRead) -> Result<T>) -> Result<T> {
        let mut f = Some(f);
        let mut value = None;
        self.store.read(&mut |store| {
            let f = f
                .take()
                .ok_or_else(|| Error::internal("a read step ran twice"))?;
            value = Some(f(store)?);
            Ok(())
        })?;
        value.ok_or_else(|| Error::internal("a read step did not run"))
    }
}
