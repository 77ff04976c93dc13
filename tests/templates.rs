//! Templates over real HTTP: `/api/v2/templates/apply` and `/export`,
//! `/api/v2/stacks`, with InfluxData's community templates.

mod common;

use common::{Cred, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every community template file, as (stem, YAML text).
fn community_templates() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(fixtures().join("templates"))
        .expect("templates dir")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "yml"))
        .map(|e| {
            (
                e.path()
                    .file_stem()
                    .expect("stem")
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read_to_string(e.path()).expect("template"),
            )
        })
        .collect();
    out.sort();
    out
}

/// A multi-document YAML template as the JSON array of its objects.
fn yaml_objects(text: &str) -> Value {
    use serde::Deserialize;
    let docs: Vec<Value> = serde_norway::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("yaml doc"))
        .filter(|v| !v.is_null())
        .collect();
    Value::Array(docs)
}

fn apply(s: &Server, org: &str, contents: Value, dry_run: bool) -> common::Resp {
    s.post(
        "/api/v2/templates/apply",
        &json!({"orgID": org, "dryRun": dry_run, "template": {"contentType": "json", "contents": contents}}),
    )
}

fn dashboards(s: &Server, org: &str) -> Vec<Value> {
    s.get(&format!("/api/v2/dashboards?orgID={org}"))
        .expect(200)["dashboards"]
        .as_array()
        .expect("dashboards")
        .clone()
}

