import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

test('hasten web builds if needed, serves the app with the isolation headers, and stops on Ctrl-C', async () => {
  const child = spawn(process.execPath, [cli, 'web', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  try {
    for (let waited = 0; !/hasten web: http/.test(output); waited += 100) {
      if (child.exitCode !== null || waited > 120_000) assert.fail(`hasten web did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const url = /hasten web: (http:\/\/\S+)/.exec(output)![1]!;
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.match(await page.text(), /<script type="module"[^>]*src="\.\/assets\/index-[^"]+\.js"/);
    assert.equal((await fetch(new URL('ort/ort-wasm-simd-threaded.wasm', url))).headers.get('content-type'), 'application/wasm');
    const index = (await (await fetch(new URL('models/index.json', url))).json()) as { name: string }[];
    assert.ok(index.some((entry) => entry.name === 'shapes'));
  } finally {
    child.kill('SIGINT');
  }
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, output);
});
