//! The sled 0.34 implementation of `Store`: one tree, tagged keys (see
//! `keys.rs`), JSON values (zstd-compressed when long, see `packed`),
//! atomic batches and group-committed durability.

use super::dashboard_index::{DashboardIndex, Entry, IndexOp};
use super::durability::Durability;
use super::keys::{self, key, name_key, org_name_key};
use super::overlay::{prefix_bounds, Overlay, Scan};
use super::packed;
use super::wal::{self, Batch, Wal};
use super::{
    Change, DashboardEntry, DashboardScan, DashboardStamp, ReadStep, Store, StoreError, StoreRead,
    StoreResult, Ticket, WriteStep,
};
use crate::domain::authorization::Authorization;
use crate::domain::bucket::Bucket;
use crate::domain::dashboard::Dashboard;
use crate::domain::default_dashboard::DefaultDashboard;
use crate::domain::external_dashboard::ExternalDashboard;
use crate::domain::history::Version;
use crate::domain::label::{Label, LabelMapping};
use crate::domain::member::Mapping;
use crate::domain::org::Org;
use crate::domain::role::{CustomRole, RoleAssignment};
use crate::domain::stack::Stack;
use crate::domain::trash::Trashed;
use crate::domain::user::{Session, User};
use crate::domain::variable::Variable;
use crate::domain::view::View;
use crate::id::{Id, IdGenerator};
use serde::de::DeserializeOwned;
use std::fs::{File, OpenOptions};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The layout version this build writes. Bump it with a migration.
/// 2: values may be compressed (`packed`); a version-1 store is read as it
/// is, and builds that know only version 1 refuse a version-2 store with a
/// message instead of failing on every compressed value.
pub const CURRENT_SCHEMA: u32 = 2;
const LOCK_FILE: &str = "tessera.lock";
/// Written once the store holds a durable schema version. sled opens a `db`
/// file full of garbage as an empty database, and without this marker
/// Tessera took that for a fresh directory and started un-onboarded over
/// the damaged data (regression: tests/crash.rs
/// corrupted_db_file_is_refused_with_a_message).
const STORE_MARKER: &str = "tessera.store";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create data directory {0}: {1}")]
    Create(PathBuf, std::io::Error),
    #[error("data directory {0} is not writable: {1}")]
    NotWritable(PathBuf, std::io::Error),
    #[error("data directory {0} is in use by another Tessera process")]
    Locked(PathBuf),
    #[error("cannot open the store in {0}: {1} (is the data directory damaged?)")]
    Open(PathBuf, String),
    #[error("the store in {0} has schema version {1}, newer than this build understands ({2}); run a newer Tessera")]
    NewerSchema(PathBuf, u32, u32),
    #[error("the store in {0} has data but no schema version; it was not written by Tessera")]
    Foreign(PathBuf),
}

/// Free space a write must leave on the data volume. sled 0.34 turns a
/// failed log write (ENOSPC) into a sticky global error: from then on every
/// write, and every read of a page touched since, fails until a restart —
/// a full disk made even `GET` answer 503 (regression: tests/crash.rs
/// full_disk_fails_writes_cleanly_and_keeps_reads). Refusing writes before
/// sled runs out keeps reads working and lets writes resume once space is
/// freed; sled can still hit ENOSPC if something else fills the volume
/// faster, and then it answers 503 until restarted.
const FREE_SPACE_RESERVE: u64 = 8 * 1024 * 1024;

pub struct SledStore {
    /// Writers hold it exclusively for their read-modify-write and release it
    /// before waiting for durability, so concurrent writers share a disk
    /// sync. Readers that need several keys to agree take it shared.
    lock: RwLock<()>,
    dir: PathBuf,
    db: sled::Db,
    /// Batches committed but not yet in sled; every read looks here first.
    overlay: Arc<Overlay>,
    ids: IdGenerator,
    durability: Durability,
    /// Lists' view of the org index, in memory (see `dashboard_index`).
    index: DashboardIndex,
    _lock: File,
}

/// A dashboard's stamp (`t/`): org, `updatedAt` in nanoseconds, and a 17th
/// byte when it is private (older stamps have none).
fn decode_stamp(v: &[u8]) -> Option<DashboardStamp> {
    let org = v.get(..8).and_then(Id::from_bytes)?;
    let updated_nanos = i64::from_be_bytes(v.get(8..16)?.try_into().ok()?);
    Some(DashboardStamp {
        org,
        updated_nanos,
        private: v.get(16) == Some(&1),
    })
}

/// sled's page cache when no budget is given (`--store-cache-bytes`).
/// With values compressed (`packed`) and most reads served from rendered
/// JSON, the bench load ran about as fast with 8 MiB as with 24 MiB or
/// sled's own 1 GiB (which let a store of a million dashboards grow past
/// 2 GB of RSS): a page missing from it is read from the OS's file cache.
pub const DEFAULT_CACHE_BYTES: u64 = 16 * 1024 * 1024;

fn backend(e: sled::Error) -> StoreError {
    match &e {
        // Once a log write fails, sled hands every later writer a clone of
        // that error, and its `Clone` rebuilds the io::Error from the kind and
        // text: the OS error number is gone, the kind stays. Without the kind
        // test a full disk answered 500 "internal error" instead of 503
        // (regression: tests/crash.rs full_disk_fails_writes_cleanly_and_keeps_reads).
        sled::Error::Io(io)
            if io.raw_os_error() == Some(28) || io.kind() == std::io::ErrorKind::StorageFull =>
        {
            StoreError::Full(io.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn corrupt(k: &[u8], detail: String) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(k).into_owned(),
        detail,
    }
}

/// A stored value's JSON (see `packed`).
fn unpack<'v>(k: &[u8], v: &'v [u8]) -> StoreResult<std::borrow::Cow<'v, [u8]>> {
    packed::unpack(v).map_err(|e| corrupt(k, e))
}

fn decode<T: DeserializeOwned>(k: &[u8], v: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(&unpack(k, v)?).map_err(|e| corrupt(k, e.to_string()))
}

/// A record's JSON, for `Batch::insert_record` (compressed on its way into
/// sled).
fn encode<T: serde::Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::Backend(e.to_string()))
}

/// Applies the log's records past the last batch sled recovered, in order;
/// returns the last batch's sequence number.
fn replay(db: &sled::Db, log: &[u8]) -> Result<u64, String> {
    let applied = db
        .get(keys::WAL_SEQ)
        .map_err(|e| e.to_string())?
        .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0);
    let records = wal::records_after(log, applied)?;
    let mut last = applied;
    for (seq, payload) in records {
        let batch = wal::decode_ops(payload).map_err(|e| format!("write {seq} in the log: {e}"))?;
        db.apply_batch(batch).map_err(|e| e.to_string())?;
        last = seq;
    }
    if last != applied {
        log::info!(
            "replayed writes {} to {last} from the write-ahead log",
            applied + 1
        );
    }
    Ok(last)
}

/// Opens sled's database in `dir`, whose `tessera.lock` the caller holds.
/// With that lock held no other process has the store, so a sled file lock
/// still taken is a store of this process closing (sled's IO threads let go
/// of its files just after the last handle is dropped): wait for it, up to
/// two seconds.
fn open_sled(dir: &Path, cache_bytes: u64) -> Result<sled::Db, OpenError> {
    let mut tries = 0;
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(e) if tries < 100 && e.to_string().contains("could not acquire lock") => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(OpenError::Open(dir.into(), e.to_string())),
        }
    }
}

