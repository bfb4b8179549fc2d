//! Native half of the cross-implementation test (`bindings/wasm/tests/cross.test.mjs`).
//!
//! * `cross start STORAGE_KEY_HEX`: runs a handshake in Rust, has the visitor seal
//!   `hello from rust`, and prints `visitor=EXPORT`, `agent=EXPORT`, `envelope=BASE64URL`.
//! * `cross resume STORAGE_KEY_HEX VISITOR_EXPORT AGENT_EXPORT ENVELOPE_FOR_VISITOR`: imports
//!   both sessions (exported by wasm), opens the envelope as the visitor, prints
//!   `plaintext=TEXT`, then exchanges one more message each way and prints `ok`.
//!
//! * `cross certify AGENT_PUBLIC_HEX AGENT_ID DEVICE_ID NOT_BEFORE NOT_AFTER [ORG_SEED_HEX]`:
//!   the organisation's side, which the npm package deliberately cannot do. Certifies the
//!   agent key with the given organisation seed (or a fresh organisation) and prints
//!   `org_seed=HEX`, `org=BASE64URL` and `certificate=HEX`.
//!
//! Exits non-zero (with the error code on stderr) on any failure.
use hushwire::{AgentIdentity, AgentKey, OrgSigningKey, Session, StorageKey, VisitorHandshake};

fn hex32(hex: &str) -> Result<[u8; 32], String> {
    if hex.len() != 64 || !hex.is_ascii() {
        return Err("expected 64 hex digits".into());
    }
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(k)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_from_hex(hex: &str) -> Result<StorageKey, String> {
    Ok(StorageKey::from_bytes(&hex32(hex)?))
}

fn certify(args: &[String]) -> Result<(), String> {
    let code = |e: hushwire::Error| e.code().to_string();
    let (pk, agent_id, device_id, nb, na, seed) = match args {
        [pk, a, d, nb, na] => (pk, a, d, nb, na, None),
        [pk, a, d, nb, na, seed] => (pk, a, d, nb, na, Some(seed)),
        _ => return Err(
            "usage: cross certify AGENT_PUBLIC_HEX AGENT_ID DEVICE_ID NOT_BEFORE NOT_AFTER [ORG_SEED_HEX]"
                .into(),
        ),
    };
    let org = match seed {
        Some(seed) => OrgSigningKey::from_secret_bytes(&hex32(seed)?),
        None => OrgSigningKey::generate().map_err(code)?,
    };
    let time = |t: &String| t.parse::<u64>().map_err(|e| e.to_string());
    let cert = org
        .certify_agent(&hex32(pk)?, agent_id, device_id, time(nb)?, time(na)?)
        .map_err(code)?;
    println!("org_seed={}", to_hex(org.secret_bytes().as_ref()));
    println!("org={}", org.public_key());
    println!("certificate={}", to_hex(&cert.to_bytes()));
    Ok(())
}

fn run(args: &[String]) -> Result<(), String> {
    let code = |e: hushwire::Error| e.code().to_string();
    match args {
        [cmd, rest @ ..] if cmd == "certify" => certify(rest),
        [cmd, key] if cmd == "start" => {
            let key = key_from_hex(key)?;
            let now = 1_800_000_000;
            let org = OrgSigningKey::generate().map_err(code)?;
            let device = AgentKey::generate().map_err(code)?;
            let cert = org
                .certify_agent(
                    &device.public_key(),
                    "rust-agent",
                    "rust-device",
                    now - 60,
                    now + 86_400,
                )
                .map_err(code)?;
            let agent = AgentIdentity::new(device, cert, &org.public_key()).map_err(code)?;
            let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).map_err(code)?;
            let (agent_session, reply) = agent.accept(&hello).map_err(code)?;
            let mut visitor = hs.finish_at(&reply, now).map_err(code)?;
            let env = visitor.seal(b"hello from rust").map_err(code)?;
            println!("visitor={}", visitor.export(&key).map_err(code)?);
            println!("agent={}", agent_session.export(&key).map_err(code)?);
            println!("envelope={env}");
            println!("safety={}", visitor.safety_code());
            Ok(())
        }
        [cmd, key, v, a, env] if cmd == "resume" => {
            let key = key_from_hex(key)?;
            let mut visitor = Session::import(v, &key).map_err(code)?;
            let mut agent = Session::import(a, &key).map_err(code)?;
            let env = env.parse().map_err(code)?;
            let text = visitor.open(&env).map_err(code)?;
            println!("plaintext={}", String::from_utf8_lossy(&text));
            let e1 = visitor.seal(b"back in rust").map_err(code)?;
            if agent.open(&e1).map_err(code)? != b"back in rust" {
                return Err("agent got the wrong text".into());
            }
            let e2 = agent.seal(b"agent in rust").map_err(code)?;
            if visitor.open(&e2).map_err(code)? != b"agent in rust" {
                return Err("visitor got the wrong text".into());
            }
            println!("ok");
            Ok(())
        }
        _ => {
            Err("usage: cross start KEY | cross resume KEY VISITOR AGENT ENVELOPE | cross certify ...".into())
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