/// A dashboard's cells with their views, in a stable order.
fn cells(s: &Server, id: &str) -> Vec<Value> {
    let d = s
        .get(&format!("/api/v2/dashboards/{id}?include=properties"))
        .expect(200)
        .clone();
    let mut out: Vec<Value> = d["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| json!({"x": c["x"], "y": c["y"], "w": c["w"], "h": c["h"], "name": c["name"], "properties": c["properties"]}))
        .collect();
    out.sort_by_key(|c| c.to_string());
    out
}

fn summary_ids(body: &Value, kind: &str) -> Vec<String> {
    body["summary"][kind]
        .as_array()
        .expect("summary list")
        .iter()
        .map(|d| format!("{:016x}", d["id"].as_u64().expect("numeric SafeID")))
        .collect()
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Every community template applies; its views are what the independent
/// fixture conversion expects; exporting and applying the export into a
/// second org gives identical cells and views.
#[test]
fn community_templates_apply_export_and_round_trip() {
    let s = Server::start();
    let other = s.create_org("elsewhere");
    let mut round_tripped = 0;
    let mut matched_fixtures = 0;
    for (stem, text) in community_templates() {
        let objects = yaml_objects(&text);
        let before = dashboards(&s, &s.org).len();
        let dry = apply(&s, &s.org, objects.clone(), true);
        let dry = dry.expect(200).clone();
        assert_eq!(
            dashboards(&s, &s.org).len(),
            before,
            "{stem}: dry run created something"
        );
        assert_eq!(dry["stackID"], "", "{stem}");
        assert!(dry["summary"]["dashboards"][0]["id"].is_number(), "{stem}");

        let applied = apply(&s, &s.org, objects, false).expect(201).clone();
        assert!(
            applied["stackID"].as_str().is_some_and(|id| id.len() == 16),
            "{stem}"
        );
        let skipped = applied["summary"]["skippedResources"]
            .as_array()
            .expect("skipped")
            .len();
        let unsupported = text.matches("\nkind: Telegraf").count()
            + text.matches("\nkind: Check").count()
            + text.matches("\nkind: Notification").count()
            + text.matches("\nkind: Task").count();
        assert_eq!(skipped, unsupported, "{stem}: skipped kinds");
        let ids = summary_ids(&applied, "dashboards");
        assert!(!ids.is_empty(), "{stem}");
        for (i, id) in ids.iter().enumerate() {
            let got = cells(&s, id);
            let name = applied["summary"]["dashboards"][i]["name"]
                .as_str()
                .expect("name");
            let fixture = fixtures().join(format!("dashboards/{stem}--{}.json", slug(name)));
            if let Ok(text) = std::fs::read_to_string(&fixture) {
                let want: Value = serde_json::from_str(&text).expect("fixture");
                let mut want_cells: Vec<Value> = want["cells"].as_array().expect("cells").clone();
                want_cells.sort_by_key(|c| c.to_string());
                assert_eq!(got.len(), want_cells.len(), "{stem}/{name}");
                for (g, w) in got.iter().zip(&want_cells) {
                    assert_eq!(
                        g, w,
                        "{stem}/{name}: view differs from the fixture conversion"
                    );
                }
                matched_fixtures += 1;
            }

            let exported = s
                .post(
                    "/api/v2/templates/export",
                    &json!({"resources": [{"kind": "Dashboard", "id": id}]}),
                )
                .expect(200)
                .clone();
            let again = apply(&s, &other, exported, false).expect(201).clone();
            let copy = &summary_ids(&again, "dashboards")[0];
            assert_eq!(
                cells(&s, copy),
                got,
                "{stem}/{name}: views differ after the round trip"
            );
            round_tripped += 1;
        }
    }
    assert_eq!(round_tripped, 9, "every community dashboard round-trips");
    assert_eq!(
        matched_fixtures, 9,
        "every dashboard checked against its fixture"
    );
}

#[test]
fn yaml_bodies_strings_and_multi_documents() {
    let s = Server::start();
    let (_, text) = community_templates()
        .into_iter()
        .find(|(n, _)| n == "docker")
        .expect("docker");
    // The template's text as a string, in a JSON request.
    let r = s.post(
        "/api/v2/templates/apply",
        &json!({"orgID": s.org, "template": {"contentType": "yaml", "contents": text}}),
    );
    r.expect(201);
    // A YAML request body, with two templates.
    let label = "apiVersion: influxdata.com/v2alpha1\nkind: Label\nmetadata:\n  name: yaml-label\nspec:\n  name: from-yaml\n  color: '#ff0000'\n";
    let dash = "apiVersion: influxdata.com/v2alpha1\nkind: Dashboard\nmetadata:\n  name: yaml-dash\nspec:\n  name: From YAML\n  associations:\n    - kind: Label\n      name: yaml-label\n  charts:\n    - kind: Markdown\n      name: note\n      note: hello\n      width: 3\n      height: 2\n";
    let body = format!(
        "orgID: {}\ntemplates:\n  - contentType: yaml\n    contents: {}\n  - contentType: yaml\n    contents: {}\n",
        s.org,
        serde_json::to_string(label).expect("quote"),
        serde_json::to_string(dash).expect("quote"),
    );
    let r = s.send(
        s.authed(Method::POST, "/api/v2/templates/apply")
            .header("content-type", "application/x-yaml")
            .body(body),
    );
    let body = r.expect(201).clone();
    assert_eq!(
        body["summary"]["labelMappings"][0]["labelName"],
        "from-yaml"
    );
    let id = &summary_ids(&body, "dashboards")[0];
    let d = s
        .get(&format!("/api/v2/dashboards/{id}"))
        .expect(200)
        .clone();
    assert_eq!(d["labels"][0]["name"], "from-yaml");
    assert_eq!(d["labels"][0]["properties"]["color"], "#ff0000");
    let c = cells(&s, id);
    assert_eq!(
        c[0]["properties"],
        json!({"shape": "chronograf-v2", "type": "markdown", "note": "hello"})
    );
}

#[test]
fn stack_reapply_updates_in_place_and_uninstall_removes() {
    let s = Server::start();
    let (_, text) = community_templates()
        .into_iter()
        .find(|(n, _)| n == "docker")
        .expect("docker");
    let objects = yaml_objects(&text);
    let first = apply(&s, &s.org, objects.clone(), false)
        .expect(201)
        .clone();
    let stack = first["stackID"].as_str().expect("stack").to_string();
    let dash = summary_ids(&first, "dashboards");
    let labels = summary_ids(&first, "labels");
    let n = dashboards(&s, &s.org).len();

    let again = s
        .post(
            "/api/v2/templates/apply",
            &json!({"orgID": s.org, "stackID": stack, "template": {"contents": objects}}),
        )
        .expect(201)
        .clone();
    assert_eq!(again["stackID"], stack.as_str());
    assert_eq!(
        summary_ids(&again, "dashboards"),
        dash,
        "same dashboard IDs"
    );
    assert_eq!(summary_ids(&again, "labels"), labels, "same label IDs");
    assert_eq!(again["diff"]["dashboards"][0]["stateStatus"], "exists");
    assert_eq!(dashboards(&s, &s.org).len(), n, "no duplicates");
    let all_labels = s
        .get(&format!("/api/v2/labels?orgID={}", s.org))
        .expect(200)["labels"]
        .as_array()
        .expect("labels")
        .len();
    assert_eq!(all_labels, labels.len());

    // The stack as pkger shows it.
    let st = s
        .get(&format!("/api/v2/stacks/{stack}"))
        .expect(200)
        .clone();
    assert_eq!(st["orgID"], s.org.as_str());
    assert_eq!(st["eventType"], "update");
    assert_eq!(st["events"].as_array().expect("events").len(), 3);
    let res = st["resources"].as_array().expect("resources");
    let d = res
        .iter()
        .find(|r| r["kind"] == "Dashboard")
        .expect("dashboard resource");
    assert_eq!(d["resourceID"], dash[0].as_str());
    assert_eq!(
        d["links"]["self"],
        format!("/api/v2/dashboards/{}", dash[0])
    );
    assert_eq!(d["apiVersion"], "influxdata.com/v2alpha1");
    assert!(d["associations"][0]["metaName"].is_string());
    let listed = s
        .get(&format!("/api/v2/stacks?orgID={}&stackID={stack}", s.org))
        .expect(200)
        .clone();
    assert_eq!(listed["stacks"].as_array().expect("stacks").len(), 1);

    // A template without the dashboard removes it from the org.
    let only_labels: Vec<Value> = objects
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["kind"] == "Label")
        .cloned()
        .collect();
    let third = s
        .post(
            "/api/v2/templates/apply",
            &json!({"orgID": s.org, "stackID": stack, "template": {"contents": only_labels}}),
        )
        .expect(201)
        .clone();
    assert_eq!(third["diff"]["dashboards"][0]["stateStatus"], "remove");
    s.get(&format!("/api/v2/dashboards/{}", dash[0]))
        .expect(404);

    // Uninstall removes the rest; the stack remains with an uninstall event.
    let un = s
        .post(
            &format!("/api/v2/stacks/{stack}/uninstall?orgID={}", s.org),
            &json!({}),
        )
        .expect(200)
        .clone();
    assert_eq!(un["eventType"], "uninstall");
    assert_eq!(un["resources"], json!([]));
    for l in &labels {
        s.get(&format!("/api/v2/labels/{l}")).expect(404);
    }
    s.delete(&format!("/api/v2/stacks/{stack}?orgID={}", s.org))
        .expect(204);
    s.get(&format!("/api/v2/stacks/{stack}")).expect(404);
}

#[test]
fn stacks_create_patch_list_delete() {
    let s = Server::start();
    let st = s
        .post(
            "/api/v2/stacks",
            &json!({"orgID": s.org, "name": "mine", "description": "d", "urls": []}),
        )
        .expect(201)
        .clone();
    let id = st["id"].as_str().expect("id").to_string();
    assert_eq!(st["eventType"], "create");
    assert_eq!(st["resources"], json!([]));
    let p = s
        .patch(&format!("/api/v2/stacks/{id}"), &json!({"name": "renamed"}))
        .expect(200)
        .clone();
    assert_eq!(p["name"], "renamed");
    assert_eq!(p["eventType"], "update");
    let l = s
        .get(&format!("/api/v2/stacks?orgID={}&name=renamed", s.org))
        .expect(200)
        .clone();
    assert_eq!(l["stacks"][0]["id"], id.as_str());
    let none = s
        .get(&format!("/api/v2/stacks?orgID={}&name=other", s.org))
        .expect(200)
        .clone();
    assert_eq!(none["stacks"], json!([]));
    s.get("/api/v2/stacks")
        .expect_error(400, "invalid", "organization id");
    s.delete(&format!("/api/v2/stacks/{id}")).expect_error(
        400,
        "invalid",
        "the orgID query param is required",
    );
    s.delete(&format!("/api/v2/stacks/{id}?orgID={}", s.org))
        .expect(204);
    s.get(&format!("/api/v2/stacks/{id}")).expect(404);
}

#[test]
fn bad_templates_are_4xx_and_create_nothing() {
    let s = Server::start();
    let org = s.org.clone();
    let count = |s: &Server| dashboards(s, &s.org).len();
    // Malformed YAML and JSON text.
    for (ct, text) in [("yaml", "kind: [unclosed"), ("json", "{\"kind\": ")] {
        let r = s.post(
            "/api/v2/templates/apply",
            &json!({"orgID": org, "template": {"contentType": ct, "contents": text}}),
        );
        r.expect_error(400, "invalid", "template[0] from source(s)");
    }
    // An unknown kind and a nameless dashboard: pkger's errors, 422.
    let bad = json!([
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Dashboard", "metadata": {"name": "ok"}, "spec": {"name": "fine"}},
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Widget", "metadata": {"name": "w"}},
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Dashboard", "metadata": {}, "spec": {}}
    ]);
    for dry in [true, false] {
        let r = apply(&s, &org, bad.clone(), dry);
        let body = r.expect(422).clone();
        assert_eq!(body["code"], "unprocessable entity");
        let errs = body["errors"].as_array().expect("errors");
        assert_eq!(errs[0]["kind"], "Widget");
        assert_eq!(errs[0]["fields"], json!(["root", "kind"]));
        assert_eq!(errs[0]["idxs"], json!([1, null]));
        assert_eq!(errs[0]["reason"], "unsupported kind provided");
        assert_eq!(errs[1]["kind"], "Dashboard");
        assert_eq!(errs[1]["fields"], json!(["root", "metadata", "name"]));
        assert_eq!(errs[1]["idxs"], json!([2, null, null]));
    }
    // A chart without axes, and an empty template.
    let chart = json!([{"apiVersion": "influxdata.com/v2alpha1", "kind": "Dashboard", "metadata": {"name": "d"},
        "spec": {"name": "dash", "charts": [{"kind": "Xy", "geom": "line", "width": 2, "height": 2}]}}]);
    let body = apply(&s, &org, chart, false).expect(422).clone();
    assert_eq!(
        body["errors"][0]["fields"],
        json!(["root", "spec", "charts", "axes"])
    );
    assert_eq!(body["errors"][0]["idxs"], json!([0, null, 0, null]));
    apply(&s, &org, json!([]), false).expect(422);
    // Unrecognisable JSON and a legacy file of an unknown type.
    apply(&s, &org, json!({"hello": "world"}), false).expect(422);
    // Unknown org and stack.
    let ok = json!([{"apiVersion": "influxdata.com/v2alpha1", "kind": "Label", "metadata": {"name": "l"}, "spec": {"name": "lbl"}}]);
    apply(&s, "0000000000000abc", ok.clone(), false).expect(422);
    apply(&s, "nope", ok.clone(), false).expect_error(
        400,
        "invalid",
        "invalid organization ID provided",
    );
    s.post(
        "/api/v2/templates/apply",
        &json!({"orgID": org, "stackID": "0000000000000abc", "template": {"contents": ok}}),
    )
    .expect(404);
    s.send(
        s.authed(Method::POST, "/api/v2/templates/apply")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .expect_error(400, "invalid", "unable to unmarshal json");
    assert_eq!(count(&s), 0);
    assert_eq!(
        s.get(&format!("/api/v2/labels?orgID={org}")).expect(200)["labels"],
        json!([])
    );
    assert_eq!(
        s.get(&format!("/api/v2/stacks?orgID={org}")).expect(200)["stacks"],
        json!([])
    );
}

#[test]
fn legacy_dashboard_files_apply() {
    let s = Server::start();
    let props = json!({"shape": "chronograf-v2", "type": "single-stat", "queries": [{"text": "from(bucket: \"b\")", "editMode": "advanced", "name": "", "builderConfig": {"buckets": [], "tags": [], "functions": [], "aggregateWindow": {"period": "", "fillValues": false}}}], "prefix": "", "suffix": "%", "colors": [], "decimalPlaces": {"isEnforced": true, "digits": 2}, "note": "", "showNoteWhenEmpty": false, "tickPrefix": "", "tickSuffix": ""});
    let legacy = json!({
        "meta": {"version": "1", "type": "dashboard", "name": "Old-Template", "description": "template created from dashboard: Old"},
        "content": {
            "data": {"type": "dashboard", "attributes": {"name": "Old", "description": "from 2.0"},
                "relationships": {"label": {"data": [{"type": "label", "id": "l1"}]},
                    "cell": {"data": [{"type": "cell", "id": "c1"}]}, "variable": {"data": []}}},
            "included": [
                {"id": "c1", "type": "cell", "attributes": {"x": 1, "y": 2, "w": 3, "h": 4},
                 "relationships": {"view": {"data": {"type": "view", "id": "c1"}}}},
                {"type": "view", "id": "c1", "attributes": {"name": "CPU", "properties": props}},
                {"type": "label", "id": "l1", "attributes": {"name": "old-label", "properties": {"color": "#00ff00", "description": ""}}}
            ]
        },
        "labels": []
    });
    let body = apply(&s, &s.org, legacy, false).expect(201).clone();
    let id = &summary_ids(&body, "dashboards")[0];
    let d = s
        .get(&format!("/api/v2/dashboards/{id}"))
        .expect(200)
        .clone();
    assert_eq!(d["name"], "Old");
    assert_eq!(d["description"], "from 2.0");
    assert_eq!(d["labels"][0]["name"], "old-label");
    let c = cells(&s, id);
    assert_eq!(
        c,
        vec![json!({"x": 1, "y": 2, "w": 3, "h": 4, "name": "CPU", "properties": props})]
    );
}

#[test]
fn skip_actions_env_refs_and_export_filters() {
    let s = Server::start();
    let t = json!([
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Label", "metadata": {"name": "a"}, "spec": {"name": "alpha"}},
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Bucket", "metadata": {"name": "b"},
         "spec": {"name": {"envRef": {"key": "bucket-name"}}, "retentionRules": [{"type": "expire", "everySeconds": 7200}],
                  "associations": [{"kind": "Label", "name": "a"}]}},
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Variable", "metadata": {"name": "v"},
         "spec": {"name": "host", "type": "constant", "values": ["a", "b"], "associations": [{"kind": "Label", "name": "a"}]}},
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Dashboard", "metadata": {"name": "d"}, "spec": {"name": "skipped dash"}}
    ]);
    let dry = apply(&s, &s.org, t.clone(), true).expect(200).clone();
    assert_eq!(dry["summary"]["missingEnvRefs"], json!(["bucket-name"]));
    assert_eq!(dry["summary"]["buckets"][0]["name"], "env-bucket-name");
    let r = s
        .post(
            "/api/v2/templates/apply",
            &json!({"orgID": s.org, "envRefs": {"bucket-name": "metrics"}, "template": {"contents": t},
                    "actions": [{"action": "skipKind", "properties": {"kind": "Dashboard"}}]}),
        )
        .expect(201)
        .clone();
    assert_eq!(r["summary"]["dashboards"], json!([]));
    assert_eq!(r["summary"]["missingEnvRefs"], json!([]));
    assert_eq!(
        r["summary"]["buckets"][0]["retentionPeriod"],
        json!(7_200_000_000_000u64)
    );
    let b = s
        .get(&format!("/api/v2/buckets?orgID={}&name=metrics", s.org))
        .expect(200)
        .clone();
    assert_eq!(b["buckets"][0]["retentionRules"][0]["everySeconds"], 7200);
    let v = s
        .get(&format!("/api/v2/variables?orgID={}", s.org))
        .expect(200)
        .clone();
    assert_eq!(v["variables"][0]["name"], "host");
    assert_eq!(
        v["variables"][0]["arguments"],
        json!({"type": "constant", "values": ["a", "b"]})
    );
    assert_eq!(dashboards(&s, &s.org).len(), 0);

    // Export by org with a label filter: the variable, bucket and label.
    let out = s
        .post(
            "/api/v2/templates/export",
            &json!({"orgIDs": [{"orgID": s.org, "resourceFilters": {"byLabel": ["alpha"], "byResourceKind": ["Variable", "Label"]}}]}),
        )
        .expect(200)
        .clone();
    let kinds: Vec<&str> = out
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, vec!["Label", "Variable"]);
    assert_eq!(
        out[1]["spec"],
        json!({"associations": [{"kind": "Label", "name": out[0]["metadata"]["name"]}], "name": "host", "type": "constant", "values": ["a", "b"]})
    );
    // YAML when asked.
    let y = s.send(
        s.authed(Method::POST, "/api/v2/templates/export")
            .header("accept", "application/x-yaml")
            .header("content-type", "application/json")
            .body(json!({"stackID": r["stackID"]}).to_string()),
    );
    assert_eq!(y.status, 200);
    assert_eq!(y.header("content-type"), Some("application/x-yaml"));
    assert!(y.text.contains("kind: Bucket"), "{}", y.text);
    s.post("/api/v2/templates/export", &json!({})).expect(422);
}

