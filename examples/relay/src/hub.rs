//! Connections, authentication, routing and fan-out.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, watch, Notify};

use crate::info;
use crate::protocol::{self, conv_hex, parse_conv, ClientFrame, Code, FrameError};
use crate::store::{Appended, ConvId, Kind, Post, Quota, Sender, Store, StoredFrame};
#[cfg(feature = "tamper")]
use crate::tamper::Tamper;
use crate::tenancy::{hello_len, AgentId, Tenants, MAX_REPLY_LEN};

pub use crate::limits::Limits;
use crate::limits::{origin_allowed, Admission, Refusal, Slot};

/// Visitor tokens are random 256-bit secrets: stored as SHA-256 (no salt needed, see
/// [`crate::tenancy::Credential`] for why no slow hash either).
fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// What the hub queues for a connection.
///
/// Kept to two words (issue #19): every connection's channel allocates its first block of 32
/// slots up front, so the slot size is paid by every idle connection (64-byte slots were
/// 2 KiB each); the payloads live behind pointers instead.
enum Out {
    /// A ready frame (taken notices), shared by every connection it goes to.
    Text(Arc<str>),
    /// New waiting notices are pending for this agent connection (see [`AgentSub`]).
    Waiting,
    /// A committed frame of a conversation, delivered in order by the connection's task.
    Frame(Box<(ConvId, StoredFrame)>),
}

/// Bytes of frames queued for one connection and not yet written to it (issue #16: a client
/// that stops reading must not grow the relay). Beyond it the connection is dropped as a slow
/// consumer; it reconnects and syncs from the store.
const OUTBOX_BYTES: usize = 1 << 20;

/// A connection's queue: at most 1 024 entries and [`OUTBOX_BYTES`] of frame data.
#[derive(Clone)]
struct Outbox {
    tx: mpsc::Sender<Out>,
    queued: Arc<AtomicUsize>,
}

impl Out {
    fn bytes(&self) -> usize {
        match self {
            Out::Text(t) => t.len(),
            Out::Waiting => 0,
            Out::Frame(f) => f.1.data.len(),
        }
    }
}

/// Most frames a live catch-up reads (only when publishes overtook each other: a few).
const SYNC_LIMIT: usize = 10_000;

/// Most frames one `sync` answers (issue #16: no request loads an unbounded backlog; at most
/// 64 maximal frames in memory for it); beyond it `synced` says `"more": true` and the
/// client syncs on from there.
const SYNC_PAGE: usize = 64;
/// Most frame bytes one `sync` sends (at least one frame, so it always progresses).
const SYNC_PAGE_BYTES: usize = 1 << 20;
/// Conversations per export page.
const EXPORT_PAGE: usize = 100;

/// Per connection: for each conversation synced on it, the sequence number of the last peer
/// frame delivered (or the `after` it synced from). Frames of a conversation without a
/// cursor are not delivered live: the client has not synced it yet, and its sync will.
type Cursors = HashMap<ConvId, u64>;

/// Waiting notices to one agent connection are coalesced (issue #19): a new hello is added
/// to the connection's pending set and sent at its next flush, [`WAITING_FLUSH`] after the
/// first pending one (so at most one flush per period, and a notice waits at most that); a conversation accepted before that is never announced to it, and a
/// `taken` notice goes only to connections that were told the conversation was waiting. So
/// opening conversations that agents accept at once costs O(conversations) frames, not
/// O(conversations × agents), and what each agent sees still adds up to the full waiting list.
const WAITING_FLUSH: Duration = Duration::from_millis(25);

/// An agent connection.
struct AgentSub {
    who: AgentId,
    outbox: Outbox,
    /// Waiting notices not sent yet, oldest first (latest hello per conversation).
    pending: Vec<(ConvId, Arc<str>)>,
    /// Conversations this connection was told are waiting (so it needs their `taken`).
    told: std::collections::HashSet<ConvId>,
    /// Until its login list is recorded in `told`, it gets every `taken`.
    listing: bool,
    /// An [`Out::Waiting`] is queued and not yet handled.
    woken: bool,
}

#[derive(Default)]
struct Subscribers {
    visitors: HashMap<ConvId, Vec<(u64, Outbox)>>,
    agents: HashMap<u64, AgentSub>,
    /// Agent connections by agent: a frame reaches its agent's devices without a scan.
    by_name: HashMap<AgentId, Vec<u64>>,
}

/// Shared relay state.
pub struct Hub {
    store: Arc<dyn Store>,
    tenants: Tenants,
    limits: Limits,
    #[cfg(feature = "tamper")]
    tamper: Option<Tamper>,
    frame_log: Option<Mutex<std::fs::File>>,
    shutdown: watch::Receiver<bool>,
    subs: Mutex<Subscribers>,
    #[cfg(feature = "tamper")]
    held: crate::tamper::Held,
    next_conn: AtomicU64,
    active: AtomicUsize,
    idle: Notify,
    admission: Arc<Admission>,
    /// Conversations stored (see `Create`).
    conversations: AtomicU64,
    /// What `/metrics` shows.
    pub metrics: crate::metrics::Metrics,
}

/// Counts a live connection; wakes `wait_idle` when the last one ends.
struct ActiveGuard(Arc<Hub>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.metrics.connections.dec();
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[derive(Clone)]
enum Auth {
    Visitor(ConvId),
    Agent(AgentId),
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random<const N: usize>() -> Result<[u8; N], FrameError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|_| FrameError::fatal(Code::Internal, "randomness unavailable"))?;
    Ok(b)
}

/// The `ack` of a stored (or already stored) post.
fn ack(id: &ConvId, seq: u64, reference: Option<String>) -> String {
    let mut ack = json!({"type": "ack", "conversation": conv_hex(id), "seq": seq});
    if let (Some(r), Some(obj)) = (reference, ack.as_object_mut()) {
        obj.insert("ref".into(), serde_json::Value::String(r));
    }
    ack.to_string()
}

