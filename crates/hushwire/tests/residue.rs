//! Secrets really are erased (docs/PROTOCOL.md §2, §6.2): after a conversation with
//! out-of-order delivery, evictions, exports and a refused message, no message key, chain key
//! or storage key survives in freed heap blocks, and no used key survives in live memory.
//!
//! A recording global allocator copies every block the test thread frees into a static arena
//! (before `System` gets it back) and tracks the test thread's live blocks. The key patterns
//! are derived into static, non-heap storage, so the test itself leaves no copy in the memory
//! it scans. Its own binary, so the allocator affects nothing else.
//!
//! Only the heap is checked. Stack residue (copies of keys in frames that have returned) is
//! out of reach of safe Rust and of this test.
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicUsize, Ordering};

use hmac::{Hmac, Mac};
use hushwire::{
    testing, AgentIdentity, AgentKey, Error, OrgSigningKey, Session, SessionConfig, StorageKey,
    VisitorHandshake,
};
use sha2::Sha256;

// ---------------------------------------------------------------------------------------------
// The recording allocator.

/// Freed blocks are appended here: `len: u64 (native endian) || bytes`.
const ARENA_LEN: usize = 256 << 20;
/// Live blocks of the test thread: an open-addressing table of `(address, size)`.
const LIVE_SLOTS: usize = 1 << 18;
const TOMBSTONE: usize = usize::MAX;

struct Shared<T>(UnsafeCell<T>);
// Only the test thread (the one with `RECORDING` set) touches the contents.
unsafe impl<T> Sync for Shared<T> {}

static ARENA: Shared<[u8; ARENA_LEN]> = Shared(UnsafeCell::new([0; ARENA_LEN]));
static ARENA_USED: AtomicUsize = AtomicUsize::new(0);
static ARENA_OVERFLOW: AtomicUsize = AtomicUsize::new(0);
static LIVE: Shared<[(usize, usize); LIVE_SLOTS]> = Shared(UnsafeCell::new([(0, 0); LIVE_SLOTS]));
static LIVE_OVERFLOW: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

fn recording() -> bool {
    RECORDING.try_with(Cell::get).unwrap_or(false)
}

fn set_recording(on: bool) {
    RECORDING.with(|r| r.set(on));
}

fn slot_of(addr: usize) -> usize {
    (addr >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) % LIVE_SLOTS
}

/// Safety: test thread only.
unsafe fn live_insert(addr: usize, size: usize) {
    let table = &mut *LIVE.0.get();
    let mut i = slot_of(addr);
    for _ in 0..LIVE_SLOTS {
        let (a, _) = table[i];
        if a == 0 || a == TOMBSTONE {
            table[i] = (addr, size);
            return;
        }
        i = (i + 1) % LIVE_SLOTS;
    }
    LIVE_OVERFLOW.fetch_add(1, Ordering::Relaxed);
}

/// Safety: test thread only.
unsafe fn live_remove(addr: usize) {
    let table = &mut *LIVE.0.get();
    let mut i = slot_of(addr);
    for _ in 0..LIVE_SLOTS {
        match table[i].0 {
            0 => return,
            a if a == addr => {
                table[i] = (TOMBSTONE, 0);
                return;
            }
            _ => i = (i + 1) % LIVE_SLOTS,
        }
    }
}

struct Recorder;

unsafe impl GlobalAlloc for Recorder {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() && recording() {
            live_insert(p as usize, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if recording() {
            live_remove(ptr as usize);
            let size = layout.size();
            let at = ARENA_USED.load(Ordering::Relaxed);
            if at + 8 + size <= ARENA_LEN {
                let arena = (*ARENA.0.get()).as_mut_ptr().add(at);
                core::ptr::copy_nonoverlapping((size as u64).to_ne_bytes().as_ptr(), arena, 8);
                core::ptr::copy_nonoverlapping(ptr, arena.add(8), size);
                ARENA_USED.store(at + 8 + size, Ordering::Relaxed);
            } else {
                ARENA_OVERFLOW.fetch_add(size, Ordering::Relaxed);
            }
        }
        System.dealloc(ptr, layout)
    }
    // `realloc` keeps the default (alloc, copy, dealloc), so a secret buffer that grows
    // leaves its old block in the record, as it would with a moving allocator.
}

#[global_allocator]
static GLOBAL: Recorder = Recorder;

// ---------------------------------------------------------------------------------------------
// Patterns: the key material that must not survive, in static storage.

const MAX_PATTERNS: usize = 640;
/// Keys derived per chain direction.
const CHAIN_DEPTH: usize = 120;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    ChainKey,
    MessageKey,
    StorageKey,
    RefusedPlaintext,
}

