//! The embedded store's list index: per org, its dashboards in ID order with
//! their version stamps and label IDs, in memory. A page at any offset is a
//! slice of it (the org's `D/` keys would have to be walked entry by entry
//! to skip), and a list reads no dashboard document or label mapping for
//! what it can serve from rendered JSON.
//!
//! An org is loaded on its first list. `SledStore::apply` keeps loaded orgs
//! exact: it updates them after each batch, while the writer still holds the
//! store's write lock, so writes reach the index in the order they reached
//! sled. A load holds the index's own lock for its whole scan, and a writer
//! takes that lock only after its batch is in sled: the write is either in
//! what the load scanned, or applied to the loaded org afterwards (putting
//! and removing are idempotent).

use super::{DashboardEntry, DashboardScan, StoreResult};
use crate::id::Id;
use std::collections::{hash_map, HashMap};
use std::sync::{RwLock, RwLockWriteGuard};

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub id: Id,
    pub version: i64,
    pub private: bool,
    /// Label IDs, ascending.
    pub labels: Box<[Id]>,
}

/// What a batch did to the index's contents, recorded while it was built.
#[derive(Debug)]
pub(super) enum IndexOp {
    Put {
        org: Id,
        id: Id,
        version: i64,
        private: bool,
        /// The org it was listed under before, when that was another one.
        moved_from: Option<Id>,
    },
    Remove {
        org: Id,
        id: Id,
    },
    /// A label put on (`on`) or taken off a resource, which may be a
    /// dashboard.
    Label {
        resource: Id,
        label: Id,
        on: bool,
    },
}

#[derive(Default)]
pub(super) struct DashboardIndex {
    orgs: RwLock<HashMap<Id, Vec<Entry>>>,
}

fn position(entries: &[Entry], id: Id) -> Result<usize, usize> {
    entries.binary_search_by_key(&id, |e| e.id)
}

