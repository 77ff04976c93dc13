//! Variables over real HTTP: `/api/v2/variables`, every argument type,
//! InfluxDB's validation, per-org unique names, labels, permissions,
//! cascades and persistence across a SIGKILL.

mod common;

use common::{id_of, is_platform_id, Server};
use serde_json::{json, Value};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn constant(values: &[&str]) -> Value {
    json!({"type": "constant", "values": values})
}

fn create(s: &Server, org: &str, name: &str, arguments: Value) -> Value {
    s.post(
        "/api/v2/variables",
        &json!({"orgID": org, "name": name, "arguments": arguments}),
    )
    .expect(201)
    .clone()
}

/// A token of `org` with `(action, type)` permissions scoped to that org.
fn token(s: &Server, org: &str, perms: &[(&str, &str)]) -> String {
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
}

fn names(list: &Value) -> Vec<String> {
    list["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .map(|v| v["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn every_argument_type_round_trips_in_influx_shape() {
    let s = Server::start();
    let org = s.org.clone();
    let cases = [
        (
            "bucket",
            json!({"type": "query", "values": {"query": "buckets() |> keep(columns: [\"name\"])", "language": "flux"}}),
        ),
        ("Location", constant(&["Paris", "Tokyo"])),
        (
            "_host",
            json!({"type": "map", "values": {"a": "alpha", "b": "beta"}}),
        ),
    ];
    for (name, args) in &cases {
        let r = s.post(
            "/api/v2/variables",
            &json!({"orgID": org, "name": name, "description": "d", "selected": ["x"], "arguments": args, "labels": [], "status": "Done"}),
        );
        let v = r.expect(201).clone();
        let id = id_of(&v);
        assert!(is_platform_id(&id));
        assert_eq!(
            keys(&v),
            [
                "arguments",
                "createdAt",
                "description",
                "id",
                "labels",
                "links",
                "name",
                "orgID",
                "selected",
                "updatedAt"
            ]
        );
        assert_eq!(&v["arguments"], args);
        assert_eq!(v["orgID"], org.as_str());
        assert_eq!(v["selected"], json!(["x"]));
        assert_eq!(v["labels"], json!([]));
        assert_eq!(
            v["links"],
            json!({"self": format!("/api/v2/variables/{id}"), "labels": format!("/api/v2/variables/{id}/labels"), "org": format!("/api/v2/orgs/{org}")})
        );
        let got = s
            .get(&format!("/api/v2/variables/{id}"))
            .expect(200)
            .clone();
        assert_eq!(got, v);
    }
    let list = s
        .get(&format!("/api/v2/variables?orgID={org}"))
        .expect(200)
        .clone();
    assert_eq!(names(&list), ["bucket", "Location", "_host"]);
    assert_eq!(
        list["links"]["self"],
        format!("/api/v2/variables?descending=false&limit=20&offset=0&orgID={org}")
    );
    // By org name and by id.
    let by_name = s.get("/api/v2/variables?org=onboarded").expect(200).clone();
    assert_eq!(names(&by_name), ["bucket", "Location", "_host"]);
    let first = id_of(&list["variables"][0]);
    let by_id = s
        .get(&format!("/api/v2/variables?id={first}"))
        .expect(200)
        .clone();
    assert_eq!(names(&by_id), ["bucket"]);
    s.get("/api/v2/variables?org=nope")
        .expect_error(404, "not found", "organization not found");
    s.get("/api/v2/variables?orgID=zz")
        .expect_error(400, "invalid", "");
}

#[test]
fn validation_errors_as_influx_and_nothing_stored() {
    let s = Server::start();
    let org = s.org.clone();
    let args = constant(&["a"]);
    let cases = [
        (
            json!({"orgID": org, "arguments": args}),
            "missing variable name",
        ),
        (
            json!({"orgID": org, "name": "9lives", "arguments": args}),
            "variable name must start with a letter",
        ),
        (json!({"orgID": org, "name": "v"}), "invalid arguments type"),
        (
            json!({"orgID": org, "name": "v", "arguments": {"type": "list", "values": []}}),
            "unknown VariableArguments type list",
        ),
        (
            json!({"orgID": org, "name": "v", "arguments": {"type": "map", "values": {"a": 1}}}),
            "expected variable map value to be string but received float64",
        ),
        (
            json!({"orgID": org, "name": "v", "arguments": {"type": "query", "values": {"language": "flux"}}}),
            "\"query\" key not present in VariableQueryArguments",
        ),
    ];
    for (body, msg) in cases {
        s.post("/api/v2/variables", &body)
            .expect_error(400, "invalid", msg);
    }
    for word in [
        "and", "import", "not", "return", "option", "test", "empty", "in", "or", "package",
        "builtin",
    ] {
        s.post(
            "/api/v2/variables",
            &json!({"orgID": org, "name": word, "arguments": args}),
        )
        .expect_error(
            400,
            "invalid",
            &format!("\"{word}\" is a protected variable name"),
        );
    }
    s.post(
        "/api/v2/variables",
        &json!({"name": "v", "arguments": args}),
    )
    .expect_error(400, "invalid", "orgID is required");
    s.post(
        "/api/v2/variables",
        &json!({"orgID": "0000000000000001", "name": "v", "arguments": args}),
    )
    .expect_error(404, "not found", "organization not found");
    let r = s.req(reqwest::Method::POST, "/api/v2/variables", None);
    assert_eq!(r.status, 400, "{}", r.text);
    let list = s.get("/api/v2/variables").expect(200).clone();
    assert_eq!(list["variables"], json!([]));
}

#[test]
fn names_are_unique_per_org_without_case() {
    let s = Server::start();
    let org = s.org.clone();
    let other = s.create_org("other");
    let a = create(&s, &org, "host", constant(&["a"]));
    s.post(
        "/api/v2/variables",
        &json!({"orgID": org, "name": "HOST", "arguments": constant(&["b"])}),
    )
    .expect_error(422, "conflict", "variable is not unique");
    // Another org may use the name.
    create(&s, &other, "host", constant(&["c"]));
    // Renaming onto a taken name conflicts; renaming to itself does not.
    let b = create(&s, &org, "region", constant(&["r"]));
    s.patch(
        &format!("/api/v2/variables/{}", id_of(&b)),
        &json!({"name": "Host"}),
    )
    .expect_error(422, "conflict", "variable is not unique");
    s.patch(
        &format!("/api/v2/variables/{}", id_of(&a)),
        &json!({"name": "Host"}),
    )
    .expect(200);
    // The old name is free again after a rename.
    s.patch(
        &format!("/api/v2/variables/{}", id_of(&b)),
        &json!({"name": "zone"}),
    )
    .expect(200);
    create(&s, &org, "region", constant(&["again"]));
}

#[test]
fn patch_put_and_delete() {
    let mut s = Server::start();
    let org = s.org.clone();
    let v = create(&s, &org, "host", constant(&["a", "b"]));
    let id = id_of(&v);
    let path = format!("/api/v2/variables/{id}");

    s.patch(&path, &json!({}))
        .expect_error(400, "invalid", "no fields supplied in update");
    s.patch(&path, &json!({"name": "", "arguments": null}))
        .expect_error(400, "invalid", "no fields supplied in update");
    s.patch(&path, &json!({"name": "1bad"})).expect_error(
        400,
        "invalid",
        "variable name must start with a letter",
    );
    // The UI sends the whole variable back with its labels and links.
    let mut ui_body = v.clone();
    ui_body["selected"] = json!(["b"]);
    ui_body["description"] = json!("hosts");
    ui_body["sort_order"] = json!(2);
    let patched = s.patch(&path, &ui_body).expect(200).clone();
    assert_eq!(patched["selected"], json!(["b"]));
    assert_eq!(patched["description"], "hosts");
    assert_eq!(patched["arguments"], v["arguments"]);
    assert_eq!(patched["createdAt"], v["createdAt"]);
    assert_ne!(patched["updatedAt"], v["updatedAt"]);

    let replaced = s
        .put(
            &path,
            &json!({"orgID": org, "name": "host2", "arguments": {"type": "map", "values": {"k": "v"}}}),
        )
        .expect(200)
        .clone();
    assert_eq!(replaced["name"], "host2");
    assert_eq!(replaced["description"], "");
    assert_eq!(replaced["selected"], Value::Null);
    assert_eq!(replaced["arguments"]["type"], "map");
    assert_eq!(replaced["createdAt"], v["createdAt"]);
    s.put(&path, &json!({"name": "host3"}))
        .expect_error(400, "invalid", "invalid arguments type");
    s.put(
        "/api/v2/variables/0000000000000001",
        &json!({"name": "x", "arguments": constant(&["a"])}),
    )
    .expect_error(404, "not found", "variable not found");

    // Durable: a SIGKILL keeps what was acknowledged.
    s.crash_and_restart();
    let got = s.get(&path).expect(200).clone();
    assert_eq!(got, replaced);

    s.delete(&path).expect(204);
    s.get(&path)
        .expect_error(404, "not found", "variable not found");
    s.delete(&path)
        .expect_error(404, "not found", "variable not found");
    s.crash_and_restart();
    s.get(&path)
        .expect_error(404, "not found", "variable not found");
    // The name is free again.
    create(&s, &org, "host2", constant(&["a"]));
}

#[test]
fn labels_on_variables_and_cascades() {
    let s = Server::start();
    let org = s.org.clone();
    let v = create(&s, &org, "host", constant(&["a"]));
    let id = id_of(&v);
    let label = s
        .post("/api/v2/labels", &json!({"orgID": org, "name": "infra"}))
        .expect(201)["label"]
        .clone();
    let lid = id_of(&label);
    let labels_path = format!("/api/v2/variables/{id}/labels");

    let r = s
        .post(&labels_path, &json!({"labelID": lid}))
        .expect(201)
        .clone();
    assert_eq!(r["label"], label);
    s.post(&labels_path, &json!({"labelID": lid})).expect_error(
        422,
        "conflict",
        "Cannot add label",
    );
    s.post(&labels_path, &json!({}))
        .expect_error(400, "invalid", "label id is required");
    let list = s.get(&labels_path).expect(200).clone();
    assert_eq!(list["labels"], json!([label]));
    let got = s
        .get(&format!("/api/v2/variables/{id}"))
        .expect(200)
        .clone();
    assert_eq!(got["labels"], json!([label]));
    let all = s.get("/api/v2/variables").expect(200).clone();
    assert_eq!(all["variables"][0]["labels"], json!([label]));

    // A label of another org cannot be put on it.
    let other = s.create_org("other");
    let foreign = s
        .post("/api/v2/labels", &json!({"orgID": other, "name": "x"}))
        .expect(201)["label"]
        .clone();
    s.post(&labels_path, &json!({"labelID": id_of(&foreign)}))
        .expect_error(
            400,
            "invalid",
            "label and resource must belong to the same org",
        );

    s.delete(&format!("{labels_path}/{lid}")).expect(204);
    s.delete(&format!("{labels_path}/{lid}")).expect_error(
        404,
        "not found",
        "label mapping not found",
    );
    assert_eq!(s.get(&labels_path).expect(200)["labels"], json!([]));

    // Deleting the label takes it off the variable.
    s.post(&labels_path, &json!({"labelID": lid})).expect(201);
    s.delete(&format!("/api/v2/labels/{lid}")).expect(204);
    assert_eq!(s.get(&labels_path).expect(200)["labels"], json!([]));

    // Deleting the org takes its variables along.
    let ov = create(&s, &other, "zone", constant(&["z"]));
    s.delete(&format!("/api/v2/orgs/{other}")).expect(204);
    s.get(&format!("/api/v2/variables/{}", id_of(&ov)))
        .expect_error(404, "not found", "variable not found");
    assert_eq!(
        names(&s.get("/api/v2/variables").expect(200).clone()),
        ["host"]
    );
}

#[test]
fn permissions_read_only_and_other_org() {
    let s = Server::start();
    let org = s.org.clone();
    let other = s.create_org("other");
    let v = create(&s, &org, "host", constant(&["a"]));
    let id = id_of(&v);
    let path = format!("/api/v2/variables/{id}");
    create(&s, &other, "elsewhere", constant(&["b"]));

    let reader = token(&s, &org, &[("read", "variables")]);
    let r = s.as_token(&reader);
    assert_eq!(r.get(&path).expect(200)["name"], "host");
    assert_eq!(
        names(&r.get("/api/v2/variables").expect(200).clone()),
        ["host"]
    );
    r.post(
        "/api/v2/variables",
        &json!({"orgID": org, "name": "x", "arguments": constant(&["a"])}),
    )
    .expect_error(401, "unauthorized", "");
    r.patch(&path, &json!({"name": "y"}))
        .expect_error(401, "unauthorized", "");
    r.delete(&path).expect_error(401, "unauthorized", "");

    let outsider = token(&s, &other, &[("read", "variables"), ("write", "variables")]);
    let o = s.as_token(&outsider);
    o.get(&path).expect_error(401, "unauthorized", "");
    o.delete(&path).expect_error(401, "unauthorized", "");
    assert_eq!(
        names(&o.get("/api/v2/variables").expect(200).clone()),
        ["elsewhere"]
    );
    s.anonymous()
        .get("/api/v2/variables")
        .expect_error(401, "unauthorized", "");
    // Nothing the refused calls tried is stored.
    assert_eq!(s.get(&path).expect(200).clone(), v);
}

/// The bodies the Influx UI sends (src/variables/actions/thunks.ts): create
/// with `{name, arguments, orgID}`, then PATCH with the whole variable plus
/// `labels` and `sort_order`, and a session cookie rather than a token.
#[test]
fn influx_ui_bodies_over_a_session() {
    let s = Server::start();
    let org = s.org.clone();
    let cookie = s
        .sign_in(common::ADMIN, common::ADMIN_PASSWORD)
        .expect("session");
    let ui = s.with(common::Cred::Cookie(cookie));
    let created = ui
        .post(
            "/api/v2/variables",
            &json!({"name": "bucket", "arguments": {"type": "query", "values": {"query": "buckets()\n  |> filter(fn: (r) => r.name !~ /^_/)\n  |> rename(columns: {name: \"_value\"})\n  |> keep(columns: [\"_value\"])\n", "language": "flux"}}, "orgID": org}),
        )
        .expect(201)
        .clone();
    let id = id_of(&created);
    let mut moved = created.clone();
    moved["sort_order"] = json!(1);
    moved["labels"] = json!([]);
    ui.patch(&format!("/api/v2/variables/{id}"), &moved)
        .expect(200);
    let list = ui
        .get(&format!("/api/v2/variables?orgID={org}"))
        .expect(200)
        .clone();
    assert_eq!(names(&list), ["bucket"]);
}
