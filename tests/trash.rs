//! The dashboard trash (delete, list, restore, purge) and atomic clone over
//! real HTTP.

mod common;

use common::{id_of, Server};
use serde_json::{json, Value};

fn token(s: &Server, org: &str, perms: &[(&str, &str)]) -> String {
    let permissions: Vec<Value> = perms
        .iter()
        .map(|(action, kind)| json!({"action": action, "resource": {"type": kind, "orgID": org}}))
        .collect();
    s.post(
        "/api/v2/authorizations",
        &json!({"orgID": org, "permissions": permissions}),
    )
    .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string()
}

fn full(s: &Server, d: &str) -> Value {
    s.get(&format!("/api/v2/dashboards/{d}?include=properties"))
        .expect(200)
        .clone()
}

/// A dashboard with two cells (one with a view name), a label and a few
/// versions; returns its ID.
fn furnished(s: &Server, org: &str, name: &str, label: &str) -> String {
    let d = id_of(&s.create_dashboard(org, name));
    let c = id_of(&s.add_cell(&d, json!({"x": 0, "y": 0, "w": 4, "h": 3, "name": "cpu"})));
    s.add_cell(&d, json!({"x": 4, "y": 0, "w": 4, "h": 3, "name": "mem"}));
    s.patch(
        &format!("/api/v2/dashboards/{d}/cells/{c}/view"),
        &json!({"name": "cpu usage", "properties": {"shape": "chronograf-v2", "type": "markdown", "note": "hi"}}),
    )
    .expect(200);
    let l = s
        .post(
            "/api/v2/labels",
            &json!({"orgID": org, "name": label, "properties": {"color": "#ff0000"}}),
        )
        .expect(201)["label"]
        .clone();
    s.post(
        &format!("/api/v2/dashboards/{d}/labels"),
        &json!({"labelID": id_of(&l)}),
    )
    .expect(201);
    d
}

fn trash(s: &Server, org: &str) -> Vec<Value> {
    s.get(&format!("/api/v2/trash/dashboards?orgID={org}"))
        .expect(200)["dashboards"]
        .as_array()
        .expect("dashboards")
        .clone()
}

fn gone_everywhere(s: &Server, d: &str, cell: &str) {
    let base = format!("/api/v2/dashboards/{d}");
    s.get(&base).expect(404);
    s.patch(&base, &json!({"name": "x"})).expect(404);
    s.delete(&base).expect(404);
    s.get(&format!("{base}/cells/{cell}/view")).expect(404);
    s.post(
        &format!("{base}/cells"),
        &json!({"x": 0, "y": 0, "w": 1, "h": 1}),
    )
    .expect(404);
    s.get(&format!("{base}/labels")).expect(404);
    s.get(&format!("{base}/versions")).expect(404);
    let listed = s.get(&format!("/api/v2/dashboards?orgID={}", s.org));
    assert!(!listed.text.contains(d));
}

#[test]
fn trash_round_trip() {
    let mut s = Server::start();
    let d = furnished(&s, &s.org, "Ops", "prod");
    let before = full(&s, &d);
    let versions = s
        .get(&format!("/api/v2/dashboards/{d}/versions?limit=100"))
        .expect(200)["versions"]
        .as_array()
        .expect("versions")
        .len();
    let cell = before["cells"][0]["id"].as_str().expect("cell").to_string();
    s.delete(&format!("/api/v2/dashboards/{d}")).expect(204);
    gone_everywhere(&s, &d, &cell);

    let listed = trash(&s, &s.org);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], d.as_str());
    assert_eq!(listed[0]["name"], "Ops");
    assert_eq!(listed[0]["orgID"], s.org.as_str());
    assert_eq!(listed[0]["deletedBy"]["id"], s.user.as_str());
    assert_eq!(listed[0]["deletedBy"]["name"], common::ADMIN);
    assert!(listed[0]["deletedAt"].as_str().is_some());
    assert_eq!(
        listed[0]["links"]["restore"],
        format!("/api/v2/trash/dashboards/{d}/restore").as_str()
    );

    // The trash survives a crash.
    s.crash_and_restart();
    assert_eq!(trash(&s, &s.org).len(), 1);

    let r = s.post(&format!("/api/v2/trash/dashboards/{d}/restore"), &json!({}));
    let restored = r.expect(200);
    assert_eq!(restored["id"], d.as_str());
    assert!(r.header("etag").is_some());
    let after = full(&s, &d);
    assert_eq!(after["name"], before["name"]);
    assert_eq!(after["cells"], before["cells"]);
    assert_eq!(after["labels"], before["labels"]);
    let now = s
        .get(&format!("/api/v2/dashboards/{d}/versions?limit=100"))
        .expect(200)["versions"]
        .as_array()
        .expect("versions")
        .clone();
    assert_eq!(now.len(), versions + 1);
    assert_eq!(now[0]["summary"], "restored from the trash");
    s.get(&format!("/api/v2/dashboards/{d}/versions/2"))
        .expect(200);
    s.get(&format!("/api/v2/dashboards/{d}/cells/{cell}/view"))
        .expect(200);
    assert!(trash(&s, &s.org).is_empty());
    s.post(&format!("/api/v2/trash/dashboards/{d}/restore"), &json!({}))
        .expect(404);

    // Owners came back too: the restored dashboard is editable and
    // deletable again.
    let owners = s
        .get(&format!("/api/v2/dashboards/{d}/owners"))
        .expect(200)
        .clone();
    assert!(owners.to_string().contains(&s.user));
    s.crash_and_restart();
    assert_eq!(full(&s, &d)["cells"], before["cells"]);
}

