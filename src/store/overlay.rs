//! Batches committed but not yet in sled.
//!
//! A writer's batch goes here, under the store's writer lock, instead of into
//! sled: a sled batch costs two writes of sled's log buffer to the device
//! (`apply_batch` seals the buffer before and after it), which was a quarter
//! of a write's CPU and what held concurrent writers to one device round trip
//! each. Once the write-ahead log has a group of batches, the sled-apply
//! thread (`durability.rs`) puts the whole group into sled as one batch and
//! drops its entries from here.
//!
//! Every read of the store looks here first, so a batch is visible from the
//! moment it is committed, as it was when it went into sled directly. An
//! entry leaves only after sled holds its value, so a reader that finds no
//! entry finds the same value in sled.

use sled::IVec;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// One operation of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub key: IVec,
    /// The value to insert, or `None` to remove.
    pub value: Option<IVec>,
    /// The value is a record's JSON: it is compressed (`packed::pack`) on
    /// its way into sled, off the writer lock, and read as it is till then.
    pub record: bool,
}

#[derive(Default)]
pub struct Overlay {
    /// Key → (sequence number of the batch that wrote it last, value).
    map: RwLock<BTreeMap<IVec, (u64, Option<IVec>)>>,
    /// `map.len()`, read without the lock: most reads find it empty.
    len: AtomicUsize,
}

impl Overlay {
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<IVec, (u64, Option<IVec>)>> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<IVec, (u64, Option<IVec>)>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes batch `seq` visible; a later operation on a key wins.
    pub fn insert(&self, seq: u64, ops: &[Op]) {
        let mut map = self.write();
        for op in ops {
            map.insert(op.key.clone(), (seq, op.value.clone()));
        }
        self.len.store(map.len(), Ordering::Release);
    }

    /// Drops what batches up to `seq` wrote, now that sled holds it; a key a
    /// later batch wrote again stays.
    pub fn settle<'a>(&self, seq: u64, ops: impl IntoIterator<Item = &'a Op>) {
        let mut map = self.write();
        for op in ops {
            if map.get(&op.key).is_some_and(|(s, _)| *s <= seq) {
                map.remove(&op.key);
            }
        }
        self.len.store(map.len(), Ordering::Release);
    }

    pub fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    /// `Some(value or None for removed)` when a pending batch wrote `k`.
    pub fn get(&self, k: &[u8]) -> Option<Option<IVec>> {
        if self.is_empty() {
            return None;
        }
        self.read().get(k).map(|(_, v)| v.clone())
    }

    /// A merged scan of `range`: this overlay's entries over sled's.
    pub fn scan(&self, db: &sled::Db, lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>) -> Scan {
        // The entries are taken before sled is read: an entry that leaves
        // meanwhile is in sled by then.
        let pending: VecDeque<(IVec, Option<IVec>)> = if self.is_empty() {
            VecDeque::new()
        } else {
            self.read()
                .range::<[u8], _>((bound_ref(&lo), bound_ref(&hi)))
                .map(|(k, (_, v))| (k.clone(), v.clone()))
                .collect()
        };
        Scan {
            sled: db.range::<Vec<u8>, _>((lo, hi)).fuse(),
            pending,
            head: None,
            reversed: false,
        }
    }
}

fn bound_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The bounds of every key starting with `prefix`.
pub fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let lo = Bound::Included(prefix.to_vec());
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return (lo, Bound::Excluded(end));
        }
    }
    (lo, Bound::Unbounded)
}

/// sled's iterator with the pending entries of its range merged in, in key
/// order (or reversed, with `rev`); a pending removal hides sled's entry.
pub struct Scan {
    /// Fused: sled's iterator does not stay ended, and one asked again after
    /// it ended would return keys a concurrent apply has put into sled since,
    /// which this scan has already taken from the overlay.
    sled: std::iter::Fuse<sled::Iter>,
    pending: VecDeque<(IVec, Option<IVec>)>,
    /// sled's next entry, read ahead to compare with the pending one.
    head: Option<(IVec, IVec)>,
    reversed: bool,
}

