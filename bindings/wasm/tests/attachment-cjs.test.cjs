// hushwire/attachment from CommonJS: its own init, and the CJS main entry's error class.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const hw = require('hushwire');
const att = require('hushwire/attachment');

test('CJS: round trip, and errors are the CJS entry\'s HushwireError', async () => {
  await att.init();
  const { manifest, blob } = await att.encryptFile(new Uint8Array([5, 6, 7]), { mediaType: 'text/plain' });
  const file = await att.decryptFile(att.AttachmentManifest.fromBytes(manifest.toBytes()), blob);
  assert.deepEqual(new Uint8Array(await file.arrayBuffer()), new Uint8Array([5, 6, 7]));
  const b = new Uint8Array(await blob.arrayBuffer());
  b[40] ^= 1;
  await assert.rejects(att.decryptFile(manifest, b), (e) => e instanceof hw.HushwireError && e.code === 'ATTACHMENT_CORRUPTED');
});
