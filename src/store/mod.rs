//! Where the bytes live. The `Store` trait is the seam between the domain and
//! a backend: `SledStore` (embedded, the default) and `PgStore` (PostgreSQL,
//! for several instances on one database).
//!
//! Consistency lives behind the seam. `Store::write` runs a read-modify-write
//! closure so that no other writer — in this process or another — changes
//! what it read before its changes are applied, applies them atomically and
//! returns once they are durable. `Store::read` runs a closure over one
//! consistent state. Plain `StoreRead` calls on the store read the latest
//! committed state, one call at a time.

pub mod backup;
mod dashboard_index;
mod durability;
mod keys;
pub mod migrate;
mod overlay;
pub mod packed;
mod pg_store;
mod sled_store;
mod wal;

pub use pg_store::{redact, PgOpenError, PgStore};
pub use sled_store::{OpenError, SledStore, DEFAULT_CACHE_BYTES as SLED_DEFAULT_CACHE_BYTES};

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
use crate::id::Id;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Backend(String),
    #[error("corrupt record under {key}: {detail}")]
    Corrupt { key: String, detail: String },
    #[error("no space left on the data volume: {0}")]
    Full(String),
    /// The backend cannot be reached (PostgreSQL down or restarting); the
    /// request may succeed when retried.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A database constraint refused the change (a unique name taken by a
    /// concurrent writer the domain check could not see).
    #[error("conflict: {0}")]
    Conflict(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One key-level change. Index entries are the store's business: putting a
/// dashboard also maintains its org index entry.
#[derive(Debug, Clone)]
pub enum Change {
    PutDashboard(Dashboard),
    /// Removes the dashboard, its org index entry, every view under it, its
    /// owner/member mappings, its label mappings, its history and every
    /// default that names it.
    DeleteDashboard {
        id: Id,
        org: Id,
    },
    PutView {
        dashboard: Id,
        cell: Id,
        view: View,
    },
    DeleteView {
        dashboard: Id,
        cell: Id,
    },
    /// One version of a dashboard's history.
    PutVersion {
        dashboard: Id,
        version: Version,
    },
    /// Drops a dashboard's versions numbered below `below`.
    DeleteVersions {
        dashboard: Id,
        below: u64,
    },
    /// A deleted dashboard with everything it had, as one record.
    PutTrash(Box<Trashed>),
    /// Drops a trashed dashboard for good.
    DeleteTrash {
        id: Id,
        org: Id,
    },
    PutOrg(Org),
    /// `previous_name` is the name index entry to drop (on rename or delete).
    RenameOrg {
        org: Org,
        previous_name: String,
    },
    /// Also removes every owner/member mapping on the org, its custom roles,
    /// the role assignments in it and its default dashboard.
    DeleteOrg {
        id: Id,
        name: String,
    },
    /// `previous_name` is the name index entry to drop on a rename.
    PutUser {
        user: User,
        previous_name: Option<String>,
    },
    /// Also removes every mapping of the user, its role assignments and its
    /// default dashboard.
    DeleteUser {
        id: Id,
        name: String,
    },
    PutAuthorization(Authorization),
    DeleteAuthorization {
        id: Id,
        token_hash: String,
    },
    PutSession(Session),
    DeleteSession(String),
    PutMapping(Mapping),
    DeleteMapping {
        resource: Id,
        user: Id,
    },
    /// `previous_name` is the name index entry to drop on a rename.
    PutLabel {
        label: Label,
        previous_name: Option<String>,
    },
    /// Also takes the label off every resource.
    DeleteLabel {
        id: Id,
        org: Id,
        name: String,
    },
    PutLabelMapping(LabelMapping),
    DeleteLabelMapping {
        resource: Id,
        label: Id,
    },
    /// `previous_name` is the name index entry to drop on a rename.
    PutVariable {
        variable: Variable,
        previous_name: Option<String>,
    },
    /// Also takes every label off the variable.
    DeleteVariable {
        id: Id,
        org: Id,
        name: String,
    },
    /// `previous_name` is the name index entry to drop on a rename.
    PutExternalDashboard {
        dashboard: ExternalDashboard,
        previous_name: Option<String>,
    },
    /// Also takes every label off it.
    DeleteExternalDashboard {
        id: Id,
        org: Id,
        name: String,
    },
    PutBucket(Bucket),
    DeleteBucket(Id),
    /// Also maintains the org's stack index.
    PutStack(Stack),
    DeleteStack {
        id: Id,
        org: Id,
    },
    /// `previous_name` is the name index entry to drop on a rename.
    PutRole {
        role: CustomRole,
        previous_name: Option<String>,
    },
    /// The role only: assignments naming it are the domain's to rewrite.
    DeleteRole {
        id: Id,
        org: Id,
        name: String,
    },
    PutRoleAssignment(RoleAssignment),
    DeleteRoleAssignment {
        org: Id,
        user: Id,
    },
    PutDefaultDashboard(DefaultDashboard),
    /// The default of a user or an org.
    DeleteDefaultDashboard {
        owner: Id,
    },
    PutMeta {
        key: &'static str,
        value: Vec<u8>,
    },
}

impl Change {
    /// Whether the change may alter who someone is or what they may do
    /// (credentials, users, orgs, mappings, roles, buckets, meta): only
    /// those empty the credential cache. Content (dashboards, views,
    /// history, trash, labels, variables, stacks, defaults) never does, so a
    /// busy dashboard does not send every caller back to the store.
    pub fn may_change_rights(&self) -> bool {
        !matches!(
            self,
            Change::PutDashboard(_)
                | Change::PutView { .. }
                | Change::DeleteView { .. }
                | Change::PutVersion { .. }
                | Change::DeleteVersions { .. }
                | Change::PutTrash(_)
                | Change::DeleteTrash { .. }
                | Change::PutLabel { .. }
                | Change::DeleteLabel { .. }
                | Change::PutLabelMapping(_)
                | Change::DeleteLabelMapping { .. }
                | Change::PutVariable { .. }
                | Change::DeleteVariable { .. }
                | Change::PutExternalDashboard { .. }
                | Change::DeleteExternalDashboard { .. }
                | Change::PutStack(_)
                | Change::DeleteStack { .. }
                | Change::PutDefaultDashboard(_)
                | Change::DeleteDefaultDashboard { .. }
        )
    }
}

/// See `Store::dashboard_facts`.
#[derive(Debug, Clone)]
pub struct DashboardFacts {
    pub stamp: DashboardStamp,
    pub labels: Vec<Label>,
    pub user_default: Option<Id>,
    pub org_default: Option<Id>,
}

/// `Store::dashboard_facts` from single reads.
fn dashboard_facts_of(s: &dyn StoreRead, id: Id, user: Id) -> StoreResult<Option<DashboardFacts>> {
    let Some(stamp) = s.dashboard_stamp(id)? else {
        return Ok(None);
    };
    let mut labels = Vec::new();
    for m in s.label_mappings_of_resource(id)? {
        labels.extend(s.label(m.label_id)?);
    }
    Ok(Some(DashboardFacts {
        stamp,
        labels,
        user_default: s.default_dashboard(user)?.map(|d| d.dashboard_id),
        org_default: s.default_dashboard(stamp.org)?.map(|d| d.dashboard_id),
    }))
}

/// What a dashboard GET needs before deciding to decode the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardStamp {
    pub org: Id,
    /// `updatedAt` in nanoseconds: moves with every write to the dashboard
    /// or its views.
    pub updated_nanos: i64,
    pub private: bool,
}

