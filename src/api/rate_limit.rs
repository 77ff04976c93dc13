//! Fair use: request budgets per org and per credential (token or session),
//! spent before any handler runs and shown on every answer of an
//! authenticated API request. Budgets are GCRA limiters from `governor`
//! (a budget of N a minute refills one request every 60/N s); each
//! instance enforces its share of a limit. README "Rate limits" has the
//! rules, including which org a request acts in.

use super::credentials::{self, presented};
use crate::auth::permission::{Actor, Credential};
use crate::config::Config;
use crate::domain::fair_use::{self, Named};
use crate::domain::Service;
use crate::error::{Code, Error};
use crate::id::Id;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, RETRY_AFTER};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bodies larger than this are not read for their `orgID`.
const BODY_PEEK_MAX: usize = 64 * 1024;
/// Resource-to-org answers remembered before the map starts over.
const ORGS_REMEMBERED: usize = 100_000;
/// Keys idle long enough to be full again are dropped every this many checks.
const SWEEP_EVERY: u64 = 4096;

const LIMIT: &str = "x-ratelimit-limit";
const REMAINING: &str = "x-ratelimit-remaining";
const RESET: &str = "x-ratelimit-reset";
const ORG_LIMIT: &str = "x-organization-rate-limit-limit";
const ORG_REMAINING: &str = "x-organization-rate-limit-remaining";
const ORG_RESET: &str = "x-organization-rate-limit-reset";

type Limiter<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// Whose own budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Caller {
    Token(Id),
    Session(String),
}

/// What a budget shows after a check: the `…-Limit`, `…-Remaining` and
/// `…-Reset` (Unix seconds when the budget is whole again) headers.
#[derive(Debug, Clone, Copy)]
struct Shown {
    limit: u32,
    remaining: u32,
    reset: u64,
}

/// One limit, kept per key.
struct Budget<K: Hash + Eq + Clone> {
    /// This instance's share of the configured limit.
    per_minute: u32,
    limiter: Limiter<K>,
    checks: AtomicU64,
}

fn unix_after(d: Duration) -> u64 {
    let at = SystemTime::now() + d;
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    since.as_secs() + u64::from(since.subsec_nanos() > 0)
}

impl<K: Hash + Eq + Clone> Budget<K> {
    fn new(per_minute: u32, instances: u32) -> Self {
        let share = per_minute.div_ceil(instances.max(1)).max(1);
        let quota = Quota::per_minute(NonZeroU32::new(share).unwrap_or(NonZeroU32::MIN));
        Budget {
            per_minute: share,
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            checks: AtomicU64::new(0),
        }
    }

    /// Time to refill one request.
    fn period(&self) -> Duration {
        Duration::from_secs(60) / self.per_minute
    }

    /// Spends one request of `key`'s budget; when it is spent, what it
    /// shows and how long until the next request is allowed.
    fn spend(&self, key: &K) -> Result<Shown, (Shown, Duration)> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let spent = self.per_minute.saturating_sub(remaining);
                Ok(Shown {
                    limit: self.per_minute,
                    remaining,
                    reset: unix_after(self.period() * spent),
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                let whole = wait + self.period() * (self.per_minute - 1);
                let shown = Shown {
                    limit: self.per_minute,
                    remaining: 0,
                    reset: unix_after(whole),
                };
                Err((shown, wait))
            }
        }
    }
}

/// The limits `--rate-limit-*` turn on, shared by every worker.
pub struct RateLimits {
    org: Option<Budget<Id>>,
    caller: Option<Budget<Caller>>,
    exempt: HashSet<Id>,
    /// Orgs of the resources paths name: a resource never changes org.
    orgs_of: Mutex<HashMap<Id, Id>>,
}

