//! The write-ahead log that makes a batch durable in one device round trip.
//!
//! sled 0.34 writes its log with a `sync_file_range` that waits for the
//! device but flushes no cache, and its file grows as it appends, so the
//! `fdatasync` after it also has to commit the file's new size: a commit
//! cost 2.5× a raw `fdatasync` (docs/performance.md). Each batch is also
//! written here, as the bytes of its operations, to a file allocated ahead
//! and overwritten in place, so a group of batches is durable after one
//! `pwrite` + `fdatasync` — the raw device's own cost. Batches reach sled
//! after their group is logged, a group as one sled batch, and sled flushes
//! on its own schedule. When the log is full, a checkpoint (everything into
//! sled, sled's flush + `fdatasync` of sled's files) makes it all durable in
//! sled and the log starts over at its beginning.
//!
//! Every batch carries its sequence number (`keys::WAL_SEQ`), the last one
//! wins in a group, so on open the records past the last batch sled
//! recovered are applied again, in order.
//!
//! A record: payload length (u32 LE), CRC-32 of sequence + payload,
//! sequence (u64 LE), payload. A zero length, a bad CRC or a sequence that
//! does not follow the previous record's ends the log: what follows is an
//! older round of the log or a write a crash cut short. The payload lists
//! operations: `1`, key length (u32 LE), key, value length (u32 LE), value
//! for an insert; `2` and the same for an insert of a record's JSON, which
//! is compressed on its way into sled; `0`, key length, key for a removal.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::overlay::Op;
use super::packed;
use sled::IVec;

pub const FILE_NAME: &str = "wal";
/// The log's size before it starts over (after a checkpoint). Bounds the
/// disk it takes and the records a restart replays.
pub const CAPACITY: u64 = 16 << 20;
/// The first allocation; the file doubles from there up to `CAPACITY`, so a
/// store that sees few writes keeps a small log.
const FIRST_ALLOCATION: u64 = 1 << 20;
const HEADER: usize = 16;

/// A batch's operations, for the overlay and sled, and the same operations
/// as a log payload.
#[derive(Default)]
pub struct Batch {
    entries: Vec<Op>,
    ops: Vec<u8>,
}

impl Batch {
    /// Inserts `v` as it is.
    pub fn insert(&mut self, k: impl AsRef<[u8]>, v: impl AsRef<[u8]>) {
        self.put(k.as_ref(), v.as_ref(), false);
    }

    /// Inserts a record's JSON, to be compressed when it goes into sled:
    /// compressing it here, under the writer lock, was a third of the time
    /// concurrent writers waited for each other.
    pub fn insert_record(&mut self, k: impl AsRef<[u8]>, json: impl AsRef<[u8]>) {
        self.put(k.as_ref(), json.as_ref(), true);
    }

    fn put(&mut self, k: &[u8], v: &[u8], record: bool) {
        self.ops.push(if record { 2 } else { 1 });
        put_bytes(&mut self.ops, k);
        put_bytes(&mut self.ops, v);
        self.entries.push(Op {
            key: IVec::from(k),
            value: Some(IVec::from(v)),
            record,
        });
    }

    pub fn remove(&mut self, k: impl AsRef<[u8]>) {
        let k = k.as_ref();
        self.ops.push(0);
        put_bytes(&mut self.ops, k);
        self.entries.push(Op {
            key: IVec::from(k),
            value: None,
            record: false,
        });
    }

