//! Onboarding, sign-in, users, tokens and the access matrix, over real HTTP.

mod common;

use common::{id_of, Cred, Server, ADMIN, ADMIN_PASSWORD, SETUP_ORG};
use reqwest::Method;
use serde_json::{json, Value};

#[test]
fn onboarding_flow() {
    let s = Server::start_fresh(&[]);
    assert_eq!(
        s.anonymous().get("/api/v2/setup").expect(200).clone(),
        json!({"allowed": true})
    );
    s.anonymous()
        .post(
            "/api/v2/setup",
            &json!({"username": "", "org": "o", "bucket": "b"}),
        )
        .expect_error(400, "invalid", "username is empty");
    s.anonymous()
        .post(
            "/api/v2/setup",
            &json!({"username": "u", "org": "", "bucket": "b"}),
        )
        .expect_error(400, "invalid", "org name is empty");
    s.anonymous()
        .post("/api/v2/setup", &json!({"username": "u", "org": "o"}))
        .expect_error(400, "invalid", "bucket name is empty");
    s.anonymous()
        .post(
            "/api/v2/setup",
            &json!({"username": "u", "password": "short", "org": "o", "bucket": "b"}),
        )
        .expect_error(
            400,
            "invalid",
            "passwords must be at least 8 characters long",
        );
    assert_eq!(
        s.anonymous().get("/api/v2/setup").expect(200)["allowed"],
        true,
        "a refused setup changed nothing"
    );

    let r = s
        .anonymous()
        .post("/api/v2/setup", &json!({"username": "ada", "password": "lovelace1", "org": "engines", "bucket": "telemetry", "retentionPeriodSeconds": 86400, "token": "my-chosen-token"}))
        .expect(201)
        .clone();
    assert_eq!(r["user"]["name"], "ada");
    assert_eq!(r["user"]["status"], "active");
    assert_eq!(r["org"]["name"], "engines");
    assert_eq!(r["bucket"]["name"], "telemetry");
    assert_eq!(r["bucket"]["orgID"], r["org"]["id"]);
    assert_eq!(r["bucket"]["retentionRules"][0]["type"], "expire");
    assert_eq!(r["bucket"]["retentionRules"][0]["everySeconds"], 86400);
    assert_eq!(r["auth"]["token"], "my-chosen-token");
    assert_eq!(r["auth"]["status"], "active");
    assert_eq!(r["auth"]["userID"], r["user"]["id"]);
    assert!(
        r["auth"]["permissions"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
            >= 40
    );
    assert!(r["user"].get("password").is_none() && !r.to_string().contains("lovelace1"));

    assert_eq!(
        s.anonymous().get("/api/v2/setup").expect(200)["allowed"],
        false
    );
    s.anonymous()
        .post(
            "/api/v2/setup",
            &json!({"username": "eve", "password": "password1", "org": "x", "bucket": "y"}),
        )
        .expect_error(422, "conflict", "onboarding has already been completed");
    // The supplied token works, with both schemes.
    assert_eq!(
        s.as_token("my-chosen-token").get("/api/v2/me").expect(200)["name"],
        "ada"
    );
    assert_eq!(
        s.with(Cred::Bearer("my-chosen-token".into()))
            .get("/api/v2/me")
            .expect(200)["name"],
        "ada"
    );
    let b = s
        .as_token("my-chosen-token")
        .get("/api/v2/buckets")
        .expect(200)
        .clone();
    assert_eq!(b["buckets"][0]["name"], "telemetry");
}

#[test]
fn cli_setup_onboards_a_directory() {
    let dir = tempfile::tempdir().expect("tmp");
    // On PostgreSQL, `setup` and the server get the database instead.
    let (_, store) = common::fresh_store_args();
    let out = std::process::Command::new(common::bin())
        .args(&store)
        .args([
            "setup",
            "--username",
            "ops",
            "--password",
            "hunter2hunter2",
            "--org",
            "acme",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a minted JWT: {token}");
    // Running it again is refused.
    let again = std::process::Command::new(common::bin())
        .args(&store)
        .args(["setup", "--username", "x", "--org", "y", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("onboarding has already been completed")
    );
    // The server started on that directory accepts the token.
    let (mut child, base) = common::spawn(dir.path(), &store);
    let r = reqwest::blocking::Client::new()
        .get(format!("{base}/api/v2/me"))
        .header("authorization", format!("Token {token}"))
        .send()
        .expect("req");
    assert_eq!(r.status().as_u16(), 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sign_in_sessions_and_me() {
    let s = Server::start_with(&["--session-length", "1"]);
    s.anonymous()
        .get("/api/v2/me")
        .expect_error(401, "unauthorized", "unauthorized access");
    // Wrong password, unknown user, no basic auth: 401, no cookie.
    let r = s.send(
        s.raw(Method::POST, "/api/v2/signin")
            .basic_auth(ADMIN, Some("wrong")),
    );
    r.expect_error(401, "unauthorized", "");
    assert!(r.header("set-cookie").is_none());
    s.send(
        s.raw(Method::POST, "/api/v2/signin")
            .basic_auth("nobody", Some("whatever1")),
    )
    .expect_error(401, "unauthorized", "");
    s.send(s.raw(Method::POST, "/api/v2/signin"))
        .expect_error(401, "unauthorized", "");

    let r = s.send(
        s.raw(Method::POST, "/api/v2/signin")
            .basic_auth(ADMIN, Some(ADMIN_PASSWORD)),
    );
    assert_eq!(r.status, 204);
    let cookie = r.header("set-cookie").expect("cookie").to_string();
    assert!(cookie.starts_with("influxdb-oss-session="), "{cookie}");
    for attr in ["Path=/api/", "HttpOnly", "SameSite=Strict", "Expires="] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    let sid = s.sign_in(ADMIN, ADMIN_PASSWORD).expect("session");
    let me = s
        .with(Cred::Cookie(sid.clone()))
        .get("/api/v2/me")
        .expect(200)
        .clone();
    assert_eq!(me["name"], ADMIN);
    assert_eq!(
        me["links"]["self"],
        format!("/api/v2/users/{}", me["id"].as_str().unwrap_or(""))
    );
    // The Python client sends the whole Set-Cookie line back.
    let python_style = format!("{cookie}; Max-Age=3600");
    let r = s.send(
        s.raw(Method::GET, "/api/v2/me")
            .header("cookie", python_style),
    );
    assert_eq!(r.expect(200)["name"], ADMIN);
    // The JS client sends a JSON content type even on GET with no body.
    let r = s.send(
        s.raw(Method::GET, "/api/v2/dashboards")
            .header("cookie", format!("influxdb-oss-session={sid}"))
            .header("content-type", "application/json; charset=utf-8"),
    );
    r.expect(200);

    // Sign out ends that session only.
    let other = s.sign_in(ADMIN, ADMIN_PASSWORD).expect("session");
    let r = s
        .with(Cred::Cookie(sid.clone()))
        .req(Method::POST, "/api/v2/signout", None);
    assert_eq!(r.status, 204);
    s.with(Cred::Cookie(sid))
        .get("/api/v2/me")
        .expect_error(401, "unauthorized", "");
    s.with(Cred::Cookie(other)).get("/api/v2/me").expect(200);
    s.anonymous()
        .req(Method::POST, "/api/v2/signout", None)
        .expect_error(401, "unauthorized", "");
}

#[test]
fn sessions_expire() {
    let s = Server::start_with(&["--session-length", "0"]);
    let sid = s.sign_in(ADMIN, ADMIN_PASSWORD).expect("session");
    s.with(Cred::Cookie(sid)).get("/api/v2/me").expect_error(
        401,
        "unauthorized",
        "session has expired",
    );
}

#[test]
fn users_and_passwords() {
    let mut s = Server::start();
    let u = s
        .post("/api/v2/users", &json!({"name": "bob"}))
        .expect(201)
        .clone();
    let bob = id_of(&u);
    assert_eq!(
        u,
        json!({"links": {"self": format!("/api/v2/users/{bob}")}, "id": bob, "name": "bob", "status": "active"})
    );
    s.post("/api/v2/users", &json!({"name": "bob"}))
        .expect_error(422, "conflict", "user with name bob already exists");
    s.post("/api/v2/users", &json!({"name": " "})).expect_error(
        400,
        "invalid",
        "user name is empty",
    );
    s.post(
        &format!("/api/v2/users/{bob}/password"),
        &json!({"password": "short"}),
    )
    .expect_error(
        400,
        "invalid",
        "passwords must be at least 8 characters long",
    );
    assert_eq!(
        s.post(
            &format!("/api/v2/users/{bob}/password"),
            &json!({"password": "bobspassword"})
        )
        .status,
        204
    );
    let sid = s.sign_in("bob", "bobspassword").expect("bob signs in");
    // Bob changes his own password, proving the old one with Basic auth as
    // InfluxDB requires; a wrong or missing old password changes nothing.
    let me_password = |old: Option<&str>, new: &str| {
        let mut rb = s
            .raw(Method::PUT, "/api/v2/me/password")
            .header("cookie", format!("influxdb-oss-session={sid}"))
            .header("content-type", "application/json")
            .body(json!({ "password": new }).to_string());
        if let Some(old) = old {
            rb = rb.basic_auth("bob", Some(old));
        }
        s.send(rb)
    };
    me_password(Some("not-the-password"), "stolen-password").expect_error(
        403,
        "forbidden",
        "your username or password is incorrect",
    );
    me_password(None, "stolen-password").expect_error(401, "unauthorized", "invalid basic auth");
    assert!(s.sign_in("bob", "stolen-password").is_none());
    assert_eq!(
        me_password(Some("bobspassword"), "newpassword!").status,
        204
    );
    // PUT on the user's own path works the same way, without a session.
    let put = |old: &str, new: &str| {
        s.send(
            s.raw(Method::PUT, &format!("/api/v2/users/{bob}/password"))
                .basic_auth("bob", Some(old))
                .header("content-type", "application/json")
                .body(json!({ "password": new }).to_string()),
        )
    };
    put("wrong-password", "x-password").expect_error(403, "forbidden", "");
    assert_eq!(put("newpassword!", "newpassword?").status, 204);
    assert_eq!(put("newpassword?", "newpassword!").status, 204);
    assert!(s.sign_in("bob", "bobspassword").is_none());
    assert!(s.sign_in("bob", "newpassword!").is_some());
    // Bob reads himself but not other users, and cannot create users.
    s.with(Cred::Cookie(sid.clone()))
        .get(&format!("/api/v2/users/{bob}"))
        .expect(200);
    s.with(Cred::Cookie(sid.clone()))
        .get(&format!("/api/v2/users/{}", s.user))
        .expect_error(
            401,
            "unauthorized",
            &format!("read:users/{} is unauthorized", s.user),
        );
    let listed = s
        .with(Cred::Cookie(sid.clone()))
        .get("/api/v2/users")
        .expect(200)
        .clone();
    assert_eq!(listed["users"].as_array().map(Vec::len), Some(1));
    s.with(Cred::Cookie(sid.clone()))
        .post("/api/v2/users", &json!({"name": "mallory"}))
        .expect_error(401, "unauthorized", "write:users is unauthorized");
    // Rename, deactivate: inactive users cannot sign in or use sessions.
    assert_eq!(
        s.patch(&format!("/api/v2/users/{bob}"), &json!({"name": "robert"}))
            .expect(200)["name"],
        "robert"
    );
    assert_eq!(
        s.get("/api/v2/users?name=robert").expect(200)["users"][0]["id"],
        bob.as_str()
    );
    s.patch(
        &format!("/api/v2/users/{bob}"),
        &json!({"status": "inactive"}),
    )
    .expect(200);
    s.with(Cred::Cookie(sid)).get("/api/v2/me").expect_error(
        401,
        "unauthorized",
        "User is inactive",
    );
    assert!(s.sign_in("robert", "newpassword!").is_none());
    // Passwords never appear at rest in clear.
    s.crash_and_restart();
    let dump = match &s.store_url {
        Some(url) => common::pg_user_records(url),
        None => std::fs::read_dir(s.data_dir())
            .expect("dir")
            .flatten()
            .map(|e| std::fs::read(e.path()).unwrap_or_default())
            .collect::<Vec<_>>(),
    };
    for bytes in dump {
        assert!(
            !bytes.windows(12).any(|w| w == b"newpassword!"),
            "clear password on disk"
        );
    }
    assert_eq!(
        s.get(&format!("/api/v2/users/{bob}")).expect(200)["status"],
        "inactive"
    );
    assert_eq!(s.delete(&format!("/api/v2/users/{bob}")).status, 204);
    s.get(&format!("/api/v2/users/{bob}"))
        .expect_error(404, "not found", "user not found");
}

fn mint(s: &Server, body: Value) -> (String, String) {
    let r = s.post("/api/v2/authorizations", &body).expect(201).clone();
    (id_of(&r), r["token"].as_str().expect("token").to_string())
}

#[test]
fn authorizations_lifecycle() {
    let s = Server::start();
    let org = s.org.clone();
    let r = s
        .post("/api/v2/authorizations", &json!({"orgID": org, "description": "ci", "permissions": [{"action": "read", "resource": {"type": "dashboards", "orgID": org}}]}))
        .expect(201)
        .clone();
    let id = id_of(&r);
    let token = r["token"]
        .as_str()
        .expect("token shown on creation")
        .to_string();
    assert_eq!(r["status"], "active");
    assert_eq!(r["description"], "ci");
    assert_eq!(r["orgID"], org.as_str());
    assert_eq!(r["org"], SETUP_ORG);
    assert_eq!(r["userID"], s.user.as_str());
    assert_eq!(r["user"], ADMIN);
    assert_eq!(
        r["permissions"],
        json!([{"action": "read", "resource": {"type": "dashboards", "orgID": org}}])
    );
    assert_eq!(
        r["links"],
        json!({"self": format!("/api/v2/authorizations/{id}"), "user": format!("/api/v2/users/{}", s.user)})
    );
    // Never shown again.
    let got = s
        .get(&format!("/api/v2/authorizations/{id}"))
        .expect(200)
        .clone();
    assert!(got.get("token").is_none());
    let list = s
        .get(&format!("/api/v2/authorizations?orgID={org}"))
        .expect(200)
        .clone();
    assert!(list["authorizations"]
        .as_array()
        .expect("list")
        .iter()
        .all(|a| a.get("token").is_none()));
    assert_eq!(list["authorizations"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        s.get(&format!("/api/v2/authorizations?user={ADMIN}"))
            .expect(200)["authorizations"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // Bad requests.
    s.post("/api/v2/authorizations", &json!({"permissions": []}))
        .expect_error(400, "invalid", "org id is required");
    s.post(
        "/api/v2/authorizations",
        &json!({"orgID": org, "permissions": []}),
    )
    .expect_error(
        400,
        "invalid",
        "authorization must contain at least one permission",
    );
    s.post("/api/v2/authorizations", &json!({"orgID": org, "permissions": [{"action": "read", "resource": {"type": "bananas"}}]})).expect_error(400, "invalid", "unknown resource type");
    s.post("/api/v2/authorizations", &json!({"orgID": org, "permissions": [{"action": "sing", "resource": {"type": "dashboards"}}]})).expect_error(400, "invalid", "failed to unmarshal json");
    // A read-only token cannot mint a broader one.
    s.as_token(&token).post("/api/v2/authorizations", &json!({"orgID": org, "permissions": [{"action": "write", "resource": {"type": "dashboards", "orgID": org}}]})).expect_error(403, "forbidden", "permission write:orgs/");
    // Deactivate, reactivate, delete: effective at once.
    s.as_token(&token).get("/api/v2/dashboards").expect(200);
    assert_eq!(
        s.patch(
            &format!("/api/v2/authorizations/{id}"),
            &json!({"status": "inactive"})
        )
        .expect(200)["status"],
        "inactive"
    );
    s.as_token(&token).get("/api/v2/dashboards").expect_error(
        401,
        "unauthorized",
        "authorization is inactive",
    );
    s.patch(
        &format!("/api/v2/authorizations/{id}"),
        &json!({"status": "active"}),
    )
    .expect(200);
    s.as_token(&token).get("/api/v2/dashboards").expect(200);
    s.patch(
        &format!("/api/v2/authorizations/{id}"),
        &json!({"status": "sleepy"}),
    )
    .expect_error(400, "invalid", "");
    assert_eq!(
        s.delete(&format!("/api/v2/authorizations/{id}")).status,
        204
    );
    s.as_token(&token).get("/api/v2/dashboards").expect_error(
        401,
        "unauthorized",
        "unauthorized access",
    );
    s.get(&format!("/api/v2/authorizations/{id}")).expect_error(
        404,
        "not found",
        "authorization not found",
    );
}

#[test]
fn forged_and_malformed_tokens_are_refused() {
    let s = Server::start();
    let (id, token) = mint(
        &s,
        json!({"orgID": s.org, "permissions": [{"action": "read", "resource": {"type": "dashboards"}}]}),
    );
    s.as_token(&token).get("/api/v2/dashboards").expect(200);
    // Same claims, signed with another key.
    let claims = json!({"jti": id, "sub": s.user, "iss": "tessera", "iat": 1});
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"not the key"),
    )
    .expect("encode");
    s.as_token(&forged).get("/api/v2/dashboards").expect_error(
        401,
        "unauthorized",
        "unauthorized access",
    );
    // alg: none.
    let payload = token.split('.').nth(1).expect("payload");
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    s.as_token(&none).get("/api/v2/dashboards").expect_error(
        401,
        "unauthorized",
        "unauthorized access",
    );
    // A tampered signature.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    s.as_token(&tampered)
        .get("/api/v2/dashboards")
        .expect_error(401, "unauthorized", "");
    for header in ["Token", "Bearer ", "Basic abc", "Token  ", "tokenx abc"] {
        let r = s.send(
            s.raw(Method::GET, "/api/v2/dashboards")
                .header("authorization", header),
        );
        r.expect_error(401, "unauthorized", "unauthorized access");
    }
}

#[test]
fn deleting_a_user_removes_its_tokens_sessions_and_roles() {
    let s = Server::start();
    let carol = id_of(
        s.post(
            "/api/v2/users",
            &json!({"name": "carol", "password": "carolcarol"}),
        )
        .expect(201),
    );
    s.post(
        &format!("/api/v2/orgs/{}/owners", s.org),
        &json!({"id": carol}),
    )
    .expect(201);
    let d = id_of(&s.create_dashboard(&s.org, "shared"));
    s.post(
        &format!("/api/v2/dashboards/{d}/members"),
        &json!({"id": carol}),
    )
    .expect(201);
    let (_, token) = mint(
        &s,
        json!({"orgID": s.org, "userID": carol, "permissions": [{"action": "read", "resource": {"type": "dashboards", "orgID": s.org}}]}),
    );
    let sid = s.sign_in("carol", "carolcarol").expect("session");
    s.as_token(&token)
        .get(&format!("/api/v2/dashboards/{d}"))
        .expect(200);
    assert_eq!(s.delete(&format!("/api/v2/users/{carol}")).status, 204);
    s.as_token(&token)
        .get(&format!("/api/v2/dashboards/{d}"))
        .expect_error(401, "unauthorized", "");
    s.with(Cred::Cookie(sid))
        .get("/api/v2/me")
        .expect_error(401, "unauthorized", "");
    assert_eq!(
        s.get(&format!("/api/v2/dashboards/{d}/members"))
            .expect(200)["users"],
        json!([])
    );
    let owners = s
        .get(&format!("/api/v2/orgs/{}/owners", s.org))
        .expect(200)
        .clone();
    assert!(owners["users"]
        .as_array()
        .expect("users")
        .iter()
        .all(|u| u["id"] != carol.as_str()));
}

#[test]
fn dashboard_members_and_owners() {
    let s = Server::start();
    let d = id_of(&s.create_dashboard(&s.org, "team"));
    let base = format!("/api/v2/dashboards/{d}");
    // The creator is an owner.
    let owners = s.get(&format!("{base}/owners")).expect(200).clone();
    assert_eq!(owners["links"]["self"], format!("{base}/owners"));
    assert_eq!(owners["users"][0]["id"], s.user.as_str());
    assert_eq!(owners["users"][0]["role"], "owner");
    let dan = id_of(s.post("/api/v2/users", &json!({"name": "dan"})).expect(201));
    let m = s
        .post(
            &format!("{base}/members"),
            &json!({"id": dan, "name": "dan"}),
        )
        .expect(201)
        .clone();
    assert_eq!(
        m,
        json!({"links": {"self": format!("/api/v2/users/{dan}")}, "id": dan, "name": "dan", "status": "active", "role": "member"})
    );
    assert_eq!(
        s.get(&format!("{base}/members")).expect(200)["users"][0]["id"],
        dan.as_str()
    );
    s.post(&format!("{base}/members"), &json!({})).expect_error(
        400,
        "invalid",
        "user id missing or invalid",
    );
    s.post(&format!("{base}/members"), &json!({"id": "nope"}))
        .expect_error(400, "invalid", "user id missing or invalid");
    s.post(
        &format!("{base}/members"),
        &json!({"id": "00000000000000aa"}),
    )
    .expect_error(404, "not found", "user not found");
    s.post(
        "/api/v2/dashboards/00000000000000aa/members",
        &json!({"id": dan}),
    )
    .expect_error(404, "not found", "dashboard not found");
    // Owner filter on the list.
    let other = id_of(&s.create_dashboard(&s.org, "other"));
    s.post(
        &format!("/api/v2/dashboards/{other}/owners"),
        &json!({"id": dan}),
    )
    .expect(201);
    let owned = s
        .get(&format!("/api/v2/dashboards?ownerID={dan}"))
        .expect(200)
        .clone();
    let ids: Vec<String> = owned["dashboards"]
        .as_array()
        .expect("list")
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, vec![other.clone()]);
    let owned = s
        .get(&format!("/api/v2/dashboards?owner={}", s.user))
        .expect(200)
        .clone();
    assert_eq!(owned["dashboards"].as_array().map(Vec::len), Some(2));
    // Removing: 204 even when not a member.
    assert_eq!(s.delete(&format!("{base}/members/{dan}")).status, 204);
    assert_eq!(s.delete(&format!("{base}/members/{dan}")).status, 204);
    assert_eq!(
        s.get(&format!("{base}/members")).expect(200)["users"],
        json!([])
    );
    // Deleting the dashboard drops its mappings.
    assert_eq!(s.delete(&format!("/api/v2/dashboards/{other}")).status, 204);
    assert_eq!(
        s.get(&format!("/api/v2/dashboards?ownerID={dan}"))
            .expect(200)["dashboards"],
        json!([])
    );
}

/// One row of the access matrix: who, and what they may do to dashboard D1;
/// `private`: whether they see the private dashboard DP at all.
struct Who {
    name: &'static str,
    cred: Cred,
    read: bool,
    write: bool,
    create_in_org: bool,
    private: bool,
}

#[test]
fn access_matrix() {
    let s = Server::start();
    let org_a = s.org.clone();
    let org_b = id_of(
        s.post("/api/v2/orgs", &json!({"name": "org b"}))
            .expect(201),
    );
    let user = |name: &str| {
        id_of(
            s.post(
                "/api/v2/users",
                &json!({"name": name, "password": "password123"}),
            )
            .expect(201),
        )
    };
    let (owner_a, member_a, dash_owner, dash_member, outsider, role_holder) = (
        user("owner_a"),
        user("member_a"),
        user("dash_owner"),
        user("dash_member"),
        user("outsider"),
        user("role_holder"),
    );
    // A plain member holding a custom role with read and write on dashboards.
    s.post(
        &format!("/api/v2/orgs/{org_a}/members"),
        &json!({"id": role_holder}),
    )
    .expect(201);
    let editor = id_of(
        s.post(
            &format!("/api/v2/orgs/{org_a}/roles"),
            &json!({"name": "dashboard editor", "permissions": [
                {"action": "read", "resource": {"type": "dashboards"}},
                {"action": "write", "resource": {"type": "dashboards"}}]}),
        )
        .expect(201),
    );
    s.put(
        &format!("/api/v2/orgs/{org_a}/members/{role_holder}/roles"),
        &json!({"roleIDs": [editor]}),
    )
    .expect(200);
    s.post(
        &format!("/api/v2/orgs/{org_a}/owners"),
        &json!({"id": owner_a}),
    )
    .expect(201);
    s.post(
        &format!("/api/v2/orgs/{org_a}/members"),
        &json!({"id": member_a}),
    )
    .expect(201);
    s.post(
        &format!("/api/v2/orgs/{org_b}/members"),
        &json!({"id": outsider}),
    )
    .expect(201);
    let d1 = id_of(&s.create_dashboard(&org_a, "d1"));
    let cell = id_of(&s.add_cell(&d1, json!({"x": 0, "y": 0, "w": 1, "h": 1, "name": "c"})));
    s.post(
        &format!("/api/v2/dashboards/{d1}/owners"),
        &json!({"id": dash_owner}),
    )
    .expect(201);
    s.post(
        &format!("/api/v2/dashboards/{d1}/members"),
        &json!({"id": dash_member}),
    )
    .expect(201);
    let d_b = id_of(&s.create_dashboard(&org_b, "in b"));
    // DP: private, created by the org owner, with dash_member as a member.
    let dp = id_of(
        s.with(Cred::Cookie(
            s.sign_in("owner_a", "password123").expect("sign in"),
        ))
        .post(
            "/api/v2/dashboards",
            &json!({"orgID": org_a, "name": "dp", "private": true}),
        )
        .expect(201),
    );
    s.post(
        &format!("/api/v2/dashboards/{dp}/members"),
        &json!({"id": dash_member}),
    )
    .expect(201);

    let session = |u: &str| {
        let password = if u == ADMIN {
            ADMIN_PASSWORD
        } else {
            "password123"
        };
        Cred::Cookie(s.sign_in(u, password).expect("sign in"))
    };
    let token = |perms: Value, org: &str| {
        Cred::Token(mint(&s, json!({"orgID": org, "permissions": perms})).1)
    };
    let other_org = token(
        json!([{"action": "read", "resource": {"type": "dashboards", "orgID": org_b}}, {"action": "write", "resource": {"type": "dashboards", "orgID": org_b}}]),
        &org_b,
    );
    let read_only = token(
        json!([{"action": "read", "resource": {"type": "dashboards", "orgID": org_a}}]),
        &org_a,
    );
    let (inactive_id, inactive) = mint(
        &s,
        json!({"orgID": org_a, "permissions": [{"action": "write", "resource": {"type": "dashboards", "orgID": org_a}}, {"action": "read", "resource": {"type": "dashboards", "orgID": org_a}}]}),
    );
    s.patch(
        &format!("/api/v2/authorizations/{inactive_id}"),
        &json!({"status": "inactive"}),
    )
    .expect(200);
    let (deleted_id, deleted) = mint(
        &s,
        json!({"orgID": org_a, "permissions": [{"action": "read", "resource": {"type": "dashboards"}}]}),
    );
    assert_eq!(
        s.delete(&format!("/api/v2/authorizations/{deleted_id}"))
            .status,
        204
    );
    let one_dash = token(
        json!([{"action": "read", "resource": {"type": "dashboards", "id": d1}}, {"action": "write", "resource": {"type": "dashboards", "id": d1}}]),
        &org_a,
    );
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"jti": deleted_id, "sub": s.user, "iss": "tessera"}),
        &jsonwebtoken::EncodingKey::from_secret(b"other"),
    )
    .expect("jwt");

    let rows = vec![
        Who {
            name: "operator token",
            cred: Cred::Token(s.token.clone().expect("token")),
            read: true,
            write: true,
            create_in_org: true,
            private: true,
        },
        Who {
            name: "operator session",
            cred: session(ADMIN),
            read: true,
            write: true,
            create_in_org: true,
            private: true,
        },
        Who {
            name: "org owner",
            cred: session("owner_a"),
            read: true,
            write: true,
            create_in_org: true,
            private: true,
        },
        Who {
            name: "custom role holder",
            cred: session("role_holder"),
            read: true,
            write: true,
            create_in_org: true,
            private: false,
        },
        Who {
            name: "org member",
            cred: session("member_a"),
            read: true,
            write: false,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "dashboard owner",
            cred: session("dash_owner"),
            read: true,
            write: true,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "dashboard member",
            cred: session("dash_member"),
            read: true,
            write: false,
            create_in_org: false,
            private: true,
        },
        Who {
            name: "member of another org",
            cred: session("outsider"),
            read: false,
            write: false,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "token of another org",
            cred: other_org,
            read: false,
            write: false,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "read-only token",
            cred: read_only,
            read: true,
            write: false,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "token for one dashboard",
            cred: one_dash,
            read: true,
            write: true,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "inactive token",
            cred: Cred::Token(inactive),
            read: false,
            write: false,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "deleted token",
            cred: Cred::Token(deleted),
            read: false,
            write: false,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "JWT signed with another key",
            cred: Cred::Token(forged),
            read: false,
            write: false,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "JWT with alg none",
            cred: Cred::Token(format!(
                "eyJhbGciOiJub25lIn0.{}.",
                "eyJqdGkiOiIwMDAwMDAwMDAwMDAwMDAxIn0"
            )),
            read: false,
            write: false,
            create_in_org: false,
            private: false,
        },
        Who {
            name: "no credentials",
            cred: Cred::None,
            read: false,
            write: false,
            create_in_org: false,
            private: false,
        },
    ];
    let dash = format!("/api/v2/dashboards/{d1}");
    for w in rows {
        let a = s.with(w.cred.clone());
        let authenticated = a.get("/api/v2/me").status == 200;
        let read_status = if w.read { 200 } else { 401 };
        let write_ok = |r: &common::Resp, ok: u16| {
            if w.write {
                assert_eq!(r.status, ok, "{}: {}", w.name, r.text);
            } else {
                assert_eq!(r.status, 401, "{}: {}", w.name, r.text);
                common::assert_envelope(r);
            }
        };
        let before = s
            .get(&format!("{dash}?include=properties"))
            .expect(200)
            .clone();

        assert_eq!(a.get(&dash).status, read_status, "{} get", w.name);
        assert_eq!(
            a.get(&format!("{dash}/cells/{cell}/view")).status,
            read_status,
            "{} get view",
            w.name
        );
        assert_eq!(
            a.get(&format!("{dash}/members")).status,
            read_status,
            "{} list members",
            w.name
        );
        assert_eq!(
            a.get(&format!("{dash}/owners")).status,
            read_status,
            "{} list owners",
            w.name
        );
        let list = a.get("/api/v2/dashboards");
        if authenticated {
            let ids: Vec<String> = list.expect(200)["dashboards"]
                .as_array()
                .expect("list")
                .iter()
                .map(id_of)
                .collect();
            assert_eq!(ids.contains(&d1), w.read, "{} list shows d1", w.name);
            let org_list = a
                .get(&format!("/api/v2/dashboards?orgID={org_a}"))
                .expect(200)
                .clone();
            assert_eq!(
                org_list["dashboards"]
                    .as_array()
                    .expect("list")
                    .iter()
                    .any(|d| d["id"] == d1.as_str()),
                w.read
            );
            let sees_b = ids.contains(&d_b);
            assert_eq!(
                sees_b,
                matches!(
                    w.name,
                    "operator token"
                        | "operator session"
                        | "token of another org"
                        | "member of another org"
                ),
                "{} sees org b",
                w.name
            );
        } else {
            list.expect_error(401, "unauthorized", "");
        }

        // Refused writes change nothing; allowed ones succeed.
        write_ok(
            &a.patch(&dash, &json!({"description": format!("by {}", w.name)})),
            200,
        );
        write_ok(
            &a.patch(&format!("{dash}/cells/{cell}"), &json!({"x": 1})),
            200,
        );
        write_ok(
            &a.patch(
                &format!("{dash}/cells/{cell}/view"),
                &json!({"name": w.name}),
            ),
            200,
        );
        write_ok(
            &a.put(
                &format!("{dash}/cells"),
                &json!([{"id": cell, "x": 0, "y": 0, "w": 2, "h": 2}]),
            ),
            201,
        );
        let added = a.post(
            &format!("{dash}/cells"),
            &json!({"x": 0, "y": 5, "w": 1, "h": 1}),
        );
        write_ok(&added, 201);
        if added.status == 201 {
            assert_eq!(
                a.delete(&format!("{dash}/cells/{}", id_of(&added.body)))
                    .status,
                204
            );
        }
        write_ok(
            &a.post(&format!("{dash}/members"), &json!({"id": outsider})),
            201,
        );
        write_ok(&a.delete(&format!("{dash}/members/{outsider}")), 204);
        if !w.write {
            let after = s
                .get(&format!("{dash}?include=properties"))
                .expect(200)
                .clone();
            assert_eq!(after, before, "{} changed the dashboard", w.name);
        }
        let created = a.post(
            "/api/v2/dashboards",
            &json!({"orgID": org_a, "name": format!("new by {}", w.name)}),
        );
        assert_eq!(
            created.status,
            if w.create_in_org { 201 } else { 401 },
            "{} create: {}",
            w.name,
            created.text
        );
        if !w.create_in_org {
            common::assert_envelope(&created);
        }
        // DP exists only for those who may see it.
        let dp_path = format!("/api/v2/dashboards/{dp}");
        let dp_status = match (w.private, authenticated) {
            (true, _) => 200,
            (false, true) => 404,
            (false, false) => 401,
        };
        let got = a.get(&dp_path);
        assert_eq!(got.status, dp_status, "{} reads DP: {}", w.name, got.text);
        if got.status != 200 {
            common::assert_envelope(&got);
        }
        if authenticated {
            let listed = a
                .get(&format!("/api/v2/dashboards?orgID={org_a}"))
                .expect(200)
                .clone();
            assert_eq!(
                listed["dashboards"]
                    .as_array()
                    .expect("list")
                    .iter()
                    .any(|d| d["id"] == dp.as_str()),
                w.private,
                "{} lists DP",
                w.name
            );
            if !w.private {
                a.get(&format!("{dp_path}/labels")).expect_error(
                    404,
                    "not found",
                    "dashboard not found",
                );
            }
        }
        // Nobody but the operator reaches org b's dashboard through org a's rights.
        if !matches!(
            w.name,
            "operator token"
                | "operator session"
                | "token of another org"
                | "member of another org"
        ) {
            assert_eq!(
                a.get(&format!("/api/v2/dashboards/{d_b}")).status,
                401,
                "{} reads org b",
                w.name
            );
        }
    }
    // Delete is a write too: checked last since it ends the dashboard.
    let member = session("member_a");
    s.with(member).delete(&dash).expect_error(
        401,
        "unauthorized",
        &format!("write:orgs/{org_a}/dashboards/{d1} is unauthorized"),
    );
    s.get(&dash).expect(200);
    assert_eq!(s.with(session("dash_owner")).delete(&dash).status, 204);
    s.get(&dash)
        .expect_error(404, "not found", "dashboard not found");
}

#[test]
fn list_pages_after_filtering_by_permission() {
    let s = Server::start();
    let eve = id_of(
        s.post(
            "/api/v2/users",
            &json!({"name": "eve", "password": "password123"}),
        )
        .expect(201),
    );
    let mut mine = Vec::new();
    for i in 0..9 {
        let d = id_of(&s.create_dashboard(&s.org, &format!("d{i}")));
        if i % 3 == 0 {
            s.post(
                &format!("/api/v2/dashboards/{d}/members"),
                &json!({"id": eve}),
            )
            .expect(201);
            mine.push(d);
        }
    }
    let eve_s = s.with(Cred::Cookie(
        s.sign_in("eve", "password123").expect("session"),
    ));
    let p1 = eve_s.get("/api/v2/dashboards?limit=2").expect(200).clone();
    let ids = |v: &Value| {
        v["dashboards"]
            .as_array()
            .expect("list")
            .iter()
            .map(id_of)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&p1), mine[0..2]);
    assert!(p1["links"]["next"].is_string());
    let p2 = eve_s
        .get("/api/v2/dashboards?limit=2&offset=2")
        .expect(200)
        .clone();
    assert_eq!(ids(&p2), mine[2..3]);
}
