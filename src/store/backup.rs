//! Snapshots for `tessera backup` and `tessera restore`: every record of one
//! consistent state of the store, one JSON-lines file per kind, and a
//! manifest with each file's record count, byte length and SHA-256.
//!
//! Over HTTP a snapshot travels as the manifest on one line followed by the
//! files' bytes in the manifest's order; the lengths say where each ends.

use super::migrate::{export, summarise, CHUNK};
use super::{Change, SledStore, Store, StoreRead};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

pub const MANIFEST: &str = "manifest.json";
/// What `tessera backup` says on PostgreSQL.
pub const ON_POSTGRES: &str = "this Tessera keeps its data in PostgreSQL: back it up with pg_dump (restore with pg_restore), not tessera backup";
const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub tessera_version: String,
    pub created: String,
    /// The highest ID among the records: a restored store issues none up
    /// to it again.
    pub high_water: u64,
    /// In the order the files travel.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub kind: String,
    pub file: String,
    pub records: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// A snapshot in memory.
pub struct Snapshot {
    pub manifest: Manifest,
    /// File contents, in the manifest's order.
    pub files: Vec<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct ViewLine {
    dashboard: crate::id::Id,
    cell: crate::id::Id,
    view: crate::domain::view::View,
}

#[derive(Serialize, Deserialize)]
struct VersionLine {
    dashboard: crate::id::Id,
    version: crate::domain::history::Version,
}

#[derive(Serialize, Deserialize)]
struct MetaLine {
    key: String,
    value: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn line_of(c: &Change) -> Result<Vec<u8>, String> {
    let json = match c {
        Change::PutOrg(o) => serde_json::to_vec(o),
        Change::PutStack(s) => serde_json::to_vec(s),
        Change::PutUser { user, .. } => serde_json::to_vec(user),
        Change::PutMapping(m) => serde_json::to_vec(m),
        Change::PutAuthorization(a) => serde_json::to_vec(a),
        Change::PutSession(s) => serde_json::to_vec(s),
        Change::PutBucket(b) => serde_json::to_vec(b),
        Change::PutLabel { label, .. } => serde_json::to_vec(label),
        Change::PutVariable { variable, .. } => serde_json::to_vec(variable),
        Change::PutExternalDashboard { dashboard, .. } => serde_json::to_vec(dashboard),
        Change::PutDashboard(d) => serde_json::to_vec(d),
        Change::PutView {
            dashboard,
            cell,
            view,
        } => serde_json::to_vec(&ViewLine {
            dashboard: *dashboard,
            cell: *cell,
            view: view.clone(),
        }),
        Change::PutLabelMapping(m) => serde_json::to_vec(m),
        Change::PutTrash(t) => serde_json::to_vec(t),
        Change::PutVersion { dashboard, version } => serde_json::to_vec(&VersionLine {
            dashboard: *dashboard,
            version: version.clone(),
        }),
        Change::PutRole { role, .. } => serde_json::to_vec(role),
        Change::PutRoleAssignment(a) => serde_json::to_vec(a),
        Change::PutDefaultDashboard(d) => serde_json::to_vec(d),
        Change::PutMeta { key, value } => serde_json::to_vec(&MetaLine {
            key: (*key).to_owned(),
            value: base64::engine::general_purpose::STANDARD.encode(value),
        }),
        other => return Err(format!("not a record: {other:?}")),
    };
    json.map_err(|e| e.to_string())
}

fn change_of(kind: &str, line: &[u8]) -> Result<Change, String> {
    fn de<T: serde::de::DeserializeOwned>(line: &[u8]) -> Result<T, String> {
        serde_json::from_slice(line).map_err(|e| e.to_string())
    }
    Ok(match kind {
        "orgs" => Change::PutOrg(de(line)?),
        "stacks" => Change::PutStack(de(line)?),
        "users" => Change::PutUser {
            user: de(line)?,
            previous_name: None,
        },
        "members" => Change::PutMapping(de(line)?),
        "authorizations" => Change::PutAuthorization(de(line)?),
        "sessions" => Change::PutSession(de(line)?),
        "buckets" => Change::PutBucket(de(line)?),
        "labels" => Change::PutLabel {
            label: de(line)?,
            previous_name: None,
        },
        "variables" => Change::PutVariable {
            variable: de(line)?,
            previous_name: None,
        },
        "external dashboards" => Change::PutExternalDashboard {
            dashboard: de(line)?,
            previous_name: None,
        },
        "dashboards" => Change::PutDashboard(de(line)?),
        "views" => {
            let v: ViewLine = de(line)?;
            Change::PutView {
                dashboard: v.dashboard,
                cell: v.cell,
                view: v.view,
            }
        }
        "label mappings" => Change::PutLabelMapping(de(line)?),
        "trash" => Change::PutTrash(Box::new(de(line)?)),
        "versions" => {
            let v: VersionLine = de(line)?;
            Change::PutVersion {
                dashboard: v.dashboard,
                version: v.version,
            }
        }
        "roles" => Change::PutRole {
            role: de(line)?,
            previous_name: None,
        },
        "role assignments" => Change::PutRoleAssignment(de(line)?),
        "default dashboards" => Change::PutDefaultDashboard(de(line)?),
        "meta" => {
            let m: MetaLine = de(line)?;
            let key = super::migrate::META_KEYS
                .iter()
                .find(|k| **k == m.key)
                .ok_or_else(|| format!("unknown meta key {:?}", m.key))?;
            Change::PutMeta {
                key,
                value: base64::engine::general_purpose::STANDARD
                    .decode(m.value)
                    .map_err(|e| e.to_string())?,
            }
        }
        other => return Err(format!("unknown kind {other:?}")),
    })
}

impl Snapshot {
    /// Every record of one consistent state (`Store::read`: on sled,
    /// writers wait for the few milliseconds the copy takes).
    pub fn take(store: &dyn Store) -> Result<Snapshot, String> {
        let mut taken = None;
        store
            .read(&mut |r: &dyn StoreRead| {
                taken = Some(export(r).map_err(crate::error::Error::internal)?);
                Ok(())
            })
            .map_err(|e| e.err.unwrap_or(e.message))?;
        let (records, high_water) = taken.ok_or("the snapshot did not run")?;
        let mut files = Vec::new();
        let mut entries = Vec::new();
        for (kind, changes) in &records {
            let mut bytes = Vec::new();
            for c in changes {
                bytes.extend(line_of(c)?);
                bytes.push(b'\n');
            }
            entries.push(FileEntry {
                kind: (*kind).to_owned(),
                file: format!("{}.jsonl", kind.replace(' ', "-")),
                records: changes.len() as u64,
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            });
            files.push(bytes);
        }
        Ok(Snapshot {
            manifest: Manifest {
                format: FORMAT,
                tessera_version: crate::api::system::VERSION.to_owned(),
                created: crate::domain::time::Timestamp::now().rfc3339(),
                high_water,
                files: entries,
            },
            files,
        })
    }

