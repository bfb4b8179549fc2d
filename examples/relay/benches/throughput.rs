//! Relay throughput, delivery latency, memory and setup time (issue #19), against a bare
//! WebSocket echo server driven by the same client in the same run. Not a timed test:
//! `bash examples/relay/bench.sh` runs it; every phase is bounded in time and count and the
//! load goes to 127.0.0.1 only.
//!
//! Each conversation is a visitor connection and an agent connection (one agent name per
//! conversation, so 1 000 conversations are 2 000 connections). Frames are 563 bytes on the
//! wire, like the issue's.
//! * open: all agents log in, then all visitors create a conversation and post a hello at
//!   once; timed until every agent has accepted and synced its conversation (on the echo
//!   server: the same number of connections each echoing one frame).
//! * closed loop: each conversation keeps one frame in flight (the visitor posts the next one
//!   when its agent received the previous one); frames delivered per second.
//! * open loop: each conversation posts 2 frames per second; p50/p99 of post-to-delivery.
//! * RSS of the relay process with every conversation open and idle.
//!
//! With `--org-size M` the relay is multi-tenant (issue #16): the agents form organisations of
//! M agents each (an organisations file with salted token hashes), and each hello is addressed
//! to its agent's organisation, so only that organisation's M agents are told of it. Without,
//! every agent is in the one organisation of a single-tenant relay (and of older relays).
//! The `waiting` notices agents received while opening are counted.
//!
//! Usage: `throughput --relay PATH [--sizes 50,200,1000] [--seconds S] [--org-size M]`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Base64url payload making a 563-byte post frame.
fn payload() -> String {
    "QUFB".repeat(124)
}

fn token(n: usize) -> String {
    format!("bench-token-{n:05}-0123456789abcdef")
}

/// `waiting` notices read by agents (counted while opening).
static WAITING_SEEN: AtomicU64 = AtomicU64::new(0);

/// The organisation public key of organisation `n` (distinct bytes; the relay only hashes it).
fn org_pk(n: usize) -> [u8; 32] {
    let mut pk = [0x5a; 32];
    pk[..8].copy_from_slice(&(n as u64).to_be_bytes());
    pk
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A v1 hello to organisation `org` (PROTOCOL.md §3.2, §3.3), base64url.
fn hello(org: usize) -> String {
    use sha2::Digest;
    let kid = sha2::Sha256::new()
        .chain_update(b"hushwire/v1/org-key-id")
        .chain_update(org_pk(org))
        .finalize();
    let mut h = vec![1u8, 1];
    h.extend([0x42; 16]);
    h.extend(&kid[..8]);
    h.extend([0x17; 32]);
    b64(&h)
}

/// The organisations file's `token_hash` of `token` (the relay's `hash-token` format).
fn token_hash(token: &str, salt: u64) -> String {
    use hmac::Mac;
    let salt = [salt.to_be_bytes(), [0x33; 8]].concat();
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&salt).unwrap();
    mac.update(token.as_bytes());
    format!("hmac-sha256${}${}", b64(&salt), b64(&mac.finalize().into_bytes()))
}

struct Relay {
    child: Child,
    url: String,
}

impl Relay {
    fn start(bin: &str, dir: &std::path::Path, agents: usize, org_size: Option<usize>) -> Relay {
        let mut cmd = Command::new(bin);
        cmd.args(["--bind", "127.0.0.1:0", "--rate-limit", "100000", "--db"])
            .arg(dir.join("bench.sqlite3"))
            // Every connection comes from 127.0.0.1 (an environment variable: older relays,
            // measured as "before", have no such setting and ignore it).
            .env("HUSHWIRE_RELAY_CONNS_PER_ADDR", "1000000")
            .stderr(Stdio::null());
        match org_size {
            Some(m) => {
                let orgs: Vec<Value> = (0..agents.div_ceil(m))
                    .map(|o| {
                        let members: Vec<Value> = (o * m..((o + 1) * m).min(agents))
                            .map(|n| json!({"name": format!("a{n}"), "token_hash": token_hash(&token(n), n as u64)}))
                            .collect();
                        json!({"id": format!("org{o}"), "org_public_key": b64(&org_pk(o)), "agents": members})
                    })
                    .collect();
                let file = dir.join("orgs.json");
                std::fs::write(&file, json!({ "organisations": orgs }).to_string()).unwrap();
                cmd.arg("--orgs").arg(file);
            }
            None => {
                let tokens: Vec<String> = (0..agents).map(|n| format!("a{n}:{}", token(n))).collect();
                cmd.env("HUSHWIRE_AGENT_TOKENS", tokens.join(","));
            }
        }
        let (child, url) = support::listen(cmd);
        Relay { child, url }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bare echo server: every text frame back as it came.
async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_text() && ws.send(m).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("ws://{addr}/")
}

async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .expect("connect");
    ws
}

