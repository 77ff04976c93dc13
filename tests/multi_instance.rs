//! Two Tessera processes on one PostgreSQL database, with clients writing
//! through both at once (PostgreSQL only: sled allows one process per
//! directory; run with TESSERA_TEST_STORE_URL, as `make test` does).

mod common;

use common::{id_of, Cred, Server};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

/// How long another instance may still accept a revoked credential: the
/// watcher's fallback poll (500 ms) plus a query, rounded up. NOTIFY usually
/// makes it milliseconds.
const REVOCATION_BOUND: Duration = Duration::from_secs(1);

fn pair() -> Option<(Server, Server)> {
    if common::skip_on_sled("several instances need a shared PostgreSQL database") {
        return None;
    }
    let a = Server::start();
    let b = a.second_instance();
    Some((a, b))
}

fn markdown(note: &str) -> Value {
    json!({"properties": {"shape": "chronograf-v2", "type": "markdown", "note": note}})
}

/// The node number inside a generated ID (see src/id.rs).
fn node_of(id: &str) -> u64 {
    (u64::from_str_radix(id, 16).expect("hex id") >> 16) & 63
}

#[test]
fn concurrent_grid_and_view_writes_through_both_lose_nothing() {
    let Some((a, b)) = pair() else { return };
    let org = a.org.clone();
    let d = id_of(&a.create_dashboard(&org, "busy"));
    let base = format!("/api/v2/dashboards/{d}");
    let cells: Vec<String> = (0..6)
        .map(|i| {
            let s = if i % 2 == 0 { &a } else { &b };
            id_of(&s.add_cell(
                &d,
                json!({"x": i, "y": 0, "w": 1, "h": 1, "name": format!("c{i}")}),
            ))
        })
        .collect();
    let rounds = 12;
    let servers = [&a, &b];
    std::thread::scope(|scope| {
        // One writer per cell: moves it and patches its view, alternating
        // instances, so its last acknowledged note is known.
        for (i, cell) in cells.iter().enumerate() {
            let base = &base;
            scope.spawn(move || {
                for r in 0..rounds {
                    let s = servers[(i + r) % 2];
                    s.patch(&format!("{base}/cells/{cell}"), &json!({"y": r}))
                        .expect(200);
                    s.patch(
                        &format!("{base}/cells/{cell}/view"),
                        &markdown(&format!("cell {i} round {r}")),
                    )
                    .expect(200);
                }
            });
        }
        // A grid rewriter on both instances keeps every cell but moves them.
        for (k, s) in servers.iter().enumerate() {
            let cells = &cells;
            let base = &base;
            scope.spawn(move || {
                for r in 0..rounds {
                    let grid: Vec<Value> = cells
                        .iter()
                        .map(|c| json!({"id": c, "x": k, "y": r, "w": 2, "h": 2}))
                        .collect();
                    s.put(&format!("{base}/cells"), &json!(grid)).expect(201);
                }
            });
        }
        // A churner adds cells through one instance and removes them through
        // the other; a grid rewrite may remove them first (404 then).
        let base = &base;
        scope.spawn(move || {
            for r in 0..rounds {
                let (add, del) = (servers[r % 2], servers[(r + 1) % 2]);
                let c = add
                    .post(
                        &format!("{base}/cells"),
                        &json!({"x": 0, "y": 99, "w": 1, "h": 1, "name": "churn"}),
                    )
                    .expect(201)
                    .clone();
                let status = del.delete(&format!("{base}/cells/{}", id_of(&c))).status;
                assert!(
                    status == 204 || status == 404,
                    "delete churn cell: {status}"
                );
            }
        });
    });
    let from_a = a
        .get(&format!("{base}?include=properties"))
        .expect(200)
        .clone();
    let from_b = b
        .get(&format!("{base}?include=properties"))
        .expect(200)
        .clone();
    assert_eq!(from_a, from_b, "both instances serve the same dashboard");
    let got = from_a["cells"].as_array().expect("cells");
    assert_eq!(got.len(), cells.len(), "{from_a}");
    for c in got {
        let i = cells
            .iter()
            .position(|x| *x == id_of(c))
            .expect("known cell");
        assert_eq!(
            c["properties"]["note"],
            format!("cell {i} round {}", rounds - 1),
            "lost view update"
        );
        assert_eq!(c["name"], format!("c{i}"), "cell without its view");
    }
    // At rest: every cell has its view and no view outlives its cell.
    let url = a.store_url.clone().expect("store url");
    let mut pg = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let views: i64 = pg
        .query_one("SELECT count(*) FROM views", &[])
        .expect("count")
        .get(0);
    assert_eq!(views as usize, cells.len(), "orphan or missing views");
}

