//! Dashboards and cells: what is stored, what clients may send, and the rules
//! that turn one into the other.

use super::time::Timestamp;
use super::view::{validate_properties, View};
use crate::error::{Error, Result};
use crate::id::Id;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use validator::Validate;

pub const ERR_DASHBOARD_NOT_FOUND: &str = "dashboard not found";
pub const ERR_CELL_NOT_FOUND: &str = "cell not found";
pub const ERR_VIEW_NOT_FOUND: &str = "view not found";

/// Longest dashboard name we accept; InfluxDB sets none, but a bound keeps
/// list pages and indexes sane.
pub const MAX_NAME_LEN: u64 = 1024;
pub const MAX_DESCRIPTION_LEN: u64 = 64 * 1024;

/// A dashboard as stored: its grid, without the views.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dashboard {
    pub id: Id,
    #[serde(rename = "orgID")]
    pub org_id: Id,
    pub name: String,
    pub description: String,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
    pub cells: Vec<Cell>,
    /// The `owner` a client sent on create. InfluxDB keeps it, matches
    /// `?ownerID=` against it and never returns it; it grants nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Id>,
    /// The newest version in its history (0: none recorded yet).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u64,
    #[serde(rename = "createdBy", default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Id>,
    #[serde(rename = "updatedBy", default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<Id>,
    /// Seen only by its owners, members, creator and operators (see
    /// `visible`); kept in the record so lists need no lookup for the
    /// dashboards that are not private.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A dashboard's `ETag`: strong, and it moves with every write to the
/// dashboard, its cells, views or labels (each moves `updatedAt`).
pub fn etag(id: Id, updated_nanos: i64) -> String {
    // `"{id}-{updated_nanos:x}"`, written without `format!`, which was
    // 2.6 % of a GET's CPU.
    let mut tag = String::with_capacity(36);
    tag.push('"');
    tag.extend(id.hex().iter().map(|&b| char::from(b)));
    tag.push('-');
    // `{:x}` of an i64 prints its two's complement, without leading zeros.
    let mut nanos = [0u8; 16];
    crate::id::hex_into(&(updated_nanos as u64).to_be_bytes(), &mut nanos);
    let first = nanos.iter().position(|&b| b != b'0').unwrap_or(15);
    tag.extend(nanos[first..].iter().map(|&b| char::from(b)));
    tag.push('"');
    tag
}

/// The tags of a client's `If-Match`; no header lets any version through.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(pub Option<Vec<String>>);

impl IfMatch {
    /// Refuses a write to a dashboard that changed since the client saw it.
    pub fn check(&self, d: &Dashboard) -> Result<()> {
        let Some(tags) = &self.0 else {
            return Ok(());
        };
        let current = etag(d.id, d.updated_at.nanos());
        if tags.iter().any(|t| t == "*" || *t == current) {
            return Ok(());
        }
        Err(Error::precondition_failed(format!(
            "dashboard {} has changed since you read it: it is now at version {} (ETag {current})",
            d.id, d.version
        )))
    }
}

/// What a write answers and the dashboard's `ETag` after it.
#[derive(Debug)]
pub struct Tagged<T> {
    pub value: T,
    pub etag: String,
}

impl<T> Tagged<T> {
    pub fn of(value: T, d: &Dashboard) -> Self {
        Tagged {
            value,
            etag: etag(d.id, d.updated_at.nanos()),
        }
    }
}

/// Stored as `{"id","x","y","w","h"}` through `CellRecord` (serde's
/// `flatten` is slow to decode, and every read decodes every cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "CellRecord", into = "CellRecord")]
pub struct Cell {
    pub id: Id,
    pub pos: Position,
}

#[derive(Serialize, Deserialize)]
struct CellRecord {
    id: Id,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
}

impl From<CellRecord> for Cell {
    fn from(r: CellRecord) -> Self {
        Cell {
            id: r.id,
            pos: Position {
                x: r.x,
                y: r.y,
                w: r.w,
                h: r.h,
            },
        }
    }
}

impl From<Cell> for CellRecord {
    fn from(c: Cell) -> Self {
        CellRecord {
            id: c.id,
            x: c.pos.x,
            y: c.pos.y,
            w: c.pos.w,
            h: c.pos.h,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Validate)]
pub struct Position {
    #[validate(range(min = 0))]
    pub x: i32,
    #[validate(range(min = 0))]
    pub y: i32,
    #[validate(range(min = 0))]
    pub w: i32,
    #[validate(range(min = 0))]
    pub h: i32,
}

impl Dashboard {
    pub fn cell(&self, id: Id) -> Result<&Cell> {
        self.cells
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Error::not_found(ERR_CELL_NOT_FOUND))
    }

    pub fn cell_mut(&mut self, id: Id) -> Result<&mut Cell> {
        self.cells
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| Error::not_found(ERR_CELL_NOT_FOUND))
    }
}

