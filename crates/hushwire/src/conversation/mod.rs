//! Conversations: a visitor and up to fifteen organisation devices (agents, supervisors,
//! bots), with a roster every member can check (docs/PROTOCOL.md §18).
//!
//! A [`Conversation`] owns one pairwise [`Session`] per other member and fans every message
//! out over them: the visitor's sessions come from the NX handshake, sessions between
//! organisation devices from the XX handshake ([`crate::OrgSession`]). Every pairwise property
//! (forward secrecy, replay and reflection refusal) carries over, and removing a device is
//! cryptographic at once: nothing sent after its removal is sealed for it.
//!
//! The roster changes only through events from current organisation members, carried over
//! the authenticated pairwise sessions and hash-chained: [`Conversation::roster_code`] is
//! equal on two devices exactly when they applied the same events. Every frame carries the
//! sender's roster head and a per-sender counter, so a member sees when the relay withheld
//! something ([`Received::Message::gap`]) or its roster differs from the sender's.
//!
//! ```
//! use hushwire::conversation::{Conversation, MemberId, Received};
//! use hushwire::{AgentIdentity, AgentKey, OrgRole, OrgSigningKey, VisitorHandshake};
//!
//! # fn main() -> Result<(), hushwire::Error> {
//! let org = OrgSigningKey::generate()?;
//! let now = 1_800_000_000;
//! let device = |id: &str, role| -> Result<AgentIdentity, hushwire::Error> {
//!     let key = AgentKey::generate()?;
//!     let cert = org.certify(&key.public_key(), id, "laptop", role, now - 60, now + 86_400)?;
//!     AgentIdentity::new(key, cert, &org.public_key())
//! };
//! let (bot, alice) = (device("faq-bot", OrgRole::Bot)?, device("alice", OrgRole::Agent)?);
//!
//! // The visitor reaches the bot, which creates the conversation and welcomes the visitor.
//! let (mut hs, hello) = VisitorHandshake::start(&org.public_key())?;
//! let (bot_side, reply) = bot.accept(&hello)?;
//! let (mut bot_conv, welcome) = Conversation::create(&bot, bot_side)?;
//! let mut visitor =
//!     Conversation::join_as_visitor(&org.public_key(), hs.finish_at(&reply, now)?, &welcome.envelope)?;
//!
//! // The bot invites Alice: one roster event for every member, an XX session, a welcome.
//! for out in bot_conv.invite(alice.certificate())? {
//!     visitor.open(&out.envelope)?;
//! }
//! let (mut init, m1) = bot.start_org_handshake()?;
//! let (mut resp, m2) = alice.accept_org_handshake(&m1)?;
//! let (bot_to_alice, m3) = init.finish_at(&m2, now)?;
//! bot_conv.attach_org(bot_to_alice)?;
//! let welcome = bot_conv.welcome(alice.certificate())?;
//! let mut alice_conv = Conversation::join_as_org(&alice, resp.finish_at(&m3, now)?, &welcome.envelope)?;
//!
//! // The roster tells the visitor to open its own session to Alice.
//! assert_eq!(visitor.members_to_connect(), [MemberId::device("alice", "laptop")]);
//! let (mut hs, hello) = VisitorHandshake::start(&org.public_key())?;
//! let (alice_side, reply) = alice.accept(&hello)?;
//! alice_conv.attach_visitor(alice_side)?;
//! let present = visitor.attach_agent(hs.finish_at(&reply, now)?)?;
//! alice_conv.open(&present.envelope)?;
//!
//! // One seal, one envelope per other member; all three see the same roster code.
//! let outs = visitor.seal(b"I'd like a human, please")?;
//! assert_eq!(outs.len(), 2);
//! for out in outs {
//!     let member = if out.to == MemberId::device("alice", "laptop") { &mut alice_conv } else { &mut bot_conv };
//!     assert!(matches!(member.open(&out.envelope)?, Received::Message { gap: 0, .. }));
//! }
//! assert_eq!(visitor.roster_code(), alice_conv.roster_code());
//! assert_eq!(bot_conv.roster_code(), alice_conv.roster_code());
//! # Ok(())
//! # }
//! ```

