//! The v2 session's key schedule: the Double Ratchet (Signal, Perrin and Marlinspike, 2016,
//! <https://signal.org/docs/specifications/doubleratchet/>) over X25519, with v1's chains
//! ([`crate::ratchet`]) as its symmetric-key ratchet. docs/PROTOCOL.md §17.
//!
//! Every change of speaking direction mixes a fresh X25519 output into the root chain, so a
//! state captured once stops opening messages after the next round trip (post-compromise
//! security). Two departures from the spec, both for this product: the agent's handshake
//! ephemeral is its first ratchet key (as a signed prekey is in X3DH/PQXDH), so the agent can
//! greet at once; and the sending-side step is taken at the next `seal`, not at receive time,
//! so `open` needs no randomness and a failed `open` changes nothing.

use alloc::vec::Vec;
use rand_core::RngCore;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use crate::cipher::{self, NONCE_LEN};
use crate::encoding::Reader;
use crate::envelope::{self, Envelope, Role};
use crate::error::{DecodeError, Error, Result};
use crate::ratchet::{self, ChainKey, RecvChain, SendChain, SkippedKeys};
use crate::types::SessionId;

/// HKDF `info` of the root-chain KDF (`KDF_RK`).
const LABEL_RATCHET: &[u8] = b"hushwire/v2/ratchet";
/// Closed receiving chains kept for late messages (libsignal keeps 5 too): bounds the state
/// and the lookups; a sixth closed chain erases the oldest one's keys.
pub(crate) const MAX_OLD_CHAINS: usize = 5;
/// HKDF `info` deriving the first root key and the agent's first sending chain.
const LABEL_ROOT: &[u8] = b"hushwire/v2/root";

/// `KDF_RK(rk, dh_out)`: HKDF-SHA256 with salt `rk`, 64 bytes: the new root key, then the new
/// chain key (the spec's recommended instantiation, §5.2).
fn kdf_rk(root: &ChainKey, dh_out: &[u8; 32]) -> (ChainKey, ChainKey) {
    let (rk, ck) = cipher::hkdf_sha256_64(&root.0, dh_out, LABEL_RATCHET);
    (ChainKey(rk.0), ChainKey(ck.0))
}

/// This side's current ratchet key pair.
struct OwnKey {
    secret: StaticSecret,
    public: [u8; 32],
}

impl OwnKey {
    fn new(secret: StaticSecret) -> Self {
        let public = PublicKey::from(&secret).to_bytes();
        OwnKey { secret, public }
    }
}

/// The receiving chain under the peer's current ratchet key.
struct CurrentRecv {
    ratchet_key: [u8; 32],
    chain: RecvChain,
}

/// A closed receiving chain: only the keys of its messages still missing remain.
struct OldChain {
    ratchet_key: [u8; 32],
    skipped: SkippedKeys,
}

/// The DH ratchet state of one side.
pub(crate) struct DhRatchet {
    root: ChainKey,
    /// `None` only for a visitor that has not sent yet (its first `seal` creates it).
    own: Option<OwnKey>,
    /// `None` after the peer's ratchet key changed: the next `seal` takes a DH step.
    send: Option<SendChain>,
    /// Messages in this side's previous sending chain (the header's `pn`).
    prev_send: u32,
    /// `None` only for an agent that has received nothing yet.
    recv: Option<CurrentRecv>,
    /// The last [`MAX_OLD_CHAINS`] closed receiving chains, oldest first.
    old: Vec<OldChain>,
}

/// The parsed v2 header fields `open` needs.
pub(crate) struct Header {
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) prev_chain_len: u32,
    pub(crate) counter: u32,
}

