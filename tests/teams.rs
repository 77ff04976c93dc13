//! Teams: private dashboards, default dashboards and custom roles per org.

mod common;

use common::{id_of, Cred, Server};
use serde_json::{json, Value};

const PASSWORD: &str = "password123";

/// A user with a password, added to `org` as owner or member.
fn user_in(s: &Server, org: &str, name: &str, owner: bool) -> String {
    let id = id_of(
        s.post(
            "/api/v2/users",
            &json!({"name": name, "password": PASSWORD}),
        )
        .expect(201),
    );
    let kind = if owner { "owners" } else { "members" };
    s.post(&format!("/api/v2/orgs/{org}/{kind}"), &json!({ "id": id }))
        .expect(201);
    id
}

fn session(s: &Server, name: &str) -> Cred {
    Cred::Cookie(s.sign_in(name, PASSWORD).expect("sign in"))
}

fn ids(list: &Value) -> Vec<String> {
    list["dashboards"]
        .as_array()
        .expect("dashboards")
        .iter()
        .map(id_of)
        .collect()
}

fn exported_names(objects: &Value) -> Vec<String> {
    objects
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["kind"] == "Dashboard")
        .map(|o| o["spec"]["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn private_dashboards_show_only_to_owners_members_creator_and_operators() {
    let s = Server::start();
    let org = s.org.clone();
    user_in(&s, &org, "creator", true);
    user_in(&s, &org, "other_owner", true);
    user_in(&s, &org, "plain", false);
    let member = user_in(&s, &org, "dash_member", false);
    let creator = s.with(session(&s, "creator"));
    let other_owner = s.with(session(&s, "other_owner"));
    let plain = s.with(session(&s, "plain"));
    let dash_member = s.with(session(&s, "dash_member"));

    let p = creator
        .post(
            "/api/v2/dashboards",
            &json!({"orgID": org, "name": "secret plans", "private": true}),
        )
        .expect(201)
        .clone();
    assert_eq!(p["private"], true);
    let p = id_of(&p);
    let public = creator
        .post(
            "/api/v2/dashboards",
            &json!({"orgID": org, "name": "lobby"}),
        )
        .expect(201)
        .clone();
    assert_eq!(public["private"], false, "absent on create means public");
    let public = id_of(&public);
    let cell = id_of(
        &creator
            .post(
                &format!("/api/v2/dashboards/{p}/cells"),
                &json!({"x": 0, "y": 0, "w": 4, "h": 4, "name": "c"}),
            )
            .expect(201)
            .clone(),
    );
    let label = creator
        .post("/api/v2/labels", &json!({"orgID": org, "name": "hush"}))
        .expect(201)["label"]["id"]
        .as_str()
        .expect("label")
        .to_string();
    creator
        .post(
            &format!("/api/v2/dashboards/{p}/labels"),
            &json!({ "labelID": label }),
        )
        .expect(201);
    creator
        .post(
            &format!("/api/v2/dashboards/{p}/members"),
            &json!({ "id": member }),
        )
        .expect(201);

    let base = format!("/api/v2/dashboards/{p}");
    // Everyone else in the org: exactly as if it did not exist.
    for (who, a) in [("org member", &plain), ("another org owner", &other_owner)] {
        for list in [
            "/api/v2/dashboards".to_string(),
            format!("/api/v2/dashboards?orgID={org}"),
            format!("/api/v2/dashboards?id={p}"),
        ] {
            let got = ids(a.get(&list).expect(200));
            assert!(!got.contains(&p), "{who} lists it via {list}");
            if !list.contains("id=") {
                assert!(got.contains(&public), "{who} lists the public one");
            }
        }
        for path in [
            base.clone(),
            format!("{base}/cells/{cell}/view"),
            format!("{base}/labels"),
            format!("{base}/members"),
            format!("{base}/owners"),
            format!("{base}/versions"),
        ] {
            a.get(&path)
                .expect_error(404, "not found", "dashboard not found");
        }
        a.patch(&base, &json!({"name": "mine now"})).expect_error(
            404,
            "not found",
            "dashboard not found",
        );
        a.post(&format!("{base}/clone"), &json!({"name": "copy"}))
            .expect_error(404, "not found", "dashboard not found");
        a.post(
            "/api/v2/templates/export",
            &json!({"resources": [{"kind": "Dashboard", "id": p}]}),
        )
        .expect(404);
        let by_org = a
            .post(
                "/api/v2/templates/export",
                &json!({"orgIDs": [{"orgID": org}]}),
            )
            .expect(200)
            .clone();
        assert_eq!(exported_names(&by_org), vec!["lobby".to_string()], "{who}");
    }
    // Its creator, its members and operators see it everywhere.
    let operator = s.with(Cred::Token(s.token.clone().expect("token")));
    for (who, a) in [
        ("creator", &creator),
        ("dashboard member", &dash_member),
        ("operator", &operator),
    ] {
        assert_eq!(a.get(&base).expect(200)["private"], true, "{who}");
        assert!(
            ids(a.get("/api/v2/dashboards").expect(200)).contains(&p),
            "{who}"
        );
        assert!(
            ids(a
                .get(&format!("/api/v2/dashboards?orgID={org}"))
                .expect(200))
            .contains(&p),
            "{who}"
        );
        a.get(&format!("{base}/cells/{cell}/view")).expect(200);
        a.get(&format!("{base}/labels")).expect(200);
        a.get(&format!("{base}/versions")).expect(200);
        let objects = a
            .post(
                "/api/v2/templates/export",
                &json!({"resources": [{"kind": "Dashboard", "id": p}]}),
            )
            .expect(200)
            .clone();
        assert_eq!(exported_names(&objects), vec!["secret plans".to_string()]);
    }
    // A clone by its creator is theirs and private too.
    let copy = creator
        .post(&format!("{base}/clone"), &json!({"name": "plans copy"}))
        .expect(201)
        .clone();
    plain
        .get(&format!("/api/v2/dashboards/{}", id_of(&copy)))
        .expect(404);

    // Made public, the org sees it; made private again, it is gone again
    // (also from the rendered-JSON cache the GET above filled).
    creator.patch(&base, &json!({"private": false})).expect(200);
    assert_eq!(plain.get(&base).expect(200)["private"], false);
    assert_eq!(
        creator.patch(&base, &json!({"private": true})).expect(200)["private"],
        true
    );
    plain.get(&base).expect(404);
    // The history says what happened.
    let versions = creator.get(&format!("{base}/versions")).expect(200).clone();
    assert!(versions.to_string().contains("made private"), "{versions}");

    // Private in the trash as well.
    assert_eq!(creator.delete(&base).status, 204);
    let trash = |a: &common::As<'_>| {
        ids(a
            .get(&format!("/api/v2/trash/dashboards?orgID={org}"))
            .expect(200))
    };
    assert!(trash(&creator).contains(&p));
    assert!(trash(&operator).contains(&p));
    assert!(!trash(&other_owner).contains(&p));
    other_owner
        .post(&format!("/api/v2/trash/dashboards/{p}/restore"), &json!({}))
        .expect(404);
    creator
        .post(&format!("/api/v2/trash/dashboards/{p}/restore"), &json!({}))
        .expect(200);

    // Durable, flag included.
    let mut s = s;
    s.crash_and_restart();
    assert_eq!(s.get(&base).expect(200)["private"], true);
    s.with(session(&s, "plain")).get(&base).expect(404);
    s.with(session(&s, "dash_member")).get(&base).expect(200);
}

