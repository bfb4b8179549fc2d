//! Conversations (docs/PROTOCOL.md §18): thin wrappers over `hushwire::conversation` and the
//! organisation-to-organisation handshake. The handshakes that feed a conversation run inside
//! these calls (the core's `Conversation` owns its sessions, so a `Session` object handed out
//! to the app could not be moved into it).

use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::error::Result;
use crate::handshake::{AgentIdentity, VisitorHandshake};
use crate::keys::{AgentCertificate, StorageKey};
use crate::lock;

/// The role a version 2 certificate states.
#[derive(uniffi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgRole {
    /// A human agent.
    Agent,
    /// A supervisor.
    Supervisor,
    /// A bot.
    Bot,
}

impl From<OrgRole> for hushwire::OrgRole {
    fn from(r: OrgRole) -> Self {
        match r {
            OrgRole::Agent => hushwire::OrgRole::Agent,
            OrgRole::Supervisor => hushwire::OrgRole::Supervisor,
            OrgRole::Bot => hushwire::OrgRole::Bot,
        }
    }
}

/// A member of a conversation: the ids of its certificate, both empty for the visitor.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberId {
    /// The agent id (empty for the visitor).
    pub agent_id: String,
    /// The device id (empty for the visitor).
    pub device_id: String,
}

impl From<&hushwire::conversation::MemberId> for MemberId {
    fn from(m: &hushwire::conversation::MemberId) -> Self {
        MemberId {
            agent_id: m.agent_id().to_owned(),
            device_id: m.device_id().to_owned(),
        }
    }
}

impl From<&MemberId> for hushwire::conversation::MemberId {
    fn from(m: &MemberId) -> Self {
        if m.agent_id.is_empty() && m.device_id.is_empty() {
            hushwire::conversation::MemberId::visitor()
        } else {
            hushwire::conversation::MemberId::device(&m.agent_id, &m.device_id)
        }
    }
}

/// A member's role in the conversation.
#[derive(uniffi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRole {
    /// The visitor.
    Visitor,
    /// An agent.
    Agent,
    /// A supervisor.
    Supervisor,
    /// A bot.
    Bot,
}

/// One current member of the roster.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its id.
    pub id: MemberId,
    /// Its role.
    pub role: MemberRole,
    /// Who shared the history with it, if anyone (visible to every member).
    pub history_shared_by: Option<MemberId>,
}

/// One envelope of a fan-out and the member the relay should deliver it to.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The recipient.
    pub to: MemberId,
    /// The envelope bytes.
    pub envelope: Vec<u8>,
}

impl From<hushwire::conversation::Outgoing> for Outgoing {
    fn from(o: hushwire::conversation::Outgoing) -> Self {
        Outgoing {
            to: (&o.to).into(),
            envelope: o.envelope.into_bytes(),
        }
    }
}

fn outs(v: Vec<hushwire::conversation::Outgoing>) -> Vec<Outgoing> {
    v.into_iter().map(Outgoing::from).collect()
}

/// A roster change, as every member sees it.
#[derive(uniffi::Enum, Debug, Clone, PartialEq, Eq)]
pub enum RosterEvent {
    /// The conversation was created.
    Created {
        /// The creator.
        by: MemberId,
    },
    /// A member was added.
    Joined {
        /// Who added it.
        by: MemberId,
        /// The new member.
        member: MemberId,
    },
    /// A member left.
    Left {
        /// Who left.
        member: MemberId,
    },
    /// A member was removed.
    Removed {
        /// Who removed it.
        by: MemberId,
        /// The removed member.
        member: MemberId,
    },
    /// A member handed over and left.
    Transferred {
        /// Who left.
        from: MemberId,
        /// Who took over.
        to: MemberId,
    },
    /// History was shared.
    HistoryShared {
        /// Who shared it.
        from: MemberId,
        /// Who received it.
        to: MemberId,
    },
    /// An event kind of a newer core than these bindings (never produced while the two are
    /// built together, as in this repository).
    Unknown,
}

impl From<&hushwire::conversation::RosterEvent> for RosterEvent {
    fn from(e: &hushwire::conversation::RosterEvent) -> Self {
        use hushwire::conversation::RosterEvent as E;
        match e {
            E::Created { by } => RosterEvent::Created { by: by.into() },
            E::Joined { by, member } => RosterEvent::Joined {
                by: by.into(),
                member: member.into(),
            },
            E::Left { member } => RosterEvent::Left {
                member: member.into(),
            },
            E::Removed { by, member } => RosterEvent::Removed {
                by: by.into(),
                member: member.into(),
            },
            E::Transferred { from, to } => RosterEvent::Transferred {
                from: from.into(),
                to: to.into(),
            },
            E::HistoryShared { from, to } => RosterEvent::HistoryShared {
                from: from.into(),
                to: to.into(),
            },
            // The core's enum is non-exhaustive.
            _ => RosterEvent::Unknown,
        }
    }
}

