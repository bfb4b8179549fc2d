//! An established session: seal and open chat messages, show the safety code, persist.

use alloc::{boxed::Box, string::String, vec::Vec};

use rand_core::RngCore;
use zeroize::{Zeroize, Zeroizing};

use crate::cipher::{self, Secret32, NONCE_LEN};
use crate::dh_ratchet::{AgentEphemeral, DhRatchet, Header};
use crate::encoding::{self, put_short_str, Reader};
use crate::envelope::{self, Envelope, Role};
use crate::error::{DecodeError, Error, Result};
use crate::noise::Completed;
use crate::org::MAX_ID_LEN;
use crate::padding;
use crate::ratchet::{self, ChainKey, RecvChain, SendChain, SkippedKeys};
use crate::storage::{self, Kind, StorageKey};
use crate::types::{SessionId, MAX_PLAINTEXT_LEN, PROTOCOL_VERSION, PROTOCOL_VERSION_2};

/// HKDF `info` labels (docs/PROTOCOL.md §5).
const LABEL_V2A: &[u8] = b"hushwire/v1/chain/visitor-to-agent";
const LABEL_A2V: &[u8] = b"hushwire/v1/chain/agent-to-visitor";
const LABEL_SAFETY: &[u8] = b"hushwire/v1/safety-code";

/// Default out-of-order window: how far ahead of the next expected message a message may be.
pub const DEFAULT_MAX_SKIP: u32 = 1000;
/// Default number of skipped-message keys kept for late messages.
pub const DEFAULT_MAX_STORED_SKIPPED: u32 = 1000;
/// Upper bound for [`SessionConfig::max_skip`]: one incoming message may cost at most this
/// many HMAC pairs (about 10 ms on a phone) before it is authenticated.
pub const MAX_SKIP_LIMIT: u32 = 20_000;
/// Upper bound for [`SessionConfig::max_stored_skipped`]: about 0.8 MB of keys per session in
/// memory (about 40 bytes a key), 36 bytes a key in an export (at most 960 392 characters of
/// export text, docs/PROTOCOL.md §10).
pub const MAX_STORED_SKIPPED_LIMIT: u32 = 20_000;

/// Per-session tolerance for lost and reordered messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// A message more than this far ahead of the next expected counter is rejected
    /// ([`Error::TooFarAhead`]). Bounds the work an unauthenticated message can cause.
    pub max_skip: u32,
    /// How many keys of skipped messages are kept; beyond it the oldest are erased and those
    /// messages, if they ever arrive, are rejected as [`Error::Replay`]. Bounds memory.
    pub max_stored_skipped: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_skip: DEFAULT_MAX_SKIP,
            max_stored_skipped: DEFAULT_MAX_STORED_SKIPPED,
        }
    }
}

impl SessionConfig {
    /// A validated configuration: `max_skip` in `1..=MAX_SKIP_LIMIT`: zero would let one lost message stop the session
    /// for good (every later message would be too far ahead). `max_stored_skipped` in
    /// `0..=MAX_STORED_SKIPPED_LIMIT` (zero: late messages are refused, the session goes on).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `max_skip` exceeds [`MAX_SKIP_LIMIT`] or
    /// `max_stored_skipped` exceeds [`MAX_STORED_SKIPPED_LIMIT`].
    pub fn new(max_skip: u32, max_stored_skipped: u32) -> Result<SessionConfig> {
        let config = SessionConfig {
            max_skip,
            max_stored_skipped,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self.max_skip == 0 || self.max_skip > MAX_SKIP_LIMIT {
            return Err(Error::InvalidArgument("max_skip"));
        }
        if self.max_stored_skipped > MAX_STORED_SKIPPED_LIMIT {
            return Err(Error::InvalidArgument("max_stored_skipped"));
        }
        Ok(())
    }
}

/// An end-to-end encrypted chat session between a visitor and an agent.
///
/// Created by [`crate::VisitorHandshake::finish`] or [`crate::AgentIdentity::accept`].
/// Not `Clone`: two copies of one session would send with the same keys; persist and restore
/// with [`Session::export`] / [`Session::import`] instead.
pub struct Session {
    role: Role,
    session_id: SessionId,
    handshake_hash: [u8; 32],
    agent_id: String,
    device_id: String,
    keys: Keys,
    config: SessionConfig,
}

/// The message keys of a session, by protocol version (dispatched here, in `seal`/`open` and
/// in the state codec, not inside the ratchets).
enum Keys {
    /// v1: two symmetric chains for the session's lifetime (§6.2).
    V1 { send: SendChain, recv: RecvChain },
    /// v2: the Double Ratchet (§17).
    V2(Box<DhRatchet>),
}

impl Drop for Session {
    fn drop(&mut self) {
        self.handshake_hash.zeroize();
    }
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("session_id", &self.session_id)
            .field("version", &self.version())
            .field("agent_id", &self.agent_id)
            .field("sent", &self.sent())
            .field("received_next", &self.received_next())
            .field("skipped_keys", &self.stored_keys())
            .finish_non_exhaustive()
    }
}