#[test]
fn default_dashboards_for_users_and_orgs() {
    let mut s = Server::start();
    let org = s.org.clone();
    let other_org = s.create_org("elsewhere");
    user_in(&s, &org, "reader", false);
    let d1 = id_of(&s.create_dashboard(&org, "one"));
    let d2 = id_of(&s.create_dashboard(&org, "two"));
    let far = id_of(&s.create_dashboard(&other_org, "far"));
    let hidden = id_of(
        s.post(
            "/api/v2/dashboards",
            &json!({"orgID": org, "name": "hidden", "private": true}),
        )
        .expect(201),
    );
    let reader = s.with(session(&s, "reader"));
    let mine = "/api/v2/me/default-dashboard";
    let of_org = format!("/api/v2/orgs/{org}/default-dashboard");

    reader.get(mine).expect_error(404, "not found", "");
    s.get(&of_org).expect_error(404, "not found", "");
    let set = reader
        .put(mine, &json!({ "dashboardID": d1 }))
        .expect(200)
        .clone();
    assert_eq!(set["dashboardID"], d1.as_str());
    assert_eq!(
        set["links"]["dashboard"],
        format!("/api/v2/dashboards/{d1}")
    );
    assert_eq!(reader.get(mine).expect(200)["dashboardID"], d1.as_str());
    // Bad bodies and dashboards the reader may not see change nothing.
    reader
        .put(mine, &json!({}))
        .expect_error(400, "invalid", "dashboardID");
    reader
        .put(mine, &json!({ "dashboardID": hidden }))
        .expect_error(404, "not found", "dashboard not found");
    reader
        .put(mine, &json!({ "dashboardID": far }))
        .expect_error(404, "not found", "dashboard not found");
    assert_eq!(reader.get(mine).expect(200)["dashboardID"], d1.as_str());

    // The org's default: owners set it, members read it.
    reader
        .put(&of_org, &json!({ "dashboardID": d2 }))
        .expect_error(401, "unauthorized", "");
    s.put(&of_org, &json!({ "dashboardID": far }))
        .expect_error(400, "invalid", "");
    s.put(&of_org, &json!({ "dashboardID": d2 })).expect(200);
    assert_eq!(reader.get(&of_org).expect(200)["dashboardID"], d2.as_str());
    s.with(Cred::None).get(&of_org).expect(401);

    // The flags, for this reader, on GET (twice: rendered and cached) and lists.
    for _ in 0..2 {
        let one = reader
            .get(&format!("/api/v2/dashboards/{d1}"))
            .expect(200)
            .clone();
        assert_eq!(
            (
                one["isDefaultForUser"].clone(),
                one["isDefaultForOrg"].clone()
            ),
            (json!(true), json!(false))
        );
        let two = reader
            .get(&format!("/api/v2/dashboards/{d2}"))
            .expect(200)
            .clone();
        assert_eq!(
            (
                two["isDefaultForUser"].clone(),
                two["isDefaultForOrg"].clone()
            ),
            (json!(false), json!(true))
        );
    }
    let by_operator = s
        .get(&format!("/api/v2/dashboards/{d1}"))
        .expect(200)
        .clone();
    assert_eq!(
        by_operator["isDefaultForUser"], false,
        "the reader's own flag"
    );
    let list = reader
        .get(&format!("/api/v2/dashboards?orgID={org}"))
        .expect(200)
        .clone();
    for d in list["dashboards"].as_array().expect("list") {
        let id = id_of(d);
        assert_eq!(d["isDefaultForUser"], id == d1, "{d}");
        assert_eq!(d["isDefaultForOrg"], id == d2, "{d}");
    }

    // Durable.
    s.crash_and_restart();
    let reader = s.with(session(&s, "reader"));
    assert_eq!(reader.get(mine).expect(200)["dashboardID"], d1.as_str());
    assert_eq!(reader.get(&of_org).expect(200)["dashboardID"], d2.as_str());

    // A list follows every change at once (the flags are cached).
    let flagged = |who: &common::As<'_>, flag: &str| -> Vec<String> {
        who.get(&format!("/api/v2/dashboards?orgID={org}"))
            .expect(200)["dashboards"]
            .as_array()
            .expect("list")
            .iter()
            .filter(|d| d[flag] == true)
            .map(id_of)
            .collect()
    };

    // Cleared by hand, and by deleting the dashboard.
    assert_eq!(flagged(&reader, "isDefaultForUser"), vec![d1.as_str()]);
    assert_eq!(reader.delete(mine).status, 204);
    assert_eq!(reader.delete(mine).status, 204);
    reader.get(mine).expect(404);
    assert!(flagged(&reader, "isDefaultForUser").is_empty());
    assert_eq!(flagged(&reader, "isDefaultForOrg"), vec![d2.as_str()]);
    reader.put(mine, &json!({ "dashboardID": d2 })).expect(200);
    assert_eq!(flagged(&reader, "isDefaultForUser"), vec![d2.as_str()]);
    assert_eq!(s.delete(&format!("/api/v2/dashboards/{d2}")).status, 204);
    reader.get(mine).expect_error(404, "not found", "");
    s.get(&of_org).expect_error(404, "not found", "");
    // Restoring it does not bring the defaults back.
    s.post(
        &format!("/api/v2/trash/dashboards/{d2}/restore"),
        &json!({}),
    )
    .expect(200);
    reader.get(mine).expect(404);
    let two = reader
        .get(&format!("/api/v2/dashboards/{d2}"))
        .expect(200)
        .clone();
    assert_eq!(two["isDefaultForOrg"], false);
    assert!(flagged(&reader, "isDefaultForOrg").is_empty());
    s.put(&of_org, &json!({ "dashboardID": d1 })).expect(200);
    assert_eq!(flagged(&reader, "isDefaultForOrg"), vec![d1.as_str()]);
    assert_eq!(s.delete(&of_org).status, 204);
    s.get(&of_org).expect(404);
    assert!(flagged(&reader, "isDefaultForOrg").is_empty());
}

