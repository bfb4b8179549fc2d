"""File-like objects over hushwire's attachment sealer and opener (docs/PROTOCOL.md §15).

``AttachmentWriter`` encrypts what is written to it into a binary file (the blob);
``AttachmentReader`` decrypts a blob read from a binary file. Both hold one segment (64 KiB
or 1 MiB) of memory whatever the file size. A refused blob raises ``HushwireError`` with code
``ATTACHMENT_CORRUPTED``; the reader returns end-of-file only after the final segment
authenticated and the blob ended there.

    with open("photo.jpg", "rb") as src, open("blob", "wb") as dst:
        manifest = encrypt_file(src, dst, "image/jpeg", name="photo.jpg")
    with open("blob", "rb") as src, open("out.jpg", "wb") as dst:
        decrypt_file(manifest, src, dst)
"""
import io

from hushwire_ffi import AttachmentManifest, AttachmentOpener, AttachmentSealer

__all__ = ["AttachmentManifest", "AttachmentReader", "AttachmentWriter", "decrypt_file", "encrypt_file"]

_READ = 1 << 16


class AttachmentWriter(io.RawIOBase):
    """Writable binary stream: the file's bytes in, the blob's bytes out to ``dst``.

    ``finish()`` (or ``close()``) seals the final segment; the manifest is then in
    ``.manifest``. Without it the blob lacks its final segment and no reader accepts it.
    """

    def __init__(self, dst, media_type, name=None, thumbnail=None, large_segments=False):
        super().__init__()
        self._dst = dst
        self._sealer = AttachmentSealer(media_type, name, thumbnail, large_segments)
        self.manifest = None

    def writable(self):
        return True

    def write(self, b):
        if self.closed:
            raise ValueError("write to a closed AttachmentWriter")
        data = bytes(b)
        out = self._sealer.update(data)
        if out:
            self._dst.write(out)
        return len(data)

    def finish(self):
        """Seal the rest, write it, and return the manifest."""
        if self.manifest is None:
            sealed = self._sealer.finish()
            self._dst.write(sealed.tail)
            self._dst.flush()
            self.manifest = sealed.manifest
        return self.manifest

    def close(self):
        if not self.closed:
            try:
                self.finish()
            finally:
                super().close()


class AttachmentReader(io.RawIOBase):
    """Readable binary stream of the file whose blob ``src`` yields (a binary file)."""

    def __init__(self, manifest, src):
        super().__init__()
        self._src = src
        self._opener = AttachmentOpener(manifest)
        self._buf = b""
        self._eof = False

    def readable(self):
        return True

    def readinto(self, b):
        while not self._buf and not self._eof:
            chunk = self._src.read(_READ)
            if chunk is None:
                return None  # a non-blocking source with nothing yet
            if not chunk:
                self._opener.finish()  # raises ATTACHMENT_CORRUPTED if the blob was cut short
                self._eof = True
            else:
                self._buf = self._opener.update(bytes(chunk))
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def encrypt_file(src, dst, media_type, name=None, thumbnail=None, large_segments=False):
    """Encrypt the binary file ``src`` into ``dst``; returns the ``AttachmentManifest``."""
    w = AttachmentWriter(dst, media_type, name, thumbnail, large_segments)
    while True:
        chunk = src.read(_READ)
        if not chunk:
            break
        w.write(chunk)
    manifest = w.finish()
    w.close()
    return manifest


def decrypt_file(manifest, src, dst):
    """Decrypt the blob ``src`` into ``dst``; returns the plaintext length.

    On ``ATTACHMENT_CORRUPTED`` ``dst`` holds an authentic prefix only: delete it.
    """
    r = AttachmentReader(manifest, src)
    total = 0
    while True:
        chunk = r.read(_READ)
        if not chunk:
            return total
        dst.write(chunk)
        total += len(chunk)