impl RateLimits {
    /// `None` when no limit is configured: the middleware is then not in the
    /// request path at all.
    pub fn from_config(config: &Config) -> Result<Option<RateLimits>, String> {
        if config.rate_limit_org_per_minute.is_none()
            && config.rate_limit_token_per_minute.is_none()
        {
            return Ok(None);
        }
        let exempt = config
            .rate_limit_exempt_token_ids
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                Id::parse(s.trim())
                    .map_err(|e| format!("--rate-limit-exempt-token-id {s:?}: {}", e.message))
            })
            .collect::<Result<_, _>>()?;
        let instances = config.rate_limit_instances;
        Ok(Some(RateLimits {
            org: config
                .rate_limit_org_per_minute
                .map(|n| Budget::new(n, instances)),
            caller: config
                .rate_limit_token_per_minute
                .map(|n| Budget::new(n, instances)),
            exempt,
            orgs_of: Mutex::new(HashMap::new()),
        }))
    }

    fn remembered_org(&self, id: Id) -> Option<Id> {
        self.orgs_of
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
    }

    fn remember_org(&self, id: Id, org: Id) {
        let mut map = self.orgs_of.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= ORGS_REMEMBERED {
            map.clear();
        }
        map.insert(id, org);
    }
}

/// The resource a path under `/api/v2/` names first, when it belongs to an org.
fn named_in_path(path: &str) -> Option<Named> {
    let mut parts = path.strip_prefix("/api/v2/")?.split('/');
    let kind = parts.next()?;
    let id = Id::parse(parts.next()?).ok()?;
    match kind {
        "orgs" => Some(Named::Org(id)),
        "dashboards" => Some(Named::Dashboard(id)),
        "externalDashboards" => Some(Named::ExternalDashboard(id)),
        _ => None,
    }
}

fn query_org(req: &ServiceRequest) -> Option<Id> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, v)| k == "orgID" && !v.is_empty())
        .and_then(|(_, v)| Id::parse(&v).ok())
}

#[derive(serde::Deserialize)]
struct OrgField {
    #[serde(rename = "orgID", default)]
    org_id: Option<String>,
}

/// The top-level `orgID` of a small JSON body. The body is read here and
/// handed back to the request for the handler.
async fn body_org(req: &mut ServiceRequest) -> Result<Option<Id>, actix_web::Error> {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        return Ok(None);
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if !declared.is_some_and(|n| n > 0 && n <= BODY_PEEK_MAX) {
        return Ok(None);
    }
    let bytes = req.extract::<web::Bytes>().await?;
    let org = serde_json::from_slice::<OrgField>(&bytes)
        .ok()
        .and_then(|f| f.org_id)
        .and_then(|s| Id::parse(&s).ok());
    req.set_payload(bytes.into());
    Ok(org)
}

/// The org whose budget a request spends (README "Rate limits"): the
/// `orgID` query parameter, else the org of the resource the path names,
/// else the body's `orgID` — each only if the caller holds a right in that
/// org — else the one org the credential's rights are scoped to.
async fn org_acted_in(
    limits: &RateLimits,
    svc: &web::Data<Service>,
    req: &mut ServiceRequest,
    actor: &Actor,
) -> Result<Option<Id>, actix_web::Error> {
    let mut named = query_org(req);
    if named.is_none() {
        if let Some(target) = named_in_path(req.path()) {
            named = match target {
                Named::Org(id) => Some(id),
                Named::Dashboard(id) | Named::ExternalDashboard(id) => {
                    match limits.remembered_org(id) {
                        Some(org) => Some(org),
                        // Unknown (or a store failure, which fails the
                        // handler too): the credential's org counts.
                        None => match super::read(svc, move |s| s.org_of(target)).await {
                            Ok(Some(org)) => {
                                limits.remember_org(id, org);
                                Some(org)
                            }
                            Ok(None) | Err(_) => None,
                        },
                    }
                }
            };
        }
    }
    if named.is_none() {
        named = body_org(req).await?;
    }
    Ok(named
        .filter(|org| fair_use::acts_in(actor, *org))
        .or_else(|| fair_use::home_org(actor)))
}