fn editor_body(name: &str) -> Value {
    json!({
        "name": name,
        "description": "edits dashboards",
        "permissions": [
            {"action": "read", "resource": {"type": "dashboards"}},
            {"action": "write", "resource": {"type": "dashboards"}}
        ]
    })
}

#[test]
fn custom_roles_crud_and_built_ins() {
    let mut s = Server::start();
    let org = s.org.clone();
    let other_org = s.create_org("elsewhere");
    user_in(&s, &org, "plain", false);
    let roles = format!("/api/v2/orgs/{org}/roles");

    let list = s.get(&roles).expect(200).clone();
    assert_eq!(list["links"]["self"], roles.as_str());
    let built_in: Vec<(String, bool)> = list["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_string(),
                r["builtIn"] == true,
            )
        })
        .collect();
    assert_eq!(
        built_in,
        vec![
            ("Org Admin".to_string(), true),
            ("Viewer".to_string(), true)
        ]
    );
    let admin_id = id_of(&list["roles"][0]);
    let viewer_id = id_of(&list["roles"][1]);
    // Built-in IDs are stable, and differ per org.
    let again = s.get(&roles).expect(200).clone();
    assert_eq!(id_of(&again["roles"][0]), admin_id);
    let other = s
        .get(&format!("/api/v2/orgs/{other_org}/roles"))
        .expect(200)
        .clone();
    assert_ne!(id_of(&other["roles"][0]), admin_id);

    let created = s
        .post(&roles, &editor_body("Dashboard Editor"))
        .expect(201)
        .clone();
    let role = id_of(&created);
    assert_eq!(created["orgID"], org.as_str());
    assert_eq!(created["builtIn"], false);
    assert_eq!(created["description"], "edits dashboards");
    assert_eq!(
        created["permissions"],
        json!([
            {"action": "read", "resource": {"type": "dashboards", "orgID": org}},
            {"action": "write", "resource": {"type": "dashboards", "orgID": org}}
        ])
    );
    assert_eq!(created["links"]["self"], format!("{roles}/{role}"));
    assert!(created["createdAt"].is_string() && created["updatedAt"].is_string());

    // Names are unique per org without regard to case, built-ins included.
    s.post(&roles, &editor_body("dashboard editor"))
        .expect_error(409, "conflict", "role with name");
    s.post(&roles, &editor_body("VIEWER"))
        .expect_error(409, "conflict", "");
    s.post(
        &format!("/api/v2/orgs/{other_org}/roles"),
        &editor_body("Dashboard Editor"),
    )
    .expect(201);
    // Bad input: 400, nothing created.
    for bad in [
        json!({"permissions": []}),
        json!({"name": "x", "permissions": [{"action": "read", "resource": {"type": "nonsense"}}]}),
        json!({"name": "x", "permissions": [{"action": "read", "resource": {"type": "users"}}]}),
        json!({"name": "x", "permissions": [{"action": "read", "resource": {"type": "dashboards", "orgID": other_org}}]}),
        json!({"name": "x", "permissions": [{"action": "fly", "resource": {"type": "dashboards"}}]}),
        json!({"name": "x", "permissions": "all"}),
    ] {
        s.post(&roles, &bad).expect_error(400, "invalid", "");
    }
    assert_eq!(
        s.get(&roles).expect(200)["roles"].as_array().map(Vec::len),
        Some(3)
    );

    // Get, patch, and the built-ins' refusal.
    assert_eq!(
        s.get(&format!("{roles}/{role}")).expect(200)["name"],
        "Dashboard Editor"
    );
    assert_eq!(
        s.get(&format!("{roles}/{viewer_id}")).expect(200)["builtIn"],
        true
    );
    s.get(&format!("{roles}/00000000000000aa"))
        .expect_error(404, "not found", "role not found");
    s.get(&format!("/api/v2/orgs/{other_org}/roles/{role}"))
        .expect_error(404, "not found", "role not found");
    let patched = s
        .patch(
            &format!("{roles}/{role}"),
            &json!({"name": "Editors", "description": "d"}),
        )
        .expect(200)
        .clone();
    assert_eq!(
        (patched["name"].clone(), patched["description"].clone()),
        (json!("Editors"), json!("d"))
    );
    s.patch(&format!("{roles}/{role}"), &json!({}))
        .expect_error(400, "invalid", "");
    for b in [&admin_id, &viewer_id] {
        s.patch(&format!("{roles}/{b}"), &json!({"name": "mine"}))
            .expect_error(403, "forbidden", "role");
        s.delete(&format!("{roles}/{b}"))
            .expect_error(403, "forbidden", "role");
    }
    // Members read the roles but do not manage them.
    let plain = s.with(session(&s, "plain"));
    plain.get(&roles).expect(200);
    plain
        .post(&roles, &editor_body("Mine"))
        .expect_error(401, "unauthorized", "");
    plain
        .delete(&format!("{roles}/{role}"))
        .expect_error(401, "unauthorized", "");

    // Durable.
    s.crash_and_restart();
    assert_eq!(
        s.get(&format!("{roles}/{role}")).expect(200)["name"],
        "Editors"
    );
    assert_eq!(s.delete(&format!("{roles}/{role}")).status, 204);
    s.get(&format!("{roles}/{role}")).expect(404);
    // The name is free again.
    s.post(&roles, &editor_body("editors")).expect(201);
    // Deleting the org takes its roles with it (one stored role is left).
    assert_eq!(s.delete(&format!("/api/v2/orgs/{other_org}")).status, 204);
    s.get(&format!("/api/v2/orgs/{other_org}/roles"))
        .expect(404);
    let metrics = s.anonymous().get("/metrics").text;
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"tessera_store_records{kind="roles"} 1"#),
        "{metrics}"
    );
}

