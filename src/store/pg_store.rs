//! The PostgreSQL implementation of `Store`, for several Tessera instances on
//! one database. Tables per kind (`migrations/postgres/`), each record stored
//! as the same JSON bytes sled keeps, with columns for lookups, ordering and
//! constraints.
//!
//! - Writers serialise on one transaction-scoped advisory lock, taken before
//!   the step reads anything, so a read-modify-write sees every write that
//!   committed before it and none can slip in before it commits (READ
//!   COMMITTED is enough once writers are serialised; every write waits for
//!   its commit anyway). UNIQUE constraints back the name rules.
//! - `read` runs in one READ ONLY REPEATABLE READ transaction; single reads
//!   run on a pooled connection without a transaction.
//! - Every write bumps `tessera_state.generation` and sends a NOTIFY; a
//!   watcher thread per instance hears it (or sees the generation move on
//!   its 500 ms poll) and drops in-memory caches of credentials.
//! - The ID generator's node number is claimed in `tessera_nodes` at start,
//!   renewed by the watcher and released by `close`.

use super::{
    Change, ChangeHook, DashboardEntry, DashboardFacts, DashboardScan, DashboardStamp, ReadStep,
    Store, StoreError, StoreRead, StoreResult, WriteStep,
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
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, IsolationLevel, NoTls, Row, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Schema migrations, applied in order in one transaction at start.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_stacks.sql")),
    (
        3,
        include_str!("../../migrations/postgres/0003_history.sql"),
    ),
    (4, include_str!("../../migrations/postgres/0004_trash.sql")),
    (5, include_str!("../../migrations/postgres/0005_roles.sql")),
    (
        6,
        include_str!("../../migrations/postgres/0006_external_dashboards.sql"),
    ),
];

/// Advisory lock keys ("tess" and a number).
const WRITE_LOCK: i64 = 0x7465_7373_0001;
const MIGRATE_LOCK: i64 = 0x7465_7373_0002;
const NODE_LOCK: i64 = 0x7465_7373_0003;

const CHANGE_CHANNEL: &str = "tessera_change";
/// How often the watcher checks the generation when no NOTIFY came: the
/// bound on how long another instance may act on a revoked credential is
/// this plus one query (stated as 1 s in the README, tested in
/// tests/multi_instance.rs).
const POLL: Duration = Duration::from_millis(500);
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A node claim not renewed for this long is abandoned and may be taken.
const LEASE_SECS: i64 = 30;
/// How long a request waits for a pooled connection (or for PostgreSQL to
/// come back) before it answers 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);
const POOL_SIZE: u32 = 32;

#[derive(Debug, thiserror::Error)]
pub enum PgOpenError {
    #[error("invalid store URL {0}: {1}")]
    Url(String, String),
    #[error("cannot connect to PostgreSQL at {0}: {1}")]
    Connect(String, String),
    #[error("the database at {0} has schema version {1}, newer than this build understands ({2}); run a newer Tessera")]
    NewerSchema(String, i32, i32),
    #[error("cannot prepare the database at {0}: {1}")]
    Prepare(String, String),
    #[error("all 64 node numbers of the database at {0} are held by running instances; stop one, or wait {LEASE_SECS} s for an abandoned claim to expire")]
    NoNode(String),
}

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// What the watcher thread shares with the store.
#[derive(Default)]
struct Shared {
    hooks: Mutex<Vec<ChangeHook>>,
    stop: AtomicBool,
}

impl Shared {
    fn fire(&self) {
        for hook in self.hooks.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            hook();
        }
    }
}

pub struct PgStore {
    pool: Pool,
    ids: IdGenerator,
    node: i16,
    /// This process's claim on `node`.
    holder: String,
    shared: Arc<Shared>,
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(connection string)".into();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

fn pg_error(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code == "23505" {
            return StoreError::Conflict(db.message().to_string());
        }
        // Connection exceptions, shutdowns, resource shortages and
        // serialisation failures may pass when retried.
        if code.starts_with("08")
            || code.starts_with("57P")
            || code.starts_with("53")
            || code == "40001"
            || code == "40P01"
        {
            return StoreError::Unavailable(e.to_string());
        }
        return StoreError::Backend(e.to_string());
    }
    // No answer from the server: the connection failed or closed.
    StoreError::Unavailable(e.to_string())
}

fn decode<T: DeserializeOwned>(what: &str, row: &Row, col: usize) -> StoreResult<T> {
    let bytes: &[u8] = row.try_get(col).map_err(|e| StoreError::Corrupt {
        key: what.into(),
        detail: e.to_string(),
    })?;
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: what.into(),
        detail: e.to_string(),
    })
}

fn id_col(what: &str, row: &Row, col: usize) -> StoreResult<Id> {
    let bytes: &[u8] = row.try_get(col).map_err(|e| StoreError::Corrupt {
        key: what.into(),
        detail: e.to_string(),
    })?;
    Id::from_bytes(bytes).ok_or_else(|| StoreError::Corrupt {
        key: what.into(),
        detail: "not an 8-byte ID".into(),
    })
}

fn encode<T: serde::Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::Backend(e.to_string()))
}

/// The key bytes of an ID, as stored.
/// Version numbers as a bigint column (numbers past `i64::MAX` mean "all").
fn version_col(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn k(id: Id) -> Vec<u8> {
    id.to_bytes().to_vec()
}

type Params<'a> = [(&'a (dyn ToSql + Sync), Type)];

/// A connection or a transaction: statements are sent with their parameter
/// types, so each is one round trip (no prepare).
trait Conn {
    fn rows(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, postgres::Error>;
}

impl Conn for Client {
    fn rows(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        self.query_typed(sql, params)
    }
}

impl Conn for Transaction<'_> {
    fn rows(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        self.query_typed(sql, params)
    }
}

/// Typed reads over one connection or transaction.
struct Reader<'a> {
    conn: RefCell<&'a mut dyn Conn>,
    ids: &'a IdGenerator,
}

impl<'a> Reader<'a> {
    fn new(conn: &'a mut dyn Conn, ids: &'a IdGenerator) -> Self {
        Reader {
            conn: RefCell::new(conn),
            ids,
        }
    }

    fn rows(&self, sql: &str, params: &Params<'_>) -> StoreResult<Vec<Row>> {
        self.conn.borrow_mut().rows(sql, params).map_err(pg_error)
    }

