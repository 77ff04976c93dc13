//! The dashboards tree over real HTTP: shapes, rules, errors, persistence.

mod common;

use common::{id_of, is_platform_id, Server};
use reqwest::Method;
use serde_json::{json, Value};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn assert_dashboard_shape(d: &Value, org: &str) {
    let id = d["id"].as_str().expect("id");
    assert!(is_platform_id(id), "{id}");
    assert_eq!(d["orgID"], org);
    // GET and list answers add the reader's default flags (tests/teams.rs).
    let reader_flags = ["isDefaultForOrg", "isDefaultForUser"];
    let mut k = keys(d);
    let flags: Vec<String> = k
        .extract_if(.., |k| reader_flags.contains(&k.as_str()))
        .collect();
    assert!(flags.is_empty() || flags == reader_flags, "{flags:?}");
    for f in &flags {
        assert!(d[f].is_boolean(), "{f}");
    }
    assert_eq!(
        k,
        [
            "cells",
            "description",
            "id",
            "labels",
            "links",
            "meta",
            "name",
            "orgID",
            "private"
        ]
    );
    assert!(d["private"].is_boolean());
    // InfluxDB's two times, and who created and last changed it (extra
    // fields clients ignore).
    assert_eq!(
        keys(&d["meta"]),
        ["createdAt", "createdBy", "updatedAt", "updatedBy"]
    );
    for k in ["createdAt", "updatedAt"] {
        let t = d["meta"][k].as_str().expect("time");
        assert!(
            t.ends_with('Z') && t.len() >= 20 && &t[10..11] == "T",
            "{t}"
        );
    }
    assert_eq!(d["labels"], json!([]));
    let base = format!("/api/v2/dashboards/{id}");
    assert_eq!(
        d["links"],
        json!({"self": base, "cells": format!("{base}/cells"), "members": format!("{base}/members"),
               "owners": format!("{base}/owners"), "labels": format!("{base}/labels"),
               "org": format!("/api/v2/orgs/{org}")})
    );
    for c in d["cells"].as_array().expect("cells") {
        let cid = c["id"].as_str().expect("cell id");
        assert!(is_platform_id(cid));
        assert_eq!(c["viewID"], cid);
        for k in ["x", "y", "w", "h"] {
            assert!(c[k].is_i64(), "{k} in {c}");
        }
        assert_eq!(
            c["links"],
            json!({"self": format!("{base}/cells/{cid}"), "view": format!("{base}/cells/{cid}/view")})
        );
    }
}