    pub fn into_parts(self) -> (Vec<Op>, Vec<u8>) {
        (self.entries, self.ops)
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// What sled stores for an inserted value: a record's JSON compressed.
pub fn sled_value(v: &[u8], record: bool) -> IVec {
    if record {
        IVec::from(packed::pack(v).as_ref())
    } else {
        IVec::from(v)
    }
}

/// Appends the record of batch `seq` to `out`.
pub fn encode_record(out: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&seq.to_le_bytes());
    crc.update(payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
}

/// The sled batch a payload describes.
pub fn decode_ops(payload: &[u8]) -> Result<sled::Batch, String> {
    fn take<'a>(p: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(p.get(..4)?.try_into().ok()?) as usize;
        let b = p.get(4..4 + len)?;
        *p = &p[4 + len..];
        Some(b)
    }
    let mut batch = sled::Batch::default();
    let mut p = payload;
    while let Some((&op, rest)) = p.split_first() {
        p = rest;
        let k = take(&mut p).ok_or("a log record ends inside a key")?;
        match op {
            1 | 2 => {
                let v = take(&mut p).ok_or("a log record ends inside a value")?;
                batch.insert(k, sled_value(v, op == 2));
            }
            0 => batch.remove(k),
            other => return Err(format!("unknown log operation {other}")),
        }
    }
    Ok(batch)
}

/// The records of `bytes` that follow sequence `applied`, in order, as
/// (sequence, payload). Records at or below `applied` are sled's already.
pub fn records_after(bytes: &[u8], applied: u64) -> Result<Vec<(u64, &[u8])>, String> {
    let mut out: Vec<(u64, &[u8])> = Vec::new();
    let mut previous: Option<u64> = None;
    let mut at = 0usize;
    while let Some(h) = bytes.get(at..at + HEADER) {
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let seq = u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
        if len == 0 || previous.is_some_and(|p| seq != p + 1) {
            break;
        }
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        let mut check = crc32fast::Hasher::new();
        check.update(&seq.to_le_bytes());
        check.update(payload);
        if check.finalize() != crc {
            break;
        }
        if seq > applied {
            let expected = out.last().map_or(applied + 1, |(s, _)| s + 1);
            if seq != expected {
                return Err(format!(
                    "the write-ahead log continues at write {seq} but the store ends at write {applied}: writes in between are missing"
                ));
            }
            out.push((seq, payload));
        }
        previous = Some(seq);
        at += HEADER + len;
    }
    Ok(out)
}

/// The log file and where the next group goes.
pub struct Wal {
    file: File,
    offset: u64,
    allocated: u64,
}

impl Wal {
    /// Opens (or creates) the log in `dir` and returns it with its bytes.
    pub fn open(dir: &Path) -> io::Result<(Wal, Vec<u8>)> {
        let path = dir.join(FILE_NAME);
        let created = !path.exists();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        if created {
            File::open(dir)?.sync_all()?;
        }
        let bytes = std::fs::read(&path)?;
        let allocated = bytes.len() as u64;
        Ok((
            Wal {
                file,
                offset: 0,
                allocated,
            },
            bytes,
        ))
    }

    /// Whether `len` more bytes fit before the log must start over.
    pub fn fits(&self, len: usize) -> bool {
        self.offset + len as u64 <= CAPACITY.max(self.allocated)
    }

    /// Writes a group of records and makes them durable.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let end = self.offset + bytes.len() as u64;
        if end > self.allocated {
            self.grow(end)?;
        }
        self.file.write_all_at(bytes, self.offset)?;
        self.file.sync_data()?;
        self.offset = end;
        Ok(())
    }

    /// After a checkpoint: everything logged so far is sled's.
    pub fn start_over(&mut self) {
        self.offset = 0;
    }

    /// Allocates with zeros (not `fallocate`: writing into unwritten extents
    /// makes every later `fdatasync` commit metadata too). The `fdatasync`
    /// of the write that follows commits the new size once.
    fn grow(&mut self, end: u64) -> io::Result<()> {
        let mut target = self.allocated.max(FIRST_ALLOCATION);
        while target < end {
            target *= 2;
        }
        let zeros = vec![0u8; 1 << 20];
        let mut at = self.allocated;
        while at < target {
            let n = (target - at).min(zeros.len() as u64);
            self.file.write_all_at(&zeros[..n as usize], at)?;
            at += n;
        }
        self.allocated = target;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(&mut out, seq, payload);
        out
    }

