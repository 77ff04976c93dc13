//! `GET /api/v2/tessera/backup`: a consistent snapshot of every record for
//! `tessera backup --host`, operator only. Tessera's own format (see
//! `store::backup`), under its own path so that `influx backup` never takes
//! it for influxd's.

use crate::auth::permission::Actor;
use crate::domain::Service;
use crate::error::{Error, Result};
use actix_web::{web, HttpResponse};

pub const CONTENT_TYPE: &str = "application/vnd.tessera.backup";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/tessera/backup").get(backup));
}

async fn backup(actor: Actor, svc: web::Data<Service>) -> Result<HttpResponse> {
    let bundle = web::block(move || svc.snapshot(&actor)?.to_bundle().map_err(Error::internal))
        .await
        .map_err(Error::internal)??;
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", CONTENT_TYPE))
        .body(bundle))
}
