// The files npm would publish (package.json `files`) contain nothing test-only: no trap
// helper, no test vectors or their regeneration, no fuzzing entry points, in the JS, the
// type declarations, the docs, or the .wasm (its exports, imports and custom sections, and
// every byte of it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

const pkg = new URL('../pkg/', import.meta.url);
const FORBIDDEN = ['_trapForTesting', 'trapForTesting', 'trap_for_testing', 'test_vectors', 'testVectors',
  'regenerate', 'fuzzing', 'seal_state_for_fuzzing'];

function assertClean(where, text) {
  const lower = text.toLowerCase();
  for (const word of FORBIDDEN) {
    assert.ok(!lower.includes(word.toLowerCase()), `${where} contains "${word}"`);
  }
}

test('the published files contain no test-only code', async () => {
  const { files } = JSON.parse(await readFile(new URL('package.json', pkg), 'utf8'));
  assert.ok(files.includes('hushwire_bg.wasm') && files.includes('index.js'), 'unexpected files list');
  for (const file of files) {
    const bytes = await readFile(new URL(file, pkg));
    // latin1 keeps every byte as one character, so names inside the .wasm are found too.
    assertClean(file, bytes.toString('latin1'));
    if (file.endsWith('.wasm')) {
      const module = new WebAssembly.Module(bytes);
      const names = [
        ...WebAssembly.Module.exports(module).map((e) => e.name),
        ...WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`),
      ];
      assertClean(`${file} exports/imports`, names.join('\n'));
      for (const section of ['name', 'producers', 'target_features']) {
        for (const data of WebAssembly.Module.customSections(module, section)) {
          assertClean(`${file} custom section ${section}`, Buffer.from(data).toString('latin1'));
        }
      }
    }
  }
});

test('the check itself notices a forbidden name', () => {
  assert.throws(() => assertClean('sample', 'export function trapForTesting() {}'), /trapForTesting/);
});
