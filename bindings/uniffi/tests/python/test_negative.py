"""docs/vectors/negative.json through the Python bindings: every case the bindings can express
must raise HushwireError with its code. Sessions and identities come from the file's exports.
`finish` cases addressed to the visitor of handshake.json need that visitor's randomness, which
the bindings (rightly) cannot inject; their certificates are all checked by certificate_verify
cases, and every `"visitor": "any"` reply case runs against a fresh handshake."""
import io
import json
import os

import pytest

import hushwire_ffi as hw
from hushwire_attachment import AttachmentReader
from hushwire_ffi import HushwireError


@pytest.fixture
def vectors(root):
    with open(os.path.join(root, "docs", "vectors", "negative.json"), encoding="utf-8") as fh:
        return json.load(fh)


def needs_vector_visitor(case):
    return case["op"] == "finish" and case["visitor"] == "handshake.json"


ATTACHMENT_OPS = {"attachment_manifest", "attachment_open"}


def attachment_blob(v, c):
    """The blob of an `attachment_open` case: its pieces concatenated."""
    out = b""
    for p in c["blob"]:
        out += bytes.fromhex(p["hex"]) if "hex" in p else bytes.fromhex(v["attachments"][p["file"]])[p["start"] : p["end"]]
    return out


def run(v, c):
    key = hw.StorageKey.from_bytes(bytes.fromhex(c.get("storage_key", v["storage_key"])))
    org = hw.OrgPublicKey.from_bytes(bytes.fromhex(v["org_public_key"]))
    now = v["now"]

    def data(text_decoder=None):
        if "input_text" in c:
            return text_decoder(c["input_text"]) if text_decoder else c["input_text"]
        return bytes.fromhex(c["input"])

    session = lambda: hw.Session.import_state(v["sessions"][c["session"]], key)  # noqa: E731
    identity = lambda: hw.AgentIdentity.import_state(v["identity"], key)  # noqa: E731
    op = c["op"]
    if op == "open":
        s = session()
        for prior in c.get("prior", []):
            s.open(bytes.fromhex(prior))
        s.open(data(hw.envelope_from_text))
    elif op == "seal":
        session().seal(bytes(c["plaintext_length"]))
    elif op == "config":
        session().set_config(hw.SessionConfig(max_skip=c["max_skip"], max_stored_skipped=c["max_stored_skipped"]))
    elif op == "accept":
        identity().accept(data())
    elif op == "finish":
        hw.start_visitor_handshake(org).handshake.finish_at(data(), now)
    elif op == "finish_again":
        start = hw.start_visitor_handshake(org)
        reply = identity().accept(start.hello).reply
        start.handshake.finish_at(reply, now)
        start.handshake.finish_at(reply, now)
    elif op == "certificate_verify":
        pk = hw.OrgPublicKey.from_bytes(bytes.fromhex(c["org_public_key"])) if "org_public_key" in c else org
        hw.AgentCertificate.from_bytes(data()).verify(pk, now)
    elif op == "org_public_key":
        if "input_text" in c:
            hw.OrgPublicKey.from_text(c["input_text"])
        else:
            hw.OrgPublicKey.from_bytes(data())
    elif op == "certify":
        hw.OrgSigningKey.from_secret_bytes(bytes.fromhex(v["org_signing_seed"])).certify_agent(
            bytes.fromhex(c["agent_public_key"]), c["agent_id"], c["device_id"], c["not_before"], c["not_after"]
        )
    elif op == "import_session":
        hw.Session.import_state(c["input_text"], key)
    elif op == "import_identity":
        hw.AgentIdentity.import_state(c["input_text"], key)
    elif op == "attachment_manifest":
        hw.AttachmentManifest.from_bytes(data())
    elif op == "attachment_open":
        # Through the file-like reader, in reads of 1000 bytes.
        reader = AttachmentReader(hw.AttachmentManifest.from_bytes(bytes.fromhex(c["manifest"])), io.BytesIO(attachment_blob(v, c)))
        while reader.read(1000):
            pass
    else:
        raise AssertionError(f"unknown op {op}")


def test_every_negative_vector_is_refused_with_its_code(vectors):
    cases = [c for c in vectors["cases"] if not needs_vector_visitor(c)]
    assert len(vectors["cases"]) >= 60 and len(cases) >= 158
    assert sum(c["op"] in ATTACHMENT_OPS for c in cases) == 38
    failures = []
    for c in cases:
        try:
            run(vectors, c)
            failures.append(f"{c['name']}: accepted, want {c['code']}")
        except HushwireError as e:
            if e.code != c["code"]:
                failures.append(f"{c['name']}: got {e.code} ({e}), want {c['code']}")
    assert failures == []


def test_negative_vector_controls(vectors):
    key = hw.StorageKey.from_bytes(bytes.fromhex(vectors["storage_key"]))
    s = hw.Session.import_state(vectors["sessions"]["agent"], key)
    replay = next(c for c in vectors["cases"] if c["name"] == "envelope: replay")
    base = bytes.fromhex(replay["prior"][0])
    text = "\u3000 " + hw.envelope_to_text(base) + "\r\n"
    assert s.open(hw.envelope_from_text(text)) == b"negative vectors: base message"
    exhausted = hw.Session.import_state(vectors["sessions"]["exhausted"], key)
    with pytest.raises(HushwireError) as info:
        exhausted.seal(b"x")
    assert info.value.code == "SESSION_EXHAUSTED"
