//! The roster: who is in a conversation, changed only by authenticated events from
//! organisation members, hash-chained so that members can compare one short code
//! (docs/PROTOCOL.md §18.4).

use alloc::{string::String, vec::Vec};

use crate::cipher;
use crate::encoding::{put_short_str, Reader};
use crate::error::{DecodeError, Error, Result};
use crate::org::{AgentCertificate, OrgPublicKey, OrgRole, CERT_MAX_LEN, MAX_ID_LEN};

/// Most devices in one conversation, the visitor included. Fan-out seals one copy per
/// device, so this bounds the cost of every message (docs/PROTOCOL.md §18.3).
pub const MAX_MEMBERS: usize = 16;
/// Most roster events in one conversation (the creation included); the welcome a new member
/// receives carries all of them in one message. Start a new conversation beyond it.
pub const MAX_ROSTER_EVENTS: usize = 128;

const HEAD_LABEL: &[u8] = b"hushwire/v1/roster-head";
const CODE_LABEL: &[u8] = b"hushwire/v1/roster-code";

/// Event kind bytes (§18.4).
const EV_CREATE: u8 = 1;
const EV_JOIN: u8 = 2;
const EV_LEAVE: u8 = 3;
const EV_REMOVE: u8 = 4;
const EV_TRANSFER: u8 = 5;
const EV_GRANT: u8 = 6;

/// Who a member is: the agent id and device id of its certificate, or both empty for the
/// visitor (certificates never carry an empty id, so the two cannot collide).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId {
    agent_id: String,
    device_id: String,
}

impl core::fmt::Debug for MemberId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_visitor() {
            f.write_str("MemberId(visitor)")
        } else {
            write!(f, "MemberId({}/{})", self.agent_id, self.device_id)
        }
    }
}

impl MemberId {
    /// The visitor.
    pub fn visitor() -> MemberId {
        MemberId {
            agent_id: String::new(),
            device_id: String::new(),
        }
    }

    /// An organisation device, by its certificate's ids.
    pub fn device(agent_id: &str, device_id: &str) -> MemberId {
        MemberId {
            agent_id: agent_id.into(),
            device_id: device_id.into(),
        }
    }

    /// The member a certificate certifies.
    pub fn of_certificate(cert: &AgentCertificate) -> MemberId {
        MemberId::device(cert.agent_id(), cert.device_id())
    }

    pub(crate) fn of(cert: &AgentCertificate) -> MemberId {
        Self::of_certificate(cert)
    }

    /// Whether this is the visitor.
    pub fn is_visitor(&self) -> bool {
        self.agent_id.is_empty()
    }
    /// The agent id (empty for the visitor).
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }
    /// The device id (empty for the visitor).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        put_short_str(out, &self.agent_id);
        put_short_str(out, &self.device_id);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<MemberId, DecodeError> {
        // Two length-prefixed UTF-8 strings of at most MAX_ID_LEN bytes: both empty (the
        // visitor) or both set, as in a certificate.
        let mut part = |field| -> Result<String, DecodeError> {
            let len = usize::from(r.u8()?);
            if len > MAX_ID_LEN {
                return Err(DecodeError::InvalidField(field));
            }
            String::from_utf8(r.take(len)?.to_vec()).map_err(|_| DecodeError::InvalidField(field))
        };
        let agent_id = part("agent_id")?;
        let device_id = part("device_id")?;
        if agent_id.is_empty() != device_id.is_empty() {
            return Err(DecodeError::InvalidField("member id"));
        }
        Ok(MemberId { agent_id, device_id })
    }
}

/// What a member is in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemberRole {
    /// The visitor (anonymous, no certificate).
    Visitor,
    /// An organisation device certified as an agent (all version 1 certificates).
    Agent,
    /// An organisation device certified as a supervisor.
    Supervisor,
    /// An organisation device certified as a bot.
    Bot,
}

impl MemberRole {
    fn of(role: OrgRole) -> MemberRole {
        match role {
            OrgRole::Agent => MemberRole::Agent,
            OrgRole::Supervisor => MemberRole::Supervisor,
            OrgRole::Bot => MemberRole::Bot,
        }
    }
}

/// One current member of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    id: MemberId,
    role: MemberRole,
    certificate: Option<AgentCertificate>,
    history_from: Option<MemberId>,
}

impl Member {
    /// The member's id.
    pub fn id(&self) -> &MemberId {
        &self.id
    }
    /// The member's role (from its certificate).
    pub fn role(&self) -> MemberRole {
        self.role
    }
    /// The member's certificate (`None` for the visitor).
    pub fn certificate(&self) -> Option<&AgentCertificate> {
        self.certificate.as_ref()
    }
    /// Who shared the conversation's history with this member, if anyone did (a history
    /// grant is visible to every member, the visitor included).
    pub fn history_shared_by(&self) -> Option<&MemberId> {
        self.history_from.as_ref()
    }
    /// Whether this member belongs to the organisation (everyone but the visitor).
    pub fn is_org(&self) -> bool {
        self.role != MemberRole::Visitor
    }
}

