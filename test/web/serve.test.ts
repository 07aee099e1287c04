import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveSite } from '../../src/web/serve.js';

test('serveSite: files with the isolation headers and their MIME types; 404 and no way out of the folder', async () => {
  const root = mkdtempSync(join(tmpdir(), 'hasten-serve-'));
  mkdirSync(join(root, 'ort'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(root, 'ort', 'a.wasm'), new Uint8Array([0, 97, 115, 109]));
  const site = await serveSite(root, { port: 0 });
  try {
    const page = await fetch(site.url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    const wasm = await fetch(new URL('ort/a.wasm', site.url));
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.equal(wasm.headers.get('content-length'), '4');
    assert.equal((await fetch(new URL('missing.js', site.url))).status, 404);
    // Sent as is (fetch would normalise the dots away): encoded slashes that decode to ../..
    const status = await new Promise<number>((resolve, reject) => get({ host: '127.0.0.1', port: new URL(site.url).port, path: '/..%2f..%2fetc%2fpasswd' }, (response) => { response.resume(); resolve(response.statusCode!); }).on('error', reject));
    assert.equal(status, 403);
    const taken = serveSite(root, { port: Number(new URL(site.url).port) });
    await assert.rejects(taken, /port \d+ is in use; choose another with --port/);
  } finally {
    await site.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('serveSite: isolated: false leaves the headers out (the page then says it runs on one thread)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'hasten-serve-'));
  writeFileSync(join(root, 'index.html'), 'x');
  const site = await serveSite(root, { port: 0, isolated: false });
  try {
    assert.equal((await fetch(site.url)).headers.get('cross-origin-opener-policy'), null);
  } finally {
    await site.close();
    rmSync(root, { recursive: true, force: true });
  }
});