/// A storage call's outcome as the client sees it: the cause is logged, never sent.
fn storage_outcome<T>(r: Result<Result<T, crate::store::StoreError>, ()>) -> Result<T, FrameError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            info!("{e}");
            Err(FrameError::fatal(Code::Internal, "storage failure"))
        }
        Err(()) => Err(FrameError::fatal(Code::Internal, "storage task failed")),
    }
}

/// A frame for the debug frame log: the bearer token of `agent`, `resume` and `created` frames
/// replaced by `[redacted]`. A frame that is not a JSON object is logged as it came (it is no
/// login: the relay refuses it as malformed).
fn redact_tokens(text: &str) -> std::borrow::Cow<'_, str> {
    // Parsed whatever it looks like: a key can be spelt with escapes (`"tok\u0065n"`).
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(mut obj)) => {
            if obj.contains_key("token") {
                obj.insert("token".into(), serde_json::Value::from("[redacted]"));
            }
            serde_json::Value::Object(obj).to_string().into()
        }
        _ => text.into(),
    }
}

/// Initial WebSocket read buffer, also the most read from the socket at once: a chat frame
/// (a 563-byte envelope is about 900 bytes of JSON) fits in one read. Every idle connection
/// holds it (issue #19: 4 KiB was the largest single allocation per connection).
const READ_BUFFER: usize = 2 * 1024;

/// The `/ws` endpoint.
pub async fn ws_handler(
    State(hub): State<Arc<Hub>>,
    axum::extract::ConnectInfo(source): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    use axum::response::IntoResponse;
    let header = |name: axum::http::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    // Cross-site WebSocket hijacking: a page elsewhere must not drive a visitor's browser into
    // this relay (browsers always send Origin; other clients are not browsers).
    if !origin_allowed(
        header(axum::http::header::ORIGIN),
        header(axum::http::header::HOST),
        &hub.limits.allowed_origins,
    ) {
        hub.metrics.refused.inc();
        return (axum::http::StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let admitted = hub.admission.admit(source.ip(), &hub.limits);
    if admitted.is_err() {
        hub.metrics.refused.inc();
    }
    let slot = match admitted {
        Ok(slot) => slot,
        Err(Refusal::PerAddress) => {
            return (
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too many connections from this address",
            )
                .into_response()
        }
        Err(Refusal::Total) => {
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "too many connections",
            )
                .into_response()
        }
    };
    // Let frames up to twice the limit through the WebSocket layer, so an oversized one gets a
    // clean TOO_LARGE error frame; anything larger fails the connection at the protocol level.
    let cap = hub.limits.max_frame.saturating_mul(2);
    // Memory per connection (issue #19): the read buffer starts small and grows only for the
    // frame being read (up to `cap`), instead of 128 KiB kept by every idle connection;
    // writes go out at once instead of collecting 128 KiB, and a peer that stops reading
    // holds at most one frame's worth of write buffer here (its queue is bounded too).
    ws.max_message_size(cap)
        .max_frame_size(cap)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(cap.saturating_add(READ_BUFFER))
        .on_upgrade(move |socket| handle_socket(hub, socket, source, slot))
}

struct TokenBucket {
    tokens: f64,
    capacity: f64,
    rate: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u32) -> Self {
        let capacity = f64::from(rate) * 2.0;
        TokenBucket {
            tokens: capacity,
            capacity,
            rate: f64::from(rate),
            last: Instant::now(),
        }
    }
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn send_text(hub: &Hub, conn: u64, socket: &mut WebSocket, text: String) -> bool {
    hub.log_frame(conn, "out", &text);
    socket.send(Message::Text(Utf8Bytes::from(text))).await.is_ok()
}

/// How long a closing connection keeps reading (and dropping) what the peer still sends.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

async fn close(hub: &Hub, conn: u64, socket: &mut WebSocket, err: &FrameError) {
    // Boxed: a connection's task otherwise carries this state (sends and a timed read) while
    // idle (issue #19); it runs once per connection at most.
    Box::pin(close_now(hub, conn, socket, err)).await;
}

async fn close_now(hub: &Hub, conn: u64, socket: &mut WebSocket, err: &FrameError) {
    let _ = send_text(hub, conn, socket, err.to_json(None)).await;
    let code = if err.code == Code::Internal { 1011 } else { 1008 };
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(err.code.as_str()),
        })))
        .await;
    // The closing handshake (RFC 6455 §7.1.1): keep reading until the peer's Close, its end
    // of stream, or a short deadline. Dropping a socket with unread input makes the kernel
    // reset the connection, and a reset can discard the error frame just sent before the
    // peer reads it (seen with a client flooding pings into a rate limit).
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn until_shutdown(rx: &mut watch::Receiver<bool>) {
    let stopped = rx.wait_for(|s| *s).await.is_ok();
    if !stopped {
        std::future::pending::<()>().await;
    }
}

