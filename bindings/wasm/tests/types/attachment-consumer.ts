// Type-checked by test.sh against the built package (never executed): every export of
// attachment.d.ts used as an application would, with misuse the types must reject.
import { HushwireError as MainError } from 'hushwire';
import {
  AttachmentManifest,
  HushwireError,
  createDecryptionStream,
  createEncryptionStream,
  decryptFile,
  encryptFile,
  init,
  type AttachmentOptions,
  type EncryptionStream,
} from 'hushwire/attachment';

export async function sendAndShow(file: File, upload: (b: Blob) => Promise<void>, send: (m: Uint8Array) => void): Promise<string> {
  await init();
  const options: AttachmentOptions = { mediaType: file.type, name: file.name, segmentSize: 65536 };
  const { manifest, blob } = await encryptFile(file, options);
  await upload(blob);
  send(manifest.toBytes());
  const received = AttachmentManifest.fromBytes(manifest.toBytes());
  const size: number = received.plaintextLength + received.ciphertextLength + received.paddedLength + received.segmentSize;
  const name: string | undefined = received.name;
  const thumb: Uint8Array | undefined = received.thumbnail;
  const opened = await decryptFile(received, blob);
  const enc: EncryptionStream = createEncryptionStream({ mediaType: 'image/png' });
  const sealed: ReadableStream<Uint8Array> = file.stream().pipeThrough(enc);
  const m2: AttachmentManifest = await enc.manifest;
  const plain: ReadableStream<Uint8Array> = sealed.pipeThrough(createDecryptionStream(m2));
  void plain;
  // @ts-expect-error segment sizes are 64 KiB or 1 MiB only
  createEncryptionStream({ segmentSize: 4096 });
  // @ts-expect-error the constructor is private: decode with fromBytes
  new AttachmentManifest();
  try {
    AttachmentManifest.fromBytes(new Uint8Array(1));
  } catch (e) {
    // One error class for both entries.
    const same: typeof MainError = HushwireError;
    if (e instanceof same) return e.code;
  }
  return `${size} ${name} ${thumb?.length} ${received.mediaType} ${received.commitment.length} ${opened.type}`;
}
