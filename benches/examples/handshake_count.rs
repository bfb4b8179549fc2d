//! Instruction counts of one handshake, for `valgrind --tool=callgrind` (timings on the shared
//! machine swing by ±20 %; instruction counts do not):
//!
//! ```text
//! cargo build --release -p hushwire-benches --example handshake_count
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/handshake_count v2 100
//! ```
//!
//! The first argument is `v2`, `v1` or `snow` (snow's Noise NX plus the same strict Ed25519
//! verification of a certificate-sized payload), the second the number of handshakes; take the
//! difference of two counts (e.g. 101 − 1 handshakes) to remove the setup.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hushwire::VisitorHandshake;
use hushwire_benches::{Fixture, NOW};
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "v2".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let fx = Fixture::new();
    let nx = "Noise_NX_25519_AESGCM_SHA256";
    let responder_static = snow::Builder::new(nx.parse().unwrap())
        .generate_keypair()
        .unwrap();
    let org = SigningKey::from_bytes(&[7u8; 32]);
    let org_pk = org.verifying_key().to_bytes();
    let cert_len = fx.agent.certificate().to_bytes().len();
    let mut cert = vec![0x42u8; cert_len - 64];
    let sig = org.sign(&cert);
    cert.extend_from_slice(&sig.to_bytes());
    for _ in 0..n {
        match which.as_str() {
            "v1" | "v2" => {
                let version = if which == "v1" { 1 } else { 2 };
                let (mut hs, hello) = VisitorHandshake::start_with_version(&fx.org_public, version).unwrap();
                let (agent, reply) = fx.agent.accept(&hello).unwrap();
                black_box((hs.finish_at(&reply, NOW).unwrap(), agent));
            }
            _ => {
                let (mut buf, mut payload) = ([0u8; 1024], [0u8; 1024]);
                let mut init = snow::Builder::new(nx.parse().unwrap()).build_initiator().unwrap();
                let mut resp = snow::Builder::new(nx.parse().unwrap())
                    .local_private_key(&responder_static.private)
                    .build_responder()
                    .unwrap();
                let len = init.write_message(&[], &mut buf).unwrap();
                resp.read_message(&buf[..len], &mut payload).unwrap();
                let len = resp.write_message(&cert, &mut buf).unwrap();
                let m = init.read_message(&buf[..len], &mut payload).unwrap();
                let key = VerifyingKey::from_bytes(&org_pk).unwrap();
                let sig = ed25519_dalek::Signature::from_slice(&payload[m - 64..m]).unwrap();
                key.verify_strict(&payload[..m - 64], &sig).unwrap();
                black_box((
                    init.into_transport_mode().unwrap(),
                    resp.into_transport_mode().unwrap(),
                ));
            }
        }
    }
}
