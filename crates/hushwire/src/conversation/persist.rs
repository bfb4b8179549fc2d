//! Persistence of a whole conversation (docs/PROTOCOL.md §18.7): the roster log, one
//! pairwise session state per member, the counters and the pending events, sealed as one
//! export of kind `'C'` (§8.1).

use alloc::{string::String, vec::Vec};
use rand_core::RngCore;
use zeroize::Zeroizing;

use super::roster::{Change, MemberId, Roster};
use super::{Conversation, Peer, Pending, Track, MAX_PENDING_EVENTS, STATE_VERSION};
use crate::encoding::Reader;
use crate::error::{DecodeError, Result};
use crate::org::OrgPublicKey;
use crate::session::Session;
use crate::storage::{self, Kind, StorageKey};

impl Conversation {
    /// Seal the whole state (roster log, sessions, counters) under `storage_key`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Randomness`].
    pub fn export(&self, storage_key: &StorageKey) -> Result<String> {
        self.export_bytes(storage_key)
            .map(|b| crate::encoding::to_base64(&b))
    }

    /// [`Self::export`] as bytes.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Randomness`].
    pub fn export_bytes(&self, storage_key: &StorageKey) -> Result<Vec<u8>> {
        self.export_bytes_with_rng(storage_key, &mut rand_core::OsRng)
    }

    pub(crate) fn export_bytes_with_rng(
        &self,
        storage_key: &StorageKey,
        rng: &mut dyn RngCore,
    ) -> Result<Vec<u8>> {
        let mut s = Zeroizing::new(Vec::new());
        s.push(STATE_VERSION);
        s.extend_from_slice(&self.id);
        s.extend_from_slice(&self.roster_org().to_bytes());
        self.me.write(&mut s);
        s.extend_from_slice(&self.sent.to_be_bytes());
        s.extend_from_slice(&self.whispered.to_be_bytes());
        self.roster.write_log(&mut s);
        s.push(self.peers.len() as u8);
        for p in &self.peers {
            p.member.write(&mut s);
            s.push(u8::from(p.confirmed));
            let state = p.session.state_bytes();
            s.extend_from_slice(&(state.len() as u32).to_be_bytes());
            s.extend_from_slice(&state);
        }
        s.push(self.tracks.len() as u8);
        for t in &self.tracks {
            t.sender.write(&mut s);
            s.push(u8::from(t.whisper));
            s.extend_from_slice(&t.next.to_be_bytes());
        }
        s.push(self.pending.len() as u8);
        for p in &self.pending {
            p.issuer.write(&mut s);
            s.extend_from_slice(&p.prev);
            s.extend_from_slice(&p.change.to_bytes());
        }
        storage::seal(storage_key, Kind::Conversation, &s, rng)
    }

    fn roster_org(&self) -> OrgPublicKey {
        self.roster.org()
    }

    /// Open a conversation sealed by [`Self::export`]. The roster log is replayed and every
    /// event checked again; every session must belong to a current member.
    ///
    /// # Errors
    ///
    /// [`crate::Error::ExportAuthentication`] for a wrong key or altered export; [`crate::Error::Malformed`]
    /// for a state that does not decode; the roster errors of a replayed event.
    pub fn import(exported: &str, storage_key: &StorageKey) -> Result<Conversation> {
        let plain = storage::open_text(storage_key, Kind::Conversation, exported)?;
        Self::from_state(&plain)
    }

    /// Open a conversation from [`Self::export_bytes`].
    ///
    /// # Errors
    ///
    /// As [`Self::import`].
    pub fn import_bytes(exported: &[u8], storage_key: &StorageKey) -> Result<Conversation> {
        let plain = storage::open(storage_key, Kind::Conversation, exported)?;
        Self::from_state(&plain)
    }

    fn from_state(bytes: &[u8]) -> Result<Conversation> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != STATE_VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let id: [u8; 16] = r.array()?;
        let org = OrgPublicKey::from_bytes(r.take(32)?)?;
        let me = MemberId::read(&mut r)?;
        let sent = r.u32()?;
        let whispered = r.u32()?;
        let roster = Roster::replay(org, &id, &mut r)?;
        let mut peers = Vec::new();
        for _ in 0..r.u8()? {
            let member = MemberId::read(&mut r)?;
            let confirmed = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(DecodeError::InvalidField("confirmed").into()),
            };
            let len = r.u32()? as usize;
            let session = Session::from_state_bytes(r.take(len)?)?;
            if roster.member(&member).is_none() || peers.iter().any(|p: &Peer| p.member == member) {
                return Err(DecodeError::InvalidField("session member").into());
            }
            peers.push(Peer {
                member,
                session,
                confirmed,
            });
        }
        let mut tracks = Vec::new();
        for _ in 0..r.u8()? {
            let sender = MemberId::read(&mut r)?;
            let whisper = r.u8()? == 1;
            tracks.push(Track {
                sender,
                whisper,
                next: r.u32()?,
            });
        }
        let mut pending = Vec::new();
        for _ in 0..r.u8()? {
            if pending.len() >= MAX_PENDING_EVENTS {
                return Err(DecodeError::InvalidField("pending events").into());
            }
            pending.push(Pending {
                issuer: MemberId::read(&mut r)?,
                prev: r.array()?,
                change: Change::read(&mut r)?,
            });
        }
        r.finish()?;
        Ok(Conversation {
            id,
            me,
            roster,
            peers,
            sent,
            whispered,
            tracks,
            pending,
        })
    }
}
