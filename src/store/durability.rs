//! Group commit: make sled's writes survive power loss, and let concurrent
//! writers share one disk sync.
//!
//! A writer puts its batch in the overlay (`overlay.rs`, visible to every
//! read from then on) and hands it with its log record to `append` (under
//! the store's writer lock, so records are in batch order). In `wait`, the
//! first writer to find no sync under way becomes the leader: it writes
//! every record pending at that moment to the write-ahead log (`wal.rs`)
//! with one `pwrite` + `fdatasync`, on its own thread, so a lone writer pays
//! no hand-off to another thread; writers arriving meanwhile wait and go in
//! the next group together. The group then goes to the sled-apply thread,
//! which puts every group waiting for it into sled as one batch: sled pays
//! its per-batch log writes once per group, off the writers' path. When the
//! log is full the leader checkpoints instead: it puts everything into sled
//! itself, then sled's `flush()` and an `fdatasync` of sled's files.
//!
//! sled 0.34's `flush()` ends in `sync_file_range`, which does not flush the
//! device's write cache, and it never fsyncs blob files (values too large for
//! a segment) or their directory. So a checkpoint `fdatasync`s the `db` file
//! and any blob file not synced before, then fsyncs the blob directory.

use super::overlay::{Op, Overlay};
use super::wal::{self, Wal};
use super::{StoreError, StoreResult, Ticket};
use rustc_hash::FxHashSet;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long after a batch sled's log buffers are written out: well under the
/// time a stream of writes takes to fill one (sled's segment, 512 KiB).
const SLED_FLUSH_DELAY: Duration = Duration::from_millis(5);
/// How long logged groups gather before they go into sled together: sled
/// pays two log-buffer writes per batch, and no writer waits for this (the
/// overlay serves their batches meanwhile).
const SLED_APPLY_DELAY: Duration = Duration::from_millis(1);

#[derive(Default)]
struct State {
    /// The last batch committed (its sequence number).
    committed: u64,
    durable: u64,
    /// Writers up to this number were told their sync failed.
    failed_through: u64,
    last_error: Option<String>,
    shutdown: bool,
    /// Log records of the batches past the last group, in order.
    pending: Vec<u8>,
    /// The operations of those batches.
    pending_ops: Vec<(u64, Vec<Op>)>,
    /// Batches in the log (or whose sync failed) waiting to go into sled.
    to_apply: Vec<(u64, Vec<Op>)>,
    /// A leader is writing a group.
    syncing: bool,
    /// Groups taken by leaders so far; the one being written when syncing.
    groups: u64,
    /// The last batch of the group being written.
    syncing_through: u64,
    /// Batches put into sled since it last flushed.
    unflushed: bool,
}

/// What the leader of a group works with.
struct Io {
    wal: Wal,
    syncer: FileSyncer,
    /// An append failed: the log lacks records until a checkpoint.
    broken: bool,
    group: Vec<u8>,
}