/// A cell as clients send it in create/patch dashboard bodies: an optional id,
/// its position, and optionally its view's name and properties. Fields the
/// Influx UI adds (`links`, `status`, `i`, `dashboardID`) are ignored.
/// The coordinates are spelled out rather than a flattened `PositionInput`:
/// serde cannot flatten next to a `RawValue`.
#[derive(Debug, Deserialize)]
pub struct CellInput {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default)]
    pub x: Option<i32>,
    #[serde(default)]
    pub y: Option<i32>,
    #[serde(default)]
    pub w: Option<i32>,
    #[serde(default)]
    pub h: Option<i32>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: Option<Box<RawValue>>,
}

impl CellInput {
    pub fn position(&self) -> Result<Position> {
        let given = PositionInput {
            x: self.x,
            y: self.y,
            w: self.w,
            h: self.h,
        };
        given.over(Position::default())
    }

    /// The view this cell brings along, if it names one or carries properties.
    pub fn view(&self) -> Result<Option<View>> {
        let properties = match &self.properties {
            Some(p) if p.get() != "null" => Some(validate_properties(p)?),
            _ => None,
        };
        if self.name.is_none() && properties.is_none() {
            return Ok(None);
        }
        let mut view = View::empty(self.name.clone().unwrap_or_default());
        if let Some(p) = properties {
            view.properties = p;
        }
        Ok(Some(view))
    }
}

pub fn validate_position(pos: &Position) -> Result<()> {
    pos.validate()
        .map_err(|_| Error::invalid("cell x, y, w and h must not be negative"))
}

/// Any of a cell's coordinates, as a body may carry them.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct PositionInput {
    #[serde(default)]
    pub x: Option<i32>,
    #[serde(default)]
    pub y: Option<i32>,
    #[serde(default)]
    pub w: Option<i32>,
    #[serde(default)]
    pub h: Option<i32>,
}

impl PositionInput {
    pub fn is_empty(&self) -> bool {
        [self.x, self.y, self.w, self.h].iter().all(Option::is_none)
    }

    /// `base` with the given coordinates put over it, checked.
    pub fn over(&self, base: Position) -> Result<Position> {
        let pos = Position {
            x: self.x.unwrap_or(base.x),
            y: self.y.unwrap_or(base.y),
            w: self.w.unwrap_or(base.w),
            h: self.h.unwrap_or(base.h),
        };
        validate_position(&pos)?;
        Ok(pos)
    }
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateDashboard {
    #[serde(rename = "orgID", default)]
    pub org_id: Option<Id>,
    #[serde(default)]
    #[validate(length(max = "MAX_NAME_LEN"))]
    pub name: Option<String>,
    #[serde(default)]
    #[validate(length(max = "MAX_DESCRIPTION_LEN"))]
    pub description: Option<String>,
    #[serde(default)]
    pub cells: Option<Vec<CellInput>>,
    #[serde(default)]
    pub owner: Option<Id>,
    #[serde(default)]
    pub private: Option<bool>,
}

impl CreateDashboard {
    pub fn check(&self) -> Result<(Id, String)> {
        let org = self
            .org_id
            .ok_or_else(|| Error::invalid("organization id must be provided"))?;
        let name = self.name.clone().unwrap_or_default();
        if name.trim().is_empty() {
            return Err(Error::invalid("dashboard name is required"));
        }
        self.validate().map_err(|_| too_long())?;
        Ok((org, name))
    }
}

fn too_long() -> Error {
    Error::invalid(format!(
        "dashboard name must be at most {MAX_NAME_LEN} bytes and description at most {MAX_DESCRIPTION_LEN}"
    ))
}

#[derive(Debug, Default, Deserialize, Validate)]
pub struct PatchDashboard {
    #[serde(default)]
    #[validate(length(max = "MAX_NAME_LEN"))]
    pub name: Option<String>,
    #[serde(default)]
    #[validate(length(max = "MAX_DESCRIPTION_LEN"))]
    pub description: Option<String>,
    #[serde(default)]
    pub cells: Option<Vec<CellInput>>,
    #[serde(default)]
    pub private: Option<bool>,
}

impl PatchDashboard {
    pub fn check(&self) -> Result<()> {
        if self.name.is_none()
            && self.description.is_none()
            && self.cells.is_none()
            && self.private.is_none()
        {
            return Err(Error::invalid("must update at least one attribute"));
        }
        if matches!(&self.name, Some(n) if n.trim().is_empty()) {
            return Err(Error::invalid("dashboard name must not be empty"));
        }
        self.validate().map_err(|_| too_long())
    }
}

/// `POST …/cells`.
#[derive(Debug, Deserialize)]
pub struct CreateCell {
    #[serde(flatten)]
    pub pos: PositionInput,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "usingView", default)]
    pub using_view: Option<Id>,
}

impl CreateCell {
    pub fn position(&self) -> Result<Position> {
        if self.name.is_none() && self.using_view.is_none() && self.pos.is_empty() {
            return Err(Error::invalid("req body is empty"));
        }
        self.pos.over(Position::default())
    }
}

/// One cell of a `PUT …/cells` body. The id is required; anything but the
/// position is ignored, as InfluxDB does.
#[derive(Debug, Deserialize)]
pub struct PlacedCell {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(flatten)]
    pub pos: PositionInput,
}

