//! Tessera: a self-hosted dashboards server that speaks InfluxDB OSS v2's
//! dashboards API. `main.rs` parses flags; everything else lives here so tests
//! and benches reuse it.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod id;
pub mod store;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use config::Config;
use domain::{Service, Settings};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use store::{PgStore, SledStore, Store};

pub fn settings(config: &Config) -> Settings {
    Settings {
        enforce_org_dashboard_limits: config.enforce_org_dashboard_limits,
        session_length: std::time::Duration::from_secs(config.session_length_minutes * 60),
        token_secret: config.token_secret.as_ref().map(|s| s.as_bytes().to_vec()),
        history: domain::history::HistorySettings {
            max_versions: config.history_max_versions.max(1),
            max_age: Some(config.history_max_age).filter(|a| !a.is_zero()),
        },
        trash_retention: Some(config.trash_retention).filter(|a| !a.is_zero()),
    }
}

/// Opens the store the configuration names: PostgreSQL with `--store-url`,
/// otherwise sled in `--data-dir`.
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    match &config.store_url {
        Some(url) => Ok(Arc::new(PgStore::open(url).map_err(|e| e.to_string())?)),
        None => Ok(Arc::new(
            SledStore::open(&config.data_dir).map_err(|e| e.to_string())?,
        )),
    }
}

/// Opens the configured store and the service over it. Call it outside the
/// async runtime.
pub fn open_service(config: &Config) -> Result<Arc<Service>, String> {
    let store = open_store(config)?;
    Service::open(store, settings(config))
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Onboards the store directly (for scripted installs); returns the
/// operator token.
pub fn setup_offline(config: &Config, req: domain::setup::SetupRequest) -> Result<String, String> {
    let service =
        Service::open(open_store(config)?, settings(config)).map_err(|e| e.to_string())?;
    let result = service.setup(req).map(|r| r.token).map_err(|e| e.message);
    service.close();
    result
}

pub struct Application {
    server: Server,
    addr: SocketAddr,
}

impl Application {
    /// Binds the listener over a service (opened outside the async runtime:
    /// the PostgreSQL client runs one of its own); `run` then serves.
    pub fn build(config: &Config, service: Arc<Service>) -> Result<Self, String> {
        let service = web::Data::from(service);
        let listener = TcpListener::bind(&config.http_bind_address)
            .map_err(|e| format!("cannot listen on {}: {e}", config.http_bind_address))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let limit = api::BodyLimit(config.max_body_bytes);
        let assets = web::Data::new(api::assets::Assets::new(match &config.assets_path {
            Some(p) => Some(
                p.canonicalize()
                    .map_err(|e| format!("assets path {} is not usable: {e}", p.display()))?,
            ),
            None => None,
        }));
        let upstream = web::Data::new(api::ui::QueryUpstream {
            url: config.query_upstream.clone(),
            token: config.query_upstream_token.clone(),
        });
        let started = web::Data::new(api::system::Started::now());
        let rendered = web::Data::new(api::rendered::RenderedDashboards::default());

        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(service.clone())
                .app_data(started.clone())
                .app_data(rendered.clone())
                .app_data(assets.clone())
                .app_data(upstream.clone())
                .app_data(limit)
                .app_data(web::PayloadConfig::new(limit.0))
                .app_data(api::path_config())
                .wrap(from_fn(api::middleware::request_context))
                .configure(api::configure)
                .default_service(web::to(api::assets::fallback))
        })
        .disable_signals()
        .shutdown_timeout(5)
        .listen(listener)
        .map_err(|e| e.to_string())?;
        if let Some(n) = config.http_workers {
            server = server.workers(n);
        }
        Ok(Application {
            server: server.run(),
            addr,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Prunes dashboard history and the trash past their retention every `interval`, on a
/// thread of its own (the store calls block).
pub fn spawn_history_pruning(service: Arc<Service>, interval: std::time::Duration) {
    let interval = interval.max(std::time::Duration::from_secs(1));
    let spawned = std::thread::Builder::new()
        .name("history-prune".into())
        .spawn(move || loop {
            match service.prune_history(domain::time::Timestamp::now()) {
                Ok(0) => {}
                Ok(n) => log::info!("pruned old versions of {n} dashboards"),
                Err(e) => log::warn!("pruning dashboard history failed: {e}"),
            }
            match service.prune_trash(domain::time::Timestamp::now()) {
                Ok(0) => {}
                Ok(n) => log::info!("purged {n} dashboards from the trash"),
                Err(e) => log::warn!("pruning the dashboard trash failed: {e}"),
            }
            std::thread::sleep(interval);
        });
    if let Err(e) = spawned {
        log::error!("cannot start history pruning: {e}");
    }
}
