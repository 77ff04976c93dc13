//! Labels over real HTTP: `/api/v2/labels`, labels on dashboards, cascades,
//! permissions and persistence.

mod common;

use common::{id_of, is_platform_id, Server};
use reqwest::Method;
use serde_json::{json, Value};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

/// Creates a label and returns the `label` object of the answer.
fn create_label(s: &Server, org: &str, name: &str, properties: Value) -> Value {
    let mut body = json!({"orgID": org, "name": name});
    if !properties.is_null() {
        body["properties"] = properties;
    }
    s.post("/api/v2/labels", &body).expect(201)["label"].clone()
}

/// The answer InfluxDB gives for one label.
fn label_response(label: &Value) -> Value {
    json!({"links": {"self": format!("/api/v2/labels/{}", id_of(label))}, "label": label})
}

/// The answer InfluxDB gives for a list of labels, a dashboard's included.
fn labels_response(labels: &[&Value]) -> Value {
    json!({"links": {"self": "/api/v2/labels"}, "labels": labels})
}

/// A token of `org` with `(action, type)` permissions scoped to that org.
fn token(s: &Server, org: &str, perms: &[(&str, &str)]) -> String {
    let permissions: Vec<Value> = perms
        .iter()
        .map(|(a, t)| json!({"action": a, "resource": {"type": t, "orgID": org}}))
        .collect();
    let r = s.post(
        "/api/v2/authorizations",
        &json!({"orgID": org, "permissions": permissions}),
    );
    r.expect(201)["token"].as_str().expect("token").to_string()
}

fn attach(s: &Server, dash: &str, label: &str) -> Value {
    s.post(
        &format!("/api/v2/dashboards/{dash}/labels"),
        &json!({ "labelID": label }),
    )
    .expect(201)
    .clone()
}

fn dashboard_labels(s: &Server, dash: &str) -> Value {
    s.get(&format!("/api/v2/dashboards/{dash}/labels"))
        .expect(200)
        .clone()
}