#[test]
fn permissions_are_checked_and_refusal_creates_nothing() {
    let s = Server::start();
    let org = s.org.clone();
    let mk = |perms: &[(&str, &str)]| -> String {
        let permissions: Vec<Value> = perms
            .iter()
            .map(|(a, t)| json!({"action": a, "resource": {"type": t, "orgID": org}}))
            .collect();
        s.post(
            "/api/v2/authorizations",
            &json!({"orgID": org, "permissions": permissions}),
        )
        .expect(201)["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let t = yaml_objects(
        &community_templates()
            .into_iter()
            .find(|(n, _)| n == "docker")
            .expect("docker")
            .1,
    );
    let dash_only = mk(&[
        ("write", "dashboards"),
        ("read", "dashboards"),
        ("read", "labels"),
        ("read", "buckets"),
    ]);
    let r = s.with(Cred::Token(dash_only)).post(
        "/api/v2/templates/apply",
        &json!({"orgID": org, "template": {"contents": t}}),
    );
    r.expect_error(401, "unauthorized", "write:orgs/");
    assert_eq!(dashboards(&s, &org).len(), 0);
    assert_eq!(
        s.get(&format!("/api/v2/labels?orgID={org}")).expect(200)["labels"],
        json!([])
    );
    s.anonymous()
        .post("/api/v2/templates/apply", &json!({}))
        .expect(401);
    let all = mk(&[
        ("write", "dashboards"),
        ("write", "labels"),
        ("write", "buckets"),
        ("write", "variables"),
        ("read", "dashboards"),
        ("read", "labels"),
        ("read", "buckets"),
        ("read", "variables"),
    ]);
    s.with(Cred::Token(all))
        .post(
            "/api/v2/templates/apply",
            &json!({"orgID": org, "template": {"contents": t}}),
        )
        .expect(201);
}

#[test]
fn applied_template_survives_a_crash() {
    let mut s = Server::start();
    let t = yaml_objects(
        &community_templates()
            .into_iter()
            .find(|(n, _)| n == "ceph-cluster")
            .expect("ceph")
            .1,
    );
    let body = apply(&s, &s.org, t, false).expect(201).clone();
    let id = summary_ids(&body, "dashboards")[0].clone();
    let stack = body["stackID"].as_str().expect("stack").to_string();
    let before = cells(&s, &id);
    s.crash_and_restart();
    assert_eq!(cells(&s, &id), before);
    s.get(&format!("/api/v2/stacks/{stack}")).expect(200);
}

/// Serves one response to each connection, from a thread.
fn serve(body: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten().take(4) {
            let mut conn = conn;
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/yaml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(resp.as_bytes());
        }
    });
    format!("http://{addr}/particle.yml")
}

