// hushwire/attachment: encrypted files (docs/PROTOCOL.md §15) for browsers, workers and Node.
//
// The attachment module's wasm (attachment_glue.js, its own small instance: the visitor's main
// download does not carry it) draws the file key and keeps the key commitment and the
// manifest; the segments are sealed and opened here with WebCrypto's AES-256-GCM, which in
// browsers is several times faster than AES-GCM compiled to WebAssembly. The bytes are those
// of the Rust core's STREAM (checked against docs/vectors/attachment.json):
//   blob    = header(35) ‖ seg_0 ‖ … ‖ seg_{n-1}
//   seg_i   = AES-256-GCM(segment key, nonce_i, aad = header, padded plaintext of segment i)
//   nonce_i = 7 zero bytes ‖ u32 big-endian i ‖ (1 if i = n-1 else 0)
// A segment's plaintext is released only after its tag verified; the end of a stream only
// after the final segment verified and the blob ended there. Every refusal is a
// HushwireError with code ATTACHMENT_CORRUPTED.
import initGlue, * as glue from './attachment_glue.js';
import { HushwireError } from './index.js';

export { HushwireError };

const TAG = 16;
const HEADER = 35;
// Segments in flight in WebCrypto at once. Node runs WebCrypto on its thread pool, so a short
// pipeline overlaps the AES of one segment with the framing of the next. Chromium (156) runs
// AES-GCM synchronously inside the subtle.encrypt/decrypt call and only resolves the promise
// later, so there the pipeline buys nothing and every microtask or allocation per segment is
// pure overhead against a raw loop: the per-segment path below keeps them to a minimum.
const PIPELINE = 4;
const noop = () => {};

const UNINIT = 0;
const READY = 1;
const POISONED = 2;
let state = UNINIT;
let initPromise = null;
let memory = null;

const MESSAGES = {
  MALFORMED: 'malformed input',
  INVALID_ARGUMENT: 'invalid argument',
  MESSAGE_TOO_LARGE: 'attachment is too large',
  RANDOMNESS_UNAVAILABLE: 'secure randomness is unavailable',
  ATTACHMENT_CORRUPTED: 'attachment is truncated or corrupted',
};

function coded(code, detail) {
  const base = MESSAGES[code] ?? 'operation failed';
  return new HushwireError(code, detail ? `${base}: ${detail}` : base);
}

const corrupted = () => coded('ATTACHMENT_CORRUPTED');

function notReady() {
  return state === POISONED
    ? new HushwireError('INSTANCE_POISONED', 'the hushwire attachment instance trapped earlier; reload it')
    : new HushwireError('NOT_INITIALIZED', 'hushwire/attachment is not initialised: await init() first');
}

// Calls into the attachment wasm: Rust errors (strings "CODE[:detail]") become HushwireError;
// anything else (a trap) poisons the instance and zeroes its memory, as the main entry does.
function call(fn) {
  if (state !== READY) throw notReady();
  try {
    return fn();
  } catch (e) {
    if (typeof e === 'string' && /^[A-Z_]+(:|$)/.test(e)) {
      const i = e.indexOf(':');
      throw i < 0 ? coded(e) : coded(e.slice(0, i), e.slice(i + 1));
    }
    state = POISONED;
    if (memory !== null) new Uint8Array(memory.buffer).fill(0);
    throw new HushwireError('INSTANCE_POISONED', 'the hushwire attachment instance trapped', { cause: e });
  } finally {
    if (state === READY) glue.wipeStack();
  }
}

function invalid(what) {
  return new HushwireError('INVALID_ARGUMENT', `invalid argument: ${what}`);
}

function bytes(value, what) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw invalid(`${what} must be a Uint8Array`);
}

function subtle() {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) {
    throw new HushwireError('NOT_INITIALIZED', 'WebCrypto (crypto.subtle) is unavailable: attachments need a secure context');
  }
  return s;
}

/**
 * Load the attachment module's WebAssembly (attachment_bg.wasm next to this file unless
 * `input` says otherwise: a URL, Request, Response, bytes or WebAssembly.Module). Independent
 * of the main entry's init(); later calls return the same promise.
 */
