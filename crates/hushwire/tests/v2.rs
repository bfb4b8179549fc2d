//! Protocol v2 (docs/PROTOCOL.md §16–§17): the hybrid handshake, the DH ratchet, what a
//! captured state can read, downgrade refusal, and v1 sessions living on beside v2.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use hushwire::{
    AgentIdentity, AgentKey, Envelope, Error, Hello, OrgSigningKey, Reply, Session, SessionConfig,
    StorageKey, VisitorHandshake, PROTOCOL_VERSION, PROTOCOL_VERSION_2,
};

const NOW: u64 = 1_800_000_000;

fn agent() -> (OrgSigningKey, AgentIdentity) {
    let org = OrgSigningKey::generate().unwrap();
    let key = AgentKey::generate().unwrap();
    let cert = org
        .certify_agent(&key.public_key(), "alice@shop.example", "laptop", 0, u64::MAX)
        .unwrap();
    let identity = AgentIdentity::new(key, cert, &org.public_key()).unwrap();
    (org, identity)
}

fn pair_of(version: u8) -> (Session, Session) {
    let (org, identity) = agent();
    let (mut hs, hello) = VisitorHandshake::start_with_version(&org.public_key(), version).unwrap();
    let (a, reply) = identity.accept(&hello).unwrap();
    let v = hs.finish_at(&reply, NOW).unwrap();
    (v, a)
}

fn pair() -> (Session, Session) {
    pair_of(PROTOCOL_VERSION_2)
}

/// The ratchet key in a v2 envelope's header.
fn ratchet_key(e: &Envelope) -> [u8; 32] {
    e.as_bytes()[19..51].try_into().unwrap()
}

#[test]
fn new_sessions_are_v2_with_their_sizes() {
    let (org, identity) = agent();
    let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    assert_eq!(hello.version(), PROTOCOL_VERSION_2);
    // e (32) and the ML-KEM-768 encapsulation key (1184) after the 26-byte header.
    assert_eq!(hello.to_bytes().len(), 1242);
    assert_eq!(Hello::from_bytes(&hello.to_bytes()).unwrap(), hello);
    let (mut a, reply) = identity.accept(&hello).unwrap();
    // v1's reply plus the encrypted ML-KEM ciphertext (1088 + 16).
    let cert_len = identity.certificate().to_bytes().len();
    assert_eq!(reply.to_bytes().len(), 18 + 32 + 1104 + 48 + cert_len + 16);
    assert_eq!(Reply::from_bytes(&reply.to_bytes()).unwrap(), reply);
    let mut v = hs.finish_at(&reply, NOW).unwrap();
    assert_eq!((v.version(), a.version()), (2, 2));
    assert_eq!(v.safety_code(), a.safety_code());
    assert_eq!(v.handshake_hash(), a.handshake_hash());
    let e = a.seal(b"hi, how can I help?").unwrap();
    assert_eq!(e.version(), 2);
    assert_eq!(v.open_text(&e).unwrap(), "hi, how can I help?");
    assert_eq!(a.open(&v.seal(b"my order").unwrap()).unwrap(), b"my order");
}

#[test]
fn each_change_of_direction_brings_a_new_ratchet_key() {
    let (mut v, mut a) = pair();
    let greeting = a.seal(b"0").unwrap();
    v.open(&greeting).unwrap();
    let mut keys = vec![ratchet_key(&greeting)];
    for turn in 0..6 {
        let (from, to) = if turn % 2 == 0 {
            (&mut v, &mut a)
        } else {
            (&mut a, &mut v)
        };
        let first = from.seal(b"first").unwrap();
        let second = from.seal(b"second").unwrap();
        // Within one turn the key stays, and the counter restarts at each step.
        assert_eq!(ratchet_key(&first), ratchet_key(&second));
        assert_eq!((first.counter(), second.counter()), (0, 1));
        assert!(
            !keys.contains(&ratchet_key(&first)),
            "turn {turn} reuses a ratchet key"
        );
        keys.push(ratchet_key(&first));
        assert_eq!(to.open(&second).unwrap(), b"second");
        assert_eq!(to.open(&first).unwrap(), b"first");
        assert_eq!(to.open(&first), Err(Error::Replay));
    }
}