/// A change to the roster, as every member sees it (docs/PROTOCOL.md §18.4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RosterEvent {
    /// The conversation was created by `by` (the first organisation member).
    Created {
        /// The creator.
        by: MemberId,
    },
    /// `by` added `member`.
    Joined {
        /// Who added the member.
        by: MemberId,
        /// The new member.
        member: MemberId,
    },
    /// `member` left.
    Left {
        /// Who left.
        member: MemberId,
    },
    /// `by` removed `member`: it receives nothing sent after this event.
    Removed {
        /// Who removed the member.
        by: MemberId,
        /// The removed member.
        member: MemberId,
    },
    /// `from` handed the conversation to `to` and left.
    Transferred {
        /// The member that left.
        from: MemberId,
        /// The member that took over.
        to: MemberId,
    },
    /// `from` shared the conversation's history with `to`.
    HistoryShared {
        /// The member that sealed its history for `to`.
        from: MemberId,
        /// The member that received it.
        to: MemberId,
    },
}

/// An event as carried on the wire: its kind and its subject.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Create(AgentCertificate),
    Join(AgentCertificate),
    Leave,
    Remove(MemberId),
    Transfer(MemberId),
    Grant(MemberId),
}

impl Change {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Change::Create(c) | Change::Join(c) => {
                out.push(if matches!(self, Change::Create(_)) {
                    EV_CREATE
                } else {
                    EV_JOIN
                });
                let bytes = c.to_bytes();
                out.push(bytes.len() as u8);
                out.extend_from_slice(&bytes);
            }
            Change::Leave => out.push(EV_LEAVE),
            Change::Remove(m) | Change::Transfer(m) | Change::Grant(m) => {
                out.push(match self {
                    Change::Remove(_) => EV_REMOVE,
                    Change::Transfer(_) => EV_TRANSFER,
                    _ => EV_GRANT,
                });
                m.write(&mut out);
            }
        }
        out
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Change, DecodeError> {
        let kind = r.u8()?;
        Ok(match kind {
            EV_CREATE | EV_JOIN => {
                let len = usize::from(r.u8()?);
                if len > CERT_MAX_LEN {
                    return Err(DecodeError::InvalidField("certificate length"));
                }
                let cert = AgentCertificate::from_bytes(r.take(len)?)
                    .map_err(|_| DecodeError::InvalidField("certificate"))?;
                if kind == EV_CREATE {
                    Change::Create(cert)
                } else {
                    Change::Join(cert)
                }
            }
            EV_LEAVE => Change::Leave,
            EV_REMOVE => Change::Remove(MemberId::read(r)?),
            EV_TRANSFER => Change::Transfer(MemberId::read(r)?),
            EV_GRANT => Change::Grant(MemberId::read(r)?),
            _ => return Err(DecodeError::InvalidField("roster event kind")),
        })
    }
}

/// One entry of the hash-chained log: who issued which change.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) issuer: MemberId,
    pub(crate) change: Change,
}

impl Entry {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.issuer.write(out);
        out.extend_from_slice(&self.change.to_bytes());
    }
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Entry, DecodeError> {
        Ok(Entry {
            issuer: MemberId::read(r)?,
            change: Change::read(r)?,
        })
    }
}

/// The roster state: the log, the members it yields and the chain of heads.
#[derive(Clone)]
pub(crate) struct Roster {
    org: OrgPublicKey,
    log: Vec<Entry>,
    members: Vec<Member>,
    /// `heads[i]` is the head after `i` events; `heads[0]` commits to the conversation id.
    heads: Vec<[u8; 32]>,
}

fn head_after(prev: &[u8; 32], entry: &Entry) -> [u8; 32] {
    let mut bytes = Vec::new();
    entry.write(&mut bytes);
    cipher::sha256(&[HEAD_LABEL, prev, &bytes])
}

impl Roster {
    /// An empty roster holding only the visitor; the first event must be `Create`.
    pub(crate) fn new(org: OrgPublicKey, conversation_id: &[u8; 16]) -> Roster {
        Roster {
            org,
            log: Vec::new(),
            members: alloc::vec![Member {
                id: MemberId::visitor(),
                role: MemberRole::Visitor,
                certificate: None,
                history_from: None,
            }],
            heads: alloc::vec![cipher::sha256(&[HEAD_LABEL, conversation_id])],
        }
    }

    pub(crate) fn org(&self) -> OrgPublicKey {
        self.org
    }
    pub(crate) fn members(&self) -> &[Member] {
        &self.members
    }
    pub(crate) fn head(&self) -> [u8; 32] {
        self.heads.last().copied().unwrap_or_default()
    }
    /// Whether `head` is an earlier head of this roster (an event built on it now conflicts).
    pub(crate) fn is_past_head(&self, head: &[u8; 32]) -> bool {
        self.heads.iter().rev().skip(1).any(|h| h == head)
    }
    pub(crate) fn member(&self, id: &MemberId) -> Option<&Member> {
        self.members.iter().find(|m| &m.id == id)
    }
    /// The 12-digit roster code (`"0123 4567 8901"`): equal on two devices exactly when
    /// their rosters went through the same events.
    pub(crate) fn code(&self) -> String {
        // Same derivation and format as the safety code (§9), under its own label.
        crate::encoding::twelve_digit_code(&cipher::hkdf_sha256_32(&[], &self.head(), CODE_LABEL).0)
    }