pub(crate) mod frame;
mod persist;
pub(crate) mod roster;

use alloc::{string::String, vec::Vec};
use rand_core::RngCore;
use zeroize::Zeroizing;

use crate::encoding::Reader;
use crate::envelope::{Envelope, Role};
use crate::error::{DecodeError, Error, Result};
use crate::org::{AgentCertificate, AgentIdentity, OrgPublicKey};
use crate::org_session::OrgSession;
use crate::session::Session;

pub use frame::MAX_CONVERSATION_MESSAGE_LEN;
use frame::{Frame, FrameType};
use roster::{Change, Entry, Roster};
pub use roster::{Member, MemberId, MemberRole, RosterEvent, MAX_MEMBERS, MAX_ROSTER_EVENTS};

/// Format version of a conversation export's state.
const STATE_VERSION: u8 = 1;
/// Roster events received ahead of one they build on, kept until it arrives.
const MAX_PENDING_EVENTS: usize = 16;

/// One envelope of a fan-out, and the member the relay should deliver it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The recipient.
    pub to: MemberId,
    /// The envelope sealed for it over their pairwise session.
    pub envelope: Envelope,
}

/// What [`Conversation::open`] found in an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received {
    /// A message to every member.
    Message {
        /// The member that sealed it (authenticated by the pairwise session).
        from: MemberId,
        /// The sender's counter for messages to everyone.
        counter: u32,
        /// How many of the sender's counters were skipped since the last one seen from it:
        /// messages withheld or still in flight. Zero for a late message filling a gap.
        gap: u32,
        /// Whether the sender's roster was this member's roster when it sealed.
        roster_matches: bool,
        /// The message.
        text: Vec<u8>,
    },
    /// A whisper: a message to the organisation's members only (never sealed for the visitor).
    Whisper {
        /// The member that sealed it.
        from: MemberId,
        /// The sender's counter for whispers.
        counter: u32,
        /// As for [`Received::Message`].
        gap: u32,
        /// As for [`Received::Message`].
        roster_matches: bool,
        /// The message.
        text: Vec<u8>,
    },
    /// Roster events now applied, in order (empty: the event was kept until the one it
    /// builds on arrives).
    Roster {
        /// The events.
        events: Vec<RosterEvent>,
    },
    /// History shared with this member under a grant every member can see in the roster.
    History {
        /// The member that shared it.
        from: MemberId,
        /// The history, in whatever form the app sealed it.
        history: Vec<u8>,
    },
    /// The visitor confirmed its new pairwise session with this device.
    Present {
        /// The visitor.
        from: MemberId,
    },
}

struct Peer {
    member: MemberId,
    session: Session,
    /// Org side of a visitor session: nothing is sealed to it until the visitor proves it
    /// knows the conversation (a relay could otherwise hand this device a visitor of its own).
    confirmed: bool,
}

/// The next expected counter per (sender, channel); the first frame seen sets the baseline.
#[derive(Clone, PartialEq, Eq)]
struct Track {
    sender: MemberId,
    whisper: bool,
    next: u32,
}

#[derive(Clone)]
struct Pending {
    issuer: MemberId,
    prev: [u8; 32],
    change: Change,
}

/// A conversation as one member's device holds it (see the module docs).
///
/// Not `Clone` (it owns sessions); persist with [`Conversation::export`].
pub struct Conversation {
    id: [u8; 16],
    me: MemberId,
    roster: Roster,
    peers: Vec<Peer>,
    sent: u32,
    whispered: u32,
    tracks: Vec<Track>,
    pending: Vec<Pending>,
}

