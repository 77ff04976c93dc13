//! Key layout in the single sled tree. Every key starts with a short tag;
//! IDs are 8 big-endian bytes so range scans run in ID (creation) order.
//!
//! | key                          | value                   |
//! |------------------------------|-------------------------|
//! | `m/schema_version`           | u32 BE                  |
//! | `m/id_high_water`            | u64 BE                  |
//! | `m/wal_seq`                  | u64 BE (last batch applied) |
//! | `d/` dashID                  | dashboard JSON          |
//! | `D/` orgID dashID            | empty (org index)       |
//! | `t/` dashID                  | orgID updatedAt [1: private] |
//! | `v/` dashID cellID           | view JSON               |
//! | `h/` dashID version (u64 BE) | dashboard version JSON  |
//! | `g/` dashID                  | trashed dashboard JSON  |
//! | `G/` orgID dashID            | empty (org trash index) |
//! | `o/` orgID                   | org JSON                |
//! | `O/` name                    | orgID (name index)      |
//! | `w/` userID                  | user JSON               |
//! | `W/` name                    | userID (name index)     |
//! | `a/` authID                  | authorization JSON      |
//! | `A/` hex sha256(token)       | authID (token index)    |
//! | `s/` sessionID               | session JSON            |
//! | `u/` resourceID userID       | mapping JSON            |
//! | `U/` userID resourceID       | mapping JSON (reverse)  |
//! | `b/` bucketID                | bucket JSON             |
//! | `l/` labelID                 | label JSON              |
//! | `L/` orgID lowercase(name)   | labelID (name index)    |
//! | `r/` resourceID labelID      | label mapping JSON      |
//! | `R/` labelID resourceID      | label mapping (reverse) |
//! | `x/` variableID              | variable JSON           |
//! | `X/` orgID lowercase(name)   | variableID (name index) |
//! | `e/` externalDashboardID      | external dashboard JSON |
//! | `E/` orgID lowercase(name)   | externalDashboardID (name index) |
//! | `k/` stackID                 | stack JSON              |
//! | `K/` orgID stackID           | empty (org index)       |
//! | `c/` roleID                  | custom role JSON        |
//! | `C/` orgID lowercase(name)   | roleID (name index)     |
//! | `j/` userID orgID            | role assignment JSON    |
//! | `J/` orgID userID            | role assignment (mirror)|
//! | `f/` userID or orgID         | default dashboard JSON  |
//! | `F/` dashID ownerID          | empty (reverse index)   |
//! | `m/` name                    | meta value (signing key)|

use crate::id::Id;

pub const SCHEMA_VERSION: &[u8] = b"m/schema_version";
pub const ID_HIGH_WATER: &[u8] = b"m/id_high_water";
/// The sequence number of the last batch applied (see `wal.rs`).
pub const WAL_SEQ: &[u8] = b"m/wal_seq";

pub const DASHBOARD: &[u8] = b"d/";
pub const ORG_DASHBOARD: &[u8] = b"D/";
pub const DASHBOARD_STAMP: &[u8] = b"t/";
pub const VIEW: &[u8] = b"v/";
pub const VERSION: &[u8] = b"h/";
pub const TRASH: &[u8] = b"g/";
pub const ORG_TRASH: &[u8] = b"G/";
pub const ORG: &[u8] = b"o/";
pub const ORG_NAME: &[u8] = b"O/";
pub const USER: &[u8] = b"w/";
pub const USER_NAME: &[u8] = b"W/";
pub const AUTHORIZATION: &[u8] = b"a/";
pub const TOKEN: &[u8] = b"A/";
pub const SESSION: &[u8] = b"s/";
pub const MAPPING: &[u8] = b"u/";
pub const USER_MAPPING: &[u8] = b"U/";
pub const BUCKET: &[u8] = b"b/";
pub const LABEL: &[u8] = b"l/";
pub const LABEL_NAME: &[u8] = b"L/";
pub const LABEL_MAPPING: &[u8] = b"r/";
pub const RESOURCE_OF_LABEL: &[u8] = b"R/";
pub const VARIABLE: &[u8] = b"x/";
pub const VARIABLE_NAME: &[u8] = b"X/";
pub const EXTERNAL_DASHBOARD: &[u8] = b"e/";
pub const EXTERNAL_DASHBOARD_NAME: &[u8] = b"E/";
pub const STACK: &[u8] = b"k/";
pub const ORG_STACK: &[u8] = b"K/";
pub const ROLE: &[u8] = b"c/";
pub const ROLE_NAME: &[u8] = b"C/";
pub const USER_ROLES: &[u8] = b"j/";
pub const ORG_ROLES: &[u8] = b"J/";
pub const DEFAULT_DASHBOARD: &[u8] = b"f/";
pub const DASHBOARD_DEFAULT: &[u8] = b"F/";
pub const META: &[u8] = b"m/";

pub fn key(tag: &[u8], parts: &[Id]) -> Vec<u8> {
    let mut k = Vec::with_capacity(tag.len() + 8 * parts.len());
    k.extend_from_slice(tag);
    for p in parts {
        k.extend_from_slice(&p.to_bytes());
    }
    k
}

pub fn name_key(tag: &[u8], name: &str) -> Vec<u8> {
    let mut k = tag.to_vec();
    k.extend_from_slice(name.as_bytes());
    k
}

/// A name unique within an org, compared without case as InfluxDB does.
pub fn org_name_key(tag: &[u8], org: Id, name: &str) -> Vec<u8> {
    let mut k = key(tag, &[org]);
    k.extend_from_slice(name.to_lowercase().as_bytes());
    k
}

/// The ID at position `index` (0-based, counted in IDs) after the tag.
pub fn id_at(key: &[u8], tag: &[u8], index: usize) -> Option<Id> {
    let start = tag.len() + 8 * index;
    key.get(start..start + 8).and_then(Id::from_bytes)
}

/// A dashboard's version `n`: numbers sort as they count.
pub fn version_key(dashboard: Id, n: u64) -> Vec<u8> {
    let mut k = key(VERSION, &[dashboard]);
    k.extend_from_slice(&n.to_be_bytes());
    k
}
