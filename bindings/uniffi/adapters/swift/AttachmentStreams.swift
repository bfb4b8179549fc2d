// File-like wrappers over hushwire's attachment sealer and opener (docs/PROTOCOL.md §15), for
// Foundation's FileHandle. NOT COMPILED HERE: no Swift compiler runs on this project's Linux
// CI; it uses only the generated API (AttachmentSealer, AttachmentOpener, AttachmentManifest)
// and FileHandle's throwing read/write (macOS 10.15.4 / iOS 13.4). One segment of memory
// whatever the file size; a refused blob throws HushwireError with code ATTACHMENT_CORRUPTED.
import Foundation

/// Encrypt everything `input` yields into `output` (the blob); returns the manifest.
public func encryptAttachment(
    from input: FileHandle, to output: FileHandle, mediaType: String,
    name: String? = nil, thumbnail: Data? = nil, largeSegments: Bool = false
) throws -> AttachmentManifest {
    let sealer = try AttachmentSealer(
        mediaType: mediaType, name: name, thumbnail: thumbnail, largeSegments: largeSegments)
    while let chunk = try input.read(upToCount: 1 << 16), !chunk.isEmpty {
        let ready = try sealer.update(data: chunk)
        if !ready.isEmpty { try output.write(contentsOf: ready) }
    }
    let sealed = try sealer.finish()
    try output.write(contentsOf: sealed.tail)
    return sealed.manifest
}

/// Decrypt the blob `input` into `output`; returns the plaintext length. On an error
/// `output` holds an authentic prefix only: delete it.
@discardableResult
public func decryptAttachment(
    _ manifest: AttachmentManifest, from input: FileHandle, to output: FileHandle
) throws -> UInt64 {
    let opener = AttachmentOpener(manifest: manifest)
    var total: UInt64 = 0
    while let chunk = try input.read(upToCount: 1 << 16), !chunk.isEmpty {
        let plain = try opener.update(data: chunk)
        if !plain.isEmpty {
            try output.write(contentsOf: plain)
            total += UInt64(plain.count)
        }
    }
    try opener.finish()
    return total
}