async fn send(ws: &mut Ws, v: &Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next text frame of type `ty`, skipping others (waiting notices, acks).
async fn until(ws: &mut Ws, ty: &str) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == ty {
                    return v;
                }
                if v["type"] == "waiting" {
                    WAITING_SEEN.fetch_add(1, Ordering::Relaxed);
                }
                if v["type"] == "error" {
                    panic!("relay error {v}");
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("connection ended waiting for {ty}: {other:?}"),
        }
    }
}

/// One conversation's two ends: on the echo server both are the same echoing connection.
#[allow(clippy::large_enum_variant)] // a few thousand of them, once
enum Pair {
    Relay { visitor: Ws, agent: Ws, next_ref: u64 },
    Echo(Ws),
}

impl Pair {
    /// Sends one frame and waits until its peer has it; returns the elapsed time.
    async fn round(&mut self) -> Duration {
        let data = payload();
        match self {
            Pair::Relay {
                visitor,
                agent,
                next_ref,
            } => {
                *next_ref += 1;
                let frame =
                    json!({"type": "post", "kind": "message", "data": data, "ref": format!("r{next_ref}")});
                let start = Instant::now();
                send(visitor, &frame).await;
                until(agent, "deliver").await;
                let took = start.elapsed();
                until(visitor, "ack").await;
                took
            }
            Pair::Echo(ws) => {
                let frame = json!({"type": "post", "kind": "message", "data": data, "ref": "r1"});
                let start = Instant::now();
                send(ws, &frame).await;
                ws.next().await.unwrap().unwrap();
                start.elapsed()
            }
        }
    }
}

async fn open_relay(url: &str, n: usize, org_size: Option<usize>) -> (Vec<Pair>, Duration) {
    let url = Arc::new(url.to_string());
    let mut agents = Vec::new();
    for i in 0..n {
        let mut ws = connect(&url).await;
        send(&mut ws, &json!({"type": "agent", "token": token(i)})).await;
        until(&mut ws, "ready").await;
        agents.push(ws);
    }
    let start = Instant::now();
    let tasks: Vec<_> = agents
        .into_iter()
        .enumerate()
        .map(|(i, mut agent)| {
            let url = url.clone();
            let hello = hello(org_size.map_or(0, |m| i / m));
            tokio::spawn(async move {
                let mut visitor = connect(&url).await;
                send(&mut visitor, &json!({"type": "create"})).await;
                let id = until(&mut visitor, "created").await["conversation"].clone();
                send(
                    &mut visitor,
                    &json!({"type": "post", "kind": "hello", "data": hello, "ref": "h"}),
                )
                .await;
                until(&mut visitor, "ack").await;
                send(&mut agent, &json!({"type": "accept", "conversation": id})).await;
                until(&mut agent, "accepted").await;
                send(
                    &mut agent,
                    &json!({"type": "sync", "conversation": id, "after": 1}),
                )
                .await;
                until(&mut agent, "synced").await;
                Pair::Relay {
                    visitor,
                    agent,
                    next_ref: 0,
                }
            })
        })
        .collect();
    let mut pairs = Vec::new();
    for t in tasks {
        pairs.push(t.await.unwrap());
    }
    (pairs, start.elapsed())
}

async fn open_echo(url: &str, n: usize) -> (Vec<Pair>, Duration) {
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let url = url.to_string();
            tokio::spawn(async move {
                let mut p = Pair::Echo(connect(&url).await);
                p.round().await;
                p
            })
        })
        .collect();
    let mut pairs = Vec::new();
    for t in tasks {
        pairs.push(t.await.unwrap());
    }
    (pairs, start.elapsed())
}