/// `PATCH …/cells/{cellID}`: the coordinates to change.
#[derive(Debug, Deserialize)]
pub struct PatchCell(pub PositionInput);

impl PatchCell {
    pub fn apply(&self, pos: &mut Position) -> Result<()> {
        if self.0.is_empty() {
            return Err(Error::invalid("must update at least one attribute"));
        }
        *pos = self.0.over(*pos)?;
        Ok(())
    }
}

/// `PATCH …/cells/{cellID}/view`. The UI also sends `status` and `id`; ignored.
#[derive(Debug, Deserialize)]
pub struct PatchView {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: Option<Box<RawValue>>,
}

impl PatchView {
    pub fn apply(&self, view: &mut View) -> Result<()> {
        let properties = match &self.properties {
            Some(p) if p.get() != "null" => Some(validate_properties(p)?),
            _ => None,
        };
        if self.name.is_none() && properties.is_none() {
            return Err(Error::invalid(
                "expected at least one attribute to be updated",
            ));
        }
        if let Some(name) = &self.name {
            view.name = name.clone();
        }
        if let Some(p) = properties {
            view.properties = p;
        }
        Ok(())
    }
}

// ---- rules ---------------------------------------------------------------

use super::default_dashboard::DefaultFlags;
use super::history::{grid_summary, Edit};
use super::label::{labels_in, readable, readable_labels, Label};
use super::member::{Mapping, Role};
use super::org::ERR_ORG_NOT_FOUND;
use super::paging::{FindOptions, SortBy};
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::store::{Change, DashboardEntry, DashboardScan, StoreRead};
use std::collections::{HashMap, HashSet};

/// Which dashboards a list asks for, in InfluxDB's precedence order.
#[derive(Debug, Clone)]
pub enum DashboardFilter {
    Ids(Vec<Id>),
    Owner(Id),
    Org(Id),
    OrgName(String),
    All,
}

/// A dashboard with its labels (those the reader may see) and, when asked
/// for, the views of its cells.
pub struct DashboardWithViews {
    pub dashboard: Dashboard,
    pub views: Option<HashMap<Id, View>>,
    pub labels: Vec<Label>,
    /// Whether it is the reader's default, or its org's.
    pub defaults: DefaultFlags,
}

pub(super) fn load(store: &dyn StoreRead, id: Id) -> Result<Dashboard> {
    store
        .dashboard(id)?
        .ok_or_else(|| Error::not_found(ERR_DASHBOARD_NOT_FOUND))
}

/// Whether the actor may know the dashboard exists at all: the one rule for
/// private dashboards, which every route, list, export and the trash use.
/// A private dashboard shows to its creator, its owners and members, and
/// operators (read on every dashboard); to anyone else it does not exist.
/// `members` (its owner/member mappings) is asked for only when private.
pub fn visible(
    actor: &Actor,
    d: &Dashboard,
    members: impl FnOnce() -> Result<Vec<Mapping>>,
) -> Result<bool> {
    if !d.private || d.created_by == Some(actor.user_id) || actor.reads_all("dashboards") {
        return Ok(true);
    }
    Ok(members()?.iter().any(|m| m.user_id == actor.user_id))
}

/// `visible` for a live dashboard.
pub(crate) fn visible_in(store: &dyn StoreRead, actor: &Actor, d: &Dashboard) -> Result<bool> {
    visible(actor, d, || Ok(store.mappings_of_resource(d.id)?))
}

/// Loads a dashboard the actor may see; an invisible one is not found.
pub(crate) fn load_visible(store: &dyn StoreRead, actor: &Actor, id: Id) -> Result<Dashboard> {
    let d = load(store, id)?;
    if !visible_in(store, actor, &d)? {
        return Err(Error::not_found(ERR_DASHBOARD_NOT_FOUND));
    }
    Ok(d)
}

/// Loads a dashboard the actor may act on: 404 first, then the right.
pub(super) fn load_for(
    store: &dyn StoreRead,
    actor: &Actor,
    id: Id,
    action: Action,
) -> Result<Dashboard> {
    let d = load_visible(store, actor, id)?;
    actor.require(action, "dashboards", Some(d.org_id), Some(d.id))?;
    Ok(d)
}

/// What a caller holds rendered of a dashboard's version.
pub enum Prerendered<R> {
    /// The answer asked for.
    Answer(R),
    /// Only the answer without views, while views were asked for.
    WithoutViews(R),
    Nothing,
}

/// `Service::dashboard_stamp_and_labels`' answer.
pub struct Stamped<R> {
    pub version: i64,
    pub labels: Vec<Label>,
    pub defaults: DefaultFlags,
    pub rendered: Prerendered<R>,
    /// With `Prerendered::WithoutViews`, the views' records.
    pub view_records: Option<ViewRecords>,
}

/// Stored view records by cell (`StoreRead::view_records`).
pub type ViewRecords = Vec<(Id, Vec<u8>)>;