    fn one<T: DeserializeOwned>(
        &self,
        what: &str,
        sql: &str,
        params: &Params<'_>,
    ) -> StoreResult<Option<T>> {
        match self.rows(sql, params)?.first() {
            Some(row) => decode(what, row, 0).map(Some),
            None => Ok(None),
        }
    }

    fn all<T: DeserializeOwned>(
        &self,
        what: &str,
        sql: &str,
        params: &Params<'_>,
    ) -> StoreResult<Vec<T>> {
        self.rows(sql, params)?
            .iter()
            .map(|row| decode(what, row, 0))
            .collect()
    }

    fn by_id<T: DeserializeOwned>(&self, table: &str, id: Id) -> StoreResult<Option<T>> {
        self.one(
            table,
            &format!("SELECT body FROM {table} WHERE id = $1"),
            &[(&k(id), Type::BYTEA)],
        )
    }

    fn of_org<T: DeserializeOwned>(&self, table: &str, org: Option<Id>) -> StoreResult<Vec<T>> {
        match org {
            Some(org) => self.all(
                table,
                &format!("SELECT body FROM {table} WHERE org_id = $1 ORDER BY id"),
                &[(&k(org), Type::BYTEA)],
            ),
            None => self.all(table, &format!("SELECT body FROM {table} ORDER BY id"), &[]),
        }
    }

    fn by_org_name<T: DeserializeOwned>(
        &self,
        table: &str,
        org: Id,
        name: &str,
    ) -> StoreResult<Option<T>> {
        self.one(
            table,
            &format!("SELECT body FROM {table} WHERE org_id = $1 AND name_key = $2"),
            &[(&k(org), Type::BYTEA), (&name.to_lowercase(), Type::TEXT)],
        )
    }
}

