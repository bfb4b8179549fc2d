"""Python tests of the generated hushwire bindings (see conftest.py for how they are run)."""
import json
import os
import random
import re
import subprocess
import threading

import pytest

import hushwire_ffi as hw
from hushwire_ffi import HushwireError

NOW = 1_800_000_000


def code_of(fn, *args):
    """The code of the HushwireError that fn(*args) raises; fails if it returns."""
    with pytest.raises(HushwireError) as info:
        fn(*args)
    return info.value.code


class World:
    def __init__(self):
        self.org = hw.OrgSigningKey.generate()
        self.org_pk = self.org.public_key()
        self.agent_key = hw.AgentKey.generate()
        self.cert = self.org.certify_agent(
            self.agent_key.public_key(), "alice@shop.example", "laptop-1", NOW - 60, NOW + 86_400
        )
        self.agent = hw.AgentIdentity(self.agent_key, self.cert, self.org_pk)

    def pair(self):
        start = hw.start_visitor_handshake(self.org_pk)
        accepted = self.agent.accept(start.hello)
        visitor = start.handshake.finish_at(accepted.reply, NOW)
        return visitor, accepted.session


class DictStore(hw.SessionStore):
    def __init__(self):
        self.data = {}

    def save(self, session_id, exported):
        self.data[session_id] = exported

    def load(self, session_id):
        return self.data.get(session_id)

    def delete(self, session_id):
        self.data.pop(session_id, None)


def test_handshake_and_messages_both_ways():
    v, a = World().pair()
    assert v.agent_id() == "alice@shop.example" and v.device_id() == "laptop-1"
    assert v.role() == hw.Role.VISITOR and a.role() == hw.Role.AGENT
    assert v.session_id() == a.session_id() and len(v.session_id()) == 32
    for i in range(20):
        m = f"visitor {i} ünïcödé".encode()
        assert a.open(v.seal(m)) == m
        r = bytes((j * 7 + i) % 256 for j in range(i * 37))
        assert v.open(a.seal(r)) == r
    assert a.open_text(v.seal_text("text ✓")) == "text ✓"
    env = v.seal(b"x")
    info = hw.inspect_envelope(env)
    # v2: the visitor's chain restarted when it answered the agent's last message.
    assert (info.session_id, info.sender, info.counter) == (v.session_id(), hw.Role.VISITOR, 1)
    assert hw.envelope_from_text(hw.envelope_to_text(env)) == env
    assert hw.protocol_version() == 2


def test_safety_codes():
    w = World()
    v, a = w.pair()
    v2, _ = w.pair()
    assert v.safety_code() == a.safety_code()
    assert re.fullmatch(r"\d{4} \d{4} \d{4}", v.safety_code())
    assert v.safety_code() != v2.safety_code()