    #[test]
    fn records_past_the_applied_one_come_back_in_order() {
        let mut log = Vec::new();
        for seq in 1..=5 {
            log.extend(record(seq, format!("p{seq}").as_bytes()));
        }
        log.extend(vec![0u8; 64]);
        let got = records_after(&log, 2).expect("log");
        assert_eq!(got, vec![(3, &b"p3"[..]), (4, &b"p4"[..]), (5, &b"p5"[..])]);
        assert!(records_after(&log, 5).expect("log").is_empty());
    }

    #[test]
    fn an_older_round_or_a_torn_record_ends_the_log() {
        // Round one wrote 1..=4; after a checkpoint round two wrote 10, 11
        // over the start; the rest of round one is still in the file.
        let mut old = Vec::new();
        for seq in 1..=4 {
            old.extend(record(seq, b"old record payload"));
        }
        let mut log = record(10, b"new");
        log.extend(record(11, b"new"));
        log.extend_from_slice(&old[log.len()..]);
        let got = records_after(&log, 9).expect("log");
        assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), vec![10, 11]);

        // A record cut short by a crash: its CRC fails.
        let mut torn = record(1, b"whole");
        let mut second = record(2, b"cut short");
        second.truncate(second.len() - 3);
        second.extend([0, 0, 0]);
        torn.extend(second);
        let got = records_after(&torn, 0).expect("log");
        assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn a_gap_after_what_sled_holds_is_an_error() {
        let mut log = record(7, b"a");
        log.extend(record(8, b"b"));
        let err = records_after(&log, 5).expect_err("gap");
        assert!(err.contains("write 7"), "{err}");
    }

    #[test]
    fn operations_round_trip() {
        let mut b = Batch::default();
        b.insert(b"k1", b"v1");
        b.remove(b"k2");
        b.insert(vec![1u8, 2], Vec::<u8>::new());
        // A record goes into sled compressed; the overlay's entry is its JSON.
        let json = format!(r#"{{"name":"{}"}}"#, "n".repeat(400));
        b.insert_record(b"k3", json.as_bytes());
        let (entries, ops) = b.into_parts();
        assert_eq!(entries[3].value.as_deref(), Some(json.as_bytes()));
        assert!(entries[3].record && !entries[0].record);
        let db = sled::Config::new().temporary(true).open().expect("db");
        db.insert(b"k2", b"gone").expect("insert");
        db.apply_batch(decode_ops(&ops).expect("decode"))
            .expect("apply");
        assert_eq!(db.get(b"k1").expect("get").as_deref(), Some(&b"v1"[..]));
        assert_eq!(db.get(b"k2").expect("get"), None);
        assert_eq!(db.get([1u8, 2]).expect("get").as_deref(), Some(&b""[..]));
        let k3 = db.get(b"k3").expect("get").expect("k3");
        assert!(k3.len() < json.len() / 4, "{} bytes stored", k3.len());
        assert_eq!(
            packed::unpack(&k3).expect("unpack").as_ref(),
            json.as_bytes()
        );
        assert!(decode_ops(&ops[..ops.len() - 1]).is_err());
    }

    #[test]
    fn appends_grow_the_file_and_start_over() {
        let dir = tempfile::tempdir().expect("dir");
        let (mut wal, bytes) = Wal::open(dir.path()).expect("open");
        assert!(bytes.is_empty());
        let mut group = Vec::new();
        encode_record(&mut group, 1, b"one");
        encode_record(&mut group, 2, b"two");
        wal.append(&group).expect("append");
        let (_, bytes) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(bytes.len() as u64, FIRST_ALLOCATION);
        assert_eq!(records_after(&bytes, 0).expect("log").len(), 2);
        wal.start_over();
        wal.append(&record(3, b"three")).expect("append");
        let (_, bytes) = Wal::open(dir.path()).expect("reopen");
        let got = records_after(&bytes, 2).expect("log");
        assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), vec![3]);
    }
}
