//! Helpers for `make bench-http` (benches/http_load.sh):
//!
//! - `http_tools seed DIR ORGS DASHBOARDS CELLS TOKEN OUT`: onboards a data
//!   directory through the library (with the operator token TOKEN), creates
//!   ORGS orgs of DASHBOARDS dashboards of CELLS cells whose views are the
//!   community-template views, and writes `orgID dashID cellID,cellID,…`
//!   lines to OUT for the load generator, and the logical size of what it
//!   stored (every dashboard and view as JSON, as GET shows them) to
//!   OUT.logical.
//! - `http_tools overwrite DIR TOKEN IDS N`: N view updates spread over the
//!   seeded dashboards of IDS (the lines `seed` wrote), through the library
//!   as the server makes them, to see how the store's disk use holds up.
//! - `http_tools baseline ADDR BODY_DIR`: the trivial handler — one actix
//!   worker that answers each request kind with a JSON body of the same size
//!   as Tessera's, held in memory (files `list.json`, `dashboard.json`,
//!   `dashboard_props.json`, `view.json`, `cells.json` in BODY_DIR, and
//!   `org.json` for the whole-org list, `?…limit=100`). A GET of a
//!   dashboard whose answers are in `BODY_DIR/dashboards` (`ID.json`,
//!   `ID.props.json`: Tessera's answers for that ID) gets those bytes.
//!
//! With no subcommand (as under `cargo test` or `cargo bench`) it does nothing.

mod common;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tessera::auth::permission::{operator_permissions, Actor, Credential};
use tessera::auth::Presented;
use tessera::domain::dashboard::{CellInput, CreateDashboard, IfMatch, PatchView};
use tessera::domain::org::CreateOrg;
use tessera::domain::setup::SetupRequest;
use tessera::domain::{Service, Settings};
use tessera::store::SledStore;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("seed") if args.len() == 7 => seed(&args[1..]),
        Some("baseline") if args.len() == 3 => baseline(&args[1], Path::new(&args[2])),
        Some("overwrite") if args.len() == 5 => overwrite(&args[1..]),
        Some("seed") | Some("baseline") | Some("overwrite") => {
            eprintln!("usage: http_tools seed DIR ORGS DASHBOARDS CELLS TOKEN OUT | baseline ADDR BODY_DIR");
            std::process::exit(2);
        }
        _ => {}
    }
}

fn template_cells() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
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

fn seed(a: &[String]) {
    let dir = Path::new(&a[0]);
    let n = |s: &String| s.parse::<usize>().expect("a number");
    let (orgs, per_org, cells_each) = (n(&a[1]), n(&a[2]), n(&a[3]));
    let token = a[4].clone();
    let out = Path::new(&a[5]);
    let t = Instant::now();
    let store = SledStore::open(dir).unwrap_or_else(|e| {
        eprintln!("http_tools seed: {e}");
        std::process::exit(1)
    });
    let svc = Service::open(Arc::new(store), Settings::default()).expect("service");
    let done = svc
        .setup(SetupRequest {
            username: Some("bench".into()),
            org: Some("org-0".into()),
            bucket: Some("bench".into()),
            token: Some(token),
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
    let mut org_ids = vec![done.org.id];
    for i in 1..orgs {
        let org = svc
            .create_org(
                &actor,
                serde_json::from_value::<CreateOrg>(
                    serde_json::json!({"name": format!("org-{i}")}),
                )
                .expect("org"),
            )
            .expect("org");
        org_ids.push(org.id);
    }
    let all = template_cells();
    let total = orgs * per_org;
    let logical = AtomicUsize::new(0);
    let lines = Mutex::new(Vec::with_capacity(total));
    on_16_threads(total, |i| {
        // Orgs are filled interleaved, so each grows with the others.
        let org = org_ids[i % orgs];
        let cells = (0..cells_each)
            .map(|k| {
                let c = &all[(i * 7 + k) % all.len()];
                let body = serde_json::json!({
                    "x": (k % 3) * 4, "y": (k / 3) * 4, "w": 4, "h": 4,
                    "name": c["name"], "properties": c["properties"]
                });
                serde_json::from_value::<CellInput>(body).expect("cell")
            })
            .collect();
        let d = svc
            .create_dashboard(
                &actor,
                CreateDashboard {
                    cells: Some(cells),
                    ..serde_json::from_value(serde_json::json!({
                        "orgID": org.to_string(),
                        "name": format!("dashboard {i}"),
                        "description": "seeded from the community templates"
                    }))
                    .expect("dashboard")
                },
            )
            .expect("create");
        let full = svc.dashboard(&actor, d.id, true).expect("get");
        logical.fetch_add(common::logical_json_bytes(&full), Ordering::Relaxed);
        let cells: Vec<String> = d.cells.iter().map(|c| c.id.to_string()).collect();
        lines
            .lock()
            .expect("lines")
            .push(format!("{} {} {}", org, d.id, cells.join(",")));
    });
    let mut f = std::fs::File::create(out).expect("out");
    for l in lines.into_inner().expect("lines") {
        writeln!(f, "{l}").expect("write");
    }
    std::fs::write(
        out.with_extension("logical"),
        logical.load(Ordering::Relaxed).to_string(),
    )
    .expect("logical");
    eprintln!(
        "seeded {orgs} orgs x {per_org} dashboards x {cells_each} cells in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

fn overwrite(a: &[String]) {
    let store = SledStore::open(Path::new(&a[0])).unwrap_or_else(|e| {
        eprintln!("http_tools overwrite: {e}");
        std::process::exit(1)
    });
    let svc = Service::open(Arc::new(store), Settings::default()).expect("service");
    let actor = svc
        .authenticate(Presented::Token(a[1].clone()))
        .expect("the seed's token");
    let targets: Vec<(String, Vec<String>)> = std::fs::read_to_string(&a[2])
        .expect("ids")
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let (_, dash, cells) = (f.next()?, f.next()?, f.next()?);
            Some((
                dash.to_string(),
                cells.split(',').map(String::from).collect(),
            ))
        })
        .collect();
    let total: usize = a[3].parse().expect("a number");
    let all = template_cells();
    let t = Instant::now();
    on_16_threads(total, |i| {
        // Spread over every view, each time with other properties.
        let (dash, cells) = &targets[i % targets.len()];
        let cell = &cells[(i / targets.len()) % cells.len()];
        let c = &all[i % all.len()];
        let patch: PatchView = serde_json::from_value(
            serde_json::json!({"name": c["name"], "properties": c["properties"]}),
        )
        .expect("view patch");
        let id = |s: &str| tessera::id::Id::parse(s).expect("an ID");
        svc.update_view(&actor, id(dash), id(cell), patch, &IfMatch::default())
            .expect("update view");
    });
    eprintln!(
        "overwrote {total} views in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// Runs `f` for each of `0..total` on 16 threads, as concurrent clients
/// would write.
fn on_16_threads(total: usize, f: impl Fn(usize) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return;
                }
                f(i);
            });
        }
    });
}

