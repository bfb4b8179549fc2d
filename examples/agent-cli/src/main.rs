//! `hushwire-agent`: organisation admin commands and a terminal agent client.
//!
//! * `init-org --dir D` creates the organisation's signing key (file mode 0600) and prints the
//!   public key the visitor widget pins.
//! * `certify-agent --org-dir D --agent-id A --device-id X [--days N] --out DIR` creates an
//!   agent device key and certificate, and writes the agent identity sealed under a storage
//!   key, the agent's relay token and a public `agent.json`.
//! * `certify --org-dir D --public-key K --agent-id A --device-id X [--days N]` certifies a
//!   device key generated elsewhere (e.g. in the web agent console) and prints the
//!   certificate: the device's secret never leaves the device.
//! * `chat --relay URL --identity DIR` acts as that agent through the relay's WebSocket API.
//!
//! Everything the relay sends is untrusted: conversation ids are checked against the relay's
//! format (32 lowercase hex digits) before they name a file, and text from the relay or the
//! visitor is printed with control characters escaped.

mod transport;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hushwire::{AgentIdentity, AgentKey, Envelope, Hello, OrgSigningKey, Session, StorageKey};
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;

/// Command line.
#[derive(Parser)]
#[command(
    name = "hushwire-agent",
    about = "hushwire organisation admin and terminal agent client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an organisation signing key in DIR and print its public key.
    InitOrg {
        /// Directory for the organisation's key files (created, mode 0700).
        #[arg(long)]
        dir: PathBuf,
    },
    /// Create a new agent device key, certify it and write its identity files.
    CertifyAgent {
        #[command(flatten)]
        cert: CertArgs,
        /// Output directory for the agent's files (created, mode 0700).
        #[arg(long)]
        out: PathBuf,
    },
    /// Certify a device key generated on the device (e.g. the web agent console) and print
    /// the certificate (public, base64url) for the device to import.
    Certify {
        #[command(flatten)]
        cert: CertArgs,
        /// The device's 32-byte X25519 public key, base64url, as the device shows it.
        // base64url text starts with '-' for one key in 64: it is a value, not a flag.
        #[arg(long, allow_hyphen_values = true)]
        public_key: String,
    },
    /// Chat as the agent from a terminal through a relay.
    Chat {
        /// The relay, e.g. `https://relay.example` or `http://127.0.0.1:8080` (plain http/ws only
        /// to loopback).
        #[arg(long)]
        relay: String,
        /// PEM file of the CA (or the self-signed certificate) to trust for an https:// relay,
        /// instead of Mozilla's roots.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The agent directory made by `certify-agent`.
        #[arg(long)]
        identity: PathBuf,
    },
}

/// What every certificate needs: the signing organisation, who it is for, how long.
#[derive(clap::Args)]
struct CertArgs {
    /// The organisation directory made by `init-org`.
    #[arg(long)]
    org_dir: PathBuf,
    /// The agent's id, e.g. an email address (at most 64 bytes).
    #[arg(long)]
    agent_id: String,
    /// The device's id (at most 64 bytes).
    #[arg(long)]
    device_id: String,
    /// Validity of the certificate in days (at most 365 without --dangerous-long-validity).
    /// Certificates cannot be revoked: the validity is how long a stolen device key stays
    /// usable against visitors, and renewing (certifying again) is cheap.
    #[arg(long, default_value_t = DEFAULT_DAYS)]
    days: u64,
    /// Allow --days up to 3650. A device key compromised at any time in those years can
    /// impersonate the agent until the certificate ends; prefer short validity and renewal.
    #[arg(long)]
    dangerous_long_validity: bool,
}

/// Default certificate validity: a quarter, so a lost or compromised device key stops being
/// accepted within three months while renewal stays a rare chore.
const DEFAULT_DAYS: u64 = 90;
/// Largest validity without `--dangerous-long-validity`.
const MAX_DAYS: u64 = 365;
/// Largest validity at all.
const MAX_DANGEROUS_DAYS: u64 = 3650;