impl DashboardIndex {
    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Id, Vec<Entry>>> {
        self.orgs.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The entries `scan` selects from `org`, loading the org with `load`
    /// (its entries in ID order) on first use.
    pub fn page(
        &self,
        org: Id,
        scan: &DashboardScan,
        load: impl FnOnce() -> StoreResult<Vec<Entry>>,
    ) -> StoreResult<Vec<DashboardEntry>> {
        {
            let orgs = self.orgs.read().unwrap_or_else(|p| p.into_inner());
            if let Some(entries) = orgs.get(&org) {
                return Ok(slice(org, entries, scan));
            }
        }
        let mut orgs = self.write();
        let entries = match orgs.entry(org) {
            hash_map::Entry::Occupied(o) => o.into_mut(),
            hash_map::Entry::Vacant(v) => v.insert(load()?),
        };
        Ok(slice(org, entries, scan))
    }

    /// Applies what a batch did. `org_of` says which org a dashboard is in
    /// now (`None`: not a dashboard, or gone); `labels_of` reads a
    /// dashboard's label IDs, ascending, from the store.
    pub fn apply(
        &self,
        ops: Vec<IndexOp>,
        org_of: impl Fn(Id) -> Option<Id>,
        labels_of: impl Fn(Id) -> StoreResult<Vec<Id>>,
    ) -> StoreResult<()> {
        let mut orgs = self.write();
        for op in ops {
            match op {
                IndexOp::Put {
                    org,
                    id,
                    version,
                    private,
                    moved_from,
                } => {
                    if let Some(from) = moved_from.and_then(|o| orgs.get_mut(&o)) {
                        if let Ok(at) = position(from, id) {
                            from.remove(at);
                        }
                    }
                    let Some(entries) = orgs.get_mut(&org) else {
                        continue;
                    };
                    match position(entries, id) {
                        Ok(at) => {
                            entries[at].version = version;
                            entries[at].private = private;
                        }
                        Err(at) => entries.insert(
                            at,
                            Entry {
                                id,
                                version,
                                private,
                                labels: labels_of(id)?.into(),
                            },
                        ),
                    }
                }
                IndexOp::Remove { org, id } => {
                    if let Some(entries) = orgs.get_mut(&org) {
                        if let Ok(at) = position(entries, id) {
                            entries.remove(at);
                        }
                    }
                }
                IndexOp::Label {
                    resource,
                    label,
                    on,
                } => {
                    let Some(entries) = org_of(resource).and_then(|o| orgs.get_mut(&o)) else {
                        continue;
                    };
                    let Ok(at) = position(entries, resource) else {
                        continue;
                    };
                    let mut labels = entries[at].labels.to_vec();
                    match (labels.binary_search(&label), on) {
                        (Err(i), true) => labels.insert(i, label),
                        (Ok(i), false) => {
                            labels.remove(i);
                        }
                        _ => continue,
                    }
                    entries[at].labels = labels.into();
                }
            }
        }
        Ok(())
    }

    /// Forgets every org (the store was emptied).
    pub fn clear(&self) {
        self.write().clear();
    }
}

fn slice(org: Id, entries: &[Entry], scan: &DashboardScan) -> Vec<DashboardEntry> {
    let n = entries.len();
    let start = scan.offset.min(n);
    let end = scan.limit.map_or(n, |l| start.saturating_add(l).min(n));
    let entry = |e: &Entry| DashboardEntry {
        id: e.id,
        org,
        version: e.version,
        private: e.private,
        labels: e.labels.to_vec(),
    };
    if scan.descending {
        entries[n - end..n - start]
            .iter()
            .rev()
            .map(entry)
            .collect()
    } else {
        entries[start..end].iter().map(entry).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> Id {
        Id::from_u64(n).expect("id")
    }

    fn scan(descending: bool, offset: usize, limit: Option<usize>) -> DashboardScan {
        DashboardScan {
            org: None,
            descending,
            offset,
            limit,
        }
    }

    fn ids(v: &[DashboardEntry]) -> Vec<u64> {
        v.iter().map(|e| e.id.get()).collect()
    }

    #[test]
    fn pages_slice_both_ways_and_writes_keep_the_order() {
        let idx = DashboardIndex::default();
        let (a, b) = (id(100), id(200));
        let load = || {
            Ok((1..=5)
                .map(|n| Entry {
                    id: id(n * 10),
                    version: 1,
                    private: false,
                    labels: Box::new([]),
                })
                .collect())
        };
        let p = idx.page(a, &scan(false, 1, Some(2)), load).expect("page");
        assert_eq!(ids(&p), [20, 30]);
        let never = || -> StoreResult<Vec<Entry>> { panic!("loaded twice") };
        let p = idx.page(a, &scan(true, 1, Some(2)), never).expect("page");
        assert_eq!(ids(&p), [40, 30]);
        assert!(idx
            .page(a, &scan(false, 9, Some(2)), never)
            .expect("page")
            .is_empty());

        let no_labels = |_| Ok(Vec::new());
        idx.apply(
            vec![
                IndexOp::Put {
                    org: a,
                    id: id(25),
                    version: 7,
                    private: true,
                    moved_from: None,
                },
                IndexOp::Remove { org: a, id: id(10) },
                IndexOp::Label {
                    resource: id(25),
                    label: id(3),
                    on: true,
                },
                IndexOp::Label {
                    resource: id(25),
                    label: id(1),
                    on: true,
                },
            ],
            |_| Some(a),
            no_labels,
        )
        .expect("apply");
        let p = idx.page(a, &scan(false, 0, None), never).expect("page");
        assert_eq!(ids(&p), [20, 25, 30, 40, 50]);
        assert_eq!(p[1].version, 7);
        assert!(p[1].private);
        assert_eq!(p[1].labels, [id(1), id(3)]);

        // Moving to an org that is not loaded drops it from the loaded one.
        idx.apply(
            vec![IndexOp::Put {
                org: b,
                id: id(25),
                version: 8,
                private: false,
                moved_from: Some(a),
            }],
            |_| Some(b),
            no_labels,
        )
        .expect("apply");
        let p = idx.page(a, &scan(false, 0, None), never).expect("page");
        assert_eq!(ids(&p), [20, 30, 40, 50]);
    }
}