#[test]
fn custom_roles_are_enforced_and_replaced_as_a_whole() {
    let mut s = Server::start();
    let org = s.org.clone();
    let alice = user_in(&s, &org, "alice", false);
    let stranger = id_of(
        s.post(
            "/api/v2/users",
            &json!({"name": "stranger", "password": PASSWORD}),
        )
        .expect(201),
    );
    let roles = format!("/api/v2/orgs/{org}/roles");
    let editor = id_of(s.post(&roles, &editor_body("dashboard editor")).expect(201));
    let admin_id = id_of(&s.get(&roles).expect(200)["roles"][0]);
    let assigned = format!("/api/v2/orgs/{org}/members/{alice}/roles");
    let d = id_of(&s.create_dashboard(&org, "shared"));
    let dash = format!("/api/v2/dashboards/{d}");
    let a = s.with(session(&s, "alice"));
    let label = |a: &common::As<'_>, name: &str| {
        a.post("/api/v2/labels", &json!({"orgID": org, "name": name}))
    };

    // A plain member reads but does not write.
    assert_eq!(a.get(&assigned).expect(200)["roles"], json!([]));
    a.patch(&dash, &json!({"description": "by alice"}))
        .expect_error(401, "unauthorized", "");
    // Given the editor role, the same session writes dashboards at once...
    let got = s
        .put(&assigned, &json!({ "roleIDs": [editor] }))
        .expect(200)
        .clone();
    assert_eq!(got["roles"][0]["id"], editor.as_str());
    a.patch(&dash, &json!({"description": "by alice"}))
        .expect(200);
    a.post(
        "/api/v2/dashboards",
        &json!({"orgID": org, "name": "alice's"}),
    )
    .expect(201);
    // ...but still not labels.
    label(&a, "nope").expect_error(401, "unauthorized", "");
    // Managing assignments needs write on the org.
    a.put(&assigned, &json!({ "roleIDs": [admin_id] }))
        .expect_error(401, "unauthorized", "");

    // Bad assignments change nothing.
    s.put(
        &assigned,
        &json!({ "roleIDs": [editor, "00000000000000aa"] }),
    )
    .expect_error(400, "invalid", "role 00000000000000aa");
    s.put(&assigned, &json!({ "roleIDs": "editor" }))
        .expect_error(400, "invalid", "");
    s.put(&assigned, &json!({}))
        .expect_error(400, "invalid", "roleIDs");
    s.put(
        &format!("/api/v2/orgs/{org}/members/{stranger}/roles"),
        &json!({ "roleIDs": [editor] }),
    )
    .expect_error(400, "invalid", "user");
    s.put(
        &format!("/api/v2/orgs/{org}/members/00000000000000aa/roles"),
        &json!({ "roleIDs": [editor] }),
    )
    .expect_error(404, "not found", "user not found");
    assert_eq!(
        s.get(&assigned).expect(200)["roles"][0]["id"],
        editor.as_str()
    );

    // Replace-based: the new list is the whole list.
    let both = s
        .put(
            &assigned,
            &json!({ "roleIDs": [admin_id, editor, admin_id] }),
        )
        .expect(200)
        .clone();
    let held: Vec<String> = both["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(held, vec![admin_id.clone(), editor.clone()]);
    label(&a, "as admin").expect(201);
    s.put(&assigned, &json!({ "roleIDs": [editor] }))
        .expect(200);
    label(&a, "no longer").expect_error(401, "unauthorized", "");
    s.put(&assigned, &json!({ "roleIDs": [] })).expect(200);
    a.patch(&dash, &json!({"description": "again"}))
        .expect_error(401, "unauthorized", "");

    // Durable, and a role's removal acts at once.
    s.put(&assigned, &json!({ "roleIDs": [editor] }))
        .expect(200);
    s.crash_and_restart();
    let a = s.with(session(&s, "alice"));
    assert_eq!(
        s.get(&assigned).expect(200)["roles"][0]["name"],
        "dashboard editor"
    );
    a.patch(&dash, &json!({"description": "after restart"}))
        .expect(200);
    assert_eq!(s.delete(&format!("{roles}/{editor}")).status, 204);
    a.patch(&dash, &json!({"description": "gone"}))
        .expect_error(401, "unauthorized", "");
    assert_eq!(s.get(&assigned).expect(200)["roles"], json!([]));

    // Leaving the org drops the roles held in it.
    let editor = id_of(s.post(&roles, &editor_body("editor 2")).expect(201));
    s.put(&assigned, &json!({ "roleIDs": [editor] }))
        .expect(200);
    a.patch(&dash, &json!({"description": "back"})).expect(200);
    assert_eq!(
        s.delete(&format!("/api/v2/orgs/{org}/members/{alice}"))
            .status,
        204
    );
    a.get(&dash).expect(401);
    s.post(
        &format!("/api/v2/orgs/{org}/members"),
        &json!({ "id": alice }),
    )
    .expect(201);
    a.patch(&dash, &json!({"description": "rejoined"}))
        .expect_error(401, "unauthorized", "");
}