/// What `Conversation.open` found.
#[derive(uniffi::Enum, Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A message to every member (`sender` rather than `from`, a keyword in Python).
    Message {
        /// The sender (authenticated).
        sender: MemberId,
        /// The sender's counter.
        counter: u32,
        /// Counters skipped since the last message from this sender (withheld or in flight).
        gap: u32,
        /// Whether the sender's roster was this member's.
        roster_matches: bool,
        /// The text.
        text: Vec<u8>,
    },
    /// A whisper (organisation members only).
    Whisper {
        /// The sender (authenticated).
        sender: MemberId,
        /// The sender's whisper counter.
        counter: u32,
        /// As for `Message`.
        gap: u32,
        /// As for `Message`.
        roster_matches: bool,
        /// The text.
        text: Vec<u8>,
    },
    /// Roster events now applied (empty: kept until the one it builds on arrives).
    Roster {
        /// The events, in order.
        events: Vec<RosterEvent>,
    },
    /// History shared with this member under a visible grant.
    History {
        /// Who shared it.
        sender: MemberId,
        /// The history.
        history: Vec<u8>,
    },
    /// The visitor confirmed its session with this device.
    Present {
        /// The visitor.
        sender: MemberId,
    },
    /// A frame kind of a newer core than these bindings (never produced while the two are
    /// built together).
    Unknown,
}

impl From<hushwire::conversation::Received> for Received {
    fn from(r: hushwire::conversation::Received) -> Self {
        use hushwire::conversation::Received as R;
        match r {
            R::Message {
                from,
                counter,
                gap,
                roster_matches,
                text,
            } => Received::Message {
                sender: (&from).into(),
                counter,
                gap,
                roster_matches,
                text,
            },
            R::Whisper {
                from,
                counter,
                gap,
                roster_matches,
                text,
            } => Received::Whisper {
                sender: (&from).into(),
                counter,
                gap,
                roster_matches,
                text,
            },
            R::Roster { events } => Received::Roster {
                events: events.iter().map(RosterEvent::from).collect(),
            },
            R::History { from, history } => Received::History {
                sender: (&from).into(),
                history,
            },
            R::Present { from } => Received::Present {
                sender: (&from).into(),
            },
            _ => Received::Unknown,
        }
    }
}

/// A finished organisation handshake: hand it to `Conversation.attachOrg` or
/// `Conversation.joinAsOrg` (each takes it once).
#[derive(uniffi::Object)]
pub struct OrgSession {
    inner: Mutex<Option<hushwire::OrgSession>>,
    peer: Arc<AgentCertificate>,
}

impl OrgSession {
    fn wrap(s: hushwire::OrgSession) -> Arc<OrgSession> {
        Arc::new(OrgSession {
            peer: Arc::new(AgentCertificate {
                inner: s.peer().clone(),
            }),
            inner: Mutex::new(Some(s)),
        })
    }

    fn take(&self) -> Result<hushwire::OrgSession> {
        lock(&self.inner)
            .take()
            .ok_or_else(|| hushwire::Error::InvalidArgument("organisation session already used").into())
    }
}

#[uniffi::export]
impl OrgSession {
    /// The peer's verified certificate.
    pub fn peer(&self) -> Arc<AgentCertificate> {
        self.peer.clone()
    }
}

/// The initiating side of an organisation handshake.
#[derive(uniffi::Object)]
pub struct OrgInitiator {
    inner: Mutex<hushwire::OrgInitiator>,
}

/// The responding side of an organisation handshake.
#[derive(uniffi::Object)]
pub struct OrgResponder {
    inner: Mutex<hushwire::OrgResponder>,
}

/// What `AgentIdentity.startOrgHandshake` returns.
#[derive(uniffi::Record)]
pub struct OrgStart {
    /// Keep until the reply arrives.
    pub initiator: Arc<OrgInitiator>,
    /// The hello to send.
    pub hello: Vec<u8>,
}

/// What `AgentIdentity.acceptOrgHandshake` returns.
#[derive(uniffi::Record)]
pub struct OrgAccepted {
    /// Keep until the finish message arrives.
    pub responder: Arc<OrgResponder>,
    /// The reply to send.
    pub reply: Vec<u8>,
}

/// What `OrgInitiator.finishAt` returns.
#[derive(uniffi::Record)]
pub struct OrgFinished {
    /// The session with the responder.
    pub session: Arc<OrgSession>,
    /// The finish message to send.
    pub finish: Vec<u8>,
}