#[test]
fn remote_templates_are_fetched() {
    let s = Server::start();
    let text = community_templates()
        .into_iter()
        .find(|(n, _)| n == "particle")
        .expect("particle")
        .1;
    let url = serve(text);
    let body = s
        .post(
            "/api/v2/templates/apply",
            &json!({"orgID": s.org, "remotes": [{"url": url}]}),
        )
        .expect(201)
        .clone();
    assert_eq!(body["sources"], json!([url]));
    assert_eq!(summary_ids(&body, "dashboards").len(), 1);
    s.post(
        "/api/v2/templates/apply",
        &json!({"orgID": s.org, "remotes": [{"url": "http://127.0.0.1:1/none.yml"}]}),
    )
    .expect_error(422, "unprocessable entity", "template from url[");
    // TLS is spoken to https URLs: a plain server there is a clean 422.
    let https = url.replace("http://", "https://");
    s.post(
        "/api/v2/templates/apply",
        &json!({"orgID": s.org, "remotes": [{"url": https}]}),
    )
    .expect_error(422, "unprocessable entity", "template from url[");
    assert_eq!(dashboards(&s, &s.org).len(), 1);
}

#[test]
fn cli_apply_and_export() {
    let s = Server::start();
    let token = s.token.clone().expect("token");
    let file = fixtures().join("templates/docker.yml");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(common::bin())
            .args(args)
            .args(["--host", &s.base, "--token", &token])
            .output()
            .expect("run tessera");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let file = file.to_string_lossy().into_owned();
    let (ok, out, err) = run(&["apply", "-f", &file, "--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("KIND"), "{out}");
    assert_eq!(dashboards(&s, &s.org).len(), 0);
    let (ok, out, err) = run(&["apply", "-f", &file, "--org", common::SETUP_ORG]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Dashboard") && out.contains("new") && out.contains("stack: "),
        "{out}"
    );
    assert!(out.contains("skipped"), "{out}");
    let id = common::id_of(&dashboards(&s, &s.org)[0]);
    let (ok, yaml, err) = run(&["export", "--dashboard", &id]);
    assert!(ok, "{err}");
    assert!(yaml.contains("kind: Dashboard"), "{yaml}");
    let (ok, _, err) = run(&["apply", "-f", "/nonexistent.yml"]);
    assert!(!ok && err.contains("nonexistent"), "{err}");
}

/// Dashboards made over the REST API (the fixture dashboards) export and
/// apply into another org with the same cells and views.
#[test]
fn rest_dashboards_round_trip() {
    let s = Server::start();
    let other = s.create_org("copy");
    let fixtures = common::template_dashboards();
    assert_eq!(fixtures.len(), 9);
    for (file, d) in fixtures {
        let mut body = d.clone();
        body["orgID"] = json!(s.org);
        let made = s.post("/api/v2/dashboards", &body).expect(201).clone();
        let id = common::id_of(&made);
        let exported = s
            .post(
                "/api/v2/templates/export",
                &json!({"resources": [{"kind": "Dashboard", "id": id}]}),
            )
            .expect(200)
            .clone();
        let applied = apply(&s, &other, exported, false).expect(201).clone();
        let copy = &summary_ids(&applied, "dashboards")[0];
        assert_eq!(cells(&s, copy), cells(&s, &id), "{file}");
    }
}

/// A SIGKILL while a large template is being applied leaves all of it or
/// nothing.
#[test]
fn crash_during_apply_is_all_or_nothing() {
    let mut s = Server::start();
    let one = yaml_objects(
        &community_templates()
            .into_iter()
            .find(|(n, _)| n == "ceph-cluster")
            .expect("ceph")
            .1,
    );
    let dash = one
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["kind"] == "Dashboard")
        .expect("dashboard")
        .clone();
    let many: Vec<Value> = (0..40)
        .map(|i| {
            let mut d = dash.clone();
            d["metadata"]["name"] = json!(format!("ceph-{i}"));
            d["spec"]["associations"] = json!([]);
            d
        })
        .collect();
    let base = s.base.clone();
    let token = s.token.clone().expect("token");
    let org = s.org.clone();
    let sender = std::thread::spawn(move || {
        let _ = reqwest::blocking::Client::new()
            .post(format!("{base}/api/v2/templates/apply"))
            .header("authorization", format!("Token {token}"))
            .json(&json!({"orgID": org, "template": {"contents": many}}))
            .send();
    });
    std::thread::sleep(std::time::Duration::from_millis(150));
    s.crash_and_restart();
    let _ = sender.join();
    let n = dashboards(&s, &s.org).len();
    assert!(n == 0 || n == 40, "{n} dashboards after a crash mid-apply");
    let stacks = s
        .get(&format!("/api/v2/stacks?orgID={}", s.org))
        .expect(200)["stacks"]
        .as_array()
        .expect("stacks")
        .len();
    assert_eq!(stacks, usize::from(n == 40));
}