struct Shared {
    state: Mutex<State>,
    /// Writers waiting on a group, by its number's parity: the group being
    /// written and the one gathering behind it. A group's end wakes its own
    /// writers and one writer of the next to lead it, instead of every
    /// writer waiting (half of them only to sleep again).
    done: [Condvar; 2],
    /// Wakes the sled-apply thread.
    flush: Condvar,
    io: Mutex<Io>,
    /// Held while batches go into sled, so they go in sequence order.
    apply: Mutex<()>,
    db: sled::Db,
    overlay: Arc<Overlay>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn io(&self) -> MutexGuard<'_, Io> {
        self.io.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Durability {
    shared: Arc<Shared>,
    sled_flusher: Option<JoinHandle<()>>,
}

impl Durability {
    /// `last` is the sequence number of the last batch sled holds (after
    /// replaying the log); the log's next round starts at its beginning.
    pub fn start(
        db: sled::Db,
        overlay: Arc<Overlay>,
        dir: &Path,
        wal: Wal,
        last: u64,
    ) -> std::io::Result<Durability> {
        let mut syncer = FileSyncer::new(dir)?;
        // Make what sled holds now durable, with the directory entries sled
        // created on first open: the log starts over from here.
        syncer.sync_all_once()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                committed: last,
                durable: last,
                ..State::default()
            }),
            done: [Condvar::new(), Condvar::new()],
            flush: Condvar::new(),
            io: Mutex::new(Io {
                wal,
                syncer,
                broken: false,
                group: Vec::new(),
            }),
            apply: Mutex::new(()),
            db,
            overlay,
        });
        let s = shared.clone();
        let sled_flusher = std::thread::Builder::new()
            .name("tessera-sled-apply".into())
            .spawn(move || sled_apply_loop(&s))?;
        Ok(Durability {
            shared,
            sled_flusher: Some(sled_flusher),
        })
    }

    /// The sequence number the next batch carries.
    pub fn next_seq(&self) -> u64 {
        self.shared.lock().committed + 1
    }

    /// Call once batch `seq` (from `next_seq`) is in the overlay, with its
    /// log payload and its operations; the ticket covers it. Callers hold
    /// the store's writer lock, so records stay in order.
    pub fn append(&self, seq: u64, payload: &[u8], ops: Vec<Op>) -> Ticket {
        let mut st = self.shared.lock();
        debug_assert_eq!(seq, st.committed + 1);
        wal::encode_record(&mut st.pending, seq, payload);
        st.pending_ops.push((seq, ops));
        st.committed = seq;
        Ticket(seq)
    }

    /// Covers every batch applied so far.
    pub fn last(&self) -> Ticket {
        Ticket(self.shared.lock().committed)
    }

    pub fn wait(&self, ticket: Ticket) -> StoreResult<()> {
        let mut st = self.shared.lock();
        loop {
            if st.durable >= ticket.0 {
                return Ok(());
            }
            if st.failed_through >= ticket.0 {
                let msg = st.last_error.clone().unwrap_or_default();
                return Err(if is_full(&msg) {
                    StoreError::Full(msg)
                } else {
                    StoreError::Backend(format!("sync failed: {msg}"))
                });
            }
            if st.syncing {
                let group = st.groups + u64::from(ticket.0 > st.syncing_through);
                let done = &self.shared.done[(group % 2) as usize];
                st = done.wait(st).unwrap_or_else(|p| p.into_inner());
            } else {
                st = self.lead(st);
            }
        }
    }

    /// Writes the pending group as its leader; returns with the state locked
    /// again and the followers woken.
    fn lead<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let shared = &self.shared;
        st.syncing = true;
        st.groups += 1;
        st.syncing_through = st.committed;
        let mut io = shared.io();
        let Io {
            wal,
            syncer,
            broken,
            group,
        } = &mut *io;
        std::mem::swap(group, &mut st.pending);
        let ops = std::mem::take(&mut st.pending_ops);
        let target = st.committed;
        let writes = target - st.durable.max(st.failed_through);
        drop(st);

        let syncing = Instant::now();
        let (result, for_sled) = if wal.fits(group.len()) && !*broken {
            (wal.append(group).map_err(|e| e.to_string()), ops)
        } else {
            // The checkpoint covers every batch sled holds, so the group and
            // those still waiting go into sled first. After a failed append
            // the log lacks those records: a checkpoint covers them before
            // the log goes on.
            let result = apply_waiting(shared, ops)
                .and_then(|_| checkpoint(&shared.db, syncer))
                .map(|_| wal.start_over());
            (result, Vec::new())
        };
        *broken = result.is_err();
        group.clear();
        drop(io);

        let mut st = shared.lock();
        st.syncing = false;
        if !for_sled.is_empty() {
            // Into sled even if the sync failed: the batches are visible
            // already, and the next checkpoint covers them. Queued before
            // the next leader can start, so groups go in in order.
            st.to_apply.extend(for_sled);
            shared.flush.notify_one();
        }
        match result {
            Ok(()) => {
                st.durable = st.durable.max(target);
                crate::metrics::METRICS.commit(writes, syncing.elapsed());
            }
            Err(e) => {
                log::error!("making writes durable failed: {e}");
                st.failed_through = target;
                st.last_error = Some(e);
            }
        }
        shared.done[(st.groups % 2) as usize].notify_all();
        shared.done[((st.groups + 1) % 2) as usize].notify_one();
        st
    }
}