#[test]
fn out_of_order_delivery_across_ratchet_steps() {
    let (mut v, mut a) = pair();
    // The agent's chain under its handshake ephemeral: 0 and 1; 1 is late.
    let a0 = a.seal(b"a0").unwrap();
    let a1 = a.seal(b"a1").unwrap();
    v.open(&a0).unwrap();
    let v0 = v.seal(b"v0").unwrap();
    a.open(&v0).unwrap();
    // The agent's second chain; its first message is late too.
    let b0 = a.seal(b"b0").unwrap();
    let b1 = a.seal(b"b1").unwrap();
    v.open(&b1).unwrap();
    let v1 = v.seal(b"v1").unwrap();
    a.open(&v1).unwrap();
    let c0 = a.seal(b"c0").unwrap();
    // A header's `pn` lets the visitor keep the tail of a chain it never saw the end of.
    let a_tail = {
        let (mut v2, mut a2) = pair();
        v2.open(&a2.seal(b"x").unwrap()).unwrap();
        let lost = a2.seal(b"lost in the first chain").unwrap();
        a2.open(&v2.seal(b"y").unwrap()).unwrap();
        let next = a2.seal(b"second chain").unwrap();
        assert_eq!(v2.open(&next).unwrap(), b"second chain");
        v2.open(&lost).unwrap()
    };
    assert_eq!(a_tail, b"lost in the first chain");
    assert_eq!(v.open(&c0).unwrap(), b"c0");
    // Late messages of two closed chains still open, once.
    assert_eq!(v.open(&b0).unwrap(), b"b0");
    assert_eq!(v.open(&a1).unwrap(), b"a1");
    assert_eq!(v.open(&a1), Err(Error::Replay));
    assert_eq!(v.open(&b0), Err(Error::Replay));
}

#[test]
fn skipped_keys_are_bounded_across_chains() {
    let (mut v, mut a) = pair();
    v.set_config(SessionConfig::new(100, 3).unwrap()).unwrap();
    let mut late = Vec::new();
    for _ in 0..3 {
        late.push(a.seal(b"late").unwrap());
        late.push(a.seal(b"late").unwrap());
        v.open(&a.seal(b"now").unwrap()).unwrap();
        a.open(&v.seal(b"ok").unwrap()).unwrap();
    }
    // Six keys were skipped across three chains; the three oldest are gone.
    let opened = late.iter().filter(|e| v.open(e).is_ok()).count();
    assert_eq!(opened, 3);
    assert_eq!(v.open(&late[0]), Err(Error::Replay));
    // `pn` beyond `max_skip` is refused before any key is computed.
    let (mut v, mut a) = pair();
    v.set_config(SessionConfig::new(10, 10).unwrap()).unwrap();
    v.open(&a.seal(b"0").unwrap()).unwrap();
    for _ in 0..12 {
        a.seal(b"lost").unwrap();
    }
    a.open(&v.seal(b"v").unwrap()).unwrap();
    assert_eq!(v.open(&a.seal(b"new chain").unwrap()), Err(Error::TooFarAhead));
}