def test_replay_tamper_reflection_and_other_codes():
    w = World()
    v, a = w.pair()
    env = v.seal(b"hello")
    assert a.open(env) == b"hello"
    assert code_of(a.open, env) == "REPLAY"
    env2 = bytearray(v.seal(b"second"))
    for i in (len(env2) - 1, len(env2) // 2):
        t = bytearray(env2)
        t[i] ^= 0x40
        assert code_of(a.open, bytes(t)) == "TAMPERED"
    assert a.open(bytes(env2)) == b"second"
    assert code_of(v.open, v.seal(b"me")) == "REFLECTED"
    _, other_agent = w.pair()
    assert code_of(other_agent.open, v.seal(b"x")) == "WRONG_SESSION"
    assert code_of(v.seal, bytes(64 * 1024 + 1)) == "MESSAGE_TOO_LARGE"
    assert code_of(v.set_config, hw.SessionConfig(max_skip=20_001, max_stored_skipped=1)) == "INVALID_ARGUMENT"
    v.set_config(hw.SessionConfig(max_skip=2, max_stored_skipped=2))
    assert v.config() == hw.SessionConfig(max_skip=2, max_stored_skipped=2)
    for _ in range(5):
        a.seal(b"skipped")
    assert code_of(v.open, a.seal(b"far")) == "TOO_FAR_AHEAD"
    # Every exception is a HushwireError subclass named after its code, with code and detail.
    try:
        a.open(env)
    except HushwireError.Replay as e:
        assert e.code == "REPLAY" and "replay" in e.detail
    else:
        pytest.fail("no exception")


def test_certificate_problems():
    w = World()
    start = hw.start_visitor_handshake(w.org_pk)
    reply = w.agent.accept(start.hello).reply
    assert code_of(start.handshake.finish_at, reply, NOW + 86_401) == "CERTIFICATE_EXPIRED"
    assert code_of(start.handshake.finish_at, reply, NOW - 61) == "CERTIFICATE_NOT_YET_VALID"
    start.handshake.finish_at(reply, NOW)
    other = hw.OrgSigningKey.generate().public_key()
    assert code_of(w.agent.accept, hw.start_visitor_handshake(other).hello) == "WRONG_ORGANIZATION"
    assert code_of(hw.AgentIdentity, hw.AgentKey.generate(), w.cert, w.org_pk) == "CERTIFICATE_KEY_MISMATCH"
    forged = bytearray(w.cert.to_bytes())
    forged[-1] ^= 1
    assert code_of(hw.AgentIdentity, w.agent_key, hw.AgentCertificate.from_bytes(bytes(forged)), w.org_pk) == "BAD_CERTIFICATE"


def test_keys_and_identity_round_trip():
    w = World()
    assert hw.OrgSigningKey.from_secret_bytes(w.org.secret_bytes()).public_key() == w.org_pk
    assert hw.OrgPublicKey.from_text(w.org_pk.to_text()) == w.org_pk
    assert str(w.org_pk) == w.org_pk.to_text()
    assert hw.AgentKey.from_secret_bytes(w.agent_key.secret_bytes()).public_key() == w.agent_key.public_key()
    assert hw.AgentCertificate.from_text(w.cert.to_text()).to_bytes() == w.cert.to_bytes()
    sk = hw.StorageKey.generate()
    restored = hw.AgentIdentity.import_state(w.agent.export_state(sk), hw.StorageKey.from_bytes(sk.to_bytes()))
    start = hw.start_visitor_handshake(w.org_pk)
    acc = restored.accept(start.hello)
    assert hw.hello_session_id(start.hello) == acc.session.session_id()
    assert start.handshake.finish_at(acc.reply, NOW).safety_code() == acc.session.safety_code()


def test_session_export_import():
    v, a = World().pair()
    sk = hw.StorageKey.generate()
    v2 = hw.Session.import_state(v.export_state(sk), sk)
    a2 = hw.Session.import_state(a.export_state(sk), sk)
    assert v2.safety_code() == v.safety_code()
    assert a2.open(v2.seal(b"after")) == b"after"
    assert code_of(hw.Session.import_state, v.export_state(sk), hw.StorageKey.generate()) == "EXPORT_AUTHENTICATION"


def test_session_store_callback():
    v, a = World().pair()
    store, sk = DictStore(), hw.StorageKey.generate()
    v.save_to(store, sk)
    loaded = hw.load_session(store, v.session_id(), sk)
    assert a.open(loaded.seal(b"via store")) == b"via store"
    assert hw.load_session(store, "00" * 16, sk) is None
    store.delete(v.session_id())
    assert hw.load_session(store, v.session_id(), sk) is None

    class Broken(DictStore):
        def save(self, session_id, exported):
            raise OSError("disk full")

        def load(self, session_id):
            raise HushwireError.Other("APP_OFFLINE", "offline")

    assert code_of(v.save_to, Broken(), sk) == "CALLBACK_FAILED"
    assert code_of(hw.load_session, Broken(), v.session_id(), sk) == "APP_OFFLINE"


def test_concurrent_save_to_keeps_the_newest_state():
    """Two threads seal and save; the first one's store call is held on a gate while the second
    saves. After a restart from the store the next message must not reuse a counter."""
    v, a = World().pair()
    sk = hw.StorageKey.generate()
    entered, gate = [threading.Event(), threading.Event()], threading.Event()

    class GatedStore(DictStore):
        calls = 0

        def save(self, session_id, exported):
            call = GatedStore.calls
            GatedStore.calls += 1
            entered[min(call, 1)].set()
            if call == 0:
                assert gate.wait(10)
            super().save(session_id, exported)

    store, sealed, errors = GatedStore(), {}, []

    def seal_and_save(label):
        try:
            sealed[label] = v.seal(label.encode())
            v.save_to(store, sk)
        except Exception as e:  # reported below
            errors.append(e)

    t1 = threading.Thread(target=seal_and_save, args=("one",))
    t1.start()
    assert entered[0].wait(10)
    t2 = threading.Thread(target=seal_and_save, args=("two",))
    t2.start()
    # Ordered persistence holds thread 2 back; an unordered one would overtake here.
    overtook = entered[1].wait(0.5)
    gate.set()
    t1.join(10)
    t2.join(10)
    assert not errors and not t1.is_alive() and not t2.is_alive()
    assert a.open(sealed["one"]) == b"one" and a.open(sealed["two"]) == b"two"
    # Restart from the store: the next message must use a fresh counter (not REPLAY).
    restored = hw.load_session(store, v.session_id(), sk)
    assert a.open(restored.seal(b"three")) == b"three"
    assert not overtook, "the second saveTo reached the store while the first was still saving"


def test_save_to_from_inside_its_own_store_is_refused_not_a_deadlock():
    v, a = World().pair()
    sk = hw.StorageKey.generate()
    seen = []

    class Reentrant(DictStore):
        def save(self, session_id, exported):
            a.open(v.seal(b"sealed inside save"))
            seen.append(code_of(v.save_to, DictStore(), sk))
            super().save(session_id, exported)

    v.save_to(Reentrant(), sk)
    assert seen == ["INVALID_ARGUMENT"]
    v.save_to(DictStore(), sk)


def test_open_text_refuses_non_utf8_without_consuming_it():
    v, a = World().pair()
    text = hw.envelope_to_text(v.seal(b"\xff\xfe binary"))
    assert code_of(a.open_text, text) == "MALFORMED"
    assert code_of(a.open_text, text) == "MALFORMED"
    env = hw.envelope_from_text(text)
    assert a.open(env) == b"\xff\xfe binary"
    assert code_of(a.open, env) == "REPLAY"
    assert a.open_text(v.seal_text("still in step ✓")) == "still in step ✓"


def test_garbage_is_malformed_everywhere():
    w = World()
    v, a = w.pair()
    sk = hw.StorageKey.generate()
    start = hw.start_visitor_handshake(w.org_pk)
    rnd = random.Random(4321)
    inputs = [b"", b"\x00", bytes(31), bytes(33), b"A" * 100_000]
    inputs += [rnd.randbytes(rnd.randrange(0, 400)) for _ in range(150)]
    calls = 0
    for g in inputs:
        decoders = [v.open, w.agent.accept, lambda x: start.handshake.finish_at(x, NOW), hw.inspect_envelope,
                    hw.envelope_to_text, hw.hello_session_id, hw.OrgPublicKey.from_bytes, hw.AgentCertificate.from_bytes]
        if len(g) != 32:
            decoders += [hw.StorageKey.from_bytes, hw.AgentKey.from_secret_bytes, hw.OrgSigningKey.from_secret_bytes,
                         lambda x: w.org.certify_agent(x, "a", "d", 0, 1)]
        text = g.decode("latin-1")
        text_decoders = [v.open_text, hw.envelope_from_text, hw.OrgPublicKey.from_text, hw.AgentCertificate.from_text,
                         lambda t: hw.Session.import_state(t, sk), lambda t: hw.AgentIdentity.import_state(t, sk)]
        for fn in decoders:
            assert code_of(fn, g) == "MALFORMED", (fn, len(g))
            calls += 1
        for fn in text_decoders:
            assert code_of(fn, text) == "MALFORMED", (fn, len(g))
            calls += 1
    # Wrong Python types and out-of-range integers are refused before reaching Rust.
    with pytest.raises(TypeError):
        v.open("not bytes")
    with pytest.raises(TypeError):
        hw.Session.import_state(None, sk)
    with pytest.raises(ValueError):
        start.handshake.finish_at(b"", -1)
    with pytest.raises(ValueError):
        v.set_config(hw.SessionConfig(max_skip=2**32, max_stored_skipped=0))
    assert calls > 2500
    assert a.open(v.seal(b"ok")) == b"ok"


def test_threads_share_a_session_pair():
    v, a = World().pair()
    errors, opened = [], []

    def run(t):
        try:
            src, dst = (v, a) if t % 2 == 0 else (a, v)
            for i in range(200):
                m = f"t{t} m{i}".encode()
                assert dst.open(src.seal(m)) == m
                opened.append(1)
        except Exception as e:  # collected and reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(opened) == 1600


def test_out_of_order_delivery():
    v, a = World().pair()
    envs = [v.seal(f"m{i}".encode()) for i in range(10)]
    for i in (3, 0, 9, 1, 2, 8, 4, 7, 5, 6):
        assert a.open(envs[i]) == f"m{i}".encode()
    assert code_of(a.open, envs[3]) == "REPLAY"


def test_threads_on_separate_sessions_share_one_identity():
    w = World()
    errors, opened = [], []

    def run(t):
        try:
            v, a = w.pair()
            for i in range(100):
                m = f"t{t} m{i}".encode()
                assert a.open(v.seal(m)) == m
                assert v.open(a.seal(m)) == m
                opened.append(2)
            assert v.safety_code() == a.safety_code()
        except Exception as e:  # collected and reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sum(opened) == 1600


def test_vectors_equal_committed_files(root):
    files = hw.regenerate_vectors()
    assert [f.name for f in files] == [
        "handshake.json", "messages.json", "export.json", "padding.json", "safety_code.json", "negative.json",
        "attachment.json", "session_v2.json", "conversation.json",
    ]
    for f in files:
        with open(os.path.join(root, "docs", "vectors", f.name), encoding="utf-8", newline="") as fh:
            assert fh.read() == f.json, f.name


def test_committed_export_opens_late_envelope(root):
    with open(os.path.join(root, "docs", "vectors", "export.json"), encoding="utf-8") as fh:
        vec = json.load(fh)
    sk = hw.StorageKey.from_bytes(bytes.fromhex(vec["storage_key"]))
    session = hw.Session.import_state(vec["export"], sk)
    late = bytes.fromhex(vec["late_envelope"])
    assert session.open(late).decode() == vec["late_plaintext_utf8"]
    assert code_of(session.open, late) == "REPLAY"
    assert code_of(hw.Session.import_state, vec["export"], hw.StorageKey.generate()) == "EXPORT_AUTHENTICATION"


def test_cross_language_with_kotlin(tmp_path, kotlin_cmd):
    """Python starts a session, Kotlin continues both sides from exports, Python checks."""
    v, a = World().pair()
    sk = hw.StorageKey.generate()
    assert a.open(v.seal(b"python warm-up")) == b"python warm-up"
    assert v.open(a.seal(b"python reply")) == b"python reply"
    py_env = v.seal("hello from python ✓".encode())
    py_text = v.seal_text("text from python")
    files = {
        "storage_key.hex": sk.to_bytes().hex(),
        "visitor.export": v.export_state(sk),
        "agent.export": a.export_state(sk),
        "py_v2a.envelope": py_env.hex(),
        "py_v2a.text": py_text,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    subprocess.run(kotlin_cmd + ["cross", str(tmp_path)], check=True, timeout=120)

    def read(name):
        return (tmp_path / name).read_text().strip()

    # Kotlin opened what Python sealed.
    assert read("kt_received.txt") == "hello from python ✓\ntext from python"
    # Python opens what Kotlin sealed, with its own sessions (still in step with Kotlin's).
    assert v.open(bytes.fromhex(read("kt_a2v.envelope"))) == b"hello from kotlin (agent)"
    assert a.open(bytes.fromhex(read("kt_v2a.envelope"))) == b"hello from kotlin (visitor)"
    assert read("kt_safety.txt").splitlines() == [v.safety_code(), v.safety_code()]
    # And continues the sessions Kotlin exported: Kotlin's agent already consumed py_env.
    agent2 = hw.Session.import_state(read("agent2.export"), sk)
    visitor2 = hw.Session.import_state(read("visitor2.export"), sk)
    assert code_of(agent2.open, py_env) == "REPLAY"
    assert agent2.open(visitor2.seal(b"round two")) == b"round two"
    assert visitor2.open(agent2.seal(b"round two back")) == b"round two back"