async fn handle_socket(hub: Arc<Hub>, mut socket: WebSocket, source: std::net::SocketAddr, _slot: Slot) {
    hub.active.fetch_add(1, Ordering::SeqCst);
    hub.metrics.connections.inc();
    let _guard = ActiveGuard(hub.clone());
    let conn = hub.next_conn.fetch_add(1, Ordering::Relaxed);
    info!("conn {conn}: open");
    let (tx, mut rx) = mpsc::channel::<Out>(1024);
    let queued = Arc::new(AtomicUsize::new(0));
    let tx = Outbox {
        tx,
        queued: queued.clone(),
    };
    let mut cursors = Cursors::new();
    let mut tx = Some(tx);
    let mut auth: Option<Auth> = None;
    let mut bucket = TokenBucket::new(hub.limits.rate_per_sec);
    let mut shutdown = hub.shutdown.clone();
    let auth_deadline = tokio::time::sleep(Duration::from_secs(10));
    // Idle timeout: the relay pings every half period; a peer that sends nothing at all
    // (a pong is something) for a whole period is gone or stuck.
    let half_idle = hub.limits.idle / 2;
    let mut idle_tick = tokio::time::interval_at(tokio::time::Instant::now() + half_idle, half_idle);
    let mut last_heard = Instant::now();
    // Waiting notices: when to send the pending ones.
    let mut flush_at: Option<tokio::time::Instant> = None;
    tokio::pin!(auth_deadline);
    let reason = loop {
        tokio::select! {
            biased;
            () = until_shutdown(&mut shutdown) => {
                let _ = socket.send(Message::Close(Some(CloseFrame { code: 1001, reason: Utf8Bytes::from_static("shutdown") }))).await;
                break "shutdown";
            }
            out = rx.recv(), if auth.is_some() => match out.inspect(|o| { queued.fetch_sub(o.bytes(), Ordering::SeqCst); }) {
                Some(Out::Text(text)) => {
                    if !send_text(&hub, conn, &mut socket, text.to_string()).await { break "send failed"; }
                }
                Some(Out::Waiting) => {
                    // Coalesce: whatever else turns up meanwhile goes out with it. No further
                    // wake-up comes before the flush, so this is at most one per period.
                    flush_at = Some(tokio::time::Instant::now() + WAITING_FLUSH);
                }
                Some(Out::Frame(queued)) => {
                    let (id, frame) = *queued;
                    let texts = match Box::pin(hub.live(&mut cursors, id, frame)).await {
                        Ok(texts) => texts,
                        Err(e) => {
                            close(&hub, conn, &mut socket, &e).await;
                            break e.code.as_str();
                        }
                    };
                    let mut ok = true;
                    for t in texts {
                        if !send_text(&hub, conn, &mut socket, t).await { ok = false; break; }
                    }
                    if !ok { break "send failed"; }
                }
                None => {
                    close(&hub, conn, &mut socket, &FrameError::fatal(Code::SlowConsumer, "too many undelivered frames; reconnect and sync")).await;
                    break "slow consumer";
                }
            },
            () = tokio::time::sleep_until(flush_at.unwrap_or_else(tokio::time::Instant::now)), if flush_at.is_some() => {
                flush_at = None;
                let mut ok = true;
                for text in hub.take_waiting(conn) {
                    if !send_text(&hub, conn, &mut socket, text.to_string()).await { ok = false; break; }
                }
                if !ok { break "send failed"; }
            }
            _ = idle_tick.tick() => {
                if last_heard.elapsed() >= hub.limits.idle {
                    close(&hub, conn, &mut socket, &FrameError::fatal(Code::IdleTimeout, "nothing received in time")).await;
                    break "idle";
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() { break "send failed"; }
            }
            () = &mut auth_deadline, if auth.is_none() => {
                close(&hub, conn, &mut socket, &FrameError::fatal(Code::AuthTimeout, "no login frame in time")).await;
                break "auth timeout";
            }
            msg = socket.recv() => {
                let msg = match msg {
                    None => break "peer gone",
                    Some(Err(_)) => {
                        // Oversized or invalid at the WebSocket layer.
                        close(&hub, conn, &mut socket, &FrameError::fatal(Code::BadFrame, "invalid WebSocket frame")).await;
                        break "protocol error";
                    }
                    Some(Ok(m)) => m,
                };
                last_heard = Instant::now();
                // Every frame counts against the rate limit, control frames included: a flood
                // of pings costs the relay as much as one of chat frames.
                if !bucket.take() {
                    hub.metrics.rate_limited.inc();
                    close(&hub, conn, &mut socket, &FrameError::fatal(Code::RateLimited, "too many frames")).await;
                    break "rate limited";
                }
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Binary(b) => {
                        hub.log_frame(conn, "in", &format!("binary {}", protocol::b64(&b)));
                        close(&hub, conn, &mut socket, &FrameError::fatal(Code::BadFrame, "binary frames are not supported")).await;
                        break "binary frame";
                    }
                    Message::Close(_) => break "peer closed",
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                hub.log_frame(conn, "in", text.as_str());
                if text.len() > hub.limits.max_frame {
                    close(&hub, conn, &mut socket, &FrameError::fatal(Code::TooLarge, "frame too large")).await;
                    break "frame too large";
                }
                let frame: ClientFrame = match serde_json::from_str(text.as_str()) {
                    Ok(f) => f,
                    Err(_) => {
                        close(&hub, conn, &mut socket, &FrameError::fatal(Code::BadFrame, "malformed frame")).await;
                        break "malformed frame";
                    }
                };
                let reference = match &frame {
                    ClientFrame::Post { reference, .. } => reference.clone(),
                    _ => None,
                };
                // Boxed, like `live` above: their state exists only while a frame is handled,
                // instead of in every idle connection's task (issue #19).
                match Box::pin(hub.handle(conn, &mut auth, &mut tx, &mut cursors, frame)).await {
                    Ok(replies) => {
                        let mut ok = true;
                        for r in replies {
                            if !send_text(&hub, conn, &mut socket, r).await { ok = false; break; }
                        }
                        if !ok { break "send failed"; }
                    }
                    Err(e) if e.fatal => {
                        close(&hub, conn, &mut socket, &e).await;
                        break e.code.as_str();
                    }
                    Err(e) => {
                        if !send_text(&hub, conn, &mut socket, e.to_json(reference.as_deref())).await { break "send failed"; }
                    }
                }
            }
        }
    };
    hub.unsubscribe(conn);
    // The connection's line of the access log, now that its organisation is known.
    let (role, org) = match &auth {
        Some(Auth::Agent(who)) => ("agent", who.org.to_string()),
        Some(Auth::Visitor(_)) => ("visitor", "-".to_string()),
        None => ("none", "-".to_string()),
    };
    tracing::info!(target: "access", conn, %source, role, org = %org, outcome = reason, "websocket closed");
}

impl Hub {
    /// New hub over `store`.
    pub fn new(
        store: Arc<dyn Store>,
        tenants: Tenants,
        limits: Limits,
        frame_log: Option<std::fs::File>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Hub {
            store,
            tenants,
            limits,
            #[cfg(feature = "tamper")]
            tamper: None,
            frame_log: frame_log.map(Mutex::new),
            shutdown,
            subs: Mutex::new(Subscribers::default()),
            #[cfg(feature = "tamper")]
            held: crate::tamper::Held::default(),
            next_conn: AtomicU64::new(1),
            active: AtomicUsize::new(0),
            idle: Notify::new(),
            admission: Arc::new(Admission::default()),
            conversations: AtomicU64::new(0),
            metrics: crate::metrics::Metrics::default(),
        }
    }

    /// Test builds only: corrupt forwarded envelopes in `mode`.
    #[cfg(feature = "tamper")]
    pub fn with_tamper(mut self, mode: Option<Tamper>) -> Self {
        if let Some(t) = mode {
            info!("TEST MODE: tampering with forwarded envelopes ({t:?})");
        }
        self.tamper = mode;
        self
    }

    /// Counts the stored conversations, then every `period` deletes the unassigned ones older
    /// than the limit; runs until shutdown.
    pub async fn expire_loop(self: Arc<Self>, period: Duration) {
        match self.blocking(|s| s.count_conversations()).await {
            Ok(n) => {
                self.conversations.fetch_add(n, Ordering::SeqCst);
            }
            Err(_) => info!("cannot count the stored conversations"),
        }
        let mut shutdown = self.shutdown.clone();
        let mut tick = tokio::time::interval(period);
        loop {
            tokio::select! {
                () = until_shutdown(&mut shutdown) => return,
                _ = tick.tick() => {}
            }
            let ttl = i64::try_from(self.limits.unassigned_ttl.as_secs()).unwrap_or(i64::MAX);
            let before = now().saturating_sub(ttl);
            let mut deleted = self
                .blocking(move |s| s.expire_unassigned(before))
                .await
                .unwrap_or(0);
            // Retention: each organisation's conversations older than its period.
            let retained: Vec<(String, i64)> = self
                .tenants
                .orgs()
                .filter_map(|o| {
                    let secs = i64::try_from(o.retention?.as_secs()).unwrap_or(i64::MAX);
                    Some((o.id.to_string(), now().saturating_sub(secs)))
                })
                .collect();
            for (org, before) in retained {
                if let Ok(n) = self.blocking(move |s| s.delete_older(&org, before)).await {
                    deleted += n;
                }
            }
            {
                let n = deleted;
                if n > 0 {
                    self.forget(n);
                    self.metrics.expired.inc_by(n);
                    info!("expired {n} conversations (unassigned or past retention)");
                }
            }
        }
    }

    /// `n` conversations were deleted: room for as many under the relay-wide cap.
    fn forget(&self, n: u64) {
        let _ = self
            .conversations
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| Some(c.saturating_sub(n)));
    }

    /// Whether the relay can serve: no shutdown under way and the store answers a query.
    pub async fn ready(&self) -> bool {
        !*self.shutdown.borrow() && self.blocking(|s| s.count_conversations()).await.is_ok()
    }

    /// Waits until every connection has finished, at most `limit`.
    pub async fn wait_idle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            let _ = tokio::time::timeout(Duration::from_millis(50), self.idle.notified()).await;
        }
    }

    fn log_frame(&self, conn: u64, dir: &str, text: &str) {
        if let Some(f) = &self.frame_log {
            let text = redact_tokens(text);
            if let Ok(mut f) = f.lock() {
                let _ = writeln!(f, "{conn} {dir} {text}");
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, crate::store::StoreError> + Send + 'static,
    ) -> Result<T, FrameError> {
        let store = self.store.clone();
        storage_outcome(
            tokio::task::spawn_blocking(move || f(store.as_ref()))
                .await
                .map_err(|_| ()),
        )
    }

    /// Queues a post for the store's writer and waits for its commit without holding a
    /// thread: many posts then wait at once and commit together.
    async fn append(&self, post: Post) -> Result<Appended, FrameError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.store.append_then(
            post,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        storage_outcome(rx.await.map_err(|_| ()))
    }

    fn lock_subs(&self) -> std::sync::MutexGuard<'_, Subscribers> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unsubscribe(&self, conn: u64) {
        let mut subs = self.lock_subs();
        Self::remove_agent(&mut subs, conn);
        subs.visitors.retain(|_, v| {
            v.retain(|(c, _)| *c != conn);
            !v.is_empty()
        });
    }

    /// Queues `text` for a subscriber; a full queue drops the subscriber, whose connection
    /// then closes with SLOW_CONSUMER (the client reconnects and syncs from the store).
    fn push(outbox: &Outbox, out: Out) -> bool {
        let n = out.bytes();
        if outbox.queued.fetch_add(n, Ordering::SeqCst).saturating_add(n) > OUTBOX_BYTES {
            // Over budget: dropping the sender closes the queue, and the connection then
            // closes with SLOW_CONSUMER once it has written what is queued.
            outbox.queued.fetch_sub(n, Ordering::SeqCst);
            return false;
        }
        if outbox.tx.try_send(out).is_err() {
            outbox.queued.fetch_sub(n, Ordering::SeqCst);
            return false;
        }
        true
    }

    fn remove_agent(subs: &mut Subscribers, conn: u64) {
        if let Some(sub) = subs.agents.remove(&conn) {
            if let Some(conns) = subs.by_name.get_mut(&sub.who) {
                conns.retain(|c| *c != conn);
                if conns.is_empty() {
                    subs.by_name.remove(&sub.who);
                }
            }
        }
    }

    /// Queues `out` for every connection of `agent`.
    fn to_agent(&self, agent: &AgentId, out: impl Fn() -> Out) {
        let mut subs = self.lock_subs();
        let conns = subs.by_name.get(agent).cloned().unwrap_or_default();
        for conn in conns {
            let ok = subs
                .agents
                .get(&conn)
                .is_some_and(|sub| Self::push(&sub.outbox, out()));
            if !ok {
                Self::remove_agent(&mut subs, conn);
            }
        }
    }

    /// A new (or newer) hello of a waiting conversation of `org`: pending for every
    /// connection of that organisation's agents, and only theirs.
    fn announce_waiting(&self, org: &str, id: &ConvId, text: String) {
        let text: Arc<str> = Arc::from(text);
        let mut subs = self.lock_subs();
        let mut gone = Vec::new();
        for (conn, sub) in subs.agents.iter_mut() {
            if *sub.who.org != *org {
                continue;
            }
            sub.pending.retain(|(c, _)| c != id);
            sub.pending.push((*id, text.clone()));
            if !sub.woken {
                sub.woken = true;
                if !Self::push(&sub.outbox, Out::Waiting) {
                    gone.push(*conn);
                }
            }
        }
        for conn in gone {
            Self::remove_agent(&mut subs, conn);
        }
    }

    /// `id` was accepted by `agent`: the connections of its organisation's other agents drop
    /// it from their pending notices, and those that were told it was waiting get `taken`.
    fn announce_taken(&self, id: &ConvId, agent: &AgentId) {
        let taken: Arc<str> = json!({"type": "taken", "conversation": conv_hex(id)})
            .to_string()
            .into();
        let mut subs = self.lock_subs();
        let mut gone = Vec::new();
        for (conn, sub) in subs.agents.iter_mut() {
            if sub.who == *agent || sub.who.org != agent.org {
                continue;
            }
            sub.pending.retain(|(c, _)| c != id);
            if (sub.told.remove(id) || sub.listing) && !Self::push(&sub.outbox, Out::Text(taken.clone())) {
                gone.push(*conn);
            }
        }
        for conn in gone {
            Self::remove_agent(&mut subs, conn);
        }
    }

    /// Takes the connection's pending waiting notices, recording them as told.
    fn take_waiting(&self, conn: u64) -> Vec<Arc<str>> {
        let mut subs = self.lock_subs();
        let Some(sub) = subs.agents.get_mut(&conn) else {
            return Vec::new();
        };
        sub.woken = false;
        let pending = std::mem::take(&mut sub.pending);
        pending
            .into_iter()
            .map(|(id, text)| {
                sub.told.insert(id);
                text
            })
            .collect()
    }

    fn to_visitors(&self, id: &ConvId, out: impl Fn() -> Out) {
        let mut subs = self.lock_subs();
        if let Some(list) = subs.visitors.get_mut(id) {
            list.retain(|(_, outbox)| Self::push(outbox, out()));
        }
    }

    /// The deliver frames to forward for `frame` (after any tampering, in test builds).
    fn forwarded(&self, id: &ConvId, frame: &StoredFrame, live: bool) -> Vec<String> {
        #[cfg(feature = "tamper")]
        if let (Some(mode), Kind::Message) = (self.tamper, frame.kind) {
            return crate::tamper::forwarded(mode, &self.held, id, frame, live);
        }
        let _ = live;
        vec![protocol::deliver(id, frame, &frame.data)]
    }

    fn publish(&self, id: &ConvId, org: Option<&str>, agent: Option<&AgentId>, frame: &StoredFrame) {
        let out = || Out::Frame(Box::new((*id, frame.clone())));
        match frame.sender {
            Sender::Visitor => {
                if let (Kind::Hello, None, Some(org)) = (frame.kind, agent, org) {
                    let w = json!({"type": "waiting", "conversation": conv_hex(id), "seq": frame.seq,
                                   "hello": protocol::b64(&frame.data)})
                    .to_string();
                    self.announce_waiting(org, id, w);
                } else if let Some(agent) = agent {
                    self.to_agent(agent, out);
                }
            }
            Sender::Agent => self.to_visitors(id, out),
        }
    }

    /// A committed frame published to this connection: delivered only if its conversation is
    /// synced here, never twice, and never before an earlier frame of the same sender. A
    /// frame whose predecessor has not come through (the publishes of two concurrent posts
    /// can overtake each other) is read from the store with everything before it, in order.
    async fn live(
        &self,
        cursors: &mut Cursors,
        id: ConvId,
        frame: StoredFrame,
    ) -> Result<Vec<String>, FrameError> {
        let Some(&cursor) = cursors.get(&id) else {
            return Ok(Vec::new());
        };
        if frame.seq <= cursor {
            return Ok(Vec::new());
        }
        if frame.prev <= cursor {
            cursors.insert(id, frame.seq);
            return Ok(self.forwarded(&id, &frame, true));
        }
        let sender = frame.sender;
        let frames = self
            .blocking(move |s| s.frames_after(&id, sender, cursor, SYNC_LIMIT))
            .await?;
        if let Some(last) = frames.last() {
            cursors.insert(id, last.seq);
        }
        Ok(frames.iter().flat_map(|f| self.forwarded(&id, f, true)).collect())
    }

    async fn sync(
        &self,
        cursors: &mut Cursors,
        id: ConvId,
        peer: Sender,
        after: u64,
    ) -> Result<Vec<String>, FrameError> {
        // What this connection was sent already it will read (a WebSocket is ordered and
        // reliable; a broken one takes its cursors with it): never send it twice.
        let after = cursors.get(&id).map_or(after, |&c| c.max(after));
        let mut frames = self
            .blocking(move |s| s.frames_after(&id, peer, after, SYNC_PAGE))
            .await?;
        let mut more = frames.len() >= SYNC_PAGE;
        let mut bytes = 0usize;
        if let Some(cut) = frames.iter().position(|f| {
            bytes = bytes.saturating_add(f.data.len());
            bytes > SYNC_PAGE_BYTES
        }) {
            frames.truncate(cut.max(1));
            more = true;
        }
        let last = frames.last().map(|f| f.seq).unwrap_or(after);
        // From here on live frames continue exactly where this sync ends; frames published
        // meanwhile wait in the outbox and are checked against this cursor.
        cursors.insert(id, last);
        let mut out: Vec<String> = frames
            .iter()
            .flat_map(|f| self.forwarded(&id, f, false))
            .collect();
        out.push(
            json!({"type": "synced", "conversation": conv_hex(&id), "seq": last,
                   "more": more})
            .to_string(),
        );
        Ok(out)
    }

    /// Checks that the authenticated agent owns `conversation` (in its organisation).
    async fn agent_conv(&self, agent: &AgentId, conversation: Option<&str>) -> Result<ConvId, FrameError> {
        let id = conversation
            .and_then(parse_conv)
            .ok_or_else(|| FrameError::fatal(Code::BadFrame, "missing or malformed conversation id"))?;
        let conv = self.blocking(move |s| s.conversation(&id)).await?;
        match conv {
            Some(c) if c.org.as_deref() == Some(&*agent.org) && c.agent.as_deref() == Some(&agent.name) => {
                Ok(id)
            }
            _ => Err(FrameError::soft(Code::Forbidden, "not your conversation")),
        }
    }

    async fn handle(
        &self,
        conn: u64,
        auth: &mut Option<Auth>,
        tx: &mut Option<Outbox>,
        cursors: &mut Cursors,
        frame: ClientFrame,
    ) -> Result<Vec<String>, FrameError> {
        let state = auth.clone();
        match (state, frame) {
            (_, ClientFrame::Ping) => Ok(vec![json!({"type": "pong"}).to_string()]),
            (None, ClientFrame::Create) => {
                // The relay-wide cap, counted here (creates in flight can pass it by at most
                // their number; expiry and deletion give room back).
                if self.conversations.fetch_add(1, Ordering::SeqCst) >= self.limits.total_conversations {
                    self.conversations.fetch_sub(1, Ordering::SeqCst);
                    self.metrics.quota_refusals.inc();
                    return Err(FrameError::fatal(
                        Code::QuotaExceeded,
                        "the relay holds as many conversations as it may",
                    ));
                }
                let id: ConvId = random()?;
                let token = protocol::b64(&random::<32>()?);
                let hash = sha256(token.as_bytes());
                self.blocking(move |s| s.create_conversation(&id, &hash, now()))
                    .await?;
                self.subscribe_visitor(conn, id, tx);
                // A new conversation has nothing to sync: live frames flow from the start.
                cursors.insert(id, 0);
                *auth = Some(Auth::Visitor(id));
                info!("conn {conn}: visitor created conversation {}", conv_hex(&id));
                Ok(vec![
                    json!({"type": "created", "conversation": conv_hex(&id), "token": token}).to_string(),
                ])
            }
            (
                None,
                ClientFrame::Resume {
                    conversation,
                    token,
                    after,
                },
            ) => {
                let id = parse_conv(&conversation).ok_or_else(|| {
                    FrameError::fatal(Code::Unauthorized, "unknown conversation or wrong token")
                })?;
                let conv = self.blocking(move |s| s.conversation(&id)).await?;
                let hash = sha256(token.as_bytes());
                let ok = match &conv {
                    Some(c) => bool::from(c.visitor_token_hash.ct_eq(&hash)),
                    None => {
                        let _ = [0u8; 32].ct_eq(&hash);
                        false
                    }
                };
                let conv = match (ok, conv) {
                    (true, Some(c)) => c,
                    _ => {
                        info!("conn {conn}: rejected visitor resume");
                        return Err(FrameError::fatal(
                            Code::Unauthorized,
                            "unknown conversation or wrong token",
                        ));
                    }
                };
                self.subscribe_visitor(conn, id, tx);
                *auth = Some(Auth::Visitor(id));
                info!("conn {conn}: visitor resumed conversation {}", conv_hex(&id));
                let mut out = vec![
                    json!({"type": "ready", "conversation": conv_hex(&id), "assigned": conv.agent.is_some()})
                        .to_string(),
                ];
                out.extend(self.sync(cursors, id, Sender::Agent, after).await?);
                Ok(out)
            }
            (None, ClientFrame::Agent { token }) => {
                let who = self.tenants.login(&token);
                if who.is_some() {
                    self.metrics.logins.inc();
                } else {
                    self.metrics.failed_logins.inc();
                }
                let Some(who) = who else {
                    info!("conn {conn}: rejected agent login");
                    return Err(FrameError::fatal(Code::Unauthorized, "unknown agent token"));
                };
                if let Some(outbox) = tx.take() {
                    let mut subs = self.lock_subs();
                    subs.agents.insert(
                        conn,
                        AgentSub {
                            who: who.clone(),
                            outbox,
                            pending: Vec::new(),
                            told: Default::default(),
                            listing: true,
                            woken: false,
                        },
                    );
                    subs.by_name.entry(who.clone()).or_default().push(conn);
                }
                *auth = Some(Auth::Agent(who.clone()));
                info!("conn {conn}: agent of organisation {} logged in", who.org);
                let me = who.clone();
                let (waiting, assigned) = self
                    .blocking(move |s| Ok((s.waiting(&me.org)?, s.assigned_to(&me.org, &me.name)?)))
                    .await?;
                if let Some(sub) = self.lock_subs().agents.get_mut(&conn) {
                    // From here on `taken` follows what this connection was told.
                    sub.told.extend(waiting.iter().map(|w| w.id));
                    sub.listing = false;
                }
                let mut out =
                    vec![json!({"type": "ready", "agent": who.name, "organisation": &*who.org}).to_string()];
                for (id, last) in assigned {
                    out.push(
                        json!({"type": "assigned", "conversation": conv_hex(&id), "seq": last}).to_string(),
                    );
                }
                for w in waiting {
                    out.push(
                        json!({"type": "waiting", "conversation": conv_hex(&w.id), "seq": w.seq,
                                    "hello": protocol::b64(&w.hello)})
                        .to_string(),
                    );
                }
                Ok(out)
            }
            (None, _) => Err(FrameError::fatal(Code::Unauthorized, "log in first")),
            (Some(_), ClientFrame::Create | ClientFrame::Resume { .. } | ClientFrame::Agent { .. }) => {
                Err(FrameError::fatal(Code::BadFrame, "already logged in"))
            }
            (Some(Auth::Agent(agent)), ClientFrame::Accept { conversation }) => {
                let id = parse_conv(&conversation)
                    .ok_or_else(|| FrameError::fatal(Code::BadFrame, "malformed conversation id"))?;
                let who = agent.clone();
                let result = self
                    .blocking(move |s| {
                        // Another organisation's conversation is answered exactly like an
                        // unknown id: an agent cannot even learn that it exists.
                        if s.conversation(&id)?.and_then(|c| c.org).as_deref() != Some(&*who.org) {
                            return Ok(None);
                        }
                        let mine = s.assign(&id, &who.org, &who.name)?;
                        let hello = if mine { s.latest_hello(&id)? } else { None };
                        Ok(Some((mine, hello)))
                    })
                    .await?;
                match result {
                    None => Err(FrameError::soft(Code::Forbidden, "no such conversation")),
                    Some((false, _)) => Err(FrameError::soft(
                        Code::Taken,
                        "another agent has this conversation",
                    )),
                    Some((true, hello)) => {
                        self.announce_taken(&id, &agent);
                        info!("conn {conn}: agent accepted conversation {}", conv_hex(&id));
                        let (seq, hello) = hello
                            .map(|h| (h.seq, protocol::b64(&h.data)))
                            .unwrap_or((0, String::new()));
                        Ok(vec![json!({"type": "accepted", "conversation": conv_hex(&id), "seq": seq, "hello": hello}).to_string()])
                    }
                }
            }
            (Some(Auth::Agent(agent)), ClientFrame::Delete { conversation }) if agent.admin => {
                let id = parse_conv(&conversation)
                    .ok_or_else(|| FrameError::fatal(Code::BadFrame, "malformed conversation id"))?;
                let org = agent.org.clone();
                if !self.blocking(move |s| s.delete_conversation(&org, &id)).await? {
                    // Unknown and another organisation's look the same.
                    return Err(FrameError::soft(Code::Forbidden, "no such conversation"));
                }
                self.forget(1);
                info!(
                    "conn {conn}: administrator of {} deleted conversation {}",
                    agent.org,
                    conv_hex(&id)
                );
                Ok(vec![
                    json!({"type": "deleted", "conversation": conv_hex(&id)}).to_string()
                ])
            }
            (Some(Auth::Agent(agent)), ClientFrame::DeleteAll) if agent.admin => {
                let org = agent.org.clone();
                let n = self.blocking(move |s| s.delete_organisation(&org)).await?;
                self.forget(n);
                info!(
                    "conn {conn}: administrator of {} deleted all {n} conversations",
                    agent.org
                );
                Ok(vec![
                    json!({"type": "deleted_all", "conversations": n}).to_string()
                ])
            }
            (Some(Auth::Agent(agent)), ClientFrame::Export { after }) if agent.admin => {
                let after = match after.as_deref() {
                    None => [0u8; 16],
                    Some(a) => parse_conv(a)
                        .ok_or_else(|| FrameError::fatal(Code::BadFrame, "malformed conversation id"))?,
                };
                let org = agent.org.clone();
                let page = self
                    .blocking(move |s| s.org_conversations(&org, &after, EXPORT_PAGE))
                    .await?;
                let next = (page.len() >= EXPORT_PAGE)
                    .then(|| page.last().map(|c| conv_hex(&c.id)))
                    .flatten();
                let mut out: Vec<String> = page
                    .iter()
                    .map(|c| {
                        json!({"type": "exported", "conversation": conv_hex(&c.id), "created": c.created,
                               "agent": c.agent, "seq": c.last_seq})
                        .to_string()
                    })
                    .collect();
                out.push(json!({"type": "export_page", "next": next}).to_string());
                Ok(out)
            }
            (Some(Auth::Agent(agent)), ClientFrame::ExportFrames { conversation, after }) if agent.admin => {
                let id = parse_conv(&conversation)
                    .ok_or_else(|| FrameError::fatal(Code::BadFrame, "malformed conversation id"))?;
                let org = agent.org.clone();
                let frames = self
                    .blocking(move |s| s.all_frames_after(&org, &id, after, SYNC_PAGE))
                    .await?;
                let last = frames.last().map_or(after, |f| f.seq);
                let mut out: Vec<String> = frames
                    .iter()
                    .map(|f| protocol::deliver(&id, f, &f.data))
                    .collect();
                out.push(
                    json!({"type": "exported_frames", "conversation": conv_hex(&id), "seq": last,
                           "more": frames.len() >= SYNC_PAGE})
                    .to_string(),
                );
                Ok(out)
            }
            (
                Some(_),
                ClientFrame::Delete { .. }
                | ClientFrame::DeleteAll
                | ClientFrame::Export { .. }
                | ClientFrame::ExportFrames { .. },
            ) => Err(FrameError::soft(
                Code::Forbidden,
                "only an administrator of the organisation exports or deletes its data",
            )),
            (Some(Auth::Visitor(_)), ClientFrame::Accept { .. }) => {
                Err(FrameError::fatal(Code::Forbidden, "visitors cannot accept"))
            }
            (Some(Auth::Visitor(id)), ClientFrame::Sync { conversation, after }) => {
                if conversation.is_some_and(|c| parse_conv(&c) != Some(id)) {
                    return Err(FrameError::fatal(Code::Forbidden, "not your conversation"));
                }
                self.sync(cursors, id, Sender::Agent, after).await
            }
            (Some(Auth::Agent(agent)), ClientFrame::Sync { conversation, after }) => {
                let id = self.agent_conv(&agent, conversation.as_deref()).await?;
                self.sync(cursors, id, Sender::Visitor, after).await
            }
            (
                Some(auth),
                ClientFrame::Post {
                    conversation,
                    kind,
                    data,
                    reference,
                },
            ) => {
                if reference.as_ref().is_some_and(|r| r.len() > 64) {
                    return Err(FrameError::fatal(Code::BadFrame, "ref longer than 64 characters"));
                }
                let kind =
                    Kind::parse(&kind).ok_or_else(|| FrameError::fatal(Code::BadFrame, "unknown kind"))?;
                let bytes = protocol::unb64(&data)
                    .ok_or_else(|| FrameError::fatal(Code::BadFrame, "data is not base64url"))?;
                if bytes.is_empty() {
                    return Err(FrameError::fatal(Code::BadFrame, "empty data"));
                }
                // The sizes of PROTOCOL.md §3.3/§3.4, checked before anything is stored: the
                // relay routes a hello by the organisation key id inside it.
                match kind {
                    Kind::Hello if bytes.first().and_then(|v| hello_len(*v)) != Some(bytes.len()) => {
                        return Err(FrameError::fatal(
                            Code::BadFrame,
                            "a hello is exactly 58 bytes (v1) or 1242 bytes (v2)",
                        ))
                    }
                    Kind::Reply if bytes.len() > MAX_REPLY_LEN => {
                        return Err(FrameError::fatal(Code::BadFrame, "a reply is at most 1470 bytes"))
                    }
                    _ => {}
                }
                let (id, sender, org, agent) = match auth {
                    Auth::Visitor(id) => {
                        if conversation.is_some_and(|c| parse_conv(&c) != Some(id)) {
                            return Err(FrameError::fatal(Code::Forbidden, "not your conversation"));
                        }
                        let conv = self.blocking(move |s| s.conversation(&id)).await?;
                        let (conv_org, agent) = conv.map(|c| (c.org, c.agent)).unwrap_or_default();
                        let org = match kind {
                            Kind::Hello => {
                                let Some(org) = self.tenants.route_hello(&bytes) else {
                                    return Err(FrameError::soft(
                                        Code::Forbidden,
                                        "no such organisation on this relay",
                                    ));
                                };
                                if conv_org.as_deref().is_some_and(|o| *o != *org) {
                                    return Err(FrameError::soft(
                                        Code::Forbidden,
                                        "this conversation belongs to another organisation",
                                    ));
                                }
                                Some(org.to_string())
                            }
                            _ => conv_org,
                        };
                        let agent = match (&org, agent) {
                            (Some(org), Some(name)) => Some(AgentId {
                                org: Arc::from(org.as_str()),
                                name,
                                // Only who it is matters here (equality ignores the role).
                                admin: false,
                            }),
                            _ => None,
                        };
                        match kind {
                            Kind::Hello if agent.is_some() => {
                                return Err(FrameError::soft(
                                    Code::Forbidden,
                                    "an agent already has this conversation",
                                ))
                            }
                            Kind::Reply => {
                                return Err(FrameError::fatal(
                                    Code::Forbidden,
                                    "visitors do not send replies",
                                ))
                            }
                            _ => {}
                        }
                        (id, Sender::Visitor, org, agent)
                    }
                    Auth::Agent(agent) => {
                        let id = self.agent_conv(&agent, conversation.as_deref()).await?;
                        if kind == Kind::Hello {
                            return Err(FrameError::fatal(Code::Forbidden, "agents do not send hellos"));
                        }
                        (id, Sender::Agent, Some(agent.org.to_string()), Some(agent))
                    }
                };
                // Before an agent has the conversation only a short queue (PROTOCOL: the relay
                // protocol in the README): nobody reads it yet, and it is what an anonymous
                // client can make the relay store.
                let l = &self.limits;
                let quota = if agent.is_none() {
                    Quota {
                        frames: l.pre_accept_frames,
                        bytes: l.pre_accept_bytes,
                        org_conversations: l.org_conversations,
                    }
                } else {
                    Quota {
                        frames: l.conv_frames,
                        bytes: l.conv_bytes,
                        org_conversations: l.org_conversations,
                    }
                };
                let appended = self
                    .append(Post {
                        id,
                        sender,
                        kind,
                        data: bytes.clone(),
                        reference: reference.clone(),
                        now: now(),
                        org: org.clone().filter(|_| kind == Kind::Hello),
                        quota,
                    })
                    .await?;
                let (seq, prev) = match appended {
                    Appended::Stored { seq, prev } => (seq, prev),
                    Appended::Duplicate { seq } => {
                        // A resend (its ack was lost): stored and published the first time;
                        // anyone who missed the publish gets it from the store by syncing.
                        info!(
                            "conn {conn}: resent {} seq {seq} in {}",
                            kind.as_str(),
                            conv_hex(&id)
                        );
                        return Ok(vec![ack(&id, seq, reference)]);
                    }
                    Appended::Conflict => {
                        return Err(FrameError::soft(
                            Code::RefReused,
                            "this ref was already used for a different frame",
                        ))
                    }
                    Appended::OtherOrganisation => {
                        return Err(FrameError::soft(
                            Code::Forbidden,
                            "this conversation belongs to another organisation",
                        ))
                    }
                    Appended::QuotaExceeded => {
                        self.metrics.quota_refusals.inc();
                        return Err(FrameError::soft(
                            Code::QuotaExceeded,
                            if agent.is_none() {
                                "no agent has this conversation yet: its queue is full"
                            } else {
                                "this conversation or its organisation is full"
                            },
                        ));
                    }
                    Appended::Gone => {
                        return Err(FrameError::fatal(
                            Code::Unauthorized,
                            "this conversation has expired",
                        ))
                    }
                };
                // Committed: now forward and acknowledge.
                self.metrics.frames_stored.inc();
                info!(
                    "conn {conn}: stored {} seq {seq} ({} bytes) in {}",
                    kind.as_str(),
                    bytes.len(),
                    conv_hex(&id)
                );
                let frame = StoredFrame {
                    seq,
                    prev,
                    sender,
                    kind,
                    data: bytes,
                };
                self.publish(&id, org.as_deref(), agent.as_ref(), &frame);
                #[cfg(feature = "tamper")]
                if self.tamper == Some(Tamper::Replay) && kind == Kind::Message {
                    // Test only: a malicious relay re-sends the envelope under a new number.
                    let appended = self
                        .append(Post {
                            id,
                            sender,
                            kind,
                            data: frame.data.clone(),
                            reference: None,
                            now: now(),
                            org: None,
                            quota: Quota::NONE,
                        })
                        .await?;
                    if let Appended::Stored { seq, prev } = appended {
                        self.publish(
                            &id,
                            org.as_deref(),
                            agent.as_ref(),
                            &StoredFrame { seq, prev, ..frame },
                        );
                    }
                }
                Ok(vec![ack(&id, seq, reference)])
            }
        }
    }

    fn subscribe_visitor(&self, conn: u64, id: ConvId, tx: &mut Option<Outbox>) {
        if let Some(outbox) = tx.take() {
            self.lock_subs()
                .visitors
                .entry(id)
                .or_default()
                .push((conn, outbox));
        }
    }
}
