//! Remembers what a GET of an already rendered dashboard needs besides its
//! JSON: the dashboard's stamp and labels, and the default dashboards of
//! users and orgs. Reading them was about a fifth of a cached GET's CPU.
//!
//! Only for a store no other process writes (`Store::sole_writer`): then
//! every change passes through `Service::write`, which tells the cache what
//! it touched once the change is durable. A lookup that started before such
//! a write never stores its (possibly stale) answer: insertion checks the
//! generation it saw, as the credential cache does.

use crate::domain::label::Label;
use crate::id::Id;
use crate::store::{Change, DashboardFacts, DashboardStamp};
use rustc_hash::FxHashMap;
use std::sync::{Mutex, MutexGuard};

/// Past this many dashboards (or default owners) the cache starts over; a
/// bound on memory, not a tuning knob (an entry is about a hundred bytes).
const MAX_ENTRIES: usize = 200_000;

struct Dashboard {
    stamp: DashboardStamp,
    labels: Vec<Label>,
}

#[derive(Default)]
struct State {
    generation: u64,
    // IDs are ours, not the caller's: a fast hash is safe here.
    dashboards: FxHashMap<Id, Dashboard>,
    /// The default dashboard of a user or an org, `None` when it has none.
    defaults: FxHashMap<Id, Option<Id>>,
}

#[derive(Default)]
pub struct FactsCache {
    state: Mutex<State>,
}

/// What a write changed, as far as the cache cares.
pub enum Touched {
    Nothing,
    Dashboard(Id),
    Defaults,
    /// Dashboard and defaults both (a deleted dashboard stops being anyone's
    /// default).
    DashboardAndDefaults(Id),
    Everything,
}

impl Touched {
    pub fn of(change: &Change) -> Touched {
        match change {
            Change::PutDashboard(d) => Touched::Dashboard(d.id),
            Change::PutView { dashboard, .. } | Change::DeleteView { dashboard, .. } => {
                Touched::Dashboard(*dashboard)
            }
            Change::DeleteDashboard { id, .. } => Touched::DashboardAndDefaults(*id),
            // Label mappings on other resources are harmless to forget too.
            Change::PutLabelMapping(m) => Touched::Dashboard(m.resource_id),
            Change::DeleteLabelMapping { resource, .. } => Touched::Dashboard(*resource),
            Change::PutDefaultDashboard(_) | Change::DeleteDefaultDashboard { .. } => {
                Touched::Defaults
            }
            Change::PutVersion { .. }
            | Change::DeleteVersions { .. }
            | Change::PutTrash(_)
            | Change::DeleteTrash { .. }
            | Change::PutSession(_)
            | Change::DeleteSession(_)
            | Change::PutAuthorization(_)
            | Change::DeleteAuthorization { .. }
            | Change::PutVariable { .. }
            | Change::DeleteVariable { .. }
            | Change::PutExternalDashboard { .. }
            | Change::DeleteExternalDashboard { .. }
            | Change::PutBucket(_)
            | Change::DeleteBucket(_)
            | Change::PutStack(_)
            | Change::DeleteStack { .. }
            | Change::PutMeta { .. } => Touched::Nothing,
            // Labels themselves, orgs, users, mappings, roles: rare, and may
            // reach many dashboards at once.
            _ => Touched::Everything,
        }
    }
}

impl FactsCache {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The facts of dashboard `id` for `user`, when all of them are known.
    pub fn get(&self, id: Id, user: Id) -> Option<DashboardFacts> {
        let st = self.lock();
        let d = st.dashboards.get(&id)?;
        let user_default = *st.defaults.get(&user)?;
        let org_default = *st.defaults.get(&d.stamp.org)?;
        Some(DashboardFacts {
            stamp: d.stamp,
            labels: d.labels.clone(),
            user_default,
            org_default,
        })
    }

    /// Keeps facts read from the store as it was at `seen`.
    pub fn insert(&self, id: Id, user: Id, f: &DashboardFacts, seen: u64) {
        let mut st = self.lock();
        if st.generation != seen {
            return;
        }
        if st.dashboards.len() >= MAX_ENTRIES || st.defaults.len() >= MAX_ENTRIES {
            st.dashboards.clear();
            st.defaults.clear();
        }
        st.dashboards.insert(
            id,
            Dashboard {
                stamp: f.stamp,
                labels: f.labels.clone(),
            },
        );
        st.defaults.insert(user, f.user_default);
        st.defaults.insert(f.stamp.org, f.org_default);
    }

