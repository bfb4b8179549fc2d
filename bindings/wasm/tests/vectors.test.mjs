// Cross-implementation: the wasm build recomputes docs/vectors/*.json byte for byte.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import * as hw from 'hushwire';

const dir = new URL('../../../docs/vectors/', import.meta.url);
before(() => hw.init());

test('regenerateVectors() equals docs/vectors/*.json byte for byte', async () => {
  const files = hw.regenerateVectors();
  const onDisk = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(Object.keys(files).sort(), onDisk);
  for (const name of onDisk) {
    const expected = await readFile(new URL(name, dir));
    const actual = Buffer.from(files[name], 'utf8');
    assert.ok(actual.equals(expected), `${name} differs`);
  }
});