/// A dashboard's stamp once the actor may read it (as `load_for` decides,
/// in the same order); `None` when the store keeps no stamp.
fn readable_stamp(
    store: &dyn StoreRead,
    actor: &Actor,
    id: Id,
) -> Result<Option<crate::store::DashboardStamp>> {
    let Some(stamp) = store.dashboard_stamp(id)? else {
        return Ok(None);
    };
    if stamp.private {
        // Rare: the whole record decides who sees it.
        load_visible(store, actor, id)?;
    }
    actor.require(Action::Read, "dashboards", Some(stamp.org), Some(id))?;
    Ok(Some(stamp))
}

/// Whether lists show this dashboard to the actor. Every list filters
/// through here; `lists_every` is its shortcut for a whole org.
fn listable(actor: &Actor, org: Id, id: Id) -> bool {
    actor.can(Action::Read, "dashboards", Some(org), Some(id))
}

/// `visible` for a listed entry that is private.
fn entry_visible(store: &dyn StoreRead, actor: &Actor, id: Id) -> Result<bool> {
    match store.dashboard(id)? {
        Some(d) => visible_in(store, actor, &d),
        None => Ok(false),
    }
}

/// True when `listable` holds for every dashboard of `org` (`None`: of
/// every org), so a page is cut without looking at each dashboard.
fn lists_every(actor: &Actor, org: Option<Id>) -> bool {
    actor.can(Action::Read, "dashboards", org, None)
}

fn sort_dashboards(ds: &mut [Dashboard], opts: &FindOptions) {
    match opts.sort_by {
        SortBy::Id => ds.sort_by_key(|d| d.id),
        SortBy::CreatedAt => ds.sort_by_key(|d| (d.created_at, d.id)),
        SortBy::UpdatedAt => ds.sort_by_key(|d| (d.updated_at, d.id)),
        SortBy::Name => ds.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
    }
    if opts.descending {
        ds.reverse();
    }
}

/// How a listed dashboard comes back: as the caller's rendered JSON of its
/// version, or decoded.
pub enum ListedBody<R> {
    Rendered(R),
    Decoded(Dashboard),
}

pub struct Listed<R> {
    pub id: Id,
    /// `updatedAt` in nanoseconds: the version its rendered JSON is kept for.
    pub version: i64,
    pub body: ListedBody<R>,
    /// The labels on it the reader may see.
    pub labels: Vec<Label>,
    /// Whether it is the reader's default, or its org's.
    pub defaults: DefaultFlags,
}

/// What a list picked, before its labels are read.
enum Picked {
    /// From the store's entries, in ID order: decoded only if not rendered.
    Entry(DashboardEntry),
    /// Decoded to filter or sort it.
    Decoded(Dashboard),
}

/// The dashboards a list answers, in InfluxDB's order: filtered by
/// `listable`, sorted, then paged (a whole org without `enforce`).
fn pick(
    store: &dyn StoreRead,
    actor: &Actor,
    filter: DashboardFilter,
    opts: &FindOptions,
    enforce: bool,
) -> Result<Vec<Picked>> {
    let decoded = |all: Vec<Dashboard>, paged: bool| -> Result<Vec<Picked>> {
        let mut ds = Vec::with_capacity(all.len());
        for d in all {
            if listable(actor, d.org_id, d.id) && visible_in(store, actor, &d)? {
                ds.push(d);
            }
        }
        sort_dashboards(&mut ds, opts);
        let ds = ds.into_iter();
        let ds: Vec<Dashboard> = if paged {
            ds.skip(opts.offset).take(opts.limit).collect()
        } else {
            ds.collect()
        };
        Ok(ds.into_iter().map(Picked::Decoded).collect::<Vec<_>>())
    };
    let whole = |org: Option<Id>| DashboardScan {
        org,
        descending: opts.descending,
        offset: 0,
        limit: None,
    };
    let org = match filter {
        DashboardFilter::Ids(ids) => {
            let mut seen = HashSet::new();
            let mut found = Vec::new();
            for id in ids.into_iter().filter(|id| seen.insert(*id)) {
                if let Some(d) = store.dashboard(id)? {
                    found.push(d);
                }
            }
            return decoded(found, true);
        }
        DashboardFilter::Owner(user) => {
            // Owner mappings, and the `owner` sent on create (found by a
            // scan, as InfluxDB finds it).
            let mut ids = HashSet::new();
            for m in store.mappings_of_user(user)? {
                if m.resource_type == "dashboards" && m.role == Role::Owner {
                    ids.insert(m.resource_id);
                }
            }
            let mut found = Vec::new();
            for id in &ids {
                found.extend(store.dashboard(*id)?);
            }
            found.extend(
                store
                    .dashboards(whole(None))?
                    .into_iter()
                    .filter(|d| d.owner == Some(user) && !ids.contains(&d.id)),
            );
            return decoded(found, true);
        }
        DashboardFilter::OrgName(name) => Some(
            store
                .org_by_name(&name)?
                .ok_or_else(|| Error::not_found(ERR_ORG_NOT_FOUND))?
                .id,
        ),
        DashboardFilter::Org(id) => Some(id),
        DashboardFilter::All => None,
    };
    // InfluxDB answers a whole org whatever `limit` says, unless asked to
    // enforce it; a list of every org is always paged.
    let paged = org.is_none() || enforce;
    if opts.sort_by != SortBy::Id {
        return decoded(store.dashboards(whole(org))?, paged);
    }
    // In ID order, from the store's entries: nothing is decoded to filter,
    // sort or skip, except a private dashboard for a reader who may not be
    // one of the few who see it.
    let entries = if lists_every(actor, org) && actor.reads_all("dashboards") {
        store.dashboard_entries(DashboardScan {
            org,
            descending: opts.descending,
            offset: if paged { opts.offset } else { 0 },
            limit: paged.then_some(opts.limit),
        })?
    } else {
        let mut visible = Vec::new();
        for e in store.dashboard_entries(whole(org))? {
            if listable(actor, e.org, e.id) && (!e.private || entry_visible(store, actor, e.id)?) {
                visible.push(e);
            }
        }
        let visible = visible.into_iter();
        if paged {
            visible.skip(opts.offset).take(opts.limit).collect()
        } else {
            visible.collect()
        }
    };
    Ok(entries.into_iter().map(Picked::Entry).collect())
}

