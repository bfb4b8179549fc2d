//! Reference relay server for hushwire chat.
//!
//! Routes handshake messages and encrypted envelopes between a visitor and the agents of one
//! organisation, stores them in SQLite for offline delivery, and serves the demo pages. It
//! handles opaque bytes plus routing headers only: it has no dependency on the `hushwire`
//! crate and never logs payloads. The wire protocol is described in this crate's README.

mod blob;
mod hub;
mod protocol;
mod store;
#[cfg(feature = "tamper")]
mod tamper;

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

use crate::hub::{AgentTokens, Hub, Limits};
use crate::store::SqliteStore;

/// Command-line flags.
#[derive(Parser, Debug)]
#[command(
    name = "hushwire-relay",
    about = "Reference relay: routes and stores ciphertext only."
)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the chosen URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// SQLite database file, created on first run.
    #[arg(long, default_value = "hushwire-relay.sqlite3")]
    db: PathBuf,
    /// Directory served at `/` (the web chat pages).
    #[arg(long = "static")]
    static_dir: Option<PathBuf>,
    /// Extra directory served under a prefix, as `PREFIX=DIR` (e.g. `/pkg=bindings/wasm/pkg`).
    #[arg(long = "mount", value_name = "PREFIX=DIR")]
    mounts: Vec<String>,
    /// An agent's relay token, as `NAME:TOKEN` or `TOKEN` (name "agent"). Repeatable. Also
    /// read from the environment variable HUSHWIRE_AGENT_TOKENS (comma-separated), which keeps
    /// tokens out of the process list.
    #[arg(long = "agent-token", value_name = "NAME:TOKEN")]
    agent_tokens: Vec<String>,
    /// Client frames allowed per second per connection (burst: twice that).
    #[arg(long, default_value_t = 20)]
    rate_limit: u32,
    /// Largest frame accepted, in bytes.
    #[arg(long, default_value_t = 96 * 1024)]
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
    #[arg(long)]
    frame_log: Option<PathBuf>,
    /// Test only: corrupt forwarded message envelopes (`flip-byte`, `replay`, `reorder`).
    /// Exists only in builds with the `tamper` cargo feature, which releases never enable.
    #[cfg(feature = "tamper")]
    #[arg(long)]
    tamper: Option<crate::tamper::Tamper>,
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

fn log(msg: std::fmt::Arguments<'_>) {
    eprintln!("hushwire-relay: {msg}");
}

/// Logs one line to stderr. Callers never pass payloads.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log(format_args!($($t)*)) };
}

fn parse_tokens(args: &Args) -> Result<AgentTokens, String> {
    let mut specs: Vec<String> = args.agent_tokens.clone();
    if let Ok(env) = std::env::var("HUSHWIRE_AGENT_TOKENS") {
        specs.extend(
            env.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    let mut tokens = AgentTokens::default();
    for spec in specs {
        let (name, token) = match spec.rsplit_once(':') {
            Some((name, token)) => (name.to_string(), token.to_string()),
            None => ("agent".to_string(), spec),
        };
        if token.len() < 16 || name.is_empty() || name.len() > 64 {
            return Err("an agent token must be at least 16 characters, its name 1..=64".into());
        }
        tokens.add(name, &token);
    }
    Ok(tokens)
}

fn main() {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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
    let tokens = parse_tokens(&args)?;
    if tokens.is_empty() {
        info!("warning: no --agent-token given; no agent can log in");
    }
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
    let blobs = blob::Blobs::open(&blob_dir, blob_limits, store.clone(), Arc::new(tokens.clone()))
        .map_err(|e| format!("blob directory {}: {e}", blob_dir.display()))?;
    let frame_log = match &args.frame_log {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("frame log: {e}"))?,
        ),
        None => None,
    };
    let limits = Limits {
        max_frame: args.max_frame,
        rate_per_sec: args.rate_limit.max(1),
    };
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let hub = Hub::new(store, tokens, limits, frame_log, shutdown_rx.clone());
    #[cfg(feature = "tamper")]
    let hub = hub.with_tamper(args.tamper);
    let hub = Arc::new(hub);

    let mut app = Router::new()
        .route("/ws", get(hub::ws_handler))
        .route("/healthz", get(|| async { "ok" }))
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
    let app = security_headers(app.with_state(hub.clone()));

    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| format!("bind {}: {e}", args.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Chat frames are small and answered in bursts (a login's `assigned` and `waiting`
    // frames): without TCP_NODELAY, Nagle's algorithm and the peer's delayed ACK add ~40 ms.
    let listener = listener.tap_io(|tcp| {
        if tcp.set_nodelay(true).is_err() {
            info!("cannot set TCP_NODELAY");
        }
    });
    // The one line scripts parse: the URL actually bound.
    println!("hushwire-relay listening on http://{addr}");
    info!("listening on http://{addr}, database {}", args.db.display());

    let mut shutdown_wait = shutdown_rx.clone();
    let signal_task = tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutting down: finishing frames in flight");
        let _ = shutdown_tx.send(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown_wait.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| e.to_string())?;
    signal_task.abort();
    // Connection tasks finish the frame they are handling (commit, then ack) and close.
    hub.wait_idle(std::time::Duration::from_secs(10)).await;
    info!("stopped");
    Ok(())
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
