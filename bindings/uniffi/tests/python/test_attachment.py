"""Attachments through the Python bindings: the file-like writer and reader of
bindings/uniffi/adapters/python/hushwire_attachment.py over real files, and the refusals."""
import io
import os

import pytest

import hushwire_ffi as hw
from hushwire_attachment import AttachmentReader, AttachmentWriter, decrypt_file, encrypt_file
from hushwire_ffi import HushwireError


def _data(n):
    return bytes(i % 251 for i in range(n))


@pytest.mark.parametrize("size,large", [(0, False), (1, False), (65_535, False), (131_071, False), (300_000, False), (1_100_000, True)])
def test_file_round_trip(tmp_path, size, large):
    src = tmp_path / "invoice.pdf"
    src.write_bytes(_data(size))
    with open(src, "rb") as f, open(tmp_path / "blob", "wb") as out:
        manifest = encrypt_file(f, out, "application/pdf", name="invoice.pdf", large_segments=large)
    assert (tmp_path / "blob").stat().st_size == manifest.ciphertext_len()
    received = hw.AttachmentManifest.from_bytes(manifest.to_bytes())
    assert (received.name(), received.media_type(), received.plaintext_len()) == ("invoice.pdf", "application/pdf", size)
    with open(tmp_path / "blob", "rb") as f, open(tmp_path / "out", "wb") as out:
        assert decrypt_file(received, f, out) == size
    assert (tmp_path / "out").read_bytes() == src.read_bytes()
    # The reader as a normal binary stream (io.BufferedReader over it, read in odd sizes).
    with open(tmp_path / "blob", "rb") as f:
        r = io.BufferedReader(AttachmentReader(received, f))
        parts = []
        while chunk := r.read(7_777):
            parts.append(chunk)
    assert b"".join(parts) == src.read_bytes()


def test_writer_as_a_context_manager_and_small_writes(tmp_path):
    out = io.BytesIO()
    with AttachmentWriter(out, "text/plain") as w:
        for i in range(1000):
            w.write(bytes([i % 256]) * 100)
    m = w.manifest
    assert m.plaintext_len() == 100_000 and len(out.getvalue()) == m.ciphertext_len()
    assert AttachmentReader(m, io.BytesIO(out.getvalue())).readall() == b"".join(bytes([i % 256]) * 100 for i in range(1000))
    with pytest.raises(ValueError):
        w.write(b"x")


def _sealed(n=200_000):
    out = io.BytesIO()
    m = encrypt_file(io.BytesIO(_data(n)), out, "image/png")
    return m, out.getvalue()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:-1],  # truncated inside the last segment
        lambda b: b[: 35 + 65_552],  # truncated at a segment boundary
        lambda b: b[:20],  # inside the header
        lambda b: b"",
        lambda b: b + b"\0",  # extended
        lambda b: b[:150_000] + bytes([b[150_000] ^ 1]) + b[150_001:],  # corrupted
    ],
    ids=["truncated", "cut-at-boundary", "header", "empty", "extended", "corrupted"],
)
def test_truncated_or_corrupted_file_is_attachment_corrupted(tmp_path, mutate):
    m, blob = _sealed()
    bad = tmp_path / "bad"
    bad.write_bytes(mutate(blob))
    with open(bad, "rb") as f, open(tmp_path / "out", "wb") as out:
        with pytest.raises(HushwireError) as info:
            decrypt_file(m, f, out)
    assert info.value.code == "ATTACHMENT_CORRUPTED"


def test_reader_releases_only_authentic_segments_and_stays_failed():
    m, blob = _sealed()
    bad = blob[: 35 + 65_552 + 9] + bytes([blob[35 + 65_552 + 9] ^ 1]) + blob[35 + 65_552 + 10 :]
    r = AttachmentReader(m, io.BytesIO(bad))
    assert r.read(65_536) == _data(200_000)[:65_536]
    for _ in range(2):
        with pytest.raises(HushwireError) as info:
            r.read(1)
        assert info.value.code == "ATTACHMENT_CORRUPTED"


def test_bad_arguments_carry_codes():
    for kwargs in ({"media_type": "not a type"}, {"media_type": "a/b", "name": ""}, {"media_type": "a/b", "thumbnail": b""}):
        with pytest.raises(HushwireError) as info:
            AttachmentWriter(io.BytesIO(), **kwargs)
        assert info.value.code == "INVALID_ARGUMENT"
    with pytest.raises(HushwireError) as info:
        hw.AttachmentManifest.from_bytes(os.urandom(10))
    assert info.value.code == "MALFORMED"