export function init(input) {
  if (state === POISONED) return Promise.reject(notReady());
  if (initPromise === null) {
    initPromise = (async () => {
      subtle();
      // The module's own file name, not the glue's default (attachment_glue_bg.wasm).
      const source = input === undefined ? new URL('./attachment_bg.wasm', import.meta.url) : await input;
      try {
        const exports = await initGlue({ module_or_path: source });
        memory = exports.memory;
      } catch (e) {
        throw new HushwireError('INIT_FAILED', `could not instantiate the hushwire attachment module: ${e?.message ?? e}`, { cause: e });
      }
      state = READY;
    })();
    initPromise.catch(() => {
      initPromise = null;
    });
  }
  return initPromise;
}

// Import the raw segment key into WebCrypto (non-extractable) and wipe the JS copy.
async function importKey(raw, usage) {
  try {
    return await subtle().importKey('raw', raw, { name: 'AES-GCM' }, false, [usage]);
  } finally {
    raw.fill(0);
  }
}

// Write nonce_i = 7 zero bytes ‖ u32 big-endian i ‖ last flag into `n` (12 bytes, bytes 0..6
// stay zero) and return it. One buffer per stream serves every segment: WebCrypto copies the
// iv while normalising the algorithm, before encrypt/decrypt returns (WebCrypto §18.4, as it
// copies the data, which the streams already rely on).
function nonce(n, i, last) {
  n[7] = i >>> 24;
  n[8] = (i >>> 16) & 0xff;
  n[9] = (i >>> 8) & 0xff;
  n[10] = i & 0xff;
  n[11] = last ? 1 : 0;
  return n;
}

/** A decoded, checked manifest: what a recipient needs to fetch, check and open one file. */
export class AttachmentManifest {
  #bytes;
  /** @internal */
  constructor(token, bytes, fields) {
    if (token !== TOKEN) throw new TypeError('use AttachmentManifest.fromBytes');
    this.#bytes = bytes;
    Object.assign(this, fields);
    Object.freeze(this);
  }

  /** Decode a manifest received as a chat message's plaintext. MALFORMED if invalid. */
  static fromBytes(input) {
    const b = bytes(input, 'manifest').slice();
    return call(() => {
      const m = glue.Manifest.fromBytes(b);
      try {
        return fromGlue(m, b);
      } finally {
        m.free();
      }
    });
  }

  /** The manifest's bytes, to send with Session.seal. They hold the file key. */
  toBytes() {
    return this.#bytes.slice();
  }

