//! Dashboard history, restore, diff and conditional requests over real HTTP.

mod common;

use common::{id_of, Server};
use reqwest::Method;
use serde_json::{json, Value};

fn xy(query: &str) -> Value {
    json!({
        "shape": "chronograf-v2",
        "type": "xy",
        "queries": [{"text": query, "editMode": "advanced", "name": "", "builderConfig": {"buckets": [], "tags": [], "functions": [], "aggregateWindow": {"period": "auto", "fillValues": false}}}],
        "axes": {"x": {"bounds": ["", ""], "label": "", "prefix": "", "suffix": "", "base": "10", "scale": "linear"}, "y": {"bounds": ["", ""], "label": "", "prefix": "", "suffix": "", "base": "10", "scale": "linear"}},
        "colors": [{"id": "a", "type": "scale", "hex": "#31C0F6", "name": "Nineteen Eighty Four", "value": 0}],
        "geom": "line",
        "note": "",
        "showNoteWhenEmpty": false,
        "position": "overlaid"
    })
}

fn versions(s: &Server, d: &str) -> Vec<Value> {
    s.get(&format!("/api/v2/dashboards/{d}/versions?limit=100"))
        .expect(200)["versions"]
        .as_array()
        .expect("versions")
        .clone()
}

fn full(s: &Server, d: &str) -> Value {
    s.get(&format!("/api/v2/dashboards/{d}?include=properties"))
        .expect(200)
        .clone()
}

/// The parts of a dashboard a version must bring back.
fn content(d: &Value) -> Value {
    let mut cells: Vec<Value> = d["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| {
            json!([
                c["id"],
                c["x"],
                c["y"],
                c["w"],
                c["h"],
                c["name"],
                c["properties"]
            ])
        })
        .collect();
    cells.sort_by_key(|c| c[0].as_str().unwrap_or_default().to_string());
    let mut labels: Vec<String> = d["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| l["name"].as_str().unwrap_or_default().to_string())
        .collect();
    labels.sort();
    json!({"name": d["name"], "description": d["description"], "cells": cells, "labels": labels})
}

/// The edits the Influx UI makes while someone builds a dashboard.
fn ui_session(s: &Server, d: &str) -> Vec<Value> {
    let mut seen = vec![content(&full(s, d))];
    let base = format!("/api/v2/dashboards/{d}");
    let c1 = id_of(&s.add_cell(d, json!({"x": 0, "y": 0, "w": 4, "h": 3, "name": "cpu"})));
    seen.push(content(&full(s, d)));
    s.patch(
        &format!("{base}/cells/{c1}/view"),
        &json!({"name": "cpu", "properties": xy("from(bucket: \"a\")")}),
    )
    .expect(200);
    seen.push(content(&full(s, d)));
    let c2 = id_of(&s.add_cell(d, json!({"x": 4, "y": 0, "w": 4, "h": 3, "name": "mem"})));
    seen.push(content(&full(s, d)));
    s.put(
        &format!("{base}/cells"),
        &json!([{"id": c1, "x": 0, "y": 3, "w": 6, "h": 4}, {"id": c2, "x": 6, "y": 0, "w": 6, "h": 3}]),
    )
    .expect(201);
    seen.push(content(&full(s, d)));
    s.patch(&base, &json!({"name": "Ops", "description": "on call"}))
        .expect(200);
    seen.push(content(&full(s, d)));
    let label = s
        .post(
            "/api/v2/labels",
            &json!({"orgID": s.org, "name": "prod", "properties": {"color": "#fff"}}),
        )
        .expect(201)["label"]
        .clone();
    s.post(
        &format!("{base}/labels"),
        &json!({"labelID": id_of(&label)}),
    )
    .expect(201);
    seen.push(content(&full(s, d)));
    s.patch(
        &format!("{base}/cells/{c1}/view"),
        &json!({"properties": xy("from(bucket: \"b\") |> range(start: -1h)")}),
    )
    .expect(200);
    seen.push(content(&full(s, d)));
    s.delete(&format!("{base}/cells/{c2}")).expect(204);
    seen.push(content(&full(s, d)));
    s.patch(&format!("{base}/cells/{c1}"), &json!({"x": 1}))
        .expect(200);
    seen.push(content(&full(s, d)));
    s.delete(&format!("{base}/labels/{}", id_of(&label)))
        .expect(204);
    seen.push(content(&full(s, d)));
    seen
}