/// docs/PROTOCOL.md §17.5: a state captured at time t opens what was already sent and what
/// is sent on the chains it holds, and nothing after the next round trip.
#[test]
fn a_captured_state_opens_nothing_after_the_next_round_trip() {
    let (mut v, mut a) = pair();
    for i in 0..3 {
        v.open(&a.seal(format!("agent {i}").as_bytes()).unwrap()).unwrap();
        a.open(&v.seal(format!("visitor {i}").as_bytes()).unwrap())
            .unwrap();
    }
    // Mid-conversation: one agent message is in flight when the visitor's state leaks.
    let in_flight = a.seal(b"in flight at t").unwrap();
    let key = StorageKey::generate().unwrap();
    let captured = v.export(&key).unwrap();
    let thief = || Session::import(&captured, &key).unwrap();
    // Before: the captured state reads what was in flight (same chain, key still derivable).
    assert_eq!(thief().open(&in_flight).unwrap(), b"in flight at t");
    v.open(&in_flight).unwrap();
    // Messages still on the agent's current chain at t are readable too (it has not stepped).
    let same_chain = a.seal(b"same agent chain").unwrap();
    assert_eq!(thief().open(&same_chain).unwrap(), b"same agent chain");
    v.open(&same_chain).unwrap();

    // The round trip: the visitor answers with a fresh ratchet key, the agent steps too.
    let v_after = v.seal(b"visitor after t").unwrap();
    a.open(&v_after).unwrap();
    let a_after = a.seal(b"agent after the round trip").unwrap();
    v.open(&a_after).unwrap();
    let v_later = v.seal(b"visitor later").unwrap();
    a.open(&v_later).unwrap();
    let a_later = a.seal(b"agent later").unwrap();

    // The thief's copy of the visitor opens none of them.
    assert_eq!(thief().open(&a_after), Err(Error::Tampered));
    assert_eq!(thief().open(&a_later), Err(Error::Tampered));
    // Nor can it read the visitor's own messages: a copy of the *agent's* view would be
    // needed, and the thief's replayed visitor state refuses its own messages.
    assert_eq!(thief().open(&v_after), Err(Error::Reflected));
    // Playing the agent does not help either: the captured visitor state holds only the
    // agent's public keys. Its chains are the only secrets it has, and the agent's new chain
    // keys after t differ from every chain key in it (checked through the testing hook).
    let (thief_send, thief_recv) = hushwire::testing::chain_keys(&thief());
    let (agent_send, agent_recv) = hushwire::testing::chain_keys(&a);
    for k in [&*agent_send, &*agent_recv] {
        assert_ne!(k, &*thief_send);
        assert_ne!(k, &*thief_recv);
    }
    // The real visitor still reads everything.
    assert_eq!(v.open(&a_later).unwrap(), b"agent later");
}

#[test]
fn a_relay_stripping_the_kem_key_is_refused() {
    let (org, identity) = agent();
    let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    // The relay turns the v2 hello into a v1 hello with the same ephemeral key.
    let mut v1 = hello.to_bytes()[..58].to_vec();
    v1[0] = PROTOCOL_VERSION;
    let stripped = Hello::from_bytes(&v1).unwrap();
    let (_a, v1_reply) = identity.accept(&stripped).unwrap();
    assert_eq!(v1_reply.version(), PROTOCOL_VERSION);
    assert_eq!(hs.finish_at(&v1_reply, NOW).err(), Some(Error::Downgrade));
    // Relabelling the v1 reply as v2 fails the handshake (its length, then its transcript).
    let mut relabelled = v1_reply.to_bytes();
    relabelled[0] = PROTOCOL_VERSION_2;
    assert!(Reply::from_bytes(&relabelled).is_err());
    // The genuine reply still completes the handshake.
    let (_a, reply) = identity.accept(&hello).unwrap();
    assert!(hs.finish_at(&reply, NOW).is_ok());
}

#[test]
fn v1_envelopes_are_refused_by_v2_sessions_and_back() {
    let (mut v2, _a2) = pair();
    let (mut v1, mut a1) = pair_of(PROTOCOL_VERSION);
    let from_v1 = a1.seal(b"v1").unwrap();
    // Another session id first, so build the check with the same session: relabel versions.
    assert_eq!(v2.open(&from_v1), Err(Error::WrongSession));
    let mut bytes = from_v1.to_bytes();
    bytes[2..18].copy_from_slice(&v2.session_id().to_bytes());
    assert_eq!(
        v2.open(&Envelope::from_bytes(&bytes).unwrap()),
        Err(Error::Downgrade)
    );
    let (_v3, mut a3) = pair();
    let mut bytes = a3.seal(b"v2").unwrap().to_bytes();
    bytes[2..18].copy_from_slice(&v1.session_id().to_bytes());
    assert_eq!(
        v1.open(&Envelope::from_bytes(&bytes).unwrap()),
        Err(Error::Downgrade)
    );
}

#[test]
fn tampered_kem_ciphertext_fails_the_handshake_and_keeps_it_usable() {
    let (org, identity) = agent();
    let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    let (_a, reply) = identity.accept(&hello).unwrap();
    let good = reply.to_bytes();
    // Offsets 50..1154 hold ENC(ML-KEM ciphertext); flip one byte of the ciphertext and
    // one of its tag.
    for at in [50, 600, 1137, 1153] {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        let bad = Reply::from_bytes(&bad).unwrap();
        assert_eq!(
            hs.finish_at(&bad, NOW).err(),
            Some(Error::HandshakeFailed),
            "byte {at}"
        );
    }
    assert!(hs.finish_at(&reply, NOW).is_ok());
}

