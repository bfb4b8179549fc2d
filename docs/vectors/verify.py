#!/usr/bin/env python3
"""An independent implementation of docs/PROTOCOL.md, written from the spec with the Python
`cryptography` package, that recomputes every value in docs/vectors/*.json.

It shares no code with the Rust implementation: if both agree byte for byte, the spec is
complete enough to build a compatible client from. It also runs every case of negative.json
through its own decoders and checks (PROTOCOL.md section 11.1), with its own strict Ed25519
(section 1.1, pure Python, so no library leniency can hide a gap) and X25519 small-order check.
Run: python3 docs/vectors/verify.py
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


class Reject(Exception):
    """A refusal with its code (PROTOCOL.md section 11) and, for MALFORMED, the reason."""

    def __init__(self, code, reason=None):
        super().__init__(code if reason is None else f"{code}/{reason}")
        self.code, self.reason = code, reason


def malformed(reason):
    return Reject("MALFORMED", reason)


# --- base64url (PROTOCOL.md section 7.1) ---------------------------------------------------
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}


def strip_ws(text):
    i, j = 0, len(text)
    while i < j and text[i] in WHITE_SPACE:
        i += 1
    while j > i and text[j - 1] in WHITE_SPACE:
        j -= 1
    return text[i:j]


def unb64u_strict(text, max_len):
    t = strip_ws(text)
    if len(t) > -(-max_len // 3) * 4:
        raise malformed("TooLong")
    if len(t) % 4 == 1 or any(c not in B64 for c in t):
        raise malformed("Base64")
    acc = bits = 0
    out = bytearray()
    for c in t:
        acc = (acc << 6) | B64.index(c)
        bits += 6
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if acc & ((1 << bits) - 1):
        raise malformed("Base64")  # non-zero trailing bits
    return bytes(out)


# --- strict Ed25519 (PROTOCOL.md section 1.1), pure Python ---------------------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENT = (0, 1, 1, 0)


def ed_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A, B = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    C, Dd = 2 * t1 * t2 * D % P, 2 * z1 * z2 % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def ed_mul(k, pt):
    acc = IDENT
    while k:
        if k & 1:
            acc = ed_add(acc, pt)
        pt = ed_add(pt, pt)
        k >>= 1
    return acc


def ed_encode(pt):
    x, y, z, _ = pt
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def ed_decode(b):
    """The point of a 32-byte encoding, or None if it is not on the curve. Non-canonical
    encodings are decoded (y reduced); callers that require canonical ones re-encode."""
    n = int.from_bytes(b, "little")
    sign, y = n >> 255, (n & (2**255 - 1)) % P
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == (-u) % P:
        x = x * SQRT_M1 % P
    elif v * x * x % P != u:
        return None
    if x & 1 != sign:
        x = (-x) % P
    return (x, y, 1, x * y % P)


def ed_small_order(pt):
    return ed_encode(ed_mul(8, pt)) == ed_encode(IDENT)


B_POINT = ed_decode((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))


def org_key(b):
    """Decode an organisation key: canonical, on the curve, not of small order."""
    if len(b) != 32:
        raise malformed("TooShort" if len(b) < 32 else "TooLong")
    pt = ed_decode(b)
    if pt is None or ed_encode(pt) != b or ed_small_order(pt):
        raise malformed("InvalidField")
    return pt


def ed25519_verify_strict(a_bytes, msg, sig):
    a = org_key(a_bytes)
    r_bytes, s = sig[:32], int.from_bytes(sig[32:], "little")
    if s >= L:
        return False
    r = ed_decode(r_bytes)
    if r is None or ed_small_order(r):
        return False
    k = int.from_bytes(hashlib.sha512(r_bytes + a_bytes + msg).digest(), "little") % L
    return ed_encode(ed_add(ed_mul(s, B_POINT), ed_mul(L - k, a))) == r_bytes


# --- X25519 (RFC 7748), pure Python, for the small-order agent key rule --------------------
def x25519_raw(k, u_bytes):
    k = bytearray(k)
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    k = int.from_bytes(k, "little")
    u = int.from_bytes(u_bytes, "little") & (2**255 - 1)
    x1, x2, z2, x3, z3, swap = u, 1, 0, u, 1, 0
    for t in reversed(range(255)):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        A, B = (x2 + z2) % P, (x2 - z2) % P
        AA, BB = A * A % P, B * B % P
        E = (AA - BB) % P
        C, Dd = (x3 + z3) % P, (x3 - z3) % P
        DA, CB = Dd * A % P, C * B % P
        x3, z3 = (DA + CB) ** 2 % P, x1 * (DA - CB) ** 2 % P
        x2, z2 = AA * BB % P, E * (AA + 121665 * E) % P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


def acceptable_agent_key(u):
    return int.from_bytes(u, "little") < P and x25519_raw(bytes([0x55] * 32), u) != bytes(32)


# --- certificates (section 4) ---------------------------------------------------------------
CERT_LABEL = b"hushwire/v1/agent-certificate\0"


def key_id_of(pk):
    return hashlib.sha256(b"hushwire/v1/org-key-id" + pk).digest()[:8]


def decode_str8(b, p, maxlen=64):
    if p >= len(b):
        raise malformed("TooShort")
    n = b[p]
    if n == 0 or n > maxlen:
        raise malformed("InvalidField")
    if p + 1 + n > len(b):
        raise malformed("TooShort")
    try:
        text = b[p + 1:p + 1 + n].decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("InvalidField") from None
    return text, p + 1 + n


def decode_cert(b):
    # Version 1 (section 4) or version 2 with a role byte after not_after (section 18.1).
    if len(b) > 252:
        raise malformed("TooLong")
    if len(b) < 1:
        raise malformed("TooShort")
    if b[0] not in (1, 2):
        raise malformed("UnsupportedVersion")
    if len(b) < 125 + (b[0] == 2):
        raise malformed("TooShort")
    nb, na = struct.unpack(">QQ", b[41:57])
    p = 57
    role = 1
    if b[0] == 2:
        role = b[57]
        if role not in (1, 2, 3):
            raise malformed("InvalidField")
        p = 58
    agent_id, p = decode_str8(b, p)
    device_id, p = decode_str8(b, p)
    if p + 64 > len(b):
        raise malformed("TooShort")
    if p + 64 < len(b):
        raise malformed("TrailingBytes")
    return {"key_id": b[1:9], "key": b[9:41], "nb": nb, "na": na, "role": role, "agent_id": agent_id,
            "device_id": device_id, "body": b[:p], "sig": b[p:]}


def verify_cert_static(c, org_pk):
    if c["key_id"] != key_id_of(org_pk):
        raise Reject("WRONG_ORGANIZATION")
    if not ed25519_verify_strict(org_pk, CERT_LABEL + c["body"], c["sig"]):
        raise Reject("BAD_CERTIFICATE")
    if c["nb"] > c["na"] or not acceptable_agent_key(c["key"]):
        raise Reject("BAD_CERTIFICATE")


def verify_cert(c, org_pk, now):
    verify_cert_static(c, org_pk)
    if now < c["nb"]:
        raise Reject("CERTIFICATE_NOT_YET_VALID")
    if now > c["na"]:
        raise Reject("CERTIFICATE_EXPIRED")


# --- exports (section 8) --------------------------------------------------------------------
MAX_SEALED = {b"S": 2 + 12 + 551 + 36 * 20000 + 16, b"A": 2 + 12 + 32 + 32 + 252 + 16}


def open_export(text, key, kind):
    raw = unb64u_strict(text, MAX_SEALED[kind])
    if len(raw) > MAX_SEALED[kind]:
        raise malformed("TooLong")
    if len(raw) < 1:
        raise malformed("TooShort")
    if raw[0] != 1:
        raise malformed("UnsupportedVersion")
    if len(raw) < 2:
        raise malformed("TooShort")
    if raw[1:2] != kind:
        raise malformed("UnexpectedType")
    if len(raw) < 30:
        raise malformed("TooShort")
    try:
        return AESGCM(key).decrypt(raw[2:14], raw[14:], b"hushwire/v1/export\x01" + kind)
    except Exception:
        raise Reject("EXPORT_AUTHENTICATION") from None


class Cursor:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, n):
        if self.p + n > len(self.b):
            raise malformed("TooShort")
        self.p += n
        return self.b[self.p - n:self.p]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def str8(self):
        text, self.p = decode_str8(self.b, self.p)
        return text


def parse_state(b):
    r = Cursor(b)
    if r.take(1)[0] != 1:
        raise malformed("UnsupportedVersion")
    role = r.take(1)[0]
    if role not in (1, 2):
        raise malformed("InvalidField")
    st = {"role": role, "sid": r.take(16), "hh": r.take(32), "agent_id": r.str8(), "device_id": r.str8(),
          "send_ck": r.take(32), "send_next": r.u32(), "recv_ck": r.take(32), "recv_next": r.u32(),
          "max_skip": r.u32(), "max_stored": r.u32()}
    if not 1 <= st["max_skip"] <= 20000 or st["max_stored"] > 20000:
        raise malformed("InvalidField")
    count = r.u32()
    if count > st["max_stored"]:
        raise malformed("InvalidField")
    st["skipped"] = {}
    last = -1
    for _ in range(count):
        n, mk = r.u32(), r.take(32)
        if n >= st["recv_next"] or n <= last:
            raise malformed("InvalidField")
        st["skipped"][n] = mk
        last = n
    if r.p != len(b):
        raise malformed("TrailingBytes")
    return st


def state_bytes(st):
    out = bytes([1, st["role"]]) + st["sid"] + st["hh"] + str8(st["agent_id"]) + str8(st["device_id"])
    out += st["send_ck"] + struct.pack(">I", st["send_next"]) + st["recv_ck"] + struct.pack(">I", st["recv_next"])
    out += struct.pack(">III", st["max_skip"], st["max_stored"], len(st["skipped"]))
    for n in sorted(st["skipped"]):
        out += struct.pack(">I", n) + st["skipped"][n]
    return out


def parse_identity(b):
    r = Cursor(b)
    secret = r.take(32)
    org_pk = r.take(32)
    org_key(org_pk)
    c = decode_cert(b[64:])
    verify_cert_static(c, org_pk)
    if c["key"] != x25519_pub(secret):
        raise Reject("CERTIFICATE_KEY_MISMATCH")
    return secret, org_pk, c


# --- envelopes and sessions (section 6) -----------------------------------------------------
def is_padded_len(n):
    return 256 <= n <= padded_len(65536) and padded_len(n - 1) == n


def check_frame(b, msg_type, min_len, max_len):
    """The common order of section 7: upper bound, version, type, lower bound."""
    if len(b) > max_len:
        raise malformed("TooLong")
    if len(b) < 1:
        raise malformed("TooShort")
    if b[0] != 1:
        raise malformed("UnsupportedVersion")
    if len(b) < 2:
        raise malformed("TooShort")
    if b[1] != msg_type:
        raise malformed("UnexpectedType")
    if len(b) < min_len:
        raise malformed("TooShort")


def decode_envelope(b):
    check_frame(b, 3, 35 + 256 + 16, 35 + padded_len(65536) + 16)
    if b[18] not in (1, 2) or b[19:23] == b"\xff" * 4:
        raise malformed("InvalidField")
    if not is_padded_len(len(b) - 51):
        raise malformed("InvalidField")
    return b


def session_open(st, env):
    if env[2:18] != st["sid"]:
        raise Reject("WRONG_SESSION")
    if env[18] == st["role"]:
        raise Reject("REFLECTED")
    (c,) = struct.unpack(">I", env[19:23])
    if c < st["recv_next"]:
        if c not in st["skipped"]:
            raise Reject("REPLAY")
        mk, commit = st["skipped"][c], lambda: st["skipped"].pop(c)
    else:
        if c - st["recv_next"] > st["max_skip"]:
            raise Reject("TOO_FAR_AHEAD")
        ck, new = st["recv_ck"], {}
        for n in range(st["recv_next"], c):
            new[n], ck = mac(ck, b"\x01"), mac(ck, b"\x02")
        mk, ck = mac(ck, b"\x01"), mac(ck, b"\x02")

        def commit():
            st["recv_ck"], st["recv_next"] = ck, c + 1
            st["skipped"].update(new)
            while len(st["skipped"]) > st["max_stored"]:
                st["skipped"].pop(min(st["skipped"]))
    try:
        padded = AESGCM(mk).decrypt(env[23:35], env[35:], env[:23])
    except Exception:
        raise Reject("TAMPERED") from None
    m = padded.rstrip(b"\x00")
    if not m or m[-1] != 0x80 or len(m) - 1 > 65536 or padded_len(len(m) - 1) != len(padded):
        raise Reject("TAMPERED")
    commit()
    return m[:-1]


def session_seal_check(st, length):
    if length > 65536:
        raise Reject("MESSAGE_TOO_LARGE")
    if st["send_next"] == 0xFFFFFFFF:
        raise Reject("SESSION_EXHAUSTED")


# --- handshake (section 3) ------------------------------------------------------------------
def decode_hello(b):
    check_frame(b, 1, 58, 58)
    return b


def dh_checked(secret, public):
    out = x25519_raw(secret, public)
    if out == bytes(32):
        raise Reject("WEAK_KEY")
    return out


def decode_reply(b):
    check_frame(b, 2, 239, 366)
    return b


class Visitor:
    """The visitor's side of a handshake (section 3.5); failed replies leave it usable."""

    def __init__(self, sid, ve, org_pk):
        self.sid, self.ve, self.org_pk, self.done = sid, ve, org_pk, False
        self.prologue = b"hushwire/v1/handshake\x01" + sid + key_id_of(org_pk)
        self.hello = bytes([1, 1]) + sid + key_id_of(org_pk) + x25519_pub(ve)

    def finish(self, reply, now):
        reply = decode_reply(reply)
        if reply[2:18] != self.sid:
            raise Reject("WRONG_SESSION")
        if self.done:
            raise Reject("INVALID_ARGUMENT")
        ss = Symmetric(self.prologue)
        ss.mix_hash(x25519_pub(self.ve))
        ss.encrypt_and_hash(b"")
        ss.mix_hash(reply[18:50])
        ss.mix_key(dh_checked(self.ve, reply[18:50]))
        try:
            rs = ss.decrypt_and_hash(reply[50:98])
        except Exception:
            raise Reject("HANDSHAKE_FAILED") from None
        ss.mix_key(dh_checked(self.ve, rs))
        try:
            payload = ss.decrypt_and_hash(reply[98:])
        except Exception:
            raise Reject("HANDSHAKE_FAILED") from None
        try:
            cert = decode_cert(payload)
        except Reject:
            raise Reject("BAD_CERTIFICATE") from None
        verify_cert(cert, self.org_pk, now)
        if cert["key"] != rs:
            raise Reject("CERTIFICATE_KEY_MISMATCH")
        self.done = True
        return ss