#[test]
fn every_edit_is_a_version_and_each_comes_back() {
    let s = Server::start();
    let d = id_of(&s.create_dashboard(&s.org, "Scratch"));
    let seen = ui_session(&s, &d);
    let list = versions(&s, &d);
    assert_eq!(list.len(), seen.len(), "{list:#?}");
    assert_eq!(list[0]["version"], seen.len(), "newest first");
    assert_eq!(list.last().expect("v1")["summary"], "created");
    assert_eq!(list[0]["createdBy"]["name"], common::ADMIN);
    assert_eq!(list[0]["createdBy"]["id"], s.user.as_str());
    let summaries: Vec<&str> = list.iter().filter_map(|v| v["summary"].as_str()).collect();
    assert!(
        summaries.contains(&"PUT cells: 2 moved"),
        "summaries: {summaries:?}"
    );
    assert!(summaries.contains(&"label added: prod"), "{summaries:?}");
    for (i, want) in seen.iter().enumerate() {
        let n = i + 1;
        let got = s
            .get(&format!("/api/v2/dashboards/{d}/versions/{n}"))
            .expect(200)
            .clone();
        assert_eq!(&content(&got), want, "version {n}");
    }

    // Paging, newest first.
    let page = s
        .get(&format!("/api/v2/dashboards/{d}/versions?limit=2&offset=1"))
        .expect(200)
        .clone();
    assert_eq!(page["versions"][0]["version"], seen.len() - 1);
    assert_eq!(page["versions"].as_array().map(Vec::len), Some(2));
    assert!(page["links"]["next"].is_string());

    // Diff between the first view and the grid change.
    let diff = s
        .get(&format!("/api/v2/dashboards/{d}/versions/3/diff/5"))
        .expect(200)
        .clone();
    assert_eq!(diff["summary"], "1 cell added, 1 cell moved", "{diff:#}");
    let moved = diff["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["change"] == "moved")
        .expect("moved cell")
        .clone();
    assert!(moved["patch"]
        .as_array()
        .expect("patch")
        .contains(&json!({"op": "replace", "path": "/y", "value": 3})));
    let diff = s
        .get(&format!("/api/v2/dashboards/{d}/versions/7/diff/8"))
        .expect(200)
        .clone();
    let ops = diff["cells"][0]["patch"].as_array().expect("patch").clone();
    assert_eq!(
        ops,
        vec![
            json!({"op": "replace", "path": "/properties/queries/0/text", "value": "from(bucket: \"b\") |> range(start: -1h)"})
        ]
    );

    // Restore version 5: cells, views, name and labels as then.
    let r = s.post(
        &format!("/api/v2/dashboards/{d}/versions/5/restore"),
        &json!({}),
    );
    r.expect(200);
    assert_eq!(content(&full(&s, &d)), seen[4]);
    let newest = &versions(&s, &d)[0];
    assert_eq!(newest["restoredFrom"], 5);
    assert_eq!(newest["version"], seen.len() + 1);

    s.get(&format!("/api/v2/dashboards/{d}/versions/999"))
        .expect_error(404, "not found", "dashboard version not found");
    s.get(&format!("/api/v2/dashboards/{d}/versions/x"))
        .expect(400);
}

#[test]
fn a_lost_update_is_recovered_by_restore() {
    let s = Server::start();
    let d = id_of(&s.create_dashboard(&s.org, "Shared"));
    let c = id_of(&s.add_cell(&d, json!({"x": 0, "y": 0, "w": 4, "h": 3})));
    let view = format!("/api/v2/dashboards/{d}/cells/{c}/view");
    // Both sessions load the dashboard.
    let loaded = full(&s, &d);
    let _ = loaded;
    // Alice saves her careful query.
    s.patch(
        &view,
        &json!({"name": "alice", "properties": xy("alice's work")}),
    )
    .expect(200);
    let alices = versions(&s, &d)[0]["version"].as_u64().expect("n");
    // Bob, still on his old copy, saves over it without If-Match.
    s.patch(&view, &json!({"name": "bob", "properties": xy("bob's")}))
        .expect(200);
    assert_eq!(s.get(&view).expect(200)["name"], "bob");
    // Alice's work comes back.
    s.post(
        &format!("/api/v2/dashboards/{d}/versions/{alices}/restore"),
        &json!({}),
    )
    .expect(200);
    let got = s.get(&view).expect(200).clone();
    assert_eq!(got["name"], "alice");
    assert_eq!(got["properties"], xy("alice's work"));
}

#[test]
fn etags_guard_writes_and_spare_polls() {
    let s = Server::start();
    let d = id_of(&s.create_dashboard(&s.org, "Wall"));
    let base = format!("/api/v2/dashboards/{d}");
    let r = s.get(&base);
    r.expect(200);
    let tag = r.header("etag").expect("etag").to_string();
    assert!(tag.starts_with('"') && tag.ends_with('"'), "strong: {tag}");

    // A poll with the tag costs a 304; any write moves it.
    let poll = |t: &str| s.send(s.authed(Method::GET, &base).header("if-none-match", t));
    let r = poll(&tag);
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    assert_eq!(r.text, "");
    let stale = tag.clone();
    let r = s.send(
        s.authed(Method::PATCH, &base)
            .header("if-match", &tag)
            .header("content-type", "application/json")
            .body(json!({"name": "Wall 2"}).to_string()),
    );
    r.expect(200);
    let tag = r.header("etag").expect("etag").to_string();
    assert_ne!(tag, stale);
    assert_eq!(poll(&stale).status, 200);
    assert_eq!(poll(&tag).status, 304);

    // A stale If-Match writes nothing and names the current version.
    for (method, path, body) in [
        (Method::PATCH, base.clone(), Some(json!({"name": "lost"}))),
        (Method::PUT, format!("{base}/cells"), Some(json!([]))),
        (Method::DELETE, base.clone(), None),
    ] {
        let mut rb = s.authed(method, &path).header("if-match", &stale);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = s.send(rb);
        r.expect_error(412, "conflict", &format!("dashboard {d} has changed"));
        assert!(
            r.body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("version 2"),
            "{}",
            r.text
        );
    }
    assert_eq!(s.get(&base).expect(200)["name"], "Wall 2");
    assert_eq!(versions(&s, &d).len(), 2);

    // Cells and views carry the tag too.
    let c = s.send(
        s.authed(Method::POST, &format!("{base}/cells"))
            .header("if-match", &tag)
            .header("content-type", "application/json")
            .body(json!({"x": 0, "y": 0, "w": 1, "h": 1}).to_string()),
    );
    c.expect(201);
    let tag = c.header("etag").expect("etag").to_string();
    let view = format!("{base}/cells/{}/view", id_of(&c.body));
    let r = s.get(&view);
    r.expect(200);
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    let r = s.send(s.authed(Method::GET, &view).header("if-none-match", &tag));
    assert_eq!(r.status, 304);
    // The current tag lets a delete through.
    let r = s.send(s.authed(Method::DELETE, &base).header("if-match", &tag));
    assert_eq!(r.status, 204, "{}", r.text);
    s.get(&base).expect(404);
}

#[test]
fn history_is_kept_within_its_retention() {
    let s = Server::start_with(&["--history-max-versions", "3"]);
    let d = id_of(&s.create_dashboard(&s.org, "Short"));
    for i in 0..6 {
        s.patch(
            &format!("/api/v2/dashboards/{d}"),
            &json!({"description": format!("v{i}")}),
        )
        .expect(200);
    }
    let list = versions(&s, &d);
    let numbers: Vec<u64> = list.iter().filter_map(|v| v["version"].as_u64()).collect();
    assert_eq!(numbers, vec![7, 6, 5]);
    // The oldest kept version still comes back whole.
    let v5 = s
        .get(&format!("/api/v2/dashboards/{d}/versions/5"))
        .expect(200)
        .clone();
    assert_eq!(v5["description"], "v3");
    s.get(&format!("/api/v2/dashboards/{d}/versions/4"))
        .expect(404);

    // By age: with one second and a one second interval, only the newest stays.
    let s = Server::start_with(&["--history-max-age", "1s", "--history-prune-interval", "1s"]);
    let d = id_of(&s.create_dashboard(&s.org, "Old"));
    s.patch(
        &format!("/api/v2/dashboards/{d}"),
        &json!({"name": "Older"}),
    )
    .expect(200);
    let mut left = usize::MAX;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        left = versions(&s, &d).len();
        if left == 1 {
            break;
        }
    }
    assert_eq!(left, 1);
    assert_eq!(versions(&s, &d)[0]["version"], 2);
}