impl core::fmt::Debug for Conversation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Conversation")
            .field("me", &self.me)
            .field("members", &self.roster.members().len())
            .field("sessions", &self.peers.len())
            .field("roster_code", &self.roster.code())
            .finish_non_exhaustive()
    }
}

impl Conversation {
    /// Create a conversation as the first organisation member, from the session in which it
    /// accepted the visitor. Returns the conversation and the welcome to send the visitor.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `visitor` is not the agent side of a visitor session;
    /// [`Error::Randomness`].
    pub fn create(identity: &AgentIdentity, visitor: Session) -> Result<(Conversation, Outgoing)> {
        Self::create_with_rng(identity, visitor, &mut rand_core::OsRng)
    }

    pub(crate) fn create_with_rng(
        identity: &AgentIdentity,
        visitor: Session,
        rng: &mut dyn RngCore,
    ) -> Result<(Conversation, Outgoing)> {
        if visitor.role() != Role::Agent {
            return Err(Error::InvalidArgument("not the agent side of a visitor session"));
        }
        let mut id = [0u8; 16];
        crate::cipher::fill_random(rng, &mut id)?;
        let me = MemberId::of(identity.certificate());
        let mut roster = Roster::new(identity.org_public_key(), &id);
        roster.apply(Entry {
            issuer: me.clone(),
            change: Change::Create(identity.certificate().clone()),
        })?;
        let mut conv = Conversation {
            id,
            me,
            roster,
            peers: alloc::vec![Peer {
                member: MemberId::visitor(),
                session: visitor,
                confirmed: true,
            }],
            sent: 0,
            whispered: 0,
            tracks: Vec::new(),
            pending: Vec::new(),
        };
        let welcome = conv.welcome_to(&MemberId::visitor(), rng)?;
        Ok((conv, welcome))
    }

    /// Join as the visitor, from the session with the creating device and its welcome.
    ///
    /// # Errors
    ///
    /// The errors of [`Session::open`] for the envelope; [`Error::Malformed`] for a frame that
    /// is not a welcome of a well-formed log; the roster errors ([`Error::RosterForbidden`],
    /// [`Error::BadCertificate`], ...) of any event in it; [`Error::NotAMember`] if the
    /// sender is not in the roster it sent.
    pub fn join_as_visitor(
        org: &OrgPublicKey,
        mut session: Session,
        welcome: &Envelope,
    ) -> Result<Conversation> {
        if session.role() != Role::Visitor {
            return Err(Error::InvalidArgument("not the visitor side of a session"));
        }
        let from = MemberId::device(session.agent_id(), session.device_id());
        let plain = Zeroizing::new(session.open(welcome)?);
        Self::from_welcome(org, MemberId::visitor(), from, session, &plain)
    }

    /// Join as an organisation device, from the session with the inviting member and its
    /// welcome ([`Conversation::welcome`]).
    ///
    /// # Errors
    ///
    /// As [`Conversation::join_as_visitor`]; also [`Error::NotAMember`] if this device is not
    /// in the roster.
    pub fn join_as_org(
        identity: &AgentIdentity,
        mut session: OrgSession,
        welcome: &Envelope,
    ) -> Result<Conversation> {
        let from = MemberId::of(&session.peer);
        let plain = Zeroizing::new(session.session.open(welcome)?);
        let conv = Self::from_welcome(
            &identity.org_public_key(),
            MemberId::of(identity.certificate()),
            from.clone(),
            session.session,
            &plain,
        )?;
        // The roster's certificate for the inviter must be the one it proved.
        if conv.roster.member(&from).and_then(Member::certificate) != Some(&session.peer) {
            return Err(Error::NotAMember);
        }
        Ok(conv)
    }