/// Every pair keeps one frame in flight for `secs`; frames per second. Gives the pairs back.
async fn closed_loop(pairs: Vec<Pair>, secs: f64) -> (Vec<Pair>, f64) {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = pairs
        .into_iter()
        .map(|mut p| {
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    p.round().await;
                    n += 1;
                }
                (p, n)
            })
        })
        .collect();
    let start = Instant::now();
    let mut pairs = Vec::new();
    let mut total = 0;
    for t in tasks {
        let (p, n) = t.await.unwrap();
        pairs.push(p);
        total += n;
    }
    (pairs, total as f64 / start.elapsed().as_secs_f64())
}

/// Every pair sends `rate` frames per second for `secs` (staggered starts); latencies in ms.
async fn open_loop(pairs: Vec<Pair>, rate: f64, secs: f64) -> (Vec<Pair>, Vec<f64>) {
    let period = Duration::from_secs_f64(1.0 / rate);
    let count = (secs * rate) as usize;
    let n = pairs.len().max(1);
    let tasks: Vec<_> = pairs
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(
                    tokio::time::Instant::now() + period.mul_f64(i as f64 / n as f64),
                    period,
                );
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut lat = Vec::with_capacity(count);
                for _ in 0..count {
                    tick.tick().await;
                    lat.push(p.round().await.as_secs_f64() * 1000.0);
                }
                (p, lat)
            })
        })
        .collect();
    let mut pairs = Vec::new();
    let mut all = Vec::new();
    for t in tasks {
        let (p, lat) = t.await.unwrap();
        pairs.push(p);
        all.extend(lat);
    }
    all.sort_by(f64::total_cmp);
    (pairs, all)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = arg(&args, "--relay").expect("--relay PATH");
    let secs: f64 = arg(&args, "--seconds").map_or(5.0, |s| s.parse().unwrap());
    let sizes: Vec<usize> = arg(&args, "--sizes")
        .unwrap_or_else(|| "50,200,1000".into())
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let org_size: Option<usize> = arg(&args, "--org-size").map(|s| s.parse().unwrap());
    let echo = echo_server().await;
    println!("| conversations | open: relay s | open: echo s | closed loop: relay frames/s | echo frames/s | ratio | relay RSS idle MiB | RSS per conversation KiB | 2 frames/s: relay p50 ms | p99 ms | echo p99 ms | open: waiting notices |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        let dir = tempfile::tempdir().unwrap();
        let relay = Relay::start(&bin, dir.path(), n, org_size);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let rss_empty = relay.rss_kib();
        WAITING_SEEN.store(0, Ordering::Relaxed);
        let (pairs, open_relay_t) = open_relay(&relay.url, n, org_size).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_idle = relay.rss_kib();
        let (pairs, relay_tput) = closed_loop(pairs, secs).await;
        // Notices still queued after the open are read (and counted) by the closed loop,
        // which itself causes none.
        let waiting_seen = WAITING_SEEN.load(Ordering::Relaxed);
        let (pairs, relay_lat) = if n == *sizes.iter().max().unwrap_or(&n) {
            open_loop(pairs, 2.0, secs).await
        } else {
            (pairs, Vec::new())
        };
        drop(pairs);
        drop(relay);
        let (epairs, open_echo_t) = open_echo(&echo, n).await;
        let (epairs, echo_tput) = closed_loop(epairs, secs).await;
        let (epairs, echo_lat) = if relay_lat.is_empty() {
            (epairs, Vec::new())
        } else {
            open_loop(epairs, 2.0, secs).await
        };
        drop(epairs);
        let per_conv = (rss_idle.saturating_sub(rss_empty)) as f64 / n as f64;
        let lat = |v: &[f64], p| {
            if v.is_empty() {
                "–".to_string()
            } else {
                format!("{:.1}", pct(v, p))
            }
        };
        println!(
            "| {n} | {:.2} | {:.2} | {relay_tput:.0} | {echo_tput:.0} | {:.3} | {:.1} | {per_conv:.0} | {} | {} | {} | {waiting_seen} |",
            open_relay_t.as_secs_f64(),
            open_echo_t.as_secs_f64(),
            relay_tput / echo_tput,
            rss_idle as f64 / 1024.0,
            lat(&relay_lat, 0.5),
            lat(&relay_lat, 0.99),
            lat(&echo_lat, 0.99),
        );
    }
}