struct Patterns {
    bytes: [[u8; 32]; MAX_PATTERNS],
    kind: [Option<Kind>; MAX_PATTERNS],
    /// `(direction, index)` for chain and message keys.
    place: [(u8, u16); MAX_PATTERNS],
    len: usize,
}

static PATTERNS: Shared<Patterns> = Shared(UnsafeCell::new(Patterns {
    bytes: [[0; 32]; MAX_PATTERNS],
    kind: [None; MAX_PATTERNS],
    place: [(0, 0); MAX_PATTERNS],
    len: 0,
}));

fn patterns() -> &'static mut Patterns {
    // Safety: only the single test of this binary uses it.
    unsafe { &mut *PATTERNS.0.get() }
}

fn add_pattern(kind: Kind, place: (u8, u16), bytes: &[u8; 32]) {
    let p = patterns();
    p.bytes[p.len] = *bytes;
    p.kind[p.len] = Some(kind);
    p.place[p.len] = place;
    p.len += 1;
}

/// `(message key, next chain key)` from a chain key (the ratchet's KDF_CK), on the stack.
fn kdf_ck(ck: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let mac = |byte: u8| -> [u8; 32] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(ck).unwrap();
        m.update(&[byte]);
        m.finalize().into_bytes().into()
    };
    (mac(1), mac(2))
}

/// Register chain keys `0..=CHAIN_DEPTH` and message keys `0..CHAIN_DEPTH` of one direction.
fn add_chain(direction: u8, first: &[u8; 32]) {
    add_chain_to(direction, first, CHAIN_DEPTH);
}

/// Register `depth` chain and message keys from `first` (v2's many short chains).
fn add_chain_to(direction: u8, first: &[u8; 32], depth: usize) {
    let mut ck = *first;
    for i in 0..depth {
        add_pattern(Kind::ChainKey, (direction, i as u16), &ck);
        let (mk, next) = kdf_ck(&ck);
        add_pattern(Kind::MessageKey, (direction, i as u16), &mk);
        ck = next;
    }
    add_pattern(Kind::ChainKey, (direction, depth as u16), &ck);
}

// ---------------------------------------------------------------------------------------------
// Scanning. A pattern counts as found where either 16-byte half of it occurs.

#[derive(Default, Debug)]
struct Found {
    /// Occurrences per kind (each is 16 bytes of key material).
    hits: [usize; 4],
    /// Distinct patterns found.
    distinct: usize,
}

impl Found {
    fn bytes(&self) -> usize {
        self.hits.iter().sum::<usize>() * 16
    }
    fn none(&self) -> bool {
        self.distinct == 0
    }
}

/// The scan's index of 8-byte pattern prefixes: static, so that neither the heap nor the
/// stack being measured holds it.
static INDEX: Shared<[(u64, usize, usize); 2 * MAX_PATTERNS]> =
    Shared(UnsafeCell::new([(0, 0, 0); 2 * MAX_PATTERNS]));

/// Scan `blocks` for the patterns `which` selects. Nothing allocated holds key bytes.
fn scan<'a>(blocks: impl Iterator<Item = &'a [u8]>, which: impl Fn(usize) -> bool) -> Found {
    let p = patterns();
    // Safety: only the single test of this binary uses it.
    let index = unsafe { &mut *INDEX.0.get() };
    let mut n = 0;
    for i in (0..p.len).filter(|&i| which(i)) {
        for half in 0..2 {
            let prefix = u64::from_ne_bytes(p.bytes[i][16 * half..16 * half + 8].try_into().unwrap());
            index[n] = (prefix, i, half);
            n += 1;
        }
    }
    let index = &mut index[..n];
    index.sort_unstable();
    let mut seen = [false; MAX_PATTERNS];
    let mut found = Found::default();
    for block in blocks {
        for window in block.windows(16) {
            let prefix = u64::from_ne_bytes(window[..8].try_into().unwrap());
            let start = index.partition_point(|e| e.0 < prefix);
            for &(q, i, half) in &index[start..] {
                if q != prefix {
                    break;
                }
                if window == &p.bytes[i][16 * half..16 * half + 16] {
                    found.hits[p.kind[i].unwrap() as usize] += 1;
                    if !seen[i] {
                        seen[i] = true;
                        found.distinct += 1;
                    }
                }
            }
        }
    }
    found
}

