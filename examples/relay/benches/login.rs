//! Login latency and a reconnect herd against a relay binary with many stored frames (issue
//! #18). Not a timed test: `bash examples/relay/bench.sh` runs it against this build and,
//! when given one, an older relay binary, and writes `examples/relay/BENCH.md`.
//!
//! The database is written directly in the original (version 0) schema, which every relay
//! version opens (newer ones migrate it on open, before they listen; the migration time is
//! reported separately). Layout: 50 agents with 20 assigned conversations each (1 000 in
//! all), 50 conversations waiting with a hello, and the frames spread evenly over the
//! assigned conversations, 96-byte payloads.
//!
//! Usage: `login [--relay PATH] [--frames N,N,...] [--logins N]`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use futures_util::{SinkExt, StreamExt};
use rusqlite::{params, Connection};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const AGENTS: usize = 50;
const PER_AGENT: usize = 20;
const WAITING: usize = 50;

fn token(agent: usize) -> String {
    format!("bench-token-{agent:02}-0123456789abcdef")
}

fn populate(path: &Path, frames: usize) {
    let mut conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE conversations (id BLOB PRIMARY KEY, visitor_token_hash BLOB NOT NULL,
            agent TEXT, last_seq INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
         CREATE TABLE frames (conversation BLOB NOT NULL REFERENCES conversations(id),
            seq INTEGER NOT NULL, sender TEXT NOT NULL, kind TEXT NOT NULL, data BLOB NOT NULL,
            created INTEGER NOT NULL, PRIMARY KEY (conversation, seq));",
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut conv = tx
            .prepare("INSERT INTO conversations VALUES (?1, ?2, ?3, ?4, ?5)")
            .unwrap();
        let mut frame = tx
            .prepare("INSERT INTO frames VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .unwrap();
        let assigned = AGENTS * PER_AGENT;
        let per_conv = frames.saturating_sub(assigned + WAITING) / assigned;
        let data = [0x5au8; 96];
        for c in 0..assigned + WAITING {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(c as u64).to_be_bytes());
            id[8] = 0xbe;
            let waiting = c >= assigned;
            let n = if waiting { 1 } else { 1 + per_conv };
            let agent = (!waiting).then(|| format!("agent{:02}", c % AGENTS));
            conv.execute(params![&id[..], &[0u8; 32][..], agent, n as i64, c as i64])
                .unwrap();
            frame
                .execute(params![&id[..], 1, "visitor", "hello", &data[..], c as i64])
                .unwrap();
            for seq in 2..=n {
                let (sender, kind) = match seq {
                    2 => ("agent", "reply"),
                    s if s % 2 == 0 => ("agent", "message"),
                    _ => ("visitor", "message"),
                };
                frame
                    .execute(params![&id[..], seq as i64, sender, kind, &data[..], c as i64])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
}

struct Relay {
    child: Child,
    url: String,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the relay and returns it with the time until it listened (open + migration).
fn start(bin: &Path, db: &Path, bind: &str) -> (Relay, Duration) {
    let tokens: Vec<String> = (0..AGENTS).map(|a| format!("agent{a:02}:{}", token(a))).collect();
    let t0 = Instant::now();
    let mut cmd = Command::new(bin);
    cmd.args(["--bind", bind, "--db"])
        .arg(db)
        .args(["--rate-limit", "10000"])
        .env("HUSHWIRE_AGENT_TOKENS", tokens.join(","))
        .env("HUSHWIRE_RELAY_CONNS_PER_ADDR", "1000000")
        .stderr(Stdio::null());
    let (child, url) = support::listen(cmd);
    (Relay { child, url }, t0.elapsed())
}

/// One agent login, until the last `assigned` and `waiting` frame has arrived.
async fn login(url: &str, agent: usize) -> Duration {
    let t0 = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Message::text(
        json!({"type": "agent", "token": token(agent)}).to_string(),
    ))
    .await
    .unwrap();
    let mut left = 1 + PER_AGENT + WAITING;
    while left > 0 {
        match tokio::time::timeout(Duration::from_secs(600), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                match v["type"].as_str() {
                    Some("ready" | "assigned" | "waiting") => left -= 1,
                    _ => panic!("unexpected {v}"),
                }
            }
            other => panic!("login failed: {other:?}"),
        }
    }
    t0.elapsed()
}

/// A visitor posting `n` messages one after another while the herd logs in: each post's time
/// until its ack (posts share the store with logins).
async fn posts_during(url: &str, n: usize) -> Vec<Duration> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let next = async |ws: &mut tokio_tungstenite::WebSocketStream<_>| -> Value {
        match tokio::time::timeout(Duration::from_secs(600), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(t.as_str()).unwrap(),
            other => panic!("visitor failed: {other:?}"),
        }
    };
    ws.send(Message::text(json!({"type": "create"}).to_string()))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await["type"], "created");
    let mut out = Vec::new();
    for i in 0..n {
        let t0 = Instant::now();
        let frame = json!({"type": "post", "kind": "message", "data": "TUVTU0FHRQ", "ref": format!("p{i}")});
        ws.send(Message::text(frame.to_string())).await.unwrap();
        assert_eq!(next(&mut ws).await["type"], "ack");
        out.push(t0.elapsed());
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut relay_bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_hushwire-relay"));
    let mut sizes = vec![10_000usize, 100_000, 1_000_000];
    let mut logins = 20usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--relay" => relay_bin = args.next().unwrap().into(),
            "--frames" => {
                sizes = args
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|s| s.parse().unwrap())
                    .collect()
            }
            "--logins" => logins = args.next().unwrap().parse().unwrap(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| frames stored | relay start (open, migrate) ms | login median ms | login p90 ms | login max ms | herd of {AGENTS}: median ms | herd: last ms | post ack during herd: median ms | max ms |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for frames in sizes {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("bench.sqlite3");
        populate(&db, frames);
        let (relay, started) = start(&relay_bin, &db, "127.0.0.1:0");
        // Warm-up login, then sequential logins of agent 0.
        rt.block_on(login(&relay.url, 0));
        let mut times: Vec<Duration> = (0..logins)
            .map(|i| rt.block_on(login(&relay.url, i % AGENTS)))
            .collect();
        times.sort();
        // The herd: restart on the same database and port, then all agents at once.
        let port = relay
            .url
            .trim_start_matches("ws://")
            .trim_end_matches("/ws")
            .to_string();
        drop(relay);
        let (relay, _) = start(&relay_bin, &db, &port);
        let url = relay.url.clone();
        let (mut herd, mut posts): (Vec<Duration>, Vec<Duration>) = rt.block_on(async {
            let poster = {
                let url = url.clone();
                tokio::spawn(async move { posts_during(&url, 10).await })
            };
            let tasks: Vec<_> = (0..AGENTS)
                .map(|a| {
                    let url = url.clone();
                    tokio::spawn(async move { login(&url, a).await })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            (out, poster.await.unwrap())
        });
        herd.sort();
        posts.sort();
        drop(relay);
        println!(
            "| {frames} | {} | {} | {} | {} | {} | {} | {} | {} |",
            ms(started),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.9)),
            ms(times[times.len() - 1]),
            ms(percentile(&herd, 0.5)),
            ms(herd[herd.len() - 1]),
            ms(percentile(&posts, 0.5)),
            ms(posts[posts.len() - 1]),
        );
    }
}
