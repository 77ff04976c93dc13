//! `GET /metrics`: the Prometheus text exposition, without credentials as
//! influxd serves it (`--metrics-disabled` turns it off).

use crate::domain::Service;
use crate::error::{Error, Result};
use crate::metrics::METRICS;
use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/metrics").get(metrics));
}

async fn metrics(svc: web::Data<Service>) -> Result<HttpResponse> {
    // Counting records may wait on PostgreSQL: off the async worker.
    let stats = web::block(move || svc.store_stats())
        .await
        .map_err(Error::internal)?;
    match stats {
        Ok(stats) => {
            METRICS.store_disk_bytes.set(stats.disk_bytes as i64);
            for (kind, n) in stats.records {
                METRICS
                    .store_records
                    .with_label_values(&[kind])
                    .set(n as i64);
            }
        }
        // The rest of the exposition is still worth scraping.
        Err(e) => log::warn!("store figures for /metrics: {e}"),
    }
    let body = METRICS.render().map_err(Error::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", prometheus::TEXT_FORMAT))
        .body(body))
}