/// Derive the keys and build the session: v1's two chains (docs/PROTOCOL.md §5), or, given
/// the agent's handshake ephemeral, v2's ratchet (§17.2).
pub(crate) fn from_handshake(
    role: Role,
    session_id: SessionId,
    done: Completed,
    agent_id: String,
    device_id: String,
    ratchet: Option<AgentEphemeral>,
) -> Result<Session> {
    if let Some(start) = ratchet {
        let ratchet = DhRatchet::from_handshake(role, &done.handshake_hash, &done.k1.0, &done.k2.0, start)?;
        return Ok(Session {
            role,
            session_id,
            handshake_hash: done.handshake_hash,
            agent_id,
            device_id,
            keys: Keys::V2(Box::new(ratchet)),
            config: SessionConfig::default(),
        });
    }
    let chain =
        |k: &Secret32, label: &[u8]| ChainKey(cipher::hkdf_sha256_32(&done.handshake_hash, &k.0, label).0);
    let v2a = chain(&done.k1, LABEL_V2A);
    let a2v = chain(&done.k2, LABEL_A2V);
    let (send_ck, recv_ck) = match role {
        Role::Visitor => (v2a, a2v),
        Role::Agent => (a2v, v2a),
    };
    Ok(Session {
        role,
        session_id,
        handshake_hash: done.handshake_hash,
        agent_id,
        device_id,
        keys: Keys::V1 {
            send: SendChain {
                chain_key: send_ck,
                next: 0,
            },
            recv: RecvChain {
                chain_key: recv_ck,
                next: 0,
                skipped: SkippedKeys::default(),
            },
        },
        config: SessionConfig::default(),
    })
}