type Res<T> = Result<T, String>;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Res<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(s.trim())
        .map_err(|_| "not base64url".to_string())
}

fn hw(e: hushwire::Error) -> String {
    format!("hushwire error {}", e.code())
}

/// Makes a directory for secrets. New directories (and missing parents) are created with
/// mode 0700. An existing one is used only if neither group nor others can access it: it is
/// never chmod-ed behind the user's back (it may be shared on purpose, and files already in it
/// may have leaked), so the user decides.
fn make_dir(dir: &Path) -> Res<()> {
    if !dir.exists() {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        return builder.create(dir).map_err(|e| format!("{}: {e}", dir.display()));
    }
    let meta = fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} exists and is not a directory", dir.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} is accessible to group or others (mode {mode:03o}); it will hold secrets. \
                 Check who could read what is in it, then run `chmod 700 {}` or choose a new directory",
                dir.display(),
                dir.display()
            ));
        }
    }
    Ok(())
}

/// Is `id` a conversation id in the relay's format (32 lowercase hex digits)? Only such ids
/// are used in file names: a malicious relay must not be able to pick a path.
fn valid_conv_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// `text` with every character that could drive the terminal escaped as `\u{..}`: C0
/// controls (ESC starts escape sequences; newlines could forge whole lines), DEL, C1
/// controls, and the bidirectional overrides and isolates that reorder what is displayed.
fn escape_untrusted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let dangerous = c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}');
        if dangerous {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A string field of a JSON object ("" when absent or not a string).
fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or("")
}

/// A number field of a JSON object (0 when absent or not a u64).
fn num(v: &Value, name: &str) -> u64 {
    v.get(name).and_then(Value::as_u64).unwrap_or(0)
}

/// A string field of a relay frame, escaped for printing.
fn shown(v: &Value, field: &str) -> String {
    escape_untrusted(v.get(field).and_then(Value::as_str).unwrap_or("?"))
}

/// Checks the requested validity against the caps; returns (not_before, not_after).
fn validity(cert: &CertArgs) -> Res<(u64, u64)> {
    let cap = if cert.dangerous_long_validity {
        MAX_DANGEROUS_DAYS
    } else {
        MAX_DAYS
    };
    if cert.days == 0 || cert.days > cap {
        return Err(if cert.days > MAX_DAYS && cert.days <= MAX_DANGEROUS_DAYS {
            format!(
                "--days {} is over {MAX_DAYS}: a certificate cannot be revoked, so a stolen device key \
                 stays usable until it ends. Renew instead (certify again), or pass \
                 --dangerous-long-validity if you must",
                cert.days
            )
        } else {
            format!("--days must be 1..={cap}")
        });
    }
    // Five minutes of slack for clocks slightly behind.
    let not_before = now().saturating_sub(300);
    Ok((not_before, now().saturating_add(cert.days * 86_400)))
}

fn load_org(cert: &CertArgs) -> Res<OrgSigningKey> {
    Ok(OrgSigningKey::from_secret_bytes(&read_key32(
        &cert.org_dir.join("org.key"),
    )?))
}