impl StoreRead for Reader<'_> {
    fn dashboard(&self, id: Id) -> StoreResult<Option<Dashboard>> {
        self.by_id("dashboards", id)
    }

    fn dashboard_stamp(&self, id: Id) -> StoreResult<Option<DashboardStamp>> {
        let rows = self.rows(
            "SELECT org_id, updated_nanos, private FROM dashboards WHERE id = $1",
            &[(&k(id), Type::BYTEA)],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let org = id_col("dashboards.org_id", row, 0)?;
        let updated_nanos: i64 = row.try_get(1).map_err(pg_error)?;
        let private: bool = row.try_get(2).map_err(pg_error)?;
        Ok(Some(DashboardStamp {
            org,
            updated_nanos,
            private,
        }))
    }

    fn dashboards(&self, scan: DashboardScan) -> StoreResult<Vec<Dashboard>> {
        let order = if scan.descending { "DESC" } else { "ASC" };
        let limit = scan
            .limit
            .map(|l| format!(" LIMIT {l}"))
            .unwrap_or_default();
        let offset = scan.offset;
        match scan.org {
            Some(org) => self.all(
                "dashboards",
                &format!("SELECT body FROM dashboards WHERE org_id = $1 ORDER BY id {order} OFFSET {offset}{limit}"),
                &[(&k(org), Type::BYTEA)],
            ),
            None => self.all(
                "dashboards",
                &format!("SELECT body FROM dashboards ORDER BY id {order} OFFSET {offset}{limit}"),
                &[],
            ),
        }
    }

    fn dashboard_entries(&self, scan: DashboardScan) -> StoreResult<Vec<DashboardEntry>> {
        let order = if scan.descending { "DESC" } else { "ASC" };
        let limit = scan
            .limit
            .map(|l| format!(" LIMIT {l}"))
            .unwrap_or_default();
        let offset = scan.offset;
        let org_key = scan.org.map(k);
        let (filter, params): (&str, Vec<(&(dyn ToSql + Sync), Type)>) = match &org_key {
            Some(org) => (
                "WHERE org_id = $1",
                vec![(org as &(dyn ToSql + Sync), Type::BYTEA)],
            ),
            None => ("", Vec::new()),
        };
        // The page first (an index-only walk of `dashboards_by_org`), then
        // the labels of what it kept: none are read for skipped rows.
        let rows = self.rows(
            &format!(
                "SELECT p.id, p.org_id, p.updated_nanos, p.private,
                   ARRAY(SELECT m.label_id FROM label_mappings m
                         WHERE m.resource_id = p.id ORDER BY m.label_id)
                 FROM (SELECT id, org_id, updated_nanos, private FROM dashboards {filter}
                       ORDER BY id {order} OFFSET {offset}{limit}) p
                 ORDER BY p.id {order}"
            ),
            &params,
        )?;
        rows.iter()
            .map(|row| {
                let labels: Vec<Vec<u8>> = row.try_get(4).map_err(pg_error)?;
                Ok(DashboardEntry {
                    id: id_col("dashboards.id", row, 0)?,
                    org: id_col("dashboards.org_id", row, 1)?,
                    version: row.try_get(2).map_err(pg_error)?,
                    private: row.try_get(3).map_err(pg_error)?,
                    labels: labels.iter().filter_map(|l| Id::from_bytes(l)).collect(),
                })
            })
            .collect()
    }

    fn view(&self, dashboard: Id, cell: Id) -> StoreResult<Option<View>> {
        self.one(
            "views",
            "SELECT body FROM views WHERE dashboard_id = $1 AND cell_id = $2",
            &[(&k(dashboard), Type::BYTEA), (&k(cell), Type::BYTEA)],
        )
    }

    fn views(&self, dashboard: Id) -> StoreResult<Vec<(Id, View)>> {
        self.rows(
            "SELECT cell_id, body FROM views WHERE dashboard_id = $1 ORDER BY cell_id",
            &[(&k(dashboard), Type::BYTEA)],
        )?
        .iter()
        .map(|row| Ok((id_col("views", row, 0)?, decode("views", row, 1)?)))
        .collect()
    }

    fn versions(&self, dashboard: Id, from: u64) -> StoreResult<Vec<Version>> {
        self.all(
            "dashboard_versions",
            "SELECT body FROM dashboard_versions WHERE dashboard_id = $1 AND version >= $2
             ORDER BY version",
            &[
                (&k(dashboard), Type::BYTEA),
                (&version_col(from), Type::INT8),
            ],
        )
    }

    fn trashed(&self, id: Id) -> StoreResult<Option<Trashed>> {
        self.by_id("dashboard_trash", id)
    }

    fn trash(&self, org: Option<Id>) -> StoreResult<Vec<Trashed>> {
        self.of_org("dashboard_trash", org)
    }

    fn org(&self, id: Id) -> StoreResult<Option<Org>> {
        self.by_id("orgs", id)
    }

    fn org_by_name(&self, name: &str) -> StoreResult<Option<Org>> {
        self.one(
            "orgs",
            "SELECT body FROM orgs WHERE name = $1",
            &[(&name, Type::TEXT)],
        )
    }

    fn orgs(&self) -> StoreResult<Vec<Org>> {
        self.all("orgs", "SELECT body FROM orgs ORDER BY id", &[])
    }

    fn user(&self, id: Id) -> StoreResult<Option<User>> {
        self.by_id("users", id)
    }

    fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        self.one(
            "users",
            "SELECT body FROM users WHERE name = $1",
            &[(&name, Type::TEXT)],
        )
    }

    fn users(&self) -> StoreResult<Vec<User>> {
        self.all("users", "SELECT body FROM users ORDER BY id", &[])
    }

    fn authorization(&self, id: Id) -> StoreResult<Option<Authorization>> {
        self.by_id("authorizations", id)
    }

    fn authorization_by_token_hash(&self, hash: &str) -> StoreResult<Option<Authorization>> {
        self.one(
            "authorizations",
            "SELECT body FROM authorizations WHERE token_hash = $1",
            &[(&hash, Type::TEXT)],
        )
    }

    fn authorizations(&self) -> StoreResult<Vec<Authorization>> {
        self.all(
            "authorizations",
            "SELECT body FROM authorizations ORDER BY id",
            &[],
        )
    }

    fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        self.one(
            "sessions",
            "SELECT body FROM sessions WHERE id = $1",
            &[(&id, Type::TEXT)],
        )
    }

    fn sessions(&self) -> StoreResult<Vec<Session>> {
        self.all("sessions", "SELECT body FROM sessions ORDER BY id", &[])
    }

    fn mappings_of_resource(&self, resource: Id) -> StoreResult<Vec<Mapping>> {
        self.all(
            "mappings",
            "SELECT body FROM mappings WHERE resource_id = $1 ORDER BY user_id",
            &[(&k(resource), Type::BYTEA)],
        )
    }

    fn mappings_of_user(&self, user: Id) -> StoreResult<Vec<Mapping>> {
        self.all(
            "mappings",
            "SELECT body FROM mappings WHERE user_id = $1 ORDER BY resource_id",
            &[(&k(user), Type::BYTEA)],
        )
    }

    fn label(&self, id: Id) -> StoreResult<Option<Label>> {
        self.by_id("labels", id)
    }

    fn label_by_name(&self, org: Id, name: &str) -> StoreResult<Option<Label>> {
        self.by_org_name("labels", org, name)
    }

    fn labels(&self, org: Option<Id>) -> StoreResult<Vec<Label>> {
        self.of_org("labels", org)
    }

    fn label_mappings_of_resource(&self, resource: Id) -> StoreResult<Vec<LabelMapping>> {
        self.all(
            "label_mappings",
            "SELECT body FROM label_mappings WHERE resource_id = $1 ORDER BY label_id",
            &[(&k(resource), Type::BYTEA)],
        )
    }

    fn label_mapping(&self, resource: Id, label: Id) -> StoreResult<Option<LabelMapping>> {
        self.one(
            "label_mappings",
            "SELECT body FROM label_mappings WHERE resource_id = $1 AND label_id = $2",
            &[(&k(resource), Type::BYTEA), (&k(label), Type::BYTEA)],
        )
    }

    fn variable(&self, id: Id) -> StoreResult<Option<Variable>> {
        self.by_id("variables", id)
    }

    fn variable_by_name(&self, org: Id, name: &str) -> StoreResult<Option<Variable>> {
        self.by_org_name("variables", org, name)
    }

    fn variables(&self, org: Option<Id>) -> StoreResult<Vec<Variable>> {
        self.of_org("variables", org)
    }

    fn external_dashboard(&self, id: Id) -> StoreResult<Option<ExternalDashboard>> {
        self.by_id("external_dashboards", id)
    }

    fn external_dashboard_by_name(
        &self,
        org: Id,
        name: &str,
    ) -> StoreResult<Option<ExternalDashboard>> {
        self.by_org_name("external_dashboards", org, name)
    }

    fn external_dashboards(&self, org: Option<Id>) -> StoreResult<Vec<ExternalDashboard>> {
        self.of_org("external_dashboards", org)
    }

    fn bucket(&self, id: Id) -> StoreResult<Option<Bucket>> {
        self.by_id("buckets", id)
    }

    fn buckets(&self) -> StoreResult<Vec<Bucket>> {
        self.all("buckets", "SELECT body FROM buckets ORDER BY id", &[])
    }

    fn stack(&self, id: Id) -> StoreResult<Option<Stack>> {
        self.by_id("stacks", id)
    }

    fn stacks(&self, org: Id) -> StoreResult<Vec<Stack>> {
        self.of_org("stacks", Some(org))
    }

    fn role(&self, id: Id) -> StoreResult<Option<CustomRole>> {
        self.by_id("roles", id)
    }

    fn role_by_name(&self, org: Id, name: &str) -> StoreResult<Option<CustomRole>> {
        self.by_org_name("roles", org, name)
    }

    fn roles(&self, org: Option<Id>) -> StoreResult<Vec<CustomRole>> {
        self.of_org("roles", org)
    }

    fn role_assignments_of_user(&self, user: Id) -> StoreResult<Vec<RoleAssignment>> {
        self.all(
            "role_assignments",
            "SELECT body FROM role_assignments WHERE user_id = $1 ORDER BY org_id",
            &[(&k(user), Type::BYTEA)],
        )
    }

    fn role_assignments_of_org(&self, org: Id) -> StoreResult<Vec<RoleAssignment>> {
        self.all(
            "role_assignments",
            "SELECT body FROM role_assignments WHERE org_id = $1 ORDER BY user_id",
            &[(&k(org), Type::BYTEA)],
        )
    }

    fn default_dashboard(&self, owner: Id) -> StoreResult<Option<DefaultDashboard>> {
        self.one(
            "default_dashboards",
            "SELECT body FROM default_dashboards WHERE owner_id = $1",
            &[(&k(owner), Type::BYTEA)],
        )
    }

    fn default_dashboards(&self) -> StoreResult<Vec<DefaultDashboard>> {
        self.all(
            "default_dashboards",
            "SELECT body FROM default_dashboards ORDER BY owner_id",
            &[],
        )
    }

    fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let rows = self.rows(
            "SELECT value FROM tessera_meta WHERE key = $1",
            &[(&key, Type::TEXT)],
        )?;
        match rows.first() {
            Some(row) => Ok(Some(row.try_get(0).map_err(pg_error)?)),
            None => Ok(None),
        }
    }

    fn new_id(&self) -> Id {
        self.ids.next()
    }
}

