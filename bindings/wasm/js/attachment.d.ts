// Types of the npm entry `hushwire/attachment`: encrypted files (docs/PROTOCOL.md §15), with
// the segments sealed and opened by WebCrypto's AES-256-GCM.
import { HushwireError } from 'hushwire';

export { HushwireError };

/** What a sender says about a file; all of it travels only inside the (encrypted) manifest. */
export interface AttachmentOptions {
  /** Printable ASCII, 1..=127 bytes (default `application/octet-stream`). */
  mediaType?: string | undefined;
  /** 1..=255 bytes of UTF-8. */
  name?: string | undefined;
  /** 1..=32 768 bytes, e.g. a small JPEG preview. */
  thumbnail?: Uint8Array | undefined;
  /** Plaintext bytes per segment: 65536 (default) or 1048576. */
  segmentSize?: 65536 | 1048576;
}

/**
 * Load the attachment module's WebAssembly (separate from the main entry's; defaults to
 * attachment_bg.wasm next to the entry). Rejects with INIT_FAILED, or NOT_INITIALIZED where
 * WebCrypto is missing (not a secure context).
 */
export function init(
  input?: string | URL | Request | Response | BufferSource | WebAssembly.Module | Promise<unknown>,
): Promise<void>;

/** A decoded, checked manifest. Holds the file key: send it only with Session.seal. */
export class AttachmentManifest {
  private constructor();
  /** Decode a manifest received in a chat message. Throws MALFORMED. */
  static fromBytes(bytes: Uint8Array): AttachmentManifest;
  /** The manifest's bytes (a copy), to send as a chat message's plaintext. */
  toBytes(): Uint8Array;
  /** Exact file size in bytes. */
  readonly plaintextLength: number;
  /** Exact blob size in bytes: anything else is refused. */
  readonly ciphertextLength: number;
  /** Padded size (Padmé) the segments hold. */
  readonly paddedLength: number;
  readonly segmentSize: number;
  /** The key commitment, a public id of the blob. */
  readonly commitment: Uint8Array;
  /** Untrusted: the sender chose it. */
  readonly mediaType: string;
  /** Untrusted: sanitise before using it as a path. */
  readonly name: string | undefined;
  /** Untrusted image data. */
  readonly thumbnail: Uint8Array | undefined;
}

/** Encrypts the file written into it; `manifest` resolves once the stream has closed. */
export interface EncryptionStream extends ReadableWritablePair<Uint8Array, Uint8Array> {
  readonly manifest: Promise<AttachmentManifest>;
}

export function createEncryptionStream(options?: AttachmentOptions): EncryptionStream;

/**
 * Decrypts the blob of `manifest`. Segments come out only once authenticated; errors with
 * ATTACHMENT_CORRUPTED on any tampering, truncation or extension.
 */
export function createDecryptionStream(manifest: AttachmentManifest): TransformStream<Uint8Array, Uint8Array>;

/** Encrypt a whole file; a File's name and type are used unless `options` gives them. */
export function encryptFile(
  input: Blob | BufferSource | ReadableStream<Uint8Array>,
  options?: AttachmentOptions,
): Promise<{ manifest: AttachmentManifest; blob: Blob }>;

/** Decrypt a whole blob into a File named and typed by the manifest; rejects with ATTACHMENT_CORRUPTED. */
export function decryptFile(
  manifest: AttachmentManifest,
  input: Blob | BufferSource | Response | ReadableStream<Uint8Array>,
): Promise<File | Blob>;