def respond(identity, hello, ae):
    """The agent's reply (section 3.4) with ephemeral secret ae; returns (reply, symmetric)."""
    secret, org_pk, cert = identity
    hello = decode_hello(hello)
    if hello[18:26] != key_id_of(org_pk):
        raise Reject("WRONG_ORGANIZATION")
    ss = Symmetric(b"hushwire/v1/handshake\x01" + hello[2:26])
    ss.mix_hash(hello[26:58])
    ss.encrypt_and_hash(b"")
    ss.mix_hash(x25519_pub(ae))
    ss.mix_key(dh_checked(ae, hello[26:58]))
    enc_s = ss.encrypt_and_hash(x25519_pub(secret))
    ss.mix_key(dh_checked(secret, hello[26:58]))
    enc_cert = ss.encrypt_and_hash(cert["body"] + cert["sig"])
    return bytes([1, 2]) + hello[2:18] + x25519_pub(ae) + enc_s + enc_cert, ss


# --- attachments (PROTOCOL.md section 15) -----------------------------------------------------
ATT_MAX = 1 << 40
MANIFEST_MIN, MANIFEST_MAX = 88, 33237


def att_keys(fk):
    return (hkdf(b"", fk, b"hushwire/v1/attachment/stream", 32),
            hkdf(b"", fk, b"hushwire/v1/attachment/commitment", 32))


