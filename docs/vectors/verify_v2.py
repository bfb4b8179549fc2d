"""Protocol v2 (docs/PROTOCOL.md sections 16-17), written from the spec: replays
session_v2.json from its recorded random draws and checks every byte, the ratchet's
out-of-order deliveries, the export mid-ratchet and the negative cases.

ML-KEM-768 is `kyber-py` (pure Python FIPS 203, installed by scripts/install-deps.sh python),
so no code is shared with the Rust side. Called by verify.py, whose helpers it uses (`m`).
"""

import hashlib
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from kyber_py.ml_kem import ML_KEM_768

NAME = b"Noise_NXhfs_25519+MLKEM768_AESGCM_SHA256"
EK_LEN, CT_LEN = 1184, 1088
HELLO_LEN, REPLY_MIN, REPLY_MAX = 1242, 1343, 1469
HEADER = 59
MAX_OLD = 5


def run(m, doc):
    """Check session_v2.json with verify.py's module `m` (its check, primitives, decoders)."""
    Reject, malformed = m.Reject, m.malformed

    class Symmetric(m.Symmetric):
        """Section 16.1: the 41-byte name is hashed into h (Noise section 5.2)."""

        def __init__(self, prologue):
            self.h = hashlib.sha256(NAME).digest()
            self.ck, self.k, self.n = self.h, None, 0
            self.mix_hash(prologue)

    hs = doc["handshake"]
    sid, ve, kem_seed = (m.x(v) for v in hs["visitor_draws"]["values"])
    ae, kem_m = (m.x(v) for v in hs["agent_draws"]["values"])
    org_pk = m.Ed25519PrivateKey.from_private_bytes(m.x(hs["org_signing_seed"])).public_key().public_bytes(m.RAW, m.PUB)
    m.check("v2 org key", org_pk.hex(), hs["org_public_key"])
    kid = m.key_id_of(org_pk)
    ek, dk = ML_KEM_768._keygen_internal(kem_seed[:32], kem_seed[32:])
    hello = bytes([2, 1]) + sid + kid + m.x25519_pub(ve) + ek
    m.check("v2 hello", hello.hex(), hs["hello"])
    prologue = b"hushwire/v2/handshake\x02" + sid + kid

    def check_ek(ek):
        """FIPS 203 section 7.2: ByteEncode12(ByteDecode12(ek)) == ek, i.e. coefficients < q."""
        for i in range(0, 1152, 3):
            b0, b1, b2 = ek[i], ek[i + 1], ek[i + 2]
            if (b0 | (b1 & 0x0F) << 8) >= 3329 or (b1 >> 4 | b2 << 4) >= 3329:
                raise malformed("InvalidField")

    def decode_hello(b):
        if len(b) > HELLO_LEN:
            raise malformed("TooLong")
        if len(b) < 1:
            raise malformed("TooShort")
        if b[0] == 1:
            return m.decode_hello(b)
        if b[0] != 2:
            raise malformed("UnsupportedVersion")
        if len(b) < 2:
            raise malformed("TooShort")
        if b[1] != 1:
            raise malformed("UnexpectedType")
        if len(b) != HELLO_LEN:
            raise malformed("TooShort")
        return b

    def respond(secret, cert, hello, ae, kem_m):
        """Section 16.6 (agent): returns (reply, symmetric)."""
        hello = decode_hello(hello)
        if hello[0] == 1:
            return m.respond((secret, org_pk, cert), hello, ae)
        if hello[18:26] != kid:
            raise Reject("WRONG_ORGANIZATION")
        re, rek = hello[26:58], hello[58:]
        ss = Symmetric(b"hushwire/v2/handshake\x02" + hello[2:26])
        ss.mix_hash(re)
        ss.encrypt_and_hash(rek)  # no key yet: MixHash
        ss.encrypt_and_hash(b"")
        ss.mix_hash(m.x25519_pub(ae))
        ss.mix_key(m.dh_checked(ae, re))
        check_ek(rek)
        shared, ct = ML_KEM_768._encaps_internal(rek, kem_m)
        enc_ct = ss.encrypt_and_hash(ct)
        ss.mix_key(shared)
        enc_s = ss.encrypt_and_hash(m.x25519_pub(secret))
        ss.mix_key(m.dh_checked(secret, re))
        enc_cert = ss.encrypt_and_hash(cert)
        return bytes([2, 2]) + hello[2:18] + m.x25519_pub(ae) + enc_ct + enc_s + enc_cert, ss

    agent_static = m.x(hs["agent_static_secret"])
    cert = m.x(hs["certificate"])
    reply, agent_ss = respond(agent_static, cert, hello, ae, kem_m)
    m.check("v2 reply", reply.hex(), hs["reply"])

    def finish(reply, now):
        """Section 16.6 (visitor), for the vector visitor's handshake: returns its symmetric."""
        if len(reply) > REPLY_MAX:
            raise malformed("TooLong")
        if len(reply) < 1:
            raise malformed("TooShort")
        if reply[0] not in (1, 2):
            raise malformed("UnsupportedVersion")
        if len(reply) < 2:
            raise malformed("TooShort")
        if reply[1] != 2:
            raise malformed("UnexpectedType")
        lo, hi = (239, 365) if reply[0] == 1 else (REPLY_MIN, REPLY_MAX)
        if len(reply) > hi:
            raise malformed("TooLong")
        if len(reply) < lo:
            raise malformed("TooShort")
        if reply[2:18] != sid:
            raise Reject("WRONG_SESSION")
        if reply[0] != 2:
            raise Reject("DOWNGRADE")
        ss = Symmetric(prologue)
        ss.mix_hash(m.x25519_pub(ve))
        ss.encrypt_and_hash(ek)
        ss.encrypt_and_hash(b"")
        ss.mix_hash(reply[18:50])
        ss.mix_key(m.dh_checked(ve, reply[18:50]))
        try:
            ct = ss.decrypt_and_hash(reply[50:1154])
            ss.mix_key(ML_KEM_768._decaps_internal(dk, ct))
            rs = ss.decrypt_and_hash(reply[1154:1202])
            ss.mix_key(m.dh_checked(ve, rs))
            payload = ss.decrypt_and_hash(reply[1202:])
        except Reject:
            raise
        except Exception:
            raise Reject("HANDSHAKE_FAILED") from None
        c = m.decode_cert(payload)
        m.verify_cert(c, org_pk, now)
        if c["key"] != rs:
            raise Reject("CERTIFICATE_KEY_MISMATCH")
        return ss

    now = hs["verification_time"]
    vss = finish(reply, now)
    h = vss.h
    m.check("v2 handshake hash", h.hex(), hs["handshake_hash"])
    m.check("v2 handshake hash both sides", agent_ss.h, h)
    m.check("v2 safety code", m.safety_code(h), hs["safety_code"])

    # --- the ratchet (section 17) ------------------------------------------------------------
    k1, k2 = vss.split()
    okm = m.hkdf(h, k1 + k2, b"hushwire/v2/root", 64)

    def kdf_rk(rk, dh_out):
        out = m.hkdf(rk, dh_out, b"hushwire/v2/ratchet", 64)
        return out[:32], out[32:]

    def chain(ck):
        return m.mac(ck, b"\x01"), m.mac(ck, b"\x02")

    # A side: root, own (secret or None), send [ck, n] or None, pn, recv [key, ck, next, {n: mk}]
    # or None, old [[key, {n: mk}]] oldest first.
    sides = {
        "agent": {"role": 2, "root": okm[:32], "own": ae, "send": [okm[32:], 0], "pn": 0, "recv": None, "old": []},
        "visitor": {"role": 1, "root": okm[:32], "own": None, "send": None, "pn": 0,
                    "recv": [m.x25519_pub(ae), okm[32:], 0, {}], "old": []},
    }
    max_skip, max_stored = 1000, 1000

    def seal(st, text, draws):
        if st["send"] is None:
            x = draws.pop(0)
            st["root"], ck = kdf_rk(st["root"], m.dh(x, st["recv"][0]))
            st["own"], st["send"] = x, [ck, 0]
        ck, n = st["send"]
        nonce = draws.pop(0)
        header = bytes([2, 3]) + sid + bytes([st["role"]]) + m.x25519_pub(st["own"]) + struct.pack(">II", st["pn"], n)
        mk, st["send"][0] = chain(ck)
        st["send"][1] = n + 1
        body = text + b"\x80"
        body += bytes(m.padded_len(len(text)) - len(body))
        return header + nonce + AESGCM(mk).encrypt(nonce, body, header)

    def stored(st):
        return sum(len(k) for _, k in st["old"]) + (len(st["recv"][3]) if st["recv"] else 0)

    def bound(st):
        while stored(st) > max_stored:
            lists = [k for _, k in st["old"] if k] + ([st["recv"][3]] if st["recv"] else [])
            keys = lists[0]
            keys.pop(min(keys))

    def open_(st, env):
        """Section 17.4, on the decoded envelope; commits only after authentication."""
        if env[2:18] != sid:
            raise Reject("WRONG_SESSION")
        if env[0] != 2:
            raise Reject("DOWNGRADE")
        if env[18] == st["role"]:
            raise Reject("REFLECTED")
        r = env[19:51]
        pn, n = struct.unpack(">II", env[51:59])

        def decrypt(mk):
            try:
                padded = AESGCM(mk).decrypt(env[59:71], env[71:], env[:HEADER])
            except Exception:
                raise Reject("TAMPERED") from None
            body = padded.rstrip(b"\x00")
            if not body or body[-1] != 0x80 or m.padded_len(len(body) - 1) != len(padded):
                raise Reject("TAMPERED")
            return body[:-1]

        cur = st["recv"]
        if cur and cur[0] == r:
            if n < cur[2]:
                if n not in cur[3]:
                    raise Reject("REPLAY")
                pt = decrypt(cur[3][n])
                del cur[3][n]
                return pt
            if n - cur[2] > max_skip:
                raise Reject("TOO_FAR_AHEAD")
            ck, new = cur[1], {}
            for i in range(cur[2], n):
                new[i], ck = chain(ck)
            mk, ck = chain(ck)
            pt = decrypt(mk)
            cur[1], cur[2] = ck, n + 1
            cur[3].update(new)
            bound(st)
            return pt
        for key, keys in st["old"]:
            if key == r:
                if n not in keys:
                    raise Reject("REPLAY")
                pt = decrypt(keys[n])
                del keys[n]
                return pt
        if st["own"] is None:
            raise Reject("TAMPERED")
        start = cur[2] if cur else 0
        if max(pn - start, 0) > max_skip or n > max_skip:
            raise Reject("TOO_FAR_AHEAD")
        tail, ck = {}, cur[1] if cur else None
        for i in range(start, pn):
            tail[i], ck = chain(ck)
        out = m.x25519_raw(st["own"], r)
        if out == bytes(32):
            raise Reject("WEAK_KEY")
        root, ck = kdf_rk(st["root"], out)
        new = {}
        for i in range(n):
            new[i], ck = chain(ck)
        mk, ck = chain(ck)
        pt = decrypt(mk)
        if cur:
            cur[3].update(tail)
            st["old"].append([cur[0], cur[3]])
            del st["old"][:-MAX_OLD]
        st["recv"] = [r, ck, n + 1, new]
        st["root"] = root
        if st["send"] is not None:
            st["pn"] = st["send"][1]
        st["send"] = None
        bound(st)
        return pt

    def state_bytes(st, role):
        """Section 17.6."""
        out = bytes([2, role]) + sid + h + m.str8("agent-7@shop.example") + m.str8("console-1")
        out += struct.pack(">II", max_skip, max_stored) + st["root"]
        out += b"\x01" + st["own"] if st["own"] is not None else b"\x00"
        out += b"\x01" + st["send"][0] + struct.pack(">I", st["send"][1]) if st["send"] else b"\x00"
        out += struct.pack(">I", st["pn"])

        def keys(d):
            return struct.pack(">I", len(d)) + b"".join(struct.pack(">I", i) + d[i] for i in sorted(d))

        if st["recv"]:
            out += b"\x01" + st["recv"][0] + st["recv"][1] + struct.pack(">I", st["recv"][2]) + keys(st["recv"][3])
        else:
            out += b"\x00"
        out += struct.pack(">I", len(st["old"])) + b"".join(k + keys(d) for k, d in st["old"])
        return out

    msgs = {mm["index"]: mm for mm in doc["messages"]}
    envelopes = {}
    sealed_order = [mm["index"] for mm in doc["messages"]]
    deliveries = doc["delivery_order"]["indexes"]
    ex = doc["export"]
    # Replay: seal in the recorded order, interleaved with deliveries as the generator did
    # (a message is sealed before its delivery; the export after the fourth delivery).
    si = di = 0
    exported = None
    import copy
    while di < len(deliveries):
        want = deliveries[di]
        if want not in envelopes:
            i = sealed_order[si]
            mm = msgs[i]
            draws = [m.x(d) for d in mm["draws"]]
            env = seal(sides[mm["sender"]], mm["plaintext_utf8"].encode(), draws)
            m.check(f"v2 envelope {i}", env.hex(), mm["envelope"])
            m.check(f"v2 draws of {i} used", draws, [])
            envelopes[i] = env
            si += 1
            continue
        receiver = "visitor" if msgs[want]["sender"] == "agent" else "agent"
        pt = open_(sides[receiver], envelopes[want])
        m.check(f"v2 open {want}", pt.decode(), msgs[want]["plaintext_utf8"])
        di += 1
        if di == 4:
            exported = copy.deepcopy(sides["visitor"])
            m.check("v2 export state", state_bytes(exported, 1).hex(), ex["state"])
    try:
        open_(sides["visitor"], envelopes[0])
        m.check("v2 replay refused", "opened", "REPLAY")
    except Reject as e:
        m.check("v2 replay refused", e.code, "REPLAY")

    # The export container (section 8.1) around the state.
    key = m.x(ex["storage_key"])
    (nonce,) = (m.x(d) for d in ex["draws"])
    sealed = bytes([1]) + b"S" + nonce + AESGCM(key).encrypt(nonce, m.x(ex["state"]), b"hushwire/v1/export\x01S")
    m.check("v2 export bytes", sealed.hex(), ex["export_bytes"])
    m.check("v2 export text", m.b64u(sealed), ex["export"])
    m.check("v2 export opens", m.open_export(ex["export"], key, b"S").hex(), ex["state"])
    for i in ex["late_after_import"]:
        st = copy.deepcopy(exported)
        m.check(f"v2 late {i} after import", open_(st, envelopes[i]).decode(), msgs[i]["plaintext_utf8"])

    # Negative cases: our own decoders and checks give the same codes.
    def decode_envelope(b):
        if len(b) > 71 + m.padded_len(65536) + 16:
            raise malformed("TooLong")
        if len(b) >= 1 and b[0] == 1:
            return m.decode_envelope(b)
        m.check_frame(bytes([1]) + b[1:], 3, 343, 71 + m.padded_len(65536) + 16)
        if b[0] != 2:
            raise malformed("UnsupportedVersion")
        if b[18] not in (1, 2) or b[55:59] == b"\xff" * 4 or not m.is_padded_len(len(b) - 87):
            raise malformed("InvalidField")
        return b

    ops = {
        "finish": lambda b: finish(b, now),
        "accept": lambda b: respond(agent_static, cert, b, ae, kem_m),
        "open_exported": lambda b: open_(copy.deepcopy(exported), decode_envelope(b)),
    }
    for c in doc["negative"]:
        try:
            ops[c["op"]](m.x(c["input"]))
            got = "accepted"
        except Reject as e:
            got = e.code
        m.check(f"v2 negative: {c['name']}", got, c["code"])
    m.check("v2 negative cases", len(doc["negative"]) >= 10, True)
