//! End to end without a browser: `init-org`, `certify-agent`, the relay binary, `chat` as the
//! agent, and a Rust visitor speaking the relay protocol. Needs the relay binary built first
//! (`cargo build -p hushwire-relay`; examples/relay/test.sh does it), found next to this
//! test's target directory or at $HUSHWIRE_RELAY_BIN.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hushwire::{Envelope, OrgPublicKey, Reply, VisitorHandshake};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn relay_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HUSHWIRE_RELAY_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("hushwire-relay");
    assert!(
        p.exists(),
        "build the relay first: cargo build -p hushwire-relay ({})",
        p.display()
    );
    p
}

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hushwire-agent"))
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_relay(db: &Path, bind: &str, token: &str, log: &Path) -> (Proc, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut child = Command::new(relay_bin())
        .args(["--bind", bind, "--db"])
        .arg(db)
        .env("HUSHWIRE_AGENT_TOKENS", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    (Proc(child), url)
}

/// The agent CLI with its stdout lines arriving on a channel.
struct Agent {
    _proc: Proc,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Agent {
    fn start(url: &str, dir: &Path) -> Agent {
        Agent::start_with(url, dir, &[])
    }

    /// With extra `chat` flags.
    fn start_with(url: &str, dir: &Path, extra: &[&std::ffi::OsStr]) -> Agent {
        let mut child = cli()
            .args(["chat", "--relay", url, "--identity"])
            .arg(dir)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Agent {
            _proc: Proc(child),
            stdin,
            lines,
        }
    }

    fn wait_for(&self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(15))
                .unwrap_or_else(|_| panic!("agent never printed {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn say(&mut self, text: &str) {
        writeln!(self.stdin, "{text}").unwrap();
        self.stdin.flush().unwrap();
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next(ws: &mut Ws, ty: &str) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("frame in time");
        if let Some(Ok(Message::Text(t))) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == ty {
                return v;
            }
        } else if !matches!(msg, Some(Ok(_))) {
            panic!("closed while waiting for {ty}");
        }
    }
}

/// The next text frame, whatever its type.
async fn next_any(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("frame in time");
        match msg {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
            Some(Ok(_)) => {}
            _ => panic!("closed while waiting for a frame"),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(format!("{}/ws", url.replace("http://", "ws://")))
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn agent_cli_chats_with_a_visitor_across_relay_and_cli_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let org_dir = dir.path().join("org");
    let agent_dir = dir.path().join("agent");
    let out = cli().args(["init-org", "--dir"]).arg(&org_dir).output().unwrap();
    assert!(out.status.success());
    let org_pk: OrgPublicKey = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    // Refuses to overwrite.
    assert!(!cli()
        .args(["init-org", "--dir"])
        .arg(&org_dir)
        .output()
        .unwrap()
        .status
        .success());
    let status = cli()
        .args(["certify-agent", "--org-dir"])
        .arg(&org_dir)
        .args([
            "--agent-id",
            "alice@shop.example",
            "--device-id",
            "cli-1",
            "--days",
            "2",
            "--out",
        ])
        .arg(&agent_dir)
        .status()
        .unwrap();
    assert!(status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for secret in [
            "org/org.key",
            "agent/identity.sealed",
            "agent/storage.key",
            "agent/relay-token",
        ] {
            let mode = std::fs::metadata(dir.path().join(secret))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{secret}");
        }
    }
    let public: Value =
        serde_json::from_str(&std::fs::read_to_string(agent_dir.join("agent.json")).unwrap()).unwrap();
    assert_eq!(public["org_public_key"], org_pk.to_string());
    assert!(public.get("storage_key").is_none() && public.get("identity").is_none());
    assert!(
        !agent_dir.join("agent-console.json").exists(),
        "no file bundles the identity with its storage key"
    );

    let token = format!(
        "alice@shop.example:{}",
        std::fs::read_to_string(agent_dir.join("relay-token"))
            .unwrap()
            .trim()
    );
    let db = dir.path().join("relay.db");
    let log = dir.path().join("relay.log");
    let (relay, url) = start_relay(&db, "127.0.0.1:0", &token, &log);
    let mut agent = Agent::start(&url, &agent_dir);
    agent.wait_for("logged in as alice@shop.example");

    // The visitor.
    let mut ws = connect(&url).await;
    send(&mut ws, json!({"type": "create"})).await;
    let created = next(&mut ws, "created").await;
    let (conv, vtoken) = (
        created["conversation"].as_str().unwrap().to_string(),
        created["token"].as_str().unwrap().to_string(),
    );
    let (mut hs, hello) = VisitorHandshake::start(&org_pk).unwrap();
    send(
        &mut ws,
        json!({"type": "post", "kind": "hello", "data": hello.to_string()}),
    )
    .await;
    let accepted = agent.wait_for(&format!("accepted {conv}"));
    let d = next(&mut ws, "deliver").await;
    assert_eq!(d["kind"], "reply");
    let reply: Reply = d["data"].as_str().unwrap().parse().unwrap();
    let mut session = hs.finish(&reply).unwrap();
    assert!(
        accepted.ends_with(&format!("safety={}", session.safety_code())),
        "{accepted}"
    );
    assert_eq!(session.agent_id(), "alice@shop.example");

    let env = session.seal(b"VISITOR-MARKER-one").unwrap();
    send(
        &mut ws,
        json!({"type": "post", "kind": "message", "data": env.to_string()}),
    )
    .await;
    agent.wait_for("visitor: VISITOR-MARKER-one");
    agent.say("AGENT-MARKER-one");
    let d = next(&mut ws, "deliver").await;
    let mut last_seq = d["seq"].as_u64().unwrap();
    let env: Envelope = d["data"].as_str().unwrap().parse().unwrap();
    assert_eq!(session.open(&env).unwrap(), b"AGENT-MARKER-one");

    // Restart the relay on the same port; the CLI reconnects on its own.
    let port = url.trim_start_matches("http://").to_string();
    drop(relay);
    drop(ws);
    let (relay, _) = start_relay(&db, &port, &token, &log);
    agent.wait_for("logged in as");
    // The agent CLI restarts too: its sessions come back from disk.
    drop(agent);
    let mut agent = Agent::start(&url, &agent_dir);
    agent.wait_for("logged in as");
    let mut ws = connect(&url).await;
    send(
        &mut ws,
        json!({"type": "resume", "conversation": conv, "token": vtoken, "after": last_seq}),
    )
    .await;
    next(&mut ws, "synced").await;
    let env = session.seal(b"VISITOR-MARKER-two").unwrap();
    send(
        &mut ws,
        json!({"type": "post", "kind": "message", "data": env.to_string()}),
    )
    .await;
    agent.wait_for("visitor: VISITOR-MARKER-two");
    agent.say("AGENT-MARKER-two");
    let d = next(&mut ws, "deliver").await;
    assert!(d["seq"].as_u64().unwrap() > last_seq);
    last_seq = d["seq"].as_u64().unwrap();
    let env: Envelope = d["data"].as_str().unwrap().parse().unwrap();
    assert_eq!(session.open(&env).unwrap(), b"AGENT-MARKER-two");

    // A replayed envelope from the relay: the CLI warns instead of printing it.
    send(
        &mut ws,
        json!({"type": "post", "kind": "message", "data": env.to_string()}),
    )
    .await;
    agent.wait_for("WARNING");

    // Issue #20: a post the relay never acknowledged is resent after the reconnect with the
    // same ref. The relay is frozen (SIGSTOP) so the line cannot be acked, the CLI saves it
    // as unacked, the relay dies (SIGKILL) and comes back on the same database and port.
    let relay_pid = relay.0.id().to_string();
    let signal = |sig: &str| {
        assert!(Command::new("kill")
            .args(["-s", sig, &relay_pid])
            .status()
            .unwrap()
            .success());
    };
    signal("STOP");
    agent.say("AGENT-MARKER-three");
    let session_file = agent_dir.join("sessions").join(format!("{conv}.json"));
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(&session_file).unwrap()).unwrap();
        if saved["unacked"].as_array().is_some_and(|u| !u.is_empty()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the CLI never saved its unacked post"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    signal("KILL");
    drop(relay);
    drop(ws);
    let (relay, _) = start_relay(&db, &port, &token, &log);
    agent.wait_for("logged in as");
    agent.wait_for("sent ");
    let mut ws = connect(&url).await;
    send(
        &mut ws,
        json!({"type": "resume", "conversation": conv, "token": vtoken, "after": last_seq}),
    )
    .await;
    let mut delivered = Vec::new();
    loop {
        let v = next_any(&mut ws).await;
        match v["type"].as_str() {
            Some("deliver") => delivered.push(v),
            Some("synced") => break,
            _ => {}
        }
    }
    assert_eq!(
        delivered.len(),
        1,
        "the resent line is stored once: {delivered:?}"
    );
    let env: Envelope = delivered[0]["data"].as_str().unwrap().parse().unwrap();
    assert_eq!(session.open(&env).unwrap(), b"AGENT-MARKER-three");
    assert_eq!(
        delivered[0]["prev"].as_u64(),
        Some(last_seq),
        "no gap in the agent's chain"
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&session_file).unwrap()).unwrap();
    assert_eq!(saved["unacked"], json!([]), "acked posts are forgotten");
    drop(relay);

    // Neither the database nor the relay's log holds any plaintext.
    let mut stored = std::fs::read(&db).unwrap();
    for side in ["-wal", "-shm"] {
        stored.extend(std::fs::read(format!("{}{side}", db.display())).unwrap_or_default());
    }
    stored.extend(std::fs::read(&log).unwrap());
    for marker in ["VISITOR-MARKER", "AGENT-MARKER"] {
        assert!(
            !stored.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} leaked"
        );
    }
}

/// Issue #16: the CLI logs in over `wss://` to a TLS relay, trusting only the CA file given
/// with `--ca` (here the relay's self-signed certificate from `hushwire-relay gen-cert`), and
/// refuses plain `ws://` to anything but loopback before reading its token.
#[test]
fn agent_cli_logs_in_over_wss_with_a_given_ca_and_refuses_plain_ws_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let org_dir = dir.path().join("org");
    let agent_dir = dir.path().join("agent");
    assert!(cli()
        .args(["init-org", "--dir"])
        .arg(&org_dir)
        .output()
        .unwrap()
        .status
        .success());
    let status = cli()
        .args(["certify-agent", "--org-dir"])
        .arg(&org_dir)
        .args([
            "--agent-id",
            "alice@shop.example",
            "--device-id",
            "cli-tls",
            "--out",
        ])
        .arg(&agent_dir)
        .status()
        .unwrap();
    assert!(status.success());
    let tls = dir.path().join("tls");
    assert!(Command::new(relay_bin())
        .args(["gen-cert", "--out"])
        .arg(&tls)
        .status()
        .unwrap()
        .success());
    let token = format!(
        "alice@shop.example:{}",
        std::fs::read_to_string(agent_dir.join("relay-token"))
            .unwrap()
            .trim()
    );
    let log = dir.path().join("relay.log");
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut child = Command::new(relay_bin())
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("relay.db"))
        .arg("--tls-cert")
        .arg(tls.join("cert.pem"))
        .arg("--tls-key")
        .arg(tls.join("key.pem"))
        .env("HUSHWIRE_AGENT_TOKENS", &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _relay = Proc(child);
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    // The certificate names localhost.
    let url = url.replace("127.0.0.1", "localhost");
    let ca = tls.join("cert.pem");
    let agent = Agent::start_with(&url, &agent_dir, &["--ca".as_ref(), ca.as_os_str()]);
    agent.wait_for("logged in as alice@shop.example");
    // Plain ws:// off loopback: refused at once, with no connection attempt.
    let out = cli()
        .args(["chat", "--relay", "http://192.0.2.1:8080", "--identity"])
        .arg(&agent_dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing plain ws://"));
}