  /** @internal the segment key and expected header, for opening. */
  _segmentKey() {
    return call(() => {
      const m = glue.Manifest.fromBytes(this.#bytes);
      try {
        return { key: m.segmentKey(), header: m.header() };
      } finally {
        m.free();
      }
    });
  }
}

const TOKEN = Symbol('hushwire-attachment');

function fromGlue(m, b) {
  return new AttachmentManifest(TOKEN, b, {
    plaintextLength: m.plaintextLength,
    ciphertextLength: m.ciphertextLength,
    paddedLength: m.paddedLength,
    segmentSize: m.segmentSize,
    mediaType: m.mediaType,
    name: m.name,
    thumbnail: m.thumbnail,
    commitment: m.commitment,
  });
}

// Runs WebCrypto operations with up to PIPELINE in flight and hands their results over in
// order to `deliver(result, tag)`; the first failure (passed through `mapError`) is reported
// and nothing after it is released.
class Pipeline {
  #queue = [];
  #deliver;
  #mapError;
  constructor(deliver, mapError = (e) => e) {
    this.#deliver = deliver;
    this.#mapError = mapError;
  }
  // Queue one operation. Returns a promise to await only when the pipeline is full, and
  // undefined otherwise, so a segment that need not wait costs no extra promise or tick.
  add(promise, tag) {
    // Mark rejections as handled now; they are re-raised in order by #next.
    promise.catch(noop);
    this.#queue.push(promise, tag);
    return this.#queue.length >= 2 * PIPELINE ? this.#next() : undefined;
  }
  async drain() {
    while (this.#queue.length > 0) await this.#next();
  }
  async #next() {
    const promise = this.#queue.shift();
    const tag = this.#queue.shift();
    let result;
    try {
      result = await promise;
    } catch (e) {
      throw this.#mapError(e);
    }
    this.#deliver(result, tag);
  }
}

function metadata(options) {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  const { mediaType = 'application/octet-stream', name, thumbnail, segmentSize = 65536 } = options;
  if (typeof mediaType !== 'string') throw invalid('mediaType must be a string');
  if (name !== undefined && typeof name !== 'string') throw invalid('name must be a string');
  const log2 = segmentSize === 65536 ? 16 : segmentSize === 1048576 ? 20 : 0;
  if (log2 === 0) throw invalid('segmentSize must be 65536 or 1048576');
  return [mediaType, name, thumbnail === undefined ? undefined : bytes(thumbnail, 'thumbnail').slice(), log2];
}

/**
 * A TransformStream that encrypts the file written to it into its blob. `manifest` resolves
 * once the stream has closed (the file's length is in the manifest); it rejects if the
 * stream fails. Options: mediaType, name, thumbnail, segmentSize (65536 or 1048576).
 */
export function createEncryptionStream(options = {}) {
  const meta = metadata(options);
  const fileKey = call(() => glue.FileKey.generate(...meta));
  let manifestResolve;
  let manifestReject;
  const manifest = new Promise((resolve, reject) => {
    manifestResolve = resolve;
    manifestReject = reject;
  });
  manifest.catch(() => {});
  const seg = fileKey.segmentSize;
  const header = call(() => fileKey.header());
  const webcrypto = subtle();
  const keyPromise = importKey(call(() => fileKey.segmentKey()), 'encrypt');
  keyPromise.catch(() => {});
  let key = null; // the CryptoKey, once imported: awaited once per chunk, not per segment
  const buf = new Uint8Array(seg);
  let fill = 0;
  let index = 0;
  let total = 0;
  let started = false;
  let out = null; // the stream's controller (set in start)
  const pipeline = new Pipeline((ct) => out.enqueue(new Uint8Array(ct)));
  const iv = new Uint8Array(12);
  const alg = { name: 'AES-GCM', iv, additionalData: header, tagLength: 128 };
  let freed = false;
  const release = () => {
    if (!freed) {
      freed = true;
      if (state === READY) call(() => fileKey.free());
    }
  };

  // Start sealing the next segment (`key` is set); a promise to await only when the pipeline
  // is full. WebCrypto copies `data` when called, so the buffer is free for the next segment.
  function seal(data, last) {
    if (!started) {
      out.enqueue(header.slice());
      started = true;
    }
    nonce(iv, index, last);
    index += 1;
    return pipeline.add(webcrypto.encrypt(alg, key, data));
  }

  const fail = (e) => {
    release();
    manifestReject(e);
    return e;
  };

  const stream = new TransformStream({
    start(controller) {
      out = controller;
    },
    async transform(chunk) {
      try {
        let data = bytes(chunk, 'chunk');
        if (key === null) key = await keyPromise;
        while (data.length > 0) {
          // A full segment is sealed only once more data shows it is not the last.
          if (fill === seg) {
            const wait = seal(buf, false);
            if (wait !== undefined) await wait;
            fill = 0;
          }
          if (fill === 0 && data.length > seg) {
            // Whole segments straight from the chunk (WebCrypto copies them), no buffering.
            const wait = seal(data.subarray(0, seg), false);
            if (wait !== undefined) await wait;
            total += seg;
            data = data.subarray(seg);
            continue;
          }
          const n = Math.min(seg - fill, data.length);
          buf.set(data.subarray(0, n), fill);
          fill += n;
          total += n;
          data = data.subarray(n);
        }
      } catch (e) {
        throw fail(e);
      }
    },
    async flush() {
      try {
        if (key === null) key = await keyPromise;
        freed = true; // intoManifest consumes the key, even when it fails
        const glueManifest = call(() => fileKey.intoManifest(total));
        let m;
        try {
          m = call(() => fromGlue(glueManifest, glueManifest.toBytes()));
        } finally {
          call(() => glueManifest.free());
        }
        const segments = Math.ceil(m.paddedLength / seg);
        for (let i = index; i < segments; i++) {
          const len = Math.min(seg, m.paddedLength - i * seg);
          // Padding: 0x80 right after the file's last byte, zeros to the padded length.
          if (fill < len && i * seg + fill === total) buf[fill++] = 0x80;
          buf.fill(0, fill, len);
          const wait = seal(buf.subarray(0, len), i === segments - 1);
          if (wait !== undefined) await wait;
          fill = 0;
        }
        await pipeline.drain();
        buf.fill(0);
        manifestResolve(m);
      } catch (e) {
        throw fail(e);
      }
    },
    cancel(reason) {
      buf.fill(0);
      fail(reason);
    },
  });
  return { readable: stream.readable, writable: stream.writable, manifest };
}

/**
 * A TransformStream that decrypts the blob of `manifest` written to it into the file. Each
 * segment's bytes come out only after they authenticated; the stream closes only after the
 * final segment did and the blob ended there. Any refusal errors the stream with
 * ATTACHMENT_CORRUPTED: what came out before was authentic but is not the whole file.
 */
export function createDecryptionStream(manifest) {
  if (!(manifest instanceof AttachmentManifest)) throw invalid('manifest must be an AttachmentManifest');
  const { key: rawKey, header } = manifest._segmentKey();
  const webcrypto = subtle();
  const keyPromise = importKey(rawKey, 'decrypt');
  keyPromise.catch(() => {});
  let key = null; // the CryptoKey, once imported: no await on it per segment
  const seg = manifest.segmentSize;
  const plain = manifest.plaintextLength;
  const padded = manifest.paddedLength;
  const segments = Math.ceil(padded / seg);
  const segLen = (i) => Math.min(seg, padded - i * seg);
  let started = false;
  let next = 0; // segments dispatched
  let cur = new Uint8Array(HEADER);
  let fill = 0;
  let failed = false;
  let out = null; // the stream's controller (set in start)
  const iv = new Uint8Array(12);
  // A segment authenticated: check its padding, release its file bytes.
  const pipeline = new Pipeline(
    (pt, i) => {
      const file = unpad(i, new Uint8Array(pt));
      if (file.length > 0) out.enqueue(file);
    },
    (e) => (e?.name === 'OperationError' ? corrupted() : e),
  );

  // Check the authenticated plaintext's padding, return the file bytes in it.
  // Padmé pads a 16 MiB file by 512 KiB, so the zero check reads 4 bytes at a time (a byte
  // loop over it was 2 ms per 16 MiB file in Chromium, 15 % of the raw AES time).
  function unpad(i, p) {
    const start = i * seg;
    if (start + p.length <= plain) return p; // all file bytes, no padding in this segment
    const keep = Math.max(0, Math.min(plain - start, p.length));
    let j = keep;
    let bad = 0;
    if (start + keep === plain && j < p.length) bad = p[j++] ^ 0x80; // the marker
    for (; j < p.length && (p.byteOffset + j) % 4 !== 0; j++) bad |= p[j];
    const words = new Uint32Array(p.buffer, p.byteOffset + j, (p.length - j) >>> 2);
    for (let k = 0; k < words.length; k++) bad |= words[k];
    for (j += words.length * 4; j < p.length; j++) bad |= p[j];
    if (bad !== 0) throw corrupted();
    return p.subarray(0, keep);
  }

  // One algorithm object per stream: WebCrypto reads it (and copies iv and AAD) during the call.
  const alg = { name: 'AES-GCM', iv, additionalData: header, tagLength: 128 };
  // Start opening segment i (WebCrypto copies `data` during the call); a promise to await
  // only when the pipeline is full.
  const open = (i, data) => {
    nonce(iv, i, i === segments - 1);
    return pipeline.add(webcrypto.decrypt(alg, key, data), i);
  };

  return new TransformStream({
    start(controller) {
      out = controller;
    },
    async transform(chunk) {
      if (failed) throw corrupted();
      try {
        const data = bytes(chunk, 'chunk');
        if (key === null) key = await keyPromise;
        // An offset into the chunk rather than a new view of the rest per segment.
        let off = 0;
        while (off < data.length) {
          if (next === segments) throw corrupted(); // bytes after the final segment
          const whole = segLen(next) + TAG;
          if (started && fill === 0 && data.length - off >= whole) {
            // A whole segment inside the chunk: open it in place (WebCrypto copies it).
            const wait = open(next, data.subarray(off, off + whole));
            if (wait !== undefined) await wait;
            next += 1;
            off += whole;
            if (next < segments && cur.length !== segLen(next) + TAG) cur = new Uint8Array(segLen(next) + TAG);
            continue;
          }
          const n = Math.min(cur.length - fill, data.length - off);
          cur.set(data.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill < cur.length) break;
          if (!started) {
            let diff = 0;
            for (let j = 0; j < HEADER; j++) diff |= cur[j] ^ header[j];
            if (diff !== 0) throw corrupted();
            started = true;
            cur = new Uint8Array(segLen(0) + TAG);
          } else {
            const wait = open(next, cur);
            if (wait !== undefined) await wait;
            next += 1;
            if (next < segments && cur.length !== segLen(next) + TAG) cur = new Uint8Array(segLen(next) + TAG);
          }
          fill = 0;
        }
      } catch (e) {
        failed = true;
        throw e;
      }
    },
    async flush() {
      if (failed) throw corrupted();
      await pipeline.drain();
      if (!started || next !== segments || fill !== 0) throw corrupted();
    },
  });
}

// A ReadableStream of the bytes of a Blob, Uint8Array, Response or ReadableStream. A Blob is
// read in slices of `chunk` bytes (whole segments), so most segments go to WebCrypto
// straight from the slice, without a copy into a segment buffer.
function source(input, chunk) {
  if (typeof ReadableStream === 'function' && input instanceof ReadableStream) return input;
  if (typeof Blob === 'function' && input instanceof Blob) {
    let off = 0;
    return new ReadableStream({
      async pull(c) {
        if (off >= input.size) {
          c.close();
          return;
        }
        const end = Math.min(off + chunk, input.size);
        const piece = new Uint8Array(await input.slice(off, end).arrayBuffer());
        off = end;
        c.enqueue(piece);
      },
    });
  }
  if (typeof Response === 'function' && input instanceof Response) {
    if (input.body === null) return new Blob([]).stream();
    return input.body;
  }
  const b = bytes(input, 'input');
  return new ReadableStream({
    start(c) {
      // Views in slices, as for a Blob (nothing is copied here).
      for (let i = 0; i < b.length; i += chunk) c.enqueue(b.subarray(i, i + chunk));
      c.close();
    },
  });
}

async function collect(readable) {
  const parts = [];
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return parts;
    parts.push(value);
  }
}

