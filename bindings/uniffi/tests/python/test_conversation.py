"""Conversations through the Python bindings: bot -> human transfer with a history grant,
a supervisor's whisper that never reaches the visitor, a removed agent that opens nothing
sent after its removal, and export/import continuation."""
import subprocess

import pytest

import hushwire_ffi as hw
from hushwire_ffi import HushwireError

NOW = 1_800_000_000
VISITOR = hw.MemberId(agent_id="", device_id="")


def k(member):
    """Records are not hashable in Python: key dictionaries by the two ids."""
    return (member.agent_id, member.device_id)


class Net:
    def __init__(self):
        self.org = hw.OrgSigningKey.generate()
        self.org_pk = self.org.public_key()
        self.ids = {}
        self.convs = {}
        bot = self.device("faq-bot", hw.OrgRole.BOT)
        start = hw.start_visitor_handshake(self.org_pk)
        created = hw.create_conversation(self.ids[k(bot)], start.hello)
        self.convs[k(bot)] = created.conversation
        self.convs[k(VISITOR)] = hw.Conversation.join_as_visitor(
            start.handshake, self.org_pk, created.reply, created.welcome.envelope, NOW
        )
        self.bot = bot

    def device(self, agent_id, role):
        key = hw.AgentKey.generate()
        cert = self.org.certify(key.public_key(), agent_id, "dev", role, NOW - 60, NOW + 86_400)
        member = hw.MemberId(agent_id=agent_id, device_id="dev")
        self.ids[k(member)] = hw.AgentIdentity(key, cert, self.org_pk)
        return member

    def deliver(self, outs):
        return [(o.to, self.convs[k(o.to)].open(o.envelope)) for o in outs if k(o.to) in self.convs]

    def xx(self, a, b):
        start = self.ids[k(a)].start_org_handshake()
        acc = self.ids[k(b)].accept_org_handshake(start.hello)
        fin = start.initiator.finish_at(acc.reply, NOW)
        return fin.session, acc.responder.finish_at(fin.finish, NOW)

    def invite(self, by, agent_id, role):
        new = self.device(agent_id, role)
        cert = self.ids[k(new)].certificate()
        for _, r in self.deliver(self.convs[k(by)].invite(cert)):
            assert isinstance(r, hw.Received.ROSTER)
        mine, theirs = self.xx(by, new)
        self.convs[k(by)].attach_org(mine)
        welcome = self.convs[k(by)].welcome(cert)
        self.convs[k(new)] = hw.Conversation.join_as_org(self.ids[k(new)], theirs, welcome.envelope)
        for m, conv in list(self.convs.items()):
            if new not in conv.members_to_connect():
                continue
            if m == k(VISITOR):
                start = hw.start_visitor_handshake(self.org_pk)
                reply = self.convs[k(new)].accept_visitor(self.ids[k(new)], start.hello)
                present = conv.attach_agent(start.handshake, reply, NOW)
                assert isinstance(self.convs[k(new)].open(present.envelope), hw.Received.PRESENT)
            else:
                a, b = self.xx(hw.MemberId(agent_id=m[0], device_id=m[1]), new)
                conv.attach_org(a)
                self.convs[k(new)].attach_org(b)
        return new


