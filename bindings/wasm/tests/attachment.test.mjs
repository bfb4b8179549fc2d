// hushwire/attachment (WebCrypto segments, wasm manifest) against docs/vectors/attachment.json
// and the Rust core's behaviour: same bytes when sealing, same refusals when opening.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as hw from 'hushwire';
import * as att from 'hushwire/attachment';

const dir = new URL('../../../docs/vectors/', import.meta.url);
const unhex = (text) => new Uint8Array(Buffer.from(text, 'hex'));
const hex = (b) => Buffer.from(b).toString('hex');
const fileBytes = (n) => Uint8Array.from({ length: n }, (_, i) => i % 251);

let vectors;

before(async () => {
  await att.init();
  vectors = JSON.parse(await readFile(new URL('attachment.json', dir), 'utf8'));
});

// Run `fn` with the module's first random bytes taken from `feed` (WebCrypto left as it is).
async function withRandom(feed, fn) {
  const real = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  let fed = 0;
  Object.defineProperty(globalThis, 'crypto', {
    value: {
      subtle: real.value?.subtle ?? globalThis.crypto.subtle,
      getRandomValues: (a) => {
        randomFillSync(a);
        const n = Math.min(feed.length - fed, a.length);
        a.set(feed.subarray(fed, fed + n));
        fed += n;
        return a;
      },
    },
    configurable: true,
    writable: true,
  });
  try {
    return await fn();
  } finally {
    Object.defineProperty(globalThis, 'crypto', real);
  }
}

async function bytesOf(blob) {
  return new Uint8Array(await blob.arrayBuffer());
}

// Stream `data` through `transform` in pieces of `piece` bytes; resolves to the output.
async function through(transform, data, piece) {
  const out = [];
  const reading = (async () => {
    for await (const c of transform.readable) out.push(c);
  })();
  const w = transform.writable.getWriter();
  for (let i = 0; i < data.length; i += piece) await w.write(data.subarray(i, i + piece));
  await w.close();
  await reading;
  return Buffer.concat(out);
}

test('sealing reproduces every file of attachment.json byte for byte', async () => {
  assert.equal(vectors.files.length, 4);
  for (const f of vectors.files) {
    const expected = att.AttachmentManifest.fromBytes(unhex(f.manifest));
    const data = fileBytes(Number(f.plaintext_length));
    const options = { mediaType: expected.mediaType, name: expected.name, thumbnail: expected.thumbnail, segmentSize: Number(f.segment_size) };
    const { manifest, blob } = await withRandom(unhex(f.file_key), () => att.encryptFile(data, options));
    assert.equal(hex(manifest.toBytes()), f.manifest, f.label);
    const b = await bytesOf(blob);
    assert.equal(b.length, Number(f.ciphertext_length), f.label);
    assert.equal(createHash('sha256').update(b).digest('hex'), f.blob_sha256, f.label);
    if (f.blob) assert.equal(hex(b), f.blob, f.label);
    // Every segment's tag where the vector lists it.
    let off = 35;
    for (const s of f.segments) {
      off += s.plaintext_length + 16;
      assert.equal(hex(b.subarray(off - 16, off)), s.tag, `${f.label}: tag`);
    }
    assert.equal(manifest.plaintextLength, data.length);
    assert.equal(manifest.paddedLength, Number(f.padded_length));
    assert.equal(hex(manifest.commitment), f.commitment);
    // And it opens, whole and streamed in awkward pieces.
    const file = await att.decryptFile(expected, b);
    assert.deepEqual(await bytesOf(file), data, f.label);
    for (const piece of [1, 4099, 65_552]) {
      if (piece === 1 && b.length > 1000) continue;
      assert.deepEqual(new Uint8Array(await through(att.createDecryptionStream(expected), b, piece)), data);
    }
  }
});

test('the stream sealer gives the same bytes however the file is cut', async () => {
  const f = vectors.files.find((x) => x.label === 'three segments');
  const data = fileBytes(Number(f.plaintext_length));
  for (const piece of [1000, 65_536, 65_537, 150_000]) {
    const enc = await withRandom(unhex(f.file_key), async () => att.createEncryptionStream({ mediaType: 'application/octet-stream' }));
    const out = await through(enc, data, piece);
    assert.equal(createHash('sha256').update(out).digest('hex'), f.blob_sha256, `piece ${piece}`);
    assert.equal(hex((await enc.manifest).commitment), f.commitment);
  }
});

test('round trips at every padding and segment boundary, both segment sizes', async () => {
  for (const segmentSize of [65536, 1048576]) {
    for (const n of [0, 1, 255, 256, 65_535, 65_536, 65_537, 131_071, 131_072, 1_048_577, 3_000_000]) {
      if (segmentSize === 1048576 && n < 65_536 && n > 1) continue;
      const data = new Uint8Array(n);
      randomFillSync(data);
      const { manifest, blob } = await att.encryptFile(new Blob([data]), { mediaType: 'image/png', name: 'x.png', segmentSize });
      assert.equal(blob.size, manifest.ciphertextLength);
      const back = att.AttachmentManifest.fromBytes(manifest.toBytes());
      const file = await att.decryptFile(back, blob);
      assert.equal(file.name, 'x.png');
      assert.equal(file.type, 'image/png');
      assert.ok(Buffer.from(await bytesOf(file)).equals(Buffer.from(data)), `${n} / ${segmentSize}`);
    }
  }
});