impl Service {
    /// Creates a dashboard; its creator becomes an owner.
    pub fn create_dashboard(&self, actor: &Actor, req: CreateDashboard) -> Result<Dashboard> {
        let (org_id, name) = req.check()?;
        actor.require(Action::Write, "dashboards", Some(org_id), None)?;
        let mut prepared = Vec::new();
        for c in req.cells.as_deref().unwrap_or_default() {
            prepared.push((c.position()?, c.view()?));
        }
        self.write(|store| {
            if store.org(org_id)?.is_none() {
                return Err(Error::not_found(ERR_ORG_NOT_FOUND));
            }
            let now = Timestamp::now();
            let id = store.new_id();
            let mut changes = Vec::new();
            let mut cells = Vec::new();
            for (pos, view) in prepared {
                let cell = Cell {
                    id: store.new_id(),
                    pos,
                };
                let view = view.unwrap_or_else(|| View::empty(String::new()));
                changes.push(Change::PutView {
                    dashboard: id,
                    cell: cell.id,
                    view,
                });
                cells.push(cell);
            }
            let mut d = Dashboard {
                id,
                org_id,
                name,
                description: req.description.unwrap_or_default(),
                created_at: now,
                updated_at: now,
                cells,
                owner: req.owner,
                version: 0,
                created_by: None,
                updated_by: None,
                private: req.private.unwrap_or(false),
            };
            changes.extend(self.record_version(
                store,
                actor,
                None,
                &mut d,
                Edit::new("created"),
            )?);
            changes.push(Change::PutDashboard(d.clone()));
            changes.push(Change::PutMapping(Mapping {
                resource_type: "dashboards".into(),
                resource_id: id,
                user_id: actor.user_id,
                role: Role::Owner,
            }));
            Ok((d, changes))
        })
    }

    /// The version a reader may see and its readable labels, for serving a
    /// dashboard whose JSON is already rendered (`api::rendered`). `None`
    /// when the store has no stamp: load the dashboard instead. `rendered`
    /// says what the caller holds of that version; when it holds the answer
    /// without views and wants views, their records come in the same read.
    pub fn dashboard_stamp_and_labels<R>(
        &self,
        actor: &Actor,
        id: Id,
        rendered: impl FnOnce(i64) -> Prerendered<R>,
    ) -> Result<Option<Stamped<R>>> {
        // PostgreSQL: one statement instead of a transaction of four or
        // more round trips; sled: most often no read at all (`facts`).
        let Some(f) = self.dashboard_facts(id, actor.user_id)? else {
            return Ok(None);
        };
        if !f.stamp.private {
            let (org, version) = (f.stamp.org, f.stamp.updated_nanos);
            actor.require(Action::Read, "dashboards", Some(org), Some(id))?;
            let rendered = rendered(version);
            let view_records = match rendered {
                Prerendered::WithoutViews(_) => {
                    match self.dashboard_view_records(actor, id, version)? {
                        Some(r) => Some(r),
                        // It moved on meanwhile: the caller loads it.
                        None => return Ok(None),
                    }
                }
                _ => None,
            };
            return Ok(Some(Stamped {
                version,
                labels: f
                    .labels
                    .into_iter()
                    .filter(|l| readable(actor, l))
                    .collect(),
                defaults: DefaultFlags {
                    for_user: f.user_default == Some(id),
                    for_org: f.org_default == Some(id),
                },
                rendered,
                view_records,
            }));
        }
        // Private: the whole record decides who sees it.
        self.read(|store| {
            let Some(stamp) = readable_stamp(store, actor, id)? else {
                return Ok(None);
            };
            let defaults = self
                .defaults_for(store, actor, [stamp.org])?
                .flags_of(id, stamp.org);
            let labels = labels_in(store, actor, id)?;
            let rendered = rendered(stamp.updated_nanos);
            let view_records = match rendered {
                Prerendered::WithoutViews(_) => Some(store.view_records(id)?),
                _ => None,
            };
            Ok(Some(Stamped {
                version: stamp.updated_nanos,
                labels,
                defaults,
                rendered,
                view_records,
            }))
        })
    }