impl DhRatchet {
    /// The state right after the handshake (docs/PROTOCOL.md §17.2). `k1`, `k2`, `h` are the
    /// Noise split and handshake hash; the agent passes its handshake ephemeral secret, the
    /// visitor the agent's ephemeral public key.
    pub(crate) fn from_handshake(
        role: Role,
        handshake_hash: &[u8; 32],
        k1: &[u8; 32],
        k2: &[u8; 32],
        agent_ephemeral: AgentEphemeral,
    ) -> Result<Self> {
        let mut ikm = Zeroizing::new([0u8; 64]);
        for (d, s) in ikm.iter_mut().zip(k1.iter().chain(k2.iter())) {
            *d = *s;
        }
        let (root, a2v) = cipher::hkdf_sha256_64(handshake_hash, ikm.as_ref(), LABEL_ROOT);
        let root = ChainKey(root.0);
        let a2v = ChainKey(a2v.0);
        Ok(match (role, agent_ephemeral) {
            (Role::Agent, AgentEphemeral::Secret(e)) => DhRatchet {
                root,
                own: Some(OwnKey::new(e)),
                send: Some(SendChain {
                    chain_key: a2v,
                    next: 0,
                }),
                prev_send: 0,
                recv: None,
                old: Vec::new(),
            },
            (Role::Visitor, AgentEphemeral::Public(e)) => DhRatchet {
                root,
                own: None,
                send: None,
                prev_send: 0,
                recv: Some(CurrentRecv {
                    ratchet_key: e,
                    chain: RecvChain {
                        chain_key: a2v,
                        next: 0,
                        skipped: SkippedKeys::default(),
                    },
                }),
                old: Vec::new(),
            },
            _ => return Err(Error::InvalidArgument("ratchet start does not match the role")),
        })
    }

