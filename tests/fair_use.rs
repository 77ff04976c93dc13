//! Rate limits: per-token/session and per-org budgets, their headers, 429
//! answers that change nothing, and exempt tokens.

mod common;

use common::{Resp, Server};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn num(r: &Resp, name: &str) -> u64 {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name} on {} {}", r.status, r.text))
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A token with read and write on dashboards in `org`.
fn dashboards_token(s: &Server, org: &str) -> (String, String) {
    let perms: Vec<Value> = ["read", "write"]
        .iter()
        .map(|a| json!({"action": a, "resource": {"type": "dashboards", "orgID": org}}))
        .collect();
    let r = s.post(
        "/api/v2/authorizations",
        &json!({"orgID": org, "description": "script", "permissions": perms}),
    );
    let body = r.expect(201);
    (
        body["token"].as_str().expect("token").to_string(),
        body["id"].as_str().expect("id").to_string(),
    )
}

const LIMIT: &str = "x-ratelimit-limit";
const REMAINING: &str = "x-ratelimit-remaining";
const RESET: &str = "x-ratelimit-reset";
const ORG_LIMIT: &str = "x-organization-rate-limit-limit";
const ORG_REMAINING: &str = "x-organization-rate-limit-remaining";
const ORG_RESET: &str = "x-organization-rate-limit-reset";

#[test]
fn without_limits_no_headers() {
    let s = Server::start();
    let r = s.get(&format!("/api/v2/dashboards?orgID={}", s.org));
    r.expect(200);
    for h in [LIMIT, REMAINING, RESET, ORG_LIMIT, ORG_REMAINING, ORG_RESET] {
        assert!(r.header(h).is_none(), "{h} without limits");
    }
}

#[test]
fn headers_count_down_and_show_when_the_budget_is_whole() {
    let s = Server::start_with(&[
        "--rate-limit-token-per-minute",
        "6",
        "--rate-limit-org-per-minute",
        "60",
    ]);
    let path = format!("/api/v2/dashboards?orgID={}", s.org);
    let mut remaining = Vec::new();
    let mut org_remaining = Vec::new();
    for spent in 1..=4u64 {
        let before = now();
        let r = s.get(&path);
        r.expect(200);
        assert_eq!(num(&r, LIMIT), 6);
        assert_eq!(num(&r, ORG_LIMIT), 60);
        remaining.push(num(&r, REMAINING));
        org_remaining.push(num(&r, ORG_REMAINING));
        // One request comes back every 10 s: whole again `spent` × 10 s on.
        let reset = num(&r, RESET);
        assert!(
            reset >= before + spent * 10 - 1 && reset <= now() + spent * 10 + 1,
            "reset {reset} after {spent} requests at {before}"
        );
        // 60 a minute: a second per request spent.
        let org_reset = num(&r, ORG_RESET);
        assert!(org_reset >= before && org_reset <= now() + 5, "{org_reset}");
    }
    assert_eq!(remaining, [5, 4, 3, 2]);
    assert!(
        org_remaining.windows(2).all(|w| w[1] <= w[0]) && org_remaining[3] < org_remaining[0],
        "{org_remaining:?}"
    );
    // Unauthenticated requests spend nothing and show nothing.
    let r = s.anonymous().get(&path);
    r.expect(401);
    assert!(r.header(LIMIT).is_none());
}

#[test]
fn a_spent_budget_comes_back_over_time() {
    // 120 a minute: one request back every half second.
    let s = Server::start_with(&["--rate-limit-token-per-minute", "120"]);
    let path = format!("/api/v2/dashboards?orgID={}", s.org);
    let mut last = 0;
    for _ in 0..5 {
        let r = s.get(&path);
        r.expect(200);
        last = num(&r, REMAINING);
        assert!(r.header(ORG_LIMIT).is_none(), "org limit is off");
    }
    std::thread::sleep(Duration::from_millis(1600));
    let r = s.get(&path);
    r.expect(200);
    let after = num(&r, REMAINING);
    assert!(after >= last + 2, "after waiting {after}, before {last}");
}

#[test]
fn a_spent_budget_answers_429_and_does_nothing() {
    let s = Server::start_with(&["--rate-limit-token-per-minute", "3"]);
    let (other, _) = dashboards_token(&s, &s.org);
    let list = format!("/api/v2/dashboards?orgID={}", s.org);
    // The operator token made the other token: one of three spent.
    s.get(&list).expect(200);
    let r = s.get(&list);
    r.expect(200);
    assert_eq!(num(&r, REMAINING), 0);

    let refused = s.send(
        s.authed(reqwest::Method::POST, "/api/v2/dashboards")
            .header("x-request-id", "fair-use-429")
            .header("content-type", "application/json")
            .body(json!({"orgID": s.org, "name": "refused"}).to_string()),
    );
    refused.expect_error(429, "too many requests", "rate limit exceeded: this token");
    assert_eq!(refused.header("x-request-id"), Some("fair-use-429"));
    let retry = num(&refused, "retry-after");
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    assert_eq!(num(&refused, REMAINING), 0);
    assert_eq!(num(&refused, LIMIT), 3);
    let reset = num(&refused, RESET);
    assert!(reset >= now() + retry - 1 && reset <= now() + 61, "{reset}");

    // Nothing was created: another token, with a budget of its own, sees
    // no dashboard.
    let r = s.as_token(&other).get(&list);
    let body = r.expect(200);
    assert_eq!(
        body["dashboards"].as_array().map(Vec::len),
        Some(0),
        "{body}"
    );
    assert_eq!(num(&r, REMAINING), 2, "the other token's own budget");
}