    /// `Store::dashboard_facts`, from the facts cache when the store has no
    /// other writer.
    fn dashboard_facts(&self, id: Id, user: Id) -> Result<Option<crate::store::DashboardFacts>> {
        if !self.store.sole_writer() {
            return self.store.dashboard_facts(id, user);
        }
        if let Some(f) = self.facts.get(id, user) {
            return Ok(Some(f));
        }
        let seen = self.facts.generation();
        let f = self.store.dashboard_facts(id, user)?;
        if let Some(f) = &f {
            self.facts.insert(id, user, f, seen);
        }
        Ok(f)
    }

    /// The stored records of a dashboard's views, by cell, while the
    /// dashboard is still at `version` (`None` once it moved on): with the
    /// rest of the answer already rendered, the properties are spliced in.
    pub fn dashboard_view_records(
        &self,
        actor: &Actor,
        id: Id,
        version: i64,
    ) -> Result<Option<ViewRecords>> {
        self.read(|store| match readable_stamp(store, actor, id)? {
            Some(stamp) if stamp.updated_nanos == version => Ok(Some(store.view_records(id)?)),
            _ => Ok(None),
        })
    }

    pub fn dashboard(&self, actor: &Actor, id: Id, with_views: bool) -> Result<DashboardWithViews> {
        self.read(|store| {
            let dashboard = load_for(store, actor, id, Action::Read)?;
            let views = if with_views {
                Some(store.views(id)?.into_iter().collect())
            } else {
                None
            };
            let labels = labels_in(store, actor, id)?;
            let defaults = self
                .defaults_for(store, actor, [dashboard.org_id])?
                .flags(&dashboard);
            Ok(DashboardWithViews {
                dashboard,
                views,
                labels,
                defaults,
            })
        })
    }

    /// Lists what the actor may read; paging applies after that filter.
    /// Decodes every dashboard it returns (see `list_dashboard_page`).
    pub fn list_dashboards(
        &self,
        actor: &Actor,
        filter: DashboardFilter,
        opts: &FindOptions,
    ) -> Result<Vec<Dashboard>> {
        let page = self.list_dashboard_page(actor, filter, opts, |_, _| None::<()>)?;
        Ok(page
            .into_iter()
            .filter_map(|l| match l.body {
                ListedBody::Decoded(d) => Some(d),
                ListedBody::Rendered(()) => None,
            })
            .collect())
    }

    /// One list answer: what the actor may read, paged after that filter,
    /// with each dashboard's readable labels. `rendered` finds a version
    /// already rendered by the caller; those dashboards are not decoded.
    pub fn list_dashboard_page<R>(
        &self,
        actor: &Actor,
        filter: DashboardFilter,
        opts: &FindOptions,
        rendered: impl Fn(Id, i64) -> Option<R>,
    ) -> Result<Vec<Listed<R>>> {
        let enforce = self.settings.enforce_org_dashboard_limits;
        self.read(|store| {
            let picked = pick(store, actor, filter, opts, enforce)?;
            let orgs: HashSet<Id> = picked
                .iter()
                .map(|p| match p {
                    Picked::Decoded(d) => d.org_id,
                    Picked::Entry(e) => e.org,
                })
                .collect();
            let defaults = self.defaults_for(store, actor, orgs)?;
            let mut seen = HashMap::new();
            let mut out = Vec::with_capacity(picked.len());
            for p in picked {
                let (id, org, version, body, label_ids) = match p {
                    Picked::Decoded(d) => {
                        let ids: Vec<Id> = store
                            .label_mappings_of_resource(d.id)?
                            .iter()
                            .map(|m| m.label_id)
                            .collect();
                        let (id, org, version) = (d.id, d.org_id, d.updated_at.nanos());
                        let body = match rendered(id, version) {
                            Some(r) => ListedBody::Rendered(r),
                            None => ListedBody::Decoded(d),
                        };
                        (id, org, version, body, ids)
                    }
                    Picked::Entry(e) => {
                        let body = match rendered(e.id, e.version) {
                            Some(r) => ListedBody::Rendered(r),
                            // Gone since the entry was read: only possible
                            // outside one consistent read, so skip it.
                            None => match store.dashboard(e.id)? {
                                Some(d) => ListedBody::Decoded(d),
                                None => continue,
                            },
                        };
                        (e.id, e.org, e.version, body, e.labels)
                    }
                };
                let labels = readable_labels(store, actor, &label_ids, &mut seen)?;
                out.push(Listed {
                    id,
                    version,
                    body,
                    labels,
                    defaults: defaults.flags_of(id, org),
                });
            }
            Ok(out)
        })
    }