    /// The snapshot as one stream: the manifest's line, then the files.
    pub fn to_bundle(&self) -> Result<Vec<u8>, String> {
        let mut out = serde_json::to_vec(&self.manifest).map_err(|e| e.to_string())?;
        out.push(b'\n');
        for f in &self.files {
            out.extend_from_slice(f);
        }
        Ok(out)
    }

    /// Reads a bundle and checks every file against the manifest.
    pub fn from_bundle(bytes: &[u8]) -> Result<Snapshot, String> {
        let nl = bytes
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("the backup stream has no manifest")?;
        let manifest: Manifest = serde_json::from_slice(&bytes[..nl])
            .map_err(|e| format!("the backup's manifest is not readable: {e}"))?;
        let mut rest = &bytes[nl + 1..];
        let mut files = Vec::new();
        for entry in &manifest.files {
            let n = usize::try_from(entry.bytes).map_err(|e| e.to_string())?;
            if rest.len() < n {
                return Err(format!("the backup stream ends inside {}", entry.file));
            }
            files.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        if !rest.is_empty() {
            return Err("the backup stream goes on past its last file".into());
        }
        let s = Snapshot { manifest, files };
        s.verify()?;
        Ok(s)
    }

    /// Checks the format, and each file's length, checksum and count.
    fn verify(&self) -> Result<(), String> {
        if self.manifest.format != FORMAT {
            return Err(format!(
                "backup format {} is not known to this Tessera (it reads {FORMAT})",
                self.manifest.format
            ));
        }
        for (entry, bytes) in self.manifest.files.iter().zip(&self.files) {
            if bytes.len() as u64 != entry.bytes || sha256_hex(bytes) != entry.sha256 {
                return Err(format!(
                    "{} does not match its checksum in the manifest",
                    entry.file
                ));
            }
            let lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty());
            if lines.count() as u64 != entry.records {
                return Err(format!(
                    "{} does not hold the {} records the manifest counts",
                    entry.file, entry.records
                ));
            }
        }
        Ok(())
    }