/// The blocks the test thread freed so far.
/// How far below the current frame the stack is measured. The scan's own frames land in the
/// top of the window; they hold no key bytes (the index is static), they only overwrite
/// some dead ones.
const STACK_WINDOW: usize = 512 << 10;
const STACK_SKIP: usize = 0;

/// Key material left in the test thread's stack below the caller's frame, where the frames
/// of returned calls (the library's included) left their locals. Measured and printed, not
/// asserted: safe Rust cannot wipe copies the compiler makes when moving values.
#[inline(never)]
fn scan_stack_below() -> Found {
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    // Safety: test threads have 2 MiB stacks and this runs a few frames below the test's, so
    // the window is mapped stack memory (bytes of dead frames; read, never written).
    let window =
        unsafe { std::slice::from_raw_parts((here - STACK_WINDOW) as *const u8, STACK_WINDOW - STACK_SKIP) };
    scan(std::iter::once(window), |_| true)
}

fn freed_blocks() -> impl Iterator<Item = &'static [u8]> {
    // Safety: recording is off while scanning, so the arena does not change.
    let arena: &'static [u8] = unsafe { &*ARENA.0.get() };
    let end = ARENA_USED.load(Ordering::Relaxed);
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let len = u64::from_ne_bytes(arena[at..at + 8].try_into().unwrap()) as usize;
        let block = &arena[at + 8..at + 8 + len];
        at += 8 + len;
        Some(block)
    })
}

/// The test thread's live blocks.
fn live_blocks() -> impl Iterator<Item = &'static [u8]> {
    // Safety: recording is off while scanning; the blocks listed are allocated.
    let table: &'static [(usize, usize); LIVE_SLOTS] = unsafe { &*LIVE.0.get() };
    table
        .iter()
        .filter(|(a, _)| *a != 0 && *a != TOMBSTONE)
        .map(|&(a, n)| unsafe { std::slice::from_raw_parts(a as *const u8, n) })
}

// ---------------------------------------------------------------------------------------------
// The scenario.

const NOW: u64 = 1_800_000_000;
const STORAGE_KEY: [u8; 32] = [0xA7; 32];
/// Authenticates at the visitor but has no padding marker: refused after decryption.
const REFUSED_BODY: [u8; 64] = {
    let mut b = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        b[i] = (i as u8).wrapping_mul(37).wrapping_add(11) | 1;
        i += 1;
    }
    b
};
/// Padded correctly but not UTF-8: `open_text` refuses it after decryption.
const NOT_UTF8: [u8; 32] = {
    let mut b = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        b[i] = (i as u8).wrapping_mul(53) | 0x80;
        i += 1;
    }
    b
};
/// Visitor-to-agent is direction 0, agent-to-visitor 1.
const V2A: u8 = 0;
const A2V: u8 = 1;

/// Which keys are known used or superseded at a checkpoint, per direction: message keys of
/// opened messages, and chain keys below both ends' positions.
struct Retired {
    opened: [[bool; CHAIN_DEPTH]; 2],
    chain_below: [usize; 2],
}

impl Retired {
    fn covers(&self, i: usize) -> bool {
        let p = patterns();
        let (d, n) = p.place[i];
        let (d, n) = (d as usize, n as usize);
        match p.kind[i] {
            Some(Kind::MessageKey) => self.opened[d][n],
            Some(Kind::ChainKey) => n < self.chain_below[d],
            _ => false,
        }
    }
}

fn open_ok(receiver: &mut Session, envelope: &hushwire::Envelope, retired: &mut Retired, direction: u8) {
    let text = receiver.open(envelope).unwrap();
    drop(text);
    retired.opened[direction as usize][envelope.counter() as usize] = true;
}

