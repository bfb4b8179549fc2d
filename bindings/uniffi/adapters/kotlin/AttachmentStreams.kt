// java.io streams over hushwire's attachment sealer and opener (docs/PROTOCOL.md §15), in the
// package of the generated bindings. One segment (64 KiB or 1 MiB) of memory whatever the
// file size. A refused blob throws HushwireException with code ATTACHMENT_CORRUPTED (wrapped
// in an IOException, as InputStream requires; see `attachmentCause`).
package uniffi.hushwire_ffi

import java.io.IOException
import java.io.InputStream
import java.io.OutputStream

/** The HushwireException inside an IOException thrown by these streams, if any. */
val IOException.attachmentCause: HushwireException?
    get() = cause as? HushwireException

/**
 * Encrypts what is written to it into [out] (the blob). [close] seals the final segment and
 * sets [manifest]; it does not close [out].
 */
class AttachmentOutputStream(
    private val out: OutputStream,
    mediaType: String,
    name: String? = null,
    thumbnail: ByteArray? = null,
    largeSegments: Boolean = false,
) : OutputStream() {
    private val sealer = AttachmentSealer(mediaType, name, thumbnail, largeSegments)

    /** The manifest, once [close] has sealed the file. */
    var manifest: AttachmentManifest? = null
        private set

    override fun write(b: Int) = write(byteArrayOf(b.toByte()), 0, 1)

    override fun write(b: ByteArray, off: Int, len: Int) {
        if (manifest != null) throw IOException("AttachmentOutputStream is closed")
        val ready = try {
            sealer.update(b.copyOfRange(off, off + len))
        } catch (e: HushwireException) {
            throw IOException(e.message, e)
        }
        if (ready.isNotEmpty()) out.write(ready)
    }

    override fun flush() = out.flush()

    override fun close() {
        if (manifest != null) return
        val sealed = try {
            sealer.finish()
        } catch (e: HushwireException) {
            throw IOException(e.message, e)
        }
        out.write(sealed.tail)
        out.flush()
        manifest = sealed.manifest
    }
}

/**
 * The plaintext of the blob read from [input]: bytes of a segment only once it authenticated,
 * end of stream only after the final segment did and the blob ended there. Closing it closes
 * [input].
 */
class AttachmentInputStream(private val input: InputStream, manifest: AttachmentManifest) : InputStream() {
    private val opener = AttachmentOpener(manifest)
    private var buf = ByteArray(0)
    private var pos = 0
    private var eof = false
    private val chunk = ByteArray(65536)

    override fun read(): Int {
        val one = ByteArray(1)
        return if (read(one, 0, 1) == -1) -1 else one[0].toInt() and 0xff
    }

    override fun read(b: ByteArray, off: Int, len: Int): Int {
        if (len == 0) return 0
        while (pos == buf.size) {
            if (eof) return -1
            val n = input.read(chunk)
            try {
                if (n < 0) {
                    opener.finish()
                    eof = true
                } else if (n > 0) {
                    buf = opener.update(chunk.copyOf(n))
                    pos = 0
                }
            } catch (e: HushwireException) {
                throw IOException(e.message, e)
            }
        }
        val k = minOf(len, buf.size - pos)
        System.arraycopy(buf, pos, b, off, k)
        pos += k
        return k
    }

    override fun available(): Int = buf.size - pos

    override fun close() = input.close()
}
