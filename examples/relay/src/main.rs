//! Reference relay server for hushwire chat.
//!
//! Routes handshake messages and encrypted envelopes between a visitor and the agents of one
//! organisation, stores them in SQLite for offline delivery, and serves the demo pages. It
//! handles opaque bytes plus routing headers only: it has no dependency on the `hushwire`
//! crate and never logs payloads. The wire protocol is described in this crate's README.

mod blob;
mod hub;
mod limits;
mod metrics;
mod ops;
mod protocol;
mod store;
#[cfg(feature = "tamper")]
mod tamper;
mod tenancy;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{header, HeaderName, HeaderValue};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use clap::Parser;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::hub::{Hub, Limits};
use crate::store::SqliteStore;
use crate::tenancy::{Credential, Tenants};

/// Command-line flags.
#[derive(Parser, Debug)]
#[command(
    name = "hushwire-relay",
    version,
    about = "Reference relay: routes and stores ciphertext only."
)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the chosen URL is printed).
    #[arg(long, env = "HUSHWIRE_RELAY_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// SQLite database file, created on first run.
    #[arg(long, env = "HUSHWIRE_RELAY_DB", default_value = "hushwire-relay.sqlite3")]
    db: PathBuf,
    /// Directory served at `/` (the web chat pages).
    #[arg(long = "static", env = "HUSHWIRE_RELAY_STATIC")]
    static_dir: Option<PathBuf>,
    /// Extra directory served under a prefix, as `PREFIX=DIR` (e.g. `/pkg=bindings/wasm/pkg`).
    #[arg(long = "mount", value_name = "PREFIX=DIR")]
    mounts: Vec<String>,
    /// Multi-tenant: the organisations file (JSON: each organisation's id, public key and
    /// agents' salted token hashes; see the README). Excludes `--agent-token`.
    #[arg(
        long,
        env = "HUSHWIRE_RELAY_ORGS",
        value_name = "FILE",
        conflicts_with = "agent_tokens"
    )]
    orgs: Option<PathBuf>,
    /// Single-tenant: an agent's relay token, as `NAME:TOKEN` or `TOKEN` (name "agent").
    /// Repeatable. Also read from the environment variable HUSHWIRE_AGENT_TOKENS
    /// (comma-separated), which keeps tokens out of the process list. The relay then serves
    /// one organisation, whatever key id its hellos name.
    #[arg(long = "agent-token", value_name = "NAME:TOKEN")]
    agent_tokens: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
    /// Client frames allowed per second per connection (burst: twice that).
    #[arg(long, env = "HUSHWIRE_RELAY_RATE_LIMIT", default_value_t = 20)]
    rate_limit: u32,
    /// Largest frame accepted, in bytes.
    #[arg(long, env = "HUSHWIRE_RELAY_MAX_FRAME", default_value_t = 96 * 1024)]
    max_frame: usize,
    /// Directory of attachment blobs (ciphertext only), created on first run; by default the
    /// database's path with `.blobs` appended.
    #[arg(long)]
    blob_dir: Option<PathBuf>,
    /// Largest attachment blob, in bytes.
    #[arg(long, default_value_t = 256 << 20)]
    max_blob: u64,
    /// All attachment blobs of one conversation together, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    blob_quota_conversation: u64,
    /// All attachment blobs on this relay together, in bytes.
    #[arg(long, default_value_t = 50 << 30)]
    blob_quota_global: u64,
    /// Debug only: append every WebSocket frame the relay receives or sends to this file.
    /// Open WebSocket connections per source address.
    #[arg(long, env = "HUSHWIRE_RELAY_CONNS_PER_ADDR", default_value_t = 64)]
    conns_per_addr: usize,
    /// Open WebSocket connections in total.
    #[arg(long, env = "HUSHWIRE_RELAY_CONNS_TOTAL", default_value_t = 20_000)]
    conns_total: usize,
    /// Seconds a connection may send nothing (the relay pings every half of it).
    #[arg(long, env = "HUSHWIRE_RELAY_IDLE_SECS", default_value_t = 120)]
    idle_secs: u64,
    /// Frames a visitor may store before an agent accepts the conversation (hellos included).
    #[arg(long, env = "HUSHWIRE_RELAY_PRE_ACCEPT_FRAMES", default_value_t = 16)]
    pre_accept_frames: u64,
    /// Frame bytes a visitor may store before an agent accepts the conversation.
    #[arg(long, env = "HUSHWIRE_RELAY_PRE_ACCEPT_BYTES", default_value_t = 256 * 1024)]
    pre_accept_bytes: u64,
    /// Frames one conversation may hold.
    #[arg(long, env = "HUSHWIRE_RELAY_CONV_FRAMES", default_value_t = 100_000)]
    conv_frames: u64,
    /// Frame bytes one conversation may hold.
    #[arg(long, env = "HUSHWIRE_RELAY_CONV_BYTES", default_value_t = 256 << 20)]
    conv_bytes: u64,
    /// Conversations one organisation may hold.
    #[arg(long, env = "HUSHWIRE_RELAY_ORG_CONVERSATIONS", default_value_t = 1_000_000)]
    org_conversations: u64,
    /// Conversations the relay may hold in total.
    #[arg(
        long,
        env = "HUSHWIRE_RELAY_TOTAL_CONVERSATIONS",
        default_value_t = 10_000_000
    )]
    total_conversations: u64,
    /// Seconds after which a conversation no agent has accepted is deleted.
    #[arg(long, env = "HUSHWIRE_RELAY_UNASSIGNED_TTL_SECS", default_value_t = 24 * 3600)]
    unassigned_ttl_secs: u64,
    /// Single-tenant: seconds after which a conversation is deleted (default: kept). A
    /// multi-tenant relay takes each organisation's `retention_secs` from the organisations
    /// file.
    #[arg(long, env = "HUSHWIRE_RELAY_RETENTION_SECS", conflicts_with = "orgs")]
    retention_secs: Option<u64>,
    /// A browser origin (`https://host[:port]`) allowed to open WebSockets; repeatable. None:
    /// only the relay's own origin.
    #[arg(
        long = "allowed-origin",
        env = "HUSHWIRE_RELAY_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    allowed_origins: Vec<String>,
    /// Debug only: append every WebSocket frame the relay receives or sends to this file
    /// (created 0600; bearer tokens in frames are replaced by `[redacted]`).
    #[arg(long)]
    frame_log: Option<PathBuf>,
    /// TLS certificate chain (PEM). With `--tls-key`, the relay serves HTTPS and `wss://`.
    #[arg(long, env = "HUSHWIRE_RELAY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "HUSHWIRE_RELAY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address: only behind a reverse proxy that
    /// terminates TLS on the same host or private network (agent tokens cross in clear).
    #[arg(long, env = "HUSHWIRE_RELAY_INSECURE_PLAIN_HTTP")]
    insecure_plain_http: bool,
    /// Log line format on stderr.
    #[arg(long, env = "HUSHWIRE_RELAY_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Test only: corrupt forwarded message envelopes (`flip-byte`, `replay`, `reorder`).
    /// Exists only in builds with the `tamper` cargo feature, which releases never enable.
    #[cfg(feature = "tamper")]
    #[arg(long)]
    tamper: Option<crate::tamper::Tamper>,
}