impl SledStore {
    pub fn open(dir: &Path) -> Result<SledStore, OpenError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// `open` with sled's page cache bounded to `cache_bytes`.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<SledStore, OpenError> {
        std::fs::create_dir_all(dir).map_err(|e| OpenError::Create(dir.into(), e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(|e| OpenError::NotWritable(dir.into(), e))?;
        fs2::FileExt::try_lock_exclusive(&lock).map_err(|_| OpenError::Locked(dir.into()))?;

        let marker = dir.join(STORE_MARKER);
        let had_store = marker.exists();
        let db = open_sled(dir, cache_bytes)?;
        let open_err = |e: sled::Error| OpenError::Open(dir.into(), e.to_string());

        match db.get(keys::SCHEMA_VERSION).map_err(open_err)? {
            Some(v) => {
                let bytes: [u8; 4] = v
                    .as_ref()
                    .try_into()
                    .map_err(|_| OpenError::Open(dir.into(), "bad schema version".into()))?;
                let found = u32::from_be_bytes(bytes);
                if found > CURRENT_SCHEMA {
                    return Err(OpenError::NewerSchema(dir.into(), found, CURRENT_SCHEMA));
                }
                if found < CURRENT_SCHEMA {
                    // 1 → 2 changes no stored value; durable with the sync
                    // below, before anything compressed is written.
                    db.insert(keys::SCHEMA_VERSION, &CURRENT_SCHEMA.to_be_bytes())
                        .map_err(open_err)?;
                }
            }
            None if !db.is_empty() => return Err(OpenError::Foreign(dir.into())),
            None if had_store => {
                return Err(OpenError::Open(
                    dir.into(),
                    format!("{STORE_MARKER} says it held a Tessera store, but sled found no data in its files: the db file is damaged or was replaced; restore the directory from a backup"),
                ))
            }
            None => {
                db.insert(keys::SCHEMA_VERSION, &CURRENT_SCHEMA.to_be_bytes())
                    .map_err(open_err)?;
            }
        }
        let (wal, log) = Wal::open(dir).map_err(|e| OpenError::Open(dir.into(), e.to_string()))?;
        let last = replay(&db, &log).map_err(|e| OpenError::Open(dir.into(), e))?;
        let high_water = db
            .get(keys::ID_HIGH_WATER)
            .map_err(open_err)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        db.flush().map_err(open_err)?;
        let overlay = Arc::new(Overlay::default());
        let durability = Durability::start(db.clone(), overlay.clone(), dir, wal, last)
            .map_err(|e| OpenError::Open(dir.into(), e.to_string()))?;
        if !had_store {
            // The schema version is durable now (Durability::start synced).
            File::create(&marker)
                .and_then(|f| f.sync_all())
                .and_then(|_| File::open(dir)?.sync_all())
                .map_err(|e| OpenError::NotWritable(dir.into(), e))?;
        }
        Ok(SledStore {
            lock: RwLock::new(()),
            dir: dir.to_path_buf(),
            db,
            overlay,
            ids: IdGenerator::new(high_water, 0),
            durability,
            index: DashboardIndex::default(),
            _lock: lock,
        })
    }

    /// A key's value: a pending batch's (the overlay) over sled's.
    fn raw_get(&self, k: &[u8]) -> StoreResult<Option<sled::IVec>> {
        match self.overlay.get(k) {
            Some(v) => Ok(v),
            None => self.db.get(k).map_err(backend),
        }
    }

    /// Every key starting with `prefix`, pending batches over sled.
    fn scan(&self, prefix: impl AsRef<[u8]>) -> Scan {
        let (lo, hi) = prefix_bounds(prefix.as_ref());
        self.range(lo, hi)
    }

    /// Every key between two bounds, pending batches over sled.
    fn range(&self, lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>) -> Scan {
        self.overlay.scan(&self.db, lo, hi)
    }

    fn get_json<T: DeserializeOwned>(&self, k: &[u8]) -> StoreResult<Option<T>> {
        match self.raw_get(k)? {
            Some(v) => decode(k, &v).map(Some),
            None => Ok(None),
        }
    }

    fn all<T: DeserializeOwned>(&self, prefix: &[u8]) -> StoreResult<Vec<T>> {
        Ok(self
            .scan_json(prefix)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn by_index<T: DeserializeOwned>(
        &self,
        index_key: &[u8],
        tag: &[u8],
    ) -> StoreResult<Option<T>> {
        match self.raw_get(index_key)? {
            Some(v) => match Id::from_bytes(&v) {
                Some(id) => self.get_json(&key(tag, &[id])),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// The records of one org through its `org_name_key` index, in ID order
    /// (the index runs in name order; InfluxDB lists in ID order).
    fn of_org<T: DeserializeOwned>(
        &self,
        index: &[u8],
        tag: &[u8],
        org: Id,
        id_of: impl Fn(&T) -> Id,
    ) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        for kv in self.scan(key(index, &[org])) {
            let (_, v) = kv.map_err(backend)?;
            let Some(id) = Id::from_bytes(&v) else {
                continue;
            };
            out.extend(self.get_json::<T>(&key(tag, &[id]))?);
        }
        out.sort_by_key(|t| id_of(t));
        Ok(out)
    }

    /// Removes every mapping under `prefix` and its mirror entry.
    fn remove_mappings(&self, batch: &mut Batch, prefix: &[u8]) -> StoreResult<()> {
        for (k, m) in self.scan_json::<Mapping>(prefix)? {
            batch.remove(k);
            batch.remove(key(keys::MAPPING, &[m.resource_id, m.user_id]));
            batch.remove(key(keys::USER_MAPPING, &[m.user_id, m.resource_id]));
        }
        Ok(())
    }

    /// Removes every label mapping under `prefix` and its mirror entry.
    fn remove_label_mappings(
        &self,
        batch: &mut Batch,
        prefix: &[u8],
        ops: &mut Vec<IndexOp>,
    ) -> StoreResult<()> {
        for (k, m) in self.scan_json::<LabelMapping>(prefix)? {
            batch.remove(k);
            batch.remove(key(keys::LABEL_MAPPING, &[m.resource_id, m.label_id]));
            batch.remove(key(keys::RESOURCE_OF_LABEL, &[m.label_id, m.resource_id]));
            ops.push(IndexOp::Label {
                resource: m.resource_id,
                label: m.label_id,
                on: false,
            });
        }
        Ok(())
    }

    /// Removes every role assignment under `prefix` and its mirror entry.
    fn remove_role_assignments(&self, batch: &mut Batch, prefix: &[u8]) -> StoreResult<()> {
        for (_, a) in self.scan_json::<RoleAssignment>(prefix)? {
            batch.remove(key(keys::USER_ROLES, &[a.user_id, a.org_id]));
            batch.remove(key(keys::ORG_ROLES, &[a.org_id, a.user_id]));
        }
        Ok(())
    }

    /// Removes the default of a user or an org and its reverse entry.
    fn remove_default(&self, batch: &mut Batch, owner: Id) -> StoreResult<()> {
        if let Some(d) = self.default_dashboard(owner)? {
            batch.remove(key(keys::DASHBOARD_DEFAULT, &[d.dashboard_id, owner]));
        }
        batch.remove(key(keys::DEFAULT_DASHBOARD, &[owner]));
        Ok(())
    }

    /// The IDs of the labels on a resource, ascending (keys only).
    fn label_ids(&self, resource: Id) -> StoreResult<Vec<Id>> {
        let mut out = Vec::new();
        for k in self.scan(key(keys::LABEL_MAPPING, &[resource])).keys() {
            out.extend(keys::id_at(&k.map_err(backend)?, keys::LABEL_MAPPING, 1));
        }
        Ok(out)
    }

    /// An org's index entries, read from its `D/` keys and their stamps.
    fn load_org_entries(&self, org: Id) -> StoreResult<Vec<Entry>> {
        let mut out = Vec::new();
        for k in self.scan(key(keys::ORG_DASHBOARD, &[org])).keys() {
            let Some(id) = keys::id_at(&k.map_err(backend)?, keys::ORG_DASHBOARD, 1) else {
                continue;
            };
            // An index entry without its document would be a torn write;
            // batches make that impossible, so skip quietly.
            if let Some(stamp) = self.dashboard_stamp(id)? {
                out.push(Entry {
                    id,
                    version: stamp.updated_nanos,
                    private: stamp.private,
                    labels: self.label_ids(id)?.into(),
                });
            }
        }
        Ok(out)
    }

    /// Removes a dashboard's versions numbered below `below`.
    fn remove_versions(&self, batch: &mut Batch, dashboard: Id, below: u64) -> StoreResult<()> {
        let range = self.range(
            Bound::Included(keys::version_key(dashboard, 0)),
            Bound::Excluded(keys::version_key(dashboard, below)),
        );
        for k in range.keys() {
            batch.remove(k.map_err(backend)?);
        }
        Ok(())
    }

    fn scan_json<T: DeserializeOwned>(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, T)>> {
        self.scan(prefix)
            .map(|kv| {
                let (k, v) = kv.map_err(backend)?;
                Ok((k.to_vec(), decode(&k, &v)?))
            })
            .collect()
    }
}

impl StoreRead for SledStore {
    fn dashboard(&self, id: Id) -> StoreResult<Option<Dashboard>> {
        self.get_json(&key(keys::DASHBOARD, &[id]))
    }

    fn dashboard_stamp(&self, id: Id) -> StoreResult<Option<DashboardStamp>> {
        let Some(v) = self.raw_get(&key(keys::DASHBOARD_STAMP, &[id]))? else {
            return Ok(None);
        };
        Ok(decode_stamp(&v))
    }

    fn dashboards(&self, scan: DashboardScan) -> StoreResult<Vec<Dashboard>> {
        let take = scan.limit.unwrap_or(usize::MAX);
        match scan.org {
            Some(org) => {
                let prefix = key(keys::ORG_DASHBOARD, &[org]);
                let iter = self.scan(&prefix);
                let iter: Box<dyn Iterator<Item = _>> = if scan.descending {
                    Box::new(iter.rev())
                } else {
                    Box::new(iter)
                };
                let mut out = Vec::new();
                for kv in iter.skip(scan.offset).take(take) {
                    let (k, _) = kv.map_err(backend)?;
                    let Some(id) = keys::id_at(&k, keys::ORG_DASHBOARD, 1) else {
                        continue;
                    };
                    // An index entry without its document would be a torn
                    // write; batches make that impossible, so skip quietly.
                    if let Some(d) = self.dashboard(id)? {
                        out.push(d);
                    }
                }
                Ok(out)
            }
            None => {
                let iter = self.scan(keys::DASHBOARD);
                let iter: Box<dyn Iterator<Item = _>> = if scan.descending {
                    Box::new(iter.rev())
                } else {
                    Box::new(iter)
                };
                iter.skip(scan.offset)
                    .take(take)
                    .map(|kv| {
                        let (k, v) = kv.map_err(backend)?;
                        decode(&k, &v)
                    })
                    .collect()
            }
        }
    }

    fn dashboard_entries(&self, scan: DashboardScan) -> StoreResult<Vec<DashboardEntry>> {
        if let Some(org) = scan.org {
            return self.index.page(org, &scan, || self.load_org_entries(org));
        }
        // Every org: the stamps, in ID order.
        let iter = self.scan(keys::DASHBOARD_STAMP);
        let iter: Box<dyn Iterator<Item = _>> = if scan.descending {
            Box::new(iter.rev())
        } else {
            Box::new(iter)
        };
        let mut out = Vec::new();
        for kv in iter
            .skip(scan.offset)
            .take(scan.limit.unwrap_or(usize::MAX))
        {
            let (k, v) = kv.map_err(backend)?;
            let id = keys::id_at(&k, keys::DASHBOARD_STAMP, 0);
            if let (Some(id), Some(stamp)) = (id, decode_stamp(&v)) {
                out.push(DashboardEntry {
                    id,
                    org: stamp.org,
                    version: stamp.updated_nanos,
                    private: stamp.private,
                    labels: self.label_ids(id)?,
                });
            }
        }
        Ok(out)
    }

    fn view(&self, dashboard: Id, cell: Id) -> StoreResult<Option<View>> {
        self.get_json(&key(keys::VIEW, &[dashboard, cell]))
    }

    fn views(&self, dashboard: Id) -> StoreResult<Vec<(Id, View)>> {
        Ok(self
            .scan_json::<View>(&key(keys::VIEW, &[dashboard]))?
            .into_iter()
            .filter_map(|(k, v)| keys::id_at(&k, keys::VIEW, 1).map(|cell| (cell, v)))
            .collect())
    }

    fn view_records(&self, dashboard: Id) -> StoreResult<Vec<(Id, Vec<u8>)>> {
        let prefix = key(keys::VIEW, &[dashboard]);
        let mut out = Vec::new();
        for kv in self.scan(&prefix) {
            let (k, v) = kv.map_err(backend)?;
            if let Some(cell) = keys::id_at(&k, keys::VIEW, 1) {
                out.push((cell, unpack(&k, &v)?.into_owned()));
            }
        }
        Ok(out)
    }

    fn versions(&self, dashboard: Id, from: u64) -> StoreResult<Vec<Version>> {
        self.range(
            Bound::Included(keys::version_key(dashboard, from)),
            Bound::Included(keys::version_key(dashboard, u64::MAX)),
        )
        .map(|kv| {
            let (k, v) = kv.map_err(backend)?;
            decode(&k, &v)
        })
        .collect()
    }

    fn trashed(&self, id: Id) -> StoreResult<Option<Trashed>> {
        self.get_json(&key(keys::TRASH, &[id]))
    }

    fn trash(&self, org: Option<Id>) -> StoreResult<Vec<Trashed>> {
        let Some(org) = org else {
            return self.all(keys::TRASH);
        };
        let mut out = Vec::new();
        for kv in self.scan(key(keys::ORG_TRASH, &[org])).keys() {
            let k = kv.map_err(backend)?;
            if let Some(id) = keys::id_at(&k, keys::ORG_TRASH, 1) {
                out.extend(self.trashed(id)?);
            }
        }
        Ok(out)
    }

    fn org(&self, id: Id) -> StoreResult<Option<Org>> {
        self.get_json(&key(keys::ORG, &[id]))
    }

    fn org_by_name(&self, name: &str) -> StoreResult<Option<Org>> {
        match self.raw_get(&name_key(keys::ORG_NAME, name))? {
            Some(v) => match Id::from_bytes(&v) {
                Some(id) => self.org(id),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    fn orgs(&self) -> StoreResult<Vec<Org>> {
        Ok(self
            .scan_json::<Org>(keys::ORG)?
            .into_iter()
            .map(|(_, o)| o)
            .collect())
    }

    fn user(&self, id: Id) -> StoreResult<Option<User>> {
        self.get_json(&key(keys::USER, &[id]))
    }

    fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        self.by_index(&name_key(keys::USER_NAME, name), keys::USER)
    }

    fn users(&self) -> StoreResult<Vec<User>> {
        self.all(keys::USER)
    }

    fn authorization(&self, id: Id) -> StoreResult<Option<Authorization>> {
        self.get_json(&key(keys::AUTHORIZATION, &[id]))
    }

    fn authorization_by_token_hash(&self, hash: &str) -> StoreResult<Option<Authorization>> {
        self.by_index(&name_key(keys::TOKEN, hash), keys::AUTHORIZATION)
    }

    fn authorizations(&self) -> StoreResult<Vec<Authorization>> {
        self.all(keys::AUTHORIZATION)
    }

    fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        self.get_json(&name_key(keys::SESSION, id))
    }

    fn sessions(&self) -> StoreResult<Vec<Session>> {
        self.all(keys::SESSION)
    }

    fn mappings_of_resource(&self, resource: Id) -> StoreResult<Vec<Mapping>> {
        self.all(&key(keys::MAPPING, &[resource]))
    }

    fn mappings_of_user(&self, user: Id) -> StoreResult<Vec<Mapping>> {
        self.all(&key(keys::USER_MAPPING, &[user]))
    }

    fn label(&self, id: Id) -> StoreResult<Option<Label>> {
        self.get_json(&key(keys::LABEL, &[id]))
    }

    fn label_by_name(&self, org: Id, name: &str) -> StoreResult<Option<Label>> {
        self.by_index(&org_name_key(keys::LABEL_NAME, org, name), keys::LABEL)
    }

    fn labels(&self, org: Option<Id>) -> StoreResult<Vec<Label>> {
        match org {
            None => self.all(keys::LABEL),
            Some(org) => self.of_org(keys::LABEL_NAME, keys::LABEL, org, |l: &Label| l.id),
        }
    }

    fn label_mappings_of_resource(&self, resource: Id) -> StoreResult<Vec<LabelMapping>> {
        self.all(&key(keys::LABEL_MAPPING, &[resource]))
    }

    fn label_mapping(&self, resource: Id, label: Id) -> StoreResult<Option<LabelMapping>> {
        self.get_json(&key(keys::LABEL_MAPPING, &[resource, label]))
    }

    fn variable(&self, id: Id) -> StoreResult<Option<Variable>> {
        self.get_json(&key(keys::VARIABLE, &[id]))
    }

    fn variable_by_name(&self, org: Id, name: &str) -> StoreResult<Option<Variable>> {
        self.by_index(
            &org_name_key(keys::VARIABLE_NAME, org, name),
            keys::VARIABLE,
        )
    }

    fn variables(&self, org: Option<Id>) -> StoreResult<Vec<Variable>> {
        match org {
            None => self.all(keys::VARIABLE),
            Some(org) => self.of_org(keys::VARIABLE_NAME, keys::VARIABLE, org, |v: &Variable| {
                v.id
            }),
        }
    }

    fn external_dashboard(&self, id: Id) -> StoreResult<Option<ExternalDashboard>> {
        self.get_json(&key(keys::EXTERNAL_DASHBOARD, &[id]))
    }

    fn external_dashboard_by_name(
        &self,
        org: Id,
        name: &str,
    ) -> StoreResult<Option<ExternalDashboard>> {
        self.by_index(
            &org_name_key(keys::EXTERNAL_DASHBOARD_NAME, org, name),
            keys::EXTERNAL_DASHBOARD,
        )
    }

    fn external_dashboards(&self, org: Option<Id>) -> StoreResult<Vec<ExternalDashboard>> {
        match org {
            None => self.all(keys::EXTERNAL_DASHBOARD),
            Some(org) => self.of_org(
                keys::EXTERNAL_DASHBOARD_NAME,
                keys::EXTERNAL_DASHBOARD,
                org,
                |d: &ExternalDashboard| d.id,
            ),
        }
    }

    fn bucket(&self, id: Id) -> StoreResult<Option<Bucket>> {
        self.get_json(&key(keys::BUCKET, &[id]))
    }

    fn buckets(&self) -> StoreResult<Vec<Bucket>> {
        self.all(keys::BUCKET)
    }

    fn stack(&self, id: Id) -> StoreResult<Option<Stack>> {
        self.get_json(&key(keys::STACK, &[id]))
    }

    fn stacks(&self, org: Id) -> StoreResult<Vec<Stack>> {
        let mut out = Vec::new();
        for kv in self.scan(key(keys::ORG_STACK, &[org])).keys() {
            let k = kv.map_err(backend)?;
            if let Some(id) = keys::id_at(&k, keys::ORG_STACK, 1) {
                out.extend(self.stack(id)?);
            }
        }
        Ok(out)
    }

    fn role(&self, id: Id) -> StoreResult<Option<CustomRole>> {
        self.get_json(&key(keys::ROLE, &[id]))
    }

    fn role_by_name(&self, org: Id, name: &str) -> StoreResult<Option<CustomRole>> {
        self.by_index(&org_name_key(keys::ROLE_NAME, org, name), keys::ROLE)
    }

    fn roles(&self, org: Option<Id>) -> StoreResult<Vec<CustomRole>> {
        match org {
            None => self.all(keys::ROLE),
            Some(org) => self.of_org(keys::ROLE_NAME, keys::ROLE, org, |r: &CustomRole| r.id),
        }
    }

    fn role_assignments_of_user(&self, user: Id) -> StoreResult<Vec<RoleAssignment>> {
        self.all(&key(keys::USER_ROLES, &[user]))
    }

    fn role_assignments_of_org(&self, org: Id) -> StoreResult<Vec<RoleAssignment>> {
        self.all(&key(keys::ORG_ROLES, &[org]))
    }

    fn default_dashboard(&self, owner: Id) -> StoreResult<Option<DefaultDashboard>> {
        self.get_json(&key(keys::DEFAULT_DASHBOARD, &[owner]))
    }

    fn default_dashboards(&self) -> StoreResult<Vec<DefaultDashboard>> {
        self.all(keys::DEFAULT_DASHBOARD)
    }

    fn meta(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .raw_get(&name_key(keys::META, name))?
            .map(|v| v.to_vec()))
    }

    fn new_id(&self) -> Id {
        self.ids.next()
    }
}

impl Store for SledStore {
    fn write(&self, step: WriteStep<'_>) -> crate::error::Result<bool> {
        let ticket = {
            let _guard = self.exclusive();
            let changes = step(self)?;
            if changes.is_empty() {
                return Ok(false);
            }
            self.apply(changes)?
        };
        self.wait_durable(ticket)?;
        Ok(true)
    }

    fn read(&self, step: ReadStep<'_>) -> crate::error::Result<()> {
        let _guard = self.lock.read().unwrap_or_else(|p| p.into_inner());
        step(self)
    }

    fn reads_in_place(&self) -> bool {
        true
    }

    fn blocking_threads(&self, _workers: usize) -> usize {
        // Only writes (and sign-ins) block here, and eight waiting on one
        // group commit per worker fill it; under the bench's mixed load at
        // 64 connections the pool otherwise grew to 33 threads and ~10 MB.
        8
    }

    fn sole_writer(&self) -> bool {
        true
    }

    fn close(&self) {
        // Everything applied so far, made durable by one last group commit.
        let _guard = self.exclusive();
        let ticket = self.durability.last();
        if let Err(e) = self.durability.wait(ticket) {
            log::error!("the last commit before closing failed: {e}");
        }
    }

    fn stats(&self) -> StoreResult<super::StoreStats> {
        let kinds: [(&'static str, &[u8]); 17] = [
            ("orgs", keys::ORG),
            ("users", keys::USER),
            ("members", keys::MAPPING),
            ("authorizations", keys::AUTHORIZATION),
            ("sessions", keys::SESSION),
            ("buckets", keys::BUCKET),
            ("labels", keys::LABEL),
            ("label mappings", keys::LABEL_MAPPING),
            ("variables", keys::VARIABLE),
            ("dashboards", keys::DASHBOARD),
            ("views", keys::VIEW),
            ("versions", keys::VERSION),
            ("stacks", keys::STACK),
            ("external dashboards", keys::EXTERNAL_DASHBOARD),
            ("roles", keys::ROLE),
            ("role assignments", keys::USER_ROLES),
            ("default dashboards", keys::DEFAULT_DASHBOARD),
        ];
        let mut records = Vec::with_capacity(kinds.len());
        for (kind, prefix) in kinds {
            let mut n = 0u64;
            for k in self.scan(prefix).keys() {
                k.map_err(backend)?;
                n += 1;
            }
            records.push((kind, n));
        }
        Ok(super::StoreStats {
            disk_bytes: self.db.size_on_disk().map_err(backend)?
                + std::fs::metadata(self.dir.join(wal::FILE_NAME)).map_or(0, |m| m.len()),
            records,
        })
    }

    fn check(&self) -> StoreResult<()> {
        let free = fs2::available_space(&self.dir)
            .map_err(|e| StoreError::Backend(format!("cannot stat the data directory: {e}")))?;
        if free < FREE_SPACE_RESERVE {
            return Err(StoreError::Full(format!(
                "{free} bytes free in {}, writes need {FREE_SPACE_RESERVE}",
                self.dir.display()
            )));
        }
        self.db.get(keys::SCHEMA_VERSION).map_err(backend)?;
        Ok(())
    }
}

impl SledStore {
    /// Applies all changes atomically (all or none become visible); callers
    /// outside `Store::write` (benches, `migrate`) must not race writers.
    pub fn apply(&self, changes: Vec<Change>) -> StoreResult<Ticket> {
        // If statvfs itself fails, let sled try and report what it meets.
        if let Ok(free) = fs2::available_space(&self.dir) {
            if free < FREE_SPACE_RESERVE {
                return Err(StoreError::Full(format!(
                    "{free} bytes free on the data volume, fewer than the {FREE_SPACE_RESERVE} kept in reserve"
                )));
            }
        }
        let mut batch = Batch::default();
        let mut ops = Vec::new();
        for change in changes {
            match change {
                Change::PutDashboard(d) => {
                    let moved_from = self
                        .dashboard_stamp(d.id)?
                        .map(|s| s.org)
                        .filter(|org| *org != d.org_id);
                    ops.push(IndexOp::Put {
                        org: d.org_id,
                        id: d.id,
                        version: d.updated_at.nanos(),
                        private: d.private,
                        moved_from,
                    });
                    batch.insert(key(keys::ORG_DASHBOARD, &[d.org_id, d.id]), &[] as &[u8]);
                    let mut stamp = d.org_id.to_bytes().to_vec();
                    stamp.extend_from_slice(&d.updated_at.nanos().to_be_bytes());
                    if d.private {
                        stamp.push(1);
                    }
                    batch.insert(key(keys::DASHBOARD_STAMP, &[d.id]), stamp);
                    batch.insert_record(key(keys::DASHBOARD, &[d.id]), encode(&d)?);
                }
                Change::DeleteDashboard { id, org } => {
                    ops.push(IndexOp::Remove { org, id });
                    batch.remove(key(keys::DASHBOARD, &[id]));
                    batch.remove(key(keys::DASHBOARD_STAMP, &[id]));
                    batch.remove(key(keys::ORG_DASHBOARD, &[org, id]));
                    for kv in self.scan(key(keys::VIEW, &[id])).keys() {
                        batch.remove(kv.map_err(backend)?);
                    }
                    self.remove_mappings(&mut batch, &key(keys::MAPPING, &[id]))?;
                    self.remove_label_mappings(
                        &mut batch,
                        &key(keys::LABEL_MAPPING, &[id]),
                        &mut ops,
                    )?;
                    self.remove_versions(&mut batch, id, u64::MAX)?;
                    for k in self.scan(key(keys::DASHBOARD_DEFAULT, &[id])).keys() {
                        let k = k.map_err(backend)?;
                        if let Some(owner) = keys::id_at(&k, keys::DASHBOARD_DEFAULT, 1) {
                            batch.remove(key(keys::DEFAULT_DASHBOARD, &[owner]));
                        }
                        batch.remove(k);
                    }
                }
                Change::PutVersion { dashboard, version } => {
                    let k = keys::version_key(dashboard, version.version);
                    batch.insert_record(k, encode(&version)?);
                }
                Change::DeleteVersions { dashboard, below } => {
                    self.remove_versions(&mut batch, dashboard, below)?;
                }
                Change::PutView {
                    dashboard,
                    cell,
                    view,
                } => {
                    batch.insert_record(key(keys::VIEW, &[dashboard, cell]), encode(&view)?);
                }
                Change::DeleteView { dashboard, cell } => {
                    batch.remove(key(keys::VIEW, &[dashboard, cell]));
                }
                Change::PutTrash(t) => {
                    let (id, org) = (t.dashboard.id, t.dashboard.org_id);
                    batch.insert(key(keys::ORG_TRASH, &[org, id]), &[] as &[u8]);
                    batch.insert_record(key(keys::TRASH, &[id]), encode(&t)?);
                }
                Change::DeleteTrash { id, org } => {
                    batch.remove(key(keys::ORG_TRASH, &[org, id]));
                    batch.remove(key(keys::TRASH, &[id]));
                }
                Change::PutOrg(org) => {
                    batch.insert(name_key(keys::ORG_NAME, &org.name), org.id.to_bytes());
                    batch.insert_record(key(keys::ORG, &[org.id]), encode(&org)?);
                }
                Change::RenameOrg { org, previous_name } => {
                    batch.remove(name_key(keys::ORG_NAME, &previous_name));
                    batch.insert(name_key(keys::ORG_NAME, &org.name), org.id.to_bytes());
                    batch.insert_record(key(keys::ORG, &[org.id]), encode(&org)?);
                }
                Change::DeleteOrg { id, name } => {
                    batch.remove(name_key(keys::ORG_NAME, &name));
                    batch.remove(key(keys::ORG, &[id]));
                    self.remove_mappings(&mut batch, &key(keys::MAPPING, &[id]))?;
                    for r in self.roles(Some(id))? {
                        batch.remove(org_name_key(keys::ROLE_NAME, id, &r.name));
                        batch.remove(key(keys::ROLE, &[r.id]));
                    }
                    self.remove_role_assignments(&mut batch, &key(keys::ORG_ROLES, &[id]))?;
                    self.remove_default(&mut batch, id)?;
                }
                Change::PutUser {
                    user,
                    previous_name,
                } => {
                    if let Some(prev) = previous_name {
                        batch.remove(name_key(keys::USER_NAME, &prev));
                    }
                    batch.insert(name_key(keys::USER_NAME, &user.name), user.id.to_bytes());
                    batch.insert_record(key(keys::USER, &[user.id]), encode(&user)?);
                }
                Change::DeleteUser { id, name } => {
                    batch.remove(name_key(keys::USER_NAME, &name));
                    batch.remove(key(keys::USER, &[id]));
                    self.remove_mappings(&mut batch, &key(keys::USER_MAPPING, &[id]))?;
                    self.remove_role_assignments(&mut batch, &key(keys::USER_ROLES, &[id]))?;
                    self.remove_default(&mut batch, id)?;
                }
                Change::PutAuthorization(a) => {
                    batch.insert(name_key(keys::TOKEN, &a.token_hash), a.id.to_bytes());
                    batch.insert_record(key(keys::AUTHORIZATION, &[a.id]), encode(&a)?);
                }
                Change::DeleteAuthorization { id, token_hash } => {
                    batch.remove(name_key(keys::TOKEN, &token_hash));
                    batch.remove(key(keys::AUTHORIZATION, &[id]));
                }
                Change::PutSession(s) => {
                    batch.insert_record(name_key(keys::SESSION, &s.id), encode(&s)?);
                }
                Change::DeleteSession(id) => {
                    batch.remove(name_key(keys::SESSION, &id));
                }
                Change::PutMapping(m) => {
                    let v = encode(&m)?;
                    batch.insert_record(key(keys::USER_MAPPING, &[m.user_id, m.resource_id]), &v);
                    batch.insert_record(key(keys::MAPPING, &[m.resource_id, m.user_id]), v);
                }
                Change::DeleteMapping { resource, user } => {
                    batch.remove(key(keys::MAPPING, &[resource, user]));
                    batch.remove(key(keys::USER_MAPPING, &[user, resource]));
                }
                Change::PutLabel {
                    label,
                    previous_name,
                } => {
                    if let Some(prev) = previous_name {
                        batch.remove(org_name_key(keys::LABEL_NAME, label.org_id, &prev));
                    }
                    batch.insert(
                        org_name_key(keys::LABEL_NAME, label.org_id, &label.name),
                        label.id.to_bytes(),
                    );
                    batch.insert_record(key(keys::LABEL, &[label.id]), encode(&label)?);
                }
                Change::DeleteLabel { id, org, name } => {
                    batch.remove(org_name_key(keys::LABEL_NAME, org, &name));
                    batch.remove(key(keys::LABEL, &[id]));
                    self.remove_label_mappings(
                        &mut batch,
                        &key(keys::RESOURCE_OF_LABEL, &[id]),
                        &mut ops,
                    )?;
                }
                Change::PutLabelMapping(m) => {
                    ops.push(IndexOp::Label {
                        resource: m.resource_id,
                        label: m.label_id,
                        on: true,
                    });
                    let v = encode(&m)?;
                    batch.insert_record(
                        key(keys::RESOURCE_OF_LABEL, &[m.label_id, m.resource_id]),
                        &v,
                    );
                    batch.insert_record(key(keys::LABEL_MAPPING, &[m.resource_id, m.label_id]), v);
                }
                Change::DeleteLabelMapping { resource, label } => {
                    ops.push(IndexOp::Label {
                        resource,
                        label,
                        on: false,
                    });
                    batch.remove(key(keys::LABEL_MAPPING, &[resource, label]));
                    batch.remove(key(keys::RESOURCE_OF_LABEL, &[label, resource]));
                }
                Change::PutVariable {
                    variable,
                    previous_name,
                } => {
                    if let Some(prev) = previous_name {
                        batch.remove(org_name_key(keys::VARIABLE_NAME, variable.org_id, &prev));
                    }
                    batch.insert(
                        org_name_key(keys::VARIABLE_NAME, variable.org_id, &variable.name),
                        variable.id.to_bytes(),
                    );
                    batch.insert_record(key(keys::VARIABLE, &[variable.id]), encode(&variable)?);
                }
                Change::DeleteVariable { id, org, name } => {
                    batch.remove(org_name_key(keys::VARIABLE_NAME, org, &name));
                    batch.remove(key(keys::VARIABLE, &[id]));
                    self.remove_label_mappings(
                        &mut batch,
                        &key(keys::LABEL_MAPPING, &[id]),
                        &mut ops,
                    )?;
                }
                Change::PutExternalDashboard {
                    dashboard: d,
                    previous_name,
                } => {
                    if let Some(prev) = previous_name {
                        batch.remove(org_name_key(keys::EXTERNAL_DASHBOARD_NAME, d.org_id, &prev));
                    }
                    batch.insert(
                        org_name_key(keys::EXTERNAL_DASHBOARD_NAME, d.org_id, &d.name),
                        d.id.to_bytes(),
                    );
                    batch.insert_record(key(keys::EXTERNAL_DASHBOARD, &[d.id]), encode(&d)?);
                }
                Change::DeleteExternalDashboard { id, org, name } => {
                    batch.remove(org_name_key(keys::EXTERNAL_DASHBOARD_NAME, org, &name));
                    batch.remove(key(keys::EXTERNAL_DASHBOARD, &[id]));
                    self.remove_label_mappings(
                        &mut batch,
                        &key(keys::LABEL_MAPPING, &[id]),
                        &mut ops,
                    )?;
                }
                Change::PutBucket(b) => {
                    batch.insert_record(key(keys::BUCKET, &[b.id]), encode(&b)?);
                }
                Change::DeleteBucket(id) => {
                    batch.remove(key(keys::BUCKET, &[id]));
                }
                Change::PutStack(st) => {
                    batch.insert(key(keys::ORG_STACK, &[st.org_id, st.id]), &[] as &[u8]);
                    batch.insert_record(key(keys::STACK, &[st.id]), encode(&st)?);
                }
                Change::DeleteStack { id, org } => {
                    batch.remove(key(keys::ORG_STACK, &[org, id]));
                    batch.remove(key(keys::STACK, &[id]));
                }
                Change::PutRole {
                    role,
                    previous_name,
                } => {
                    if let Some(prev) = previous_name {
                        batch.remove(org_name_key(keys::ROLE_NAME, role.org_id, &prev));
                    }
                    batch.insert(
                        org_name_key(keys::ROLE_NAME, role.org_id, &role.name),
                        role.id.to_bytes(),
                    );
                    batch.insert_record(key(keys::ROLE, &[role.id]), encode(&role)?);
                }
                Change::DeleteRole { id, org, name } => {
                    batch.remove(org_name_key(keys::ROLE_NAME, org, &name));
                    batch.remove(key(keys::ROLE, &[id]));
                }
                Change::PutRoleAssignment(a) => {
                    let v = encode(&a)?;
                    batch.insert_record(key(keys::ORG_ROLES, &[a.org_id, a.user_id]), &v);
                    batch.insert_record(key(keys::USER_ROLES, &[a.user_id, a.org_id]), v);
                }
                Change::DeleteRoleAssignment { org, user } => {
                    batch.remove(key(keys::ORG_ROLES, &[org, user]));
                    batch.remove(key(keys::USER_ROLES, &[user, org]));
                }
                Change::PutDefaultDashboard(d) => {
                    self.remove_default(&mut batch, d.owner_id)?;
                    batch.insert(
                        key(keys::DASHBOARD_DEFAULT, &[d.dashboard_id, d.owner_id]),
                        &[] as &[u8],
                    );
                    batch.insert_record(key(keys::DEFAULT_DASHBOARD, &[d.owner_id]), encode(&d)?);
                }
                Change::DeleteDefaultDashboard { owner } => {
                    self.remove_default(&mut batch, owner)?;
                }
                Change::PutMeta { key: name, value } => {
                    batch.insert(name_key(keys::META, name), value);
                }
            }
        }
        batch.insert(keys::ID_HIGH_WATER, self.ids.high_water().to_be_bytes());
        let ticket = self.commit(batch)?;
        if !ops.is_empty() {
            self.index.apply(
                ops,
                |id| self.dashboard_stamp(id).ok().flatten().map(|s| s.org),
                |id| self.label_ids(id),
            )?;
        }
        Ok(ticket)
    }

    /// Makes a batch visible (in the overlay) with its sequence number and
    /// hands it to the log, which puts it into sled; the ticket covers it.
    fn commit(&self, mut batch: Batch) -> StoreResult<Ticket> {
        let seq = self.durability.next_seq();
        batch.insert(keys::WAL_SEQ, seq.to_be_bytes());
        let (ops, payload) = batch.into_parts();
        self.overlay.insert(seq, &ops);
        Ok(self.durability.append(seq, &payload, ops))
    }

    /// Removes every record, keeping the schema version and the ID
    /// high-water mark (for `tessera migrate --force`).
    pub fn clear(&self) -> StoreResult<()> {
        let _guard = self.exclusive();
        let mut batch = Batch::default();
        for k in self.range(Bound::Unbounded, Bound::Unbounded).keys() {
            let k = k.map_err(backend)?;
            if ![keys::SCHEMA_VERSION, keys::ID_HIGH_WATER, keys::WAL_SEQ].contains(&k.as_ref()) {
                batch.remove(k);
            }
        }
        let ticket = self.commit(batch)?;
        self.index.clear();
        self.wait_durable(ticket)
    }

    /// The writer lock: one batch at a time, in sequence order.
    fn exclusive(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.lock.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes sure no ID up to `id` is issued again (records copied in).
    pub fn raise_high_water(&self, id: u64) -> StoreResult<()> {
        self.ids.observe(id);
        // Under the writer lock like every batch: sequence numbers are
        // taken and logged in order.
        let ticket = {
            let _guard = self.exclusive();
            self.apply(Vec::new())?
        };
        self.wait_durable(ticket)
    }

    /// Blocks until the change behind `ticket` survives a crash or power loss.
    pub fn wait_durable(&self, ticket: Ticket) -> StoreResult<()> {
        self.durability.wait(ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;

    fn id(n: u64) -> Id {
        Id::from_u64(n).expect("id")
    }

    fn keys_under(s: &SledStore, prefix: &[u8]) -> usize {
        s.scan(prefix).count()
    }

    fn dashboard(n: u64, org: Id) -> Dashboard {
        Dashboard {
            id: id(n),
            org_id: org,
            name: format!("d{n}"),
            description: String::new(),
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            cells: Vec::new(),
            owner: None,
            version: 0,
            created_by: None,
            updated_by: None,
            private: false,
        }
    }

    /// Values written as plain JSON (by builds before compression) and
    /// compressed ones read back alike, side by side, across a reopen that
    /// moves the store to schema version 2; and a view's stored record is
    /// handed out as its JSON.
    #[test]
    fn plain_and_compressed_values_read_alike() {
        let dir = tempfile::tempdir().expect("dir");
        let org = id(7);
        let props = include_str!("../../tests/fixtures/views/xy.json");
        let view = View {
            name: "cpu".into(),
            properties: serde_json::value::RawValue::from_string(
                serde_json::to_string(
                    &serde_json::from_str::<serde_json::Value>(props).expect("fixture"),
                )
                .expect("json"),
            )
            .expect("raw"),
        };
        let plain = serde_json::to_vec(&view).expect("json");
        {
            let store = SledStore::open(dir.path()).expect("open");
            let t = store
                .apply(vec![
                    Change::PutDashboard(dashboard(1, org)),
                    Change::PutView {
                        dashboard: id(1),
                        cell: id(2),
                        view: view.clone(),
                    },
                ])
                .expect("apply");
            store.wait_durable(t).expect("durable");
            // What an older build wrote: the JSON itself, in a version-1 store.
            store
                .db
                .insert(key(keys::VIEW, &[id(1), id(3)]), plain.clone())
                .expect("insert");
            store
                .db
                .insert(keys::SCHEMA_VERSION, &1u32.to_be_bytes())
                .expect("insert");
            store.db.flush().expect("flush");
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        // The record went into sled compressed (on its way from the overlay).
        let stored = store
            .db
            .get(key(keys::VIEW, &[id(1), id(2)]))
            .expect("get")
            .expect("view");
        assert!(
            stored.len() < plain.len() / 2,
            "{} of {}",
            stored.len(),
            plain.len()
        );
        let schema = store
            .db
            .get(keys::SCHEMA_VERSION)
            .expect("get")
            .expect("schema");
        assert_eq!(
            schema.as_ref(),
            CURRENT_SCHEMA.to_be_bytes(),
            "upgraded on open"
        );
        assert_eq!(CURRENT_SCHEMA, 2);
        let views = store.views(id(1)).expect("views");
        assert_eq!(views.len(), 2);
        for (_, v) in &views {
            assert_eq!(serde_json::to_vec(v).expect("json"), plain);
        }
        for (_, record) in store.view_records(id(1)).expect("records") {
            assert_eq!(record, plain);
        }
    }

    /// A store from a newer build is refused with a message, untouched.
    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        {
            let store = SledStore::open(dir.path()).expect("open");
            let newer = (CURRENT_SCHEMA + 1).to_be_bytes();
            store
                .db
                .insert(keys::SCHEMA_VERSION, &newer)
                .expect("insert");
            store.db.flush().expect("flush");
        }
        let err = SledStore::open(dir.path()).err().expect("refused");
        assert!(
            matches!(err, OpenError::NewerSchema(_, found, _) if found == CURRENT_SCHEMA + 1),
            "{err}"
        );
        assert!(err.to_string().contains("run a newer Tessera"), "{err}");
    }

    /// The log's records past what sled holds are applied on open, in
    /// order, and the store goes on numbering from the last of them. (A
    /// crash test cannot aim at the moment between the log's sync and
    /// sled's own write; this writes that state directly.)
    #[test]
    fn open_replays_the_log_past_what_sled_holds() {
        let dir = tempfile::tempdir().expect("dir");
        let org = id(7);
        let store = SledStore::open(dir.path()).expect("open");
        let t = store
            .apply(vec![Change::PutDashboard(dashboard(1, org))])
            .expect("apply");
        store.wait_durable(t).expect("durable");
        let last = store.durability.last().0;
        drop(store);

        // Two more batches that reached the log but not sled.
        let mut log = Vec::new();
        for (n, seq) in [(2, last + 1), (3, last + 2)] {
            let mut b = Batch::default();
            b.insert_record(
                key(keys::DASHBOARD, &[id(n)]),
                encode(&dashboard(n, org)).expect("json"),
            );
            b.insert(key(keys::ORG_DASHBOARD, &[org, id(n)]), []);
            b.insert(keys::WAL_SEQ, seq.to_be_bytes());
            wal::encode_record(&mut log, seq, &b.into_parts().1);
        }
        // Then an older round's record: the log ends before it.
        let mut b = Batch::default();
        b.insert(
            key(keys::DASHBOARD, &[id(9)]),
            encode(&dashboard(9, org)).expect("json"),
        );
        wal::encode_record(&mut log, 1, &b.into_parts().1);
        std::fs::write(dir.path().join(wal::FILE_NAME), &log).expect("write log");

        let store = SledStore::open(dir.path()).expect("reopen");
        for n in [1, 2, 3] {
            assert!(
                store.dashboard(id(n)).expect("read").is_some(),
                "dashboard {n}"
            );
        }
        // A record replayed from the log goes into sled compressed.
        let replayed = store
            .db
            .get(key(keys::DASHBOARD, &[id(2)]))
            .expect("get")
            .expect("dashboard 2");
        assert_eq!(replayed.first(), Some(&1), "a compressed frame");
        assert!(store.dashboard(id(9)).expect("read").is_none());
        assert_eq!(store.durability.last().0, last + 2);
        let t = store
            .apply(vec![Change::PutDashboard(dashboard(4, org))])
            .expect("apply");
        assert_eq!(t.0, last + 3);
        store.wait_durable(t).expect("durable");
        drop(store);

        // A log that skips a batch sled never saw is refused, not half used.
        let store = SledStore::open(dir.path()).expect("reopen");
        let last = store.durability.last().0;
        drop(store);
        let mut log = Vec::new();
        let mut b = Batch::default();
        b.insert(keys::WAL_SEQ, (last + 2).to_be_bytes());
        wal::encode_record(&mut log, last + 2, &b.into_parts().1);
        std::fs::write(dir.path().join(wal::FILE_NAME), &log).expect("write log");
        match SledStore::open(dir.path()) {
            Err(OpenError::Open(_, msg)) => assert!(msg.contains("missing"), "{msg}"),
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => panic!("a log with a gap was accepted"),
        }
    }

    /// Writers read what the batches before them wrote while those are
    /// still on their way into sled, readers see each batch whole, and all
    /// of it is in sled after a reopen.
    #[test]
    fn concurrent_writers_read_the_batches_before_theirs() {
        let dir = tempfile::tempdir().expect("dir");
        let count = |r: &dyn StoreRead, name: &str| -> u64 {
            r.meta(name)
                .expect("meta")
                .map_or(0, |v| u64::from_be_bytes(v.try_into().expect("u64")))
        };
        let store = SledStore::open(dir.path()).expect("open");
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..150 {
                        store
                            .write(&mut |r| {
                                let (a, b) = (count(r, "a"), count(r, "b"));
                                assert_eq!(a, b, "a step saw half a batch");
                                let next = (a + 1).to_be_bytes().to_vec();
                                Ok(vec![
                                    Change::PutMeta {
                                        key: "a",
                                        value: next.clone(),
                                    },
                                    Change::PutMeta {
                                        key: "b",
                                        value: next,
                                    },
                                ])
                            })
                            .expect("write");
                    }
                });
            }
            s.spawn(|| {
                for _ in 0..2_000 {
                    store
                        .read(&mut |r| {
                            assert_eq!(count(r, "a"), count(r, "b"), "a reader saw half a batch");
                            Ok(())
                        })
                        .expect("read");
                }
            });
        });
        assert_eq!(count(&store, "a"), 1_200);
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!((count(&store, "a"), count(&store, "b")), (1_200, 1_200));
        assert!(store.overlay.is_empty());
    }

    /// A scan made while its batch goes into sled lists each key once
    /// (`tessera migrate` reads its copy back at once; sled's iterator,
    /// asked again after it ended, went on with what the apply had put in
    /// since, and the overlay had listed those already).
    #[test]
    fn a_scan_during_the_apply_lists_each_key_once() {
        let props = include_str!("../../tests/fixtures/views/xy.json");
        let view = View {
            name: "cpu".into(),
            properties: serde_json::value::RawValue::from_string(props.trim().to_string())
                .expect("raw"),
        };
        for round in 0..100 {
            let dir = tempfile::tempdir().expect("dir");
            let store = SledStore::open(dir.path()).expect("open");
            let views = (1..4).flat_map(|d| {
                (0..22).map(move |c| (d, c)).map(|(d, c)| Change::PutView {
                    dashboard: id(d),
                    cell: id(100 * (d + 1) + c),
                    view: view.clone(),
                })
            });
            let t = store.apply(views.collect()).expect("apply");
            store.wait_durable(t).expect("durable");
            let listed: Vec<usize> = (1..4)
                .map(|d| store.views(id(d)).expect("views").len())
                .collect();
            assert_eq!(listed, [22, 22, 22], "round {round}");
        }
    }

    fn mapping(label: Id, resource: Id) -> Change {
        Change::PutLabelMapping(LabelMapping {
            label_id: label,
            resource_id: resource,
            resource_type: "dashboards".into(),
        })
    }

    /// Both directions of a label mapping go with either end, and the name
    /// index with the label.
    #[test]
    fn label_cascades_clear_both_directions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SledStore::open(dir.path()).expect("open");
        let org = id(1);
        let (l1, l2) = (id(10), id(11));
        let mut changes = vec![
            Change::PutDashboard(dashboard(20, org)),
            Change::PutDashboard(dashboard(21, org)),
        ];
        for l in [l1, l2] {
            changes.push(Change::PutLabel {
                label: Label {
                    id: l,
                    org_id: org,
                    name: format!("Name{l}"),
                    properties: Default::default(),
                },
                previous_name: None,
            });
            changes.push(mapping(l, id(20)));
            changes.push(mapping(l, id(21)));
        }
        s.apply(changes).expect("apply");
        assert_eq!(keys_under(&s, keys::LABEL_MAPPING), 4);
        assert_eq!(keys_under(&s, keys::RESOURCE_OF_LABEL), 4);
        assert!(s
            .label_by_name(org, &format!("NAME{l1}"))
            .expect("by name")
            .is_some());

        s.apply(vec![Change::DeleteDashboard { id: id(20), org }])
            .expect("delete dashboard");
        assert_eq!(keys_under(&s, &key(keys::LABEL_MAPPING, &[id(20)])), 0);
        for l in [l1, l2] {
            assert_eq!(
                keys_under(&s, &key(keys::RESOURCE_OF_LABEL, &[l])),
                1,
                "{l}"
            );
        }

        s.apply(vec![Change::DeleteLabel {
            id: l1,
            org,
            name: format!("Name{l1}"),
        }])
        .expect("delete label");
        assert_eq!(s.label(l1).expect("label"), None);
        assert_eq!(
            s.label_by_name(org, &format!("name{l1}")).expect("by name"),
            None
        );
        assert_eq!(keys_under(&s, &key(keys::RESOURCE_OF_LABEL, &[l1])), 0);
        let left = s.label_mappings_of_resource(id(21)).expect("mappings");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].label_id, l2);
        assert_eq!(s.labels(Some(org)).expect("labels").len(), 1);
        assert_eq!(s.labels(None).expect("labels").len(), 1);
    }

    /// Roles, assignments and defaults go with their org, user or dashboard,
    /// index entries included.
    #[test]
    fn teams_records_cascade() {
        use crate::domain::default_dashboard::Scope;
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SledStore::open(dir.path()).expect("open");
        let (org, user, other_user, role, dash) = (id(1), id(2), id(3), id(4), id(5));
        let now = Timestamp::now();
        let assign = |u: Id| {
            Change::PutRoleAssignment(RoleAssignment {
                org_id: org,
                user_id: u,
                role_ids: vec![role],
            })
        };
        let default = |owner: Id, scope: Scope| {
            Change::PutDefaultDashboard(DefaultDashboard {
                scope,
                owner_id: owner,
                dashboard_id: dash,
            })
        };
        s.apply(vec![
            Change::PutDashboard(dashboard(5, org)),
            Change::PutRole {
                role: CustomRole {
                    id: role,
                    org_id: org,
                    name: "Editors".into(),
                    description: String::new(),
                    permissions: Vec::new(),
                    created_at: now,
                    updated_at: now,
                },
                previous_name: None,
            },
            assign(user),
            assign(other_user),
            default(user, Scope::User),
            default(org, Scope::Org),
        ])
        .expect("apply");
        assert!(s.role_by_name(org, "editors").expect("by name").is_some());
        assert_eq!(s.role_assignments_of_org(org).expect("of org").len(), 2);

        s.apply(vec![Change::DeleteUser {
            id: user,
            name: "u".into(),
        }])
        .expect("delete user");
        assert!(s
            .role_assignments_of_user(user)
            .expect("of user")
            .is_empty());
        assert_eq!(s.role_assignments_of_org(org).expect("of org").len(), 1);
        assert_eq!(s.default_dashboard(user).expect("default"), None);

        s.apply(vec![Change::DeleteDashboard { id: dash, org }])
            .expect("delete dashboard");
        assert!(s.default_dashboards().expect("defaults").is_empty());
        assert_eq!(keys_under(&s, keys::DASHBOARD_DEFAULT), 0);

        s.apply(vec![Change::DeleteOrg {
            id: org,
            name: "o".into(),
        }])
        .expect("delete org");
        assert_eq!(s.role(role).expect("role"), None);
        for prefix in [keys::ROLE_NAME, keys::USER_ROLES, keys::ORG_ROLES] {
            assert_eq!(keys_under(&s, prefix), 0);
        }
    }

    /// sled's `Error::clone` (how later writers receive a stored I/O error)
    /// keeps the kind and text of an ENOSPC but not its OS error number.
    #[test]
    fn regression_cloned_enospc_is_full() {
        let cloned = std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "Os { code: 28, kind: StorageFull, message: \"No space left on device\" }",
        );
        assert!(matches!(
            backend(sled::Error::Io(cloned)),
            StoreError::Full(_)
        ));
        let raw = std::io::Error::from_raw_os_error(28);
        assert!(matches!(backend(sled::Error::Io(raw)), StoreError::Full(_)));
    }
}