#[test]
fn a_bad_kem_key_in_the_hello_is_refused() {
    let (org, identity) = agent();
    let (_hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    let mut bytes = hello.to_bytes();
    // The first coefficient of the key's first polynomial set to 0xfff >= q = 3329 (FIPS 203
    // §7.2's modulus check).
    bytes[58] = 0xff;
    bytes[59] |= 0x0f;
    let bad = Hello::from_bytes(&bytes).unwrap();
    assert!(matches!(identity.accept(&bad), Err(Error::Malformed(_))));
}

#[test]
fn wrong_ratchet_key_or_pn_in_a_header_is_tampered() {
    let (mut v, mut a) = pair();
    v.open(&a.seal(b"0").unwrap()).unwrap();
    let e = v.seal(b"to the agent").unwrap();
    // Another valid point as the ratchet key: a new chain that the tag does not match.
    let mut other = e.to_bytes();
    let mut point = [0u8; 32];
    point[0] = 9;
    other[19..51].copy_from_slice(&point);
    assert_eq!(
        a.open(&Envelope::from_bytes(&other).unwrap()),
        Err(Error::Tampered)
    );
    // A low-order point is refused as such.
    other[19..51].copy_from_slice(&[0u8; 32]);
    assert_eq!(
        a.open(&Envelope::from_bytes(&other).unwrap()),
        Err(Error::WeakKey)
    );
    let mut pn = e.to_bytes();
    pn[54] ^= 1;
    assert_eq!(a.open(&Envelope::from_bytes(&pn).unwrap()), Err(Error::Tampered));
    // Nothing changed: the genuine message opens.
    assert_eq!(a.open(&e).unwrap(), b"to the agent");
}

#[test]
fn export_mid_ratchet_restores_every_chain() {
    let (mut v, mut a) = pair();
    let a0 = a.seal(b"a0").unwrap();
    let a1 = a.seal(b"a1").unwrap();
    v.open(&a1).unwrap();
    a.open(&v.seal(b"v0").unwrap()).unwrap();
    let b0 = a.seal(b"b0").unwrap();
    let b1 = a.seal(b"b1").unwrap();
    v.open(&b1).unwrap();
    let key = StorageKey::generate().unwrap();
    for restored in [
        Session::import(&v.export(&key).unwrap(), &key).unwrap(),
        Session::import_bytes(&v.export_bytes(&key).unwrap(), &key).unwrap(),
    ] {
        let mut r = restored;
        assert_eq!(r.version(), 2);
        assert_eq!(r.open(&a0).unwrap(), b"a0");
        assert_eq!(r.open(&b0).unwrap(), b"b0");
        assert_eq!(r.open(&b1), Err(Error::Replay));
    }
    // The restored state takes the sending step the original would have taken.
    let mut r = Session::import(&v.export(&key).unwrap(), &key).unwrap();
    let e = r.seal(b"after restore").unwrap();
    assert_eq!(a.open(&e).unwrap(), b"after restore");
    assert_eq!(a.open(&e), Err(Error::Replay));
    // The agent's state too (it never received before its first step here).
    let (_v, a_fresh) = pair();
    let back = Session::import(&a_fresh.export(&key).unwrap(), &key).unwrap();
    assert_eq!(back.version(), 2);
}

#[test]
fn a_v1_session_and_its_export_still_finish() {
    let (v, mut a) = pair_of(PROTOCOL_VERSION);
    assert_eq!((v.version(), a.version()), (1, 1));
    let e = a.seal(b"v1 greeting").unwrap();
    assert_eq!(e.as_bytes().len(), 307);
    let key = StorageKey::generate().unwrap();
    let saved = v.export(&key).unwrap();
    let mut back = Session::import(&saved, &key).unwrap();
    assert_eq!(back.version(), 1);
    assert_eq!(back.open(&e).unwrap(), b"v1 greeting");
    assert_eq!(a.open(&back.seal(b"still v1").unwrap()).unwrap(), b"still v1");
}