/// Administration commands (instead of serving).
#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Reads a relay token from standard input and prints its `token_hash` for the
    /// organisations file (salted HMAC-SHA256; the token is never stored).
    HashToken,
    /// Writes a self-signed TLS certificate (`DIR/cert.pem`) and key (`DIR/key.pem`, 0600)
    /// for the demo and tests.
    GenCert {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// DNS name or IP address the certificate is for (repeatable; default localhost and
        /// 127.0.0.1).
        #[arg(long = "name")]
        names: Vec<String>,
    },
}

/// The Content-Security-Policy of everything the relay serves. The demo pages load only
/// same-origin scripts (no inline script, not even an import map), the npm package's wasm
/// ('wasm-unsafe-eval' allows compiling it, not JS eval) and talk only to this relay; nothing
/// may frame them. Images may also come from `blob:` URLs: attachments decrypted in the page.
const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
    connect-src 'self'; style-src 'self'; img-src 'self' blob:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// Security headers on every HTTP response (pages, assets, the package, errors).
fn security_headers(app: Router) -> Router {
    let headers: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        // The pages keep secrets in IndexedDB / localStorage: no caching by shared proxies.
        (header::CACHE_CONTROL, "no-store"),
    ];
    headers.into_iter().fold(app, |app, (name, value)| {
        app.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// Logs one event (tracing, to stderr). Callers never pass tokens, frames or payloads.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { tracing::info!("{}", format_args!($($t)*)) };
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    /// `DATE LEVEL message field=value ...`
    Text,
    /// One JSON object per line.
    Json,
}

fn init_logs(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(true);
    // Only fails if a subscriber is set already, which nothing else does.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The access log: one event per HTTP request (a WebSocket's is its upgrade, and its
/// organisation is logged when it closes, see the hub). The path without its query string,
/// never headers or bodies: nothing a token or a frame could be in.
async fn access_log(
    axum::extract::ConnectInfo(source): axum::extract::ConnectInfo<std::net::SocketAddr>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = req.method().clone();
    // Debug formatting escapes control characters a client put in the path.
    let path = format!("{:?}", req.uri().path());
    let response = next.run(req).await;
    tracing::info!(
        target: "access",
        %method,
        path = %path,
        %source,
        status = response.status().as_u16(),
        "request"
    );
    response
}

/// Creates `path` readable and writable by its owner only (0600) if it does not exist yet;
/// SQLite gives its -wal and -shm files the database's mode.
fn create_private(path: &std::path::Path) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The `hash-token` command.
fn hash_token() -> Result<(), String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("reading the token: {e}"))?;
    let token = line.trim_end_matches(['\r', '\n']);
    if token.len() < tenancy::MIN_TOKEN_LEN {
        return Err(format!(
            "a relay token is at least {} characters of a random secret",
            tenancy::MIN_TOKEN_LEN
        ));
    }
    println!("{}", Credential::new(token)?.to_text());
    Ok(())
}

