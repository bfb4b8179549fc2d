// Encrypted attachments in the demo (docs/PROTOCOL.md §15, npm entry hushwire/attachment):
// the file is encrypted in the page (WebCrypto segments), the ciphertext blob is uploaded to the
// relay in resumable chunks (/blobs), and the manifest (file key, sizes, type, name) travels as
// an ordinary end-to-end encrypted chat message. The relay stores ciphertext under a random id.
import { init, encryptFile, decryptFile, AttachmentManifest } from '/pkg/attachment.js';
import { appendLine, appendWarning, codeOf, fromB64, toB64 } from './common.js';

// The chat text of an attachment message: a NUL-prefixed marker (the text box cannot type it)
// and JSON { blob, manifest }. Inside the sealed message, so the relay sees none of it.
const PREFIX = '\u0000hushwire-attachment:';
const CHUNK = 1 << 20;
// Shown inline only for raster types the browser decodes safely (never SVG: it is a document).
const INLINE = /^image\/(png|jpeg|gif|webp)$/;

let ready = null;
const attachmentsReady = () => (ready ??= init());

/** True for the chat text of an attachment. */
export const isAttachment = (text) => typeof text === 'string' && text.startsWith(PREFIX);

const auth = (token) => ({ authorization: `Bearer ${token}` });

/**
 * Encrypt `file`, upload its blob to conversation `conversation` (resuming from the relay's
 * offset after a refused chunk), and return the chat text that carries its manifest.
 */
export async function uploadFile(file, { conversation, token }) {
  await attachmentsReady();
  const { manifest, blob } = await encryptFile(file);
  const created = await fetch(`/blobs/${conversation}`, {
    method: 'POST', headers: auth(token), body: JSON.stringify({ size: blob.size }),
  });
  if (created.status !== 201) throw new Error(`the relay refused the upload (${created.status})`);
  const { id } = await created.json();
  for (let off = 0; off < blob.size;) {
    const end = Math.min(off + CHUNK, blob.size);
    const res = await fetch(`/blobs/${conversation}/${id}`, {
      method: 'PATCH', headers: { ...auth(token), 'upload-offset': String(off) }, body: blob.slice(off, end),
    });
    if (res.status === 409) {
      off = Number(res.headers.get('upload-offset')); // a chunk already stored: go on from there
    } else if (res.status === 204) {
      off = end;
    } else {
      throw new Error(`upload failed (${res.status})`);
    }
  }
  return PREFIX + JSON.stringify({ blob: id, manifest: toB64(manifest.toBytes()) });
}

// The sender's name, as a download name: no path, no control characters, bounded.
function safeName(name) {
  const n = (name || 'attachment').replace(/[\u0000-\u001f\u007f/\\]/g, '_').slice(0, 120);
  return n === '' || n === '.' || n === '..' ? 'attachment' : n;
}

/**
 * Show an attachment message: a line "who: decrypting…" replaced by the image (inline) or a
 * download link once the whole blob has authenticated, or by a warning if it did not (a
 * tampered or truncated blob never becomes a broken file).
 */
export async function showAttachment(log, who, text, cls, { conversation, token }) {
  const line = appendLine(log, who, 'decrypting attachment…', cls);
  const body = line.querySelector('.text');
  try {
    await attachmentsReady();
    const { blob, manifest } = JSON.parse(text.slice(PREFIX.length));
    if (!/^[0-9a-f]{32}$/.test(blob)) throw new Error('bad blob id');
    const m = AttachmentManifest.fromBytes(fromB64(manifest));
    const res = await fetch(`/blobs/${conversation}/${blob}`, { headers: auth(token) });
    if (!res.ok) throw Object.assign(new Error(`download failed (${res.status})`), { code: 'DOWNLOAD_FAILED' });
    const file = await decryptFile(m, res);
    const url = URL.createObjectURL(file);
    const name = safeName(m.name);
    if (INLINE.test(m.mediaType)) {
      const img = document.createElement('img');
      img.className = 'attachment';
      img.alt = name;
      img.src = url;
      body.replaceChildren(img);
    } else {
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.textContent = `${name} (${file.size} bytes)`;
      body.replaceChildren(a);
    }
    line.dataset.attachment = name;
  } catch (e) {
    // The log was redrawn meanwhile (another tab handed this one the conversation): the new
    // line reports it, so this one must not add a second warning.
    if (!line.isConnected) return;
    appendWarning(log, codeOf(e));
    line.replaceWith(log.lastElementChild);
  }
}

/** Calls `onFile(file)` for files chosen with the attach button or dropped on `zone`. */
export function attachControls(button, input, zone, onFile) {
  button.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    for (const f of input.files) onFile(f);
    input.value = '';
  });
  zone.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    zone.classList.add('drop');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('drop'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('drop');
    for (const f of ev.dataTransfer?.files ?? []) onFile(f);
  });
}