    pub fn update_dashboard(
        &self,
        actor: &Actor,
        id: Id,
        patch: PatchDashboard,
        pre: &IfMatch,
    ) -> Result<Tagged<Dashboard>> {
        patch.check()?;
        let mut prepared = Vec::new();
        let mut seen = HashSet::new();
        for c in patch.cells.as_deref().unwrap_or_default() {
            if let Some(cid) = c.id {
                if !seen.insert(cid) {
                    return Err(Error::invalid(format!("duplicate cell id {cid}")));
                }
            }
            prepared.push((c.id, c.position()?, c.view()?));
        }
        self.write(|store| {
            let before = load_for(store, actor, id, Action::Write)?;
            pre.check(&before)?;
            let mut d = before.clone();
            let mut changes = Vec::new();
            let mut edit = Edit::default();
            if let Some(name) = patch.name {
                d.name = name;
            }
            if let Some(description) = patch.description {
                d.description = description;
            }
            if let Some(private) = patch.private {
                d.private = private;
            }
            if patch.cells.is_some() {
                // The body is the new grid: cells it keeps keep their views
                // unless it brings new ones; cells it drops lose theirs.
                let old: HashSet<Id> = d.cells.iter().map(|c| c.id).collect();
                let mut cells = Vec::with_capacity(prepared.len());
                for (cid, pos, view) in prepared {
                    let cell_id = cid.unwrap_or_else(|| store.new_id());
                    let view = match view {
                        Some(v) => Some(v),
                        None if !old.contains(&cell_id) => Some(View::empty(String::new())),
                        None => None,
                    };
                    if let Some(view) = view {
                        let was = if old.contains(&cell_id) {
                            store.view(id, cell_id)?
                        } else {
                            None
                        };
                        edit.views.push((cell_id, was, Some(view.clone())));
                        changes.push(Change::PutView {
                            dashboard: id,
                            cell: cell_id,
                            view,
                        });
                    }
                    cells.push(Cell { id: cell_id, pos });
                }
                let kept: HashSet<Id> = cells.iter().map(|c| c.id).collect();
                for gone in old.difference(&kept) {
                    edit.views.push((*gone, store.view(id, *gone)?, None));
                    changes.push(Change::DeleteView {
                        dashboard: id,
                        cell: *gone,
                    });
                }
                d.cells = cells;
            }
            d.updated_at = Timestamp::now_after(d.updated_at);
            edit.summary = patch_summary(&before, &d, patch.cells.is_some());
            changes.extend(self.record_version(store, actor, Some(&before), &mut d, edit)?);
            changes.push(Change::PutDashboard(d.clone()));
            Ok((Tagged::of(d.clone(), &d), changes))
        })
    }

    /// The dashboard goes to the trash with its views, owner/member
    /// mappings, label mappings and history, in the same batch that drops
    /// them (see `domain::trash`).
    pub fn delete_dashboard(&self, actor: &Actor, id: Id, pre: &IfMatch) -> Result<()> {
        self.write(|store| {
            let d = load_for(store, actor, id, Action::Write)?;
            pre.check(&d)?;
            Ok(((), self.trash_dashboard(store, actor, d)?))
        })
    }

    pub fn add_cell(
        &self,
        actor: &Actor,
        id: Id,
        req: CreateCell,
        pre: &IfMatch,
    ) -> Result<Tagged<Cell>> {
        let pos = req.position()?;
        self.write(|store| {
            let before = load_for(store, actor, id, Action::Write)?;
            pre.check(&before)?;
            let mut d = before.clone();
            let mut view = match req.using_view {
                Some(source) => {
                    d.cell(source)
                        .map_err(|_| Error::not_found(ERR_VIEW_NOT_FOUND))?;
                    store
                        .view(id, source)?
                        .ok_or_else(|| Error::not_found(ERR_VIEW_NOT_FOUND))?
                }
                None => View::empty(String::new()),
            };
            if let Some(name) = req.name {
                view.name = name;
            }
            let cell = Cell {
                id: store.new_id(),
                pos,
            };
            d.cells.push(cell);
            d.updated_at = Timestamp::now_after(d.updated_at);
            let edit = Edit::new(format!("cell {} added", cell.id)).view(
                cell.id,
                None,
                Some(view.clone()),
            );
            let mut changes = self.record_version(store, actor, Some(&before), &mut d, edit)?;
            changes.push(Change::PutView {
                dashboard: id,
                cell: cell.id,
                view,
            });
            changes.push(Change::PutDashboard(d.clone()));
            Ok((Tagged::of(cell, &d), changes))
        })
    }

    pub fn replace_cells(
        &self,
        actor: &Actor,
        id: Id,
        placed: Vec<PlacedCell>,
        pre: &IfMatch,
    ) -> Result<Tagged<Vec<Cell>>> {
        let mut cells = Vec::with_capacity(placed.len());
        let mut seen = HashSet::new();
        for p in placed {
            let cid =
                p.id.ok_or_else(|| Error::invalid("cannot provide empty cell id"))?;
            if !seen.insert(cid) {
                return Err(Error::invalid(format!("duplicate cell id {cid}")));
            }
            let pos = p.pos.over(Position::default())?;
            cells.push(Cell { id: cid, pos });
        }
        self.write(|store| {
            let before = load_for(store, actor, id, Action::Write)?;
            pre.check(&before)?;
            let mut d = before.clone();
            let old: HashSet<Id> = d.cells.iter().map(|c| c.id).collect();
            if cells.iter().any(|c| !old.contains(&c.id)) {
                return Err(Error::conflict(
                    "cannot replace cells that were not already present",
                ));
            }
            let mut changes = Vec::new();
            d.cells = cells.clone();
            let mut edit = Edit::new(grid_summary("PUT cells", &before.cells, &d.cells));
            for gone in old.difference(&seen) {
                edit.views.push((*gone, store.view(id, *gone)?, None));
                changes.push(Change::DeleteView {
                    dashboard: id,
                    cell: *gone,
                });
            }
            d.updated_at = Timestamp::now_after(d.updated_at);
            changes.extend(self.record_version(store, actor, Some(&before), &mut d, edit)?);
            changes.push(Change::PutDashboard(d.clone()));
            Ok((Tagged::of(cells, &d), changes))
        })
    }