/// Applies one change inside the write transaction.
fn apply(tx: &mut Transaction<'_>, change: Change) -> StoreResult<()> {
    let mut run = |sql: &str, params: &Params<'_>| -> StoreResult<()> {
        tx.query_typed(sql, params).map(|_| ()).map_err(pg_error)
    };
    const B: Type = Type::BYTEA;
    const T: Type = Type::TEXT;
    match change {
        Change::PutDashboard(d) => run(
            "INSERT INTO dashboards (id, org_id, updated_nanos, private, body)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id,
               updated_nanos = EXCLUDED.updated_nanos, private = EXCLUDED.private,
               body = EXCLUDED.body",
            &[
                (&k(d.id), B),
                (&k(d.org_id), B),
                (&d.updated_at.nanos(), Type::INT8),
                (&d.private, Type::BOOL),
                (&encode(&d)?, B),
            ],
        ),
        Change::DeleteDashboard { id, .. } => {
            let id = k(id);
            run("DELETE FROM views WHERE dashboard_id = $1", &[(&id, B)])?;
            run("DELETE FROM mappings WHERE resource_id = $1", &[(&id, B)])?;
            run(
                "DELETE FROM label_mappings WHERE resource_id = $1",
                &[(&id, B)],
            )?;
            run(
                "DELETE FROM dashboard_versions WHERE dashboard_id = $1",
                &[(&id, B)],
            )?;
            run(
                "DELETE FROM default_dashboards WHERE dashboard_id = $1",
                &[(&id, B)],
            )?;
            run("DELETE FROM dashboards WHERE id = $1", &[(&id, B)])
        }
        Change::PutTrash(t) => run(
            "INSERT INTO dashboard_trash (id, org_id, deleted_nanos, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id,
               deleted_nanos = EXCLUDED.deleted_nanos, body = EXCLUDED.body",
            &[
                (&k(t.dashboard.id), B),
                (&k(t.dashboard.org_id), B),
                (&t.deleted_at.nanos(), Type::INT8),
                (&encode(&t)?, B),
            ],
        ),
        Change::DeleteTrash { id, .. } => {
            run("DELETE FROM dashboard_trash WHERE id = $1", &[(&k(id), B)])
        }
        Change::PutVersion {
            dashboard,
            version: v,
        } => run(
            "INSERT INTO dashboard_versions (dashboard_id, version, created_nanos, body)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (dashboard_id, version) DO UPDATE SET body = EXCLUDED.body",
            &[
                (&k(dashboard), B),
                (&version_col(v.version), Type::INT8),
                (&v.created_at.nanos(), Type::INT8),
                (&encode(&v)?, B),
            ],
        ),
        Change::DeleteVersions { dashboard, below } => run(
            "DELETE FROM dashboard_versions WHERE dashboard_id = $1 AND version < $2",
            &[(&k(dashboard), B), (&version_col(below), Type::INT8)],
        ),
        Change::PutView {
            dashboard,
            cell,
            view,
        } => run(
            "INSERT INTO views (dashboard_id, cell_id, body) VALUES ($1, $2, $3)
             ON CONFLICT (dashboard_id, cell_id) DO UPDATE SET body = EXCLUDED.body",
            &[(&k(dashboard), B), (&k(cell), B), (&encode(&view)?, B)],
        ),
        Change::DeleteView { dashboard, cell } => run(
            "DELETE FROM views WHERE dashboard_id = $1 AND cell_id = $2",
            &[(&k(dashboard), B), (&k(cell), B)],
        ),
        Change::PutOrg(org) | Change::RenameOrg { org, .. } => run(
            "INSERT INTO orgs (id, name, body) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, body = EXCLUDED.body",
            &[(&k(org.id), B), (&org.name, T), (&encode(&org)?, B)],
        ),
        Change::DeleteOrg { id, .. } => {
            let id = k(id);
            run("DELETE FROM mappings WHERE resource_id = $1", &[(&id, B)])?;
            run("DELETE FROM roles WHERE org_id = $1", &[(&id, B)])?;
            run(
                "DELETE FROM role_assignments WHERE org_id = $1",
                &[(&id, B)],
            )?;
            run(
                "DELETE FROM default_dashboards WHERE owner_id = $1",
                &[(&id, B)],
            )?;
            run("DELETE FROM orgs WHERE id = $1", &[(&id, B)])
        }
        Change::PutUser { user, .. } => run(
            "INSERT INTO users (id, name, body) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, body = EXCLUDED.body",
            &[(&k(user.id), B), (&user.name, T), (&encode(&user)?, B)],
        ),
        Change::DeleteUser { id, .. } => {
            let id = k(id);
            run("DELETE FROM mappings WHERE user_id = $1", &[(&id, B)])?;
            run(
                "DELETE FROM role_assignments WHERE user_id = $1",
                &[(&id, B)],
            )?;
            run(
                "DELETE FROM default_dashboards WHERE owner_id = $1",
                &[(&id, B)],
            )?;
            run("DELETE FROM users WHERE id = $1", &[(&id, B)])
        }
        Change::PutAuthorization(a) => run(
            "INSERT INTO authorizations (id, token_hash, body) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET token_hash = EXCLUDED.token_hash, body = EXCLUDED.body",
            &[(&k(a.id), B), (&a.token_hash, T), (&encode(&a)?, B)],
        ),
        Change::DeleteAuthorization { id, .. } => {
            run("DELETE FROM authorizations WHERE id = $1", &[(&k(id), B)])
        }
        Change::PutSession(s) => run(
            "INSERT INTO sessions (id, body) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
            &[(&s.id, T), (&encode(&s)?, B)],
        ),
        Change::DeleteSession(id) => run("DELETE FROM sessions WHERE id = $1", &[(&id, T)]),
        Change::PutMapping(m) => run(
            "INSERT INTO mappings (resource_id, user_id, body) VALUES ($1, $2, $3)
             ON CONFLICT (resource_id, user_id) DO UPDATE SET body = EXCLUDED.body",
            &[
                (&k(m.resource_id), B),
                (&k(m.user_id), B),
                (&encode(&m)?, B),
            ],
        ),
        Change::DeleteMapping { resource, user } => run(
            "DELETE FROM mappings WHERE resource_id = $1 AND user_id = $2",
            &[(&k(resource), B), (&k(user), B)],
        ),
        Change::PutLabel { label, .. } => run(
            "INSERT INTO labels (id, org_id, name_key, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id,
               name_key = EXCLUDED.name_key, body = EXCLUDED.body",
            &[
                (&k(label.id), B),
                (&k(label.org_id), B),
                (&label.name.to_lowercase(), T),
                (&encode(&label)?, B),
            ],
        ),
        Change::DeleteLabel { id, .. } => {
            run(
                "DELETE FROM label_mappings WHERE label_id = $1",
                &[(&k(id), B)],
            )?;
            run("DELETE FROM labels WHERE id = $1", &[(&k(id), B)])
        }
        Change::PutLabelMapping(m) => run(
            "INSERT INTO label_mappings (resource_id, label_id, body) VALUES ($1, $2, $3)
             ON CONFLICT (resource_id, label_id) DO UPDATE SET body = EXCLUDED.body",
            &[
                (&k(m.resource_id), B),
                (&k(m.label_id), B),
                (&encode(&m)?, B),
            ],
        ),
        Change::DeleteLabelMapping { resource, label } => run(
            "DELETE FROM label_mappings WHERE resource_id = $1 AND label_id = $2",
            &[(&k(resource), B), (&k(label), B)],
        ),
        Change::PutVariable { variable, .. } => run(
            "INSERT INTO variables (id, org_id, name_key, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id,
               name_key = EXCLUDED.name_key, body = EXCLUDED.body",
            &[
                (&k(variable.id), B),
                (&k(variable.org_id), B),
                (&variable.name.to_lowercase(), T),
                (&encode(&variable)?, B),
            ],
        ),
        Change::DeleteVariable { id, .. } => {
            run(
                "DELETE FROM label_mappings WHERE resource_id = $1",
                &[(&k(id), B)],
            )?;
            run("DELETE FROM variables WHERE id = $1", &[(&k(id), B)])
        }
        Change::PutExternalDashboard { dashboard: d, .. } => run(
            "INSERT INTO external_dashboards (id, org_id, name_key, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id,
               name_key = EXCLUDED.name_key, body = EXCLUDED.body",
            &[
                (&k(d.id), B),
                (&k(d.org_id), B),
                (&d.name.to_lowercase(), T),
                (&encode(&d)?, B),
            ],
        ),
        Change::DeleteExternalDashboard { id, .. } => {
            run(
                "DELETE FROM label_mappings WHERE resource_id = $1",
                &[(&k(id), B)],
            )?;
            run(
                "DELETE FROM external_dashboards WHERE id = $1",
                &[(&k(id), B)],
            )
        }
        Change::PutBucket(b) => run(
            "INSERT INTO buckets (id, body) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
            &[(&k(b.id), B), (&encode(&b)?, B)],
        ),
        Change::DeleteBucket(id) => run("DELETE FROM buckets WHERE id = $1", &[(&k(id), B)]),
        Change::PutStack(st) => run(
            "INSERT INTO stacks (id, org_id, body) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id, body = EXCLUDED.body",
            &[(&k(st.id), B), (&k(st.org_id), B), (&encode(&st)?, B)],
        ),
        Change::DeleteStack { id, .. } => run("DELETE FROM stacks WHERE id = $1", &[(&k(id), B)]),
        Change::PutRole { role, .. } => run(
            "INSERT INTO roles (id, org_id, name_key, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id,
               name_key = EXCLUDED.name_key, body = EXCLUDED.body",
            &[
                (&k(role.id), B),
                (&k(role.org_id), B),
                (&role.name.to_lowercase(), T),
                (&encode(&role)?, B),
            ],
        ),
        Change::DeleteRole { id, .. } => run("DELETE FROM roles WHERE id = $1", &[(&k(id), B)]),
        Change::PutRoleAssignment(a) => run(
            "INSERT INTO role_assignments (user_id, org_id, body) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, org_id) DO UPDATE SET body = EXCLUDED.body",
            &[(&k(a.user_id), B), (&k(a.org_id), B), (&encode(&a)?, B)],
        ),
        Change::DeleteRoleAssignment { org, user } => run(
            "DELETE FROM role_assignments WHERE user_id = $1 AND org_id = $2",
            &[(&k(user), B), (&k(org), B)],
        ),
        Change::PutDefaultDashboard(d) => run(
            "INSERT INTO default_dashboards (owner_id, dashboard_id, body) VALUES ($1, $2, $3)
             ON CONFLICT (owner_id) DO UPDATE SET dashboard_id = EXCLUDED.dashboard_id,
               body = EXCLUDED.body",
            &[
                (&k(d.owner_id), B),
                (&k(d.dashboard_id), B),
                (&encode(&d)?, B),
            ],
        ),
        Change::DeleteDefaultDashboard { owner } => run(
            "DELETE FROM default_dashboards WHERE owner_id = $1",
            &[(&k(owner), B)],
        ),
        Change::PutMeta { key, value } => run(
            "INSERT INTO tessera_meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[(&key, T), (&value, B)],
        ),
    }
}

