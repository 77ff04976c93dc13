//! The `Actor` extractor: every handler that takes one is authenticated.
//! Credentials are `Authorization: Token <t>` / `Bearer <t>`, or the Influx
//! session cookie (found leniently: clients echo whole Set-Cookie lines).

use crate::auth::permission::Actor;
use crate::auth::{unauthorized, Presented};
use crate::domain::Service;
use crate::error::Error;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::Future;
use std::pin::Pin;

pub const SESSION_COOKIE: &str = "influxdb-oss-session";

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

impl FromRequest for Actor {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Actor, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let svc = req.app_data::<web::Data<Service>>().cloned();
        let presented = presented(req);
        Box::pin(async move {
            let (Some(svc), Some(p)) = (svc, presented) else {
                return Err(unauthorized());
            };
            // A credential seen recently costs no trip to the blocking pool.
            if let Some(actor) = svc.cached_actor(&p) {
                return Ok(actor);
            }
            // A miss reads a few keys; it runs where other reads run.
            if svc.reads_in_place() {
                svc.authenticate(p)
            } else {
                let s = svc.clone();
                web::block(move || s.authenticate(p))
                    .await
                    .map_err(Error::internal)?
            }
        })
    }
}
