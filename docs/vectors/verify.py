#!/usr/bin/env python3
"""An independent implementation of docs/PROTOCOL.md, written from the spec with the Python
`cryptography` package, that recomputes every value in docs/vectors/*.json.

It shares no code with the Rust implementation: if both agree byte for byte, the spec is
complete enough to build a compatible client from. Run: python3 docs/vectors/verify.py
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = serialization.Encoding.Raw
PUB = serialization.PublicFormat.Raw


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def x(hexstr):
    return bytes.fromhex(hexstr)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def mac(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def x25519_pub(secret):
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(RAW, PUB)


def dh(secret, public):
    out = X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(public))
    assert out != bytes(32), "all-zero DH"
    return out


def str8(s):
    b = s.encode()
    assert 1 <= len(b) <= 64
    return bytes([len(b)]) + b


class Symmetric:
    """Noise SymmetricState for Noise_NX_25519_AESGCM_SHA256 (Noise rev. 34, section 5.2)."""

    def __init__(self, prologue):
        name = b"Noise_NX_25519_AESGCM_SHA256"
        self.h = name + bytes(32 - len(name))
        self.ck = self.h
        self.k = None
        self.n = 0
        self.mix_hash(prologue)

    def mix_hash(self, data):
        self.h = hashlib.sha256(self.h + data).digest()

    def mix_key(self, ikm):
        out = hkdf(self.ck, ikm, b"", 64)
        self.ck, self.k, self.n = out[:32], out[32:], 0

    def encrypt_and_hash(self, pt):
        if self.k is None:
            ct = pt
        else:
            ct = AESGCM(self.k).encrypt(bytes(4) + struct.pack(">Q", self.n), pt, self.h)
            self.n += 1
        self.mix_hash(ct)
        return ct

    def decrypt_and_hash(self, ct):
        pt = AESGCM(self.k).decrypt(bytes(4) + struct.pack(">Q", self.n), ct, self.h)
        self.n += 1
        self.mix_hash(ct)
        return pt

    def split(self):
        out = hkdf(self.ck, b"", b"", 64)
        return out[:32], out[32:]


def padded_len(n):
    n += 1
    if n <= 256:
        return 256
    if n <= 4096:
        return 1 << (n - 1).bit_length()
    e = n.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (n + mask) & ~mask


CHECKS = {"passed": 0, "failed": 0}


def check(name, got, want):
    if got == want:
        CHECKS["passed"] += 1
    else:
        CHECKS["failed"] += 1
        print(f"FAIL {name}: got {got!r}, want {want!r}")


def verify_handshake(v):
    org = Ed25519PrivateKey.from_private_bytes(x(v["org_signing_seed"]))
    org_pk = org.public_key().public_bytes(RAW, PUB)
    check("org public key", org_pk.hex(), v["org_public_key"])
    key_id = hashlib.sha256(b"hushwire/v1/org-key-id" + org_pk).digest()[:8]
    check("org key id", key_id.hex(), v["org_key_id"])

    agent_pub = x25519_pub(x(v["agent_static_secret"]))
    check("agent public", agent_pub.hex(), v["agent_static_public"])
    body = (bytes([1]) + key_id + agent_pub + struct.pack(">QQ", v["not_before"], v["not_after"])
            + str8(v["agent_id"]) + str8(v["device_id"]))
    cert = body + org.sign(b"hushwire/v1/agent-certificate\0" + body)
    check("certificate", cert.hex(), v["certificate"])

    sid = x(v["session_id"])
    prologue = b"hushwire/v1/handshake" + bytes([1]) + sid + key_id
    check("prologue", prologue.hex(), v["prologue"])

    # Visitor: -> e (empty payload).
    ve = x(v["visitor_ephemeral_secret"])
    vs = Symmetric(prologue)
    ve_pub = x25519_pub(ve)
    vs.mix_hash(ve_pub)
    msg1 = ve_pub + vs.encrypt_and_hash(b"")
    hello = bytes([1, 1]) + sid + key_id + msg1
    check("hello", hello.hex(), v["hello"])
    check("hello text", b64u(hello), v["hello_base64url"])

    # Agent: <- e, ee, s, es with the certificate as payload.
    ae = x(v["agent_ephemeral_secret"])
    ags = Symmetric(prologue)
    ags.mix_hash(msg1[:32])
    ags.encrypt_and_hash(b"")  # message 1's empty payload
    ae_pub = x25519_pub(ae)
    ags.mix_hash(ae_pub)
    ags.mix_key(dh(ae, msg1[:32]))
    enc_s = ags.encrypt_and_hash(agent_pub)
    ags.mix_key(dh(x(v["agent_static_secret"]), msg1[:32]))
    enc_cert = ags.encrypt_and_hash(cert)
    reply = bytes([1, 2]) + sid + ae_pub + enc_s + enc_cert
    check("reply", reply.hex(), v["reply"])
    check("reply text", b64u(reply), v["reply_base64url"])

    # Visitor reads the reply and checks the certificate.
    vs.mix_hash(reply[18:50])
    vs.mix_key(dh(ve, reply[18:50]))
    rs = vs.decrypt_and_hash(reply[50:98])
    vs.mix_key(dh(ve, rs))
    got_cert = vs.decrypt_and_hash(reply[98:])
    check("certified key = rs", got_cert[9:41], rs)
    Ed25519PublicKey.from_public_bytes(org_pk).verify(got_cert[-64:], b"hushwire/v1/agent-certificate\0" + got_cert[:-64])
    check("handshake hash (both sides)", vs.h, ags.h)
    check("handshake hash", vs.h.hex(), v["handshake_hash"])

    k1, k2 = vs.split()
    ck_v2a = hkdf(vs.h, k1, b"hushwire/v1/chain/visitor-to-agent", 32)
    ck_a2v = hkdf(vs.h, k2, b"hushwire/v1/chain/agent-to-visitor", 32)
    check("chain v2a", ck_v2a.hex(), v["chain_key_visitor_to_agent"])
    check("chain a2v", ck_a2v.hex(), v["chain_key_agent_to_visitor"])
    code = struct.unpack(">Q", hkdf(b"", vs.h, b"hushwire/v1/safety-code", 8))[0] % 10**12
    digits = f"{code:012d}"
    check("safety code", f"{digits[:4]} {digits[4:8]} {digits[8:]}", v["safety_code"])
    return sid, {"visitor": ck_v2a, "agent": ck_a2v}


def verify_messages(m, sid, chains):
    check("messages session", m["session_id"], sid.hex())
    for msg in m["messages"]:
        ck = chains[msg["sender"]]
        mk = mac(ck, b"\x01")
        chains[msg["sender"]] = mac(ck, b"\x02")
        check(f"{msg['label']}: message key", mk.hex(), msg["message_key"])
        role = 1 if msg["sender"] == "visitor" else 2
        header = bytes([1, 3]) + sid + bytes([role]) + struct.pack(">I", msg["counter"])
        check(f"{msg['label']}: aad", header.hex(), msg["aad"])
        pt = x(msg["plaintext"])
        padded = pt + b"\x80" + bytes(padded_len(len(pt)) - len(pt) - 1)
        check(f"{msg['label']}: padded length", len(padded), msg["padded_length"])
        nonce = x(msg["nonce"])
        env = header + nonce + AESGCM(mk).encrypt(nonce, padded, header)
        check(f"{msg['label']}: envelope", env.hex(), msg["envelope"])
        check(f"{msg['label']}: envelope text", b64u(env), msg["envelope_base64url"])
        check(f"{msg['label']}: utf-8", pt.decode(), msg["plaintext_utf8"])


def verify_export(e):
    raw = unb64u(e["export"])
    check("export bytes", raw.hex(), e["export_bytes"])
    check("export header", raw[:2], b"\x01S")
    aad = b"hushwire/v1/export\x01S"
    check("export aad", aad.hex(), e["aad"])
    check("export nonce", raw[2:14].hex(), e["nonce"])
    state = AESGCM(x(e["storage_key"])).decrypt(raw[2:14], raw[14:], aad)
    check("export state", state.hex(), e["state"])
    # Parse the state (PROTOCOL.md 8.2) and open the late envelope with its skipped key.
    p = 2 + 16 + 32
    for _ in range(2):
        p += 1 + state[p]
    p += 32 + 4 + 32 + 4 + 8
    (count,) = struct.unpack(">I", state[p:p + 4])
    p += 4
    skipped = {}
    for _ in range(count):
        (n,) = struct.unpack(">I", state[p:p + 4])
        skipped[n] = state[p + 4:p + 36]
        p += 36
    check("state fully parsed", p, len(state))
    env = x(e["late_envelope"])
    (counter,) = struct.unpack(">I", env[19:23])
    padded = AESGCM(skipped[counter]).decrypt(env[23:35], env[35:], env[:23])
    check("late message", padded.rstrip(b"\x00")[:-1].decode(), e["late_plaintext_utf8"])


def main():
    sid, chains = verify_handshake(load("handshake.json"))
    verify_messages(load("messages.json"), sid, chains)
    verify_export(load("export.json"))
    print(f"vectors: {CHECKS['passed']} passed, {CHECKS['failed']} failed")
    return 1 if CHECKS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