/// Which dashboards a scan walks, in ID order.
#[derive(Debug, Clone, Copy)]
pub struct DashboardScan {
    pub org: Option<Id>,
    pub descending: bool,
    pub offset: usize,
    pub limit: Option<usize>,
}

/// A dashboard as a list needs it before deciding to decode it: its ID,
/// org, version stamp (`updatedAt` in nanoseconds, which every write to the
/// dashboard, its views or its labels moves) and the IDs of the labels on
/// it, in label ID order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardEntry {
    pub id: Id,
    pub org: Id,
    pub version: i64,
    /// Shown only to some (`domain::dashboard::visible`).
    pub private: bool,
    pub labels: Vec<Id>,
}

/// Identifies a committed change for `SledStore::wait_durable`.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(pub(crate) u64);

/// A read-modify-write step: reads what it needs through the handle and
/// returns the changes to apply. It runs once; values it computes are
/// captured by the caller.
pub type WriteStep<'a> = &'a mut dyn FnMut(&dyn StoreRead) -> crate::error::Result<Vec<Change>>;
/// Reads that must see one consistent state.
pub type ReadStep<'a> = &'a mut dyn FnMut(&dyn StoreRead) -> crate::error::Result<()>;

/// Runs when another process changed the store (see `Store::on_foreign_change`).
pub type ChangeHook = Box<dyn Fn() + Send + Sync>;