impl Session {
    /// Encrypt a chat message. Each call uses a new message key (the chain advances) and a
    /// fresh random nonce, so even a session restored from an old export never reuses a
    /// (key, nonce) pair.
    ///
    /// # Errors
    ///
    /// * [`Error::MessageTooLarge`]: `plaintext` exceeds [`crate::MAX_PLAINTEXT_LEN`].
    /// * [`Error::SessionExhausted`]: this side has sent 2^32 - 2 messages.
    /// * [`Error::Randomness`]: the operating system's random number generator failed.
    ///
    /// A failed call leaves the session unchanged.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Envelope> {
        self.seal_with_rng(plaintext, &mut rand_core::OsRng)
    }

    pub(crate) fn seal_with_rng(&mut self, plaintext: &[u8], rng: &mut dyn RngCore) -> Result<Envelope> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::MessageTooLarge);
        }
        self.seal_body(
            padding::padded_len(plaintext.len()),
            |bytes| padding::pad_into(bytes, plaintext),
            rng,
        )
    }

    /// Seal the next message with the `body_len` bytes `write` appends as its plaintext.
    fn seal_body(
        &mut self,
        body_len: usize,
        write: impl FnOnce(&mut Vec<u8>),
        rng: &mut dyn RngCore,
    ) -> Result<Envelope> {
        let send = match &mut self.keys {
            Keys::V1 { send, .. } => send,
            Keys::V2(ratchet) => return ratchet.seal(&self.session_id, self.role, rng, body_len, write),
        };
        let counter = send.next;
        // The highest counter sealed is 0xfffffffe; `send_next = 0xffffffff` means "no more"
        // (docs/PROTOCOL.md §6.2). So `counter + 1` below never overflows.
        if counter == u32::MAX {
            return Err(Error::SessionExhausted);
        }
        let mut nonce = [0u8; NONCE_LEN];
        cipher::fill_random(rng, &mut nonce)?;
        let header = envelope::header(&self.session_id, self.role, counter);
        let mut chain_key = send.chain_key.clone();
        let message_key = ratchet::step(&mut chain_key);
        let envelope = Envelope::seal_body(&header, &nonce, &message_key.0, body_len, write)?;
        // Overwrite in place: the old chain key leaves no copy behind.
        send.chain_key.0 = chain_key.0;
        send.next = counter + 1;
        Ok(envelope)
    }

    /// Decrypt a message from the peer.
    ///
    /// Accepts messages out of order within [`SessionConfig::max_skip`]; rejects replays,
    /// reflected messages, messages of other sessions and anything altered. A failed call
    /// leaves the session unchanged.
    ///
    /// # Errors
    ///
    /// * [`Error::WrongSession`], [`Error::Reflected`]: another session's message, or this side's.
    /// * [`Error::Replay`]: already opened, or so old that its key was evicted.
    /// * [`Error::TooFarAhead`]: beyond [`SessionConfig::max_skip`].
    /// * [`Error::Tampered`]: altered, forged, or (after authenticating) badly padded.
    pub fn open(&mut self, envelope: &Envelope) -> Result<Vec<u8>> {
        self.open_checked(envelope, |_| Ok(()))
    }

    /// Decrypt a message whose plaintext must be UTF-8 text.
    ///
    /// Like [`Session::open`], but a message that authenticates and is not valid UTF-8 is
    /// refused with [`DecodeError::InvalidField`]`("utf-8")` (`MALFORMED`) **without being
    /// consumed**: the session is unchanged, so the same envelope can still be read with
    /// [`Session::open`] as bytes.
    ///
    /// # Errors
    ///
    /// As [`Session::open`], and [`Error::Malformed`] for a plaintext that is not UTF-8.
    pub fn open_text(&mut self, envelope: &Envelope) -> Result<String> {
        let plain = self.open_checked(envelope, |pt| {
            core::str::from_utf8(pt)
                .map(|_| ())
                .map_err(|_| DecodeError::InvalidField("utf-8").into())
        })?;
        // Checked above, so this cannot fail; map anyway rather than unwrap.
        String::from_utf8(plain).map_err(|e| {
            let mut bytes = e.into_bytes();
            bytes.zeroize();
            DecodeError::InvalidField("utf-8").into()
        })
    }

    /// `open`, with `check` run on the authenticated plaintext before anything is committed:
    /// if it fails, the plaintext is wiped and the session stays unchanged.
    fn open_checked(
        &mut self,
        envelope: &Envelope,
        check: impl FnOnce(&[u8]) -> Result<()>,
    ) -> Result<Vec<u8>> {
        if envelope.session_id() != self.session_id {
            return Err(Error::WrongSession);
        }
        if envelope.version() != self.version() {
            return Err(Error::Downgrade);
        }
        if envelope.sender() == self.role {
            return Err(Error::Reflected);
        }
        let counter = envelope.counter();
        let nonce = envelope.nonce();
        // Decrypt and check; on any failure the plaintext is wiped and nothing is committed.
        let decrypt = |key: &[u8; 32]| {
            let mut pt = cipher::aead_open(key, &nonce, envelope.header(), envelope.ciphertext())?;
            if let Err(e) = padding::unpad(&mut pt).and_then(|()| check(&pt)) {
                pt.zeroize();
                return Err(e);
            }
            Ok(pt)
        };
        let max_stored = self.config.max_stored_skipped as usize;
        let recv = match &mut self.keys {
            Keys::V1 { recv, .. } => recv,
            Keys::V2(ratchet) => {
                let (ratchet_key, prev_chain_len) = envelope.ratchet_fields().ok_or(Error::Downgrade)?;
                let header = Header {
                    ratchet_key,
                    prev_chain_len,
                    counter,
                };
                return ratchet.open(&header, self.config.max_skip, max_stored, decrypt);
            }
        };
        if counter < recv.next {
            let key = recv.skipped.get(counter).ok_or(Error::Replay)?;
            let pt = decrypt(key)?;
            recv.skipped.remove(counter);
            return Ok(pt);
        }
        if counter - recv.next > self.config.max_skip {
            return Err(Error::TooFarAhead);
        }
        let advance = recv.advance_to(counter);
        let pt = decrypt(&advance.message_key.0)?;
        recv.commit(advance, max_stored);
        Ok(pt)
    }

    /// The protocol version of this session (1 or 2); its envelopes carry it.
    pub fn version(&self) -> u8 {
        match self.keys {
            Keys::V1 { .. } => PROTOCOL_VERSION,
            Keys::V2(_) => PROTOCOL_VERSION_2,
        }
    }

    fn sent(&self) -> u32 {
        match &self.keys {
            Keys::V1 { send, .. } => send.next,
            Keys::V2(r) => r.sent(),
        }
    }

    fn received_next(&self) -> u32 {
        match &self.keys {
            Keys::V1 { recv, .. } => recv.next,
            Keys::V2(r) => r.received_next(),
        }
    }

    fn stored_keys(&self) -> usize {
        match &self.keys {
            Keys::V1 { recv, .. } => recv.skipped.len(),
            Keys::V2(r) => r.stored_keys(),
        }
    }

    /// A 12-digit code, the same on both sides of an unaltered session, for the visitor and
    /// the agent to compare by voice or on screen (formatted `"0123 4567 8901"`). A match
    /// proves no one sits in the middle, which the anonymous visitor cannot otherwise prove
    /// to the agent.
    pub fn safety_code(&self) -> String {
        // The first 8 bytes of the 32-byte output are HKDF's 8-byte output.
        let okm = cipher::hkdf_sha256_32(&[], &self.handshake_hash, LABEL_SAFETY);
        // The same twelve-digit form as the roster code (PROTOCOL.md §18.4).
        encoding::twelve_digit_code(&okm.0)
    }

    /// This session's id (also in every envelope's header).
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// Which side this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The agent's id, from the certificate the visitor verified.
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    /// The agent's device id, from the certificate.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The Noise handshake hash, a channel binding unique to this session.
    pub fn handshake_hash(&self) -> [u8; 32] {
        self.handshake_hash
    }

    /// The out-of-order tolerance in force.
    pub fn config(&self) -> SessionConfig {
        self.config
    }

    /// Change the out-of-order tolerance. Lowering `max_stored_skipped` erases the oldest
    /// stored keys at once. [`Error::InvalidArgument`] if `max_skip` is 0 or above
    /// [`MAX_SKIP_LIMIT`], or `max_stored_skipped` is above [`MAX_STORED_SKIPPED_LIMIT`].
    pub fn set_config(&mut self, config: SessionConfig) -> Result<()> {
        config.validate()?;
        self.config = config;
        let max_stored = config.max_stored_skipped as usize;
        match &mut self.keys {
            Keys::V1 { recv, .. } => {
                while recv.skipped.len() > max_stored {
                    recv.skipped.pop_oldest();
                }
            }
            Keys::V2(ratchet) => ratchet.enforce_bound(max_stored),
        }
        Ok(())
    }

    /// Seal the whole session state under `storage_key` into an opaque string for storage
    /// (IndexedDB, a file, a database row). Export again after every `seal`/`open`: restoring
    /// an older export re-opens messages received since (they would be accepted once more).
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system's random number generator fails.
    pub fn export(&self, storage_key: &StorageKey) -> Result<String> {
        self.export_with_rng(storage_key, &mut rand_core::OsRng)
    }

    /// [`Session::export`] as bytes, for binary stores; `export` is their base64url.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system's random number generator fails.
    pub fn export_bytes(&self, storage_key: &StorageKey) -> Result<Vec<u8>> {
        storage::seal(
            storage_key,
            Kind::Session,
            &self.state_bytes(),
            &mut rand_core::OsRng,
        )
    }

    pub(crate) fn export_with_rng(&self, storage_key: &StorageKey, rng: &mut dyn RngCore) -> Result<String> {
        storage::seal_text(storage_key, Kind::Session, &self.state_bytes(), rng)
    }

    /// The state serialised for export (docs/PROTOCOL.md §8).
    pub(crate) fn state_bytes(&self) -> Zeroizing<Vec<u8>> {
        let (send, recv) = match &self.keys {
            Keys::V1 { send, recv } => (send, recv),
            Keys::V2(ratchet) => return self.state_bytes_v2(ratchet),
        };
        let len = STATE_FIXED_LEN
            + self.agent_id.len()
            + self.device_id.len()
            + STATE_SKIPPED_LEN * recv.skipped.len();
        let mut out = self.state_prefix(STATE_VERSION, len);
        out.extend_from_slice(&send.chain_key.0);
        out.extend_from_slice(&send.next.to_be_bytes());
        out.extend_from_slice(&recv.chain_key.0);
        out.extend_from_slice(&recv.next.to_be_bytes());
        out.extend_from_slice(&self.config.max_skip.to_be_bytes());
        out.extend_from_slice(&self.config.max_stored_skipped.to_be_bytes());
        out.extend_from_slice(&(recv.skipped.len() as u32).to_be_bytes());
        for (n, key) in recv.skipped.iter() {
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(key);
        }
        debug_assert_eq!(out.len(), len);
        out
    }

    /// A buffer of capacity `len` (the exact final size: a reallocation would free an unwiped
    /// copy of the keys) holding the fields both state versions start with.
    fn state_prefix(&self, version: u8, len: usize) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        out.push(version);
        out.push(self.role.to_byte());
        out.extend_from_slice(&self.session_id.0);
        out.extend_from_slice(&self.handshake_hash);
        put_short_str(&mut out, &self.agent_id);
        put_short_str(&mut out, &self.device_id);
        out
    }

    /// The v2 state (docs/PROTOCOL.md §17.6): the v1 prefix up to the ids, the config, then
    /// the ratchet.
    fn state_bytes_v2(&self, ratchet: &DhRatchet) -> Zeroizing<Vec<u8>> {
        let len = STATE_V2_PREFIX_LEN + self.agent_id.len() + self.device_id.len() + ratchet.state_len();
        let mut out = self.state_prefix(PROTOCOL_VERSION_2, len);
        out.extend_from_slice(&self.config.max_skip.to_be_bytes());
        out.extend_from_slice(&self.config.max_stored_skipped.to_be_bytes());
        ratchet.write_state(&mut out);
        debug_assert_eq!(out.len(), len);
        out
    }

    /// Restore a session sealed by [`Session::export`]. A wrong key or an altered export is
    /// [`Error::ExportAuthentication`].
    ///
    /// # Errors
    ///
    /// [`Error::ExportAuthentication`] for a wrong key or an altered export; [`Error::Malformed`]
    /// for text that is not a session export or holds an invalid state.
    pub fn import(exported: &str, storage_key: &StorageKey) -> Result<Session> {
        let plain = storage::open_text(storage_key, Kind::Session, exported)?;
        Self::from_state_bytes(&plain)
    }

    /// Restore a session from [`Session::export_bytes`].
    ///
    /// # Errors
    ///
    /// As [`Session::import`].
    pub fn import_bytes(exported: &[u8], storage_key: &StorageKey) -> Result<Session> {
        let plain = storage::open(storage_key, Kind::Session, exported)?;
        Self::from_state_bytes(&plain)
    }

    /// Decode a state (docs/PROTOCOL.md §8.2), checking every field in wire order.
    pub(crate) fn from_state_bytes(bytes: &[u8]) -> Result<Session> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != STATE_VERSION && version != PROTOCOL_VERSION_2 {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let role = Role::from_byte(r.u8()?)?;
        let session_id = SessionId(r.array()?);
        let handshake_hash = r.array()?;
        let agent_id = r.short_str(MAX_ID_LEN, "agent_id")?;
        let device_id = r.short_str(MAX_ID_LEN, "device_id")?;
        if version == PROTOCOL_VERSION_2 {
            let config = SessionConfig {
                max_skip: r.u32()?,
                max_stored_skipped: r.u32()?,
            };
            config
                .validate()
                .map_err(|_| DecodeError::InvalidField("config"))?;
            let ratchet = DhRatchet::read_state(&mut r, role, config.max_stored_skipped)?;
            r.finish()?;
            return Ok(Session {
                role,
                session_id,
                handshake_hash,
                agent_id,
                device_id,
                keys: Keys::V2(Box::new(ratchet)),
                config,
            });
        }
        let send = SendChain {
            chain_key: ChainKey(r.array()?),
            next: r.u32()?,
        };
        let mut recv = RecvChain {
            chain_key: ChainKey(r.array()?),
            next: r.u32()?,
            skipped: SkippedKeys::default(),
        };
        let config = SessionConfig {
            max_skip: r.u32()?,
            max_stored_skipped: r.u32()?,
        };
        config
            .validate()
            .map_err(|_| DecodeError::InvalidField("config"))?;
        // `send_next` and `recv_next` may take every u32 value: 0xffffffff is the state after
        // counter 0xfffffffe was sealed or received.
        let count = r.u32()?;
        if count > config.max_stored_skipped {
            return Err(DecodeError::InvalidField("skipped key count").into());
        }
        for _ in 0..count {
            let n = r.u32()?;
            // Ascending and below `next`, as `state_bytes` writes them.
            let key = Zeroizing::new(r.array()?);
            if n >= recv.next || !recv.skipped.push(n, &key) {
                return Err(DecodeError::InvalidField("skipped key").into());
            }
        }
        r.finish()?;
        Ok(Session {
            role,
            session_id,
            handshake_hash,
            agent_id,
            device_id,
            keys: Keys::V1 { send, recv },
            config,
        })
    }
}

