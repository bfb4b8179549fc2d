// The attachment throughput cases, shared by the Node run and the Chromium page (no Node
// imports here). Each round times, in turn: raw WebCrypto AES-256-GCM over the file's
// segments (one awaited subtle.encrypt/decrypt per segment, fresh nonce, no framing: the
// ceiling), then hushwire/attachment's encryption / decryption TransformStream over the same
// bytes (header, STREAM nonces, padding, manifest through the wasm core), then the Blob/File
// helpers (encryptFile / decryptFile, which add the cost of reading and building Blobs). Rounds are
// interleaved and the median is reported, so load on a shared machine hits both alike; the
// "paired" ratios are the median of each round's own hushwire/raw ratio (the two cases run
// back to back, so a load swing between rounds cancels out). With a `baseline` module (an
// older build of hushwire/attachment) its streams are timed in the same rounds too, for
// before/after numbers from one run.

async function rawSeal(subtle, key, file, seg) {
  const out = [];
  for (let off = 0, i = 0; off < file.length; off += seg, i++) {
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(7, i);
    out.push(await subtle.encrypt({ name: 'AES-GCM', iv }, key, file.subarray(off, off + seg)));
  }
  return out;
}

async function rawOpen(subtle, key, segments) {
  let n = 0;
  for (let i = 0; i < segments.length; i++) {
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(7, i);
    n += (await subtle.decrypt({ name: 'AES-GCM', iv }, key, segments[i])).byteLength;
  }
  return n;
}

// hushwire/attachment's TransformStream over bytes in memory, 1 MiB views in, segments out
// (what the raw cases do too: bytes in, one ArrayBuffer per segment out).
async function stream(transform, bytes) {
  const out = [];
  const reading = (async () => {
    const r = transform.readable.getReader();
    for (;;) {
      const { done, value } = await r.read();
      if (done) return;
      out.push(value);
    }
  })();
  const w = transform.writable.getWriter();
  for (let off = 0; off < bytes.length; off += 1 << 20) w.write(bytes.subarray(off, off + (1 << 20)));
  await w.close();
  await reading;
  return out;
}