/// Parses the URL and fixes the session settings every connection needs.
fn pg_config(url: &str) -> Result<postgres::Config, PgOpenError> {
    let mut config = postgres::Config::from_str(url)
        .map_err(|e| PgOpenError::Url(redact(url), e.to_string()))?;
    // Acknowledged writes are on the server's disk, whatever the server's
    // default says.
    config.options("-c synchronous_commit=on");
    config.application_name("tessera");
    config.connect_timeout(Duration::from_secs(5));
    Ok(config)
}

/// Applies the migrations this build knows that the database lacks, in one
/// transaction; refuses a database migrated by a newer build.
fn migrate_schema(client: &mut Client, shown: &str) -> Result<(), PgOpenError> {
    let prepare = |e: postgres::Error| PgOpenError::Prepare(shown.into(), e.to_string());
    let mut tx = client.transaction().map_err(prepare)?;
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock({MIGRATE_LOCK});
         CREATE TABLE IF NOT EXISTS tessera_schema (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now())"
    ))
    .map_err(prepare)?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM tessera_schema", &[])
        .map_err(prepare)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let current = applied.iter().copied().max().unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > known {
        return Err(PgOpenError::NewerSchema(shown.into(), current, known));
    }
    // Every known migration not applied yet, in order: the numbers may have
    // gaps, and one filled in later is still applied.
    for (version, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
        tx.batch_execute(sql).map_err(prepare)?;
        tx.execute(
            "INSERT INTO tessera_schema (version) VALUES ($1)",
            &[version],
        )
        .map_err(prepare)?;
    }
    tx.commit().map_err(prepare)
}

