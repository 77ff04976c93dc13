//! PostgreSQL restarted under load: while it is down, requests answer 503
//! `unavailable` in the envelope (never a 500, never a dropped connection);
//! once it is back, Tessera recovers by itself and every acknowledged write is
//! there. PostgreSQL only. The test runs its own throw-away cluster
//! (tests/pg/start.sh) so that stopping it disturbs no other suite; it is the
//! only test in this file because it points the harness at that cluster.

mod common;

use common::{id_of, Server};
use serde_json::json;
use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A cluster of our own, stopped and removed on drop.
struct Cluster {
    vars: HashMap<String, String>,
}

impl Cluster {
    fn start() -> Cluster {
        let out = Command::new("tests/pg/start.sh")
            .output()
            .expect("run tests/pg/start.sh");
        assert!(
            out.status.success(),
            "start.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Cluster { vars }
    }

    fn var(&self, k: &str) -> &str {
        self.vars.get(k).map(String::as_str).expect(k)
    }

    fn pg_ctl(&self, args: &[&str]) {
        let bin = format!("{}/pg_ctl", self.var("TESSERA_PG_BIN"));
        let data = format!("{}/data", self.var("TESSERA_PG_DIR"));
        let log = format!("{}/server.log", self.var("TESSERA_PG_DIR"));
        let status = Command::new("runuser")
            .args(["-u", "postgres", "--", &bin, "-D", &data, "-l", &log, "-w"])
            .args(args)
            .status()
            .expect("pg_ctl");
        assert!(status.success(), "pg_ctl {args:?} failed");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("tests/pg/stop.sh")
            .arg(self.var("TESSERA_PG_DIR"))
            .env("TESSERA_PG_BIN", self.var("TESSERA_PG_BIN"))
            .status();
    }
}

#[test]
fn postgres_restart_under_load_answers_503_and_recovers() {
    if common::skip_on_sled("restarts a PostgreSQL cluster") {
        return;
    }
    let cluster = Cluster::start();
    // The harness makes each server's database on TESSERA_TEST_STORE_URL.
    std::env::set_var(
        "TESSERA_TEST_STORE_URL",
        cluster.var("TESSERA_TEST_STORE_URL"),
    );
    let s = Server::start();
    let org = s.org.clone();

    let acknowledged = Mutex::new(Vec::<String>::new());
    let statuses = Mutex::new(HashMap::<u16, usize>::new());
    let stop = AtomicBool::new(false);
    let writers = 3;
    std::thread::scope(|scope| {
        for w in 0..writers {
            let (s, org, acknowledged, statuses, stop) =
                (&s, &org, &acknowledged, &statuses, &stop);
            scope.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let r = s.post(
                        "/api/v2/dashboards",
                        &json!({"orgID": org, "name": format!("w{w}-{n}")}),
                    );
                    *statuses.lock().expect("lock").entry(r.status).or_default() += 1;
                    match r.status {
                        201 => acknowledged.lock().expect("lock").push(id_of(&r.body)),
                        503 => {
                            r.expect_error(503, "unavailable", "");
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        other => panic!("writer {w}: unexpected {other}: {}", r.text),
                    }
                    // Reads keep the envelope too.
                    let g = s.get("/api/v2/dashboards?limit=1");
                    assert!(
                        g.status == 200 || g.status == 503,
                        "read answered {}: {}",
                        g.status,
                        g.text
                    );
                    if g.status == 503 {
                        g.expect_error(503, "unavailable", "");
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(1));
        let before = acknowledged.lock().expect("lock").len();
        cluster.pg_ctl(&["-m", "fast", "stop"]);
        std::thread::sleep(Duration::from_secs(4));
        cluster.pg_ctl(&["start"]);
        // Recovery by itself: new writes are acknowledged again.
        let back = Instant::now();
        let during = acknowledged.lock().expect("lock").len();
        loop {
            if acknowledged.lock().expect("lock").len() > during + writers {
                break;
            }
            assert!(
                back.elapsed() < Duration::from_secs(30),
                "no write acknowledged within 30 s of PostgreSQL's return"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "acknowledged {before} before the stop, recovered {:?} after the start",
            back.elapsed()
        );
        stop.store(true, Ordering::Relaxed);
    });

    let statuses = statuses.into_inner().expect("lock");
    eprintln!("answers: {statuses:?}");
    assert!(
        statuses.get(&503).copied().unwrap_or(0) > 0,
        "the outage was never seen: {statuses:?}"
    );
    // Every acknowledged create is there.
    let acknowledged = acknowledged.into_inner().expect("lock");
    for id in &acknowledged {
        s.get(&format!("/api/v2/dashboards/{id}")).expect(200);
    }
    let all = s
        .get(&format!("/api/v2/dashboards?orgID={org}&limit=100"))
        .expect(200)
        .clone();
    assert!(all["dashboards"].as_array().expect("list").len() >= acknowledged.len().min(100));
}