/// Writes a secret file: created with mode 0600 before any byte is written, replaced atomically.
fn write_secret(path: &Path, contents: &str) -> Res<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(contents.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_public(path: &Path, contents: &str) -> Res<()> {
    fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}

fn read(path: &Path) -> Res<String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_key32(path: &Path) -> Res<[u8; 32]> {
    unb64(&read(path)?)?
        .try_into()
        .map_err(|_| format!("{}: not a 32-byte key", path.display()))
}

fn init_org(dir: &Path) -> Res<()> {
    let key_path = dir.join("org.key");
    if key_path.exists() {
        return Err(format!(
            "{} exists; refusing to overwrite an organisation key",
            key_path.display()
        ));
    }
    make_dir(dir)?;
    let org = OrgSigningKey::generate().map_err(hw)?;
    write_secret(&key_path, &b64(&org.secret_bytes()[..]))?;
    let pk = org.public_key().to_string();
    write_public(&dir.join("org.pub"), &format!("{pk}\n"))?;
    write_public(
        &dir.join("org.json"),
        &(json!({"org_public_key": pk}).to_string() + "\n"),
    )?;
    println!("{pk}");
    Ok(())
}

fn certify_agent(cert: &CertArgs, out: &Path) -> Res<()> {
    let (not_before, not_after) = validity(cert)?;
    let org = load_org(cert)?;
    let org_pk = org.public_key();
    let key = AgentKey::generate().map_err(hw)?;
    let certificate = org
        .certify_agent(
            &key.public_key(),
            &cert.agent_id,
            &cert.device_id,
            not_before,
            not_after,
        )
        .map_err(hw)?;
    let cert_b64 = b64(&certificate.to_bytes());
    let identity = AgentIdentity::new(key, certificate, &org_pk).map_err(hw)?;
    let storage = StorageKey::generate().map_err(hw)?;
    let sealed = identity.export(&storage).map_err(hw)?;
    let mut token = [0u8; 32];
    getrandom::getrandom(&mut token).map_err(|_| "no randomness".to_string())?;
    let token = b64(&token);

    make_dir(out)?;
    write_secret(&out.join("identity.sealed"), &sealed)?;
    write_secret(&out.join("storage.key"), &b64(&storage.to_bytes()[..]))?;
    write_secret(&out.join("relay-token"), &token)?;
    let public = json!({
        "agent_id": cert.agent_id,
        "device_id": cert.device_id,
        "org_public_key": org_pk.to_string(),
        "certificate": cert_b64,
        "not_before": not_before,
        "not_after": not_after,
    });
    write_public(
        &out.join("agent.json"),
        &(serde_json::to_string_pretty(&public).unwrap_or_default() + "\n"),
    )?;
    println!(
        "certified {} / {} until {not_after} (unix)",
        cert.agent_id, cert.device_id
    );
    println!(
        "relay flag: --agent-token {}:<contents of {}>",
        cert.agent_id,
        out.join("relay-token").display()
    );
    Ok(())
}

/// Certifies a public key made on the device; prints the certificate alone on stdout (for
/// scripts and pasting) and what was certified on stderr.
fn certify(cert: &CertArgs, public_key: &str) -> Res<()> {
    let key: [u8; 32] = unb64(public_key)
        .map_err(|_| "--public-key: not base64url".to_string())?
        .try_into()
        .map_err(|_| "--public-key: not a 32-byte key".to_string())?;
    let (not_before, not_after) = validity(cert)?;
    let org = load_org(cert)?;
    let certificate = org
        .certify_agent(&key, &cert.agent_id, &cert.device_id, not_before, not_after)
        .map_err(hw)?;
    println!("{}", b64(&certificate.to_bytes()));
    eprintln!(
        "certified key {} as {} / {} until {not_after} (unix), organisation {}",
        b64(&key),
        cert.agent_id,
        cert.device_id,
        org.public_key()
    );
    Ok(())
}

/// One conversation the agent holds a session for.
struct Conv {
    session: Session,
    /// The last visitor frame accepted (the relay's delivery guarantee: each `deliver` must
    /// name it as `prev`).
    seq: u64,
    /// Posts not acknowledged yet, saved with the session that sealed them and resent with
    /// the same `ref` after a reconnect (the relay stores a ref once).
    unacked: Vec<Unacked>,
}

/// A post awaiting its ack.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Unacked {
    #[serde(rename = "ref")]
    reference: String,
    kind: String,
    data: String,
}