struct Bodies {
    list: web::Bytes,
    org: web::Bytes,
    dashboard: web::Bytes,
    dashboard_props: web::Bytes,
    view: web::Bytes,
    cells: web::Bytes,
    /// By dashboard ID: its answer without and with properties.
    dashboards: HashMap<String, [web::Bytes; 2]>,
}

async fn answer(req: HttpRequest, body: web::Bytes, b: web::Data<Bodies>) -> HttpResponse {
    let _ = body; // read, like Tessera reads it
    let path = req.path();
    let (status, bytes) = match *req.method() {
        actix_web::http::Method::PATCH => (200, &b.view),
        actix_web::http::Method::PUT => (201, &b.cells),
        _ if path == "/api/v2/dashboards" && req.query_string().contains("limit=100") => {
            (200, &b.org)
        }
        _ if path == "/api/v2/dashboards" => (200, &b.list),
        _ => {
            let props = req.query_string().contains("include=properties");
            let own = path
                .strip_prefix("/api/v2/dashboards/")
                .and_then(|id| b.dashboards.get(id));
            match (own, props) {
                (Some(own), _) => (200, &own[usize::from(props)]),
                (None, true) => (200, &b.dashboard_props),
                (None, false) => (200, &b.dashboard),
            }
        }
    };
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .content_type("application/json; charset=utf-8")
        .body(bytes.clone())
}

/// `ID.json` and `ID.props.json` of `dir` by ID; none when `dir` is absent.
fn dashboard_bodies(dir: &Path) -> HashMap<String, [web::Bytes; 2]> {
    let mut out = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        if id.ends_with(".props") {
            continue;
        }
        let read = |p: PathBuf| std::fs::read(p).map(web::Bytes::from);
        if let (Ok(bare), Ok(props)) = (read(e.path()), read(dir.join(format!("{id}.props.json"))))
        {
            out.insert(id.to_owned(), [bare, props]);
        }
    }
    out
}

fn baseline(addr: &str, dir: &Path) {
    let read = |name: &str| {
        web::Bytes::from(std::fs::read(dir.join(name)).unwrap_or_else(|e| {
            eprintln!("http_tools baseline: {name}: {e}");
            std::process::exit(1)
        }))
    };
    let bodies = web::Data::new(Bodies {
        list: read("list.json"),
        org: read("org.json"),
        dashboard: read("dashboard.json"),
        dashboard_props: read("dashboard_props.json"),
        view: read("view.json"),
        cells: read("cells.json"),
        dashboards: dashboard_bodies(&dir.join("dashboards")),
    });
    let sys = actix_web::rt::System::new();
    let result = sys.block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(bodies.clone())
                .default_service(web::to(answer))
        })
        .bind(addr)?;
        // Same first line as Tessera's, so the script reads the port alike.
        match server.addrs().first() {
            Some(a) => println!("baseline listening on http://{a}"),
            None => println!("baseline listening on http://{addr}"),
        }
        server.run().await
    });
    if let Err(e) = result {
        eprintln!("http_tools baseline: {e}");
        std::process::exit(1);
    }
}
