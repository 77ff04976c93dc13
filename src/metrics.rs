//! What `/metrics` exposes, in the Prometheus text format. One process-wide
//! set: the HTTP layer, the store's commit paths and the caches record into
//! it wherever they are, without threading a handle through every call.
//! Gauges that describe state (records, bytes on disk, uptime) are read at
//! scrape time instead.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::{LazyLock, OnceLock};
use std::time::Instant;

/// Latency buckets in seconds, from a cached read to a slow sync.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
const GROUP_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

pub struct Metrics {
    registry: Registry,
    started: Instant,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub http_in_flight: IntGauge,
    pub store_commits: IntCounter,
    pub store_writes: IntCounter,
    pub store_group_size: Histogram,
    pub store_commit_duration: Histogram,
    pub store_disk_bytes: IntGauge,
    pub store_records: IntGaugeVec,
    pub cache_lookups: IntCounterVec,
    /// The series of `cache_lookups` recorded on every request, kept once
    /// made (a labelled lookup hashes its labels each time).
    per_request_caches: [(&'static str, [OnceLock<IntCounter>; 2]); 2],
    uptime: Gauge,
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Registers a collector built from constant options; the names are fixed
/// here, so failing would be a programming error caught by every test.
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    c: prometheus::Result<C>,
) -> C {
    let c = c.expect("valid metric options");
    registry
        .register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

impl Metrics {
    fn new() -> Metrics {
        let r = Registry::new();
        let build_info = registered(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "tessera_build_info",
                    "Always 1; the labels say which build is running.",
                ),
                &["version", "commit"],
            ),
        );
        build_info
            .with_label_values(&[crate::api::system::VERSION, crate::api::system::COMMIT])
            .set(1);
        #[cfg(target_os = "linux")]
        {
            let _ = r.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ));
        }
        Metrics {
            started: Instant::now(),
            http_requests: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "tessera_http_requests_total",
                        "HTTP requests answered, by route template, method and status class.",
                    ),
                    &["route", "method", "status"],
                ),
            ),
            http_duration: registered(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "tessera_http_request_duration_seconds",
                        "Time from a request's arrival to its response head, by route template and method.",
                    )
                    .buckets(LATENCY_BUCKETS.to_vec()),
                    &["route", "method"],
                ),
            ),
            http_in_flight: registered(
                &r,
                IntGauge::new(
                    "tessera_http_requests_in_flight",
                    "HTTP requests being handled now.",
                ),
            ),
            store_commits: registered(
                &r,
                IntCounter::new(
                    "tessera_store_commits_total",
                    "Durable commits (a group commit on sled, a transaction on PostgreSQL).",
                ),
            ),
            store_writes: registered(
                &r,
                IntCounter::new(
                    "tessera_store_writes_total",
                    "Writes made durable (several share one commit on sled).",
                ),
            ),
            store_group_size: registered(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "tessera_store_commit_group_size",
                        "Writes made durable by one commit.",
                    )
                    .buckets(GROUP_SIZE_BUCKETS.to_vec()),
                ),
            ),
            store_commit_duration: registered(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "tessera_store_commit_duration_seconds",
                        "Time one commit takes to reach stable storage.",
                    )
                    .buckets(LATENCY_BUCKETS.to_vec()),
                ),
            ),
            store_disk_bytes: registered(
                &r,
                IntGauge::new(
                    "tessera_store_disk_bytes",
                    "Bytes the store occupies on disk (the data directory, or the PostgreSQL database).",
                ),
            ),
            store_records: registered(
                &r,
                IntGaugeVec::new(
                    Opts::new("tessera_store_records", "Records held, by kind."),
                    &["kind"],
                ),
            ),
            cache_lookups: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "tessera_cache_lookups_total",
                        "Cache lookups by cache (rendered_dashboards, credentials) and result (hit, miss).",
                    ),
                    &["cache", "result"],
                ),
            ),
            per_request_caches: [
                ("credentials", Default::default()),
                ("rendered_dashboards", Default::default()),
            ],
            uptime: registered(
                &r,
                Gauge::new("tessera_uptime_seconds", "Seconds since the process started."),
            ),
            registry: r,
        }
    }

    /// Records one durable commit covering `writes` writes.
    pub fn commit(&self, writes: u64, took: std::time::Duration) {
        self.store_commits.inc();
        self.store_writes.inc_by(writes);
        self.store_group_size.observe(writes as f64);
        self.store_commit_duration.observe(took.as_secs_f64());
    }

    /// Records a cache lookup.
    pub fn cache(&self, cache: &str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        let series = || self.cache_lookups.with_label_values(&[cache, result]);
        match self.per_request_caches.iter().find(|(c, _)| *c == cache) {
            Some((_, kept)) => kept[usize::from(hit)].get_or_init(series).inc(),
            None => series().inc(),
        }
    }

    /// `hits` of `lookups` lookups of `cache` found what they wanted.
    pub fn cache_hits(&self, cache: &str, hits: usize, lookups: usize) {
        for (kind, n) in [("hit", hits), ("miss", lookups.saturating_sub(hits))] {
            if n > 0 {
                self.cache_lookups
                    .with_label_values(&[cache, kind])
                    .inc_by(n as u64);
            }
        }
    }

    /// The exposition, with the scrape-time gauges brought up to date.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        self.uptime.set(self.started.elapsed().as_secs_f64());
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// Starts the uptime clock and registers every metric now rather than at
/// the first scrape.
pub fn init() {
    LazyLock::force(&METRICS);
}