def att_layout(s, plen):
    seg = 1 << s
    padded = padded_len(plen)
    k = -(-padded // seg)
    return seg, padded, k, 35 + padded + 16 * k


def att_nonce(i, last):
    return bytes(7) + struct.pack(">I", i) + bytes([1 if last else 0])


def att_encrypt(fk, s, plaintext):
    """Section 15.3 from scratch: returns the blob."""
    stream_key, commitment = att_keys(fk)
    seg, padded, k, _ = att_layout(s, len(plaintext))
    body = plaintext + b"\x80" + bytes(padded - len(plaintext) - 1)
    header = bytes([1, 0x30, s]) + commitment
    aead = AESGCM(stream_key)
    out = [header]
    for i in range(k):
        out.append(aead.encrypt(att_nonce(i, i == k - 1), body[i * seg:(i + 1) * seg], header))
    return b"".join(out)


def decode_manifest(b):
    M = lambda reason: Reject("MALFORMED", reason)
    if len(b) > MANIFEST_MAX:
        raise M("TooLong")
    if len(b) < 1:
        raise M("TooShort")
    if b[0] != 1:
        raise M("UnsupportedVersion")
    if len(b) < 2:
        raise M("TooShort")
    if b[1] != 0x30:
        raise M("UnexpectedType")
    if len(b) < MANIFEST_MIN:
        raise M("TooShort")
    s = b[2]
    if s not in (16, 20):
        raise M("InvalidField")
    fk, commitment = b[3:35], b[35:67]
    plen, clen = struct.unpack(">QQ", b[67:83])
    if plen > ATT_MAX:
        raise M("InvalidField")
    if clen != att_layout(s, plen)[3]:
        raise M("InvalidField")
    p = 83

    def take(n):
        nonlocal p
        if p + n > len(b):
            raise M("TooShort")
        p += n
        return b[p - n:p]

    media = take(take(1)[0])
    if not 1 <= len(media) <= 127 or any(not 0x21 <= c <= 0x7E for c in media):
        raise M("InvalidField")
    name = take(take(1)[0])
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        raise M("InvalidField")
    tlen = struct.unpack(">H", take(2))[0]
    if tlen > 32768:
        raise M("InvalidField")
    thumb = take(tlen)
    if p != len(b):
        raise M("TrailingBytes")
    if not hmac.compare_digest(att_keys(fk)[1], commitment):
        raise M("InvalidField")
    return {"s": s, "fk": fk, "commitment": commitment, "plen": plen, "clen": clen,
            "media": media.decode(), "name": name.decode() if name else None, "thumb": thumb or None}


def att_decrypt(m, blob):
    """Section 15.3's reading order; every failure is ATTACHMENT_CORRUPTED."""
    bad = Reject("ATTACHMENT_CORRUPTED")
    stream_key, commitment = att_keys(m["fk"])
    seg, padded, k, clen = att_layout(m["s"], m["plen"])
    header = bytes([1, 0x30, m["s"]]) + commitment
    if len(blob) < 35 or not hmac.compare_digest(blob[:35], header):
        raise bad
    aead, p, out = AESGCM(stream_key), 35, []
    for i in range(k):
        n = min(seg, padded - i * seg) + 16
        if p + n > len(blob):
            raise bad
        try:
            out.append(aead.decrypt(att_nonce(i, i == k - 1), blob[p:p + n], header))
        except Exception:
            raise bad
        p += n
    if p != len(blob):
        raise bad
    body = b"".join(out)
    if body[m["plen"]:] != b"\x80" + bytes(padded - m["plen"] - 1):
        raise bad
    return body[:m["plen"]]


def verify_attachments(av):
    rng = VectorRng(SEED + b"/attachment")
    for f in av["files"]:
        label = f["label"]
        fk = rng.draw(32)
        check(f"attachment {label}: file key", fk.hex(), f["file_key"])
        stream_key, commitment = att_keys(fk)
        check(f"attachment {label}: stream key", stream_key.hex(), f["stream_key"])
        check(f"attachment {label}: commitment", commitment.hex(), f["commitment"])
        plain = bytes(i % 251 for i in range(f["plaintext_length"]))
        s = f["segment_size"].bit_length() - 1
        blob = att_encrypt(fk, s, plain)
        seg, padded, k, clen = att_layout(s, len(plain))
        check(f"attachment {label}: padded length", padded, f["padded_length"])
        check(f"attachment {label}: ciphertext length", len(blob), clen)
        check(f"attachment {label}: ciphertext length (vector)", len(blob), f["ciphertext_length"])
        check(f"attachment {label}: header", blob[:35].hex(), f["header"])
        check(f"attachment {label}: blob sha256", hashlib.sha256(blob).hexdigest(), f["blob_sha256"])
        if "blob" in f:
            check(f"attachment {label}: blob", blob.hex(), f["blob"])
        p = 35
        check(f"attachment {label}: segment count", len(f["segments"]), k)
        for i, sv in enumerate(f["segments"]):
            n = min(seg, padded - i * seg)
            check(f"attachment {label}: segment {i} nonce", att_nonce(i, i == k - 1).hex(), sv["nonce"])
            check(f"attachment {label}: segment {i} length", n, sv["plaintext_length"])
            check(f"attachment {label}: segment {i} tag", blob[p + n:p + n + 16].hex(), sv["tag"])
            check(f"attachment {label}: segment {i} sha256", hashlib.sha256(blob[p:p + n + 16]).hexdigest(),
                  sv["segment_sha256"])
            p += n + 16
        m = decode_manifest(x(f["manifest"]))
        check(f"attachment {label}: manifest fields", (m["fk"], m["s"], m["plen"], m["clen"]),
              (fk, s, len(plain), clen))
        check(f"attachment {label}: decrypts", att_decrypt(m, blob), plain)


def attachment_blob(v, c):
    out = b""
    for piece in c["blob"]:
        if "hex" in piece:
            out += x(piece["hex"])
        else:
            out += x(v["attachments"][piece["file"]])[piece["start"]:piece["end"]]
    return out


# --- the deterministic generator (PROTOCOL.md section 13.1) ---------------------------------
class VectorRng:
    def __init__(self, seed):
        self.key, self.counter, self.buf = hashlib.sha256(seed).digest(), 0, b""

    def draw(self, n):
        out = b""
        while len(out) < n:
            if not self.buf:
                self.buf = mac(self.key, struct.pack(">Q", self.counter))
                self.counter += 1
            take = min(n - len(out), len(self.buf))
            out, self.buf = out + self.buf[:take], self.buf[take:]
        return out


SEED = b"hushwire protocol v1 test vectors"


def safety_code(h):
    code = struct.unpack(">Q", hkdf(b"", h, b"hushwire/v1/safety-code", 8))[0] % 10**12
    d = f"{code:012d}"
    return f"{d[:4]} {d[4:8]} {d[8:]}"


def verify_export(e, hs, m):
    raw = unb64u(e["export"])
    check("export bytes", raw.hex(), e["export_bytes"])
    check("export header", raw[:2], b"\x01S")
    aad = b"hushwire/v1/export\x01S"
    check("export aad", aad.hex(), e["aad"])
    check("export nonce", raw[2:14].hex(), e["nonce"])
    state = AESGCM(x(e["storage_key"])).decrypt(raw[2:14], raw[14:], aad)
    check("export state", state.hex(), e["state"])
    # The state follows from handshake.json and messages.json: the visitor after every
    # delivery but the one marked as opened after the export.
    msgs = m["messages"]
    last = max(msg["delivery_order"] for msg in msgs)
    ck = {"visitor": x(hs["chain_key_visitor_to_agent"]), "agent": x(hs["chain_key_agent_to_visitor"])}
    sent = {"visitor": 0, "agent": 0}
    keys = {}
    for msg in msgs:
        keys[(msg["sender"], msg["counter"])] = mac(ck[msg["sender"]], b"\x01")
        ck[msg["sender"]] = mac(ck[msg["sender"]], b"\x02")
        sent[msg["sender"]] += 1
    received = [msg["counter"] for msg in msgs if msg["sender"] == "agent" and msg["delivery_order"] != last]
    late = [msg for msg in msgs if msg["delivery_order"] == last][0]
    recv_next = max(received) + 1
    expected = {"role": 1, "sid": x(hs["session_id"]), "hh": x(hs["handshake_hash"]),
                "agent_id": hs["agent_id"], "device_id": hs["device_id"],
                "send_ck": ck["visitor"], "send_next": sent["visitor"],
                "recv_ck": ck_at(x(hs["chain_key_agent_to_visitor"]), recv_next), "recv_next": recv_next,
                "max_skip": 1000, "max_stored": 1000,
                "skipped": {n: keys[("agent", n)] for n in range(recv_next) if n not in received}}
    check("export state from messages.json", state_bytes(expected).hex(), e["state"])
    check("late envelope is in messages.json", late["envelope"], e["late_envelope"])
    st = parse_state(state)
    check("late message", session_open(st, x(e["late_envelope"])).decode(), e["late_plaintext_utf8"])
    # Identity export (section 8.3).
    iraw = unb64u_strict(e["identity_export"], MAX_SEALED[b"A"])
    check("identity nonce", iraw[2:14].hex(), e["identity_nonce"])
    check("identity aad", e["identity_aad"], (b"hushwire/v1/export\x01A").hex())
    istate = open_export(e["identity_export"], x(e["storage_key"]), b"A")
    want = x(hs["agent_static_secret"]) + x(hs["org_public_key"]) + x(hs["certificate"])
    check("identity state", istate.hex(), want.hex())
    check("identity state (export.json)", istate.hex(), e["identity_state"])
    parse_identity(istate)
    return st


def ck_at(ck, n):
    for _ in range(n):
        ck = mac(ck, b"\x02")
    return ck


def verify_padding(pv, st, hs, m):
    check("padding session", pv["session_id"], hs["session_id"])
    ck = x(hs["chain_key_agent_to_visitor"])
    agent_sent = sum(1 for msg in m["messages"] if msg["sender"] == "agent")
    ck = ck_at(ck, agent_sent)
    for i, msg in enumerate(pv["messages"]):
        mk, ck = mac(ck, b"\x01"), mac(ck, b"\x02")
        n = msg["plaintext_length"]
        check(f"padding {n}: counter", msg["counter"], agent_sent + i)
        check(f"padding {n}: message key", mk.hex(), msg["message_key"])
        pt = bytes(j % 251 for j in range(n))
        padded = pt + b"\x80" + bytes(padded_len(n) - n - 1)
        check(f"padding {n}: padded length", len(padded), msg["padded_length"])
        header = bytes([1, 3]) + x(hs["session_id"]) + bytes([2]) + struct.pack(">I", msg["counter"])
        env = header + x(msg["nonce"]) + AESGCM(mk).encrypt(x(msg["nonce"]), padded, header)
        check(f"padding {n}: envelope sha256", hashlib.sha256(env).hexdigest(), msg["envelope_sha256"])
        if "envelope" in msg:
            check(f"padding {n}: envelope", env.hex(), msg["envelope"])
        check(f"padding {n}: opens", session_open(st, decode_envelope(env)), pt)
    for n, want in [(0, 256), (255, 256), (256, 512), (1023, 1024), (4095, 4096), (4096, 4352), (65536, 67584)]:
        check(f"P({n}+1)", padded_len(n), want)


def vector_handshake(seed, hs):
    """The handshake of handshake.json's parties with randomness from `seed` (section 13.1)."""
    rng = VectorRng(seed)
    if seed == SEED:
        check("generator: org seed", rng.draw(32).hex(), hs["org_signing_seed"])
        check("generator: agent secret", rng.draw(32).hex(), hs["agent_static_secret"])
    sid, ve, ae = rng.draw(16), rng.draw(32), rng.draw(32)
    org_pk = x(hs["org_public_key"])
    visitor = Visitor(sid, ve, org_pk)
    identity = (x(hs["agent_static_secret"]), org_pk, decode_cert(x(hs["certificate"])))
    reply, agent_ss = respond(identity, visitor.hello, ae)
    ss = visitor.finish(reply, hs["verification_time"])
    check("handshake hash (both sides)", ss.h, agent_ss.h)
    return visitor, reply, ss.h


def verify_safety(sv, hs):
    for n in range(sv["n"] + 1):
        visitor, reply, h = vector_handshake(SEED + f"/safety-code/{n}".encode(), hs)
        code = safety_code(h)
        if n < sv["n"]:
            check(f"safety scenario {n} has no leading 00", code.startswith("00"), False)
    check("safety suffix", sv["seed_suffix"], f"/safety-code/{sv['n']}")
    check("safety hello", visitor.hello.hex(), sv["hello"])
    check("safety reply", reply.hex(), sv["reply"])
    check("safety hash", h.hex(), sv["handshake_hash"])
    check("safety code", code, sv["safety_code"])
    check("safety code leading zeros", code.startswith("00"), True)


def verify_draw_order(hs, m, e, pv):
    """Section 13.1: every random value of the scenario, in the documented order."""
    rng = VectorRng(SEED)
    for want in (hs["org_signing_seed"], hs["agent_static_secret"]):
        check("draw: key", rng.draw(32).hex(), want)
    check("draw: session id", rng.draw(16).hex(), hs["session_id"])
    check("draw: visitor ephemeral", rng.draw(32).hex(), hs["visitor_ephemeral_secret"])
    check("draw: agent ephemeral", rng.draw(32).hex(), hs["agent_ephemeral_secret"])
    for msg in m["messages"]:
        check(f"draw: nonce of {msg['label']}", rng.draw(12).hex(), msg["nonce"])
    check("draw: storage key", rng.draw(32).hex(), e["storage_key"])
    check("draw: export nonce", rng.draw(12).hex(), e["nonce"])
    check("draw: identity export nonce", rng.draw(12).hex(), e["identity_nonce"])
    for msg in pv["messages"]:
        check(f"draw: padding nonce {msg['plaintext_length']}", rng.draw(12).hex(), msg["nonce"])


def run_negative(v, c, hs):
    key = x(c.get("storage_key", v["storage_key"]))
    now = v["now"]
    org_pk = x(v["org_public_key"])
    identity = lambda: parse_identity(open_export(v["identity"], key, b"A"))  # noqa: E731
    session = lambda: parse_state(open_export(v["sessions"][c["session"]], key, b"S"))  # noqa: E731

    def inp(max_len):
        return unb64u_strict(c["input_text"], max_len) if "input_text" in c else x(c["input"])

    op = c["op"]
    if op == "open":
        st = session()
        for prior in c.get("prior", []):
            session_open(st, decode_envelope(x(prior)))
        session_open(st, decode_envelope(inp(35 + padded_len(65536) + 16)))
    elif op == "seal":
        session_seal_check(session(), c["plaintext_length"])
    elif op == "config":
        if not 1 <= c["max_skip"] <= 20000 or c["max_stored_skipped"] > 20000:
            raise Reject("INVALID_ARGUMENT")
    elif op == "accept":
        respond(identity(), inp(58), os.urandom(32))
    elif op == "finish":
        visitor = Visitor(x(hs["session_id"]), x(hs["visitor_ephemeral_secret"]), org_pk)
        if c["visitor"] == "any":
            visitor = Visitor(os.urandom(16), os.urandom(32), org_pk)
        visitor.finish(inp(366), now)
    elif op == "finish_again":
        visitor = Visitor(os.urandom(16), os.urandom(32), org_pk)
        reply, _ = respond(identity(), visitor.hello, os.urandom(32))
        visitor.finish(reply, now)
        visitor.finish(reply, now)
    elif op == "certificate_verify":
        pk = x(c["org_public_key"]) if "org_public_key" in c else org_pk
        org_key(pk)
        verify_cert(decode_cert(inp(252)), pk, now)
    elif op == "org_public_key":
        org_key(inp(32))
    elif op == "certify":
        for ident in (c["agent_id"], c["device_id"]):
            if not 1 <= len(ident.encode()) <= 64:
                raise Reject("INVALID_ARGUMENT")
        if c["not_before"] > c["not_after"] or not acceptable_agent_key(x(c["agent_public_key"])):
            raise Reject("INVALID_ARGUMENT")
    elif op == "import_session":
        parse_state(open_export(c["input_text"], key, b"S"))
    elif op == "import_identity":
        parse_identity(open_export(c["input_text"], key, b"A"))
    elif op == "attachment_manifest":
        decode_manifest(x(c["input"]))
    elif op == "attachment_open":
        att_decrypt(decode_manifest(x(c["manifest"])), attachment_blob(v, c))
    else:
        raise ValueError(f"unknown op {op}")


def verify_negative(v, hs):
    check("at least 60 negative cases", len(v["cases"]) >= 60, True)
    check("negative org key", v["org_public_key"], hs["org_public_key"])
    for c in v["cases"]:
        try:
            run_negative(v, c, hs)
            got = None
        except Reject as e:
            got = (e.code, e.reason)
        want = (c["code"], c.get("reason") if c["code"] == "MALFORMED" else None)
        check(f"negative: {c['name']}", got, want)
    # Control: the attachment cases' base blob opens under its manifest.
    ext = [c for c in v["cases"] if c["name"] == "attachment blob: extended by one byte"][0]
    check("negative attachment control opens", len(att_decrypt(decode_manifest(x(ext["manifest"])),
                                                               x(v["attachments"]["a"]))), 131072)
    # Controls: the base envelope opens, surrounding white space is allowed in text forms.
    st = parse_state(open_export(v["sessions"]["agent"], x(v["storage_key"]), b"S"))
    replay = [c for c in v["cases"] if c["name"] == "envelope: replay"][0]
    text = " \u3000" + b64u(x(replay["prior"][0])) + "\r\n"
    check("negative control opens", session_open(st, decode_envelope(unb64u_strict(text, 1 << 17))),
          b"negative vectors: base message")


def verify_wycheproof_ed25519():
    """Section 1.1 as written agrees with Wycheproof's Ed25519 suite: every valid signature
    verifies, every invalid one fails ("acceptable" cases may go either way)."""
    path = os.path.join(HERE, "..", "..", "crates", "hushwire", "tests", "data", "wycheproof", "ed25519_test.json")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    ran = 0
    for g in doc["testGroups"]:
        pk = x(g["publicKey"]["pk"])
        for t in g["tests"]:
            if t["result"] == "acceptable":
                continue
            try:
                ok = len(x(t["sig"])) == 64 and ed25519_verify_strict(pk, x(t["msg"]), x(t["sig"]))
            except Reject:
                ok = False
            check(f"wycheproof ed25519 tcId {t['tcId']}", ok, t["result"] == "valid")
            ran += 1
    check("wycheproof ed25519 cases", ran >= 145, True)

# --- conversations (section 18) -------------------------------------------------------------
HEAD_LABEL = b"hushwire/v1/roster-head"


def roster_code(head):
    code = struct.unpack(">Q", hkdf(b"", head, b"hushwire/v1/roster-code", 8))[0] % 10**12
    d = f"{code:012d}"
    return f"{d[:4]} {d[4:8]} {d[8:]}"


def decode_member(b, p):
    """str8 agent_id, str8 device_id (0..=64 bytes each): both empty (the visitor) or both set."""
    parts = []
    for _ in range(2):
        if p >= len(b):
            raise malformed("TooShort")
        n = b[p]
        if n > 64:
            raise malformed("InvalidField")
        if p + 1 + n > len(b):
            raise malformed("TooShort")
        try:
            parts.append(b[p + 1:p + 1 + n].decode("utf-8"))
        except UnicodeDecodeError:
            raise malformed("InvalidField") from None
        p += 1 + n
    if (parts[0] == "") != (parts[1] == ""):
        raise malformed("InvalidField")
    return (parts[0], parts[1]), p


def decode_entry(b):
    issuer, p = decode_member(b, 0)
    if p >= len(b):
        raise malformed("TooShort")
    kind = b[p]
    p += 1
    subject = None
    if kind in (1, 2):
        if p >= len(b):
            raise malformed("TooShort")
        n = b[p]
        if p + 1 + n > len(b):
            raise malformed("TooShort")
        try:
            subject = decode_cert(b[p + 1:p + 1 + n])
        except Reject:
            raise malformed("InvalidField") from None
        p += 1 + n
    elif kind == 3:
        pass
    elif kind in (4, 5, 6):
        subject, p = decode_member(b, p)
    else:
        raise malformed("InvalidField")
    if p != len(b):
        raise malformed("TrailingBytes")
    return issuer, kind, subject


class Roster:
    def __init__(self, org_pk, cid):
        self.org_pk = org_pk
        self.members = [{"id": ("", ""), "role": 0, "cert": None, "history": None}]
        self.events = 0
        self.head = hashlib.sha256(HEAD_LABEL + cid).digest()

    def find(self, mid):
        for i, m in enumerate(self.members):
            if m["id"] == mid:
                return i
        return None

    def apply(self, raw):
        issuer, kind, subj = decode_entry(raw)
        if self.events >= 128:
            raise Reject("CONVERSATION_FULL")
        first = self.events == 0
        if kind == 1:
            if not first or (subj["agent_id"], subj["device_id"]) != issuer:
                raise Reject("ROSTER_FORBIDDEN")
        else:
            if first:
                raise Reject("ROSTER_FORBIDDEN")
            i = self.find(issuer)
            if i is None:
                raise Reject("NOT_A_MEMBER")
            if self.members[i]["role"] == 0:
                raise Reject("ROSTER_FORBIDDEN")
        me = self.find(issuer)
        if kind in (1, 2):
            verify_cert_static(subj, self.org_pk)
            mid = (subj["agent_id"], subj["device_id"])
            if self.find(mid) is not None:
                raise Reject("ROSTER_FORBIDDEN")
            if len(self.members) >= 16:
                raise Reject("CONVERSATION_FULL")
            self.members.append({"id": mid, "role": subj["role"], "cert": subj, "history": None})
        elif kind == 3:
            del self.members[me]
        else:
            t = self.find(subj)
            if t is None:
                raise Reject("NOT_A_MEMBER")
            target = self.members[t]
            if kind == 4:
                if target["role"] == 0 or subj == issuer or (target["role"] == 2 and self.members[me]["role"] != 2):
                    raise Reject("ROSTER_FORBIDDEN")
                del self.members[t]
            else:
                if subj == issuer or target["role"] == 0:
                    raise Reject("ROSTER_FORBIDDEN")
                if kind == 5:
                    del self.members[me]
                else:
                    target["history"] = issuer
        self.head = hashlib.sha256(HEAD_LABEL + self.head + raw).digest()
        self.events += 1


def decode_conv_frame(b):
    if len(b) < 1:
        raise malformed("TooShort")
    if b[0] != 1:
        raise malformed("UnsupportedVersion")
    if len(b) < 2:
        raise malformed("TooShort")
    if not 1 <= b[1] <= 6:
        raise malformed("UnexpectedType")
    if len(b) < 54:
        raise malformed("TooShort")
    return {"type": b[1], "cid": b[2:18], "counter": struct.unpack(">I", b[18:22])[0], "head": b[22:54], "body": b[54:]}


def verify_conversation(cv):
    org_pk = x(cv["org_public_key"])
    cid = x(cv["conversation_id"])
    roster = Roster(org_pk, cid)
    check("conversation: initial head", roster.head.hex(), cv["initial_head"])
    heads = [roster.head]
    entries = []
    for st in cv["steps"]:
        roster.apply(x(st["entry"]))
        entries.append(x(st["entry"]))
        heads.append(roster.head)
        check(f"conversation: head after {st['step']}", roster.head.hex(), st["head"])
        check(f"conversation: code after {st['step']}", roster_code(roster.head), st["roster_code"])
    role_names = {0: "visitor", 1: "agent", 2: "supervisor", 3: "bot"}
    got = [{"agent_id": m["id"][0], "device_id": m["id"][1], "role": role_names[m["role"]],
            "history_shared_by": m["history"][0] if m["history"] else ""} for m in roster.members]
    check("conversation: final members", got, cv["members"])
    check("conversation: welcome body", (bytes([len(entries)]) + b"".join(entries)).hex(), cv["welcome_body"])
    org_ids = [m["id"][0] for m in roster.members if m["role"] != 0]
    for f in cv["frames"]:
        fr = decode_conv_frame(x(f["frame"]))
        check(f"conversation: frame {f['what']}: id", fr["cid"], cid)
        want_head = heads[5] if fr["type"] == 5 else roster.head
        check(f"conversation: frame {f['what']}: head", fr["head"], want_head)
        # Fan-out: every other member for a message, organisation members only for a whisper.
        if fr["type"] == 1:
            check(f"conversation: {f['what']}: recipients", [i for i in org_ids if i != f["from"]], f["to"])
        if fr["type"] == 2:
            check(f"conversation: {f['what']}: recipients", [i for i in org_ids if i != f["from"]], f["to"])
    for c in cv["negative"]:
        r = Roster(org_pk, cid)
        for e in entries[:c["after_steps"]] + [x(h) for h in c.get("after_entries", [])]:
            r.apply(e)
        try:
            r.apply(x(c["entry"]))
            got = "accepted"
        except Reject as e:
            got = e.code
        check(f"conversation negative: {c['name']}", got, c["code"])


def main():
    verify_wycheproof_ed25519()
    hs = load("handshake.json")
    sid, chains = verify_handshake(hs)
    _, reply, h = vector_handshake(SEED, hs)
    check("generator: reply", reply.hex(), hs["reply"])
    check("generator: handshake hash", h.hex(), hs["handshake_hash"])
    m = load("messages.json")
    verify_messages(m, sid, chains)
    st = verify_export(load("export.json"), hs, m)
    verify_padding(load("padding.json"), st, hs, m)
    verify_safety(load("safety_code.json"), hs)
    verify_draw_order(hs, m, load("export.json"), load("padding.json"))
    verify_attachments(load("attachment.json"))
    verify_conversation(load("conversation.json"))
    verify_negative(load("negative.json"), hs)
    sys.path.insert(0, HERE)
    import verify_v2  # noqa: E402 (section 16-17; needs kyber-py)

    verify_v2.run(sys.modules[__name__], load("session_v2.json"))
    print(f"vectors: {CHECKS['passed']} passed, {CHECKS['failed']} failed")
    return 1 if CHECKS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
