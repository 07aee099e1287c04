import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '../../src/engine/atomic-write.js';

const root = await mkdtemp(join(tmpdir(), 'hasten-atomic-'));
after(() => rm(root, { recursive: true, force: true }));

test('writes text and bytes, replaces an existing file and leaves no temporary file', async () => {
  const directory = join(root, 'replace');
  await mkdir(directory);
  const path = join(directory, 'log.json');
  await writeFile(path, 'old content that is longer than the new one');
  await writeFileAtomic(path, '{"a":1}');
  assert.equal(await readFile(path, 'utf8'), '{"a":1}');
  await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
  assert.deepEqual(await readdir(directory), ['log.json']);
});

test('a failed write throws, keeps the target as it was and leaves no temporary file', async () => {
  const directory = join(root, 'fail');
  await mkdir(join(directory, 'occupied'), { recursive: true });
  await assert.rejects(writeFileAtomic(join(directory, 'missing', 'file.txt'), 'x'), { code: 'ENOENT' });
  // Renaming a file over a directory fails after the temporary file was written.
  await assert.rejects(writeFileAtomic(join(directory, 'occupied'), 'x'));
  assert.deepEqual(await readdir(directory), ['occupied']);
});