    pub fn update_cell(
        &self,
        actor: &Actor,
        id: Id,
        cell_id: Id,
        patch: PatchCell,
        pre: &IfMatch,
    ) -> Result<Tagged<Cell>> {
        self.write(|store| {
            let before = load_for(store, actor, id, Action::Write)?;
            pre.check(&before)?;
            let mut d = before.clone();
            let cell = d.cell_mut(cell_id)?;
            patch.apply(&mut cell.pos)?;
            let cell = *cell;
            d.updated_at = Timestamp::now_after(d.updated_at);
            let edit = Edit::new(format!("cell {cell_id} moved"));
            let mut changes = self.record_version(store, actor, Some(&before), &mut d, edit)?;
            changes.push(Change::PutDashboard(d.clone()));
            Ok((Tagged::of(cell, &d), changes))
        })
    }

    pub fn remove_cell(
        &self,
        actor: &Actor,
        id: Id,
        cell_id: Id,
        pre: &IfMatch,
    ) -> Result<Tagged<()>> {
        self.write(|store| {
            let before = load_for(store, actor, id, Action::Write)?;
            pre.check(&before)?;
            let mut d = before.clone();
            d.cell(cell_id)?;
            d.cells.retain(|c| c.id != cell_id);
            d.updated_at = Timestamp::now_after(d.updated_at);
            let was = store.view(id, cell_id)?;
            let edit = Edit::new(format!("cell {cell_id} removed")).view(cell_id, was, None);
            let mut changes = self.record_version(store, actor, Some(&before), &mut d, edit)?;
            changes.push(Change::DeleteView {
                dashboard: id,
                cell: cell_id,
            });
            changes.push(Change::PutDashboard(d.clone()));
            Ok((Tagged::of((), &d), changes))
        })
    }

    pub fn view(&self, actor: &Actor, id: Id, cell_id: Id) -> Result<Tagged<View>> {
        self.read(|store| {
            let d = load_for(store, actor, id, Action::Read)?;
            d.cell(cell_id)?;
            let view = store
                .view(id, cell_id)?
                .unwrap_or_else(|| View::empty(String::new()));
            Ok(Tagged::of(view, &d))
        })
    }

    pub fn update_view(
        &self,
        actor: &Actor,
        id: Id,
        cell_id: Id,
        patch: PatchView,
        pre: &IfMatch,
    ) -> Result<Tagged<View>> {
        self.write(|store| {
            let before = load_for(store, actor, id, Action::Write)?;
            pre.check(&before)?;
            let mut d = before.clone();
            d.cell(cell_id)?;
            let was = store.view(id, cell_id)?;
            let mut view = was.clone().unwrap_or_else(|| View::empty(String::new()));
            patch.apply(&mut view)?;
            d.updated_at = Timestamp::now_after(d.updated_at);
            let edit = Edit::new("view changed").view(cell_id, was, Some(view.clone()));
            let mut changes = self.record_version(store, actor, Some(&before), &mut d, edit)?;
            changes.push(Change::PutView {
                dashboard: id,
                cell: cell_id,
                view: view.clone(),
            });
            changes.push(Change::PutDashboard(d.clone()));
            Ok((Tagged::of(view, &d), changes))
        })
    }
}

/// The summary of a dashboard patch.
fn patch_summary(before: &Dashboard, after: &Dashboard, grid: bool) -> String {
    let mut parts = Vec::new();
    if before.name != after.name {
        parts.push("renamed".to_string());
    }
    if before.description != after.description {
        parts.push("description changed".to_string());
    }
    if before.private != after.private {
        parts.push(
            if after.private {
                "made private"
            } else {
                "made visible to the org"
            }
            .to_string(),
        );
    }
    if grid {
        parts.push(grid_summary("cells", &before.cells, &after.cells));
    }
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::etag;
    use crate::id::Id;

    #[test]
    fn etag_reads_as_the_id_and_the_nanoseconds_in_hex() {
        let ids = [1u64, 0x0a1b_2c3d_4e5f_6071, u64::MAX].map(|v| Id::from_u64(v).expect("id"));
        let nanos = [
            0,
            1,
            15,
            16,
            255,
            1_764_633_600_123_456_789,
            i64::MAX,
            -1,
            i64::MIN,
        ];
        for id in ids {
            for n in nanos {
                assert_eq!(etag(id, n), format!("\"{id}-{n:x}\""), "{id} {n}");
            }
        }
    }
}