#[test]
fn same_label_name_through_both_instances_is_created_once() {
    let Some((a, b)) = pair() else { return };
    let org = a.org.clone();
    for round in 0..10 {
        let name = format!("Dup-{round}");
        let gate = Arc::new(Barrier::new(2));
        let statuses: Vec<(u16, Value)> = std::thread::scope(|scope| {
            let hs: Vec<_> = [&a, &b]
                .into_iter()
                .enumerate()
                .map(|(k, s)| {
                    let gate = gate.clone();
                    // Names differ only in case: still the same label.
                    let name = if k == 0 {
                        name.clone()
                    } else {
                        name.to_lowercase()
                    };
                    let org = org.clone();
                    scope.spawn(move || {
                        gate.wait();
                        let r = s.post("/api/v2/labels", &json!({"orgID": org, "name": name}));
                        (r.status, r.body)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        let created = statuses.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(created, 1, "round {round}: {statuses:?}");
        let refused = statuses.iter().find(|(s, _)| *s != 201).expect("refused");
        assert_eq!(refused.1["code"], "conflict", "round {round}: {statuses:?}");
    }
    let labels = b
        .get(&format!("/api/v2/labels?orgID={org}"))
        .expect(200)
        .clone();
    assert_eq!(labels["labels"].as_array().expect("labels").len(), 10);
}

/// Polls `f` until it returns true; the time it took.
fn within(bound: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if f() {
            return Some(start.elapsed());
        }
        if start.elapsed() > bound {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn revocation_through_one_instance_reaches_the_other_within_the_bound() {
    let Some((a, b)) = pair() else { return };
    let org = a.org.clone();
    let mut seen = Vec::new();
    for round in 0..5 {
        let t = a
            .post(
                "/api/v2/authorizations",
                &json!({"orgID": org, "description": format!("wallboard {round}"),
                    "permissions": [{"action": "read", "resource": {"type": "dashboards", "orgID": org}}]}),
            )
            .expect(201)
            .clone();
        let token = t["token"].as_str().expect("token").to_string();
        // Warm B's credential cache.
        for _ in 0..3 {
            b.as_token(&token)
                .get(&format!("/api/v2/dashboards?orgID={org}"))
                .expect(200);
        }
        a.delete(&format!("/api/v2/authorizations/{}", id_of(&t)))
            .expect(204);
        let took = within(REVOCATION_BOUND, || {
            b.as_token(&token)
                .get(&format!("/api/v2/dashboards?orgID={org}"))
                .status
                == 401
        })
        .unwrap_or_else(|| {
            panic!("round {round}: revoked token still works on B after {REVOCATION_BOUND:?}")
        });
        seen.push(took);
    }
    eprintln!("revocation seen by the other instance after {seen:?}");

    // A password change through B ends nothing by itself, but deactivating
    // the user through B stops A's cached session within the bound.
    let bob = id_of(
        &a.post(
            "/api/v2/users",
            &json!({"name": "bob", "password": "builder-123"}),
        )
        .expect(201)
        .clone(),
    );
    let sid = a.sign_in("bob", "builder-123").expect("sign in on A");
    a.with(Cred::Cookie(sid.clone()))
        .get("/api/v2/me")
        .expect(200);
    b.patch(
        &format!("/api/v2/users/{bob}"),
        &json!({"status": "inactive"}),
    )
    .expect(200);
    within(REVOCATION_BOUND, || {
        a.with(Cred::Cookie(sid.clone())).get("/api/v2/me").status == 401
    })
    .expect("deactivated user's session still works on A");
}

#[test]
fn a_session_from_one_instance_works_on_the_other() {
    let Some((a, b)) = pair() else { return };
    let sid = a
        .sign_in(common::ADMIN, common::ADMIN_PASSWORD)
        .expect("sign in on A");
    let me = b
        .with(Cred::Cookie(sid.clone()))
        .get("/api/v2/me")
        .expect(200)
        .clone();
    assert_eq!(me["name"], common::ADMIN);
    // Signing out through B ends it on A too.
    b.with(Cred::Cookie(sid.clone()))
        .post("/api/v2/signout", &json!({}))
        .expect(204);
    within(REVOCATION_BOUND, || {
        a.with(Cred::Cookie(sid.clone())).get("/api/v2/me").status == 401
    })
    .expect("signed-out session still works on A");
}

#[test]
fn sigkill_of_one_instance_mid_write_loses_no_acknowledged_write() {
    let Some((mut a, b)) = pair() else { return };
    let org = a.org.clone();
    let acked: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let base_a = a.base.clone();
    let token = a.token.clone().expect("token");
    std::thread::scope(|scope| {
        // Writers on A talk HTTP to its address directly, so the kill below
        // can take the process away under them.
        for w in 0..3 {
            let acked = &acked;
            let base_a = base_a.clone();
            let token = token.clone();
            let org = org.clone();
            scope.spawn(move || {
                let c = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .expect("client");
                for n in 0.. {
                    let r = c
                        .post(format!("{base_a}/api/v2/dashboards"))
                        .header("authorization", format!("Token {token}"))
                        .json(&json!({"orgID": org, "name": format!("a{w}-{n}")}))
                        .send();
                    match r {
                        Ok(r) if r.status().as_u16() == 201 => {
                            let v: Value = r.json().expect("json");
                            acked.lock().expect("lock").push((0, id_of(&v)));
                        }
                        _ => break, // the kill
                    }
                }
            });
        }
        for w in 0..2 {
            let acked = &acked;
            let b = &b;
            let org = org.clone();
            scope.spawn(move || {
                for n in 0..40 {
                    let d = b.create_dashboard(&org, &format!("b{w}-{n}"));
                    acked.lock().expect("lock").push((1, id_of(&d)));
                }
            });
        }
        std::thread::sleep(Duration::from_millis(700));
        a.kill();
    });
    a.crash_and_restart();
    let acked = acked.into_inner().expect("lock");
    assert!(
        acked.iter().any(|(k, _)| *k == 0) && acked.iter().any(|(k, _)| *k == 1),
        "both instances acknowledged writes"
    );
    let ids: HashSet<&String> = acked.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), acked.len(), "an ID was issued twice");
    // IDs carry each instance's own node number.
    let nodes_a: HashSet<u64> = acked
        .iter()
        .filter(|(k, _)| *k == 0)
        .map(|(_, id)| node_of(id))
        .collect();
    let nodes_b: HashSet<u64> = acked
        .iter()
        .filter(|(k, _)| *k == 1)
        .map(|(_, id)| node_of(id))
        .collect();
    assert_eq!(nodes_a.len(), 1, "{nodes_a:?}");
    assert!(nodes_a.is_disjoint(&nodes_b), "{nodes_a:?} {nodes_b:?}");
    for s in [&a, &b] {
        let listed = s
            .get(&format!("/api/v2/dashboards?orgID={org}"))
            .expect(200)
            .clone();
        let have: HashSet<String> = listed["dashboards"]
            .as_array()
            .expect("dashboards")
            .iter()
            .map(id_of)
            .collect();
        for (_, id) in &acked {
            assert!(have.contains(id), "acknowledged dashboard {id} lost");
        }
    }
    eprintln!(
        "{} acknowledged creates ({} through the killed instance)",
        acked.len(),
        acked.iter().filter(|(k, _)| *k == 0).count()
    );
}