    fn from_welcome(
        org: &OrgPublicKey,
        me: MemberId,
        from: MemberId,
        session: Session,
        plain: &[u8],
    ) -> Result<Conversation> {
        let frame = Frame::parse(plain)?;
        if frame.kind != FrameType::Welcome {
            return Err(DecodeError::UnexpectedType(frame.kind as u8).into());
        }
        let mut r = Reader::new(frame.body);
        let roster = Roster::replay(*org, &frame.conversation_id, &mut r)?;
        r.finish()?;
        if roster.head() != frame.head {
            return Err(Error::RosterConflict);
        }
        if roster.member(&me).is_none() || roster.member(&from).is_none() {
            return Err(Error::NotAMember);
        }
        Ok(Conversation {
            id: frame.conversation_id,
            me,
            roster,
            peers: alloc::vec![Peer {
                member: from,
                session,
                confirmed: true,
            }],
            sent: 0,
            whispered: 0,
            tracks: Vec::new(),
            pending: Vec::new(),
        })
    }

    /// This device's member id.
    pub fn me(&self) -> &MemberId {
        &self.me
    }

    /// The current members, the visitor first.
    pub fn members(&self) -> &[Member] {
        self.roster.members()
    }

    /// Whether this device is still in the roster (false once removed or after leaving).
    pub fn is_member(&self) -> bool {
        self.roster.member(&self.me).is_some()
    }

    /// The 12-digit roster code (`"0123 4567 8901"`), committing to every roster event so
    /// far: two members whose codes match see the same members, roles and grants.
    pub fn roster_code(&self) -> String {
        self.roster.code()
    }

    /// The 32-byte roster head the code is derived from (docs/PROTOCOL.md §18.4).
    pub fn roster_head(&self) -> [u8; 32] {
        self.roster.head()
    }