#[test]
fn tokens_in_one_org_share_its_budget_but_not_their_own() {
    let s = Server::start_with(&[
        "--rate-limit-org-per-minute",
        "7",
        "--rate-limit-token-per-minute",
        "3",
    ]);
    let org = s.create_org("fair");
    let (a, _) = dashboards_token(&s, &org);
    let (b, _) = dashboards_token(&s, &org);
    let list = format!("/api/v2/dashboards?orgID={org}");

    // Making the two tokens (orgID in the body) spent two of the org's
    // seven. A spends its own budget; the org's goes down with it.
    let mut org_left = Vec::new();
    for want in [2, 1, 0] {
        let r = s.as_token(&a).get(&list);
        r.expect(200);
        assert_eq!(num(&r, REMAINING), want);
        assert_eq!(num(&r, ORG_LIMIT), 7);
        org_left.push(num(&r, ORG_REMAINING));
    }
    // A is refused for its own budget; that does not touch the org's.
    let r = s.as_token(&a).get(&list);
    r.expect_error(429, "too many requests", "rate limit exceeded: this token");
    assert!(r.header(ORG_REMAINING).is_none());

    // B has a whole budget of its own, and the org's that A left.
    let r = s.as_token(&b).get(&list);
    r.expect(200);
    assert_eq!(num(&r, REMAINING), 2);
    let mut org_now = num(&r, ORG_REMAINING);
    assert_eq!(org_now + 1, *org_left.last().expect("A's requests"));

    // B goes on until the org's budget is spent, before its own.
    let mut refused = None;
    for _ in 0..3 {
        let r = s.as_token(&b).get(&list);
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        r.expect(200);
        org_now = num(&r, ORG_REMAINING);
    }
    let r = refused.expect("the org's budget ran out");
    assert_eq!(org_now, 0);
    r.expect_error(
        429,
        "too many requests",
        "rate limit exceeded: this organization",
    );
    assert_eq!(num(&r, ORG_REMAINING), 0);
    assert!(num(&r, "retry-after") >= 1);
}

#[test]
fn the_org_is_the_resources_and_only_one_the_caller_belongs_to() {
    let s = Server::start_with(&["--rate-limit-org-per-minute", "50"]);
    let org = s.create_org("busy");
    let (t, _) = dashboards_token(&s, &org);
    let d = s.create_dashboard(&org, "wall");
    let id = d["id"].as_str().expect("id");

    // The dashboard's org, from its path; the body's orgID on a create.
    let r1 = s.as_token(&t).get(&format!("/api/v2/dashboards/{id}"));
    r1.expect(200);
    let r2 = s.as_token(&t).post(
        "/api/v2/dashboards",
        &json!({"orgID": org, "name": "second"}),
    );
    r2.expect(201);
    assert_eq!(num(&r2, ORG_REMAINING) + 1, num(&r1, ORG_REMAINING));

    // Naming an org it holds no right in does not spend that org's budget:
    // the request counts for the token's own org.
    let before = s.get(&format!("/api/v2/dashboards?orgID={}", s.org));
    let setup_left = num(&before, ORG_REMAINING);
    let r = s
        .as_token(&t)
        .get(&format!("/api/v2/dashboards?orgID={}", s.org));
    assert_eq!(num(&r, ORG_REMAINING) + 1, num(&r2, ORG_REMAINING));
    let after = s.get(&format!("/api/v2/dashboards?orgID={}", s.org));
    assert_eq!(num(&after, ORG_REMAINING) + 1, setup_left);
}

#[test]
fn sessions_have_budgets_of_their_own() {
    let s = Server::start_with(&["--rate-limit-token-per-minute", "4"]);
    let cookie = s
        .sign_in(common::ADMIN, common::ADMIN_PASSWORD)
        .expect("signed in");
    let session = s.with(common::Cred::Cookie(cookie));
    for want in [3, 2, 1, 0] {
        let r = session.get("/api/v2/me");
        r.expect(200);
        assert_eq!(num(&r, REMAINING), want);
    }
    let r = session.get("/api/v2/me");
    r.expect_error(
        429,
        "too many requests",
        "rate limit exceeded: this session",
    );
    // The token's budget is untouched.
    let r = s.get("/api/v2/me");
    r.expect(200);
    assert_eq!(num(&r, REMAINING), 3);
}

#[test]
fn exempt_tokens_are_not_limited() {
    let mut s = Server::start_with(&[
        "--rate-limit-token-per-minute",
        "2",
        "--rate-limit-org-per-minute",
        "3",
    ]);
    let (exempt, exempt_id) = dashboards_token(&s, &s.org);
    s.restart_with(&["--rate-limit-exempt-token-id", &exempt_id]);
    let list = format!("/api/v2/dashboards?orgID={}", s.org);
    for _ in 0..6 {
        let r = s.as_token(&exempt).get(&list);
        r.expect(200);
        for h in [LIMIT, REMAINING, ORG_LIMIT, ORG_REMAINING] {
            assert!(r.header(h).is_none(), "{h} on an exempt token's answer");
        }
    }
    // The exempt token spent nothing of the org's budget.
    let r = s.get(&list);
    r.expect(200);
    assert_eq!(num(&r, ORG_REMAINING), 2);
    s.get(&list).expect(200);
    s.get(&list)
        .expect_error(429, "too many requests", "rate limit exceeded");
}

#[test]
fn a_malformed_exempt_id_stops_start_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = std::process::Command::new(common::bin())
        .args(["--data-dir"])
        .arg(dir.path())
        .args([
            "--http-bind-address",
            "127.0.0.1:0",
            "--rate-limit-token-per-minute",
            "5",
            "--rate-limit-exempt-token-id",
            "not-an-id",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--rate-limit-exempt-token-id"), "{err}");
}
