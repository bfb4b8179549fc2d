//! Heap held by sessions, measured with a counting global allocator. Prints a markdown table
//! (`benches/report.sh` includes it). Run: `cargo bench -p hushwire-benches --bench memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};

use hushwire::{Session, SessionId, VisitorHandshake};
use hushwire_benches::{plaintext, Fixture, NOW};

/// Counts live heap bytes (requested sizes) on top of the system allocator.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Bytes a boxed value owns (its inline size plus everything it points to): the live-byte
/// drop when it is freed.
fn owned_bytes<T>(value: T) -> isize {
    let boxed = black_box(Box::new(value));
    let before = live();
    drop(boxed);
    before - live()
}

#[path = "common/olm.rs"]
mod olm;

fn olm_session() -> vodozemac::olm::Session {
    let (mut a, mut b) = olm::olm_pair();
    b.decrypt(&a.encrypt(b"again").unwrap()).unwrap();
    b
}

fn snow_transport() -> snow::TransportState {
    const NX: &str = "Noise_NX_25519_AESGCM_SHA256";
    let key = snow::Builder::new(NX.parse().unwrap())
        .generate_keypair()
        .unwrap();
    let mut init = snow::Builder::new(NX.parse().unwrap()).build_initiator().unwrap();
    let mut resp = snow::Builder::new(NX.parse().unwrap())
        .local_private_key(&key.private)
        .build_responder()
        .unwrap();
    let (mut buf, mut out) = ([0u8; 256], [0u8; 256]);
    let n = init.write_message(&[], &mut buf).unwrap();
    resp.read_message(&buf[..n], &mut out).unwrap();
    let n = resp.write_message(&[], &mut buf).unwrap();
    init.read_message(&buf[..n], &mut out).unwrap();
    drop(init);
    resp.into_transport_mode().unwrap()
}

fn main() {
    let fx = Fixture::new();
    let msg = plaintext(64);
    let mut rows: Vec<(&str, isize)> = Vec::new();

    rows.push((
        "size_of::<Session>() (inline part)",
        std::mem::size_of::<Session>() as isize,
    ));

    let (visitor, agent) = fx.session_pair();
    drop(visitor);
    let idle = owned_bytes(agent);
    rows.push(("hushwire idle session", idle));

    let (mut visitor, mut agent) = fx.session_pair();
    for _ in 0..100 {
        agent.open(&visitor.seal(&msg).unwrap()).unwrap();
        visitor.open(&agent.seal(&msg).unwrap()).unwrap();
    }
    drop(visitor);
    rows.push(("hushwire session after 200 messages in order", owned_bytes(agent)));

    let (mut visitor, mut agent) = fx.session_pair();
    let late: Vec<_> = (0..1000).map(|_| visitor.seal(&msg).unwrap()).collect();
    agent.open(&visitor.seal(&msg).unwrap()).unwrap();
    drop((late, visitor));
    rows.push(("hushwire session holding 1000 skipped keys", owned_bytes(agent)));

    // An agent holding 10,000 open sessions, keyed by session id (the visitors' halves are
    // dropped as they are made).
    let before = live();
    let mut sessions: HashMap<SessionId, Session> = HashMap::with_capacity(10_000);
    for _ in 0..10_000 {
        let (mut hs, hello) = VisitorHandshake::start(&fx.org_public).unwrap();
        let (session, reply) = fx.agent.accept(&hello).unwrap();
        drop(hs.finish_at(&reply, NOW).unwrap());
        sessions.insert(session.session_id(), session);
    }
    rows.push((
        "agent holding 10,000 sessions (HashMap<SessionId, Session>)",
        live() - before,
    ));
    drop(black_box(sessions));

    rows.push((
        "vodozemac Olm session, idle after 3 messages",
        owned_bytes(olm_session()),
    ));
    rows.push(("snow NX TransportState", owned_bytes(snow_transport())));
    let outbound = vodozemac::megolm::GroupSession::new(Default::default());
    let inbound = vodozemac::megolm::InboundGroupSession::new(&outbound.session_key(), Default::default());
    rows.push(("vodozemac Megolm inbound group session", owned_bytes(inbound)));
    rows.push(("vodozemac Megolm outbound group session", owned_bytes(outbound)));

    if std::env::args().any(|a| a == "--tsv") {
        for (name, bytes) in rows {
            println!("{name}\t{bytes}");
        }
        return;
    }
    println!("| memory | bytes |");
    println!("|---|---|");
    for (name, bytes) in rows {
        println!("| {name} | {bytes} B ({:.2} KiB) |", bytes as f64 / 1024.0);
    }
    let verdict = if idle <= 1024 { "met" } else { "MISSED" };
    println!("\nTarget idle session <= 1 KiB: {verdict} ({idle} B).");
}
