//! Where the bytes live. The `Store` trait is the seam between the domain and
//! a backend; `SledStore` is the one backend today.
//!
//! Writes go through `apply`, which makes a list of `Change`s atomically
//! visible and returns a ticket; `wait_durable` returns once that change is on
//! stable storage. Splitting the two lets a caller release its write lock
//! before waiting, so concurrent writers share one disk sync (group commit).

mod durability;
mod keys;
mod sled_store;

pub use sled_store::{OpenError, SledStore};

use crate::domain::dashboard::Dashboard;
use crate::domain::org::Org;
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
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One key-level change. Index entries are the store's business: putting a
/// dashboard also maintains its org index entry.
#[derive(Debug, Clone)]
pub enum Change {
    PutDashboard(Dashboard),
    /// Removes the dashboard, its org index entry and every view under it.
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
    PutOrg(Org),
    /// `previous_name` is the name index entry to drop (on rename or delete).
    RenameOrg {
        org: Org,
        previous_name: String,
    },
    DeleteOrg {
        id: Id,
        name: String,
    },
}

/// Which dashboards a scan walks, in ID order.
#[derive(Debug, Clone, Copy)]
pub struct DashboardScan {
    pub org: Option<Id>,
    pub descending: bool,
    pub offset: usize,
    pub limit: Option<usize>,
}

/// Identifies a committed change for `wait_durable`.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(pub(crate) u64);

pub trait Store: Send + Sync + 'static {
    fn dashboard(&self, id: Id) -> StoreResult<Option<Dashboard>>;
    fn dashboards(&self, scan: DashboardScan) -> StoreResult<Vec<Dashboard>>;
    fn view(&self, dashboard: Id, cell: Id) -> StoreResult<Option<View>>;
    fn views(&self, dashboard: Id) -> StoreResult<Vec<(Id, View)>>;

    fn org(&self, id: Id) -> StoreResult<Option<Org>>;
    fn org_by_name(&self, name: &str) -> StoreResult<Option<Org>>;
    fn orgs(&self) -> StoreResult<Vec<Org>>;

    /// A fresh platform ID; the store persists the high-water mark with the
    /// next `apply`.
    fn new_id(&self) -> Id;

    /// Applies all changes atomically (all or none become visible).
    fn apply(&self, changes: Vec<Change>) -> StoreResult<Ticket>;
    /// Blocks until the change behind `ticket` survives a crash or power loss.
    fn wait_durable(&self, ticket: Ticket) -> StoreResult<()>;
}
