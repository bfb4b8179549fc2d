//! The relay binary against a real WebSocket client on a free loopback port: garbage,
//! oversized frames, wrong tokens, cross-conversation access, ack-after-commit, restarts,
//! security headers; tamper modes when built with `--features tamper`, and their absence
//! otherwise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const AGENT_TOKEN: &str = "agent-token-0123456789abcdef";

struct Relay {
    child: Child,
    url: String,
    stderr: PathBuf,
}

impl Relay {
    fn start(db: &Path, bind: &str, extra: &[&str]) -> Relay {
        let stderr = db.with_extension(format!("log{}", std::process::id()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr)
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hushwire-relay"))
            .args(["--bind", bind, "--db"])
            .arg(db)
            .args(["--agent-token", &format!("alice:{AGENT_TOKEN}")])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("relay starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap()
            .replace("http://", "ws://")
            + "/ws";
        assert!(url.starts_with("ws://127.0.0.1:"), "unexpected banner {line:?}");
        Relay { child, url, stderr }
    }

    fn port(&self) -> String {
        self.url
            .trim_start_matches("ws://")
            .trim_end_matches("/ws")
            .to_string()
    }

    fn signal(&mut self, sig: &str) {
        let status = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("relay did not stop");
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(relay: &Relay) -> Ws {
    tokio_tungstenite::connect_async(relay.url.as_str())
        .await
        .expect("connect")
        .0
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// Next text frame as JSON, or `None` when the relay closed the connection.
async fn recv(ws: &mut Ws) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("relay answers in time");
        match msg {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

async fn expect(ws: &mut Ws, ty: &str) -> Value {
    let v = recv(ws)
        .await
        .unwrap_or_else(|| panic!("closed while waiting for {ty}"));
    assert_eq!(v["type"], ty, "got {v}");
    v
}

/// Expects an error frame with `code` and then the close.
async fn expect_error_and_close(ws: &mut Ws, code: &str) {
    let v = expect(ws, "error").await;
    assert_eq!(v["code"], code, "got {v}");
    assert!(recv(ws).await.is_none(), "connection should close after {code}");
}

async fn create(relay: &Relay) -> (Ws, String, String) {
    let mut ws = connect(relay).await;
    send(&mut ws, json!({"type": "create"})).await;
    let v = expect(&mut ws, "created").await;
    let id = v["conversation"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    (ws, id, v["token"].as_str().unwrap().to_string())
}

async fn agent(relay: &Relay) -> Ws {
    let mut ws = connect(relay).await;
    send(&mut ws, json!({"type": "agent", "token": AGENT_TOKEN})).await;
    expect(&mut ws, "ready").await;
    ws
}

async fn post(ws: &mut Ws, conv: Option<&str>, kind: &str, data: &str) -> u64 {
    let mut v = json!({"type": "post", "kind": kind, "data": data, "ref": "r1"});
    if let Some(c) = conv {
        v["conversation"] = json!(c);
    }
    send(ws, v).await;
    let ack = expect(ws, "ack").await;
    assert_eq!(ack["ref"], "r1");
    ack["seq"].as_u64().unwrap()
}

/// A healthy visitor still works: the relay survived whatever came before.
async fn still_serving(relay: &Relay) {
    let (mut ws, _, _) = create(relay).await;
    post(&mut ws, None, "hello", "aGVsbG8").await;
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test]
async fn garbage_and_oversized_frames_get_an_error_and_a_close() {
    let dir = tmp();
    let relay = Relay::start(&dir.path().join("r.db"), "127.0.0.1:0", &[]);
    let garbage: Vec<Message> = vec![
        Message::text("not json"),
        Message::text("{\"type\":\"nonsense\"}"),
        Message::text("{\"type\":\"post\",\"kind\":\"message\"}"),
        Message::binary(vec![0u8, 159, 146, 150]),
        Message::text("[1,2,3]"),
    ];
    for g in garbage {
        let mut ws = connect(&relay).await;
        ws.send(g).await.unwrap();
        let v = expect(&mut ws, "error").await;
        assert!(v["code"] == "BAD_FRAME" || v["code"] == "UNAUTHORIZED", "{v}");
        assert!(recv(&mut ws).await.is_none());
    }
    // Garbage after login, and payloads that are not base64url.
    let (mut ws, _, _) = create(&relay).await;
    send(
        &mut ws,
        json!({"type": "post", "kind": "message", "data": "!!not base64!!"}),
    )
    .await;
    expect_error_and_close(&mut ws, "BAD_FRAME").await;
    let (mut ws, _, _) = create(&relay).await;
    send(
        &mut ws,
        json!({"type": "post", "kind": "sticker", "data": "AAAA"}),
    )
    .await;
    expect_error_and_close(&mut ws, "BAD_FRAME").await;
    // Oversized: over the 96 KiB limit but under the WebSocket cap gets TOO_LARGE.
    let (mut ws, _, _) = create(&relay).await;
    let big = "A".repeat(100 * 1024);
    send(&mut ws, json!({"type": "post", "kind": "message", "data": big})).await;
    expect_error_and_close(&mut ws, "TOO_LARGE").await;
    // Far over the cap: the connection is failed; the relay is fine.
    let (mut ws, _, _) = create(&relay).await;
    let _ = ws.send(Message::text("B".repeat(1024 * 1024))).await;
    assert!(recv(&mut ws).await.map(|v| v["type"] == "error").unwrap_or(true));
    // Pseudo-random JSON-ish garbage, after a login: always an error frame, never a crash.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let alphabet = b"{}[]\":,.0123456789abcdefghijklmnopqrstuvwxyz_- \\";
    for _ in 0..40 {
        let (mut ws, _, _) = create(&relay).await;
        let len = (x % 200) as usize + 1;
        let text: String = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize] as char
            })
            .collect();
        ws.send(Message::text(text)).await.unwrap();
        let v = expect(&mut ws, "error").await;
        assert_eq!(v["code"], "BAD_FRAME");
    }
    still_serving(&relay).await;
}

#[tokio::test]
async fn wrong_tokens_and_foreign_conversations_are_refused() {
    let dir = tmp();
    let relay = Relay::start(&dir.path().join("r.db"), "127.0.0.1:0", &[]);
    let (mut a, a_id, a_token) = create(&relay).await;
    post(&mut a, None, "hello", "aGVsbG8tYQ").await;
    let (_b, b_id, b_token) = create(&relay).await;
    assert_ne!(a_id, b_id);
    assert_ne!(a_token, b_token);

    // Visitor B tries A's conversation with B's token, and with a near-miss token.
    for token in [
        b_token.clone(),
        format!("{}x", &a_token[..a_token.len() - 1]),
        String::new(),
    ] {
        let mut ws = connect(&relay).await;
        send(
            &mut ws,
            json!({"type": "resume", "conversation": a_id, "token": token}),
        )
        .await;
        expect_error_and_close(&mut ws, "UNAUTHORIZED").await;
    }
    // A visitor posting into another conversation by naming it.
    let (mut c, _, _) = create(&relay).await;
    send(
        &mut c,
        json!({"type": "post", "conversation": a_id, "kind": "message", "data": "AAAA"}),
    )
    .await;
    expect_error_and_close(&mut c, "FORBIDDEN").await;
    let (mut c, _, _) = create(&relay).await;
    send(&mut c, json!({"type": "sync", "conversation": a_id, "after": 0})).await;
    expect_error_and_close(&mut c, "FORBIDDEN").await;
    // Unknown conversation id, malformed id.
    let mut ws = connect(&relay).await;
    send(
        &mut ws,
        json!({"type": "resume", "conversation": "00000000000000000000000000000000", "token": a_token}),
    )
    .await;
    expect_error_and_close(&mut ws, "UNAUTHORIZED").await;
    // Wrong agent token; frames before login.
    let mut ws = connect(&relay).await;
    send(
        &mut ws,
        json!({"type": "agent", "token": "agent-token-0123456789abcdeX"}),
    )
    .await;
    expect_error_and_close(&mut ws, "UNAUTHORIZED").await;
    let mut ws = connect(&relay).await;
    send(
        &mut ws,
        json!({"type": "post", "kind": "message", "data": "AAAA"}),
    )
    .await;
    expect_error_and_close(&mut ws, "UNAUTHORIZED").await;
    // Visitors cannot accept or send replies.
    let (mut v, _, _) = create(&relay).await;
    send(&mut v, json!({"type": "accept", "conversation": a_id})).await;
    expect_error_and_close(&mut v, "FORBIDDEN").await;

    // An agent cannot read or post into a conversation it has not accepted.
    let mut ag = agent(&relay).await;
    send(&mut ag, json!({"type": "sync", "conversation": a_id, "after": 0})).await;
    assert_eq!(expect(&mut ag, "waiting").await["conversation"], a_id);
    assert_eq!(expect(&mut ag, "error").await["code"], "FORBIDDEN");
    // The right visitor still gets in.
    let mut ws = connect(&relay).await;
    send(
        &mut ws,
        json!({"type": "resume", "conversation": a_id, "token": a_token}),
    )
    .await;
    expect(&mut ws, "ready").await;
    expect(&mut ws, "synced").await;
    still_serving(&relay).await;
}

#[tokio::test]
async fn routes_between_visitor_and_agent_and_rate_limits() {
    let dir = tmp();
    let relay = Relay::start(&dir.path().join("r.db"), "127.0.0.1:0", &["--rate-limit", "10"]);
    let mut ag = agent(&relay).await;
    let (mut v, id, _) = create(&relay).await;
    post(&mut v, None, "hello", "SEVMTE8").await;
    let w = expect(&mut ag, "waiting").await;
    assert_eq!(
        (w["conversation"].as_str(), w["hello"].as_str()),
        (Some(id.as_str()), Some("SEVMTE8"))
    );
    send(&mut ag, json!({"type": "accept", "conversation": id})).await;
    let acc = expect(&mut ag, "accepted").await;
    assert_eq!(acc["hello"], "SEVMTE8");
    // A second login (another device of the same agent) sees it as assigned ...
    let mut other = agent(&relay).await;
    send(&mut other, json!({"type": "accept", "conversation": id})).await;
    let v2 = expect(&mut other, "assigned").await; // same agent name: it is listed as theirs
    assert_eq!(v2["conversation"], id);
    // ... but accepting again is refused: a conversation is accepted exactly once.
    assert_eq!(expect(&mut other, "error").await["code"], "TAKEN");
    post(&mut ag, Some(&id), "reply", "UkVQTFk").await;
    let d = expect(&mut v, "deliver").await;
    assert_eq!(
        (d["kind"].as_str(), d["data"].as_str(), d["from"].as_str()),
        (Some("reply"), Some("UkVQTFk"), Some("agent"))
    );
    post(&mut v, None, "message", "TVNHMQ").await;
    let d = expect(&mut ag, "deliver").await;
    assert_eq!(d["data"], "TVNHMQ");
    // A visitor may not send a new hello once an agent has the conversation (soft error).
    send(
        &mut v,
        json!({"type": "post", "kind": "hello", "data": "AAAA", "ref": "x"}),
    )
    .await;
    let e = expect(&mut v, "error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("FORBIDDEN"), Some("x"))
    );
    // Flooding: at most 2 × 10 frames in a burst, then RATE_LIMITED and a close.
    let (mut flood, _, _) = create(&relay).await;
    for _ in 0..200 {
        if flood.send(Message::text("{\"type\":\"ping\"}")).await.is_err() {
            break;
        }
    }
    let mut pongs = 0;
    loop {
        let f = recv(&mut flood).await.expect("error frame before close");
        if f["type"] == "pong" {
            pongs += 1;
            continue;
        }
        assert_eq!(f["code"], "RATE_LIMITED");
        break;
    }
    assert!((19..=25).contains(&pongs), "{pongs} pongs");
    still_serving(&relay).await;
}

#[tokio::test]
async fn acked_messages_survive_a_kill_and_history_survives_restarts() {
    let dir = tmp();
    let db = dir.path().join("r.db");
    let mut relay = Relay::start(&db, "127.0.0.1:0", &[]);
    let mut ag = agent(&relay).await;
    let (mut v, id, token) = create(&relay).await;
    post(&mut v, None, "hello", "SEVMTE8").await;
    expect(&mut ag, "waiting").await;
    send(&mut ag, json!({"type": "accept", "conversation": id})).await;
    expect(&mut ag, "accepted").await;
    let mut acked = Vec::new();
    for i in 0..20u32 {
        acked.push((
            post(&mut ag, Some(&id), "message", &format!("TVNH{i:04}")).await,
            format!("TVNH{i:04}"),
        ));
    }
    // SIGKILL right after the last ack: every acked frame must be on disk.
    relay.signal("KILL");
    relay.wait();
    let relay = Relay::start(&db, "127.0.0.1:0", &[]);
    let mut v = connect(&relay).await;
    send(
        &mut v,
        json!({"type": "resume", "conversation": id, "token": token, "after": 0}),
    )
    .await;
    let ready = expect(&mut v, "ready").await;
    assert_eq!(ready["assigned"], true);
    for (seq, data) in &acked {
        let d = expect(&mut v, "deliver").await;
        assert_eq!(
            (d["seq"].as_u64(), d["data"].as_str()),
            (Some(*seq), Some(data.as_str()))
        );
    }
    assert_eq!(
        expect(&mut v, "synced").await["seq"].as_u64(),
        Some(acked.last().unwrap().0)
    );
    // Resuming from a later point only sends the rest.
    send(&mut v, json!({"type": "sync", "after": acked[17].0})).await;
    assert_eq!(expect(&mut v, "deliver").await["seq"].as_u64(), Some(acked[18].0));
    // The agent's assignment survived too.
    let mut ag = agent(&relay).await;
    let a = expect(&mut ag, "assigned").await;
    assert_eq!(a["conversation"], id);
    drop(relay);
}

#[tokio::test]
async fn sigterm_closes_connections_and_exits_cleanly() {
    let dir = tmp();
    let db = dir.path().join("r.db");
    let mut relay = Relay::start(&db, "127.0.0.1:0", &[]);
    let (mut v, id, token) = create(&relay).await;
    let seq = post(&mut v, None, "hello", "SEVMTE8").await;
    relay.signal("TERM");
    assert!(recv(&mut v).await.is_none(), "connection closed on shutdown");
    assert!(relay.wait().success(), "clean exit");
    let log = std::fs::read_to_string(&relay.stderr).unwrap();
    assert!(log.contains("stopped"), "{log}");
    let port = relay.port();
    drop(relay);
    // Same port, same database.
    let relay = Relay::start(&db, &port, &[]);
    let mut v = connect(&relay).await;
    send(
        &mut v,
        json!({"type": "resume", "conversation": id, "token": token}),
    )
    .await;
    expect(&mut v, "ready").await;
    let mut ag = agent(&relay).await;
    let w = expect(&mut ag, "waiting").await;
    assert_eq!(
        (w["conversation"].as_str(), w["seq"].as_u64()),
        (Some(id.as_str()), Some(seq))
    );
}

#[tokio::test]
async fn logs_never_contain_payloads_and_the_frame_log_records_frames() {
    let dir = tmp();
    let db = dir.path().join("r.db");
    let frames = dir.path().join("frames.log");
    let relay = Relay::start(&db, "127.0.0.1:0", &["--frame-log", frames.to_str().unwrap()]);
    let (mut ag, mut v, _) = accepted_pair(&relay).await;
    post(&mut v, None, "message", "UEFZTE9BRE1BUktFUg").await; // "PAYLOADMARKER"
    let d = expect(&mut ag, "deliver").await;
    assert_eq!(d["data"], "UEFZTE9BRE1BUktFUg", "forwarded unchanged");
    drop(relay);
    let log = std::fs::read_to_string(dir.path().join(format!("r.log{}", std::process::id()))).unwrap();
    assert!(
        !log.contains("UEFZTE9BRE1BUktFUg"),
        "stderr log carries no payload"
    );
    assert!(!log.contains("TEST MODE"), "no tamper mode unless asked for");
    assert!(
        std::fs::read_to_string(&frames)
            .unwrap()
            .contains("UEFZTE9BRE1BUktFUg"),
        "frame log records frames"
    );
}

/// One HTTP/1.1 GET on a fresh connection; returns the status line and lower-cased headers.
async fn http_get(relay: &Relay, path: &str) -> (String, Vec<(String, String)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(relay.port()).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        relay.port()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    let head = text.split("\r\n\r\n").next().unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

#[tokio::test]
async fn every_response_carries_a_strict_csp_nosniff_and_no_framing() {
    let dir = tmp();
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("index.html"), "<!doctype html><p>hi</p>").unwrap();
    std::fs::write(site.join("app.js"), "export {};").unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(pkg.join("x.wasm"), [0u8, 0x61, 0x73, 0x6d]).unwrap();
    let mount = format!("/pkg={}", pkg.display());
    let relay = Relay::start(
        &dir.path().join("r.db"),
        "127.0.0.1:0",
        &["--static", site.to_str().unwrap(), "--mount", &mount],
    );
    for (path, code) in [
        ("/index.html", "200"),
        ("/app.js", "200"),
        ("/pkg/x.wasm", "200"),
        ("/missing.html", "404"),
        ("/healthz", "200"),
    ] {
        let (status, headers) = http_get(&relay, path).await;
        assert!(status.contains(code), "{path}: {status}");
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{path}: no {name} header"))
        };
        let csp = get("content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: CSP {csp:?} lacks {directive}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
            "{csp}"
        );
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert_eq!(get("referrer-policy"), "no-referrer", "{path}");
    }
}

/// The release configuration (no `tamper` feature) has no way to turn tampering on.
#[cfg(not(feature = "tamper"))]
#[test]
fn without_the_tamper_feature_the_flag_is_refused() {
    let dir = tmp();
    let out = Command::new(env!("CARGO_BIN_EXE_hushwire-relay"))
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("r.db"))
        .args(["--tamper", "flip-byte"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "--tamper accepted");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--tamper"), "{stderr}");
    assert!(out.stdout.is_empty(), "relay started: {:?}", out.stdout);
}

#[cfg(feature = "tamper")]
#[tokio::test]
async fn flip_byte_tamper_mode_alters_only_forwarding() {
    let dir = tmp();
    let relay = Relay::start(
        &dir.path().join("r.db"),
        "127.0.0.1:0",
        &["--tamper", "flip-byte"],
    );
    let (mut ag, mut v, id) = accepted_pair(&relay).await;
    post(&mut v, None, "message", "UEFZTE9BRE1BUktFUg").await;
    let d = expect(&mut ag, "deliver").await;
    assert_ne!(
        d["data"], "UEFZTE9BRE1BUktFUg",
        "flip-byte changed the forwarded bytes"
    );
    assert_eq!(d["conversation"], id.as_str());
}

/// Sets up an accepted conversation; returns (agent, visitor, id).
async fn accepted_pair(relay: &Relay) -> (Ws, Ws, String) {
    let mut ag = agent(relay).await;
    let (mut v, id, _) = create(relay).await;
    post(&mut v, None, "hello", "SEVMTE8").await;
    expect(&mut ag, "waiting").await;
    send(&mut ag, json!({"type": "accept", "conversation": id})).await;
    expect(&mut ag, "accepted").await;
    (ag, v, id)
}

#[cfg(feature = "tamper")]
#[tokio::test]
async fn replay_and_reorder_tamper_modes() {
    let dir = tmp();
    let relay = Relay::start(&dir.path().join("r.db"), "127.0.0.1:0", &["--tamper", "replay"]);
    let (mut ag, mut v, _) = accepted_pair(&relay).await;
    post(&mut v, None, "message", "T05F").await;
    let (a, b) = (expect(&mut ag, "deliver").await, expect(&mut ag, "deliver").await);
    assert_eq!(
        (a["data"].as_str(), b["data"].as_str()),
        (Some("T05F"), Some("T05F"))
    );
    assert!(
        b["seq"].as_u64() > a["seq"].as_u64(),
        "the copy has a fresh sequence number"
    );
    drop(relay);

    let relay = Relay::start(&dir.path().join("r2.db"), "127.0.0.1:0", &["--tamper", "reorder"]);
    let (mut ag, mut v, _) = accepted_pair(&relay).await;
    post(&mut v, None, "message", "Rklyc3Q").await;
    post(&mut v, None, "message", "U2Vjb25k").await;
    let (a, b) = (expect(&mut ag, "deliver").await, expect(&mut ag, "deliver").await);
    assert!(a["seq"].as_u64() < b["seq"].as_u64());
    assert_eq!(
        (a["data"].as_str(), b["data"].as_str()),
        (Some("U2Vjb25k"), Some("Rklyc3Q"))
    );
}