#[uniffi::export]
impl AgentIdentity {
    /// Start a mutually authenticated session with another device of this organisation.
    pub fn start_org_handshake(&self) -> Result<OrgStart> {
        let (i, m) = self.inner.start_org_handshake()?;
        Ok(OrgStart {
            initiator: Arc::new(OrgInitiator { inner: Mutex::new(i) }),
            hello: m.to_bytes(),
        })
    }

    /// Answer another organisation device's hello.
    pub fn accept_org_handshake(&self, hello: Vec<u8>) -> Result<OrgAccepted> {
        let hello = hushwire::OrgHandshakeMessage::from_bytes(&hello)?;
        let (r, m) = self.inner.accept_org_handshake(&hello)?;
        Ok(OrgAccepted {
            responder: Arc::new(OrgResponder { inner: Mutex::new(r) }),
            reply: m.to_bytes(),
        })
    }
}

#[uniffi::export]
impl OrgInitiator {
    /// Check the responder's certificate at `now` and produce the finish message.
    pub fn finish_at(&self, reply: Vec<u8>, now: u64) -> Result<OrgFinished> {
        let reply = hushwire::OrgHandshakeMessage::from_bytes(&reply)?;
        let (s, m) = lock(&self.inner).finish_at(&reply, now)?;
        Ok(OrgFinished {
            session: OrgSession::wrap(s),
            finish: m.to_bytes(),
        })
    }
}

#[uniffi::export]
impl OrgResponder {
    /// Check the initiator's finish message and certificate at `now`.
    pub fn finish_at(&self, finish: Vec<u8>, now: u64) -> Result<Arc<OrgSession>> {
        let finish = hushwire::OrgHandshakeMessage::from_bytes(&finish)?;
        Ok(OrgSession::wrap(lock(&self.inner).finish_at(&finish, now)?))
    }
}

/// What `createConversation` returns.
#[derive(uniffi::Record)]
pub struct ConversationCreated {
    /// The new conversation.
    pub conversation: Arc<Conversation>,
    /// The handshake reply to send to the visitor.
    pub reply: Vec<u8>,
    /// The welcome to send to the visitor after the reply.
    pub welcome: Outgoing,
}

/// A conversation as one device holds it. Every method locks it (microseconds per pairwise
/// seal or open).
#[derive(uniffi::Object)]
pub struct Conversation {
    inner: Mutex<hushwire::conversation::Conversation>,
}

fn wrap(c: hushwire::conversation::Conversation) -> Arc<Conversation> {
    Arc::new(Conversation { inner: Mutex::new(c) })
}

fn envelope(bytes: &[u8]) -> Result<hushwire::Envelope> {
    Ok(hushwire::Envelope::from_bytes(bytes)?)
}

/// As the first organisation device: accept the visitor's hello and create the conversation.
#[uniffi::export]
pub fn create_conversation(identity: Arc<AgentIdentity>, hello: Vec<u8>) -> Result<ConversationCreated> {
    let hello = hushwire::Hello::from_bytes(&hello)?;
    let (session, reply) = identity.inner.accept(&hello)?;
    let (conv, welcome) = hushwire::conversation::Conversation::create(&identity.inner, session)?;
    Ok(ConversationCreated {
        conversation: wrap(conv),
        reply: reply.to_bytes(),
        welcome: welcome.into(),
    })
}

#[uniffi::export]
impl Conversation {
    /// As the visitor: finish the handshake with the creator's reply and join from its welcome.
    #[uniffi::constructor]
    pub fn join_as_visitor(
        handshake: Arc<VisitorHandshake>,
        org: Arc<crate::keys::OrgPublicKey>,
        reply: Vec<u8>,
        welcome: Vec<u8>,
        now: u64,
    ) -> Result<Arc<Conversation>> {
        let reply = hushwire::Reply::from_bytes(&reply)?;
        let session = lock(&handshake.inner).finish_at(&reply, now)?;
        let conv =
            hushwire::conversation::Conversation::join_as_visitor(&org.inner, session, &envelope(&welcome)?)?;
        Ok(wrap(conv))
    }

    /// As an organisation device: join from the inviter's welcome over their session.
    #[uniffi::constructor]
    pub fn join_as_org(
        identity: Arc<AgentIdentity>,
        session: Arc<OrgSession>,
        welcome: Vec<u8>,
    ) -> Result<Arc<Conversation>> {
        let conv = hushwire::conversation::Conversation::join_as_org(
            &identity.inner,
            session.take()?,
            &envelope(&welcome)?,
        )?;
        Ok(wrap(conv))
    }

    /// Open a conversation sealed by `exportState`.
    #[uniffi::constructor]
    pub fn import_state(exported: String, storage_key: Arc<StorageKey>) -> Result<Arc<Conversation>> {
        let exported = Zeroizing::new(exported);
        Ok(wrap(hushwire::conversation::Conversation::import(
            &exported,
            &storage_key.inner,
        )?))
    }