    /// Check `entry` against the current roster (§18.4 check order) and apply it. Returns
    /// the event as members see it. On error the roster is unchanged.
    pub(crate) fn apply(&mut self, entry: Entry) -> Result<RosterEvent> {
        if self.log.len() >= MAX_ROSTER_EVENTS {
            return Err(Error::ConversationFull);
        }
        let issuer = entry.issuer.clone();
        let first = self.log.is_empty();
        // The creation is the first event and only the first; every later event comes from
        // a current organisation member.
        if let Change::Create(cert) = &entry.change {
            if !first || MemberId::of(cert) != issuer {
                return Err(Error::RosterForbidden);
            }
        } else {
            if first {
                return Err(Error::RosterForbidden);
            }
            match self.member(&issuer) {
                None => return Err(Error::NotAMember),
                Some(m) if !m.is_org() => return Err(Error::RosterForbidden),
                Some(_) => {}
            }
        }
        let org_member = |roster: &Roster, id: &MemberId| -> Result<usize> {
            let i = roster
                .members
                .iter()
                .position(|m| &m.id == id)
                .ok_or(Error::NotAMember)?;
            Ok(i)
        };
        let event = match &entry.change {
            Change::Create(cert) | Change::Join(cert) => {
                cert.verify_signature(&self.org)?;
                let id = MemberId::of(cert);
                if self.member(&id).is_some() {
                    return Err(Error::RosterForbidden);
                }
                if self.members.len() >= MAX_MEMBERS {
                    return Err(Error::ConversationFull);
                }
                self.members.push(Member {
                    id: id.clone(),
                    role: MemberRole::of(cert.role()),
                    certificate: Some(cert.clone()),
                    history_from: None,
                });
                if first {
                    RosterEvent::Created { by: id }
                } else {
                    RosterEvent::Joined {
                        by: issuer,
                        member: id,
                    }
                }
            }
            Change::Leave => {
                let i = org_member(self, &issuer)?;
                self.members.remove(i);
                RosterEvent::Left { member: issuer }
            }
            Change::Remove(subject) => {
                let i = org_member(self, subject)?;
                let target = self.members.get(i).ok_or(Error::NotAMember)?;
                let by_supervisor = self.member(&issuer).map(|m| m.role) == Some(MemberRole::Supervisor);
                // The visitor is never removed (the conversation ends instead); only a
                // supervisor removes a supervisor; leaving is `Leave`.
                if !target.is_org()
                    || subject == &issuer
                    || (target.role == MemberRole::Supervisor && !by_supervisor)
                {
                    return Err(Error::RosterForbidden);
                }
                self.members.remove(i);
                RosterEvent::Removed {
                    by: issuer,
                    member: subject.clone(),
                }
            }
            Change::Transfer(to) => {
                let t = org_member(self, to)?;
                if to == &issuer || !self.members.get(t).is_some_and(Member::is_org) {
                    return Err(Error::RosterForbidden);
                }
                let i = org_member(self, &issuer)?;
                self.members.remove(i);
                RosterEvent::Transferred {
                    from: issuer,
                    to: to.clone(),
                }
            }
            Change::Grant(to) => {
                let t = org_member(self, to)?;
                if to == &issuer || !self.members.get(t).is_some_and(Member::is_org) {
                    return Err(Error::RosterForbidden);
                }
                if let Some(m) = self.members.get_mut(t) {
                    m.history_from = Some(issuer.clone());
                }
                RosterEvent::HistoryShared {
                    from: issuer,
                    to: to.clone(),
                }
            }
        };
        let head = head_after(&self.head(), &entry);
        self.heads.push(head);
        self.log.push(entry);
        Ok(event)
    }

    /// The log as carried in a welcome and an export: `count u8 || entries`.
    pub(crate) fn write_log(&self, out: &mut Vec<u8>) {
        out.push(self.log.len() as u8);
        for e in &self.log {
            e.write(out);
        }
    }

    /// Rebuild a roster by replaying a log, checking every event as it was checked live.
    pub(crate) fn replay(
        org: OrgPublicKey,
        conversation_id: &[u8; 16],
        r: &mut Reader<'_>,
    ) -> Result<Roster> {
        let n = usize::from(r.u8()?);
        if n == 0 || n > MAX_ROSTER_EVENTS {
            return Err(DecodeError::InvalidField("roster event count").into());
        }
        let mut roster = Roster::new(org, conversation_id);
        for _ in 0..n {
            roster.apply(Entry::read(r)?)?;
        }
        Ok(roster)
    }
}
