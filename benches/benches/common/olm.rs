//! vodozemac Olm fixture shared by the message and memory benchmarks.

use vodozemac::olm::{Account, OlmMessage, Session, SessionConfig};

/// Two established Olm sessions (the pre-key exchange done, one reply received).
pub fn olm_pair() -> (Session, Session) {
    let alice = Account::new();
    let mut bob = Account::new();
    bob.generate_one_time_keys(1);
    let otk = *bob.one_time_keys().values().next().unwrap();
    let mut a = alice
        .create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), otk)
        .unwrap();
    let OlmMessage::PreKey(m) = a.encrypt(b"hi").unwrap() else {
        panic!("pre-key")
    };
    let mut b = bob
        .create_inbound_session(SessionConfig::version_1(), alice.curve25519_key(), &m)
        .unwrap()
        .session;
    let reply = b.encrypt(b"hello").unwrap();
    a.decrypt(&reply).unwrap();
    (a, b)
}
