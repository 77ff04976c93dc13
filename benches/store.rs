//! Store- and service-level benchmarks on realistic data (the community
//! template dashboards and the per-type views in `tests/fixtures`).
//!
//! `cargo bench --bench store` runs the criterion groups and then a
//! durability report: per-write latency percentiles of a durable 4 KB store
//! write against a raw 4 KB `pwrite` + `fdatasync` measured in the same run,
//! and the throughput of 16 concurrent durable writers (group commit)
//! against single-thread raw `fdatasync` ops/s.
//!
//! `-- --durability` runs the report alone. It ends with the load average
//! and one PASS/FAIL line per durability target.
//!
//! Under `cargo test` (no `--bench` argument) it runs every operation once
//! on a small store as a smoke test instead, without criterion (whose
//! argument parser would reject libtest's `--test-threads`).

mod common;

use criterion::{BatchSize, Criterion, Throughput};
use serde_json::value::RawValue;
use serde_json::Value;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera::auth::permission::{operator_permissions, Actor, Credential};
use tessera::domain::dashboard::{
    CellInput, CreateCell, CreateDashboard, DashboardFilter, IfMatch, PatchView, PlacedCell,
};
use tessera::domain::paging::FindOptions;
use tessera::domain::setup::SetupRequest;
use tessera::domain::view::View;
use tessera::domain::{Service, Settings};
use tessera::id::Id;
use tessera::store::{Change, PgStore, SledStore, Store};

// ---- fixtures --------------------------------------------------------------

fn fixtures_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every cell of the template dashboards: (x, y, w, h, name, properties).
fn template_cells() -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures_dir().join("dashboards"))
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|p| {
            let d: Value =
                serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json");
            d["cells"].as_array().cloned().unwrap_or_default()
        })
        .collect()
}

/// One properties text per chart type, by name.
fn view_fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join("views").join(format!("{name}.json")))
        .expect("view fixture")
}

fn all_views() -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(fixtures_dir().join("views"))
        .expect("views")
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("view"))
        .collect()
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_string()).expect("raw json")
}

/// Request bodies go through serde, as they do in the server, so the bench
/// does not depend on how the input structs are laid out.
fn de<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("request body")
}

fn cell_input(c: &Value, with_properties: bool) -> CellInput {
    let mut body =
        serde_json::json!({"x": c["x"], "y": c["y"], "w": c["w"], "h": c["h"], "name": c["name"]});
    if with_properties {
        body["properties"] = c["properties"].clone();
    }
    de(body)
}

/// `n` cells taken round-robin from the templates, starting at `from`.
fn cells(all: &[Value], from: usize, n: usize, with_properties: bool) -> Vec<CellInput> {
    (0..n)
        .map(|i| {
            let mut c = all[(from + i) % all.len()].clone();
            c["y"] = Value::from((i / 3) as i64 * 4);
            c["x"] = Value::from((i % 3) as i64 * 4);
            cell_input(&c, with_properties)
        })
        .collect()
}

// ---- an onboarded service in a temp dir ------------------------------------

struct Env {
    _dir: tempfile::TempDir,
    svc: Arc<Service>,
    actor: Actor,
    org: Id,
}