impl Unacked {
    /// A new post with a fresh 128-bit random id.
    fn new(kind: &str, data: String) -> Res<Unacked> {
        let mut id = [0u8; 16];
        getrandom::getrandom(&mut id).map_err(|_| "no randomness".to_string())?;
        Ok(Unacked {
            reference: b64(&id),
            kind: kind.to_string(),
            data,
        })
    }

    fn frame(&self, conv: &str) -> Value {
        json!({"type": "post", "conversation": conv, "kind": self.kind, "data": self.data, "ref": self.reference})
    }
}

struct Agent {
    dir: PathBuf,
    identity: AgentIdentity,
    storage: StorageKey,
    convs: HashMap<String, Conv>,
    current: Option<String>,
}

impl Agent {
    fn load(dir: &Path) -> Res<Agent> {
        let storage = StorageKey::from_bytes(&read_key32(&dir.join("storage.key"))?);
        let identity =
            AgentIdentity::import(read(&dir.join("identity.sealed"))?.trim(), &storage).map_err(hw)?;
        let mut agent = Agent {
            dir: dir.to_path_buf(),
            identity,
            storage,
            convs: HashMap::new(),
            current: None,
        };
        let sessions = dir.join("sessions");
        if let Ok(entries) = fs::read_dir(&sessions) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let Some(id) = name.strip_suffix(".json").filter(|id| valid_conv_id(id)) else {
                    continue;
                };
                let v: Value = serde_json::from_str(&read(&e.path())?).map_err(|e| e.to_string())?;
                let session = Session::import(field(&v, "session"), &agent.storage).map_err(hw)?;
                let unacked = match v.get("unacked") {
                    Some(u) => serde_json::from_value(u.clone()).map_err(|e| e.to_string())?,
                    None => Vec::new(),
                };
                agent.convs.insert(
                    id.to_string(),
                    Conv {
                        session,
                        seq: num(&v, "seq"),
                        unacked,
                    },
                );
            }
        }
        Ok(agent)
    }

    fn save(&self, id: &str) -> Res<()> {
        if !valid_conv_id(id) {
            // on_frame never stores such an id; this keeps the file name safe regardless.
            return Err(format!(
                "refusing to save conversation id {}",
                escape_untrusted(id)
            ));
        }
        let Some(c) = self.convs.get(id) else {
            return Ok(());
        };
        let dir = self.dir.join("sessions");
        make_dir(&dir)?;
        let exported = c.session.export(&self.storage).map_err(hw)?;
        write_secret(
            &dir.join(format!("{id}.json")),
            &json!({"session": exported, "seq": c.seq, "unacked": c.unacked}).to_string(),
        )
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn ws_url(relay: &str) -> String {
    let base = relay
        .trim_end_matches('/')
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    if base.ends_with("/ws") {
        base
    } else {
        format!("{base}/ws")
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, v: Value) -> Res<()> {
    ws.send(Message::text(v.to_string()))
        .await
        .map_err(|e| format!("relay: {e}"))
}

/// Handles one frame from the relay; returns frames to send.
fn on_frame(agent: &mut Agent, v: &Value) -> Res<Vec<Value>> {
    let mut out = Vec::new();
    let conv = match v.get("conversation").and_then(Value::as_str) {
        Some(id) if valid_conv_id(id) => id.to_string(),
        None => String::new(),
        Some(_) => {
            // A relay that names a conversation some other way is broken or hostile (the id
            // becomes a file name): ignore the frame.
            println!(
                "WARNING: ignored a {} frame with a malformed conversation id {}",
                shown(v, "type"),
                shown(v, "conversation")
            );
            return Ok(out);
        }
    };
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    let names_conv = matches!(
        kind,
        "waiting" | "assigned" | "accepted" | "deliver" | "taken" | "ack"
    );
    if names_conv && conv.is_empty() {
        println!(
            "WARNING: ignored a {} frame without a conversation id",
            shown(v, "type")
        );
        return Ok(out);
    }
    match kind {
        "ready" => println!("logged in as {}", shown(v, "agent")),
        "waiting" if !agent.convs.contains_key(&conv) => {
            println!("waiting {conv}");
            out.push(json!({"type": "accept", "conversation": conv}));
        }
        "assigned" => {
            if let Some(c) = agent.convs.get(&conv) {
                out.push(json!({"type": "sync", "conversation": conv, "after": c.seq}));
                // Posts whose ack was lost with the connection: same refs, stored once.
                out.extend(c.unacked.iter().map(|p| p.frame(&conv)));
            } else {
                println!("{} no local session for assigned conversation", short(&conv));
            }
        }
        "accepted" => {
            if agent.convs.contains_key(&conv) {
                return Ok(out);
            }
            let hello = unb64(field(v, "hello")).and_then(|b| Hello::from_bytes(&b).map_err(hw));
            let accepted = hello.and_then(|h| agent.identity.accept(&h).map_err(hw));
            match accepted {
                Ok((session, reply)) => {
                    println!("accepted {conv} safety={}", session.safety_code());
                    let seq = num(v, "seq");
                    let post = Unacked::new("reply", b64(&reply.to_bytes()))?;
                    out.push(post.frame(&conv));
                    let unacked = vec![post];
                    agent.convs.insert(
                        conv.clone(),
                        Conv {
                            session,
                            seq,
                            unacked,
                        },
                    );
                    agent.save(&conv)?;
                    agent.current = Some(conv.clone());
                    out.push(json!({"type": "sync", "conversation": conv, "after": seq}));
                }
                Err(e) => println!("{} WARNING: cannot accept ({e})", short(&conv)),
            }
        }
        "deliver" => {
            let seq = num(v, "seq");
            let Some(c) = agent.convs.get_mut(&conv) else {
                return Ok(out);
            };
            if seq <= c.seq {
                return Ok(out); // seen already (cannot happen on one connection)
            }
            if num(v, "prev") != c.seq {
                // The relay delivers in order, so this gap will not fill: say so, go on.
                println!(
                    "{} WARNING: some messages of this conversation never arrived (the relay did not deliver them)",
                    short(&conv)
                );
            }
            if field(v, "kind") == "message" {
                let opened = unb64(field(v, "data"))
                    .and_then(|b| Envelope::from_bytes(&b).map_err(hw))
                    .and_then(|e| c.session.open(&e).map_err(hw));
                match opened {
                    Ok(text) => println!(
                        "{} visitor: {}",
                        short(&conv),
                        escape_untrusted(&String::from_utf8_lossy(&text))
                    ),
                    Err(e) => println!(
                        "{} WARNING: a message failed verification and is not shown ({e})",
                        short(&conv)
                    ),
                }
            }
            c.seq = seq;
            agent.save(&conv)?;
            agent.current = Some(conv);
        }
        "taken" => println!("{} taken by another agent", short(&conv)),
        "ack" => {
            if let Some(c) = agent.convs.get_mut(&conv) {
                let before = c.unacked.len();
                c.unacked.retain(|p| p.reference != field(v, "ref"));
                if c.unacked.len() != before {
                    agent.save(&conv)?;
                }
            }
            println!("sent {} seq={}", short(&conv), num(v, "seq"));
        }
        "synced" => {
            // A sync stops at the relay's limit: continue from where it ended.
            if let Some(c) = agent.convs.get(&conv).filter(|_| v["more"] == true) {
                out.push(json!({"type": "sync", "conversation": conv, "after": c.seq}));
            }
        }
        "pong" => {}
        "error" => {
            println!("relay error {} ({})", shown(v, "code"), shown(v, "message"));
            // A refused post is never stored: stop resending it.
            if let Some(r) = v.get("ref").and_then(Value::as_str) {
                let owner = agent
                    .convs
                    .iter_mut()
                    .find(|(_, c)| c.unacked.iter().any(|p| p.reference == r));
                if let Some((id, c)) = owner {
                    c.unacked.retain(|p| p.reference != r);
                    let id = id.clone();
                    agent.save(&id)?;
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

fn seal_line(agent: &mut Agent, line: &str) -> Res<Option<Value>> {
    if let Some(prefix) = line.strip_prefix("/to ") {
        let found = agent.convs.keys().find(|k| k.starts_with(prefix.trim())).cloned();
        match found {
            Some(id) => {
                println!("talking in {}", short(&id));
                agent.current = Some(id);
            }
            None => println!("no conversation starts with {prefix}"),
        }
        return Ok(None);
    }
    let Some(id) = agent.current.clone() else {
        println!("no conversation yet; line not sent");
        return Ok(None);
    };
    let Some(c) = agent.convs.get_mut(&id) else {
        return Ok(None);
    };
    let envelope = c.session.seal(line.as_bytes()).map_err(hw)?;
    let post = Unacked::new("message", b64(&envelope.to_bytes()))?;
    let frame = post.frame(&id);
    c.unacked.push(post);
    // The ratchet moved and the post awaits its ack: both on disk before sending.
    agent.save(&id)?;
    Ok(Some(frame))
}

async fn chat(relay: &str, dir: &Path, ca: Option<&Path>) -> Res<()> {
    let url = ws_url(relay);
    // Checked before anything else: no token is read for a URL it must not go to.
    let connector = transport::connector(&url, ca)?;
    let mut agent = Agent::load(dir)?;
    let token = read(&dir.join("relay-token"))?.trim().to_string();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut pending: Vec<String> = Vec::new();
    let mut backoff = 1u64;
    loop {
        let connected = tokio_tungstenite::connect_async_tls_with_config(
            url.as_str(),
            None,
            false,
            Some(connector.clone()),
        )
        .await;
        let mut ws = match connected {
            Ok((ws, _)) => ws,
            Err(e) => {
                println!("relay unreachable ({e}); retrying in {backoff} s");
                tokio::time::sleep(std::time::Duration::from_secs(backoff)).await;
                backoff = (backoff * 2).min(10);
                continue;
            }
        };
        backoff = 1;
        send(&mut ws, json!({"type": "agent", "token": token})).await?;
        let ping = tokio::time::interval(std::time::Duration::from_secs(20));
        tokio::pin!(ping);
        loop {
            tokio::select! {
                msg = ws.next() => {
                    let text = match msg {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => continue,
                    };
                    let v: Value = serde_json::from_str(text.as_str()).map_err(|_| "relay sent a malformed frame".to_string())?;
                    if field(&v, "type") == "error" && field(&v, "code") == "UNAUTHORIZED" {
                        return Err("the relay refused this agent's token".into());
                    }
                    for f in on_frame(&mut agent, &v)? {
                        send(&mut ws, f).await?;
                    }
                    if agent.current.is_some() {
                        for line in std::mem::take(&mut pending) {
                            if let Some(f) = seal_line(&mut agent, &line)? { send(&mut ws, f).await?; }
                        }
                    }
                }
                line = lines.next_line(), if stdin_open => match line {
                    Ok(Some(line)) if line.trim().is_empty() => {}
                    Ok(Some(line)) if agent.current.is_none() && !line.starts_with('/') => pending.push(line),
                    Ok(Some(line)) => if let Some(f) = seal_line(&mut agent, &line)? { send(&mut ws, f).await?; },
                    _ => stdin_open = false,
                },
                _ = ping.tick() => { let _ = send(&mut ws, json!({"type": "ping"})).await; }
            }
        }
        println!("disconnected; reconnecting");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::InitOrg { dir } => init_org(&dir),
        Command::CertifyAgent { cert, out } => certify_agent(&cert, &out),
        Command::Certify { cert, public_key } => certify(&cert, &public_key),
        Command::Chat { relay, identity, ca } => {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(chat(&relay, &identity, ca.as_deref())),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hushwire-agent: {e}");
            ExitCode::FAILURE
        }
    }
}