function concat(parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Run every case `rounds` times on a file of `size` bytes in `seg`-byte segments; returns
 * rows { case, mbps } (MB/s of plaintext, 10^6 bytes) and the hushwire/raw ratios.
 */
export async function runAttachmentBench(subtle, att, { size = 16 << 20, seg = 65536, rounds = 7 } = {}, baseline = null) {
  const file = new Uint8Array(size);
  for (let off = 0; off < size; off += 65536) crypto.getRandomValues(file.subarray(off, off + 65536));
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const key = await subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  // Checks before timing: the raw path round-trips, hushwire round-trips.
  const rawSegs = await rawSeal(subtle, key, file, seg);
  if ((await rawOpen(subtle, key, rawSegs)) !== size) throw new Error('raw round trip failed');
  const blob = new Blob([file]);
  const sealed = await att.encryptFile(blob, { mediaType: 'application/octet-stream', segmentSize: seg });
  const back = new Uint8Array(await (await att.decryptFile(sealed.manifest, sealed.blob)).arrayBuffer());
  if (back.length !== size || back.some((b, i) => b !== file[i])) throw new Error('hushwire round trip failed');

  const sealedBytes = concat(await stream(att.createEncryptionStream({ segmentSize: seg }), file));
  const enc = att.createEncryptionStream({ segmentSize: seg });
  const sealedStream = concat(await stream(enc, file));
  const m = await enc.manifest;
  if (concat(await stream(att.createDecryptionStream(m), sealedStream)).length !== size) throw new Error('stream round trip failed');
  if (sealedBytes.length !== m.ciphertextLength) throw new Error('stream blob length');

  // The same segments as views into one buffer (what a stream over a large buffer sees).
  const packed = concat(rawSegs.map((b) => new Uint8Array(b)));
  const views = rawSegs.map((b, i) => packed.subarray(i * (seg + 16), i * (seg + 16) + b.byteLength));
  const mBase = baseline === null ? null : baseline.AttachmentManifest.fromBytes(m.toBytes());
  if (mBase !== null && concat(await stream(baseline.createDecryptionStream(mBase), sealedStream)).length !== size) {
    throw new Error('baseline round trip failed');
  }
  const t = { rawSeal: [], rawOpen: [], rawOpenViews: [], hwSeal: [], hwOpen: [], fileSeal: [], fileOpen: [], baseSeal: [], baseOpen: [] };
  for (let r = 0; r < rounds; r++) {
    t.rawSeal.push(await timed(() => rawSeal(subtle, key, file, seg)));
    t.hwSeal.push(await timed(() => stream(att.createEncryptionStream({ segmentSize: seg }), file)));
    if (baseline !== null) t.baseSeal.push(await timed(() => stream(baseline.createEncryptionStream({ segmentSize: seg }), file)));
    t.rawOpen.push(await timed(() => rawOpen(subtle, key, rawSegs)));
    t.rawOpenViews.push(await timed(() => rawOpen(subtle, key, views)));
    t.hwOpen.push(await timed(() => stream(att.createDecryptionStream(m), sealedStream)));
    if (baseline !== null) t.baseOpen.push(await timed(() => stream(baseline.createDecryptionStream(mBase), sealedStream)));
    t.fileSeal.push(await timed(() => att.encryptFile(blob, { segmentSize: seg })));
    t.fileOpen.push(await timed(() => att.decryptFile(sealed.manifest, sealed.blob)));
  }
  const mbps = (k) => size / median(t[k]) / 1e6;
  // Raw time over hushwire time, round by round (> 1: hushwire faster).
  const paired = (raw, hw) => median(t[raw].map((x, i) => x / t[hw][i]));
  const ratios = {
    seal: mbps('hwSeal') / mbps('rawSeal'),
    open: mbps('hwOpen') / mbps('rawOpen'),
    'seal paired': paired('rawSeal', 'hwSeal'),
    'open paired': paired('rawOpen', 'hwOpen'),
  };
  const rows = {
    'raw WebCrypto seal': mbps('rawSeal'),
    'hushwire encryption stream': mbps('hwSeal'),
    'raw WebCrypto open': mbps('rawOpen'),
    'raw WebCrypto open (views)': mbps('rawOpenViews'),
    'hushwire decryption stream': mbps('hwOpen'),
    'encryptFile (Blob in, Blob out)': mbps('fileSeal'),
    'decryptFile (Blob in, File out)': mbps('fileOpen'),
  };
  if (baseline !== null) {
    rows['baseline encryption stream'] = mbps('baseSeal');
    rows['baseline decryption stream'] = mbps('baseOpen');
    Object.assign(ratios, {
      'baseline seal': mbps('baseSeal') / mbps('rawSeal'),
      'baseline open': mbps('baseOpen') / mbps('rawOpen'),
      'baseline seal paired': paired('rawSeal', 'baseSeal'),
      'baseline open paired': paired('rawOpen', 'baseOpen'),
    });
  }
  return {
    size,
    seg,
    rounds,
    rows,
    ratios,
  };
}

export function format(result, where) {
  const lines = [`${where}: ${result.size / (1 << 20)} MiB file, ${result.seg / 1024} KiB segments, median of ${result.rounds} interleaved rounds`];
  for (const [k, v] of Object.entries(result.rows)) lines.push(`  ${k.padEnd(34)} ${v.toFixed(0).padStart(6)} MB/s`);
  lines.push(`  of raw WebCrypto: ${Object.entries(result.ratios).map(([k, v]) => `${k} ${v.toFixed(2)}x`).join(', ')}`);
  return lines.join('\n');
}

/**
 * A `size`-byte file sealed once, both ways; returns async functions that open it with the
 * decryption stream and with the raw loop (what BENCH_PROFILE records under the profiler).
 */
export async function prepareOpen(subtle, att, { size = 16 << 20, seg = 65536 } = {}) {
  const file = new Uint8Array(size);
  for (let off = 0; off < size; off += 65536) crypto.getRandomValues(file.subarray(off, off + 65536));
  const enc = att.createEncryptionStream({ segmentSize: seg });
  const sealed = concat(await stream(enc, file));
  const m = await enc.manifest;
  const key = await subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt', 'decrypt']);
  const segs = await rawSeal(subtle, key, file, seg);
  return { stream: () => stream(att.createDecryptionStream(m), sealed), raw: () => rawOpen(subtle, key, segs) };
}