    /// Writes the files and then the manifest into `dir`, which must not
    /// hold a backup already.
    pub fn write_dir(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if dir.join(MANIFEST).exists() {
            return Err(format!("{} already holds a backup", dir.display()));
        }
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes)
                .and_then(|_| std::fs::File::open(&path)?.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        for (entry, bytes) in self.manifest.files.iter().zip(&self.files) {
            write(&entry.file, bytes)?;
        }
        // Last: a directory with a manifest holds a whole backup.
        let manifest = serde_json::to_vec_pretty(&self.manifest).map_err(|e| e.to_string())?;
        write(MANIFEST, &manifest)?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("cannot sync {}: {e}", dir.display()))
    }

    /// Reads a backup directory and checks every file against the manifest.
    pub fn read_dir(dir: &Path) -> Result<Snapshot, String> {
        let path = dir.join(MANIFEST);
        let manifest: Manifest = serde_json::from_slice(
            &std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        )
        .map_err(|e| format!("{} is not readable: {e}", path.display()))?;
        let mut files = Vec::new();
        for entry in &manifest.files {
            if entry.file.contains('/') || entry.file.contains("..") {
                return Err(format!(
                    "the manifest names a file outside the backup: {}",
                    entry.file
                ));
            }
            let p = dir.join(&entry.file);
            files.push(std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?);
        }
        let s = Snapshot { manifest, files };
        s.verify()?;
        Ok(s)
    }

    /// The records as the changes that recreate them, by kind.
    fn changes(&self) -> Result<BTreeMap<&'static str, Vec<Change>>, String> {
        let mut out: BTreeMap<&'static str, Vec<Change>> = BTreeMap::new();
        for (entry, bytes) in self.manifest.files.iter().zip(&self.files) {
            let kind = KINDS
                .iter()
                .find(|k| **k == entry.kind)
                .ok_or_else(|| format!("unknown kind {:?} in the manifest", entry.kind))?;
            let changes = out.entry(kind).or_default();
            for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                changes.push(change_of(kind, line).map_err(|e| format!("{}: {e}", entry.file))?);
            }
        }
        Ok(out)
    }

    /// Writes every record into a new sled store in `dir` (refused when
    /// `dir` holds anything, unless `force`: then its records are removed
    /// first) and checks what it reads back. Returns (kind, count) pairs.
    pub fn restore(&self, dir: &Path, force: bool) -> Result<Vec<(String, u64)>, String> {
        let wanted = self.changes()?;
        let occupied = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if occupied && !force {
            return Err(format!(
                "{} is not empty; restore into an empty directory, or pass --force to replace what it holds",
                dir.display()
            ));
        }
        let store = SledStore::open(dir).map_err(|e| e.to_string())?;
        if occupied {
            store.clear().map_err(|e| e.to_string())?;
        }
        // Dashboards before their versions, whatever order the kinds sort in.
        let order = wanted
            .iter()
            .filter(|(k, _)| **k != "versions")
            .chain(wanted.iter().filter(|(k, _)| **k == "versions"));
        for (_, changes) in order {
            for chunk in changes.chunks(CHUNK) {
                let mut batch = Some(chunk.to_vec());
                store
                    .write(&mut |_| Ok(batch.take().unwrap_or_default()))
                    .map_err(|e| format!("writing the restored store: {}", e.message))?;
            }
        }
        store
            .raise_high_water(self.manifest.high_water)
            .map_err(|e| e.to_string())?;
        let (restored, _) = export(&store)?;
        store.close();
        if summarise(&restored) != summarise(&wanted) {
            return Err("the restored store does not read back as the backup".into());
        }
        Ok(self
            .manifest
            .files
            .iter()
            .map(|e| (e.kind.clone(), e.records))
            .collect())
    }
}

/// Kinds as `export` names them.
const KINDS: &[&str] = &[
    "orgs",
    "stacks",
    "users",
    "members",
    "authorizations",
    "sessions",
    "buckets",
    "labels",
    "variables",
    "external dashboards",
    "dashboards",
    "views",
    "label mappings",
    "trash",
    "versions",
    "roles",
    "role assignments",
    "default dashboards",
    "meta",
];