fn tenants(args: &Args) -> Result<Tenants, String> {
    if let Some(path) = &args.orgs {
        if std::env::var_os("HUSHWIRE_AGENT_TOKENS").is_some() {
            return Err("HUSHWIRE_AGENT_TOKENS is for single-tenant relays, not with --orgs".into());
        }
        return Tenants::from_file(path);
    }
    Tenants::single(
        parse_tokens(args),
        args.retention_secs.map(std::time::Duration::from_secs),
    )
}

fn parse_tokens(args: &Args) -> Vec<(String, String)> {
    let mut specs: Vec<String> = args.agent_tokens.clone();
    if let Ok(env) = std::env::var("HUSHWIRE_AGENT_TOKENS") {
        specs.extend(
            env.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    specs
        .into_iter()
        .map(|spec| match spec.rsplit_once(':') {
            Some((name, token)) => (name.to_string(), token.to_string()),
            None => ("agent".to_string(), spec),
        })
        .collect()
}

/// Most threads running store calls at once (see the runtime in [`main`]).
const BLOCKING_THREADS: usize = 32;

fn main() {
    let args = Args::parse();
    if let Some(command) = &args.command {
        let result = match command {
            Command::HashToken => hash_token(),
            Command::GenCert { out, names } => tls::generate_self_signed(out, names),
        };
        if let Err(e) = result {
            eprintln!("hushwire-relay: {e}");
            std::process::exit(1);
        }
        return;
    }
    init_logs(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Store calls run on blocking threads; each opens its own SQLite read connection when
        // the pool's are busy. Tokio's default of 512 let a burst of logins start ~500
        // threads and connections (seen in the heap profile of issue #19), each with a stack,
        // a page cache and an allocator arena left behind in the resident set. Posts do not
        // hold one of these threads (they wait for the group commit without one).
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            info!("cannot start runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        info!("fatal: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let tenants = tenants(&args)?;
    if tenants.no_agents() {
        info!("warning: no agent configured; no agent can log in");
    }
    for org in tenants.orgs() {
        info!("serving organisation {}", org.id);
    }
    create_private(&args.db)?;
    let store: Arc<dyn crate::store::Store> =
        Arc::new(SqliteStore::open(&args.db).map_err(|e| e.to_string())?);
    let blob_limits = blob::BlobLimits {
        max_blob: args.max_blob,
        per_conversation: args.blob_quota_conversation,
        global: args.blob_quota_global,
    };
    let blob_dir = args.blob_dir.clone().unwrap_or_else(|| {
        let mut p = args.db.clone().into_os_string();
        p.push(".blobs");
        PathBuf::from(p)
    });
    let blobs = blob::Blobs::open(&blob_dir, blob_limits, store.clone(), Arc::new(tenants.clone()))
        .map_err(|e| format!("blob directory {}: {e}", blob_dir.display()))?;
    let frame_log = match &args.frame_log {
        Some(path) => {
            create_private(path)?;
            Some(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("frame log: {e}"))?,
            )
        }
        None => None,
    };
    let limits = Limits {
        max_frame: args.max_frame,
        rate_per_sec: args.rate_limit.max(1),
        conns_per_addr: args.conns_per_addr,
        conns_total: args.conns_total,
        idle: std::time::Duration::from_secs(args.idle_secs.max(2)),
        pre_accept_frames: args.pre_accept_frames,
        pre_accept_bytes: args.pre_accept_bytes,
        conv_frames: args.conv_frames,
        conv_bytes: args.conv_bytes,
        org_conversations: args.org_conversations,
        total_conversations: args.total_conversations,
        unassigned_ttl: std::time::Duration::from_secs(args.unassigned_ttl_secs),
        allowed_origins: args.allowed_origins.clone(),
    };
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let hub = Hub::new(store, tenants, limits, frame_log, shutdown_rx.clone());
    #[cfg(feature = "tamper")]
    let hub = hub.with_tamper(args.tamper);
    let hub = Arc::new(hub);
    // Expiry runs often enough that a conversation outlives its limit by at most a quarter of
    // it (and at most a minute).
    let shortest = hub_retentions(&args)
        .into_iter()
        .fold(limits_ttl(&args), std::cmp::min);
    let period = (shortest / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(60),
    );
    tokio::spawn(hub.clone().expire_loop(period));

    let mut app = Router::new()
        .route("/ws", get(hub::ws_handler))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(Arc::new(blobs).router());
    for mount in &args.mounts {
        let (prefix, dir) = mount.split_once('=').ok_or("--mount wants PREFIX=DIR")?;
        if !prefix.starts_with('/') || prefix.len() < 2 {
            return Err("--mount prefix must start with / and not be /".into());
        }
        app = app.nest_service(prefix, ServeDir::new(dir));
    }
    if let Some(dir) = &args.static_dir {
        app = app.fallback_service(ServeDir::new(dir));
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    if tls.is_none() && !args.bind.ip().is_loopback() && !args.insecure_plain_http {
        return Err(format!(
            "refusing plain HTTP on {}: give --tls-cert and --tls-key, or --insecure-plain-http \
             behind a TLS-terminating proxy",
            args.bind
        ));
    }
    let mut app = security_headers(app.with_state(hub.clone()));
    if tls.is_some() {
        // Browsers that saw the relay over HTTPS never try plain HTTP again (RFC 6797).
        app = app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    let app = app.layer(axum::middleware::from_fn(access_log));

    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| format!("bind {}: {e}", args.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // The one line scripts parse: the URL actually bound.
    println!("hushwire-relay listening on {scheme}://{addr}");
    info!("listening on {scheme}://{addr}, database {}", args.db.display());

    let mut shutdown_wait = shutdown_rx.clone();
    let signal_task = tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutting down: finishing frames in flight");
        let _ = shutdown_tx.send(true);
    });
    let stop = async move {
        let _ = shutdown_wait.wait_for(|s| *s).await;
    };
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(config) => {
            // tap_io only for axum's connect info (the source address); TCP_NODELAY is set
            // before the handshake, in the listener.
            let listener = tls::TlsListener::new(listener, config)
                .map_err(|e| e.to_string())?
                .tap_io(|_| {});
            axum::serve(listener, app).with_graceful_shutdown(stop).await
        }
        None => {
            // Chat frames are small and answered in bursts (a login's `assigned` and
            // `waiting` frames): without TCP_NODELAY, Nagle's algorithm and the peer's
            // delayed ACK add ~40 ms.
            let listener = listener.tap_io(|tcp| {
                if tcp.set_nodelay(true).is_err() {
                    info!("cannot set TCP_NODELAY");
                }
            });
            axum::serve(listener, app).with_graceful_shutdown(stop).await
        }
    }
    .map_err(|e| e.to_string())?;
    signal_task.abort();
    // Connection tasks finish the frame they are handling (commit, then ack) and close.
    hub.wait_idle(std::time::Duration::from_secs(10)).await;
    info!("stopped");
    Ok(())
}

/// Retention periods configured (the expiry task runs often enough for the shortest).
fn hub_retentions(args: &Args) -> Vec<std::time::Duration> {
    match &args.orgs {
        Some(path) => Tenants::from_file(path)
            .map(|t| t.orgs().filter_map(|o| o.retention).collect())
            .unwrap_or_default(),
        None => args
            .retention_secs
            .map(std::time::Duration::from_secs)
            .into_iter()
            .collect(),
    }
}

fn limits_ttl(args: &Args) -> std::time::Duration {
    std::time::Duration::from_secs(args.unassigned_ttl_secs)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