    /// The default dashboard of a user or an org, when known.
    pub fn default_of(&self, owner: Id) -> Option<Option<Id>> {
        self.lock().defaults.get(&owner).copied()
    }

    /// Keeps an owner's default read from the store as it was at `seen`.
    pub fn insert_default(&self, owner: Id, default: Option<Id>, seen: u64) {
        let mut st = self.lock();
        if st.generation != seen {
            return;
        }
        if st.defaults.len() >= MAX_ENTRIES {
            st.defaults.clear();
        }
        st.defaults.insert(owner, default);
    }

    /// Forgets what a durable write touched.
    pub fn forget(&self, touched: &[Touched]) {
        if touched.iter().all(|t| matches!(t, Touched::Nothing)) {
            return;
        }
        let mut st = self.lock();
        st.generation += 1;
        for t in touched {
            match t {
                Touched::Nothing => {}
                Touched::Dashboard(id) => {
                    st.dashboards.remove(id);
                }
                Touched::Defaults => st.defaults.clear(),
                Touched::DashboardAndDefaults(id) => {
                    st.dashboards.remove(id);
                    st.defaults.clear();
                }
                Touched::Everything => {
                    st.dashboards.clear();
                    st.defaults.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(org: u64, version: i64) -> DashboardFacts {
        DashboardFacts {
            stamp: DashboardStamp {
                org: Id::from_u64(org).expect("id"),
                updated_nanos: version,
                private: false,
            },
            labels: Vec::new(),
            user_default: None,
            org_default: None,
        }
    }

    #[test]
    fn a_lookup_older_than_a_write_is_not_kept() {
        let c = FactsCache::default();
        let (d, u) = (Id::from_u64(7).expect("id"), Id::from_u64(8).expect("id"));
        let seen = c.generation();
        c.forget(&[Touched::Dashboard(d)]);
        c.insert(d, u, &facts(1, 1), seen);
        assert!(c.get(d, u).is_none());
        c.insert(d, u, &facts(1, 2), c.generation());
        assert_eq!(c.get(d, u).map(|f| f.stamp.updated_nanos), Some(2));
    }

    #[test]
    fn writes_forget_what_they_touched() {
        let c = FactsCache::default();
        let (d, e, u) = (
            Id::from_u64(7).expect("id"),
            Id::from_u64(9).expect("id"),
            Id::from_u64(8).expect("id"),
        );
        c.insert(d, u, &facts(1, 1), c.generation());
        c.insert(e, u, &facts(1, 1), c.generation());
        c.forget(&[Touched::Dashboard(d), Touched::Nothing]);
        assert!(c.get(d, u).is_none());
        assert!(c.get(e, u).is_some());
        c.forget(&[Touched::Defaults]);
        assert!(c.get(e, u).is_none(), "defaults are part of the facts");
        c.insert(e, u, &facts(1, 1), c.generation());
        c.forget(&[Touched::Everything]);
        assert!(c.get(e, u).is_none());
    }

    #[test]
    fn an_owners_default_is_kept_until_defaults_change() {
        let c = FactsCache::default();
        let (owner, d) = (Id::from_u64(3).expect("id"), Id::from_u64(7).expect("id"));
        assert_eq!(c.default_of(owner), None);
        let seen = c.generation();
        c.forget(&[Touched::Defaults]);
        c.insert_default(owner, Some(d), seen);
        assert_eq!(c.default_of(owner), None, "read before a write: not kept");
        c.insert_default(owner, None, c.generation());
        assert_eq!(
            c.default_of(owner),
            Some(None),
            "no default is an answer too"
        );
        c.forget(&[Touched::Dashboard(d)]);
        assert_eq!(c.default_of(owner), Some(None));
        c.forget(&[Touched::DashboardAndDefaults(d)]);
        assert_eq!(c.default_of(owner), None);
    }
}
