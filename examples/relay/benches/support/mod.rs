//! Shared by the relay's benchmarks and integration tests: starting a relay binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Spawns `cmd` (a relay with its flags) and waits for its banner; returns the process and
/// its WebSocket URL (`ws://127.0.0.1:PORT/ws`, or `wss://` for a relay serving TLS).
pub fn listen(mut cmd: Command) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("relay starts");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out).read_line(&mut line).expect("relay banner");
    }
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .replace("https://", "wss://")
        .replace("http://", "ws://")
        + "/ws";
    assert!(
        url.starts_with("ws://127.0.0.1:") || url.starts_with("wss://127.0.0.1:"),
        "unexpected banner {line:?}"
    );
    (child, url)
}
