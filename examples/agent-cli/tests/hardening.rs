//! The agent CLI is safe to point at an untrusted relay and to run as an admin tool:
//! conversation ids from the relay never choose a file path, text from the relay or the visitor
//! cannot drive the terminal, secret directories are never silently chmod-ed, certificate
//! validity is capped, and `certify` signs a key made on another device.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use hushwire::{AgentCertificate, AgentIdentity, AgentKey, OrgPublicKey, Reply, VisitorHandshake};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message;

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hushwire-agent"))
}

fn run(args: &[&str], paths: &[(&str, &Path)]) -> Output {
    let mut c = cli();
    c.args(args);
    for (flag, p) in paths {
        c.arg(flag).arg(p);
    }
    c.output().unwrap()
}

fn init_org(dir: &Path) -> OrgPublicKey {
    let out = run(&["init-org"], &[("--dir", dir)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

fn certify_agent(org: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "certify-agent",
        "--agent-id",
        "alice@shop.example",
        "--device-id",
        "d1",
    ];
    args.extend_from_slice(extra);
    run(&args, &[("--org-dir", org), ("--out", out)])
}

/// `certify` of `public_key` for alice@shop.example / web, plus `extra` flags.
fn certify(org: &Path, public_key: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "certify",
        "--agent-id",
        "alice@shop.example",
        "--device-id",
        "web",
        "--public-key",
        public_key,
    ];
    args.extend_from_slice(extra);
    run(&args, &[("--org-dir", org)])
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

type ServerWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn send(ws: &mut ServerWs, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

async fn next_frame(ws: &mut ServerWs) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("the CLI answers in time")
            .expect("the CLI stays connected")
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

#[tokio::test]
async fn a_malicious_relay_can_neither_choose_file_paths_nor_inject_terminal_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let org_dir = dir.path().join("org");
    let agent_dir = dir.path().join("deep/agent");
    let org_pk = init_org(&org_dir);
    assert!(certify_agent(&org_dir, &agent_dir, &[]).status.success());
    let before: Vec<PathBuf> = files_under(dir.path());

    // A hostile relay on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hushwire-agent"))
        .args(["chat", "--relay", &url, "--identity"])
        .arg(&agent_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(15), listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    assert_eq!(next_frame(&mut ws).await["type"], "agent");
    send(
        &mut ws,
        json!({"type": "ready", "agent": "\u{1b}]0;owned\u{7}mallory\u{202e}"}),
    )
    .await;

    let absolute = format!("{}/absolute", dir.path().display());
    let long = "a".repeat(33);
    let upper = "ABCDEF0123456789ABCDEF0123456789".to_string();
    let non_hex = "g".repeat(32);
    let bad_ids = [
        "../../pwned",
        "../../../../../../tmp/hushwire-pwned",
        "a/b",
        absolute.as_str(),
        long.as_str(),
        upper.as_str(),
        non_hex.as_str(),
        "",
        "0123456789abcdef0123456789abcde\n",
    ];
    for id in bad_ids {
        // A genuine hello each time, so only the id stands between the relay and a file write.
        let (_hs, hello) = VisitorHandshake::start(&org_pk).unwrap();
        send(
            &mut ws,
            json!({"type": "waiting", "conversation": id, "seq": 1, "hello": hello.to_string()}),
        )
        .await;
        send(
            &mut ws,
            json!({"type": "accepted", "conversation": id, "seq": 1, "hello": hello.to_string()}),
        )
        .await;
    }
    // Then a well-formed conversation whose visitor sends terminal escapes.
    let good = "0123456789abcdef0123456789abcdef";
    let (mut hs, hello) = VisitorHandshake::start(&org_pk).unwrap();
    send(
        &mut ws,
        json!({"type": "accepted", "conversation": good, "seq": 1, "hello": hello.to_string()}),
    )
    .await;
    let reply = loop {
        let f = next_frame(&mut ws).await;
        assert_ne!(
            f["type"], "accept",
            "the CLI accepted a malformed conversation id: {f}"
        );
        if f["type"] == "post" {
            assert_eq!(f["conversation"], good, "{f}");
            assert_eq!(f["kind"], "reply");
            break f["data"].as_str().unwrap().parse::<Reply>().unwrap();
        }
    };
    let mut session = hs.finish(&reply).unwrap();
    let evil = "\u{1b}[2J\u{1b}[31mRED\u{9b}31m\u{7f}\u{202e}txt\u{2066}x\u{2069}\rFAKE";
    let env = session.seal(evil.as_bytes()).unwrap();
    send(&mut ws, json!({"type": "deliver", "conversation": good, "seq": 2, "from": "visitor", "kind": "message", "data": env.to_string()})).await;
    send(
        &mut ws,
        json!({"type": "error", "code": "\u{1b}[5mBLINK", "message": "line\nforged line"}),
    )
    .await;
    send(&mut ws, json!({"type": "taken", "conversation": "END-MARKER"})).await;

    // Read the CLI's output up to the last warning (for the END-MARKER frame).
    let mut stdout = child.stdout.take().unwrap();
    let mut raw = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !String::from_utf8_lossy(&raw).contains("END-MARKER") {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline, stdout.read(&mut buf))
            .await
            .expect("CLI output in time")
            .unwrap();
        assert!(n > 0, "CLI exited: {}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&buf[..n]);
    }
    drop(ws);
    let _ = child.kill().await;
    let text = String::from_utf8(raw).unwrap();

    // Nothing the terminal would interpret: no C0 (but newline), DEL, C1 or bidi controls.
    for c in text.chars() {
        assert!(
            c == '\n'
                || !(c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)),
            "raw {c:?} in CLI output:\n{text}"
        );
    }
    assert!(
        text.contains("logged in as \\u{1b}]0;owned\\u{7}mallory\\u{202e}"),
        "{text}"
    );
    assert!(
        text.contains(
            "visitor: \\u{1b}[2J\\u{1b}[31mRED\\u{9b}31m\\u{7f}\\u{202e}txt\\u{2066}x\\u{2069}\\u{d}FAKE"
        ),
        "{text}"
    );
    assert!(
        text.contains("relay error \\u{1b}[5mBLINK (line\\u{a}forged line)"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("forged line")), "{text}");
    assert_eq!(
        text.matches("malformed conversation id").count(),
        2 * bad_ids.len() + 1, // waiting + accepted for each, and the END-MARKER frame
        "{text}"
    );

    // The only new file is the well-formed conversation's session.
    let after = files_under(dir.path());
    let new: Vec<_> = after.iter().filter(|p| !before.contains(p)).collect();
    assert_eq!(new, [&agent_dir.join(format!("sessions/{good}.json"))], "{text}");
    assert!(!Path::new("/tmp/hushwire-pwned.json").exists());
}

#[test]
fn certificate_validity_defaults_to_90_days_and_is_capped_at_365_unless_dangerous() {
    let dir = tempfile::tempdir().unwrap();
    let org = dir.path().join("org");
    init_org(&org);
    let validity = |out: &Path| {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("agent.json")).unwrap()).unwrap();
        (v["not_after"].as_u64().unwrap() - v["not_before"].as_u64().unwrap() - 300) / 86_400
    };
    let a = dir.path().join("a");
    assert!(certify_agent(&org, &a, &[]).status.success());
    assert_eq!(validity(&a), 90);
    let b = dir.path().join("b");
    assert!(certify_agent(&org, &b, &["--days", "365"]).status.success());
    assert_eq!(validity(&b), 365);

    let c = dir.path().join("c");
    let out = certify_agent(&org, &c, &["--days", "366"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--dangerous-long-validity"),
        "{err}"
    );
    assert!(!c.exists(), "nothing written for a refused certificate");
    let out = certify_agent(&org, &c, &["--days", "3650", "--dangerous-long-validity"]);
    assert!(out.status.success());
    assert_eq!(validity(&c), 3650);
    for days in ["0", "3651"] {
        let d = dir.path().join(format!("d{days}"));
        let out = certify_agent(&org, &d, &["--days", days, "--dangerous-long-validity"]);
        assert!(!out.status.success(), "--days {days}");
    }
    // The same rules for `certify`; the help says why.
    let key = URL_SAFE_NO_PAD.encode(AgentKey::generate().unwrap().public_key());
    assert!(!certify(&org, &key, &["--days", "400"]).status.success());
    let help = String::from_utf8(cli().args(["certify", "--help"]).output().unwrap().stdout).unwrap();
    assert!(
        help.contains("stolen device key") && help.contains("[default: 90]"),
        "{help}"
    );
}

#[test]
fn certify_signs_a_device_key_made_elsewhere_and_prints_only_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let org = dir.path().join("org");
    let org_pk = init_org(&org);
    let key = AgentKey::generate().unwrap();
    let public = URL_SAFE_NO_PAD.encode(key.public_key());
    let out = certify(&org, &public, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let cert = AgentCertificate::from_bytes(&URL_SAFE_NO_PAD.decode(stdout.trim()).unwrap()).unwrap();
    assert_eq!(cert.agent_id(), "alice@shop.example");
    assert_eq!(cert.public_key(), key.public_key());
    AgentIdentity::new(key, cert, &org_pk).unwrap();

    // One base64url key in 64 starts with '-': still a key, not a flag. (A real key: the
    // certifier refuses non-canonical and small-order ones.)
    let dash = (0..100_000)
        .map(|_| URL_SAFE_NO_PAD.encode(AgentKey::generate().unwrap().public_key()))
        .find(|k| k.starts_with('-'))
        .unwrap();
    let out = certify(&org, &dash, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    for bad in ["not base64!", "AAAA", &URL_SAFE_NO_PAD.encode([7u8; 33])] {
        let out = certify(&org, bad, &[]);
        assert!(!out.status.success() && out.stdout.is_empty(), "{bad}");
    }
}

#[cfg(unix)]
#[test]
fn secret_directories_are_created_0700_and_existing_open_ones_refused_not_chmod_ed() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();

    let nested = dir.path().join("new/parent/org");
    init_org(&nested);
    assert_eq!(mode(&nested), 0o700);
    assert_eq!(mode(&dir.path().join("new/parent")), 0o700);

    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o750)).unwrap();
    let out = run(&["init-org"], &[("--dir", &shared)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("chmod 700"), "{err}");
    assert_eq!(mode(&shared), 0o750, "left as it was");
    assert!(!shared.join("org.key").exists());

    let private = dir.path().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    init_org(&private);
    assert!(private.join("org.key").exists());
}
