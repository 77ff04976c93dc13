//! Flags and environment variables, Influx-style.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "tessera",
    version,
    about = "A self-hosted dashboards server that speaks InfluxDB OSS v2's dashboards API"
)]
pub struct Config {
    /// With no command, serve.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to serve HTTP on (port 0 picks a free port).
    #[arg(
        long,
        env = "TESSERA_HTTP_BIND_ADDRESS",
        default_value = "127.0.0.1:8086"
    )]
    pub http_bind_address: String,

    /// Directory holding the embedded store.
    #[arg(
        long,
        env = "TESSERA_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// PostgreSQL to keep everything in instead of the embedded store
    /// (`postgres://user:password@host:5432/db`); several instances may
    /// share one database. Without it, the embedded store in --data-dir.
    #[arg(long, env = "TESSERA_STORE_URL", hide_env_values = true, global = true)]
    pub store_url: Option<String>,

    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "TESSERA_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log line format: `text` for people, `json` (one object a line) for
    /// log collectors.
    #[arg(long, env = "TESSERA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Do not serve `/metrics`.
    #[arg(long, env = "TESSERA_METRICS_DISABLED", default_value_t = false)]
    pub metrics_disabled: bool,

    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT
    /// before they are cut off.
    #[arg(long, env = "TESSERA_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,

    /// PEM certificate chain to serve HTTPS with (needs --tls-key).
    #[arg(long, env = "TESSERA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "TESSERA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Oldest TLS version accepted: 1.2 or 1.3.
    #[arg(long, env = "TESSERA_TLS_MIN_VERSION", value_enum, default_value_t = TlsVersion::V1_2)]
    pub tls_min_version: TlsVersion,

    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "TESSERA_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Memory for sled's page cache, in bytes (the embedded store only).
    /// It holds stored values compressed; more helps GETs with view
    /// properties once the views of the dashboards in use outgrow it.
    #[arg(long, env = "TESSERA_STORE_CACHE_BYTES", default_value_t = crate::store::SLED_DEFAULT_CACHE_BYTES)]
    pub store_cache_bytes: u64,

    /// Memory for ready-to-send dashboard JSON, in bytes: half for
    /// dashboards as lists and GET show them, half for answers with their
    /// views' properties (kept compressed).
    #[arg(long, env = "TESSERA_RENDERED_CACHE_BYTES", default_value_t = crate::api::rendered::DEFAULT_BYTES)]
    pub rendered_cache_bytes: usize,

    /// Page dashboard lists filtered by org with limit/offset. Off by default,
    /// as in InfluxDB: the Influx UI expects a whole org in one answer.
    #[arg(
        long,
        env = "TESSERA_ENFORCE_ORG_DASHBOARD_LIMITS",
        default_value_t = false
    )]
    pub enforce_org_dashboard_limits: bool,

    /// Minutes a signed-in session lasts.
    #[arg(
        long = "session-length",
        env = "TESSERA_SESSION_LENGTH",
        default_value_t = 60
    )]
    pub session_length_minutes: u64,

    /// Versions of each dashboard's history kept (the oldest go first).
    #[arg(long, env = "TESSERA_HISTORY_MAX_VERSIONS", default_value_t = 100)]
    pub history_max_versions: u64,

    /// How long dashboard versions are kept: a number with s, m, h or d
    /// (`0` keeps them regardless of age). The newest version always stays.
    #[arg(long, env = "TESSERA_HISTORY_MAX_AGE", default_value = "90d", value_parser = parse_age)]
    pub history_max_age: Duration,

    /// How often old versions are pruned in the background.
    #[arg(long, env = "TESSERA_HISTORY_PRUNE_INTERVAL", default_value = "1h", value_parser = parse_age)]
    pub history_prune_interval: Duration,

    /// How long deleted dashboards stay in the trash before they are purged:
    /// a number with s, m, h or d (`0` turns the trash off: deletes are
    /// final). Pruned with the history.
    #[arg(long, env = "TESSERA_TRASH_RETENTION", default_value = "30d", value_parser = parse_age)]
    pub trash_retention: Duration,

    /// Secret that signs minted tokens (default: generated on first start and
    /// kept in the data directory). Changing it invalidates minted tokens.
    #[arg(long, env = "TESSERA_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<String>,

    /// Directory with a build of the Influx UI to serve at `/`.
    #[arg(long, env = "TESSERA_ASSETS_PATH")]
    pub assets_path: Option<PathBuf>,

    /// InfluxDB to run the UI's Flux queries against (`/api/v2/query` is
    /// forwarded there; without it, queries answer 501).
    #[arg(long, env = "TESSERA_QUERY_UPSTREAM")]
    pub query_upstream: Option<String>,

    /// Token sent to the query upstream.
    #[arg(long, env = "TESSERA_QUERY_UPSTREAM_TOKEN", hide_env_values = true)]
    pub query_upstream_token: Option<String>,

    /// PEM CA certificate(s) to trust for an https:// --query-upstream,
    /// instead of the built-in public roots.
    #[arg(long, env = "TESSERA_QUERY_UPSTREAM_CA")]
    pub query_upstream_ca: Option<PathBuf>,

    /// HTTP worker threads, 1 to 512 (default: one per core).
    #[arg(long, env = "TESSERA_HTTP_WORKERS", value_parser = clap::value_parser!(u16).range(1..=512))]
    pub http_workers: Option<u16>,

    /// Threads per HTTP worker for blocking work: writes, sign-ins, and
    /// with PostgreSQL every store call (default: 8 with the embedded
    /// store; with PostgreSQL the connection pool's 32 split among the
    /// workers).
    #[arg(long, env = "TESSERA_BLOCKING_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub blocking_threads: Option<u16>,

    /// Let external dashboard probes reach loopback, private and link-local
    /// addresses (refused by default: the server would otherwise fetch
    /// from inside its own network on a user's behalf).
    #[arg(long, env = "TESSERA_ALLOW_PRIVATE_PROBE", default_value_t = false)]
    pub allow_private_probe: bool,

    /// Never fetch external dashboards' URLs (an air-gapped install): their
    /// frame policy stays unknown and `probeError` says why.
    #[arg(long, env = "TESSERA_PROBE_DISABLED", default_value_t = false)]
    pub probe_disabled: bool,

    /// PEM CA certificate(s) trusted, besides the public roots, when
    /// probing external dashboards (a private CA).
    #[arg(long, env = "TESSERA_PROBE_CA_FILE")]
    pub probe_ca_file: Option<PathBuf>,

    /// API requests an org may make a minute, all its callers together
    /// (off when absent; see README "Rate limits").
    #[arg(long, env = "TESSERA_RATE_LIMIT_ORG_PER_MINUTE", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_org_per_minute: Option<u32>,

    /// API requests one token or session may make a minute (off when absent).
    #[arg(long, env = "TESSERA_RATE_LIMIT_TOKEN_PER_MINUTE", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_token_per_minute: Option<u32>,

    /// Authorization (token) IDs that no rate limit applies to; may repeat
    /// (the environment variable takes a comma-separated list).
    #[arg(
        long = "rate-limit-exempt-token-id",
        env = "TESSERA_RATE_LIMIT_EXEMPT_TOKEN_IDS",
        value_delimiter = ','
    )]
    pub rate_limit_exempt_token_ids: Vec<String>,

    /// Instances sharing the limits behind one load balancer: each enforces
    /// its share (the limit divided by this, rounded up).
    #[arg(long, env = "TESSERA_RATE_LIMIT_INSTANCES", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_instances: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsVersion {
    #[value(name = "1.2")]
    V1_2,
    #[value(name = "1.3")]
    V1_3,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Onboard a new data directory without the HTTP API: creates the first
    /// user, org, bucket and operator token (the server must not be running).
    Setup {
        #[arg(long, env = "TESSERA_SETUP_USERNAME")]
        username: String,
        /// At least 8 characters; omit to sign in with tokens only.
        #[arg(long, env = "TESSERA_SETUP_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, env = "TESSERA_SETUP_ORG")]
        org: String,
        #[arg(long, env = "TESSERA_SETUP_BUCKET", default_value = "default")]
        bucket: String,
        /// Retention of the bucket in seconds (0 keeps data forever).
        #[arg(long, default_value_t = 0)]
        retention: i64,
        /// Use this operator token instead of minting one.
        #[arg(long, env = "TESSERA_SETUP_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Copy every record from one store to another (the server must not be
    /// running on either): a data directory or a `postgres://` URL each.
    Migrate {
        /// Where to copy from: a data directory or a postgres:// URL.
        #[arg(long)]
        from: String,
        /// Where to copy to: a data directory or a postgres:// URL.
        #[arg(long)]
        to: String,
        /// Empty the target first if it holds records.
        #[arg(long, default_value_t = false)]
        force: bool,
    },
    /// Back up every record into DIR: from a running server with --host
    /// (an operator token; it keeps serving writes), otherwise from
    /// --data-dir with no server running on it. PostgreSQL: use pg_dump.
    Backup {
        /// Directory to write the backup into (created; must not hold one).
        dir: PathBuf,
        /// URL of a running server to back up.
        #[arg(long)]
        host: Option<String>,
        /// Operator token for --host.
        #[arg(long, env = "INFLUX_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Restore a backup into --data-dir, which must be empty (or --force);
    /// every file is checked against the backup's manifest first.
    Restore {
        /// Directory holding the backup.
        dir: PathBuf,
        /// Replace what --data-dir holds.
        #[arg(long, default_value_t = false)]
        force: bool,
    },
    /// Apply a template (a file or an http URL) to a running server, as
    /// `influx apply` does, and print what it created.
    Apply {
        /// Template file (JSON or YAML) or URL; may repeat.
        #[arg(short = 'f', long = "file", required = true)]
        files: Vec<String>,
        /// Organization name (defaults to the token's only org).
        #[arg(long)]
        org: Option<String>,
        /// Show what would change without changing anything.
        #[arg(long)]
        dry_run: bool,
        /// Apply onto this stack (updates what it created in place).
        #[arg(long)]
        stack_id: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Export dashboards from a running server as a template (YAML on stdout).
    Export {
        /// Dashboard IDs; may repeat.
        #[arg(long = "dashboard", required = true)]
        dashboards: Vec<String>,
        /// Write JSON instead of YAML.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: Remote,
    },
}

/// How the client commands reach a server.
#[derive(Debug, Clone, clap::Args)]
pub struct Remote {
    /// Server URL.
    #[arg(long, env = "INFLUX_HOST", default_value = "http://127.0.0.1:8086")]
    pub host: String,
    /// API token.
    #[arg(long, env = "INFLUX_TOKEN", hide_env_values = true)]
    pub token: String,
}

/// `90d`, `12h`, `30m`, `45s` (a bare number is seconds).
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90d, 12h, 30m or 45s"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(unit)))
}