impl Drop for Durability {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.flush.notify_all();
        if let Some(h) = self.sled_flusher.take() {
            let _ = h.join();
        }
        // A clean stop leaves nothing for the next open to replay.
        let mut io = self.shared.io();
        let unsynced = std::mem::take(&mut self.shared.lock().pending_ops);
        if let Err(e) = apply_waiting(&self.shared, unsynced)
            .and_then(|_| checkpoint(&self.shared.db, &mut io.syncer))
        {
            log::error!("the checkpoint at shutdown failed: {e}");
        }
    }
}

fn is_full(msg: &str) -> bool {
    msg.contains("No space left") || msg.contains("os error 28") || msg.contains("StorageFull")
}

/// sled's flush and the `fdatasync` of its files: everything applied so far
/// survives without the log.
fn checkpoint(db: &sled::Db, syncer: &mut FileSyncer) -> Result<(), String> {
    db.flush().map_err(|e| e.to_string())?;
    syncer.sync().map(|_| ()).map_err(|e| e.to_string())
}

/// Puts the batches waiting for sled into it, then `more` (later batches),
/// as one sled batch, and drops them from the overlay. On an error they stay
/// waiting (and visible in the overlay) for the next try.
fn apply_waiting(shared: &Shared, more: Vec<(u64, Vec<Op>)>) -> Result<(), String> {
    let _order = shared.apply.lock().unwrap_or_else(|p| p.into_inner());
    let mut groups = std::mem::take(&mut shared.lock().to_apply);
    groups.extend(more);
    let Some(&(last, _)) = groups.last() else {
        return Ok(());
    };
    // Newest first, each key once: sled keeps a key's last operation
    // anyway, and a record written again meanwhile is compressed only once.
    let mut batch = sled::Batch::default();
    let mut seen = FxHashSet::default();
    for op in groups.iter().rev().flat_map(|(_, ops)| ops.iter().rev()) {
        if !seen.insert(&op.key) {
            continue;
        }
        match &op.value {
            Some(v) => batch.insert(op.key.clone(), wal::sled_value(v, op.record)),
            None => batch.remove(op.key.clone()),
        }
    }
    if let Err(e) = shared.db.apply_batch(batch) {
        let mut st = shared.lock();
        groups.append(&mut st.to_apply);
        st.to_apply = groups;
        return Err(e.to_string());
    }
    shared
        .overlay
        .settle(last, groups.iter().flat_map(|(_, ops)| ops));
    shared.lock().unflushed = true;
    Ok(())
}