test('File input: its name and type go into the manifest', async () => {
  const input = new File([new Uint8Array([1, 2, 3])], 'parcel.jpg', { type: 'image/jpeg' });
  const { manifest, blob } = await att.encryptFile(input);
  assert.equal(manifest.name, 'parcel.jpg');
  assert.equal(manifest.mediaType, 'image/jpeg');
  const file = await att.decryptFile(manifest, await blob.arrayBuffer());
  assert.deepEqual(await bytesOf(file), new Uint8Array([1, 2, 3]));
});

test('the decryption stream releases authentic segments only, then fails and stays failed', async () => {
  const data = fileBytes(200_000);
  const { manifest, blob } = await att.encryptFile(data);
  const b = await bytesOf(blob);
  b[35 + 65_552 + 7] ^= 1; // inside segment 1
  const dec = att.createDecryptionStream(manifest);
  const got = [];
  const reading = (async () => {
    for await (const c of dec.readable) got.push(c);
  })();
  const w = dec.writable.getWriter();
  await assert.rejects(
    (async () => {
      for (let i = 0; i < b.length; i += 10_000) await w.write(b.subarray(i, i + 10_000));
      await w.close();
    })(),
    (e) => e instanceof hw.HushwireError && e.code === 'ATTACHMENT_CORRUPTED',
  );
  await assert.rejects(reading, { code: 'ATTACHMENT_CORRUPTED' });
  const released = Buffer.concat(got);
  assert.equal(released.length, 65_536);
  assert.ok(released.equals(Buffer.from(data.subarray(0, 65_536))));
});

// Re-seal `padded` (the whole padded plaintext) under `manifest`'s segment key and header with
// WebCrypto directly, so a blob with any padding we like authenticates.
async function sealPadded(manifest, padded) {
  const { key: raw, header } = manifest._segmentKey();
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
  const seg = manifest.segmentSize;
  const n = Math.ceil(padded.length / seg);
  const parts = [header];
  for (let i = 0; i < n; i++) {
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(7, i);
    iv[11] = i === n - 1 ? 1 : 0;
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: header }, key, padded.subarray(i * seg, (i + 1) * seg));
    parts.push(new Uint8Array(ct));
  }
  return Buffer.concat(parts);
}

test('authenticated but wrong padding is refused wherever the bad byte falls', async () => {
  // 131 077 bytes: padding inside the last segment; 1 MiB: a segment of padding only.
  for (const n of [131_077, 1 << 20]) {
    const data = fileBytes(n);
    const { manifest } = await att.encryptFile(data);
    const padded = new Uint8Array(manifest.paddedLength);
    padded.set(data);
    padded[n] = 0x80;
    const control = await sealPadded(manifest, padded);
    assert.equal(control.length, manifest.ciphertextLength);
    assert.ok(Buffer.from(await bytesOf(await att.decryptFile(manifest, control))).equals(Buffer.from(data)));
    // The marker, each byte of the first words after it (every alignment), one in the middle,
    // the last byte; and a missing marker.
    const at = [n, n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7, n + 8, (n + padded.length) >> 1, padded.length - 1];
    for (const pos of at) {
      const bad = padded.slice();
      bad[pos] ^= 0x01;
      await assert.rejects(att.decryptFile(manifest, await sealPadded(manifest, bad)), { code: 'ATTACHMENT_CORRUPTED' }, `n ${n}, byte ${pos}`);
    }
    const unmarked = padded.slice();
    unmarked[n] = 0;
    await assert.rejects(att.decryptFile(manifest, await sealPadded(manifest, unmarked)), { code: 'ATTACHMENT_CORRUPTED' });
  }
});

test('truncated, extended, wrong manifest: ATTACHMENT_CORRUPTED, never a file', async () => {
  const data = fileBytes(100_000);
  const { manifest, blob } = await att.encryptFile(data);
  const b = await bytesOf(blob);
  const other = (await att.encryptFile(data)).manifest;
  const bad = [b.subarray(0, b.length - 1), b.subarray(0, 35 + 65_552), b.subarray(0, 20), new Uint8Array(0), Buffer.concat([b, new Uint8Array(1)])];
  for (const x of bad) await assert.rejects(att.decryptFile(manifest, x), { name: 'HushwireError', code: 'ATTACHMENT_CORRUPTED' });
  await assert.rejects(att.decryptFile(other, b), { code: 'ATTACHMENT_CORRUPTED' });
});

test('argument errors and manifest decoding errors carry codes', async () => {
  assert.throws(() => att.createEncryptionStream({ segmentSize: 4096 }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => att.createEncryptionStream({ mediaType: 'not a type' }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => att.createEncryptionStream({ name: '' }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => att.AttachmentManifest.fromBytes(new Uint8Array(10)), (e) => e instanceof hw.HushwireError && e.code === 'MALFORMED');
  assert.throws(() => att.createDecryptionStream({}), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(att.encryptFile('text'), { code: 'INVALID_ARGUMENT' });
});