pub trait Store: StoreRead + Send + Sync + 'static {
    /// Runs `step` with reads no other writer can invalidate before its
    /// changes land, applies the changes atomically (all or none become
    /// visible) and returns once they survive a crash or power loss.
    /// Returns whether anything was written.
    fn write(&self, step: WriteStep<'_>) -> crate::error::Result<bool>;
    /// Runs `step` over one consistent state of the store.
    fn read(&self, step: ReadStep<'_>) -> crate::error::Result<()>;
    /// Whether reads are cheap enough to run on an async worker (in-memory
    /// for sled); otherwise callers move them to the blocking pool.
    fn reads_in_place(&self) -> bool;
    /// Threads each of `workers` HTTP workers' blocking pools needs to keep
    /// this store busy; more would only hold memory (`--blocking-threads`
    /// overrides).
    fn blocking_threads(&self, workers: usize) -> usize;
    /// Whether this process is the store's only writer (sled's directory
    /// lock), so caches of its contents stay right by forgetting what each
    /// of its own writes touched.
    fn sole_writer(&self) -> bool {
        false
    }
    /// What answering a dashboard GET from rendered JSON needs, read as one
    /// consistent state: its stamp, the labels on it (in label ID order), and
    /// the default dashboards of `user` and of the dashboard's org. One
    /// statement on PostgreSQL, where `read`'s transaction alone costs two
    /// round trips.
    fn dashboard_facts(&self, id: Id, user: Id) -> crate::error::Result<Option<DashboardFacts>> {
        let mut out = None;
        self.read(&mut |s| {
            out = dashboard_facts_of(s, id, user)?;
            Ok(())
        })?;
        Ok(out)
    }
    /// Registers what to run when another process changes the store, so
    /// in-memory caches of its contents can be dropped. Embedded stores
    /// have no other writer.
    fn on_foreign_change(&self, _hook: ChangeHook) {}
    /// Gives back what the store holds beyond this process (a node claim).
    fn close(&self) {}
    /// Whether `tessera backup` can take a snapshot through this process;
    /// PostgreSQL has its own tools (`pg_dump`).
    fn backup_supported(&self) -> bool {
        true
    }
    /// Bytes on disk and records per kind, for `/metrics`.
    fn stats(&self) -> StoreResult<StoreStats>;
    /// Whether the store can take a write now (for `/health`): the error
    /// that writes would meet, if any.
    fn check(&self) -> StoreResult<()>;
}

/// What `Store::stats` reports.
#[derive(Debug, Clone, Default)]
pub struct StoreStats {
    pub disk_bytes: u64,
    /// Records per kind, kinds named as in `tessera migrate`'s summary.
    pub records: Vec<(&'static str, u64)>,
}

/// Typed reads. Both the store itself (latest committed state, per call)
/// and the handle a `write`/`read` step gets implement it.
pub trait StoreRead {
    fn dashboard(&self, id: Id) -> StoreResult<Option<Dashboard>>;
    /// A dashboard's org, `updatedAt` and privacy, read without decoding it.
    fn dashboard_stamp(&self, id: Id) -> StoreResult<Option<DashboardStamp>>;
    fn dashboards(&self, scan: DashboardScan) -> StoreResult<Vec<Dashboard>>;
    /// The entries a scan selects, without decoding any dashboard; an org
    /// scan reaches a deep `offset` without walking the entries before it.
    fn dashboard_entries(&self, scan: DashboardScan) -> StoreResult<Vec<DashboardEntry>>;
    fn view(&self, dashboard: Id, cell: Id) -> StoreResult<Option<View>>;
    fn views(&self, dashboard: Id) -> StoreResult<Vec<(Id, View)>>;
    /// `views` as JSON records (`View`'s serde form), for answers that
    /// splice the stored properties instead of decoding them. A store that
    /// keeps the records as such hands them over as they are.
    fn view_records(&self, dashboard: Id) -> StoreResult<Vec<(Id, Vec<u8>)>> {
        self.views(dashboard)?
            .into_iter()
            .map(|(cell, view)| {
                serde_json::to_vec(&view)
                    .map(|json| (cell, json))
                    .map_err(|e| StoreError::Backend(e.to_string()))
            })
            .collect()
    }
    /// A dashboard's versions numbered `from` or above, oldest first.
    fn versions(&self, dashboard: Id, from: u64) -> StoreResult<Vec<Version>>;
    /// A dashboard in the trash.
    fn trashed(&self, id: Id) -> StoreResult<Option<Trashed>>;
    /// Trashed dashboards in ID order, of one org or of all.
    fn trash(&self, org: Option<Id>) -> StoreResult<Vec<Trashed>>;

    fn org(&self, id: Id) -> StoreResult<Option<Org>>;
    fn org_by_name(&self, name: &str) -> StoreResult<Option<Org>>;
    fn orgs(&self) -> StoreResult<Vec<Org>>;

    fn user(&self, id: Id) -> StoreResult<Option<User>>;
    fn user_by_name(&self, name: &str) -> StoreResult<Option<User>>;
    fn users(&self) -> StoreResult<Vec<User>>;

    fn authorization(&self, id: Id) -> StoreResult<Option<Authorization>>;
    fn authorization_by_token_hash(&self, hash: &str) -> StoreResult<Option<Authorization>>;
    fn authorizations(&self) -> StoreResult<Vec<Authorization>>;

    fn session(&self, id: &str) -> StoreResult<Option<Session>>;
    fn sessions(&self) -> StoreResult<Vec<Session>>;

    /// Owner/member mappings on a resource (org or dashboard).
    fn mappings_of_resource(&self, resource: Id) -> StoreResult<Vec<Mapping>>;
    /// Owner/member mappings of a user.
    fn mappings_of_user(&self, user: Id) -> StoreResult<Vec<Mapping>>;

    fn label(&self, id: Id) -> StoreResult<Option<Label>>;
    /// The label of an org with this name, compared without case.
    fn label_by_name(&self, org: Id, name: &str) -> StoreResult<Option<Label>>;
    /// Labels in ID order, of one org or of all.
    fn labels(&self, org: Option<Id>) -> StoreResult<Vec<Label>>;
    /// The label mappings on a resource, in label ID order (one prefix scan).
    fn label_mappings_of_resource(&self, resource: Id) -> StoreResult<Vec<LabelMapping>>;
    fn label_mapping(&self, resource: Id, label: Id) -> StoreResult<Option<LabelMapping>>;

    fn variable(&self, id: Id) -> StoreResult<Option<Variable>>;
    /// The variable of an org with this name, compared without case.
    fn variable_by_name(&self, org: Id, name: &str) -> StoreResult<Option<Variable>>;
    /// Variables in ID order, of one org or of all.
    fn variables(&self, org: Option<Id>) -> StoreResult<Vec<Variable>>;

    fn external_dashboard(&self, id: Id) -> StoreResult<Option<ExternalDashboard>>;
    /// The external dashboard of an org with this name, compared without case.
    fn external_dashboard_by_name(
        &self,
        org: Id,
        name: &str,
    ) -> StoreResult<Option<ExternalDashboard>>;
    /// External dashboards in ID order, of one org or of all.
    fn external_dashboards(&self, org: Option<Id>) -> StoreResult<Vec<ExternalDashboard>>;

    fn bucket(&self, id: Id) -> StoreResult<Option<Bucket>>;
    fn buckets(&self) -> StoreResult<Vec<Bucket>>;

    fn stack(&self, id: Id) -> StoreResult<Option<Stack>>;
    /// An org's stacks in ID order.
    fn stacks(&self, org: Id) -> StoreResult<Vec<Stack>>;

    fn role(&self, id: Id) -> StoreResult<Option<CustomRole>>;
    /// The custom role of an org with this name, compared without case.
    fn role_by_name(&self, org: Id, name: &str) -> StoreResult<Option<CustomRole>>;
    /// Custom roles in ID order, of one org or of all.
    fn roles(&self, org: Option<Id>) -> StoreResult<Vec<CustomRole>>;
    /// A user's role assignments, one per org, in org ID order.
    fn role_assignments_of_user(&self, user: Id) -> StoreResult<Vec<RoleAssignment>>;
    /// An org's role assignments, in user ID order.
    fn role_assignments_of_org(&self, org: Id) -> StoreResult<Vec<RoleAssignment>>;

    /// The default dashboard of a user or an org.
    fn default_dashboard(&self, owner: Id) -> StoreResult<Option<DefaultDashboard>>;
    /// Every default, in owner ID order.
    fn default_dashboards(&self) -> StoreResult<Vec<DefaultDashboard>>;

    fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;

    /// A fresh platform ID, unique across every instance on the store; the
    /// store persists the high-water mark with the next write.
    fn new_id(&self) -> Id;
}
