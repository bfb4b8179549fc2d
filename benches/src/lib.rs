//! Shared fixtures for the benchmarks in `benches/benches/` and the replay of the fuzz seeds
//! in `benches/tests/`.
//!
//! Every benchmark puts hushwire next to its peers (snow, vodozemac) and the raw AES-256-GCM
//! floor in the same run; `benches/report.sh` turns the results into one table with ratios.

use hushwire::{
    AgentIdentity, AgentKey, OrgPublicKey, OrgSigningKey, Session, SessionConfig, VisitorHandshake,
};

/// The clock used for certificate checks in the benchmarks (Unix seconds).
pub const NOW: u64 = 1_800_000_000;

/// An organisation and one certified agent, built from fixed keys.
pub struct Fixture {
    /// The organisation's public key, which the visitor pins.
    pub org_public: OrgPublicKey,
    /// The agent, holding its device key and certificate.
    pub agent: AgentIdentity,
}

impl Fixture {
    /// A fixture from fixed seeds: certificate valid for a year around [`NOW`].
    pub fn new() -> Fixture {
        let org = OrgSigningKey::from_secret_bytes(&[7u8; 32]);
        let key = AgentKey::from_secret_bytes(&[9u8; 32]);
        let cert = org
            .certify_agent(
                &key.public_key(),
                "alice@shop.example",
                "laptop-1",
                NOW - 86_400,
                NOW + 365 * 86_400,
            )
            .expect("certificate");
        let agent = AgentIdentity::new(key, cert, &org.public_key()).expect("identity");
        Fixture {
            org_public: org.public_key(),
            agent,
        }
    }

    /// One full handshake: returns `(visitor, agent)` sessions.
    pub fn session_pair(&self) -> (Session, Session) {
        let (mut handshake, hello) = VisitorHandshake::start(&self.org_public).expect("start");
        let (agent, reply) = self.agent.accept(&hello).expect("accept");
        let visitor = handshake.finish_at(&reply, NOW).expect("finish");
        (visitor, agent)
    }

    /// A protocol v1 session pair (symmetric chains only), for the v2-against-v1 rows.
    pub fn session_pair_v1(&self) -> (Session, Session) {
        let (mut handshake, hello) =
            VisitorHandshake::start_with_version(&self.org_public, hushwire::PROTOCOL_VERSION)
                .expect("start");
        let (agent, reply) = self.agent.accept(&hello).expect("accept");
        let visitor = handshake.finish_at(&reply, NOW).expect("finish");
        (visitor, agent)
    }

    /// A session pair whose receivers tolerate `window` skipped messages (both limits).
    pub fn session_pair_with_window(&self, window: u32) -> (Session, Session) {
        let (mut visitor, mut agent) = self.session_pair();
        let config = SessionConfig {
            max_skip: window,
            max_stored_skipped: window,
        };
        visitor.set_config(config).expect("config");
        agent.set_config(config).expect("config");
        (visitor, agent)
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

/// A deterministic plaintext of `len` bytes.
pub fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}