#[test]
fn history_routes_check_rights() {
    let s = Server::start();
    let d = id_of(&s.create_dashboard(&s.org, "Guarded"));
    s.patch(&format!("/api/v2/dashboards/{d}"), &json!({"name": "G2"}))
        .expect(200);
    let read_only = s
        .post(
            "/api/v2/authorizations",
            &json!({"orgID": s.org, "permissions": [{"action": "read", "resource": {"type": "dashboards", "orgID": s.org}}]}),
        )
        .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    let ro = s.as_token(&read_only);
    ro.get(&format!("/api/v2/dashboards/{d}/versions"))
        .expect(200);
    ro.get(&format!("/api/v2/dashboards/{d}/versions/1"))
        .expect(200);
    ro.get(&format!("/api/v2/dashboards/{d}/versions/1/diff/2"))
        .expect(200);
    ro.post(
        &format!("/api/v2/dashboards/{d}/versions/1/restore"),
        &json!({}),
    )
    .expect(401);

    // A token of another org sees nothing.
    let other = s.create_org("elsewhere");
    let theirs = s
        .post(
            "/api/v2/authorizations",
            &json!({"orgID": other, "permissions": [{"action": "read", "resource": {"type": "dashboards", "orgID": other}}, {"action": "write", "resource": {"type": "dashboards", "orgID": other}}]}),
        )
        .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    let them = s.as_token(&theirs);
    them.get(&format!("/api/v2/dashboards/{d}/versions"))
        .expect(401);
    them.post(
        &format!("/api/v2/dashboards/{d}/versions/1/restore"),
        &json!({}),
    )
    .expect(401);
    assert_eq!(versions(&s, &d).len(), 2);
}

#[test]
fn history_and_meta_survive_a_crash() {
    let mut s = Server::start();
    let d = id_of(&s.create_dashboard(&s.org, "Durable"));
    let seen = ui_session(&s, &d);
    s.crash_and_restart();
    let list = versions(&s, &d);
    assert_eq!(list.len(), seen.len());
    for (i, want) in seen.iter().enumerate() {
        let got = s
            .get(&format!("/api/v2/dashboards/{d}/versions/{}", i + 1))
            .expect(200)
            .clone();
        assert_eq!(&content(&got), want, "version {}", i + 1);
    }
    let dash = s
        .get(&format!("/api/v2/dashboards/{d}"))
        .expect(200)
        .clone();
    assert_eq!(dash["meta"]["createdBy"], s.user.as_str());
    assert_eq!(dash["meta"]["updatedBy"], s.user.as_str());
}