/// Puts logged batches into sled as they arrive, and writes sled's log
/// buffers out a moment later. Durability does not wait for either (the
/// write-ahead log has the batches), but left to itself sled writes full
/// buffers on its own IO threads, and under a stream of writes they piled up
/// until sled 0.34 deadlocked (every IO thread waiting for the segment
/// accountant, whose holder waited for a file truncation queued behind
/// them). Flushed from here, the buffers are written by this thread.
fn sled_apply_loop(shared: &Shared) {
    let mut flush_at: Option<Instant> = None;
    loop {
        {
            let mut st = shared.lock();
            loop {
                if !st.to_apply.is_empty() {
                    break;
                }
                if st.shutdown {
                    return;
                }
                match flush_at {
                    Some(at) if Instant::now() >= at => break,
                    Some(at) => {
                        let wait = at.saturating_duration_since(Instant::now());
                        st = shared
                            .flush
                            .wait_timeout(st, wait)
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                    None => st = shared.flush.wait(st).unwrap_or_else(|p| p.into_inner()),
                }
            }
        }
        std::thread::sleep(SLED_APPLY_DELAY);
        if let Err(e) = apply_waiting(shared, Vec::new()) {
            // Durable in the log and visible in the overlay; tried again
            // with the next group, and the next checkpoint reports it.
            log::warn!("putting logged writes into sled failed: {e}");
            std::thread::sleep(SLED_FLUSH_DELAY);
        }
        let unflushed = std::mem::take(&mut shared.lock().unflushed);
        if unflushed {
            // A moment's wait gathers the groups of a burst into one flush
            // and keeps it off the device while a lone writer's log sync runs.
            flush_at.get_or_insert_with(|| Instant::now() + SLED_FLUSH_DELAY);
        }
        if flush_at.is_some_and(|at| Instant::now() >= at) {
            flush_at = None;
            if let Err(e) = shared.db.flush() {
                // The next checkpoint meets the same error and reports it to
                // the writers it concerns.
                log::warn!("flushing sled's log failed: {e}");
            }
        }
    }
}

/// The files sled writes, synced with `fdatasync`.
struct FileSyncer {
    dir: PathBuf,
    db_file: File,
    blobs_dir: PathBuf,
    /// Blob files synced, with the length they had then. sled writes a blob
    /// inside the writer's `reserve`, so a flush for an earlier ticket can
    /// list a blob that a later writer is still writing; keyed by name
    /// alone, that half-written blob counted as synced and its tail was
    /// never synced (regression: durability tests
    /// `regression_blob_growing_during_sync_is_synced_again`).
    synced_blobs: HashMap<std::ffi::OsString, u64>,
}

impl FileSyncer {
    fn new(dir: &Path) -> std::io::Result<Self> {
        Ok(FileSyncer {
            dir: dir.to_path_buf(),
            db_file: File::open(dir.join("db"))?,
            blobs_dir: dir.join("blobs"),
            synced_blobs: HashMap::new(),
        })
    }

    fn sync_all_once(&mut self) -> std::io::Result<()> {
        for name in ["conf", "snap"] {
            let p = self.dir.join(name);
            if p.exists() {
                File::open(&p)?.sync_all()?;
            }
        }
        self.sync()?;
        File::open(&self.dir)?.sync_all()
    }

    /// Syncs the db file and every blob file that is new or has grown since
    /// it was synced; returns how many blob files it synced.
    fn sync(&mut self) -> std::io::Result<usize> {
        self.db_file.sync_data()?;
        let entries = match std::fs::read_dir(&self.blobs_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut present = HashMap::new();
        let mut synced = 0;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let f = match File::open(entry.path()) {
                Ok(f) => f,
                // sled may have removed a stale blob meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let len = f.metadata()?.len();
            if self.synced_blobs.get(&name) != Some(&len) {
                f.sync_data()?;
                synced += 1;
            }
            present.insert(name, len);
        }
        if synced > 0 {
            File::open(&self.blobs_dir)?.sync_all()?;
        }
        self.synced_blobs = present;
        Ok(synced)
    }
}

#[cfg(test)]
mod tests {
    use super::FileSyncer;
    use std::io::Write;

    /// A blob that a concurrent writer is still writing when a flush lists
    /// the directory must be synced again once it is complete.
    #[test]
    fn regression_blob_growing_during_sync_is_synced_again() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("db"), b"log")?;
        std::fs::create_dir(dir.path().join("blobs"))?;
        let mut syncer = FileSyncer::new(dir.path())?;
        assert_eq!(syncer.sync()?, 0);
        let mut blob = std::fs::File::create(dir.path().join("blobs").join("1234"))?;
        blob.write_all(b"crc+kind")?;
        assert_eq!(syncer.sync()?, 1, "a new blob is synced");
        blob.write_all(&[7u8; 4096])?;
        assert_eq!(syncer.sync()?, 1, "a blob that grew is synced again");
        assert_eq!(syncer.sync()?, 0, "an unchanged blob is not");
        Ok(())
    }
}