impl Scan {
    /// The same scan from the last key down (call before iterating).
    pub fn rev(mut self) -> Scan {
        self.reversed = !self.reversed;
        self
    }

    pub fn keys(self) -> impl Iterator<Item = sled::Result<IVec>> {
        self.map(|kv| kv.map(|(k, _)| k))
    }
}

impl Iterator for Scan {
    type Item = sled::Result<(IVec, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.head.is_none() {
                let next = if self.reversed {
                    self.sled.next_back()
                } else {
                    self.sled.next()
                };
                match next {
                    Some(Ok(kv)) => self.head = Some(kv),
                    Some(Err(e)) => return Some(Err(e)),
                    None => {}
                }
            }
            let pending = if self.reversed {
                self.pending.back()
            } else {
                self.pending.front()
            };
            let pending_first = match (pending, &self.head) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some((pk, _)), Some((sk, _))) => (pk <= sk) != self.reversed || pk == sk,
            };
            if !pending_first {
                return self.head.take().map(Ok);
            }
            let (k, v) = if self.reversed {
                self.pending.pop_back()?
            } else {
                self.pending.pop_front()?
            };
            if self.head.as_ref().is_some_and(|(sk, _)| *sk == k) {
                self.head = None;
            }
            if let Some(v) = v {
                return Some(Ok((k, v)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(list: &[(&str, Option<&str>)]) -> Vec<Op> {
        list.iter()
            .map(|(k, v)| Op {
                key: IVec::from(k.as_bytes()),
                value: v.map(|v| IVec::from(v.as_bytes())),
                record: false,
            })
            .collect()
    }

    fn collect(scan: Scan) -> Vec<(String, String)> {
        scan.map(|kv| {
            let (k, v) = kv.expect("scan");
            (
                String::from_utf8_lossy(&k).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect()
    }

    #[test]
    fn scans_merge_pending_batches_over_sled_both_ways() {
        let dir = tempfile::tempdir().expect("dir");
        let db = sled::Config::new().path(dir.path()).open().expect("sled");
        for (k, v) in [
            ("a/1", "s1"),
            ("a/3", "s3"),
            ("a/5", "s5"),
            ("b/1", "other"),
        ] {
            db.insert(k, v).expect("insert");
        }
        let o = Overlay::default();
        let seventh = ops(&[
            ("a/2", Some("p2")),
            ("a/3", None),
            ("a/5", Some("p5")),
            ("a/6", Some("p6")),
        ]);
        o.insert(7, &seventh);
        let (lo, hi) = prefix_bounds(b"a/");
        let forward = collect(o.scan(&db, lo.clone(), hi.clone()));
        let want = [("a/1", "s1"), ("a/2", "p2"), ("a/5", "p5"), ("a/6", "p6")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(forward, want);
        let mut backward = collect(o.scan(&db, lo.clone(), hi.clone()).rev());
        backward.reverse();
        assert_eq!(backward, want);
        assert_eq!(o.get(b"a/3"), Some(None));
        assert_eq!(o.get(b"a/1"), None);

        // A later batch's write of a key survives settling the earlier one.
        o.insert(8, &ops(&[("a/2", Some("q2"))]));
        o.settle(7, &seventh);
        assert_eq!(o.get(b"a/2"), Some(Some(IVec::from(&b"q2"[..]))));
        assert_eq!(o.get(b"a/5"), None);
        o.settle(8, &ops(&[("a/2", Some("q2"))]));
        assert!(o.is_empty());
        assert_eq!(collect(o.scan(&db, lo, hi)).len(), 3);
    }

    #[test]
    fn prefix_bounds_end_past_every_key_of_the_prefix() {
        assert_eq!(
            prefix_bounds(b"a/"),
            (
                Bound::Included(b"a/".to_vec()),
                Bound::Excluded(b"a0".to_vec())
            )
        );
        assert_eq!(
            prefix_bounds(&[1, 0xFF]),
            (Bound::Included(vec![1, 0xFF]), Bound::Excluded(vec![2]))
        );
        assert_eq!(prefix_bounds(&[0xFF]).1, Bound::Unbounded);
    }
}