#[test]
fn create_get_patch_delete_dashboard() {
    let s = Server::start();
    let org = s.create_org("acme");
    // The Influx UI sends `cells: []`; unknown fields are ignored.
    let r = s.post(
        "/api/v2/dashboards",
        &json!({"orgID": org, "name": "Ops", "description": "d", "cells": [], "extra": 1}),
    );
    let d = r.expect(201).clone();
    assert_dashboard_shape(&d, &org);
    assert_eq!(d["name"], "Ops");
    assert_eq!(d["description"], "d");
    assert_eq!(d["meta"]["createdAt"], d["meta"]["updatedAt"]);
    assert!(r
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    let id = id_of(&d);

    let mut got = s
        .get(&format!("/api/v2/dashboards/{id}"))
        .expect(200)
        .clone();
    // GET adds the reader's default flags to what create answered.
    let flags = got.as_object_mut().expect("object");
    assert_eq!(flags.remove("isDefaultForUser"), Some(json!(false)));
    assert_eq!(flags.remove("isDefaultForOrg"), Some(json!(false)));
    assert_eq!(got, d);

    let p = s
        .patch(
            &format!("/api/v2/dashboards/{id}"),
            &json!({"name": "Ops 2"}),
        )
        .expect(200)
        .clone();
    assert_dashboard_shape(&p, &org);
    assert_eq!(p["name"], "Ops 2");
    assert_eq!(p["description"], "d");
    assert_eq!(p["meta"]["createdAt"], d["meta"]["createdAt"]);
    assert!(p["meta"]["updatedAt"].as_str() > d["meta"]["updatedAt"].as_str());
    let p = s
        .patch(
            &format!("/api/v2/dashboards/{id}"),
            &json!({"description": ""}),
        )
        .expect(200)
        .clone();
    assert_eq!(p["description"], "");
    assert_eq!(
        s.get(&format!("/api/v2/dashboards/{id}")).expect(200)["name"],
        "Ops 2"
    );

    s.patch(&format!("/api/v2/dashboards/{id}"), &json!({}))
        .expect_error(400, "invalid", "must update at least one attribute");

    assert_eq!(s.delete(&format!("/api/v2/dashboards/{id}")).status, 204);
    s.get(&format!("/api/v2/dashboards/{id}")).expect_error(
        404,
        "not found",
        "dashboard not found",
    );
    s.delete(&format!("/api/v2/dashboards/{id}")).expect_error(
        404,
        "not found",
        "dashboard not found",
    );
    s.patch(&format!("/api/v2/dashboards/{id}"), &json!({"name": "x"}))
        .expect_error(404, "not found", "dashboard not found");
}

#[test]
fn create_with_cells_and_include_properties() {
    let s = Server::start();
    let org = s.create_org("acme");
    let props = json!({"shape": "chronograf-v2", "type": "markdown", "note": "# hi"});
    let d = s
        .post(
            "/api/v2/dashboards",
            &json!({"orgID": org, "name": "With cells", "cells": [
                {"x": 0, "y": 0, "w": 4, "h": 3, "name": "Notes", "properties": props},
                {"x": 4, "y": 0, "w": 4, "h": 3}
            ]}),
        )
        .expect(201)
        .clone();
    assert_dashboard_shape(&d, &org);
    let cells = d["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 2);
    // Without include=properties cells carry no view.
    assert!(cells[0].get("properties").is_none() && cells[0].get("name").is_none());
    let id = id_of(&d);
    let full = s
        .get(&format!("/api/v2/dashboards/{id}?include=properties"))
        .expect(200)
        .clone();
    assert_eq!(full["cells"][0]["name"], "Notes");
    assert_eq!(full["cells"][0]["properties"], props);
    assert_eq!(full["cells"][1]["properties"], json!({"shape": "empty"}));
    assert!(full["cells"][1].get("name").is_none());
}

#[test]
fn create_rejects_bad_input_and_changes_nothing() {
    let s = Server::start_with(&["--max-body-bytes", "2048"]);
    let org = s.create_org("acme");
    s.post("/api/v2/dashboards", &json!({"name": "no org"}))
        .expect_error(400, "invalid", "organization id must be provided");
    s.post("/api/v2/dashboards", &json!({"orgID": org}))
        .expect_error(400, "invalid", "dashboard name is required");
    s.post(
        "/api/v2/dashboards",
        &json!({"orgID": "0000000000000abc", "name": "x"}),
    )
    .expect_error(404, "not found", "organization not found");
    s.post("/api/v2/dashboards", &json!({"orgID": "xyz", "name": "x"}))
        .expect_error(
            400,
            "invalid",
            "failed to unmarshal json: id must have a length of 16 bytes",
        );
    s.post("/api/v2/dashboards", &json!({"orgID": org, "name": 5}))
        .expect_error(400, "invalid", "failed to unmarshal json: ");
    s.post(
        "/api/v2/dashboards",
        &json!({"orgID": org, "name": "x", "cells": [{"x": -1}]}),
    )
    .expect_error(400, "invalid", "cell x, y, w and h must not be negative");
    s.post(
        "/api/v2/dashboards",
        &json!({"orgID": org, "name": "x", "cells": [{"properties": {"type": "pie"}}]}),
    )
    .expect_error(400, "invalid", "unknown view properties type");

    let malformed = s.send(
        s.authed(Method::POST, "/api/v2/dashboards")
            .header("content-type", "application/json")
            .body("{\"orgID\": "),
    );
    malformed.expect_error(400, "invalid", "failed to unmarshal json: ");
    let xml = s.send(
        s.authed(Method::POST, "/api/v2/dashboards")
            .header("content-type", "application/xml")
            .body("<a/>"),
    );
    xml.expect_error(415, "unsupported media type", "unsupported media type");
    let big = json!({"orgID": org, "name": "x".repeat(4000)});
    s.post("/api/v2/dashboards", &big).expect_error(
        413,
        "request too large",
        "request body is larger than the limit of 2048 bytes",
    );
    // Chunked (no Content-Length) bodies are cut off at the limit too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![b' '; 1500]), Ok(vec![b' '; 1500])];
    let body = reqwest::blocking::Body::new(std::io::Cursor::new(
        chunks
            .into_iter()
            .flat_map(|c| c.unwrap_or_default())
            .collect::<Vec<u8>>(),
    ));
    let r = s.send(
        s.authed(Method::POST, "/api/v2/dashboards")
            .header("content-type", "application/json")
            .body(body),
    );
    r.expect_error(413, "request too large", "request body");

    let list = s.get("/api/v2/dashboards").expect(200).clone();
    assert_eq!(
        list["dashboards"],
        json!([]),
        "a refused write left something behind"
    );
}

#[test]
fn ids_routes_and_methods_answer_in_the_envelope() {
    let s = Server::start();
    s.get("/api/v2/dashboards/abc").expect_error(
        400,
        "invalid",
        "id must have a length of 16 bytes",
    );
    s.get("/api/v2/dashboards/zzzzzzzzzzzzzzzz")
        .expect_error(400, "invalid", "invalid ID");
    s.get("/api/v2/dashboards/0000000000000000")
        .expect_error(400, "invalid", "invalid ID");
    s.get("/api/v2/dashboards/0000000000000001/cells/xyz/view")
        .expect_error(400, "invalid", "id must have a length of 16 bytes");
    s.get("/api/v2/dashboards/0000000000000001").expect_error(
        404,
        "not found",
        "dashboard not found",
    );
    s.get("/api/v2/nothing/here")
        .expect_error(404, "not found", "path not found");
    s.get("/nothing")
        .expect_error(404, "not found", "path not found");
    s.req(Method::PUT, "/api/v2/dashboards", None).expect_error(
        405,
        "method not allowed",
        "method PUT not allowed",
    );
    s.req(
        Method::DELETE,
        "/api/v2/dashboards/0000000000000001/cells",
        None,
    )
    .expect_error(405, "method not allowed", "");
    s.req(
        Method::POST,
        "/api/v2/dashboards/0000000000000001/cells/0000000000000002/view",
        None,
    )
    .expect_error(405, "method not allowed", "");
}

#[test]
fn request_ids_are_echoed_or_minted() {
    let s = Server::start();
    let r = s.send(
        s.authed(Method::GET, "/health")
            .header("x-request-id", "abc-123_x.y:z"),
    );
    assert_eq!(r.header("x-request-id"), Some("abc-123_x.y:z"));
    let r = s.send(
        s.authed(Method::GET, "/health")
            .header("x-request-id", "bad id with spaces"),
    );
    let minted = r.header("x-request-id").expect("minted").to_string();
    assert_eq!(minted.len(), 26, "a ULID: {minted}");
    let r = s.send(
        s.authed(Method::GET, "/health")
            .header("x-request-id", "a".repeat(500)),
    );
    assert_eq!(r.header("x-request-id").map(str::len), Some(26));
    let r = s.get("/api/v2/unknown");
    assert!(
        r.header("x-request-id").is_some(),
        "errors carry a request id too"
    );
}

#[test]
fn service_endpoints() {
    let s = Server::start();
    let h = s.get("/health").expect(200).clone();
    assert_eq!(h["name"], "influxdb");
    assert_eq!(h["status"], "pass");
    assert_eq!(h["message"], "ready for queries and writes");
    assert!(h["version"].is_string() && h["commit"].is_string());
    let p = s.get("/ping");
    assert_eq!(p.status, 204);
    assert!(p.header("x-influxdb-version").is_some() && p.header("x-influxdb-build").is_some());
    assert_eq!(s.req(Method::HEAD, "/ping", None).status, 204);
    let r = s.get("/ready").expect(200).clone();
    assert_eq!(r["status"], "ready");
    assert!(r["started"].is_string() && r["up"].is_string());
}

fn ids(list: &Value) -> Vec<String> {
    list["dashboards"]
        .as_array()
        .expect("dashboards")
        .iter()
        .map(id_of)
        .collect()
}

#[test]
fn list_filters_sorting_and_paging() {
    let s = Server::start();
    let a = s.create_org("a");
    let b = s.create_org("b org");
    let a_ids: Vec<String> = (0..5)
        .map(|i| id_of(&s.create_dashboard(&a, &format!("a{}", 5 - i))))
        .collect();
    let b_ids: Vec<String> = (0..3)
        .map(|i| id_of(&s.create_dashboard(&b, &format!("b{i}"))))
        .collect();
    let all: Vec<String> = a_ids.iter().chain(&b_ids).cloned().collect();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, all, "IDs grow with creation time");

    // Unfiltered: default page of 20, in ID order.
    let l = s.get("/api/v2/dashboards").expect(200).clone();
    assert_eq!(ids(&l), all);
    assert_eq!(
        l["links"],
        json!({"self": "/api/v2/dashboards?descending=false&limit=20&offset=0"})
    );

    // Paging with next/prev.
    let p1 = s.get("/api/v2/dashboards?limit=3").expect(200).clone();
    assert_eq!(ids(&p1), all[0..3]);
    assert_eq!(
        p1["links"]["next"],
        "/api/v2/dashboards?descending=false&limit=3&offset=3"
    );
    assert!(p1["links"].get("prev").is_none());
    let p2 = s
        .get("/api/v2/dashboards?limit=3&offset=3")
        .expect(200)
        .clone();
    assert_eq!(ids(&p2), all[3..6]);
    assert_eq!(
        p2["links"]["prev"],
        "/api/v2/dashboards?descending=false&limit=3&offset=0"
    );
    assert_eq!(
        p2["links"]["next"],
        "/api/v2/dashboards?descending=false&limit=3&offset=6"
    );
    let p3 = s
        .get("/api/v2/dashboards?limit=3&offset=6")
        .expect(200)
        .clone();
    assert_eq!(ids(&p3), all[6..8]);
    assert!(p3["links"].get("next").is_none());

    // Descending (any case, as the Python client sends `True`).
    let d = s
        .get("/api/v2/dashboards?descending=True&limit=2")
        .expect(200)
        .clone();
    assert_eq!(ids(&d), vec![all[7].clone(), all[6].clone()]);

    // Sort by name, and by UpdatedAt after touching the first dashboard.
    let n = s
        .get(&format!("/api/v2/dashboards?orgID={a}&sortBy=Name"))
        .expect(200)
        .clone();
    let names: Vec<&str> = n["dashboards"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["a1", "a2", "a3", "a4", "a5"]);
    s.patch(
        &format!("/api/v2/dashboards/{}", a_ids[0]),
        &json!({"description": "touched"}),
    )
    .expect(200);
    let u = s
        .get(&format!("/api/v2/dashboards?orgID={a}&sortBy=UpdatedAt"))
        .expect(200)
        .clone();
    assert_eq!(ids(&u).last(), Some(&a_ids[0]));
    let c = s
        .get(&format!(
            "/api/v2/dashboards?orgID={a}&sortBy=CreatedAt&descending=true"
        ))
        .expect(200)
        .clone();
    assert_eq!(ids(&c).first(), Some(&a_ids[4]));

    // orgID returns the whole org regardless of limit, as InfluxDB does.
    let o = s
        .get(&format!("/api/v2/dashboards?orgID={a}&limit=2"))
        .expect(200)
        .clone();
    assert_eq!(ids(&o), a_ids);
    assert!(o["links"]["self"]
        .as_str()
        .unwrap_or("")
        .contains(&format!("orgID={a}")));
    // org by name (URL-encoded), unknown name is 404.
    let o = s.get("/api/v2/dashboards?org=b%20org").expect(200).clone();
    assert_eq!(ids(&o), b_ids);
    s.get("/api/v2/dashboards?org=nope")
        .expect_error(404, "not found", "organization not found");
    // An orgID with no dashboards lists nothing.
    assert_eq!(
        ids(s
            .get("/api/v2/dashboards?orgID=00000000000000ff")
            .expect(200)),
        Vec::<String>::new()
    );

    // id filters: repeated keys, comma-joined (JS) and list repr (Python); id beats orgID.
    let want = vec![a_ids[1].clone(), b_ids[2].clone()];
    let r1 = s
        .get(&format!(
            "/api/v2/dashboards?id={}&id={}&orgID={a}",
            want[0], want[1]
        ))
        .expect(200)
        .clone();
    assert_eq!(ids(&r1), want);
    let r2 = s
        .get(&format!("/api/v2/dashboards?id={}%2C{}", want[0], want[1]))
        .expect(200)
        .clone();
    assert_eq!(ids(&r2), want);
    let py = format!("['{}', '{}']", want[0], want[1]);
    let enc: String = url_encode(&py);
    let r3 = s
        .get(&format!("/api/v2/dashboards?id={enc}"))
        .expect(200)
        .clone();
    assert_eq!(ids(&r3), want);
    // An owner filter matches only dashboards with that owner (none yet).
    let r4 = s
        .get(&format!("/api/v2/dashboards?owner={a}"))
        .expect(200)
        .clone();
    assert_eq!(ids(&r4), Vec::<String>::new());

    // Bad options.
    s.get("/api/v2/dashboards?limit=0").expect_error(
        400,
        "invalid",
        "limit must be between 1 and 100",
    );
    s.get("/api/v2/dashboards?limit=101").expect_error(
        400,
        "invalid",
        "limit must be between 1 and 100",
    );
    s.get("/api/v2/dashboards?limit=x")
        .expect_error(400, "invalid", "limit is invalid");
    s.get("/api/v2/dashboards?offset=-1")
        .expect_error(400, "invalid", "offset is invalid");
    s.get("/api/v2/dashboards?descending=maybe").expect_error(
        400,
        "invalid",
        "descending is invalid",
    );
    s.get("/api/v2/dashboards?orgID=123").expect_error(
        400,
        "invalid",
        "id must have a length of 16 bytes",
    );
    s.get("/api/v2/dashboards?id=zzzzzzzzzzzzzzzz")
        .expect_error(400, "invalid", "invalid ID");
}

#[test]
fn org_pages_when_limits_are_enforced() {
    let s = Server::start_with(&["--enforce-org-dashboard-limits"]);
    let a = s.create_org("a");
    let all: Vec<String> = (0..5)
        .map(|i| id_of(&s.create_dashboard(&a, &format!("d{i}"))))
        .collect();
    let p = s
        .get(&format!("/api/v2/dashboards?orgID={a}&limit=2&offset=2"))
        .expect(200)
        .clone();
    assert_eq!(ids(&p), all[2..4]);
    assert!(p["links"]["next"].is_string() && p["links"]["prev"].is_string());
    let p = s
        .get(&format!(
            "/api/v2/dashboards?orgID={a}&limit=2&descending=true"
        ))
        .expect(200)
        .clone();
    assert_eq!(ids(&p), vec![all[4].clone(), all[3].clone()]);
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn cells_add_patch_delete_and_views() {
    let s = Server::start();
    let org = s.create_org("acme");
    let d = id_of(&s.create_dashboard(&org, "grid"));
    let base = format!("/api/v2/dashboards/{d}");

    // The UI sends its own id, links and status: ignored.
    let c1 = s.add_cell(&d, json!({"x": 0, "y": 0, "w": 6, "h": 4, "name": "CPU", "id": "ui-1", "status": "Done", "links": {}}));
    let c1id = id_of(&c1);
    assert!(is_platform_id(&c1id));
    assert_eq!(keys(&c1), ["h", "id", "links", "viewID", "w", "x", "y"]);
    assert_eq!(
        (c1["x"].as_i64(), c1["w"].as_i64(), c1["h"].as_i64()),
        (Some(0), Some(6), Some(4))
    );
    assert_eq!(c1["links"]["view"], format!("{base}/cells/{c1id}/view"));

    let v = s
        .get(&format!("{base}/cells/{c1id}/view"))
        .expect(200)
        .clone();
    assert_eq!(
        v,
        json!({"id": c1id, "name": "CPU", "properties": {"shape": "empty"}, "links": {"self": format!("{base}/cells/{c1id}")}})
    );

    let props = json!({"shape": "chronograf-v2", "type": "xy", "queries": [{"text": "from(bucket: \"b\")", "editMode": "advanced", "name": "", "builderConfig": {"buckets": [], "tags": [], "functions": [], "aggregateWindow": {"period": "auto", "fillValues": false}}}],
        "axes": {"x": {"bounds": ["", ""], "label": "", "prefix": "", "suffix": "", "base": "10", "scale": "linear"}}, "colors": [], "geom": "line", "note": "", "showNoteWhenEmpty": false, "position": "overlaid", "unknownFutureField": {"kept": [1.50, 2e3]}});
    // The UI sends `status` in PATCH view bodies.
    let pv = s
        .patch(
            &format!("{base}/cells/{c1id}/view"),
            &json!({"properties": props, "status": "Done"}),
        )
        .expect(200)
        .clone();
    assert_eq!(pv["name"], "CPU");
    assert_eq!(pv["properties"], props);
    let pv = s
        .patch(
            &format!("{base}/cells/{c1id}/view"),
            &json!({"name": "CPU usage"}),
        )
        .expect(200)
        .clone();
    assert_eq!(pv["name"], "CPU usage");
    assert_eq!(
        pv["properties"], props,
        "a name-only patch keeps properties"
    );
    // Byte-exact round trip of what was sent.
    let raw = r#"{"shape":"chronograf-v2","type":"single-stat","queries":[],"prefix":"","suffix":"%","decimalPlaces":{"isEnforced":true,"digits":2},"weird":1.50}"#;
    let body = format!(r#"{{"properties":{raw}}}"#);
    s.send(
        s.authed(Method::PATCH, &format!("{base}/cells/{c1id}/view"))
            .header("content-type", "application/json")
            .body(body),
    )
    .expect(200);
    let text = s.get(&format!("{base}/cells/{c1id}/view")).text;
    assert!(text.contains(raw), "properties not byte-exact: {text}");

    // View patch errors change nothing.
    s.patch(&format!("{base}/cells/{c1id}/view"), &json!({}))
        .expect_error(
            400,
            "invalid",
            "expected at least one attribute to be updated",
        );
    s.patch(
        &format!("{base}/cells/{c1id}/view"),
        &json!({"properties": {"shape": "chronograf-v2", "type": "pie"}}),
    )
    .expect_error(400, "invalid", "unknown view properties type");
    s.patch(
        &format!("{base}/cells/{c1id}/view"),
        &json!({"properties": [1]}),
    )
    .expect_error(400, "invalid", "view properties must be a JSON object");
    s.patch(
        &format!("{base}/cells/{c1id}/view"),
        &json!({"properties": "xy"}),
    )
    .expect_error(400, "invalid", "view properties must be a JSON object");
    assert!(s
        .get(&format!("{base}/cells/{c1id}/view"))
        .text
        .contains(raw));

    // usingView copies the view; name overrides its name.
    let c2 = s.add_cell(
        &d,
        json!({"x": 6, "y": 0, "w": 6, "h": 4, "usingView": c1id}),
    );
    let c2id = id_of(&c2);
    let v2 = s
        .get(&format!("{base}/cells/{c2id}/view"))
        .expect(200)
        .clone();
    assert_eq!(v2["name"], "CPU usage");
    assert!(s
        .get(&format!("{base}/cells/{c2id}/view"))
        .text
        .contains(raw));
    let c3 = s.add_cell(&d, json!({"usingView": c1id, "name": "copy"}));
    assert_eq!(
        s.get(&format!("{base}/cells/{}/view", id_of(&c3)))
            .expect(200)["name"],
        "copy"
    );
    s.post(
        &format!("{base}/cells"),
        &json!({"usingView": "00000000000000aa", "x": 1}),
    )
    .expect_error(404, "not found", "view not found");
    s.post(&format!("{base}/cells"), &json!({}))
        .expect_error(400, "invalid", "req body is empty");
    let bad = s.send(s.authed(Method::POST, &format!("{base}/cells")).body("{"));
    bad.expect_error(400, "invalid", "bad request json body: ");
    s.post(
        "/api/v2/dashboards/00000000000000aa/cells",
        &json!({"x": 1}),
    )
    .expect_error(404, "not found", "dashboard not found");

    // Patch one cell.
    let pc = s
        .patch(&format!("{base}/cells/{c2id}"), &json!({"x": 1, "h": 9}))
        .expect(200)
        .clone();
    assert_eq!(
        (
            pc["x"].as_i64(),
            pc["y"].as_i64(),
            pc["w"].as_i64(),
            pc["h"].as_i64()
        ),
        (Some(1), Some(0), Some(6), Some(9))
    );
    s.patch(&format!("{base}/cells/{c2id}"), &json!({}))
        .expect_error(400, "invalid", "must update at least one attribute");
    s.patch(&format!("{base}/cells/{c2id}"), &json!({"w": -3}))
        .expect_error(400, "invalid", "cell x, y, w and h must not be negative");
    s.patch(&format!("{base}/cells/00000000000000aa"), &json!({"x": 1}))
        .expect_error(404, "not found", "cell not found");
    let dash = s.get(&base).expect(200).clone();
    let cell = dash["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["id"] == c2id.as_str())
        .cloned()
        .expect("cell");
    assert_eq!((cell["x"].as_i64(), cell["h"].as_i64()), (Some(1), Some(9)));

    // Delete a cell: its view goes too.
    assert_eq!(s.delete(&format!("{base}/cells/{c1id}")).status, 204);
    s.get(&format!("{base}/cells/{c1id}/view"))
        .expect_error(404, "not found", "cell not found");
    s.delete(&format!("{base}/cells/{c1id}"))
        .expect_error(404, "not found", "cell not found");
    let dash = s.get(&base).expect(200).clone();
    assert_eq!(dash["cells"].as_array().map(Vec::len), Some(2));
    s.get(&format!(
        "/api/v2/dashboards/00000000000000aa/cells/{c2id}/view"
    ))
    .expect_error(404, "not found", "dashboard not found");
}

#[test]
fn put_cells_replaces_the_grid() {
    let s = Server::start();
    let org = s.create_org("acme");
    let d = id_of(&s.create_dashboard(&org, "grid"));
    let base = format!("/api/v2/dashboards/{d}");
    let a = id_of(&s.add_cell(&d, json!({"x": 0, "y": 0, "w": 1, "h": 1, "name": "a"})));
    let b = id_of(&s.add_cell(&d, json!({"x": 1, "y": 0, "w": 1, "h": 1, "name": "b"})));
    let c = id_of(&s.add_cell(&d, json!({"x": 2, "y": 0, "w": 1, "h": 1, "name": "c"})));

    // Unknown id: 422 conflict, nothing changes.
    s.put(&format!("{base}/cells"), &json!([{"id": a, "x": 5, "y": 5, "w": 5, "h": 5}, {"id": "00000000000000aa", "x": 0, "y": 0, "w": 1, "h": 1}]))
        .expect_error(422, "conflict", "cannot replace cells that were not already present");
    s.put(
        &format!("{base}/cells"),
        &json!([{"x": 0, "y": 0, "w": 1, "h": 1}]),
    )
    .expect_error(400, "invalid", "cannot provide empty cell id");
    s.put(&format!("{base}/cells"), &json!({"cells": []}))
        .expect_error(400, "invalid", "bad request json body");
    s.put(&format!("{base}/cells"), &json!([{"id": a}, {"id": a}]))
        .expect_error(400, "invalid", "duplicate cell id");
    let before = s.get(&base).expect(200).clone();
    assert_eq!(before["cells"].as_array().map(Vec::len), Some(3));
    assert_eq!(before["cells"][0]["x"], 0);

    // The UI sends name, dashboardID, status, i and links on every cell.
    let body = json!([
        {"id": c, "x": 0, "y": 0, "w": 12, "h": 2, "name": "c", "dashboardID": d, "status": "Done", "i": c, "links": {"self": "x"}},
        {"id": a, "x": 0, "y": 2, "w": 6, "h": 4, "name": "a", "dashboardID": d, "status": "Done", "i": a, "links": {}}
    ]);
    let r = s.put(&format!("{base}/cells"), &body).expect(201).clone();
    assert_eq!(keys(&r), ["cells", "links"]);
    assert_eq!(r["links"], json!({"self": format!("{base}/cells")}));
    let got: Vec<(String, i64)> = r["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| (id_of(c), c["w"].as_i64().unwrap_or(-1)))
        .collect();
    assert_eq!(got, vec![(c.clone(), 12), (a.clone(), 6)]);

    let after = s
        .get(&format!("{base}?include=properties"))
        .expect(200)
        .clone();
    let order: Vec<String> = after["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(order, vec![c.clone(), a.clone()]);
    assert_eq!(
        after["cells"][0]["name"], "c",
        "kept cells keep their views"
    );
    // The dropped cell's view is gone with it.
    s.get(&format!("{base}/cells/{b}/view"))
        .expect_error(404, "not found", "cell not found");
    s.put("/api/v2/dashboards/00000000000000aa/cells", &json!([]))
        .expect_error(404, "not found", "dashboard not found");
    // An empty grid is a valid grid.
    assert_eq!(
        s.put(&format!("{base}/cells"), &json!([])).expect(201)["cells"],
        json!([])
    );
}

#[test]
fn patch_dashboard_cells_replaces_grid_and_views() {
    let s = Server::start();
    let org = s.create_org("acme");
    let d = id_of(&s.create_dashboard(&org, "grid"));
    let base = format!("/api/v2/dashboards/{d}");
    let a = id_of(&s.add_cell(&d, json!({"x": 0, "y": 0, "w": 1, "h": 1, "name": "a"})));
    let b = id_of(&s.add_cell(&d, json!({"x": 1, "y": 0, "w": 1, "h": 1, "name": "b"})));
    let md = json!({"shape": "chronograf-v2", "type": "markdown", "note": "new"});
    let r = s
        .patch(&base, &json!({"cells": [{"id": a, "x": 3, "y": 3, "w": 3, "h": 3}, {"x": 0, "y": 9, "w": 2, "h": 2, "name": "fresh", "properties": md}]}))
        .expect(200)
        .clone();
    let cells = r["cells"].as_array().expect("cells").clone();
    assert_eq!(cells.len(), 2);
    assert_eq!(id_of(&cells[0]), a);
    let fresh = id_of(&cells[1]);
    assert!(is_platform_id(&fresh) && fresh != b);
    assert_eq!(
        s.get(&format!("{base}/cells/{a}/view")).expect(200)["name"],
        "a"
    );
    assert_eq!(
        s.get(&format!("{base}/cells/{fresh}/view")).expect(200)["properties"],
        md
    );
    s.get(&format!("{base}/cells/{b}/view"))
        .expect_error(404, "not found", "cell not found");
}

#[test]
fn every_chart_type_round_trips() {
    let s = Server::start();
    let org = s.create_org("acme");
    let d = id_of(&s.create_dashboard(&org, "charts"));
    let fixtures = common::view_fixtures();
    let mut types: Vec<String> = Vec::new();
    for (name, text) in &fixtures {
        let cell = id_of(&s.add_cell(&d, json!({"x": 0, "y": 0, "w": 4, "h": 4, "name": name})));
        let path = format!("/api/v2/dashboards/{d}/cells/{cell}/view");
        let body = format!(r#"{{"name":"{name}","properties":{text}}}"#);
        let r = s.send(
            s.authed(Method::PATCH, &path)
                .header("content-type", "application/json")
                .body(body),
        );
        let sent: Value = serde_json::from_str(text).expect("fixture");
        assert_eq!(r.expect(200)["properties"], sent, "{name}");
        let back = s.get(&path);
        assert_eq!(back.expect(200)["properties"], sent, "{name}");
        // Byte-exact: the stored text is what was sent.
        let compact = serde_json::to_string(&serde_json::from_str::<Value>(text).expect("fixture"))
            .expect("json");
        let back_props = serde_json::to_string(&back.body["properties"]).expect("json");
        assert_eq!(back_props, compact, "{name}");
        types.push(sent["type"].as_str().unwrap_or_default().to_string());
    }
    for t in [
        "xy",
        "line-plus-single-stat",
        "single-stat",
        "gauge",
        "table",
        "simple-table",
        "markdown",
        "scatter",
        "heatmap",
        "histogram",
        "mosaic",
        "band",
        "geo",
        "check",
    ] {
        assert!(types.iter().any(|x| x == t), "no fixture for {t}");
    }
}

#[test]
fn community_templates_load_and_survive_a_crash() {
    let mut s = Server::start();
    let org = s.create_org("templates");
    let templates = common::template_dashboards();
    assert!(!templates.is_empty(), "fixtures missing");
    let mut made = Vec::new();
    for (file, t) in &templates {
        let mut body = t.clone();
        body["orgID"] = json!(org);
        let d = s.post("/api/v2/dashboards", &body).expect(201).clone();
        assert_eq!(
            d["cells"].as_array().map(Vec::len),
            t["cells"].as_array().map(Vec::len),
            "{file}"
        );
        made.push((id_of(&d), t.clone()));
    }
    let check = |s: &Server| {
        for (id, t) in &made {
            let full = s
                .get(&format!("/api/v2/dashboards/{id}?include=properties"))
                .expect(200)
                .clone();
            assert_eq!(full["name"], t["name"]);
            for (got, want) in full["cells"]
                .as_array()
                .expect("cells")
                .iter()
                .zip(t["cells"].as_array().expect("cells"))
            {
                assert_eq!(got["properties"], want["properties"]);
                assert_eq!(got["name"], want["name"]);
                assert_eq!(got["w"], want["w"]);
            }
        }
    };
    check(&s);
    s.crash_and_restart();
    check(&s);
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let mut s = Server::start();
    let org = s.create_org("acme");
    let d = id_of(&s.create_dashboard(&org, "durable"));
    let base = format!("/api/v2/dashboards/{d}");
    let c = id_of(&s.add_cell(&d, json!({"x": 1, "y": 2, "w": 3, "h": 4, "name": "n"})));
    s.patch(
        &format!("{base}/cells/{c}/view"),
        &json!({"properties": {"shape": "chronograf-v2", "type": "markdown", "note": "kept"}}),
    )
    .expect(200);
    let gone = id_of(&s.create_dashboard(&org, "deleted"));
    assert_eq!(s.delete(&format!("/api/v2/dashboards/{gone}")).status, 204);
    let before = s
        .get(&format!("{base}?include=properties"))
        .expect(200)
        .clone();
    // Kill immediately after the last acknowledgement.
    s.crash_and_restart();
    assert_eq!(
        s.get(&format!("{base}?include=properties"))
            .expect(200)
            .clone(),
        before
    );
    s.get(&format!("/api/v2/dashboards/{gone}")).expect_error(
        404,
        "not found",
        "dashboard not found",
    );
    let orgs = s.get("/api/v2/orgs").expect(200).clone();
    assert!(orgs["orgs"]
        .as_array()
        .expect("orgs")
        .iter()
        .any(|o| o["name"] == "acme"));
    // IDs keep growing after a restart.
    let after = id_of(&s.create_dashboard(&org, "later"));
    assert!(after > d && after > gone);
}

#[test]
fn concurrent_cell_and_view_updates_lose_nothing() {
    let s = Server::start();
    let org = s.create_org("acme");
    let d = id_of(&s.create_dashboard(&org, "busy"));
    let base = format!("/api/v2/dashboards/{d}");
    let cells: Vec<String> = (0..8)
        .map(|i| {
            id_of(&s.add_cell(
                &d,
                json!({"x": i, "y": 0, "w": 1, "h": 1, "name": format!("c{i}")}),
            ))
        })
        .collect();
    let rounds = 15;
    std::thread::scope(|scope| {
        for (i, cell) in cells.iter().enumerate() {
            let s = &s;
            let base = &base;
            scope.spawn(move || {
                for r in 0..rounds {
                    s.patch(&format!("{base}/cells/{cell}"), &json!({"y": r})).expect(200);
                    let note = format!("cell {i} round {r}");
                    s.patch(&format!("{base}/cells/{cell}/view"), &json!({"properties": {"shape": "chronograf-v2", "type": "markdown", "note": note}})).expect(200);
                }
            });
        }
        // A grid rewriter keeps every cell but moves them around.
        let s = &s;
        let cells = &cells;
        let base = &base;
        scope.spawn(move || {
            for _ in 0..rounds {
                let grid: Vec<Value> = cells
                    .iter()
                    .rev()
                    .map(|c| json!({"id": c, "x": 0, "y": 0, "w": 2, "h": 2}))
                    .collect();
                s.put(&format!("{base}/cells"), &json!(grid)).expect(201);
            }
        });
    });
    let full = s
        .get(&format!("{base}?include=properties"))
        .expect(200)
        .clone();
    let got = full["cells"].as_array().expect("cells");
    assert_eq!(got.len(), cells.len());
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
        assert_eq!(c["name"], format!("c{i}"));
    }
}

#[test]
fn second_process_on_the_same_directory_is_refused() {
    if common::skip_on_postgres("the data directory lock is sled's") {
        return;
    }
    let s = Server::start();
    let out = std::process::Command::new(common::bin())
        .args(["--http-bind-address", "127.0.0.1:0", "--data-dir"])
        .arg(s.data_dir())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another Tessera process"), "{err}");
    // The first server still works.
    s.get("/health").expect(200);
}

#[test]
fn unusable_data_directories_fail_clearly() {
    if common::skip_on_postgres("data directories are sled's") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    let out = std::process::Command::new(common::bin())
        .args(["--http-bind-address", "127.0.0.1:0", "--data-dir"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create data directory"));

    // A directory holding something that is not a Tessera store.
    let foreign = dir.path().join("foreign");
    {
        let db = sled::open(&foreign).expect("sled");
        db.insert(b"k", b"v").expect("insert");
        db.flush().expect("flush");
    }
    let out = std::process::Command::new(common::bin())
        .args(["--http-bind-address", "127.0.0.1:0", "--data-dir"])
        .arg(&foreign)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not written by Tessera"));
}

#[test]
fn orgs_crud() {
    let s = Server::start();
    let o = s
        .post("/api/v2/orgs", &json!({"name": "acme", "description": "x"}))
        .expect(201)
        .clone();
    let id = id_of(&o);
    assert_eq!(o["links"]["self"], format!("/api/v2/orgs/{id}"));
    assert_eq!(o["links"]["dashboards"], "/api/v2/dashboards?org=acme");
    s.post("/api/v2/orgs", &json!({"name": "acme"}))
        .expect_error(
            422,
            "conflict",
            "organization with name acme already exists",
        );
    s.post("/api/v2/orgs", &json!({"name": ""}))
        .expect_error(400, "invalid", "org name is empty");
    assert_eq!(
        s.get(&format!("/api/v2/orgs/{id}")).expect(200)["name"],
        "acme"
    );
    assert_eq!(
        s.get("/api/v2/orgs?org=acme").expect(200)["orgs"][0]["id"],
        id.as_str()
    );
    s.get("/api/v2/orgs?org=none")
        .expect_error(404, "not found", "organization not found");
    let p = s
        .patch(&format!("/api/v2/orgs/{id}"), &json!({"name": "acme2"}))
        .expect(200)
        .clone();
    assert_eq!(p["name"], "acme2");
    s.get("/api/v2/orgs?org=acme")
        .expect_error(404, "not found", "organization not found");
    let d = id_of(&s.create_dashboard(&id, "x"));
    assert_eq!(s.delete(&format!("/api/v2/orgs/{id}")).status, 204);
    s.get(&format!("/api/v2/dashboards/{d}"))
        .expect_error(404, "not found", "dashboard not found");
    s.get(&format!("/api/v2/orgs/{id}"))
        .expect_error(404, "not found", "organization not found");
}

/// Every page of `org`, `limit` at a time, ascending and descending, against
/// the IDs it must hold in order; each item is what a GET of it answers.
fn check_pages(s: &Server, org: &str, want: &[String], limit: usize) {
    for descending in [false, true] {
        let mut got = Vec::new();
        let mut offset = 0;
        loop {
            let p = s
                .get(&format!(
                    "/api/v2/dashboards?orgID={org}&limit={limit}&offset={offset}&descending={descending}"
                ))
                .expect(200)
                .clone();
            let items = p["dashboards"].as_array().expect("dashboards").clone();
            assert_eq!(
                p["links"]["next"].is_string(),
                items.len() == limit,
                "{org} offset {offset}: {}",
                p["links"]
            );
            for d in &items {
                let one = s
                    .get(&format!("/api/v2/dashboards/{}", id_of(d)))
                    .expect(200)
                    .clone();
                assert_eq!(*d, one, "a list item differs from its GET");
            }
            got.extend(items.iter().map(id_of));
            if items.len() < limit {
                break;
            }
            offset += limit;
        }
        let mut want = want.to_vec();
        if descending {
            want.reverse();
        }
        assert_eq!(got, want, "{org}, descending={descending}");
    }
}

/// Pages come from an index of each org's dashboards (in memory on sled):
/// creates, deletes, restores, clones into another org and label changes
/// must all show on deep pages at once, and after a restart.
#[test]
fn deep_pages_follow_every_write_and_a_restart() {
    let mut s = Server::start_with(&["--enforce-org-dashboard-limits"]);
    let a = s.create_org("index a");
    let b = s.create_org("index b");
    let mut in_a: Vec<String> = (0..23)
        .map(|i| id_of(&s.create_dashboard(&a, &format!("a{i}"))))
        .collect();
    let mut in_b: Vec<String> = (0..4)
        .map(|i| id_of(&s.create_dashboard(&b, &format!("b{i}"))))
        .collect();
    // Lists load the index before the writes below.
    check_pages(&s, &a, &in_a, 5);
    check_pages(&s, &b, &in_b, 5);

    let label = id_of(
        &s.post("/api/v2/labels", &json!({"orgID": a, "name": "deep"}))
            .expect(201)["label"],
    );
    let label2 = id_of(
        &s.post("/api/v2/labels", &json!({"orgID": a, "name": "deeper"}))
            .expect(201)["label"],
    );
    for d in [&in_a[20], &in_a[21], &in_a[3]] {
        s.post(
            &format!("/api/v2/dashboards/{d}/labels"),
            &json!({"labelID": label}),
        )
        .expect(201);
    }
    s.post(
        &format!("/api/v2/dashboards/{}/labels", in_a[21]),
        &json!({"labelID": label2}),
    )
    .expect(201);
    s.delete(&format!("/api/v2/dashboards/{}/labels/{label}", in_a[20]))
        .expect(204);
    // Deletes at the front, the middle and the end; a rename.
    for at in [22, 11, 0] {
        let d = in_a.remove(at);
        s.delete(&format!("/api/v2/dashboards/{d}")).expect(204);
    }
    s.patch(
        &format!("/api/v2/dashboards/{}", in_a[5]),
        &json!({"name": "renamed"}),
    )
    .expect(200);
    // A clone into the other org, and a restore from the trash.
    let cloned = id_of(
        &s.post(
            &format!("/api/v2/dashboards/{}/clone", in_a[2]),
            &json!({"orgID": b}),
        )
        .expect(201)
        .clone(),
    );
    in_b.push(cloned);
    let gone = in_b.remove(1);
    s.delete(&format!("/api/v2/dashboards/{gone}")).expect(204);
    check_pages(&s, &a, &in_a, 5);
    check_pages(&s, &b, &in_b, 5);
    s.post(
        &format!("/api/v2/trash/dashboards/{gone}/restore"),
        &json!({}),
    )
    .expect(200);
    in_b.insert(1, gone);
    in_a.push(id_of(&s.create_dashboard(&a, "late")));
    check_pages(&s, &a, &in_a, 5);
    check_pages(&s, &b, &in_b, 5);
    // Deleting a label takes it off every dashboard's list item.
    s.delete(&format!("/api/v2/labels/{label2}")).expect(204);
    check_pages(&s, &a, &in_a, 4);

    // Paging applies after the permission filter: a token that may read
    // three of the org's dashboards pages through those three.
    let some = [in_a[1].clone(), in_a[7].clone(), in_a[15].clone()];
    let perms: Vec<Value> = some
        .iter()
        .map(|d| json!({"action": "read", "resource": {"type": "dashboards", "id": d}}))
        .collect();
    let t = s
        .post(
            "/api/v2/authorizations",
            &json!({"orgID": a, "permissions": perms}),
        )
        .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    let page = |offset: usize| {
        ids(&s
            .as_token(&t)
            .get(&format!(
                "/api/v2/dashboards?orgID={a}&limit=2&offset={offset}"
            ))
            .expect(200)
            .clone())
    };
    assert_eq!(page(0), some[..2]);
    assert_eq!(page(2), some[2..]);

    s.terminate();
    s.start_again();
    check_pages(&s, &a, &in_a, 5);
    check_pages(&s, &b, &in_b, 7);
}