    /// Seal the next message (docs/PROTOCOL.md §17.3): a DH step first if the peer's key
    /// changed since this side last sent. Nothing changes unless sealing succeeds.
    pub(crate) fn seal(
        &mut self,
        session_id: &SessionId,
        role: Role,
        rng: &mut dyn RngCore,
        body_len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Envelope> {
        let mut stepped = None;
        let prev_send = self.prev_send;
        let (mut chain_key, counter, public) = match (&self.send, &self.own) {
            (Some(send), Some(own)) => (send.chain_key.clone(), send.next, own.public),
            _ => {
                let peer = self
                    .recv
                    .as_ref()
                    .ok_or(Error::InvalidArgument("no peer ratchet key"))?;
                let own = OwnKey::new(cipher::random_x25519(rng)?);
                let dh = cipher::x25519(&own.secret, &peer.ratchet_key)?;
                let (root, ck) = kdf_rk(&self.root, &dh.0);
                let public = own.public;
                stepped = Some((own, root));
                (ck, 0, public)
            }
        };
        // As in v1, counter 0xffffffff means "no more" (docs/PROTOCOL.md §6.2).
        if counter == u32::MAX {
            return Err(Error::SessionExhausted);
        }
        let mut nonce = [0u8; NONCE_LEN];
        cipher::fill_random(rng, &mut nonce)?;
        let header = envelope::header_v2(session_id, role, &public, prev_send, counter);
        let message_key = ratchet::step(&mut chain_key);
        let envelope = Envelope::seal_body(&header, &nonce, &message_key.0, body_len, write)?;
        if let Some((own, root)) = stepped {
            self.own = Some(own);
            self.root = root;
        }
        self.send = Some(SendChain {
            chain_key,
            next: counter + 1,
        });
        Ok(envelope)
    }

    /// Find the key for a received message, decrypt with `decrypt`, and commit only if it
    /// succeeds (docs/PROTOCOL.md §17.4 gives the check order).
    pub(crate) fn open(
        &mut self,
        header: &Header,
        max_skip: u32,
        max_stored: usize,
        decrypt: impl FnOnce(&[u8; 32]) -> Result<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let n = header.counter;
        // 1. The peer's current chain.
        if let Some(cur) = self.recv.as_mut().filter(|c| c.ratchet_key == header.ratchet_key) {
            if n < cur.chain.next {
                let key = cur.chain.skipped.get(n).ok_or(Error::Replay)?;
                let pt = decrypt(key)?;
                cur.chain.skipped.remove(n);
                return Ok(pt);
            }
            if n - cur.chain.next > max_skip {
                return Err(Error::TooFarAhead);
            }
            let advance = cur.chain.advance_to(n);
            let pt = decrypt(&advance.message_key.0)?;
            cur.chain.commit(advance, max_stored);
            self.enforce_bound(max_stored);
            return Ok(pt);
        }
        // 2. An earlier chain of the peer: only stored keys can open.
        if let Some(i) = self.old.iter().position(|c| c.ratchet_key == header.ratchet_key) {
            let chain = self.old.get_mut(i).ok_or(Error::Replay)?;
            let key = chain.skipped.get(n).ok_or(Error::Replay)?;
            let pt = decrypt(key)?;
            chain.skipped.remove(n);
            return Ok(pt);
        }
        // 3. A new ratchet key: close the current chain at `pn`, step the root chain.
        // Only a side that has sent a ratchet key can be answered with a new one.
        let own = self.own.as_ref().ok_or(Error::Tampered)?;
        let tail_from = self.recv.as_ref().map_or(0, |c| c.chain.next);
        let tail_len = header.prev_chain_len.saturating_sub(tail_from);
        if tail_len > max_skip || n > max_skip {
            return Err(Error::TooFarAhead);
        }
        let tail = match &self.recv {
            Some(cur) => cur.chain.keys_until(header.prev_chain_len),
            None => Zeroizing::new(Vec::new()),
        };
        let dh = cipher::x25519(&own.secret, &header.ratchet_key)?;
        let (root, chain_key) = kdf_rk(&self.root, &dh.0);
        let mut chain = RecvChain {
            chain_key,
            next: 0,
            skipped: SkippedKeys::default(),
        };
        let advance = chain.advance_to(n);
        let pt = decrypt(&advance.message_key.0)?;
        // Authenticated: commit.
        chain.commit(advance, max_stored);
        if let Some(mut cur) = self.recv.take() {
            for (counter, key) in (tail_from..).zip(tail.iter()) {
                cur.chain.skipped.push(counter, key);
            }
            // Kept even without keys, so that a late message of it is a replay, not a new step.
            self.old.push(OldChain {
                ratchet_key: cur.ratchet_key,
                skipped: core::mem::take(&mut cur.chain.skipped),
            });
            if self.old.len() > MAX_OLD_CHAINS {
                // Its `SkippedKeys` wipes every key as it drops.
                self.old.remove(0);
            }
            // `cur.chain.chain_key` is wiped as `cur` drops: the closed chain derives nothing more.
        }
        self.recv = Some(CurrentRecv {
            ratchet_key: header.ratchet_key,
            chain,
        });
        self.root = root;
        // This side's next `seal` takes the sending step with a fresh key.
        if let Some(send) = &self.send {
            self.prev_send = send.next;
        }
        self.send = None;
        self.enforce_bound(max_stored);
        Ok(pt)
    }

    /// Number of stored skipped-message keys across every chain.
    pub(crate) fn stored_keys(&self) -> usize {
        self.old.iter().map(|c| c.skipped.len()).sum::<usize>()
            + self.recv.as_ref().map_or(0, |c| c.chain.skipped.len())
    }

    /// Erase the oldest keys (oldest chain first) until at most `max_stored` remain.
    pub(crate) fn enforce_bound(&mut self, max_stored: usize) {
        let mut total = self.stored_keys();
        while total > max_stored {
            if let Some(oldest) = self.old.iter_mut().find(|c| c.skipped.len() > 0) {
                oldest.skipped.pop_oldest();
            } else if let Some(cur) = self.recv.as_mut() {
                cur.chain.skipped.pop_oldest();
            } else {
                break;
            }
            total -= 1;
        }
    }

    /// Messages sealed in the current sending chain.
    pub(crate) fn sent(&self) -> u32 {
        self.send.as_ref().map_or(0, |s| s.next)
    }

    /// Next counter expected on the current receiving chain.
    pub(crate) fn received_next(&self) -> u32 {
        self.recv.as_ref().map_or(0, |c| c.chain.next)
    }

    /// `(sending, receiving)` chain keys (zeros where there is no chain), for the tests.
    #[cfg(feature = "testing")]
    pub(crate) fn chain_keys(&self) -> ([u8; 32], [u8; 32]) {
        (
            self.send.as_ref().map_or([0; 32], |s| s.chain_key.0),
            self.recv.as_ref().map_or([0; 32], |c| c.chain.chain_key.0),
        )
    }

    /// Bytes [`DhRatchet::write_state`] appends.
    pub(crate) fn state_len(&self) -> usize {
        let chains = self.old.len() * (32 + 4)
            + self.recv.as_ref().map_or(0, |_| 32 + 32 + 4 + 4)
            + STATE_KEY_LEN * self.stored_keys();
        32 + 1
            + self.own.as_ref().map_or(0, |_| 32)
            + 1
            + self.send.as_ref().map_or(0, |_| 36)
            + 4
            + 1
            + 4
            + chains
    }

    /// Append the state (docs/PROTOCOL.md §17.6) to `out`, which has room for it.
    pub(crate) fn write_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.root.0);
        match &self.own {
            Some(own) => {
                out.push(1);
                out.extend_from_slice(own.secret.as_bytes());
            }
            None => out.push(0),
        }
        match &self.send {
            Some(send) => {
                out.push(1);
                out.extend_from_slice(&send.chain_key.0);
                out.extend_from_slice(&send.next.to_be_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.prev_send.to_be_bytes());
        match &self.recv {
            Some(cur) => {
                out.push(1);
                out.extend_from_slice(&cur.ratchet_key);
                out.extend_from_slice(&cur.chain.chain_key.0);
                out.extend_from_slice(&cur.chain.next.to_be_bytes());
                write_keys(out, &cur.chain.skipped);
            }
            None => out.push(0),
        }
        out.extend_from_slice(&(self.old.len() as u32).to_be_bytes());
        for chain in &self.old {
            out.extend_from_slice(&chain.ratchet_key);
            write_keys(out, &chain.skipped);
        }
    }

    /// Read a state written by [`DhRatchet::write_state`], checking every field in order.
    pub(crate) fn read_state(r: &mut Reader<'_>, role: Role, max_stored: u32) -> Result<Self> {
        let root = ChainKey(r.array()?);
        let own = match flag(r)? {
            true => Some(OwnKey::new(StaticSecret::from(*Zeroizing::new(r.array::<32>()?)))),
            false => None,
        };
        let send = match flag(r)? {
            true => Some(SendChain {
                chain_key: ChainKey(r.array()?),
                next: r.u32()?,
            }),
            false => None,
        };
        let prev_send = r.u32()?;
        let mut budget = max_stored;
        let recv = match flag(r)? {
            true => {
                let ratchet_key = r.array()?;
                let chain_key = ChainKey(r.array()?);
                let next = r.u32()?;
                let skipped = read_keys(r, next, &mut budget)?;
                Some(CurrentRecv {
                    ratchet_key,
                    chain: RecvChain {
                        chain_key,
                        next,
                        skipped,
                    },
                })
            }
            false => None,
        };
        let count = r.u32()?;
        if count as usize > MAX_OLD_CHAINS {
            return Err(DecodeError::InvalidField("old chain count").into());
        }
        let mut old = Vec::new();
        for _ in 0..count {
            let ratchet_key: [u8; 32] = r.array()?;
            let skipped = read_keys(r, u32::MAX, &mut budget)?;
            if recv.as_ref().is_some_and(|c| c.ratchet_key == ratchet_key)
                || old.iter().any(|c: &OldChain| c.ratchet_key == ratchet_key)
            {
                return Err(DecodeError::InvalidField("old chain").into());
            }
            old.push(OldChain { ratchet_key, skipped });
        }
        // The states a session can reach (§17.6): an agent always has a key; a sending chain
        // needs one; a side that cannot send (no key or no chain) must have a peer key to step to.
        let consistent = match role {
            Role::Agent => own.is_some() && (send.is_some() || recv.is_some()),
            Role::Visitor => recv.is_some() && (own.is_some() || send.is_none()),
        };
        if !consistent || (send.is_none() && recv.is_none()) {
            return Err(DecodeError::InvalidField("ratchet state").into());
        }
        Ok(DhRatchet {
            root,
            own,
            send,
            prev_send,
            recv,
            old,
        })
    }
}

/// Bytes per stored key in a state: counter and key.
const STATE_KEY_LEN: usize = 4 + 32;

/// How the agent's handshake ephemeral enters the ratchet.
pub(crate) enum AgentEphemeral {
    /// The agent's own secret: its first ratchet key.
    Secret(StaticSecret),
    /// The visitor's view: the agent's first ratchet public key.
    Public([u8; 32]),
}

fn flag(r: &mut Reader<'_>) -> Result<bool> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::InvalidField("presence flag").into()),
    }
}

fn write_keys(out: &mut Vec<u8>, keys: &SkippedKeys) {
    out.extend_from_slice(&(keys.len() as u32).to_be_bytes());
    for (n, key) in keys.iter() {
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(key);
    }
}

/// Read `count || (counter || key)*`: ascending counters below `below`, at most `budget` keys
/// in all (decremented).
fn read_keys(r: &mut Reader<'_>, below: u32, budget: &mut u32) -> Result<SkippedKeys> {
    let count = r.u32()?;
    if count > *budget {
        return Err(DecodeError::InvalidField("skipped key count").into());
    }
    *budget -= count;
    let mut keys = SkippedKeys::default();
    for _ in 0..count {
        let n = r.u32()?;
        let mut key = Zeroizing::new(r.array::<32>()?);
        if n >= below || !keys.push(n, &key) {
            key.zeroize();
            return Err(DecodeError::InvalidField("skipped key").into());
        }
    }
    Ok(keys)
}