    /// Members this device should open a pairwise session to: for the visitor, every
    /// organisation member it has none with (NX); for an organisation device, the ones that
    /// joined after it (XX, this device initiating). Later joiners wait to be contacted.
    pub fn members_to_connect(&self) -> Vec<MemberId> {
        let members = self.roster.members();
        let my_pos = members.iter().position(|m| m.id() == &self.me);
        members
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                m.id() != &self.me
                    && m.is_org()
                    && !self.peers.iter().any(|p| &p.member == m.id())
                    && (self.me.is_visitor() || my_pos.is_some_and(|me| *i > me))
            })
            .map(|(_, m)| m.id().clone())
            .collect()
    }

    /// Members with a pairwise session that are sent to (for the UI: the others are not
    /// reachable yet).
    pub fn connected(&self) -> Vec<MemberId> {
        self.peers
            .iter()
            .filter(|p| p.confirmed)
            .map(|p| p.member.clone())
            .collect()
    }

    fn check_can_attach(&self, member: &MemberId) -> Result<()> {
        if !self.is_member() {
            return Err(Error::NotAMember);
        }
        self.roster.member(member).ok_or(Error::NotAMember)?;
        if member == &self.me || self.peers.iter().any(|p| &p.member == member) {
            return Err(Error::InvalidArgument("member already has a session"));
        }
        Ok(())
    }

    /// As the visitor: add the session with an organisation member of the roster (from
    /// [`crate::VisitorHandshake::finish_at`]). Returns the frame that proves to that device
    /// that this visitor is the conversation's.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if this is not the visitor or not a visitor session, or the
    /// member already has one; [`Error::NotAMember`] if the agent is not in the roster.
    pub fn attach_agent(&mut self, session: Session) -> Result<Outgoing> {
        if !self.me.is_visitor() || session.role() != Role::Visitor {
            return Err(Error::InvalidArgument("not the visitor side of a session"));
        }
        let member = MemberId::device(session.agent_id(), session.device_id());
        self.check_can_attach(&member)?;
        self.peers.push(Peer {
            member: member.clone(),
            session,
            confirmed: true,
        });
        self.seal_to(&member, FrameType::Present, 0, &[], &mut rand_core::OsRng)
    }

    /// As an organisation device: add the session in which it accepted the visitor's hello.
    /// Nothing is sealed to it until the visitor's first frame arrives over it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if this is the visitor, `session` is not the agent side of
    /// a visitor session, or the visitor already has one.
    pub fn attach_visitor(&mut self, session: Session) -> Result<()> {
        if self.me.is_visitor() || session.role() != Role::Agent {
            return Err(Error::InvalidArgument("not the agent side of a visitor session"));
        }
        let visitor = MemberId::visitor();
        self.check_can_attach(&visitor)?;
        self.peers.push(Peer {
            member: visitor,
            session,
            confirmed: false,
        });
        Ok(())
    }

    /// As an organisation device: add the session with another organisation device. Its
    /// certificate must be the one the roster holds for that member.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if this is the visitor or the member already has a session;
    /// [`Error::NotAMember`] if the certificate is not a current member's.
    pub fn attach_org(&mut self, session: OrgSession) -> Result<()> {
        if self.me.is_visitor() {
            return Err(Error::InvalidArgument("the visitor has no organisation sessions"));
        }
        let member = MemberId::of(&session.peer);
        self.check_can_attach(&member)?;
        if self.roster.member(&member).and_then(Member::certificate) != Some(&session.peer) {
            return Err(Error::NotAMember);
        }
        self.peers.push(Peer {
            member,
            session: session.session,
            confirmed: true,
        });
        Ok(())
    }

    /// Seal `text` once for every current member this device has a session with.
    ///
    /// # Errors
    ///
    /// [`Error::MessageTooLarge`] above [`MAX_CONVERSATION_MESSAGE_LEN`]; [`Error::NotAMember`]
    /// after this device left or was removed; [`Error::SessionExhausted`]; [`Error::Randomness`].
    pub fn seal(&mut self, text: &[u8]) -> Result<Vec<Outgoing>> {
        self.seal_with_rng(text, &mut rand_core::OsRng)
    }

    pub(crate) fn seal_with_rng(&mut self, text: &[u8], rng: &mut dyn RngCore) -> Result<Vec<Outgoing>> {
        let counter = self.next_counter(false)?;
        self.fan_out(FrameType::Message, counter, text, |_| true, rng)
    }

    /// Seal `text` for the organisation's members only: never for the visitor, whose roster
    /// still shows every member present.
    ///
    /// # Errors
    ///
    /// [`Error::RosterForbidden`] if this is the visitor; otherwise as [`Self::seal`].
    pub fn whisper(&mut self, text: &[u8]) -> Result<Vec<Outgoing>> {
        self.whisper_with_rng(text, &mut rand_core::OsRng)
    }

    pub(crate) fn whisper_with_rng(&mut self, text: &[u8], rng: &mut dyn RngCore) -> Result<Vec<Outgoing>> {
        if self.me.is_visitor() {
            return Err(Error::RosterForbidden);
        }
        let counter = self.next_counter(true)?;
        self.fan_out(FrameType::Whisper, counter, text, |m| !m.is_visitor(), rng)
    }

    /// Add an organisation device to the roster. Returns the event for every current
    /// member; then open an XX session to the device, [`Self::attach_org`] it and send it
    /// [`Self::welcome`].
    ///
    /// # Errors
    ///
    /// [`Error::RosterForbidden`] for the visitor or a device already in the roster;
    /// [`Error::ConversationFull`] at [`MAX_MEMBERS`] or [`MAX_ROSTER_EVENTS`];
    /// [`Error::WrongOrganization`] / [`Error::BadCertificate`] for a certificate the
    /// organisation key did not sign.
    pub fn invite(&mut self, certificate: &AgentCertificate) -> Result<Vec<Outgoing>> {
        self.issue(Change::Join(certificate.clone()), &mut rand_core::OsRng)
    }

    /// Send a member that just joined the roster log, over the session attached for it.
    ///
    /// # Errors
    ///
    /// [`Error::NotAMember`] if it is not in the roster or has no session here.
    pub fn welcome(&mut self, certificate: &AgentCertificate) -> Result<Outgoing> {
        self.welcome_to(&MemberId::of(certificate), &mut rand_core::OsRng)
    }

    fn welcome_to(&mut self, member: &MemberId, rng: &mut dyn RngCore) -> Result<Outgoing> {
        self.roster.member(member).ok_or(Error::NotAMember)?;
        let mut body = Vec::new();
        self.roster.write_log(&mut body);
        self.seal_to(member, FrameType::Welcome, 0, &body, rng)
    }

    /// Remove another organisation member: from this event on, nothing is sealed for it,
    /// and every member drops its session with it.
    ///
    /// # Errors
    ///
    /// [`Error::NotAMember`] if it is not in the roster; [`Error::RosterForbidden`] for the
    /// visitor, this device itself (use [`Self::leave`]), or a supervisor removed by a
    /// non-supervisor.
    pub fn remove(&mut self, member: &MemberId) -> Result<Vec<Outgoing>> {
        self.issue(Change::Remove(member.clone()), &mut rand_core::OsRng)
    }

    /// Leave the conversation (an organisation device).
    ///
    /// # Errors
    ///
    /// [`Error::RosterForbidden`] for the visitor; [`Error::NotAMember`] if already gone.
    pub fn leave(&mut self) -> Result<Vec<Outgoing>> {
        self.issue(Change::Leave, &mut rand_core::OsRng)
    }

    /// Hand the conversation to another organisation member and leave; the roster records
    /// the transfer. Share history first with [`Self::grant_history`] if the new member may
    /// read the past.
    ///
    /// # Errors
    ///
    /// As [`Self::remove`].
    pub fn transfer(&mut self, to: &MemberId) -> Result<Vec<Outgoing>> {
        self.issue(Change::Transfer(to.clone()), &mut rand_core::OsRng)
    }

    /// Share the conversation's history (as the app keeps it, at most
    /// [`MAX_CONVERSATION_MESSAGE_LEN`] bytes; larger histories go in an attachment whose
    /// manifest is the history) with another organisation member. Every member sees the
    /// grant in the roster ([`Member::history_shared_by`]); only `to` receives the history.
    ///
    /// # Errors
    ///
    /// As [`Self::remove`]; [`Error::MessageTooLarge`].
    pub fn grant_history(&mut self, to: &MemberId, history: &[u8]) -> Result<Vec<Outgoing>> {
        self.grant_history_with_rng(to, history, &mut rand_core::OsRng)
    }

    pub(crate) fn grant_history_with_rng(
        &mut self,
        to: &MemberId,
        history: &[u8],
        rng: &mut dyn RngCore,
    ) -> Result<Vec<Outgoing>> {
        if history.len() > MAX_CONVERSATION_MESSAGE_LEN {
            return Err(Error::MessageTooLarge);
        }
        if !self.peers.iter().any(|p| &p.member == to && p.confirmed) {
            return Err(Error::NotAMember);
        }
        let mut out = self.issue(Change::Grant(to.clone()), rng)?;
        out.push(self.seal_to(to, FrameType::History, 0, history, rng)?);
        Ok(out)
    }

    fn issue(&mut self, change: Change, rng: &mut dyn RngCore) -> Result<Vec<Outgoing>> {
        if !self.is_member() {
            return Err(Error::NotAMember);
        }
        let prev = self.roster.head();
        let entry = Entry {
            issuer: self.me.clone(),
            change,
        };
        let body = entry.change.to_bytes();
        let mut next = self.roster.clone();
        let event = next.apply(entry)?;
        let counter = self.next_counter(false)?;
        // Everyone current before the event hears of it (a removed member learns it was
        // removed); then sessions with members no longer in the roster are wiped.
        self.roster = next;
        let out = self.fan_out_head(FrameType::Event, counter, prev, &body, |_| true, rng)?;
        self.after_event(&event);
        Ok(out)
    }

    /// Open an envelope from any member.
    ///
    /// Checks, in this order (docs/PROTOCOL.md §18.6): a session with that id
    /// (`NOT_A_MEMBER`), the pairwise checks of [`Session::open`], the frame (`MALFORMED`,
    /// a frame for another conversation too), then the frame's rules: whispers only from
    /// and to organisation members, roster events only from organisation members and on a
    /// head this member knows (`ROSTER_FORBIDDEN`, `ROSTER_CONFLICT`), history only under a
    /// grant in the roster (`ROSTER_FORBIDDEN`).
    ///
    /// # Errors
    ///
    /// As listed above, and the roster errors of an event.
    pub fn open(&mut self, envelope: &Envelope) -> Result<Received> {
        let i = self
            .peers
            .iter()
            .position(|p| p.session.session_id() == envelope.session_id())
            .ok_or(Error::NotAMember)?;
        let peer = self.peers.get_mut(i).ok_or(Error::NotAMember)?;
        let plain = Zeroizing::new(peer.session.open(envelope)?);
        let from = peer.member.clone();
        let frame = Frame::parse(&plain)?;
        if frame.conversation_id != self.id {
            return Err(DecodeError::InvalidField("conversation id").into());
        }
        let roster_matches = frame.head == self.roster.head();
        let from_org = !from.is_visitor();
        match frame.kind {
            FrameType::Message | FrameType::Whisper => {
                let whisper = frame.kind == FrameType::Whisper;
                if whisper && (!from_org || self.me.is_visitor()) {
                    return Err(Error::RosterForbidden);
                }
                self.confirm(i);
                let gap = self.track(&from, whisper, frame.counter);
                let text = frame.body.to_vec();
                Ok(if whisper {
                    Received::Whisper {
                        from,
                        counter: frame.counter,
                        gap,
                        roster_matches,
                        text,
                    }
                } else {
                    Received::Message {
                        from,
                        counter: frame.counter,
                        gap,
                        roster_matches,
                        text,
                    }
                })
            }
            FrameType::Event => {
                if !from_org {
                    return Err(Error::RosterForbidden);
                }
                let mut r = Reader::new(frame.body);
                let change = Change::read(&mut r)?;
                r.finish()?;
                let pending = Pending {
                    issuer: from.clone(),
                    prev: frame.head,
                    change,
                };
                let events = if frame.head == self.roster.head() {
                    let mut events = alloc::vec![self.apply_event(pending)?];
                    self.drain_pending(&mut events);
                    events
                } else if self.roster.is_past_head(&frame.head) {
                    return Err(Error::RosterConflict);
                } else {
                    // Built on an event not yet here: keep it (bounded) until it arrives.
                    if self.pending.len() >= MAX_PENDING_EVENTS {
                        return Err(Error::RosterConflict);
                    }
                    self.pending.push(pending);
                    Vec::new()
                };
                self.track(&from, false, frame.counter);
                Ok(Received::Roster { events })
            }
            FrameType::Welcome => Err(Error::RosterForbidden),
            FrameType::History => {
                let granted = self.roster.member(&self.me).and_then(Member::history_shared_by) == Some(&from);
                if !granted {
                    return Err(Error::RosterForbidden);
                }
                Ok(Received::History {
                    from,
                    history: frame.body.to_vec(),
                })
            }
            FrameType::Present => {
                if from_org {
                    return Err(Error::RosterForbidden);
                }
                self.confirm(i);
                Ok(Received::Present { from })
            }
        }
    }

    fn confirm(&mut self, peer: usize) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.confirmed = true;
        }
    }

    fn apply_event(&mut self, p: Pending) -> Result<RosterEvent> {
        let event = self.roster.apply(Entry {
            issuer: p.issuer,
            change: p.change,
        })?;
        self.after_event(&event);
        Ok(event)
    }

    fn drain_pending(&mut self, events: &mut Vec<RosterEvent>) {
        while let Some(i) = self.pending.iter().position(|p| p.prev == self.roster.head()) {
            let p = self.pending.remove(i);
            // A buffered event that no longer applies is dropped; it was authentic but
            // conflicts, which the roster code shows.
            if let Ok(e) = self.apply_event(p) {
                events.push(e);
            }
        }
    }

    /// Wipe sessions with members no longer in the roster; a device that is itself out
    /// wipes all of them.
    fn after_event(&mut self, event: &RosterEvent) {
        if let RosterEvent::Joined { member, .. } = event {
            // A new member's counters start at zero: a gap from its first message is real.
            for whisper in [false, true] {
                self.tracks
                    .retain(|t| !(&t.sender == member && t.whisper == whisper));
                self.tracks.push(Track {
                    sender: member.clone(),
                    whisper,
                    next: 0,
                });
            }
        }
        let roster = &self.roster;
        if roster.member(&self.me).is_none() {
            self.peers.clear();
        } else {
            self.peers.retain(|p| roster.member(&p.member).is_some());
        }
        self.tracks.retain(|t| roster.member(&t.sender).is_some());
    }

    /// Record `counter` from `sender`; returns the gap since the last one.
    fn track(&mut self, sender: &MemberId, whisper: bool, counter: u32) -> u32 {
        match self
            .tracks
            .iter_mut()
            .find(|t| &t.sender == sender && t.whisper == whisper)
        {
            Some(t) if counter >= t.next => {
                let gap = counter - t.next;
                t.next = counter.saturating_add(1);
                gap
            }
            Some(_) => 0,
            None => {
                self.tracks.push(Track {
                    sender: sender.clone(),
                    whisper,
                    next: counter.saturating_add(1),
                });
                0
            }
        }
    }

    fn next_counter(&mut self, whisper: bool) -> Result<u32> {
        if !self.is_member() {
            return Err(Error::NotAMember);
        }
        let c = if whisper {
            &mut self.whispered
        } else {
            &mut self.sent
        };
        let now = *c;
        *c = now.checked_add(1).ok_or(Error::SessionExhausted)?;
        Ok(now)
    }

    fn fan_out(
        &mut self,
        kind: FrameType,
        counter: u32,
        body: &[u8],
        to: impl Fn(&MemberId) -> bool,
        rng: &mut dyn RngCore,
    ) -> Result<Vec<Outgoing>> {
        let head = self.roster.head();
        self.fan_out_head(kind, counter, head, body, to, rng)
    }

    fn fan_out_head(
        &mut self,
        kind: FrameType,
        counter: u32,
        head: [u8; 32],
        body: &[u8],
        to: impl Fn(&MemberId) -> bool,
        rng: &mut dyn RngCore,
    ) -> Result<Vec<Outgoing>> {
        if body.len() > MAX_CONVERSATION_MESSAGE_LEN {
            return Err(Error::MessageTooLarge);
        }
        let plain = Zeroizing::new(
            Frame {
                kind,
                conversation_id: self.id,
                counter,
                head,
                body,
            }
            .to_bytes(),
        );
        let mut out = Vec::with_capacity(self.peers.len());
        for p in self.peers.iter_mut().filter(|p| p.confirmed && to(&p.member)) {
            out.push(Outgoing {
                to: p.member.clone(),
                envelope: p.session.seal_with_rng(&plain, rng)?,
            });
        }
        Ok(out)
    }

    fn seal_to(
        &mut self,
        member: &MemberId,
        kind: FrameType,
        counter: u32,
        body: &[u8],
        rng: &mut dyn RngCore,
    ) -> Result<Outgoing> {
        let head = self.roster.head();
        let mut out = self.fan_out_head(kind, counter, head, body, |m| m == member, rng)?;
        out.pop().ok_or(Error::NotAMember)
    }
}
