// docs/vectors/negative.json through the shipped package's public API: every case the package
// can express must fail with its code (HushwireError.code). Sessions and identities come from
// the file's exports; `finish` cases for the visitor of handshake.json get that visitor by
// feeding its session id and ephemeral secret to crypto.getRandomValues for one start(), as
// vectors.test.mjs does for the whole scenario. Two ops need what the package deliberately
// lacks: `certify` (it cannot sign) and `certificate_verify` (no certificate API; every such
// certificate is also carried in a `finish` case, which the package runs).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as hw from 'hushwire';
import * as att from 'hushwire/attachment';

const dir = new URL('../../../docs/vectors/', import.meta.url);
const load = async (name) => JSON.parse(await readFile(new URL(name, dir), 'utf8'));
const unhex = (text) => new Uint8Array(Buffer.from(text, 'hex'));
const b64u = (hex) => Buffer.from(hex, 'hex').toString('base64url');
const UNSUPPORTED = new Set(['certify', 'certificate_verify']);
// Run by their own (asynchronous) test below, through the hushwire/attachment entry.
const ATTACHMENT_OPS = new Set(['attachment_manifest', 'attachment_open']);

let v;
let hs;
let vectorVisitor;

before(async () => {
  await hw.init();
  await att.init();
  v = await load('negative.json');
  hs = await load('handshake.json');
  // The first random bytes the module draws, over however many calls, are the vector
  // visitor's session id and ephemeral secret; anything after them is real randomness.
  const feed = Buffer.concat([Buffer.from(hs.session_id, 'hex'), Buffer.from(hs.visitor_ephemeral_secret, 'hex')]);
  const real = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  let fed = 0;
  Object.defineProperty(globalThis, 'crypto', {
    value: {
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
    const { handshake, hello } = hw.VisitorHandshake.start(b64u(v.org_public_key), { version: 1 });
    assert.equal(handshake.sessionId, hs.session_id);
    assert.equal(hello, hs.hello_base64url);
    vectorVisitor = handshake;
  } finally {
    Object.defineProperty(globalThis, 'crypto', real);
  }
});

function run(c) {
  const key = unhex(c.storage_key ?? v.storage_key);
  const input = () => ('input_text' in c ? c.input_text : unhex(c.input));
  const session = () => hw.Session.importState(v.sessions[c.session], key);
  const identity = () => hw.AgentIdentity.importState(v.identity, key);
  switch (c.op) {
    case 'open': {
      const s = session();
      for (const prior of c.prior ?? []) s.open(unhex(prior));
      return s.open(input());
    }
    case 'seal':
      return session().seal(new Uint8Array(c.plaintext_length));
    case 'config':
      return session().setConfig({ maxSkip: c.max_skip, maxStoredSkipped: c.max_stored_skipped });
    case 'accept':
      return identity().accept(input());
    case 'finish': {
      const h = c.visitor === 'handshake.json' ? vectorVisitor : hw.VisitorHandshake.start(b64u(v.org_public_key)).handshake;
      return h.finish(input(), v.now);
    }
    case 'finish_again': {
      const { handshake, hello } = hw.VisitorHandshake.start(b64u(v.org_public_key));
      const { reply } = identity().accept(hello);
      handshake.finish(reply, v.now);
      return handshake.finish(reply, v.now);
    }
    case 'org_public_key':
      return hw.VisitorHandshake.start('input_text' in c ? c.input_text : b64u(c.input));
    case 'import_session':
      return hw.Session.importState(c.input_text, key);
    case 'import_identity':
      return hw.AgentIdentity.importState(c.input_text, key);
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

test('every negative vector the package can express is refused with its code', () => {
  assert.ok(v.cases.length >= 60);
  const failures = [];
  let ran = 0;
  for (const c of v.cases) {
    if (UNSUPPORTED.has(c.op) || ATTACHMENT_OPS.has(c.op)) continue;
    ran++;
    try {
      run(c);
      failures.push(`${c.name}: accepted, want ${c.code}`);
    } catch (e) {
      if (e?.name !== 'HushwireError') failures.push(`${c.name}: threw ${e}`);
      else if (e.code !== c.code) failures.push(`${c.name}: got ${e.code} (${e.message}), want ${c.code}`);
    }
  }
  assert.deepEqual(failures, []);
  // Everything but the two unsupported ops ran.
  assert.equal(ran, v.cases.filter((c) => !UNSUPPORTED.has(c.op) && !ATTACHMENT_OPS.has(c.op)).length);
  assert.ok(ran >= 100, `only ${ran} cases ran`);
});

// The blob of an `attachment_open` case: its pieces concatenated.
function attachmentBlob(c) {
  return Buffer.concat(
    c.blob.map((p) => ('hex' in p ? unhex(p.hex) : unhex(v.attachments[p.file]).subarray(p.start, p.end))),
  );
}

test('every attachment negative vector is refused with its code (WebCrypto segments)', async () => {
  const failures = [];
  let ran = 0;
  for (const c of v.cases.filter((x) => ATTACHMENT_OPS.has(x.op))) {
    ran++;
    try {
      if (c.op === 'attachment_manifest') {
        att.AttachmentManifest.fromBytes(unhex(c.input));
      } else {
        const m = att.AttachmentManifest.fromBytes(unhex(c.manifest));
        // Fed in 1000-byte pieces, none aligned with a segment.
        const blob = attachmentBlob(c);
        const pieces = [];
        for (let i = 0; i < blob.length; i += 1000) pieces.push(blob.subarray(i, i + 1000));
        await att.decryptFile(m, new Blob(pieces));
      }
      failures.push(`${c.name}: accepted, want ${c.code}`);
    } catch (e) {
      if (!(e instanceof hw.HushwireError)) failures.push(`${c.name}: threw ${e}`);
      else if (e.code !== c.code) failures.push(`${c.name}: got ${e.code} (${e.message}), want ${c.code}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(ran, 38);
  // The control: the intact base blob opens.
  const base = v.cases.find((c) => c.name === 'attachment blob: extended by one byte');
  const file = await att.decryptFile(att.AttachmentManifest.fromBytes(unhex(base.manifest)), unhex(v.attachments.a));
  assert.equal(file.size, att.AttachmentManifest.fromBytes(unhex(base.manifest)).plaintextLength);
});

test('the controls: the base envelope opens, with surrounding white space in its text form', () => {
  const key = unhex(v.storage_key);
  const s = hw.Session.importState(v.sessions.agent, key);
  const base = v.cases.find((c) => c.name === 'envelope: replay').prior[0];
  assert.equal(new TextDecoder().decode(s.open(`\u3000 ${b64u(base)}\r\n`)), 'negative vectors: base message');
  const exhausted = hw.Session.importState(v.sessions.exhausted, key);
  assert.throws(() => exhausted.seal(new Uint8Array(1)), { code: 'SESSION_EXHAUSTED' });
});