    /// Seal the whole state under `storageKey`.
    pub fn export_state(&self, storage_key: Arc<StorageKey>) -> Result<String> {
        Ok(lock(&self.inner).export(&storage_key.inner)?)
    }

    /// As an organisation device: accept the visitor's hello for this conversation (the
    /// visitor's `attachAgent` follows). Returns the reply bytes.
    pub fn accept_visitor(&self, identity: Arc<AgentIdentity>, hello: Vec<u8>) -> Result<Vec<u8>> {
        let hello = hushwire::Hello::from_bytes(&hello)?;
        let (session, reply) = identity.inner.accept(&hello)?;
        lock(&self.inner).attach_visitor(session)?;
        Ok(reply.to_bytes())
    }

    /// As the visitor: finish a handshake with a member of the roster and attach it.
    pub fn attach_agent(
        &self,
        handshake: Arc<VisitorHandshake>,
        reply: Vec<u8>,
        now: u64,
    ) -> Result<Outgoing> {
        let reply = hushwire::Reply::from_bytes(&reply)?;
        let session = lock(&handshake.inner).finish_at(&reply, now)?;
        Ok(lock(&self.inner).attach_agent(session)?.into())
    }

    /// As an organisation device: attach a finished organisation session.
    pub fn attach_org(&self, session: Arc<OrgSession>) -> Result<()> {
        Ok(lock(&self.inner).attach_org(session.take()?)?)
    }

    /// Seal a message for every current member with a session.
    pub fn seal(&self, text: Vec<u8>) -> Result<Vec<Outgoing>> {
        let text = Zeroizing::new(text);
        Ok(outs(lock(&self.inner).seal(&text)?))
    }

    /// Seal a whisper for the organisation's members only.
    pub fn whisper(&self, text: Vec<u8>) -> Result<Vec<Outgoing>> {
        let text = Zeroizing::new(text);
        Ok(outs(lock(&self.inner).whisper(&text)?))
    }

    /// Add an organisation device (then open an organisation session to it, `attachOrg` it
    /// and send it `welcome`).
    pub fn invite(&self, certificate: Arc<AgentCertificate>) -> Result<Vec<Outgoing>> {
        Ok(outs(lock(&self.inner).invite(&certificate.inner)?))
    }

    /// The roster log for a member that just joined.
    pub fn welcome(&self, certificate: Arc<AgentCertificate>) -> Result<Outgoing> {
        Ok(lock(&self.inner).welcome(&certificate.inner)?.into())
    }

    /// Remove another organisation member.
    pub fn remove(&self, member: MemberId) -> Result<Vec<Outgoing>> {
        Ok(outs(lock(&self.inner).remove(&(&member).into())?))
    }

    /// Leave the conversation.
    pub fn leave(&self) -> Result<Vec<Outgoing>> {
        Ok(outs(lock(&self.inner).leave()?))
    }

    /// Hand over to another organisation member and leave.
    pub fn transfer(&self, to: MemberId) -> Result<Vec<Outgoing>> {
        Ok(outs(lock(&self.inner).transfer(&(&to).into())?))
    }

    /// Share the history with another organisation member (visible in every roster).
    pub fn grant_history(&self, to: MemberId, history: Vec<u8>) -> Result<Vec<Outgoing>> {
        let history = Zeroizing::new(history);
        Ok(outs(lock(&self.inner).grant_history(&(&to).into(), &history)?))
    }

    /// Open an envelope from any member.
    pub fn open(&self, envelope_bytes: Vec<u8>) -> Result<Received> {
        let env = envelope(&envelope_bytes)?;
        Ok(lock(&self.inner).open(&env)?.into())
    }

    /// This device's member id.
    pub fn me(&self) -> MemberId {
        lock(&self.inner).me().into()
    }

    /// The current members, the visitor first.
    pub fn members(&self) -> Vec<Member> {
        use hushwire::conversation::MemberRole as R;
        lock(&self.inner)
            .members()
            .iter()
            .map(|m| Member {
                id: m.id().into(),
                role: match m.role() {
                    R::Visitor => MemberRole::Visitor,
                    R::Supervisor => MemberRole::Supervisor,
                    R::Bot => MemberRole::Bot,
                    _ => MemberRole::Agent,
                },
                history_shared_by: m.history_shared_by().map(MemberId::from),
            })
            .collect()
    }

    /// Members this device should open a session to.
    pub fn members_to_connect(&self) -> Vec<MemberId> {
        lock(&self.inner)
            .members_to_connect()
            .iter()
            .map(MemberId::from)
            .collect()
    }

    /// Whether this device is still a member.
    pub fn is_member(&self) -> bool {
        lock(&self.inner).is_member()
    }

    /// The 12-digit roster code.
    pub fn roster_code(&self) -> String {
        lock(&self.inner).roster_code()
    }
}