/**
 * Encrypt a whole file (a File, Blob, Uint8Array or ReadableStream): resolves to
 * `{ manifest, blob }`, the blob (a Blob) to upload and the manifest to send in a chat
 * message. A File's name and type are used unless `options` gives them.
 */
export async function encryptFile(input, options = {}) {
  const o = { ...options };
  if (typeof File === 'function' && input instanceof File) {
    if (o.name === undefined && input.name !== '') o.name = input.name;
    if (o.mediaType === undefined && input.type !== '') o.mediaType = input.type;
  }
  const { readable, writable, manifest } = createEncryptionStream(o);
  const seg = o.segmentSize ?? 65536;
  const [parts] = await Promise.all([collect(readable), source(input, 16 * seg).pipeTo(writable)]);
  return { manifest: await manifest, blob: new Blob(parts, { type: 'application/octet-stream' }) };
}

/**
 * Decrypt the blob of `manifest` (a Blob, Uint8Array, Response or ReadableStream). Resolves
 * to a File (or a Blob where File is missing) named and typed as the manifest says, only once
 * every segment authenticated; rejects with ATTACHMENT_CORRUPTED otherwise, so a tampered or
 * truncated blob never yields a broken file.
 */
export async function decryptFile(manifest, input) {
  const dec = createDecryptionStream(manifest);
  const chunk = 16 * (manifest.segmentSize + TAG);
  const [parts] = await Promise.all([collect(dec.readable), source(input, chunk).pipeTo(dec.writable)]);
  const type = manifest.mediaType;
  if (typeof File === 'function') return new File(parts, manifest.name ?? 'attachment', { type });
  return new Blob(parts, { type });
}
