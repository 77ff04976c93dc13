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
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod probe;
pub mod store;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition};
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
            SledStore::open_with_cache(&config.data_dir, config.store_cache_bytes)
                .map_err(|e| e.to_string())?,
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

/// `tessera backup` without --host: a snapshot of --data-dir, which no
/// server may have open.
pub fn backup_offline(config: &Config, dir: &std::path::Path) -> Result<String, String> {
    if config.store_url.is_some() {
        return Err(store::backup::ON_POSTGRES.into());
    }
    let store = SledStore::open(&config.data_dir).map_err(|e| e.to_string())?;
    let snapshot = store::backup::Snapshot::take(&store)?;
    snapshot.write_dir(dir)?;
    Ok(cli::backup_report(&snapshot.manifest, dir))
}

/// `tessera restore`: a backup into --data-dir.
pub fn restore(config: &Config, dir: &std::path::Path, force: bool) -> Result<String, String> {
    if config.store_url.is_some() {
        return Err("restore writes a data directory (--data-dir); on PostgreSQL use pg_restore, or restore into a directory and `tessera migrate` it".into());
    }
    let snapshot = store::backup::Snapshot::read_dir(dir)?;
    let counts = snapshot.restore(&config.data_dir, force)?;
    let mut out = format!("{:<16} {:>8}\n", "KIND", "RECORDS");
    for (kind, n) in counts {
        out.push_str(&format!("{kind:<16} {n:>8}\n"));
    }
    out.push_str(&format!(
        "restored into {} and verified: every file matched its checksum and the store reads back as the backup\n",
        config.data_dir.display()
    ));
    Ok(out)
}

pub struct Application {
    server: Server,
    addr: SocketAddr,
    tls: bool,
}

/// The TLS settings `--tls-cert`, `--tls-key` and `--tls-min-version` ask
/// for; an error says which file did not load and why.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
    min_version: config::TlsVersion,
) -> Result<rustls::ServerConfig, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("TLS certificate {} does not load: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "TLS certificate {} holds no PEM certificate",
            cert.display()
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("TLS key {} does not load: {e}", key.display()))?;
    let versions: &[&rustls::SupportedProtocolVersion] = match min_version {
        config::TlsVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        config::TlsVersion::V1_3 => &[&rustls::version::TLS13],
    };
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| {
            format!(
                "TLS key {} does not fit certificate {}: {e}",
                key.display(),
                cert.display()
            )
        })
}

impl Application {
    /// Binds the listener over a service (opened outside the async runtime:
    /// the PostgreSQL client runs one of its own); `run` then serves.
    pub fn build(config: &Config, service: Arc<Service>) -> Result<Self, String> {
        // actix's own default, named here because the blocking pools'
        // default size depends on it.
        let workers = config.http_workers.map_or_else(
            || std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            usize::from,
        );
        let blocking_threads = config
            .blocking_threads
            .map(usize::from)
            .unwrap_or_else(|| service.blocking_threads(workers));
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
            tls: match &config.query_upstream_ca {
                Some(ca) => Some(Arc::new(api::ui::upstream_tls(ca)?)),
                None => None,
            },
        });
        let started = web::Data::new(api::system::Started::now());
        let rendered = web::Data::new(api::rendered::RenderedDashboards::with_budget(
            config.rendered_cache_bytes,
        ));
        let serve_metrics = !config.metrics_disabled;
        let rate_limits = api::rate_limit::RateLimits::from_config(config)?.map(Arc::new);
        let prober = web::Data::new(probe::Prober::new(
            config.probe_disabled,
            config.allow_private_probe,
            config.probe_ca_file.as_deref(),
        )?);
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls_config(cert, key, config.tls_min_version)?),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };

        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(service.clone())
                .app_data(started.clone())
                .app_data(rendered.clone())
                .app_data(assets.clone())
                .app_data(upstream.clone())
                .app_data(prober.clone())
                .app_data(limit)
                .app_data(web::PayloadConfig::new(limit.0))
                .app_data(api::path_config())
                // Inside the request context: a 429 keeps the request id
                // and is logged. Not in the path at all when limits are off.
                .wrap(Condition::new(rate_limits.is_some(), {
                    let limits = rate_limits.clone();
                    from_fn(move |req, next| api::rate_limit::enforce(limits.clone(), req, next))
                }))
                .wrap(from_fn(api::middleware::request_context))
                .configure(|cfg| {
                    if serve_metrics {
                        api::metrics::configure(cfg)
                    }
                })
                .configure(api::configure)
                .default_service(web::to(api::assets::fallback))
        })
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout);
        let is_tls = tls.is_some();
        server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls),
            None => server.listen(listener),
        }
        .map_err(|e| e.to_string())?;
        server = server
            .workers(workers)
            .worker_max_blocking_threads(blocking_threads);
        Ok(Application {
            server: server.run(),
            addr,
            tls: is_tls,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL the server answers on.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
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