/// Takes a free node number, or one whose claim expired.
fn claim_node(client: &mut Client, holder: &str, shown: &str) -> Result<(i16, u64), PgOpenError> {
    let prepare = |e: postgres::Error| PgOpenError::Prepare(shown.into(), e.to_string());
    let mut tx = client.transaction().map_err(prepare)?;
    tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({NODE_LOCK})"))
        .map_err(prepare)?;
    let row = tx
        .query_opt(
            "SELECT node, high_water FROM tessera_nodes
             WHERE holder IS NULL OR lease_until < now()
             ORDER BY holder IS NOT NULL, node LIMIT 1",
            &[],
        )
        .map_err(prepare)?
        .ok_or_else(|| PgOpenError::NoNode(shown.into()))?;
    let node: i16 = row.get(0);
    let high_water: i64 = row.get(1);
    tx.execute(
        &format!(
            "UPDATE tessera_nodes SET holder = $1, lease_until = now() + interval '{LEASE_SECS} seconds'
             WHERE node = $2"
        ),
        &[&holder, &node],
    )
    .map_err(prepare)?;
    tx.commit().map_err(prepare)?;
    Ok((node, high_water as u64))
}

impl PgStore {
    /// Connects, migrates the schema, claims a node number and starts the
    /// watcher that renews the claim and hears other instances' writes.
    pub fn open(url: &str) -> Result<PgStore, PgOpenError> {
        let shown = redact(url);
        let config = pg_config(url)?;
        let mut client = config
            .connect(NoTls)
            .map_err(|e| PgOpenError::Connect(shown.clone(), e.to_string()))?;
        migrate_schema(&mut client, &shown)?;
        let holder = ulid::Ulid::new().to_string();
        let (node, high_water) = claim_node(&mut client, &holder, &shown)?;
        drop(client);

        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // A dead connection shows as closed and is dropped on return;
            // testing each checkout would cost a round trip per request.
            .test_on_check_out(false)
            .build_unchecked(PostgresConnectionManager::new(config.clone(), NoTls));
        let shared = Arc::new(Shared::default());
        {
            let shared = shared.clone();
            let holder = holder.clone();
            std::thread::Builder::new()
                .name("tessera-pg-watch".into())
                .spawn(move || watch(config, &shared, node, &holder))
                .map_err(|e| PgOpenError::Prepare(shown.clone(), e.to_string()))?;
        }
        Ok(PgStore {
            pool,
            ids: IdGenerator::new(high_water, node as u8),
            node,
            holder,
            shared,
        })
    }

    /// The node number this instance's IDs carry.
    pub fn node(&self) -> i16 {
        self.node
    }

    fn conn(&self) -> StoreResult<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>> {
        self.pool
            .get()
            .map_err(|e| StoreError::Unavailable(format!("no PostgreSQL connection: {e}")))
    }

    /// Whether the database holds no records (for `tessera migrate`).
    pub fn is_empty(&self) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        let row = conn
            .query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM orgs) AND NOT EXISTS (SELECT 1 FROM users)
                 AND NOT EXISTS (SELECT 1 FROM dashboards) AND NOT EXISTS (SELECT 1 FROM authorizations)
                 AND NOT EXISTS (SELECT 1 FROM labels) AND NOT EXISTS (SELECT 1 FROM variables)
                 AND NOT EXISTS (SELECT 1 FROM buckets) AND NOT EXISTS (SELECT 1 FROM sessions)
                 AND NOT EXISTS (SELECT 1 FROM stacks) AND NOT EXISTS (SELECT 1 FROM roles)
                 AND NOT EXISTS (SELECT 1 FROM role_assignments)
                 AND NOT EXISTS (SELECT 1 FROM default_dashboards)
                 AND NOT EXISTS (SELECT 1 FROM external_dashboards)
                 AND NOT EXISTS (SELECT 1 FROM tessera_meta)",
                &[],
            )
            .map_err(pg_error)?;
        Ok(row.get(0))
    }

    /// Makes sure no instance issues an ID up to `id` again (records copied
    /// in). Each node's next ID is above both its own high-water mark and
    /// the clock, so raising every node's mark is safe.
    pub fn raise_high_water(&self, id: u64) -> StoreResult<()> {
        self.ids.observe(id);
        let mut conn = self.conn()?;
        conn.execute(
            "UPDATE tessera_nodes SET high_water = greatest(high_water, $1)",
            &[&(id as i64)],
        )
        .map_err(pg_error)?;
        Ok(())
    }

    /// Empties every record table (for `tessera migrate --force`).
    pub fn clear(&self) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK});
             TRUNCATE orgs, users, dashboards, views, dashboard_versions, dashboard_trash, authorizations, sessions, mappings,
               labels, label_mappings, variables, buckets, stacks, roles, role_assignments,
               default_dashboards, external_dashboards, tessera_meta;
             UPDATE tessera_state SET generation = generation + 1; COMMIT"
        ))
        .map_err(pg_error)
    }
}

