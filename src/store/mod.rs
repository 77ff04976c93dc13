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

use crate::domain::authorization::Authorization;
use crate::domain::bucket::Bucket;
use crate::domain::dashboard::Dashboard;
use crate::domain::label::{Label, LabelMapping};
use crate::domain::member::Mapping;
use crate::domain::org::Org;
use crate::domain::stack::Stack;
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
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One key-level change. Index entries are the store's business: putting a
/// dashboard also maintains its org index entry.
#[derive(Debug, Clone)]
pub enum Change {
    PutDashboard(Dashboard),
    /// Removes the dashboard, its org index entry, every view under it, its
    /// owner/member mappings and its label mappings.
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
    /// Also removes every owner/member mapping on the org.
    DeleteOrg {
        id: Id,
        name: String,
    },
    /// `previous_name` is the name index entry to drop on a rename.
    PutUser {
        user: User,
        previous_name: Option<String>,
    },
    /// Also removes every mapping of the user.
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
    PutBucket(Bucket),
    DeleteBucket(Id),
    /// Also maintains the org's stack index.
    PutStack(Stack),
    DeleteStack {
        id: Id,
        org: Id,
    },
    PutMeta {
        key: &'static str,
        value: Vec<u8>,
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
    /// A dashboard's org and `updatedAt` (nanoseconds), which changes with
    /// every write to the dashboard or its views; read without decoding it.
    fn dashboard_stamp(&self, id: Id) -> StoreResult<Option<(Id, i64)>>;
    fn dashboards(&self, scan: DashboardScan) -> StoreResult<Vec<Dashboard>>;
    fn view(&self, dashboard: Id, cell: Id) -> StoreResult<Option<View>>;
    fn views(&self, dashboard: Id) -> StoreResult<Vec<(Id, View)>>;

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

    fn bucket(&self, id: Id) -> StoreResult<Option<Bucket>>;
    fn buckets(&self) -> StoreResult<Vec<Bucket>>;

    fn stack(&self, id: Id) -> StoreResult<Option<Stack>>;
    /// An org's stacks in ID order.
    fn stacks(&self, org: Id) -> StoreResult<Vec<Stack>>;

    fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;

    /// A fresh platform ID; the store persists the high-water mark with the
    /// next `apply`.
    fn new_id(&self) -> Id;

    /// Applies all changes atomically (all or none become visible).
    fn apply(&self, changes: Vec<Change>) -> StoreResult<Ticket>;
    /// Blocks until the change behind `ticket` survives a crash or power loss.
    fn wait_durable(&self, ticket: Ticket) -> StoreResult<()>;
}