#[test]
fn create_get_list_patch_delete_label() {
    let s = Server::start();
    let org = s.org.clone();

    let r = s.post(
        "/api/v2/labels",
        &json!({"orgID": org, "name": "prod", "properties": {"color": "#ff0000", "description": "Production"}, "extra": 1}),
    );
    let created = r.expect(201).clone();
    assert!(r
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    let prod = created["label"].clone();
    let id = id_of(&prod);
    assert!(is_platform_id(&id), "{id}");
    assert_eq!(
        created,
        json!({"links": {"self": format!("/api/v2/labels/{id}")},
               "label": {"id": id, "orgID": org, "name": "prod",
                         "properties": {"color": "#ff0000", "description": "Production"}}})
    );

    // No properties: the key is left out, as InfluxDB does. Names are trimmed.
    let staging = create_label(&s, &org, "  staging  ", Value::Null);
    assert_eq!(keys(&staging), ["id", "name", "orgID"]);
    assert_eq!(staging["name"], "staging");
    let empty_props = create_label(&s, &org, "dev", json!({}));
    assert_eq!(keys(&empty_props), ["id", "name", "orgID"]);

    assert_eq!(
        s.get(&format!("/api/v2/labels/{id}")).expect(200).clone(),
        created
    );
    let list = s.get("/api/v2/labels").expect(200).clone();
    assert_eq!(list, labels_response(&[&prod, &staging, &empty_props]));

    // Properties merge; an empty value removes one.
    let p = s
        .patch(
            &format!("/api/v2/labels/{id}"),
            &json!({"properties": {"color": "#00ff00", "description": "", "owner": "ops"}}),
        )
        .expect(200)
        .clone();
    assert_eq!(
        p,
        json!({"links": {"self": format!("/api/v2/labels/{id}")},
               "label": {"id": id, "orgID": org, "name": "prod",
                         "properties": {"color": "#00ff00", "owner": "ops"}}})
    );
    let p = s
        .patch(
            &format!("/api/v2/labels/{id}"),
            &json!({"name": " production "}),
        )
        .expect(200)
        .clone();
    assert_eq!(p["label"]["name"], "production");
    assert_eq!(
        p["label"]["properties"],
        json!({"color": "#00ff00", "owner": "ops"})
    );
    // `{}` and an empty name change nothing and are not errors.
    assert_eq!(
        s.patch(&format!("/api/v2/labels/{id}"), &json!({}))
            .expect(200)
            .clone(),
        p
    );
    assert_eq!(
        s.patch(&format!("/api/v2/labels/{id}"), &json!({"name": ""}))
            .expect(200)
            .clone(),
        p
    );
    // Removing every property leaves the key out again.
    let p = s
        .patch(
            &format!("/api/v2/labels/{id}"),
            &json!({"properties": {"color": "", "owner": ""}}),
        )
        .expect(200)
        .clone();
    assert_eq!(
        p,
        json!({"links": {"self": format!("/api/v2/labels/{id}")},
               "label": {"id": id, "orgID": org, "name": "production"}})
    );
    assert_eq!(
        s.get(&format!("/api/v2/labels/{id}")).expect(200).clone(),
        p
    );

    assert_eq!(s.delete(&format!("/api/v2/labels/{id}")).status, 204);
    s.get(&format!("/api/v2/labels/{id}"))
        .expect_error(404, "not found", "label not found");
    s.delete(&format!("/api/v2/labels/{id}"))
        .expect_error(404, "not found", "label not found");
    s.patch(&format!("/api/v2/labels/{id}"), &json!({"name": "x"}))
        .expect_error(404, "not found", "label not found");
    assert_eq!(
        s.get("/api/v2/labels").expect(200).clone(),
        labels_response(&[&staging, &empty_props])
    );
}

#[test]
fn create_and_patch_reject_bad_input_and_change_nothing() {
    let s = Server::start();
    let org = s.org.clone();
    let prod = create_label(&s, &org, "prod", json!({"color": "#ff0000"}));

    s.post("/api/v2/labels", &json!({ "orgID": org }))
        .expect_error(400, "invalid", "label name is required");
    s.post("/api/v2/labels", &json!({"orgID": org, "name": "   "}))
        .expect_error(400, "invalid", "label name is required");
    s.post("/api/v2/labels", &json!({"name": "x"}))
        .expect_error(400, "invalid", "orgID is required");
    s.post(
        "/api/v2/labels",
        &json!({"orgID": org, "name": "x".repeat(129)}),
    )
    .expect_error(400, "invalid", "label name must be at most 128 bytes");
    s.post(
        "/api/v2/labels",
        &json!({"orgID": "0000000000000abc", "name": "x"}),
    )
    .expect_error(404, "not found", "organization not found");
    s.post("/api/v2/labels", &json!({"orgID": "xyz", "name": "x"}))
        .expect_error(
            400,
            "invalid",
            "failed to unmarshal json: id must have a length of 16 bytes",
        );
    s.post(
        "/api/v2/labels",
        &json!({"orgID": org, "name": "x", "properties": {"color": 5}}),
    )
    .expect_error(400, "invalid", "failed to unmarshal json: ");
    let malformed = s.send(
        s.authed(Method::POST, "/api/v2/labels")
            .header("content-type", "application/json")
            .body("{\"orgID\": "),
    );
    malformed.expect_error(400, "invalid", "failed to unmarshal json: ");

    // Names are unique within an org, without regard to case.
    s.post("/api/v2/labels", &json!({"orgID": org, "name": "prod"}))
        .expect_error(422, "conflict", "label with name prod already exists");
    s.post("/api/v2/labels", &json!({"orgID": org, "name": " PROD "}))
        .expect_error(422, "conflict", "label with name PROD already exists");
    assert_eq!(
        s.get("/api/v2/labels").expect(200).clone(),
        labels_response(&[&prod])
    );

    // 128 bytes is fine; the same name in another org too.
    let long = create_label(&s, &org, &"é".repeat(64), Value::Null);
    assert_eq!(long["name"].as_str().map(str::len), Some(128));
    let other = s.create_org("other");
    let other_prod = create_label(&s, &other, "prod", Value::Null);
    assert_eq!(other_prod["orgID"], other);

    let id = id_of(&prod);
    let path = format!("/api/v2/labels/{id}");
    s.patch(&path, &json!({"name": "   "}))
        .expect_error(400, "invalid", "label name is required");
    s.patch(&path, &json!({"name": "x".repeat(129)}))
        .expect_error(400, "invalid", "label name must be at most 128 bytes");
    s.patch(&path, &json!({"name": "É".repeat(64)}))
        .expect_error(422, "conflict", "label with name ");
    s.patch(&path, &json!({"properties": {"color": true}}))
        .expect_error(400, "invalid", "failed to unmarshal json: ");
    assert_eq!(
        s.get(&path).expect(200).clone(),
        label_response(&prod),
        "failed patches changed the label"
    );
    // Renaming to its own name in another case is not a conflict, and frees
    // nothing: the old spelling stays taken.
    let p = s.patch(&path, &json!({"name": "Prod"})).expect(200).clone();
    assert_eq!(p["label"]["name"], "Prod");
    s.post("/api/v2/labels", &json!({"orgID": org, "name": "prod"}))
        .expect_error(422, "conflict", "label with name prod already exists");
    // A rename frees the old name.
    s.patch(&path, &json!({"name": "production"})).expect(200);
    create_label(&s, &org, "prod", Value::Null);

    s.get("/api/v2/labels/xyz")
        .expect_error(400, "invalid", "id must have a length of 16 bytes");
    s.get("/api/v2/labels/0000000000000abc")
        .expect_error(404, "not found", "label not found");
    s.delete("/api/v2/labels/zzzzzzzzzzzzzzzz")
        .expect_error(400, "invalid", "invalid ID");
    s.put("/api/v2/labels", &json!({})).expect_error(
        405,
        "method not allowed",
        "method PUT not allowed",
    );
}

#[test]
fn list_filters_by_org_and_name() {
    let s = Server::start();
    let a = s.org.clone();
    let b = s.create_org("beta");
    let a1 = create_label(&s, &a, "prod", json!({"color": "#ff0000"}));
    let b1 = create_label(&s, &b, "prod", Value::Null);
    let a2 = create_label(&s, &a, "Staging", Value::Null);

    let list = |q: &str| s.get(&format!("/api/v2/labels{q}")).expect(200).clone();
    assert_eq!(list(""), labels_response(&[&a1, &b1, &a2]));
    assert_eq!(list(&format!("?orgID={a}")), labels_response(&[&a1, &a2]));
    assert_eq!(list(&format!("?orgID={b}")), labels_response(&[&b1]));
    assert_eq!(
        list(&format!("?org={}", common::SETUP_ORG)),
        labels_response(&[&a1, &a2])
    );
    assert_eq!(list("?org=beta"), labels_response(&[&b1]));
    // orgID wins over org; empty values count as absent.
    assert_eq!(
        list(&format!("?orgID={b}&org={}", common::SETUP_ORG)),
        labels_response(&[&b1])
    );
    assert_eq!(list("?orgID=&org="), labels_response(&[&a1, &b1, &a2]));
    // Names match without case.
    assert_eq!(list("?name=PROD"), labels_response(&[&a1, &b1]));
    assert_eq!(
        list(&format!("?orgID={a}&name=staging")),
        labels_response(&[&a2])
    );
    assert_eq!(list("?orgID=0000000000000abc"), labels_response(&[]));

    s.get("/api/v2/labels?org=nope")
        .expect_error(404, "not found", "organization not found");
    s.get("/api/v2/labels?orgID=xyz").expect_error(
        400,
        "invalid",
        "id must have a length of 16 bytes",
    );
}

#[test]
fn dashboard_labels_attach_list_detach() {
    let s = Server::start();
    let org = s.org.clone();
    let d = s.create_dashboard(&org, "Ops");
    assert_eq!(d["labels"], json!([]));
    let dash = id_of(&d);
    let bare = id_of(&s.create_dashboard(&org, "Bare"));
    let l1 = create_label(&s, &org, "prod", json!({"color": "#ff0000"}));
    let l2 = create_label(&s, &org, "team-a", Value::Null);
    let (id1, id2) = (id_of(&l1), id_of(&l2));

    assert_eq!(dashboard_labels(&s, &dash), labels_response(&[]));
    assert_eq!(attach(&s, &dash, &id2), label_response(&l2));
    assert_eq!(attach(&s, &dash, &id1), label_response(&l1));
    s.post(
        &format!("/api/v2/dashboards/{dash}/labels"),
        &json!({ "labelID": id1 }),
    )
    .expect_error(
        422,
        "conflict",
        "Cannot add label, label already exists on resource",
    );
    // Listed in label ID order, whatever the order they were put on in.
    assert_eq!(dashboard_labels(&s, &dash), labels_response(&[&l1, &l2]));

    // The dashboard carries its labels in every answer.
    let got = s
        .get(&format!("/api/v2/dashboards/{dash}"))
        .expect(200)
        .clone();
    assert_eq!(got["labels"], json!([l1, l2]));
    let full = s
        .get(&format!("/api/v2/dashboards/{dash}?include=properties"))
        .expect(200)
        .clone();
    assert_eq!(full["labels"], json!([l1, l2]));
    for q in [String::new(), format!("?orgID={org}"), "?limit=1".into()] {
        let list = s.get(&format!("/api/v2/dashboards{q}")).expect(200).clone();
        let ds = list["dashboards"].as_array().expect("dashboards");
        let ops = ds.iter().find(|x| x["id"] == dash.as_str());
        assert_eq!(
            ops.map(|o| o["labels"].clone()),
            Some(json!([l1, l2])),
            "{q}"
        );
        if let Some(b) = ds.iter().find(|x| x["id"] == bare.as_str()) {
            assert_eq!(b["labels"], json!([]));
        }
    }
    let patched = s
        .patch(
            &format!("/api/v2/dashboards/{dash}"),
            &json!({"name": "Ops 2"}),
        )
        .expect(200)
        .clone();
    assert_eq!(patched["labels"], json!([l1, l2]));
    // A renamed label shows its new name on the dashboard.
    let renamed = s
        .patch(
            &format!("/api/v2/labels/{id1}"),
            &json!({"name": "production"}),
        )
        .expect(200)["label"]
        .clone();
    assert_eq!(
        s.get(&format!("/api/v2/dashboards/{dash}")).expect(200)["labels"],
        json!([renamed, l2])
    );

    assert_eq!(
        s.delete(&format!("/api/v2/dashboards/{dash}/labels/{id1}"))
            .status,
        204
    );
    assert_eq!(dashboard_labels(&s, &dash), labels_response(&[&l2]));
    s.delete(&format!("/api/v2/dashboards/{dash}/labels/{id1}"))
        .expect_error(404, "not found", "label mapping not found");
    s.delete(&format!("/api/v2/dashboards/{bare}/labels/{id2}"))
        .expect_error(404, "not found", "label mapping not found");
    // The label itself is untouched, and can go back on.
    assert_eq!(
        s.get(&format!("/api/v2/labels/{id1}")).expect(200).clone(),
        label_response(&renamed)
    );
    attach(&s, &dash, &id1);
    assert_eq!(
        dashboard_labels(&s, &dash),
        labels_response(&[&renamed, &l2])
    );
}

#[test]
fn dashboard_label_errors() {
    let s = Server::start();
    let org = s.org.clone();
    let dash = id_of(&s.create_dashboard(&org, "Ops"));
    let label = id_of(&create_label(&s, &org, "prod", Value::Null));
    let other = s.create_org("other");
    let foreign = id_of(&create_label(&s, &other, "theirs", Value::Null));
    let path = format!("/api/v2/dashboards/{dash}/labels");

    s.post(&path, &json!({}))
        .expect_error(400, "invalid", "label id is required");
    s.post(&path, &json!({ "labelID": null }))
        .expect_error(400, "invalid", "label id is required");
    s.post(&path, &json!({"labelID": "xyz"})).expect_error(
        400,
        "invalid",
        "Invalid post label map request",
    );
    let malformed = s.send(
        s.authed(Method::POST, &path)
            .header("content-type", "application/json")
            .body("{"),
    );
    malformed.expect_error(400, "invalid", "Invalid post label map request");
    s.post(&path, &json!({"labelID": "0000000000000abc"}))
        .expect_error(404, "not found", "label not found");
    s.post(&path, &json!({ "labelID": foreign })).expect_error(
        400,
        "invalid",
        "label and resource must belong to the same org",
    );

    let gone = "0000000000000abc";
    s.get(&format!("/api/v2/dashboards/{gone}/labels"))
        .expect_error(404, "not found", "dashboard not found");
    s.post(
        &format!("/api/v2/dashboards/{gone}/labels"),
        &json!({ "labelID": label }),
    )
    .expect_error(404, "not found", "dashboard not found");
    s.delete(&format!("/api/v2/dashboards/{gone}/labels/{label}"))
        .expect_error(404, "not found", "dashboard not found");
    s.delete(&format!("/api/v2/dashboards/{dash}/labels/{gone}"))
        .expect_error(404, "not found", "label not found");
    s.get("/api/v2/dashboards/xyz/labels").expect_error(
        400,
        "invalid",
        "id must have a length of 16 bytes",
    );
    s.delete(&format!("/api/v2/dashboards/{dash}/labels/xyz"))
        .expect_error(400, "invalid", "id must have a length of 16 bytes");
    s.patch(&path, &json!({}))
        .expect_error(405, "method not allowed", "method PATCH not allowed");

    // Nothing of the above attached anything.
    assert_eq!(dashboard_labels(&s, &dash), labels_response(&[]));
}

#[test]
fn deleting_a_label_takes_it_off_every_dashboard() {
    let s = Server::start();
    let org = s.org.clone();
    let d1 = id_of(&s.create_dashboard(&org, "One"));
    let d2 = id_of(&s.create_dashboard(&org, "Two"));
    let doomed = create_label(&s, &org, "doomed", Value::Null);
    let kept = create_label(&s, &org, "kept", Value::Null);
    for d in [&d1, &d2] {
        attach(&s, d, &id_of(&doomed));
        attach(&s, d, &id_of(&kept));
    }

    assert_eq!(
        s.delete(&format!("/api/v2/labels/{}", id_of(&doomed)))
            .status,
        204
    );
    for d in [&d1, &d2] {
        assert_eq!(dashboard_labels(&s, d), labels_response(&[&kept]));
        assert_eq!(
            s.get(&format!("/api/v2/dashboards/{d}")).expect(200)["labels"],
            json!([kept])
        );
    }
    let list = s.get("/api/v2/dashboards").expect(200).clone();
    for d in list["dashboards"].as_array().expect("dashboards") {
        assert_eq!(d["labels"], json!([kept]));
    }
    // The name is free again, and the new label is on nothing.
    let again = create_label(&s, &org, "doomed", Value::Null);
    assert_ne!(id_of(&again), id_of(&doomed));
    assert_eq!(dashboard_labels(&s, &d1), labels_response(&[&kept]));
}

#[test]
fn deleting_a_dashboard_drops_its_label_mappings() {
    let s = Server::start();
    let org = s.org.clone();
    let gone = id_of(&s.create_dashboard(&org, "Gone"));
    let stays = id_of(&s.create_dashboard(&org, "Stays"));
    let l = create_label(&s, &org, "prod", Value::Null);
    let lid = id_of(&l);
    attach(&s, &gone, &lid);
    attach(&s, &stays, &lid);

    assert_eq!(s.delete(&format!("/api/v2/dashboards/{gone}")).status, 204);
    s.get(&format!("/api/v2/dashboards/{gone}/labels"))
        .expect_error(404, "not found", "dashboard not found");
    s.delete(&format!("/api/v2/dashboards/{gone}/labels/{lid}"))
        .expect_error(404, "not found", "dashboard not found");
    // The label lives on, still on the other dashboard.
    assert_eq!(
        s.get(&format!("/api/v2/labels/{lid}")).expect(200).clone(),
        label_response(&l)
    );
    assert_eq!(dashboard_labels(&s, &stays), labels_response(&[&l]));
    // Deleting the label afterwards walks its (now shorter) reverse index.
    assert_eq!(s.delete(&format!("/api/v2/labels/{lid}")).status, 204);
    assert_eq!(dashboard_labels(&s, &stays), labels_response(&[]));
}

#[test]
fn deleting_an_org_deletes_its_labels() {
    let s = Server::start();
    let doomed = s.create_org("doomed");
    let dash = id_of(&s.create_dashboard(&doomed, "Theirs"));
    let theirs = create_label(&s, &doomed, "prod", Value::Null);
    attach(&s, &dash, &id_of(&theirs));
    let ours = create_label(&s, &s.org, "prod", Value::Null);

    assert_eq!(s.delete(&format!("/api/v2/orgs/{doomed}")).status, 204);
    s.get(&format!("/api/v2/labels/{}", id_of(&theirs)))
        .expect_error(404, "not found", "label not found");
    assert_eq!(
        s.get(&format!("/api/v2/labels?orgID={doomed}"))
            .expect(200)
            .clone(),
        labels_response(&[])
    );
    assert_eq!(
        s.get("/api/v2/labels").expect(200).clone(),
        labels_response(&[&ours])
    );
    // A new org of the same name starts without labels or taken names.
    let reborn = s.create_org("doomed");
    create_label(&s, &reborn, "prod", Value::Null);
}

#[test]
fn read_only_label_token_cannot_write() {
    let s = Server::start();
    let org = s.org.clone();
    let dash = id_of(&s.create_dashboard(&org, "Ops"));
    let l = create_label(&s, &org, "prod", Value::Null);
    let lid = id_of(&l);
    let t = token(&s, &org, &[("read", "labels")]);
    let ro = s.as_token(&t);

    assert_eq!(
        ro.get(&format!("/api/v2/labels?orgID={org}"))
            .expect(200)
            .clone(),
        labels_response(&[&l])
    );
    assert_eq!(
        ro.get(&format!("/api/v2/labels/{lid}")).expect(200).clone(),
        label_response(&l)
    );
    ro.post("/api/v2/labels", &json!({"orgID": org, "name": "x"}))
        .expect_error(
            401,
            "unauthorized",
            &format!("write:orgs/{org}/labels is unauthorized"),
        );
    ro.patch(&format!("/api/v2/labels/{lid}"), &json!({"name": "x"}))
        .expect_error(
            401,
            "unauthorized",
            &format!("write:orgs/{org}/labels/{lid} is unauthorized"),
        );
    ro.delete(&format!("/api/v2/labels/{lid}")).expect_error(
        401,
        "unauthorized",
        &format!("write:orgs/{org}/labels/{lid} is unauthorized"),
    );
    ro.post(
        &format!("/api/v2/dashboards/{dash}/labels"),
        &json!({ "labelID": lid }),
    )
    .expect_error(
        401,
        "unauthorized",
        &format!("write:orgs/{org}/labels/{lid} is unauthorized"),
    );
    // Listing a dashboard's labels needs read on the dashboard.
    ro.get(&format!("/api/v2/dashboards/{dash}/labels"))
        .expect_error(
            401,
            "unauthorized",
            &format!("read:orgs/{org}/dashboards/{dash} is unauthorized"),
        );
    // Nothing changed.
    assert_eq!(
        s.get("/api/v2/labels").expect(200).clone(),
        labels_response(&[&l])
    );
    assert_eq!(dashboard_labels(&s, &dash), labels_response(&[]));

    s.anonymous()
        .get("/api/v2/labels")
        .expect_error(401, "unauthorized", "unauthorized access");
}

#[test]
fn labels_are_shown_only_to_who_may_read_them() {
    let s = Server::start();
    let org = s.org.clone();
    let dash = id_of(&s.create_dashboard(&org, "Ops"));
    let l = create_label(&s, &org, "prod", Value::Null);
    let lid = id_of(&l);
    attach(&s, &dash, &lid);
    let t = token(&s, &org, &[("read", "dashboards"), ("write", "dashboards")]);
    let no_labels = s.as_token(&t);

    // Without read on labels a list is empty, not an error.
    assert_eq!(
        no_labels.get("/api/v2/labels").expect(200).clone(),
        labels_response(&[])
    );
    assert_eq!(
        no_labels
            .get(&format!("/api/v2/labels?orgID={org}"))
            .expect(200)
            .clone(),
        labels_response(&[])
    );
    no_labels
        .get(&format!("/api/v2/labels/{lid}"))
        .expect_error(
            401,
            "unauthorized",
            &format!("read:orgs/{org}/labels/{lid} is unauthorized"),
        );
    assert_eq!(
        no_labels
            .get(&format!("/api/v2/dashboards/{dash}/labels"))
            .expect(200)
            .clone(),
        labels_response(&[])
    );
    let d = no_labels
        .get(&format!("/api/v2/dashboards/{dash}"))
        .expect(200)
        .clone();
    assert_eq!(d["labels"], json!([]));
    let list = no_labels
        .get(&format!("/api/v2/dashboards?orgID={org}"))
        .expect(200)
        .clone();
    assert_eq!(list["dashboards"][0]["labels"], json!([]));
    assert_eq!(
        s.get(&format!("/api/v2/dashboards/{dash}")).expect(200)["labels"],
        json!([l])
    );
    no_labels
        .post(
            &format!("/api/v2/dashboards/{dash}/labels"),
            &json!({ "labelID": lid }),
        )
        .expect_error(
            401,
            "unauthorized",
            &format!("read:orgs/{org}/labels/{lid} is unauthorized"),
        );
    no_labels
        .delete(&format!("/api/v2/dashboards/{dash}/labels/{lid}"))
        .expect_error(
            401,
            "unauthorized",
            &format!("write:orgs/{org}/labels/{lid} is unauthorized"),
        );
}

#[test]
fn attaching_needs_write_on_the_label_and_the_dashboard() {
    let s = Server::start();
    let org = s.org.clone();
    let dash = id_of(&s.create_dashboard(&org, "Ops"));
    let l = create_label(&s, &org, "prod", Value::Null);
    let lid = id_of(&l);
    let path = format!("/api/v2/dashboards/{dash}/labels");

    // As InfluxDB's authorizer: read on the label is not enough ...
    let t = token(
        &s,
        &org,
        &[
            ("read", "dashboards"),
            ("write", "dashboards"),
            ("read", "labels"),
        ],
    );
    s.as_token(&t)
        .post(&path, &json!({ "labelID": lid }))
        .expect_error(
            401,
            "unauthorized",
            &format!("write:orgs/{org}/labels/{lid} is unauthorized"),
        );
    // ... nor is write on the label without write on the dashboard.
    let t = token(
        &s,
        &org,
        &[
            ("read", "dashboards"),
            ("read", "labels"),
            ("write", "labels"),
        ],
    );
    s.as_token(&t)
        .post(&path, &json!({ "labelID": lid }))
        .expect_error(
            401,
            "unauthorized",
            &format!("write:orgs/{org}/dashboards/{dash} is unauthorized"),
        );
    assert_eq!(dashboard_labels(&s, &dash), labels_response(&[]));

    let t = token(
        &s,
        &org,
        &[
            ("read", "dashboards"),
            ("write", "dashboards"),
            ("read", "labels"),
            ("write", "labels"),
        ],
    );
    let rw = s.as_token(&t);
    assert_eq!(
        rw.post(&path, &json!({ "labelID": lid }))
            .expect(201)
            .clone(),
        label_response(&l)
    );
    assert_eq!(rw.get(&path).expect(200).clone(), labels_response(&[&l]));
    assert_eq!(rw.delete(&format!("{path}/{lid}")).status, 204);
    assert_eq!(dashboard_labels(&s, &dash), labels_response(&[]));
    // It may manage labels of its org too.
    let made = rw
        .post("/api/v2/labels", &json!({"orgID": org, "name": "mine"}))
        .expect(201)["label"]
        .clone();
    assert_eq!(
        rw.delete(&format!("/api/v2/labels/{}", id_of(&made)))
            .status,
        204
    );
}

#[test]
fn a_token_of_another_org_sees_nothing() {
    let s = Server::start();
    let org = s.org.clone();
    let dash = id_of(&s.create_dashboard(&org, "Ops"));
    let l = create_label(&s, &org, "prod", Value::Null);
    let lid = id_of(&l);
    attach(&s, &dash, &lid);

    let other = s.create_org("other");
    let all = [
        ("read", "labels"),
        ("write", "labels"),
        ("read", "dashboards"),
        ("write", "dashboards"),
    ];
    let t = token(&s, &other, &all);
    let them = s.as_token(&t);

    assert_eq!(
        them.get("/api/v2/labels").expect(200).clone(),
        labels_response(&[])
    );
    assert_eq!(
        them.get(&format!("/api/v2/labels?orgID={org}"))
            .expect(200)
            .clone(),
        labels_response(&[])
    );
    them.get(&format!("/api/v2/labels/{lid}")).expect_error(
        401,
        "unauthorized",
        &format!("read:orgs/{org}/labels/{lid} is unauthorized"),
    );
    them.patch(&format!("/api/v2/labels/{lid}"), &json!({"name": "x"}))
        .expect_error(401, "unauthorized", "write:orgs/");
    them.delete(&format!("/api/v2/labels/{lid}"))
        .expect_error(401, "unauthorized", "write:orgs/");
    them.post("/api/v2/labels", &json!({"orgID": org, "name": "x"}))
        .expect_error(
            401,
            "unauthorized",
            &format!("write:orgs/{org}/labels is unauthorized"),
        );
    them.get(&format!("/api/v2/dashboards/{dash}/labels"))
        .expect_error(401, "unauthorized", "read:orgs/");
    // Its own label cannot go on a dashboard of another org.
    let theirs = them
        .post("/api/v2/labels", &json!({"orgID": other, "name": "theirs"}))
        .expect(201)["label"]
        .clone();
    them.post(
        &format!("/api/v2/dashboards/{dash}/labels"),
        &json!({"labelID": id_of(&theirs)}),
    )
    .expect_error(
        400,
        "invalid",
        "label and resource must belong to the same org",
    );
    assert_eq!(
        them.get("/api/v2/labels").expect(200).clone(),
        labels_response(&[&theirs])
    );
    assert_eq!(dashboard_labels(&s, &dash), labels_response(&[&l]));
}

#[test]
fn labels_survive_a_crash() {
    let mut s = Server::start();
    let org = s.org.clone();
    let dash = id_of(&s.create_dashboard(&org, "Ops"));
    let l1 = create_label(&s, &org, "prod", json!({"color": "#ff0000"}));
    let l2 = create_label(&s, &org, "temp", Value::Null);
    attach(&s, &dash, &id_of(&l1));
    attach(&s, &dash, &id_of(&l2));
    let l1 = s
        .patch(
            &format!("/api/v2/labels/{}", id_of(&l1)),
            &json!({"name": "production", "properties": {"description": "live"}}),
        )
        .expect(200)["label"]
        .clone();
    s.delete(&format!("/api/v2/dashboards/{dash}/labels/{}", id_of(&l2)));
    let before = s.get("/api/v2/labels").expect(200).clone();

    s.crash_and_restart();

    assert_eq!(s.get("/api/v2/labels").expect(200).clone(), before);
    assert_eq!(
        s.get(&format!("/api/v2/labels/{}", id_of(&l1)))
            .expect(200)
            .clone(),
        label_response(&l1)
    );
    assert_eq!(
        l1["properties"],
        json!({"color": "#ff0000", "description": "live"})
    );
    assert_eq!(dashboard_labels(&s, &dash), labels_response(&[&l1]));
    assert_eq!(
        s.get(&format!("/api/v2/dashboards/{dash}")).expect(200)["labels"],
        json!([l1])
    );
    // The name index came back too: the new name is taken, the old one free.
    s.post(
        "/api/v2/labels",
        &json!({"orgID": org, "name": "Production"}),
    )
    .expect_error(422, "conflict", "label with name Production already exists");
    create_label(&s, &org, "prod", Value::Null);
    s.post(
        &format!("/api/v2/dashboards/{dash}/labels"),
        &json!({"labelID": id_of(&l1)}),
    )
    .expect_error(
        422,
        "conflict",
        "Cannot add label, label already exists on resource",
    );
}

/// A GET answered from memory follows every change to what it shows beside
/// the dashboard: each step reads once (to warm what is kept), changes one
/// thing through another route, and reads again.
#[test]
fn a_dashboard_get_follows_its_labels_and_defaults() {
    let s = Server::start();
    let org = s.create_org("acme");
    let dash = id_of(&s.create_dashboard(&org, "ops"));
    let other = id_of(&s.create_dashboard(&org, "other"));
    let path = format!("/api/v2/dashboards/{dash}");
    let get = || s.get(&path).expect(200).clone();
    let names = |d: &Value| -> Vec<String> {
        d["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .map(|l| l["name"].as_str().expect("name").to_string())
            .collect()
    };
    let flags = |d: &Value| (d["isDefaultForUser"].clone(), d["isDefaultForOrg"].clone());

    assert!(names(&get()).is_empty());
    let label = id_of(&create_label(&s, &org, "prod", Value::Null));
    attach(&s, &dash, &label);
    assert_eq!(names(&get()), ["prod"]);
    s.patch(&format!("/api/v2/labels/{label}"), &json!({"name": "live"}))
        .expect(200);
    assert_eq!(names(&get()), ["live"]);
    // A label on another dashboard leaves this one as it is.
    attach(&s, &other, &label);
    assert_eq!(names(&get()), ["live"]);
    s.delete(&format!("{path}/labels/{label}"));
    assert!(names(&get()).is_empty());
    attach(&s, &dash, &label);
    assert_eq!(names(&get()), ["live"]);
    assert_eq!(s.delete(&format!("/api/v2/labels/{label}")).status, 204);
    assert!(names(&get()).is_empty());

    assert_eq!(flags(&get()), (json!(false), json!(false)));
    s.put(
        "/api/v2/me/default-dashboard",
        &json!({ "dashboardID": dash }),
    )
    .expect(200);
    assert_eq!(flags(&get()), (json!(true), json!(false)));
    let of_org = format!("/api/v2/orgs/{org}/default-dashboard");
    s.put(&of_org, &json!({ "dashboardID": dash })).expect(200);
    assert_eq!(flags(&get()), (json!(true), json!(true)));
    s.put(
        "/api/v2/me/default-dashboard",
        &json!({ "dashboardID": other }),
    )
    .expect(200);
    assert_eq!(flags(&get()), (json!(false), json!(true)));
    s.delete(&of_org);
    assert_eq!(flags(&get()), (json!(false), json!(false)));

    s.patch(&path, &json!({"name": "ops 2"})).expect(200);
    assert_eq!(get()["name"], "ops 2");
    assert_eq!(s.delete(&path).status, 204);
    s.get(&path)
        .expect_error(404, "not found", "dashboard not found");
}