/// Hears other instances' writes (NOTIFY, with a poll of the generation as
/// the fallback) and renews this instance's node claim, reconnecting when
/// PostgreSQL goes away.
fn watch(config: postgres::Config, shared: &Shared, node: i16, holder: &str) {
    let mut last_generation: Option<i64> = None;
    while !shared.stop.load(Ordering::Acquire) {
        let mut client = match config.connect(NoTls) {
            Ok(c) => c,
            Err(e) => {
                log::warn!("store watcher cannot reach PostgreSQL: {e}");
                std::thread::sleep(POLL);
                continue;
            }
        };
        if client
            .batch_execute(&format!("LISTEN {CHANGE_CHANNEL}"))
            .is_err()
        {
            continue;
        }
        // Writes may have happened while nobody listened.
        if last_generation.is_some() {
            shared.fire();
        }
        if let Err(e) = listen(&mut client, shared, node, holder, &mut last_generation) {
            log::warn!("store watcher lost its connection: {e}");
            std::thread::sleep(POLL);
        }
    }
}

fn listen(
    client: &mut Client,
    shared: &Shared,
    node: i16,
    holder: &str,
    last_generation: &mut Option<i64>,
) -> Result<(), postgres::Error> {
    let mut next_poll = Instant::now();
    let mut next_heartbeat = Instant::now() + HEARTBEAT;
    loop {
        if shared.stop.load(Ordering::Acquire) {
            return Ok(());
        }
        let wait = next_poll.saturating_duration_since(Instant::now());
        let mut heard = false;
        {
            // Wait for one notification (or the next poll), then take
            // whatever else is pending without waiting.
            let mut notes = client.notifications();
            let first = notes.timeout_iter(wait).next()?;
            if let Some(note) = first {
                heard |= note.payload() != holder;
                let mut pending = notes.iter();
                while let Some(note) = pending.next()? {
                    heard |= note.payload() != holder;
                }
            }
        }
        if heard {
            shared.fire();
        }
        if Instant::now() < next_poll {
            continue;
        }
        next_poll = Instant::now() + POLL;
        let generation: i64 = client
            .query_one("SELECT generation FROM tessera_state", &[])?
            .get(0);
        if last_generation.is_some_and(|g| g != generation) {
            shared.fire();
        }
        *last_generation = Some(generation);
        if Instant::now() >= next_heartbeat {
            next_heartbeat = Instant::now() + HEARTBEAT;
            let renewed = client.execute(
                &format!(
                    "UPDATE tessera_nodes SET lease_until = now() + interval '{LEASE_SECS} seconds'
                     WHERE node = $1 AND holder = $2"
                ),
                &[&node, &holder],
            )?;
            if renewed == 0 {
                // Another instance took this node after the lease ran out
                // (this one was cut off for longer than the lease): issuing
                // more IDs could collide with its.
                log::error!("node {node} was claimed by another instance while this one was cut off from PostgreSQL; stopping");
                std::process::exit(70);
            }
        }
    }
}

