// The PyTorch peer: skipped with a reason without a replica script, without Python or without torch;
// with them, the script's JSON line becomes the peer's figures (here through a stand-in "python"
// that answers like one with torch, so the test does not need torch).

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'hasten-torch-peer-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fakePython = join(dir, 'python');
writeFileSync(fakePython, `#!/bin/sh
if [ "$1" = "-c" ]; then echo 2.13.0; exit 0; fi
echo "warming up"
echo '{"torch": "2.13.0", "threads": '"$2"', "forward_ms": 60, "train_ms": 480, "forward_ms_channels_last": 47.5, "train_ms_channels_last": 236}'
`);
chmodSync(fakePython, 0o755);
const replica = join(dir, 'replica.py');
writeFileSync(replica, '# stand-in\n');

describe('PyTorch peer', () => {
  test('skipped, with the reason, without a replica script or when it is missing', async () => {
    const { measureTorchPeer } = await import('../../../src/bench/peers/torch.js');
    assert.match((measureTorchPeer(undefined, 2) as { skipped: string }).skipped, /--torch-peer/);
    assert.match((measureTorchPeer(join(dir, 'missing.py'), 2) as { skipped: string }).skipped, /does not exist/);
  });

  test('runs the replica and reads its figures, best layout first', async () => {
    process.env.HASTEN_PYTHON = fakePython;
    const { measureTorchPeer } = await import(`../../../src/bench/peers/torch.js?python=${Date.now()}`);
    delete process.env.HASTEN_PYTHON;
    const result = measureTorchPeer(replica, 2);
    assert.ok(!('skipped' in result), JSON.stringify(result));
    assert.equal(result.torch, '2.13.0');
    assert.equal(result.train_ms_channels_last, 236);
    const { workloadTrainFlops } = await import('../../../src/bench/engine-workload.js');
    assert.ok(Math.abs(result.train_gflops - workloadTrainFlops() / 236 / 1e6) < 1e-9);
  });
});
