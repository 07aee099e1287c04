import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { shippedModelsDir } from '../../src/paths.js';
import { fetchTrainedModel } from '../../src/pipeline/model-fetch.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';

test('fetchTrainedModel: a model over HTTP is the model on disk, with download progress; a missing file names its URL', async () => {
  const server = createServer((request, response) => {
    readFile(join(shippedModelsDir(), decodeURIComponent(request.url!)))
      .then((bytes) => response.writeHead(200, { 'content-length': bytes.length }).end(bytes))
      .catch(() => response.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const progress: number[] = [];
    const fetched = await fetchTrainedModel('toy2d', `${base}/toy2d`, ({ loaded, total }) => progress.push(loaded / total!));
    const local = await loadTrainedModel('toy2d');
    assert.equal(fetched.saveId, local.saveId);
    assert.deepEqual(fetched.config, local.config);
    assert.deepEqual([...fetched.params.keys()], [...local.params.keys()]);
    for (const [name, tensor] of local.params) assert.deepEqual(fetched.params.get(name)!.data, tensor.data, name);
    assert.equal(progress.at(-1), 1);
    await assert.rejects(fetchTrainedModel('none', `${base}/no-such-model/`), /no-such-model\/checkpoint\.json: HTTP 404/);
  } finally {
    server.close();
  }
});