fn put(headers: &mut HeaderMap, names: [&'static str; 3], shown: Shown) {
    let values = [
        u64::from(shown.limit),
        u64::from(shown.remaining),
        shown.reset,
    ];
    for (name, value) in names.into_iter().zip(values) {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}

/// Spends the request from the caller's budget, then from its org's. A
/// request refused for the caller's own budget does not touch the org's:
/// one runaway script does not use up its colleagues' budget.
/// (`limits` is `None` only where the middleware is switched off.)
pub async fn enforce(
    limits: Option<std::sync::Arc<RateLimits>>,
    mut req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(limits) = limits.filter(|_| req.path().starts_with("/api/")) else {
        return next.call(req).await;
    };
    let (Some(svc), Some(p)) = (
        req.app_data::<web::Data<Service>>().cloned(),
        presented(req.request()),
    ) else {
        return next.call(req).await;
    };
    // A credential that does not authenticate is the handler's to refuse.
    let Ok(actor) = credentials::authenticate(&svc, p).await else {
        return next.call(req).await;
    };
    req.extensions_mut().insert(actor.clone());
    let caller = match &actor.credential {
        Credential::Token { authorization } if limits.exempt.contains(authorization) => {
            return next.call(req).await;
        }
        Credential::Token { authorization } => Caller::Token(*authorization),
        Credential::Session { session, .. } => Caller::Session(session.clone()),
    };

    let mut headers = HeaderMap::new();
    let mut refused = None;
    if let Some(budget) = &limits.caller {
        match budget.spend(&caller) {
            Ok(shown) => put(&mut headers, [LIMIT, REMAINING, RESET], shown),
            Err((shown, wait)) => {
                put(&mut headers, [LIMIT, REMAINING, RESET], shown);
                let who = match caller {
                    Caller::Token(_) => "this token",
                    Caller::Session(_) => "this session",
                };
                refused = Some((who, shown.limit, wait));
            }
        }
    }
    if let (None, Some(budget)) = (&refused, &limits.org) {
        if let Some(org) = org_acted_in(&limits, &svc, &mut req, &actor).await? {
            match budget.spend(&org) {
                Ok(shown) => put(&mut headers, [ORG_LIMIT, ORG_REMAINING, ORG_RESET], shown),
                Err((shown, wait)) => {
                    put(&mut headers, [ORG_LIMIT, ORG_REMAINING, ORG_RESET], shown);
                    refused = Some(("this organization", shown.limit, wait));
                }
            }
        }
    }

    let mut res = match refused {
        None => next.call(req).await?,
        Some((who, limit, wait)) => {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let secs = secs.max(1);
            let err = Error::new(
                Code::TooManyRequests,
                format!(
                    "rate limit exceeded: {who} may make {limit} API requests a minute; retry in {secs} s"
                ),
            );
            let mut answer = err.error_response();
            answer
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
            req.into_response(answer)
        }
    };
    for (name, value) in headers {
        res.headers_mut().insert(name, value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_counts_down_then_says_when_to_come_back() {
        let b: Budget<u8> = Budget::new(3, 1);
        let start = unix_after(Duration::ZERO);
        let shown: Vec<u32> = (0..3)
            .map(|_| b.spend(&1).map(|s| s.remaining).unwrap_or(99))
            .collect();
        assert_eq!(shown, [2, 1, 0]);
        let (refused, wait) = b.spend(&1).expect_err("spent");
        assert_eq!(refused.remaining, 0);
        // One request comes back every 20 s; whole again a minute on.
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20));
        assert!(refused.reset >= start + 59 && refused.reset <= start + 61);
        // Keys do not share a budget.
        assert_eq!(b.spend(&2).map(|s| s.remaining).ok(), Some(2));
    }

    #[test]
    fn each_instance_enforces_its_share() {
        assert_eq!(Budget::<u8>::new(240, 2).per_minute, 120);
        assert_eq!(Budget::<u8>::new(5, 2).per_minute, 3);
        assert_eq!(Budget::<u8>::new(1, 4).per_minute, 1);
    }

    #[test]
    fn paths_name_their_org_resources() {
        let id = Id::parse("0000000000000abc").expect("id");
        assert!(matches!(
            named_in_path("/api/v2/dashboards/0000000000000abc/cells"),
            Some(Named::Dashboard(x)) if x == id
        ));
        assert!(matches!(
            named_in_path("/api/v2/orgs/0000000000000abc"),
            Some(Named::Org(x)) if x == id
        ));
        assert!(matches!(
            named_in_path("/api/v2/externalDashboards/0000000000000abc/labels"),
            Some(Named::ExternalDashboard(x)) if x == id
        ));
        assert!(named_in_path("/api/v2/dashboards").is_none());
        assert!(named_in_path("/api/v2/labels/0000000000000abc").is_none());
        assert!(named_in_path("/api/v2/dashboards/nope").is_none());
    }
}
