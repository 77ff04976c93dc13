//! The `Actor` extractor: every handler that takes one is authenticated.
//! Credentials are `Authorization: Token <t>` / `Bearer <t>`, or the Influx
//! session cookie (found leniently: clients echo whole Set-Cookie lines).

use crate::auth::permission::{Actor, Credential};
use crate::auth::{unauthorized, Presented};
use crate::domain::time::Timestamp;
use crate::domain::Service;
use crate::error::Error;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::Future;
use std::pin::Pin;

pub const SESSION_COOKIE: &str = "influxdb-oss-session";

/// The `Set-Cookie` line for a session, as InfluxDB writes it.
pub fn session_set_cookie(id: &str, expires_at: Timestamp) -> String {
    let expires =
        std::time::UNIX_EPOCH + std::time::Duration::from_nanos(expires_at.nanos().max(0) as u64);
    format!(
        "{SESSION_COOKIE}={id}; Path=/api/; Expires={}; HttpOnly; SameSite=Strict",
        header::HttpDate::from(expires)
    )
}

/// Left in the request by the `Actor` extractor when it extended the session:
/// the response then carries the cookie with its new expiry, or the browser
/// would drop it at the old one.
#[derive(Debug, Clone)]
pub struct RenewedSession {
    pub id: String,
    pub expires_at: Timestamp,
}

/// The session id in a Cookie header, tolerating attributes such as
/// `Path=/api/; HttpOnly` that some clients send back.
pub fn session_cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| k.trim() == SESSION_COOKIE)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

pub fn presented(req: &HttpRequest) -> Option<Presented> {
    if let Some(v) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v, ""));
        let token = rest.trim();
        if (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
            && !token.is_empty()
        {
            return Some(Presented::Token(token.to_string()));
        }
        // Basic and other schemes fall through to the cookie.
    }
    session_cookie(req).map(Presented::Session)
}

/// The actor a credential stands for. A credential seen recently costs no
/// trip to the blocking pool; a miss reads a few keys and runs where other
/// reads run.
pub async fn authenticate(svc: &web::Data<Service>, p: Presented) -> Result<Actor, Error> {
    let cached = svc.cached_actor(&p);
    crate::metrics::METRICS.cache("credentials", cached.is_some());
    match cached {
        Some(actor) => Ok(actor),
        None if svc.reads_in_place() => svc.authenticate(p),
        None => {
            let s = svc.clone();
            web::block(move || s.authenticate(p))
                .await
                .map_err(Error::internal)?
        }
    }
}

impl FromRequest for Actor {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Actor, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let svc = req.app_data::<web::Data<Service>>().cloned();
        let presented = presented(req);
        let req = req.clone();
        Box::pin(async move {
            let (Some(svc), Some(p)) = (svc, presented) else {
                return Err(unauthorized());
            };
            // The rate limiter, when on, has authenticated already.
            let known = req.extensions().get::<Actor>().cloned();
            let actor = match known {
                Some(actor) => actor,
                None => authenticate(&svc, p).await?,
            };
            if let Credential::Session {
                session,
                expires_at,
            } = &actor.credential
            {
                if svc.session_renewal_due(*expires_at) {
                    let id = session.clone();
                    let renewed = web::block(move || svc.renew_session(&id))
                        .await
                        .map_err(Error::internal)??;
                    if let Some(expires_at) = renewed {
                        req.extensions_mut().insert(RenewedSession {
                            id: session.clone(),
                            expires_at,
                        });
                    }
                }
            }
            req.extensions_mut().insert(super::middleware::ActedAs {
                user: actor.user_id,
                token: match &actor.credential {
                    Credential::Token { authorization } => Some(*authorization),
                    Credential::Session { .. } => None,
                },
            });
            Ok(actor)
        })
    }
}