def test_bot_to_human_transfer_with_history_whisper_and_removal():
    net = Net()
    alice = net.invite(net.bot, "alice", hw.OrgRole.AGENT)
    sue = net.invite(alice, "sue", hw.OrgRole.SUPERVISOR)
    mallory = net.invite(alice, "mallory", hw.OrgRole.AGENT)
    v = net.convs[k(VISITOR)]
    assert [m.role for m in v.members()] == [
        hw.MemberRole.VISITOR, hw.MemberRole.BOT, hw.MemberRole.AGENT,
        hw.MemberRole.SUPERVISOR, hw.MemberRole.AGENT,
    ]
    codes = {c.roster_code() for c in net.convs.values()}
    assert len(codes) == 1

    # The visitor's message reaches the four devices, authenticated as the visitor.
    results = net.deliver(v.seal(b"I need a human"))
    assert len(results) == 4
    for _, r in results:
        assert isinstance(r, hw.Received.MESSAGE) and r.sender == VISITOR and r.text == b"I need a human"

    # Bot -> alice: history grant, then transfer; the visitor sees both.
    results = net.deliver(net.convs[k(net.bot)].grant_history(alice, b"visitor: where is my order?"))
    assert any(isinstance(r, hw.Received.HISTORY) and r.history == b"visitor: where is my order?" for _, r in results)
    net.deliver(net.convs[k(net.bot)].transfer(alice))
    granted = [m for m in v.members() if m.id == alice][0]
    assert granted.history_shared_by == net.bot
    assert not net.convs[k(net.bot)].is_member()

    # The supervisor's whisper is never sealed for the visitor, who still sees the supervisor.
    outs = net.convs[k(sue)].whisper(b"offer a refund")
    assert VISITOR not in [o.to for o in outs]
    for o in outs:
        assert pytest.raises(HushwireError, v.open, o.envelope).value.code == "NOT_A_MEMBER"
    assert sue in [m.id for m in v.members()]

    # Mallory is removed: nothing sent afterwards opens for her.
    net.deliver(net.convs[k(sue)].remove(mallory))
    after = v.seal(b"my address") + net.convs[k(alice)].seal(b"noted")
    assert mallory not in [o.to for o in after]
    for o in after:
        with pytest.raises(HushwireError) as info:
            net.convs[k(mallory)].open(o.envelope)
        assert info.value.code == "NOT_A_MEMBER"

    # Export and import continue the conversation.
    key = hw.StorageKey.generate()
    restored = hw.Conversation.import_state(v.export_state(key), key)
    assert restored.roster_code() == v.roster_code()
    net.convs[k(VISITOR)] = restored
    for _, r in net.deliver(restored.seal(b"after reload")):
        assert isinstance(r, hw.Received.MESSAGE)


def test_forged_roster_changes_get_their_codes():
    net = Net()
    alice = net.invite(net.bot, "alice", hw.OrgRole.AGENT)
    sue = net.invite(alice, "sue", hw.OrgRole.SUPERVISOR)
    assert pytest.raises(HushwireError, net.convs[k(alice)].remove, sue).value.code == "ROSTER_FORBIDDEN"
    assert pytest.raises(HushwireError, net.convs[k(VISITOR)].whisper, b"x").value.code == "ROSTER_FORBIDDEN"
    other = hw.OrgSigningKey.generate()
    key = hw.AgentKey.generate()
    foreign = other.certify(key.public_key(), "eve", "dev", hw.OrgRole.AGENT, 0, 2**63)
    assert pytest.raises(HushwireError, net.convs[k(alice)].invite, foreign).value.code == "WRONG_ORGANIZATION"


def test_conversation_continues_across_languages(tmp_path, kotlin_cmd):
    """Python builds a conversation, Kotlin continues the visitor's and alice's from their
    exports, Python opens what Kotlin sealed and continues the visitor Kotlin exported."""
    net = Net()
    alice = net.invite(net.bot, "alice", hw.OrgRole.AGENT)
    sk = hw.StorageKey.generate()
    to_alice = [o for o in net.convs[k(VISITOR)].seal("from python ✓".encode()) if o.to == alice]
    (tmp_path / "storage_key.hex").write_text(sk.to_bytes().hex())
    (tmp_path / "visitor.conversation").write_text(net.convs[k(VISITOR)].export_state(sk))
    (tmp_path / "alice.conversation").write_text(net.convs[k(alice)].export_state(sk))
    (tmp_path / "py_to_alice.envelope").write_text(to_alice[0].envelope.hex())
    subprocess.run(kotlin_cmd + ["cross-conversation", str(tmp_path)], check=True, timeout=120)

    def read(name):
        return (tmp_path / name).read_text().strip()

    assert read("kt_received.txt").splitlines() == ["from python ✓", "visitor"]
    codes = read("kt_codes.txt").splitlines()
    assert codes == [net.convs[k(VISITOR)].roster_code()] * 2
    # The bot (still in Python) opens the copies Kotlin sealed for it.
    for line in read("kt_visitor_out.txt").splitlines() + read("kt_alice_out.txt").splitlines():
        to, env = line.split()
        if to == "faq-bot":
            r = net.convs[k(net.bot)].open(bytes.fromhex(env))
            assert isinstance(r, hw.Received.MESSAGE) and r.text.startswith(b"hello from kotlin")
    # Python continues the visitor Kotlin exported; the bot opens its message in step.
    v2 = hw.Conversation.import_state(read("visitor2.conversation"), sk)
    outs = [o for o in v2.seal(b"round two") if o.to == net.bot]
    r = net.convs[k(net.bot)].open(outs[0].envelope)
    assert isinstance(r, hw.Received.MESSAGE) and r.text == b"round two" and r.gap == 0
