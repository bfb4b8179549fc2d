#!/usr/bin/env python3
"""Writes the fuzz seeds, fuzz/seeds/<target>/, from the committed vectors (docs/vectors/*.json).

Run after the vectors change: python3 fuzz/make_seeds.py. The input formats are documented
in fuzz/common/targets.rs. Needs `cryptography` (as docs/vectors/verify.py does) only for the
agent identity export, which the vectors do not contain.
"""
import json
import os
import shutil
from pathlib import Path

here = Path(__file__).resolve().parent
vectors = here.parent / "docs" / "vectors"
out = here / "seeds"

hs = json.loads((vectors / "handshake.json").read_text())
msgs = json.loads((vectors / "messages.json").read_text())["messages"]
ex = json.loads((vectors / "export.json").read_text())

seeds = {}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, {})[name] = bytes(data)


h = bytes.fromhex
for i, m in enumerate(msgs):
    seed("envelope", f"message_{i}", h(m["envelope"]))
    seed("envelope_text", f"message_{i}", m["envelope_base64url"])
seed("envelope", "late_envelope", h(ex["late_envelope"]))
seed("envelope_text", "hello", hs["hello_base64url"])
seed("envelope_text", "reply", hs["reply_base64url"])
seed("hello", "vector_hello", h(hs["hello"]))
seed("reply", "raw_vector_reply", b"\x00" + h(hs["reply"]))
# Structured: agent key byte, flags, not_before, not_after, now (signed tens of seconds
# around the vectors' time), id length, id, mutation position (u16) and xor.
seed("reply", "structured_valid", bytes([1, 9, 0, 0xF0, 0x10, 0, 5]) + b"alice" + bytes([0, 0, 0]))
seed("reply", "structured_expired", bytes([1, 9, 0, 0xF0, 0xF8, 0, 3]) + b"bob" + bytes([0, 0, 0]))
seed("reply", "structured_mutated", bytes([1, 9, 0, 0xF0, 0x10, 0, 1]) + b"c" + bytes([0, 40, 1]))
seed("reply", "structured_other_org", bytes([1, 9, 1, 0xF0, 0x10, 0, 1]) + b"c" + bytes([0, 0, 0]))
seed("certificate", "vector_certificate", h(hs["certificate"]))
seed("session_import", "export", b"\x00" + ex["export"].encode())
seed("session_import", "state", b"\x01" + h(ex["state"]))


def agent_identity_export():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives import serialization

    org = Ed25519PrivateKey.from_private_bytes(h(hs["org_signing_seed"]))
    org_pub = org.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    plain = h(hs["agent_static_secret"]) + org_pub + h(hs["certificate"])
    nonce = bytes(12)
    aad = b"hushwire/v1/export\x01A"
    ct = AESGCM(h(ex["storage_key"])).encrypt(nonce, plain, aad)
    import base64

    return base64.urlsafe_b64encode(b"\x01A" + nonce + ct).rstrip(b"=")


seed("agent_identity_import", "identity", agent_identity_export())
seed("agent_identity_import", "session_export", ex["export"])

# relay: two config bytes (max_skip, max_stored_skipped), then operations (see relay()).
SEAL_V, SEAL_A, DELIVER, DELIVER_TEXT, DUP, DROP, REORDER, ALTER, CUT, INJECT, MISROUTE, PERSIST = range(12)
seed("relay", "in_order", [10, 10, SEAL_V, 5, DELIVER, 0, SEAL_A, 7, DELIVER, 0, SEAL_V, 90, DELIVER_TEXT, 0])
seed("relay", "reverse", [8, 8, SEAL_V, 1, SEAL_V, 2, SEAL_V, 3, DELIVER, 2, DELIVER, 1, DELIVER, 0])
seed("relay", "replay", [8, 8, SEAL_V, 4, DUP, 0, DELIVER, 0, DELIVER, 0, PERSIST, 1, DELIVER, 0])
seed("relay", "tamper", [8, 8, SEAL_A, 4, ALTER, 0, 0, 40, 1, DELIVER, 0, SEAL_A, 4, CUT, 0, 0, 20, DELIVER, 0])
seed("relay", "too_far_and_evicted", [1, 1] + [SEAL_V, 1] * 4 + [DELIVER, 3, DELIVER, 2, DELIVER, 1, DELIVER, 0])
seed("relay", "misroute_inject", [4, 4, SEAL_V, 2, MISROUTE, 0, DELIVER, 0, INJECT, 1, 0, 8] + list(range(8)) + [DELIVER, 0, REORDER, 0])

# relay_v2: two config bytes, then operations (see relay_v2()): turns in both directions so the
# ratchet steps, late and reordered delivery across steps, tampering of the v2 header fields.
S2V, S2A, D2, DUP2, DROP2, ALTER2, FIELD2, MISROUTE2, REPLAY2, PERSIST2 = range(10)
seed("relay_v2", "turns", [10, 10, S2A, 5, D2, 0, S2V, 7, D2, 0, S2A, 9, D2, 0, S2V, 1, D2, 0])
seed("relay_v2", "late_across_steps", [10, 10, S2A, 1, S2A, 2, D2, 1, S2V, 3, D2, 1, S2A, 4, D2, 1, D2, 0, D2, 0])
seed("relay_v2", "tamper_header", [8, 8, S2A, 4, FIELD2, 0, 0, 7, D2, 1, ALTER2, 0, 0, 40, 1, D2, 0, D2, 0])
seed("relay_v2", "replay_and_persist", [8, 8, S2V, 4, DUP2, 0, D2, 0, D2, 0, PERSIST2, 1, REPLAY2, 0, 0, D2, 0, S2A, 2, MISROUTE2, 0, D2, 0])
seed("relay_v2", "bounds", [1, 1] + [S2A, 1] * 4 + [D2, 3, S2V, 1, D2, 0, S2A, 1, D2, 0, D2, 0, D2, 0])

# attachment: mode byte (0 manifest, 1 small blob, 2 edits to the large blob), then input.
att = json.loads((vectors / "attachment.json").read_text())["files"]
for f in att:
    seed("attachment", f"manifest_{f['label'].replace(' ', '_')}", b"\x00" + h(f["manifest"]))
seed("attachment", "blob_empty_file_other_key", b"\x01" + h(att[0]["blob"]))
seed("attachment", "large_unaltered", b"\x02")
seed("attachment", "large_flip_and_swap", b"\x02" + bytes([0, 0, 1, 0, 0, 4, 0, 0, 1, 0]))
seed("attachment", "large_truncated", b"\x02" + bytes([1, 0, 2, 0, 35]))

# conversation: operations of conversation() in fuzz/common/targets.rs (op byte, member byte, args).
seed("conversation", "fan_out", [0, 0, 2, 0, 2, 0, 2, 0, 1, 3, 2, 0, 2, 0])
seed("conversation", "relay_games", [0, 1, 3, 0, 2, 0, 2, 0, 4, 0, 5, 0, 0, 0, 40, 1, 6, 0, 1, 7, 2, 10] + list(range(10)))
seed("conversation", "remove_then_send", [8, 3, 1, 0, 0, 0, 2, 0, 2, 0, 0, 1, 2, 0, 2, 0])
seed("conversation", "transfer_export", [9, 1, 2, 10, 0, 10, 2, 0, 2, 0, 2, 0, 1, 3, 2, 0, 11, 3])
if out.exists():
    shutil.rmtree(out)
for target, files in seeds.items():
    (out / target).mkdir(parents=True)
    for name, data in files.items():
        (out / target / name).write_bytes(data)
print(", ".join(f"{t}: {len(f)}" for t, f in sorted(seeds.items())))