/// Single reads on a pooled connection, outside any transaction.
macro_rules! one_shot {
    ($( fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        $(
            fn $name(&self $(, $arg: $ty)*) -> $ret {
                let mut conn = self.conn()?;
                Reader::new(&mut *conn, &self.ids).$name($($arg),*)
            }
        )*
    };
}

impl StoreRead for PgStore {
    one_shot! {
        fn dashboard(&self, id: Id) -> StoreResult<Option<Dashboard>>;
        fn dashboard_stamp(&self, id: Id) -> StoreResult<Option<DashboardStamp>>;
        fn dashboards(&self, scan: DashboardScan) -> StoreResult<Vec<Dashboard>>;
        fn dashboard_entries(&self, scan: DashboardScan) -> StoreResult<Vec<DashboardEntry>>;
        fn view(&self, dashboard: Id, cell: Id) -> StoreResult<Option<View>>;
        fn views(&self, dashboard: Id) -> StoreResult<Vec<(Id, View)>>;
        fn versions(&self, dashboard: Id, from: u64) -> StoreResult<Vec<Version>>;
        fn trashed(&self, id: Id) -> StoreResult<Option<Trashed>>;
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
        fn mappings_of_resource(&self, resource: Id) -> StoreResult<Vec<Mapping>>;
        fn mappings_of_user(&self, user: Id) -> StoreResult<Vec<Mapping>>;
        fn label(&self, id: Id) -> StoreResult<Option<Label>>;
        fn label_by_name(&self, org: Id, name: &str) -> StoreResult<Option<Label>>;
        fn labels(&self, org: Option<Id>) -> StoreResult<Vec<Label>>;
        fn label_mappings_of_resource(&self, resource: Id) -> StoreResult<Vec<LabelMapping>>;
        fn label_mapping(&self, resource: Id, label: Id) -> StoreResult<Option<LabelMapping>>;
        fn variable(&self, id: Id) -> StoreResult<Option<Variable>>;
        fn variable_by_name(&self, org: Id, name: &str) -> StoreResult<Option<Variable>>;
        fn variables(&self, org: Option<Id>) -> StoreResult<Vec<Variable>>;
        fn external_dashboard(&self, id: Id) -> StoreResult<Option<ExternalDashboard>>;
        fn external_dashboard_by_name(&self, org: Id, name: &str) -> StoreResult<Option<ExternalDashboard>>;
        fn external_dashboards(&self, org: Option<Id>) -> StoreResult<Vec<ExternalDashboard>>;
        fn bucket(&self, id: Id) -> StoreResult<Option<Bucket>>;
        fn buckets(&self) -> StoreResult<Vec<Bucket>>;
        fn stack(&self, id: Id) -> StoreResult<Option<Stack>>;
        fn stacks(&self, org: Id) -> StoreResult<Vec<Stack>>;
        fn role(&self, id: Id) -> StoreResult<Option<CustomRole>>;
        fn role_by_name(&self, org: Id, name: &str) -> StoreResult<Option<CustomRole>>;
        fn roles(&self, org: Option<Id>) -> StoreResult<Vec<CustomRole>>;
        fn role_assignments_of_user(&self, user: Id) -> StoreResult<Vec<RoleAssignment>>;
        fn role_assignments_of_org(&self, org: Id) -> StoreResult<Vec<RoleAssignment>>;
        fn default_dashboard(&self, owner: Id) -> StoreResult<Option<DefaultDashboard>>;
        fn default_dashboards(&self) -> StoreResult<Vec<DefaultDashboard>>;
        fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    }

    fn new_id(&self) -> Id {
        self.ids.next()
    }
}

impl Store for PgStore {
    fn write(&self, step: WriteStep<'_>) -> crate::error::Result<bool> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(pg_error)?;
        tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
            .map_err(pg_error)?;
        let changes = step(&Reader::new(&mut tx, &self.ids))?;
        if changes.is_empty() {
            return Ok(false);
        }
        for change in changes {
            apply(&mut tx, change)?;
        }
        // Integers only: safe to format into the statement.
        tx.batch_execute(&format!(
            "UPDATE tessera_state SET generation = generation + 1;
             UPDATE tessera_nodes SET high_water = greatest(high_water, {high_water})
               WHERE node = {node};
             NOTIFY {CHANGE_CHANNEL}, '{holder}'",
            high_water = self.ids.high_water() as i64,
            node = self.node,
            holder = self.holder,
        ))
        .map_err(pg_error)?;
        let committing = std::time::Instant::now();
        tx.commit().map_err(pg_error)?;
        crate::metrics::METRICS.commit(1, committing.elapsed());
        Ok(true)
    }

    fn read(&self, step: ReadStep<'_>) -> crate::error::Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg_error)?;
        step(&Reader::new(&mut tx, &self.ids))?;
        tx.commit().map_err(pg_error)?;
        Ok(())
    }

    fn reads_in_place(&self) -> bool {
        false
    }

    fn blocking_threads(&self, workers: usize) -> usize {
        // Every store call blocks on a pooled connection, and the workers
        // share the pool: more threads in all than connections would only
        // queue for one.
        (POOL_SIZE as usize).div_ceil(workers.max(1))
    }

    fn dashboard_facts(&self, id: Id, user: Id) -> crate::error::Result<Option<DashboardFacts>> {
        // One statement sees one snapshot: no transaction needed.
        let mut conn = self.conn()?;
        let rows = conn
            .query_typed(
                "SELECT d.org_id, d.updated_nanos, d.private,
                    (SELECT dashboard_id FROM default_dashboards WHERE owner_id = $2),
                    (SELECT dashboard_id FROM default_dashboards WHERE owner_id = d.org_id),
                    ARRAY(SELECT l.body FROM label_mappings m JOIN labels l ON l.id = m.label_id
                          WHERE m.resource_id = d.id ORDER BY m.label_id)
                 FROM dashboards d WHERE d.id = $1",
                &[(&k(id), Type::BYTEA), (&k(user), Type::BYTEA)],
            )
            .map_err(pg_error)?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let optional_id = |col: usize| -> StoreResult<Option<Id>> {
            match row.try_get::<_, Option<&[u8]>>(col).map_err(pg_error)? {
                Some(_) => id_col("default_dashboards.dashboard_id", row, col).map(Some),
                None => Ok(None),
            }
        };
        let bodies: Vec<&[u8]> = row.try_get(5).map_err(pg_error)?;
        let labels = bodies
            .into_iter()
            .map(|b| {
                serde_json::from_slice(b).map_err(|e| StoreError::Corrupt {
                    key: "labels".into(),
                    detail: e.to_string(),
                })
            })
            .collect::<StoreResult<Vec<Label>>>()?;
        Ok(Some(DashboardFacts {
            stamp: DashboardStamp {
                org: id_col("dashboards.org_id", row, 0)?,
                updated_nanos: row.try_get(1).map_err(pg_error)?,
                private: row.try_get(2).map_err(pg_error)?,
            },
            labels,
            user_default: optional_id(3)?,
            org_default: optional_id(4)?,
        }))
    }

    fn stats(&self) -> StoreResult<super::StoreStats> {
        const KINDS: [(&str, &str); 17] = [
            ("orgs", "orgs"),
            ("users", "users"),
            ("members", "mappings"),
            ("authorizations", "authorizations"),
            ("sessions", "sessions"),
            ("buckets", "buckets"),
            ("labels", "labels"),
            ("label mappings", "label_mappings"),
            ("variables", "variables"),
            ("dashboards", "dashboards"),
            ("views", "views"),
            ("versions", "dashboard_versions"),
            ("stacks", "stacks"),
            ("external dashboards", "external_dashboards"),
            ("roles", "roles"),
            ("role assignments", "role_assignments"),
            ("default dashboards", "default_dashboards"),
        ];
        let mut conn = self.conn()?;
        // Table names are the constants above: safe to format in.
        let counts = KINDS
            .iter()
            .map(|(_, table)| format!("(SELECT count(*) FROM {table})"))
            .collect::<Vec<_>>()
            .join(", ");
        let row = conn
            .query_one(
                &format!("SELECT pg_database_size(current_database()), {counts}"),
                &[],
            )
            .map_err(pg_error)?;
        let mut records = Vec::with_capacity(KINDS.len());
        for (i, (kind, _)) in KINDS.iter().enumerate() {
            let n: i64 = row.try_get(i + 1).map_err(pg_error)?;
            records.push((*kind, n.max(0) as u64));
        }
        let bytes: i64 = row.try_get(0).map_err(pg_error)?;
        Ok(super::StoreStats {
            disk_bytes: bytes.max(0) as u64,
            records,
        })
    }

    fn backup_supported(&self) -> bool {
        false
    }

    fn check(&self) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.batch_execute("SELECT 1").map_err(pg_error)
    }

    fn on_foreign_change(&self, hook: ChangeHook) {
        self.shared
            .hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(hook);
    }

    fn close(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let released = self.conn().and_then(|mut c| {
            c.execute(
                "UPDATE tessera_nodes SET holder = NULL, lease_until = NULL
                 WHERE node = $1 AND holder = $2",
                &[&self.node, &self.holder],
            )
            .map_err(pg_error)
        });
        if let Err(e) = released {
            log::warn!(
                "could not release node {}: {e} (it is reclaimed after {LEASE_SECS} s)",
                self.node
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://ada:secret@db:5432/tessera"),
            "postgres://ada@db:5432/tessera"
        );
        assert_eq!(redact("postgres://db/tessera"), "postgres://db/tessera");
        assert_eq!(redact("host=db password=x"), "(connection string)");
    }
}
