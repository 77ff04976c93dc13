//! Platform IDs: 64-bit numbers written as 16 lowercase hex characters, never zero.
//!
//! Layout of a generated ID (high to low bits): 42 bits of milliseconds since
//! 2020-01-01, 6 bits of node number (0 for now; room for several instances),
//! 16 bits of sequence. IDs are strictly increasing within a process, and the
//! store persists the highest one issued so a clock step back across a restart
//! cannot reuse one.

use crate::error::Error;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(u64);

impl Id {
    pub fn from_u64(v: u64) -> Option<Id> {
        (v != 0).then_some(Id(v))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    pub fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    pub fn from_bytes(b: &[u8]) -> Option<Id> {
        let arr: [u8; 8] = b.try_into().ok()?;
        Id::from_u64(u64::from_be_bytes(arr))
    }

    /// Parses InfluxDB's way: wrong length and bad hex get its exact messages.
    pub fn parse(s: &str) -> Result<Id, Error> {
        if s.len() != 16 {
            return Err(Error::invalid("id must have a length of 16 bytes"));
        }
        // InfluxDB decodes hex case-insensitively; we do the same.
        let v = u64::from_str_radix(s, 16).map_err(|_| Error::invalid("invalid ID"))?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid("invalid ID"));
        }
        Id::from_u64(v).ok_or_else(|| Error::invalid("invalid ID"))
    }
}

/// Lowercase hex of `bytes` into `out` (twice as long). IDs and token hashes
/// are rendered on every request; `format!("{:x}")` showed up in profiles.
pub fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
}

impl Id {
    /// The 16 hex characters, without allocating.
    pub fn hex(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        hex_into(&self.0.to_be_bytes(), &mut out);
        out
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.hex();
        // Always ASCII hex digits.
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

impl FromStr for Id {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Id::parse(s)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Id::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

const EPOCH_MS: u64 = 1_577_836_800_000; // 2020-01-01T00:00:00Z
const NODE_BITS: u32 = 6;
const SEQ_BITS: u32 = 16;

pub struct IdGenerator {
    last: AtomicU64,
    node: u64,
}

impl IdGenerator {
    /// `high_water` is the highest ID ever issued on this data directory.
    pub fn new(high_water: u64, node: u8) -> Self {
        IdGenerator {
            last: AtomicU64::new(high_water),
            node: u64::from(node) & ((1 << NODE_BITS) - 1),
        }
    }

    pub fn next(&self) -> Id {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(EPOCH_MS)
            .saturating_sub(EPOCH_MS);
        let floor = (now_ms << (NODE_BITS + SEQ_BITS)) | (self.node << SEQ_BITS) | 1;
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = floor.max(prev + 1);
            match self.last.compare_exchange_weak(
                prev,
                candidate,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Id(candidate),
                Err(actual) => prev = actual,
            }
        }
    }

    /// Never issues `id` or anything below it (records copied in).
    pub fn observe(&self, id: u64) {
        self.last.fetch_max(id, Ordering::AcqRel);
    }

    pub fn high_water(&self) -> u64 {
        self.last.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_messages_match_influx() {
        assert_eq!(
            Id::parse("abc").unwrap_err().message,
            "id must have a length of 16 bytes"
        );
        assert_eq!(
            Id::parse("zzzzzzzzzzzzzzzz").unwrap_err().message,
            "invalid ID"
        );
        assert_eq!(
            Id::parse("0000000000000000").unwrap_err().message,
            "invalid ID"
        );
        assert_eq!(
            Id::parse("+00000000000000a").unwrap_err().message,
            "invalid ID"
        );
        assert_eq!(
            Id::parse("0a1b2c3d4e5f6071").unwrap().to_string(),
            "0a1b2c3d4e5f6071"
        );
    }

    #[test]
    fn generator_is_strictly_increasing_and_respects_high_water() {
        let far = u64::MAX / 2;
        let g = IdGenerator::new(far, 0);
        let a = g.next();
        let b = g.next();
        assert!(a.get() > far && b > a);
        let g = IdGenerator::new(0, 0);
        let mut last = g.next();
        for _ in 0..10_000 {
            let n = g.next();
            assert!(n > last);
            last = n;
        }
    }
}