/// Version of the serialised session state inside an export.
const STATE_VERSION: u8 = 1;
/// Bytes of the state besides the two ids and the skipped keys: version, role, session id,
/// handshake hash, two id lengths, two chains (key and counter), config, key count.
const STATE_FIXED_LEN: usize = 1 + 1 + 16 + 32 + 1 + 1 + (32 + 4) * 2 + 4 + 4 + 4;
/// Bytes per stored skipped key: counter and key.
const STATE_SKIPPED_LEN: usize = 4 + 32;
/// Bytes of a v2 state before the ratchet, besides the two ids: version, role, session id,
/// handshake hash, two id lengths, config.
const STATE_V2_PREFIX_LEN: usize = 1 + 1 + 16 + 32 + 1 + 1 + 4 + 4;

impl Session {
    /// The initial chain keys `(visitor-to-agent, agent-to-visitor)`; for the test vectors,
    /// called before any message.
    #[cfg(feature = "testing")]
    pub(crate) fn chain_keys_for_vectors(&self) -> (ChainKey, ChainKey) {
        let (send, recv) = self.current_chain_keys();
        match self.role {
            Role::Visitor => (ChainKey(send), ChainKey(recv)),
            Role::Agent => (ChainKey(recv), ChainKey(send)),
        }
    }

    /// `(sending, receiving)` chain keys now (zeros where a v2 side has no chain yet).
    #[cfg(feature = "testing")]
    fn current_chain_keys(&self) -> ([u8; 32], [u8; 32]) {
        match &self.keys {
            Keys::V1 { send, recv } => (send.chain_key.0, recv.chain_key.0),
            Keys::V2(ratchet) => ratchet.chain_keys(),
        }
    }

    /// `(sending, receiving)` chain keys, for [`crate::testing::chain_keys`].
    #[cfg(feature = "testing")]
    pub(crate) fn chain_keys_for_testing(&self) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
        let (send, recv) = self.current_chain_keys();
        (Zeroizing::new(send), Zeroizing::new(recv))
    }

    /// For [`crate::testing::seal_unpadded`].
    #[cfg(feature = "testing")]
    pub(crate) fn seal_unpadded_for_testing(&mut self, body: &[u8]) -> Result<Envelope> {
        if body.len() > padding::padded_len(MAX_PLAINTEXT_LEN) {
            return Err(Error::MessageTooLarge);
        }
        self.seal_body(
            body.len(),
            |bytes| bytes.extend_from_slice(body),
            &mut rand_core::OsRng,
        )
    }
}