/// The PostgreSQL server to bench on instead of sled, as
/// tests/pg/with-postgres.sh exports it (`make bench STORE=postgres`).
fn pg_server() -> Option<String> {
    std::env::var("TESSERA_TEST_STORE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// sled in `dir`, or a fresh database beside `TESSERA_TEST_STORE_URL`'s.
fn open_store(dir: &Path) -> Arc<dyn Store> {
    let Some(server) = pg_server() else {
        return Arc::new(SledStore::open(dir).expect("open store"));
    };
    let name = format!("bench_{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut c = postgres::Client::connect(&server, postgres::NoTls).expect("connect to PostgreSQL");
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let (base, _) = server.rsplit_once('/').expect("URL with a database");
    Arc::new(PgStore::open(&format!("{base}/{name}")).expect("open PostgreSQL store"))
}

fn env() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let svc = Service::open(
        open_store(dir.path()),
        Settings {
            enforce_org_dashboard_limits: true,
            ..Settings::default()
        },
    )
    .expect("service");
    let done = svc
        .setup(SetupRequest {
            username: Some("bench".into()),
            org: Some("bench".into()),
            bucket: Some("bench".into()),
            ..SetupRequest::default()
        })
        .expect("setup");
    let actor = Actor {
        user_id: done.user.id,
        credential: Credential::Token {
            authorization: done.authorization.id,
        },
        permissions: operator_permissions().into(),
    };
    Env {
        _dir: dir,
        svc: Arc::new(svc),
        actor,
        org: done.org.id,
    }
}

fn create(e: &Env, name: String, cells: Vec<CellInput>) -> (Id, Vec<Id>) {
    let d = e
        .svc
        .create_dashboard(
            &e.actor,
            CreateDashboard {
                cells: Some(cells),
                ..de(serde_json::json!({
                    "orgID": e.org.to_string(),
                    "name": name,
                    "description": "benchmark dashboard from the community templates"
                }))
            },
        )
        .expect("create");
    (d.id, d.cells.iter().map(|c| c.id).collect())
}

/// Creates `n` dashboards of `cells_each` cells (empty views) with 16
/// threads, so the group commit shares the syncs.
fn seed(e: &Env, n: usize, cells_each: usize) {
    let all = template_cells();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                create(e, format!("seeded {i}"), cells(&all, i, cells_each, false));
            });
        }
    });
}

fn page(offset: usize) -> FindOptions {
    FindOptions::from_query(&[
        ("limit".to_string(), "20".to_string()),
        ("offset".to_string(), offset.to_string()),
    ])
    .expect("find options")
}

fn placed(ids: &[Id], shift: i32) -> Vec<PlacedCell> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            de(serde_json::json!({
                "id": id.to_string(),
                "x": ((i as i32 + shift) % 3) * 4,
                "y": (i as i32 / 3) * 4,
                "w": 4,
                "h": 4
            }))
        })
        .collect()
}

fn new_cell(name: Option<&str>) -> CreateCell {
    de(serde_json::json!({"x": 0, "y": 100, "w": 4, "h": 4, "name": name}))
}

fn patch_view(name: String, properties: &str) -> PatchView {
    de(
        serde_json::json!({"name": name, "properties": serde_json::from_str::<Value>(properties).expect("view")}),
    )
}

// ---- criterion groups ------------------------------------------------------