#[test]
fn no_key_material_survives_in_freed_or_live_memory() {
    set_recording(true);

    // Identities with the longest ids (64 bytes), which once overflowed the export buffer.
    let org = OrgSigningKey::generate().unwrap();
    let device = AgentKey::generate().unwrap();
    let agent_id = "a".repeat(51) + "@shop.example";
    let device_id = "d".repeat(64);
    assert_eq!((agent_id.len(), device_id.len()), (64, 64));
    let cert = org
        .certify_agent(&device.public_key(), &agent_id, &device_id, NOW - 10, NOW + 10)
        .unwrap();
    let identity = AgentIdentity::new(device, cert, &org.public_key()).unwrap();

    // v1: the test derives the message keys from the two chain keys (v2's ratchet: below).
    let (mut handshake, hello) =
        VisitorHandshake::start_with_version(&org.public_key(), hushwire::PROTOCOL_VERSION).unwrap();
    let (agent, reply) = identity.accept(&hello).unwrap();
    let mut agent = Box::new(agent);
    let mut visitor = Box::new(handshake.finish_at(&reply, NOW).unwrap());

    // Derive every key the conversation will use into static storage, on another thread so
    // that the derivation's stack copies do not count as the library's stack residue.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let (v2a, a2v) = testing::chain_keys(&visitor);
                add_chain(V2A, &v2a);
                add_chain(A2V, &a2v);
                add_pattern(Kind::StorageKey, (0, 0), &STORAGE_KEY);
                add_pattern(
                    Kind::RefusedPlaintext,
                    (0, 0),
                    &REFUSED_BODY[..32].try_into().unwrap(),
                );
                add_pattern(
                    Kind::RefusedPlaintext,
                    (0, 1),
                    &REFUSED_BODY[32..].try_into().unwrap(),
                );
                add_pattern(Kind::RefusedPlaintext, (0, 2), &NOT_UTF8);
            })
            .join()
            .unwrap();
    });
    let mut retired = Retired {
        opened: [[false; CHAIN_DEPTH]; 2],
        chain_below: [0; 2],
    };

    // Visitor to agent: 100 messages, the last delivered first. The agent keeps at most 64
    // skipped keys, so 35 are evicted at once (counters 0..=34).
    agent
        .set_config(SessionConfig {
            max_skip: 1000,
            max_stored_skipped: 64,
        })
        .unwrap();
    let v_msgs: Vec<_> = (0..100)
        .map(|i| visitor.seal(format!("visitor {i}").as_bytes()).unwrap())
        .collect();
    open_ok(&mut agent, &v_msgs[99], &mut retired, V2A);
    // Evicted at once.
    assert_eq!(agent.open(&v_msgs[3]), Err(Error::Replay));
    // Late arrivals out of order: enough holes in the middle to trigger a compaction.
    for i in (40..99).rev().step_by(2).chain((41..90).step_by(3)) {
        if !retired.opened[0][i] {
            open_ok(&mut agent, &v_msgs[i], &mut retired, V2A);
        }
    }
    // Lowering the limit evicts the oldest stored keys.
    agent
        .set_config(SessionConfig {
            max_skip: 1000,
            max_stored_skipped: 6,
        })
        .unwrap();

    // Agent to visitor, with a refused (unpadded) message and out-of-order delivery.
    let a0 = agent.seal(b"agent 0").unwrap();
    let refused = testing::seal_unpadded(&mut agent, &REFUSED_BODY).unwrap();
    let a2 = agent.seal(b"agent 2").unwrap();
    let a3 = agent.seal(b"agent 3").unwrap();
    open_ok(&mut visitor, &a0, &mut retired, A2V);
    assert_eq!(visitor.open(&refused), Err(Error::Tampered));
    assert_eq!(visitor.open_text(&refused), Err(Error::Tampered));
    open_ok(&mut visitor, &a3, &mut retired, A2V);
    open_ok(&mut visitor, &a2, &mut retired, A2V);
    // Authenticated, padded, not text: refused by `open_text` and left unconsumed (never
    // opened as bytes here, which would hand the plaintext to this test).
    let binary = agent.seal(&NOT_UTF8).unwrap();
    assert!(matches!(visitor.open_text(&binary), Err(Error::Malformed(_))));

    // Export and restore both sides, in text and binary form.
    let storage_key = StorageKey::from_bytes(&STORAGE_KEY);
    let saved = agent.export(&storage_key).unwrap();
    let restored = Box::new(Session::import(&saved, &storage_key).unwrap());
    drop(std::mem::replace(&mut agent, restored));
    let saved = visitor.export_bytes(&storage_key).unwrap();
    let restored = Box::new(Session::import_bytes(&saved, &storage_key).unwrap());
    drop(std::mem::replace(&mut visitor, restored));

    // The restored agent opens the late messages it still holds keys for.
    for (i, envelope) in v_msgs.iter().enumerate().take(99) {
        if !retired.opened[0][i] && agent.open(envelope).is_ok() {
            retired.opened[0][i] = true;
        }
    }
    let a4 = agent.seal(b"agent 4").unwrap();
    open_ok(&mut visitor, &a4, &mut retired, A2V);

    // Checkpoint: live memory (the boxed sessions included) holds no used key and no chain
    // key both sides have moved past.
    set_recording(false);
    retired.chain_below = [100, 6];
    let live = scan(live_blocks(), |i| retired.covers(i));
    set_recording(true);

    let stack = scan_stack_below();

    // v2 (after the checkpoint, whose bookkeeping is v1's): a conversation that ratchets at
    // every turn, with a late message per turn left stored. The keys of every chain from its
    // second message on (read through the testing hook right after the first seal) must be
    // gone from freed and live memory once everything is dropped.
    let (mut hs2, hello2) = VisitorHandshake::start(&org.public_key()).unwrap();
    let (agent2, reply2) = identity.accept(&hello2).unwrap();
    let mut agent2 = Box::new(agent2);
    let mut visitor2 = Box::new(hs2.finish_at(&reply2, NOW).unwrap());
    let mut late = Vec::new();
    for turn in 0..6u8 {
        let (from, to) = if turn % 2 == 0 {
            (&mut agent2, &mut visitor2)
        } else {
            (&mut visitor2, &mut agent2)
        };
        let first = from.seal(b"first of a turn").unwrap();
        let (send_ck, _) = testing::chain_keys(from);
        let send_ck: [u8; 32] = *send_ck;
        std::thread::scope(|scope| {
            scope
                .spawn(|| add_chain_to(2 + turn, &send_ck, 6))
                .join()
                .unwrap();
        });
        late.push(from.seal(b"late").unwrap());
        let third = from.seal(b"third").unwrap();
        to.open(&third).unwrap();
        to.open(&first).unwrap();
    }
    // Half the late ones arrive; the rest stay stored until the sessions are dropped.
    for (i, e) in late.iter().enumerate() {
        let to = if i % 2 == 0 { &mut visitor2 } else { &mut agent2 };
        if i < 3 {
            to.open(e).unwrap();
        }
    }
    let saved2 = visitor2.export(&StorageKey::from_bytes(&STORAGE_KEY)).unwrap();
    let restored2 = Session::import(&saved2, &StorageKey::from_bytes(&STORAGE_KEY)).unwrap();
    drop((late, saved2, restored2, agent2, visitor2, hs2, hello2, reply2));

    // Drop everything.
    drop((v_msgs, a0, refused, a2, a3, binary, a4, saved, storage_key));
    drop((agent, visitor, handshake, hello, reply, identity, org));

    set_recording(false);
    assert_eq!(ARENA_OVERFLOW.load(Ordering::Relaxed), 0, "arena too small");
    assert_eq!(LIVE_OVERFLOW.load(Ordering::Relaxed), 0, "live table too small");
    let freed = scan(freed_blocks(), |_| true);
    let left = scan(live_blocks(), |_| true);
    let freed_bytes = ARENA_USED.load(Ordering::Relaxed);
    println!(
        "scanned {freed_bytes} bytes freed; key material found: in live memory at the \
         checkpoint {live:?} ({} bytes), in freed blocks {freed:?} ({} bytes), live after \
         dropping everything {left:?} ({} bytes); not asserted: in {} KiB of dead stack \
         {stack:?} ({} bytes)",
        live.bytes(),
        freed.bytes(),
        left.bytes(),
        (STACK_WINDOW - STACK_SKIP) >> 10,
        stack.bytes()
    );
    assert!(
        live.none() && freed.none() && left.none(),
        "key material survived (hits per kind: chain, message, storage, refused plaintext)"
    );
}
