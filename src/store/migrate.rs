//! `tessera migrate`: copies every record (dashboard histories included)
//! from one store to another (sled directory ↔ PostgreSQL), then reads both
//! back and compares each kind's count and checksum.

use super::{Change, DashboardScan, PgStore, SledStore, Store, StoreRead};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The meta keys a store holds (the token signing secret).
pub(crate) const META_KEYS: &[&str] = &["signing_key"];

/// Records per write transaction while copying.
pub(crate) const CHUNK: usize = 500;

/// One kind's count and checksum (SHA-256 over its records' JSON in the
/// order the store lists them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindSummary {
    pub count: usize,
    pub checksum: String,
}

pub type Summary = BTreeMap<&'static str, KindSummary>;

enum Opened {
    Sled(Arc<SledStore>),
    Pg(Arc<PgStore>),
}

impl Opened {
    fn open(location: &str) -> Result<Opened, String> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Ok(Opened::Pg(Arc::new(
                PgStore::open(location).map_err(|e| e.to_string())?,
            )))
        } else {
            Ok(Opened::Sled(Arc::new(
                SledStore::open(Path::new(location)).map_err(|e| e.to_string())?,
            )))
        }
    }

    fn store(&self) -> &dyn Store {
        match self {
            Opened::Sled(s) => s.as_ref(),
            Opened::Pg(s) => s.as_ref(),
        }
    }

    fn clear(&self) -> Result<(), String> {
        match self {
            Opened::Sled(s) => s.clear().map_err(|e| e.to_string()),
            Opened::Pg(s) => s.clear().map_err(|e| e.to_string()),
        }
    }

    fn raise_high_water(&self, id: u64) -> Result<(), String> {
        match self {
            Opened::Sled(s) => s.raise_high_water(id).map_err(|e| e.to_string()),
            Opened::Pg(s) => s.raise_high_water(id).map_err(|e| e.to_string()),
        }
    }
}

/// Every record of a store as the changes that recreate it, by kind, and
/// the highest ID among them.
pub(crate) fn export(
    s: &dyn StoreRead,
) -> Result<(BTreeMap<&'static str, Vec<Change>>, u64), String> {
    let e = |e: super::StoreError| e.to_string();
    let mut out: BTreeMap<&'static str, Vec<Change>> = BTreeMap::new();
    let mut max = 0u64;
    let mut seen = |id: crate::id::Id| max = max.max(id.get());
    let orgs = s.orgs().map_err(e)?;
    let users = s.users().map_err(e)?;
    let dashboards = s
        .dashboards(DashboardScan {
            org: None,
            descending: false,
            offset: 0,
            limit: None,
        })
        .map_err(e)?;
    let variables = s.variables(None).map_err(e)?;
    let external = s.external_dashboards(None).map_err(e)?;
    let mut put = |kind: &'static str, c: Change| out.entry(kind).or_default().push(c);
    for o in &orgs {
        seen(o.id);
        put("orgs", Change::PutOrg(o.clone()));
        for st in s.stacks(o.id).map_err(e)? {
            seen(st.id);
            put("stacks", Change::PutStack(st));
        }
        for a in s.role_assignments_of_org(o.id).map_err(e)? {
            put("role assignments", Change::PutRoleAssignment(a));
        }
    }
    for r in s.roles(None).map_err(e)? {
        seen(r.id);
        put(
            "roles",
            Change::PutRole {
                role: r,
                previous_name: None,
            },
        );
    }
    for d in s.default_dashboards().map_err(e)? {
        put("default dashboards", Change::PutDefaultDashboard(d));
    }
    for u in &users {
        seen(u.id);
        put(
            "users",
            Change::PutUser {
                user: u.clone(),
                previous_name: None,
            },
        );
        for m in s.mappings_of_user(u.id).map_err(e)? {
            put("members", Change::PutMapping(m));
        }
    }
    for a in s.authorizations().map_err(e)? {
        seen(a.id);
        put("authorizations", Change::PutAuthorization(a));
    }
    for x in s.sessions().map_err(e)? {
        put("sessions", Change::PutSession(x));
    }
    for b in s.buckets().map_err(e)? {
        seen(b.id);
        put("buckets", Change::PutBucket(b));
    }
    for l in s.labels(None).map_err(e)? {
        seen(l.id);
        put(
            "labels",
            Change::PutLabel {
                label: l,
                previous_name: None,
            },
        );
    }
    for v in &variables {
        seen(v.id);
        put(
            "variables",
            Change::PutVariable {
                variable: v.clone(),
                previous_name: None,
            },
        );
    }
    for d in &external {
        seen(d.id);
        put(
            "external dashboards",
            Change::PutExternalDashboard {
                dashboard: d.clone(),
                previous_name: None,
            },
        );
    }
    for d in &dashboards {
        seen(d.id);
        for c in &d.cells {
            seen(c.id);
        }
        put("dashboards", Change::PutDashboard(d.clone()));
        for version in s.versions(d.id, 0).map_err(e)? {
            put(
                "versions",
                Change::PutVersion {
                    dashboard: d.id,
                    version,
                },
            );
        }
        for (cell, view) in s.views(d.id).map_err(e)? {
            put(
                "views",
                Change::PutView {
                    dashboard: d.id,
                    cell,
                    view,
                },
            );
        }
    }
    let labelled = dashboards
        .iter()
        .map(|d| d.id)
        .chain(variables.iter().map(|v| v.id))
        .chain(external.iter().map(|d| d.id));
    for id in labelled {
        for m in s.label_mappings_of_resource(id).map_err(e)? {
            put("label mappings", Change::PutLabelMapping(m));
        }
    }
    for t in s.trash(None).map_err(e)? {
        seen(t.dashboard.id);
        for c in &t.dashboard.cells {
            seen(c.id);
        }
        put("trash", Change::PutTrash(Box::new(t)));
    }
    for key in META_KEYS {
        if let Some(value) = s.meta(key).map_err(e)? {
            put("meta", Change::PutMeta { key, value });
        }
    }
    Ok((out, max))
}