fn bench_writes(c: &mut Criterion) {
    let e = env();
    let all = template_cells();
    let views = all_views();
    let mut g = c.benchmark_group("write");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    let mut k = 0usize;
    g.bench_function("create_dashboard_10_cells_with_views", |b| {
        b.iter(|| {
            k += 1;
            create(&e, format!("created {k}"), cells(&all, k, 10, true))
        })
    });

    let pool: Vec<Id> = (0..200)
        .map(|i| create(&e, format!("cell pool {i}"), cells(&all, i, 10, true)).0)
        .collect();
    let mut k = 0usize;
    g.bench_function("add_cell", |b| {
        b.iter(|| {
            k += 1;
            e.svc
                .add_cell(
                    &e.actor,
                    pool[k % pool.len()],
                    new_cell(Some("added")),
                    &IfMatch::default(),
                )
                .expect("add cell")
        })
    });

    let (grid, grid_cells) = create(&e, "grid of 50".into(), cells(&all, 0, 50, true));
    let mut shift = 0;
    g.bench_function("replace_50_cell_grid", |b| {
        b.iter_batched(
            || {
                shift += 1;
                placed(&grid_cells, shift)
            },
            |p| {
                e.svc
                    .replace_cells(&e.actor, grid, p, &IfMatch::default())
                    .expect("replace")
            },
            BatchSize::SmallInput,
        )
    });

    let (target, target_cells) = create(&e, "patched".into(), cells(&all, 3, 10, true));
    let mut k = 0usize;
    g.bench_function("patch_view", |b| {
        b.iter_batched(
            || {
                k += 1;
                let patch = patch_view(format!("patched {k}"), &views[k % views.len()]);
                (target_cells[k % target_cells.len()], patch)
            },
            |(cell, p)| {
                e.svc
                    .update_view(&e.actor, target, cell, p, &IfMatch::default())
                    .expect("patch view")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// The body `GET /api/v2/dashboards/{id}?include=properties` sends.
fn render(d: &tessera::domain::dashboard::DashboardWithViews) -> Vec<u8> {
    serde_json::to_vec(&tessera::api::dashboards::dashboard_json(
        &d.dashboard,
        d.views.as_ref(),
        &d.labels,
    ))
    .expect("render")
}

fn bench_reads(c: &mut Criterion) {
    let e = env();
    let all = template_cells();
    let (id, _) = create(&e, "read 50".into(), cells(&all, 0, 50, true));
    let mut g = c.benchmark_group("read");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let bytes = render(&e.svc.dashboard(&e.actor, id, true).expect("get")).len();
    g.bench_function("get_50_cell_dashboard_with_views", |b| {
        b.iter(|| e.svc.dashboard(&e.actor, id, true).expect("get"))
    });
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("get_50_cell_dashboard_with_views_as_json", |b| {
        b.iter(|| render(&e.svc.dashboard(&e.actor, id, true).expect("get")))
    });
    g.finish();
    eprintln!("(the 50-cell dashboard renders to {bytes} bytes of JSON)");
}

fn bench_lists(c: &mut Criterion, n: usize) {
    let e = env();
    let t = Instant::now();
    seed(&e, n, 10);
    eprintln!(
        "seeded {n} dashboards of 10 cells in {:.1} s ({:.0} durable creates/s with 16 threads)",
        t.elapsed().as_secs_f64(),
        n as f64 / t.elapsed().as_secs_f64()
    );
    let mut g = c.benchmark_group(format!("list_org_of_{n}"));
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (label, offset) in [("page_1", 0), ("deep_page", n * 9 / 10)] {
        let opts = page(offset);
        g.bench_function(label, |b| {
            b.iter(|| {
                let v = e
                    .svc
                    .list_dashboards(&e.actor, DashboardFilter::Org(e.org), &opts)
                    .expect("list");
                assert_eq!(v.len(), 20);
                v
            })
        });
    }
    g.finish();
}

fn bench_durability(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut raw = RawFile::new(dir.path());
    let store = SledStore::open(&dir.path().join("store")).expect("store");
    let view = view_4k();
    let mut g = c.benchmark_group("durable_write");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("raw_4k_pwrite_fdatasync", |b| b.iter(|| raw.write()));
    let mut k = 0u64;
    g.bench_function("store_put_view_4k", |b| {
        b.iter(|| {
            k += 1;
            put_view(&store, k, &view)
        })
    });
    g.finish();
}

// ---- durability report -----------------------------------------------------

/// A 4 KB record overwritten in place in a preallocated 4 MB file.
struct RawFile {
    f: File,
    buf: Vec<u8>,
    slot: u64,
}

impl RawFile {
    fn new(dir: &Path) -> RawFile {
        let f = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(dir.join("raw-fdatasync"))
            .expect("raw file");
        f.write_all_at(&vec![1u8; 4 << 20], 0).expect("prefill");
        f.sync_all().expect("sync");
        RawFile {
            f,
            buf: vec![7u8; 4096],
            slot: 0,
        }
    }

    fn write(&mut self) {
        self.slot = (self.slot + 1) % 1024;
        self.buf[0] = self.slot as u8;
        self.f
            .write_all_at(&self.buf, self.slot * 4096)
            .expect("pwrite");
        self.f.sync_data().expect("fdatasync");
    }
}

/// The geo view fixture: 4.3 KB of real view properties.
fn view_4k() -> View {
    View {
        name: "four kilobytes".into(),
        properties: raw(&view_fixture("geo")),
    }
}

/// One durable 4 KB write at the storage layer, as the server writes:
/// under the store's writer lock, then waiting for the group commit.
fn put_view(store: &SledStore, k: u64, view: &View) {
    let dash = Id::from_u64(1_000_000 + (k % 512)).expect("id");
    let cell = Id::from_u64(1 + (k % 64)).expect("id");
    store
        .write(&mut |_| {
            Ok(vec![Change::PutView {
                dashboard: dash,
                cell,
                view: view.clone(),
            }])
        })
        .expect("durable write");
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e6;
    (at(0.5), at(0.99), at(0.999), v.len() as f64)
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` has them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A run that starts with a 1-minute load above 0.5 shares the machine:
/// its figures are not comparable with a quiet run's.
fn noisy(load: &str) -> &'static str {
    match load.split(' ').next().and_then(|l| l.parse::<f64>().ok()) {
        Some(l) if l <= 0.5 => "quiet",
        _ => "NOISY",
    }
}

fn verdict(what: &str, value: f64, at_most: bool, limit: f64) {
    let ok = if at_most {
        value <= limit
    } else {
        value >= limit
    };
    println!(
        "{}  {what:<52} {value:>6.2}x (target {} {limit}x)",
        if ok { "PASS" } else { "FAIL" },
        if at_most { "<=" } else { ">=" }
    );
}

/// `verdicts` is false for the smoke run: 20 samples decide nothing, and a
/// passing test log should not show FAIL lines.
fn durability_report(ops: usize, seconds: f64, verdicts: bool) {
    let load_before = load_average();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut raw = RawFile::new(dir.path());
    let store = Arc::new(SledStore::open(&dir.path().join("store")).expect("store"));
    let view = view_4k();
    for k in 0..50 {
        raw.write();
        put_view(&store, k, &view);
    }
    // Interleave the two so drift on a shared machine hits both alike.
    let (mut raw_lat, mut store_lat) = (Vec::new(), Vec::new());
    for k in 0..ops as u64 {
        let t = Instant::now();
        raw.write();
        raw_lat.push(t.elapsed());
        let t = Instant::now();
        put_view(&store, k, &view);
        store_lat.push(t.elapsed());
    }
    let r = percentiles(raw_lat);
    let s = percentiles(store_lat);

    // Throughput: raw fdatasync from one thread, then 16 durable writers.
    let t = Instant::now();
    let mut raw_ops = 0u64;
    while t.elapsed().as_secs_f64() < seconds {
        raw.write();
        raw_ops += 1;
    }
    let raw_per_s = raw_ops as f64 / t.elapsed().as_secs_f64();
    let writers_per_s = |threads: usize| {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let t = Instant::now();
        std::thread::scope(|s| {
            for w in 0..threads as u64 {
                let (stop, done, store, view) = (stop.clone(), done.clone(), store.clone(), &view);
                s.spawn(move || {
                    let mut k = w * 1_000_000;
                    while !stop.load(Ordering::Relaxed) {
                        k += 1;
                        put_view(&store, k, view);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            std::thread::sleep(Duration::from_secs_f64(seconds));
            stop.store(true, Ordering::Relaxed);
        });
        done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
    };
    let one = writers_per_s(1);
    let sixteen = writers_per_s(16);

    println!();
    println!("durability report ({} interleaved samples each)", r.3);
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "4 KB write", "p50 µs", "p99 µs", "p99.9 µs"
    );
    println!(
        "{:<44} {:>10.1} {:>10.1} {:>10.1}",
        "raw pwrite + fdatasync", r.0, r.1, r.2
    );
    println!(
        "{:<44} {:>10.1} {:>10.1} {:>10.1}",
        "store write + wait for the group commit", s.0, s.1, s.2
    );
    println!(
        "{:<44} {:>9.2}x {:>9.2}x {:>9.2}x   (targets: p50 <= 2x, p99 <= 3x)",
        "ratio store / raw",
        s.0 / r.0,
        s.1 / r.1,
        s.2 / r.2
    );
    println!(
        "throughput: raw fdatasync, 1 thread {raw_per_s:.0} ops/s; durable writes, 1 writer {one:.0} ops/s, 16 writers {sixteen:.0} ops/s = {:.2}x raw (target >= 2x)",
        sixteen / raw_per_s
    );
    println!();
    if !verdicts {
        println!("(smoke run: too few samples for the targets; `make bench` judges them)");
        return;
    }
    println!(
        "durability targets ({} run: load average {load_before} at start, {} at the end)",
        noisy(&load_before),
        load_average()
    );
    verdict(
        "durable write p50 / raw fdatasync p50",
        s.0 / r.0,
        true,
        2.0,
    );
    verdict(
        "durable write p99 / raw fdatasync p99",
        s.1 / r.1,
        true,
        3.0,
    );
    verdict(
        "16 durable writers / 1-thread raw fdatasync ops/s",
        sixteen / raw_per_s,
        false,
        2.0,
    );
}

// ---- smoke run under `cargo test` ------------------------------------------

fn smoke() {
    let e = env();
    let all = template_cells();
    seed(&e, 60, 10);
    let (id, ids) = create(&e, "smoke".into(), cells(&all, 0, 50, true));
    e.svc
        .replace_cells(&e.actor, id, placed(&ids, 1), &IfMatch::default())
        .expect("replace");
    e.svc
        .add_cell(&e.actor, id, new_cell(None), &IfMatch::default())
        .expect("add");
    e.svc
        .update_view(
            &e.actor,
            id,
            ids[0],
            patch_view("x".into(), &view_fixture("xy")),
            &IfMatch::default(),
        )
        .expect("patch view");
    let d = e.svc.dashboard(&e.actor, id, true).expect("get");
    assert_eq!(d.views.map(|v| v.len()), Some(51));
    let first = e
        .svc
        .list_dashboards(&e.actor, DashboardFilter::Org(e.org), &page(0))
        .expect("list");
    let deep = e
        .svc
        .list_dashboards(&e.actor, DashboardFilter::Org(e.org), &page(40))
        .expect("list");
    assert_eq!((first.len(), deep.len()), (20, 20));
    durability_report(20, 0.05, false);
    println!("store bench smoke run: ok");
}

// ---- scaling curves (`make bench-scaling`) ---------------------------------

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_mb(p: &Path) -> f64 {
    fn walk(p: &Path) -> u64 {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => walk(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(p) as f64 / (1024.0 * 1024.0)
}

/// Median of `n` timings of `f`, in microseconds.
fn p50_us(n: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    t[t.len() / 2]
}

/// How a page of one org, a GET, the store on disk and RSS grow while other
/// orgs grow from 1k to 100k dashboards; and GET with views from 1 to 100 cells.
fn scaling_report() {
    let e = env();
    let all = template_cells();
    seed(&e, 1_000, 10);
    let mine = e
        .svc
        .list_dashboards(&e.actor, DashboardFilter::Org(e.org), &page(0))
        .expect("list")[0]
        .id;
    let other = e
        .svc
        .create_org(&e.actor, de(serde_json::json!({"name": "others"})))
        .expect("org")
        .id;
    println!("total dashboards | page of 20 (org of 1k) p50 | GET p50 | store on disk | RSS");
    let mut total = 1_000;
    // Logical bytes: every dashboard record and view as JSON, against the disk.
    let logical = AtomicUsize::new(0);
    for offset in (0..1_000).step_by(100) {
        let opts = FindOptions::from_query(&[
            ("limit".to_string(), "100".to_string()),
            ("offset".to_string(), offset.to_string()),
        ])
        .expect("find options");
        for d in e
            .svc
            .list_dashboards(&e.actor, DashboardFilter::Org(e.org), &opts)
            .expect("list")
        {
            let full = e.svc.dashboard(&e.actor, d.id, true).expect("get");
            logical.fetch_add(common::logical_json_bytes(&full), Ordering::Relaxed);
        }
    }
    // SCALING_MAX=1000000 adds the 1M step (minutes of seeding, GBs of disk).
    let max: usize = std::env::var("SCALING_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let steps = [1_000usize, 10_000, 100_000, 1_000_000];
    for target in steps.into_iter().filter(|&t| t <= max.max(1_000)) {
        let next = AtomicUsize::new(total);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= target {
                        return;
                    }
                    let body = CreateDashboard {
                        cells: Some(cells(&all, i, 3, false)),
                        ..de(serde_json::json!({"orgID": other.to_string(), "name": format!("other {i}")}))
                    };
                    let d = e.svc.create_dashboard(&e.actor, body).expect("create");
                    let empty_view = View::empty(String::new());
                    let bytes = serde_json::to_vec(&d).map_or(0, |v| v.len())
                        + d.cells.len() * serde_json::to_vec(&empty_view).map_or(0, |v| v.len());
                    logical.fetch_add(bytes, Ordering::Relaxed);
                });
            }
        });
        total = target.max(total);
        let list = p50_us(500, || {
            e.svc
                .list_dashboards(&e.actor, DashboardFilter::Org(e.org), &page(0))
                .expect("list");
        });
        let get = p50_us(2_000, || {
            e.svc.dashboard(&e.actor, mine, false).expect("get");
        });
        println!(
            "{total:>16} | {list:>22.1} µs | {get:>6.1} µs | {:>10.1} MB | {:>6.1} MB",
            dir_mb(e._dir.path()),
            rss_mb()
        );
    }
    let logical = logical.load(Ordering::Relaxed);
    println!(
        "logical bytes {:.1} MB, on disk {:.1} MB ({:.2}x)",
        logical as f64 / 1048576.0,
        dir_mb(e._dir.path()),
        dir_mb(e._dir.path()) / (logical as f64 / 1048576.0)
    );
    // A fixed-size overwrite loop: the same view rewritten again and again.
    let (id, cells_of) = create(&e, "overwritten".into(), cells(&all, 0, 1, true));
    let xy = view_fixture("xy");
    print!("overwrite loop (disk MB after 0, 2k, 4k, 6k, 8k, 10k rewrites):");
    for round in 0..=5 {
        if round > 0 {
            for i in 0..2_000 {
                e.svc
                    .update_view(
                        &e.actor,
                        id,
                        cells_of[0],
                        patch_view(format!("v{i}"), &xy),
                        &IfMatch::default(),
                    )
                    .expect("patch");
            }
        }
        print!(" {:.1}", dir_mb(e._dir.path()));
    }
    println!();
    println!("cells | GET with views p50 | view properties");
    for n in [1usize, 10, 100] {
        let (id, _) = create(&e, format!("{n} cells"), cells(&all, 0, n, true));
        let get = p50_us(500, || {
            e.svc.dashboard(&e.actor, id, true).expect("get");
        });
        let d = e.svc.dashboard(&e.actor, id, true).expect("get");
        let props: usize = d
            .views
            .as_ref()
            .map_or(0, |v| v.values().map(|v| v.properties.get().len()).sum());
        println!("{n:>5} | {get:>15.1} µs | {props} B of view properties");
    }

    // Restart to serving: close the store, open it again, answer a page
    // (sled: on PostgreSQL `open_store` makes a new database).
    if pg_server().is_some() {
        return;
    }
    let Env {
        _dir: dir,
        svc,
        actor,
        org,
    } = e;
    drop(svc);
    let t = Instant::now();
    let svc = Service::open(open_store(dir.path()), Settings::default()).expect("reopen");
    svc.list_dashboards(&actor, DashboardFilter::Org(org), &page(0))
        .expect("list after restart");
    println!(
        "restart to serving ({total} dashboards): {:.2} s",
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    // As the server does: the scaling RSS is the server's.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--scaling") {
        scaling_report();
        return;
    }
    if args.iter().any(|a| a == "--durability") {
        durability_report(2_000, 3.0, true);
        return;
    }
    let benchmarking = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    if !benchmarking {
        smoke();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    // The durability groups measure sled's commit path against the raw
    // device; on PostgreSQL the commit is the server's own fsync.
    let on_pg = pg_server().is_some();
    if on_pg {
        println!("store: PostgreSQL (TESSERA_TEST_STORE_URL); durability groups skipped");
    } else {
        bench_durability(&mut c);
    }
    bench_writes(&mut c);
    bench_reads(&mut c);
    bench_lists(&mut c, 1_000);
    bench_lists(&mut c, 10_000);
    c.final_summary();
    // Only when no filter narrowed the run to some benchmarks.
    if !on_pg && !args.iter().skip(1).any(|a| !a.starts_with("--")) {
        durability_report(2_000, 3.0, true);
    }
}