/// Polls `f` until it returns true or `bound` passes.
fn within(bound: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() <= bound {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

#[test]
fn role_changes_through_one_instance_reach_the_other_within_a_second() {
    if common::skip_on_sled("two instances need PostgreSQL") {
        return;
    }
    let a = Server::start();
    let b = a.second_instance();
    let org = a.org.clone();
    let alice = user_in(&a, &org, "alice", false);
    let d = id_of(&a.create_dashboard(&org, "shared"));
    let dash = format!("/api/v2/dashboards/{d}");
    let role = id_of(
        a.post(&format!("/api/v2/orgs/{org}/roles"), &editor_body("editor"))
            .expect(201),
    );
    // Alice's actor is cached on B, without the role.
    let on_b = b.with(session(&b, "alice"));
    for _ in 0..3 {
        on_b.get(&dash).expect(200);
    }
    let bound = std::time::Duration::from_secs(1);
    let writes = |desc: &str| on_b.patch(&dash, &json!({ "description": desc })).status;
    assert_eq!(writes("before"), 401);
    a.put(
        &format!("/api/v2/orgs/{org}/members/{alice}/roles"),
        &json!({ "roleIDs": [role] }),
    )
    .expect(200);
    assert!(
        within(bound, || writes("granted") == 200),
        "assignment not seen on B"
    );
    a.patch(
        &format!("/api/v2/orgs/{org}/roles/{role}"),
        &json!({"permissions": [{"action": "read", "resource": {"type": "dashboards"}}]}),
    )
    .expect(200);
    assert!(
        within(bound, || writes("narrowed") == 401),
        "role change not seen on B"
    );
    a.patch(
        &format!("/api/v2/orgs/{org}/roles/{role}"),
        &editor_body("editor"),
    )
    .expect(200);
    assert!(
        within(bound, || writes("widened") == 200),
        "role change not seen on B"
    );
    assert_eq!(
        a.delete(&format!("/api/v2/orgs/{org}/roles/{role}")).status,
        204
    );
    assert!(
        within(bound, || writes("deleted") == 401),
        "role deletion not seen on B"
    );
}

/// External dashboards naming roles show only to members holding one of
/// them (and to those who may change them); unknown roles are refused.
#[test]
fn external_dashboards_show_to_the_roles_they_name() {
    let mut s = Server::start();
    let org = s.org.clone();
    let alice = user_in(&s, &org, "alice", false);
    user_in(&s, &org, "bob", false);
    let roles = format!("/api/v2/orgs/{org}/roles");
    let viewer = id_of(&s.get(&roles).expect(200)["roles"][1]);
    let ops = id_of(
        s.post(
            &roles,
            &json!({"name": "ops", "permissions": [
                {"action": "read", "resource": {"type": "buckets"}}]}),
        )
        .expect(201),
    );
    let ext = "/api/v2/externalDashboards";
    let make = |name: &str, roles: Value| {
        id_of(
            s.post(
                ext,
                &json!({"orgID": org, "name": name, "url": "https://localhost/x", "roleIDs": roles}),
            )
            .expect(201),
        )
    };
    let open_one = make("for everyone", json!([]));
    let ops_only = make("for ops", json!([ops]));
    let viewers = make("for viewers", json!([viewer]));
    s.post(
        ext,
        &json!({"orgID": org, "name": "bad", "url": "https://localhost/x",
                "roleIDs": ["00000000000000aa"]}),
    )
    .expect_error(400, "invalid", "roleIDs: role 00000000000000aa");
    let seen = |who: &common::As<'_>| -> Vec<String> {
        let list = who.get(&format!("{ext}?orgID={org}"));
        list.expect(200)["externalDashboards"]
            .as_array()
            .expect("list")
            .iter()
            .map(id_of)
            .collect()
    };
    let a = s.with(session(&s, "alice"));
    let b = s.with(session(&s, "bob"));
    // Members hold the built-in Viewer role, not "ops".
    assert_eq!(seen(&a), vec![open_one.clone(), viewers.clone()]);
    a.get(&format!("{ext}/{ops_only}")).expect_error(
        404,
        "not found",
        "external dashboard not found",
    );
    // The org's owner (the operator here) sees every one.
    assert_eq!(
        seen(&s.as_token(s.token.as_deref().expect("token"))).len(),
        3
    );
    // Given "ops", alice sees it at once; bob still does not.
    s.put(
        &format!("/api/v2/orgs/{org}/members/{alice}/roles"),
        &json!({"roleIDs": [ops]}),
    )
    .expect(200);
    assert_eq!(seen(&a).len(), 3);
    a.get(&format!("{ext}/{ops_only}")).expect(200);
    assert_eq!(seen(&b), vec![open_one.clone(), viewers.clone()]);
    // Durable, and a role deleted hides it again.
    s.crash_and_restart();
    let a = s.with(session(&s, "alice"));
    assert_eq!(seen(&a).len(), 3);
    assert_eq!(s.delete(&format!("{roles}/{ops}")).status, 204);
    assert_eq!(seen(&a), vec![open_one, viewers]);
}