/// What each change writes, for the checksum: the record's JSON line as a
/// backup holds it.
fn record_bytes(c: &Change) -> Vec<u8> {
    super::backup::line_of(c).unwrap_or_else(|_| format!("{c:?}").into_bytes())
}

pub(crate) fn summarise(records: &BTreeMap<&'static str, Vec<Change>>) -> Summary {
    records
        .iter()
        .map(|(kind, changes)| {
            let mut h = Sha256::new();
            for c in changes {
                let bytes = record_bytes(c);
                h.update((bytes.len() as u64).to_be_bytes());
                h.update(&bytes);
            }
            let checksum = h
                .finalize()
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect();
            (
                *kind,
                KindSummary {
                    count: changes.len(),
                    checksum,
                },
            )
        })
        .collect()
}

/// Whether a store holds any record.
fn holds_records(s: &dyn StoreRead) -> Result<bool, String> {
    let (records, _) = export(s)?;
    Ok(records.values().any(|v| !v.is_empty()))
}

/// Copies every record from `from` to `to` (each a data directory or a
/// `postgres://` URL) and returns the target's summary, which matched the
/// source's. Refuses a target holding records unless `force`.
pub fn migrate(from: &str, to: &str, force: bool) -> Result<Summary, String> {
    if from == to {
        return Err("--from and --to name the same store".into());
    }
    let source = Opened::open(from).map_err(|e| format!("source: {e}"))?;
    let target = Opened::open(to).map_err(|e| format!("target: {e}"))?;
    let result = copy(&source, &target, force);
    source.store().close();
    target.store().close();
    result
}

fn copy(source: &Opened, target: &Opened, force: bool) -> Result<Summary, String> {
    let (records, max_id) = export(source.store())?;
    let expected = summarise(&records);
    if holds_records(target.store())? {
        if !force {
            return Err("the target already holds records; pass --force to empty it first".into());
        }
        target.clear()?;
    }
    for changes in records.values() {
        for chunk in changes.chunks(CHUNK) {
            let mut batch = Some(chunk.to_vec());
            target
                .store()
                .write(&mut |_| Ok(batch.take().unwrap_or_default()))
                .map_err(|e| format!("writing the target: {}", e.message))?;
        }
    }
    target.raise_high_water(max_id)?;
    let (copied, _) = export(target.store())?;
    let got = summarise(&copied);
    if got != expected {
        let mut diff = Vec::new();
        for kind in expected.keys().chain(got.keys()) {
            if expected.get(kind) != got.get(kind) {
                diff.push(format!(
                    "{kind}: source {:?}, target {:?}",
                    expected.get(kind),
                    got.get(kind)
                ));
            }
        }
        diff.dedup();
        return Err(format!(
            "the copy does not match the source: {}",
            diff.join("; ")
        ));
    }
    Ok(got)
}