#[test]
fn purge_and_org_deletion() {
    let s = Server::start();
    let d = furnished(&s, &s.org, "Purged", "a");
    s.delete(&format!("/api/v2/dashboards/{d}")).expect(204);
    s.delete(&format!("/api/v2/trash/dashboards/{d}"))
        .expect(204);
    assert!(trash(&s, &s.org).is_empty());
    s.delete(&format!("/api/v2/trash/dashboards/{d}"))
        .expect(404);
    s.post(&format!("/api/v2/trash/dashboards/{d}/restore"), &json!({}))
        .expect(404);
    s.get(&format!("/api/v2/dashboards/{d}")).expect(404);

    let org = s.create_org("doomed");
    let e = furnished(&s, &org, "Doomed", "b");
    s.delete(&format!("/api/v2/dashboards/{e}")).expect(204);
    assert_eq!(trash(&s, &org).len(), 1);
    s.delete(&format!("/api/v2/orgs/{org}")).expect(204);
    s.get(&format!("/api/v2/trash/dashboards?orgID={org}"))
        .expect(404);
    s.post(&format!("/api/v2/trash/dashboards/{e}/restore"), &json!({}))
        .expect(404);
    s.get("/api/v2/trash/dashboards").expect(400);
}

#[test]
fn trash_checks_rights() {
    let s = Server::start();
    let d = furnished(&s, &s.org, "Guarded", "g");
    s.delete(&format!("/api/v2/dashboards/{d}")).expect(204);
    let ro = token(&s, &s.org, &[("read", "dashboards")]);
    let ro = s.as_token(&ro);
    assert_eq!(
        ro.get(&format!("/api/v2/trash/dashboards?orgID={}", s.org))
            .expect(200)["dashboards"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    ro.post(&format!("/api/v2/trash/dashboards/{d}/restore"), &json!({}))
        .expect(401);
    ro.delete(&format!("/api/v2/trash/dashboards/{d}"))
        .expect(401);

    let other = s.create_org("elsewhere");
    let theirs = token(
        &s,
        &other,
        &[("read", "dashboards"), ("write", "dashboards")],
    );
    let them = s.as_token(&theirs);
    them.get(&format!("/api/v2/trash/dashboards?orgID={}", s.org))
        .expect(401);
    them.post(&format!("/api/v2/trash/dashboards/{d}/restore"), &json!({}))
        .expect(401);
    them.delete(&format!("/api/v2/trash/dashboards/{d}"))
        .expect(401);
    s.anonymous()
        .get(&format!("/api/v2/trash/dashboards?orgID={}", s.org))
        .expect(401);
    assert_eq!(trash(&s, &s.org).len(), 1);
}

#[test]
fn clone_in_the_same_org() {
    let s = Server::start();
    let d = furnished(&s, &s.org, "Source", "team");
    let src = full(&s, &d);
    let r = s.post(&format!("/api/v2/dashboards/{d}/clone"), &json!({}));
    let c = r.expect(201).clone();
    let cid = id_of(&c);
    assert_ne!(cid, d);
    assert_eq!(c["name"], "Source (clone)");
    assert_eq!(c["orgID"], s.org.as_str());
    assert_eq!(c["labels"], src["labels"]);
    let copy = full(&s, &cid);
    let cells = |v: &Value| -> Vec<Value> {
        v["cells"]
            .as_array()
            .expect("cells")
            .iter()
            .map(|c| json!([c["x"], c["y"], c["w"], c["h"], c["name"], c["properties"]]))
            .collect()
    };
    assert_eq!(cells(&copy), cells(&src));
    for (a, b) in copy["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .zip(src["cells"].as_array().expect("cells"))
    {
        assert_ne!(a["id"], b["id"]);
    }
    // Named, described, and independent of its source.
    let named = s
        .post(
            &format!("/api/v2/dashboards/{d}/clone"),
            &json!({"name": "Copy", "description": "mine"}),
        )
        .expect(201)
        .clone();
    assert_eq!(named["name"], "Copy");
    assert_eq!(named["description"], "mine");
    s.delete(&format!("/api/v2/dashboards/{d}")).expect(204);
    assert_eq!(cells(&full(&s, &cid)), cells(&src));
    s.post(&format!("/api/v2/dashboards/{d}/clone"), &json!({}))
        .expect(404);
    s.post(
        &format!("/api/v2/dashboards/{cid}/clone"),
        &json!({"name": " "}),
    )
    .expect(400);
}

#[test]
fn clone_into_another_org_copies_labels_by_name() {
    let s = Server::start();
    let d = furnished(&s, &s.org, "Source", "shared");
    let other = s.create_org("target");
    // One label already exists there (by name, case aside); the other is
    // created.
    let l2 = s
        .post(
            "/api/v2/labels",
            &json!({"orgID": s.org, "name": "only-here"}),
        )
        .expect(201)["label"]
        .clone();
    s.post(
        &format!("/api/v2/dashboards/{d}/labels"),
        &json!({"labelID": id_of(&l2)}),
    )
    .expect(201);
    let existing = s
        .post("/api/v2/labels", &json!({"orgID": other, "name": "SHARED"}))
        .expect(201)["label"]
        .clone();
    let c = s
        .post(
            &format!("/api/v2/dashboards/{d}/clone"),
            &json!({"orgID": other}),
        )
        .expect(201)
        .clone();
    assert_eq!(c["orgID"], other.as_str());
    let copy = full(&s, &id_of(&c));
    assert_eq!(copy["cells"].as_array().map(Vec::len), Some(2));
    let labels = copy["labels"].as_array().expect("labels").clone();
    assert_eq!(labels.len(), 2);
    assert!(labels.iter().all(|l| l["orgID"] == other.as_str()));
    assert!(labels.iter().any(|l| l["id"] == existing["id"]));
    let there = s.get(&format!("/api/v2/labels?orgID={other}")).expect(200)["labels"]
        .as_array()
        .expect("labels")
        .len();
    assert_eq!(there, 2);
}

#[test]
fn clone_checks_rights() {
    let s = Server::start();
    let d = furnished(&s, &s.org, "Source", "x");
    let other = s.create_org("target");
    let ro = token(&s, &s.org, &[("read", "dashboards")]);
    s.as_token(&ro)
        .post(&format!("/api/v2/dashboards/{d}/clone"), &json!({}))
        .expect(401);
    // Write in the target org but no read on the source.
    let theirs = token(
        &s,
        &other,
        &[("read", "dashboards"), ("write", "dashboards")],
    );
    s.as_token(&theirs)
        .post(
            &format!("/api/v2/dashboards/{d}/clone"),
            &json!({"orgID": other}),
        )
        .expect(401);
    // Read on the source, write in the target org: allowed.
    let both = s
        .post(
            "/api/v2/authorizations",
            &json!({"orgID": s.org, "permissions": [
                {"action": "read", "resource": {"type": "dashboards", "orgID": s.org}},
                {"action": "read", "resource": {"type": "labels", "orgID": other}},
                {"action": "write", "resource": {"type": "dashboards", "orgID": other}}]}),
        )
        .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    s.as_token(&both)
        .post(
            &format!("/api/v2/dashboards/{d}/clone"),
            &json!({"orgID": other}),
        )
        .expect(201);
    s.as_token(&both)
        .post(&format!("/api/v2/dashboards/{d}/clone"), &json!({}))
        .expect(401);
}

#[test]
fn trash_retention_purges_in_the_background() {
    let s = Server::start_with(&["--trash-retention", "1s", "--history-prune-interval", "1s"]);
    let d = id_of(&s.create_dashboard(&s.org, "Fleeting"));
    s.delete(&format!("/api/v2/dashboards/{d}")).expect(204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !trash(&s, &s.org).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the trash was not pruned"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    s.post(&format!("/api/v2/trash/dashboards/{d}/restore"), &json!({}))
        .expect(404);

    // `0` turns the trash off: deletes are final.
    let off = Server::start_with(&["--trash-retention", "0"]);
    let e = id_of(&off.create_dashboard(&off.org, "Gone"));
    off.delete(&format!("/api/v2/dashboards/{e}")).expect(204);
    assert!(trash(&off, &off.org).is_empty());
}
