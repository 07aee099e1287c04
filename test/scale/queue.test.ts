import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluateModel } from '../../src/pipeline/evaluate-model.js';
import { loadTrainedModel } from '../../src/pipeline/model-store.js';
import type { Executor } from '../../src/scale/executor.js';
import type { SamplingSettings } from '../../src/scale/jobs/sampling.js';
import { QueueExecutor } from '../../src/scale/queue-executor.js';
import { runSharded } from '../../src/scale/run.js';
import { tinyTeacher } from '../reflow/helpers.js';
import { childrenOf, seesProcesses, waitUntilGone } from './processes.js';
import { type TestRedis, redisServerPath, startRedis } from './redis.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'hasten-queue-'));
const skip = !redisServerPath() && !process.env.CI ? 'redis-server is not installed' : false;
const LOCK_MS = 1000; // a killed worker's shard is taken again after about this long

let redis: TestRedis;
const workers: { child: ChildProcess; lines: string[] }[] = [];

const cli = join(here, '..', '..', 'src', 'cli', 'main.js');

/** A `hasten worker` process; its log lines collected. */
function startWorker(): Promise<(typeof workers)[number]> {
  const child = spawn(process.execPath, [cli, 'worker', '--queue', redis.url, '--lock-s', String(LOCK_MS / 1000)], { env: { ...process.env, HASTEN_ORT_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const worker = { child, lines: [] as string[] };
  workers.push(worker);
  let buffer = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`hasten worker exited with ${code} before it was ready: ${worker.lines.join('\n')}`)));
    child.stderr!.on('data', (data) => {
      buffer += data;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      worker.lines.push(...lines);
      if (lines.some((line) => line.includes('waiting for shards'))) resolve(worker);
    });
  });
}

// Shards of 4 shapes images at 6 Euler steps, about a second each on one core.
const settings: SamplingSettings = { model: 'shapes', sampler: 'euler', steps: 6, n: 12, seed: 4, batch: 2, guidance: 1, shardSize: 4 };
let single: Record<string, unknown>;
const scores = ['fd', 'fd_floor', 'kid', 'accuracy', 'nfe'] as const;
const assertSameScores = (result: Record<string, unknown>) => { for (const key of scores) assert.equal(result[key], single[key], key); };
const artefactFiles = (results: string) => (existsSync(results) ? readdirSync(results) : []).flatMap((folder) => readdirSync(join(results, folder)).filter((f) => !f.startsWith('.')).map((f) => join(folder, f))).sort();
const computedShards = () => workers.flatMap((w) => w.lines).filter((line) => / computed in /.test(line)).length;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  await Promise.all([startWorker(), startWorker(), startWorker()]);
  single = (await evaluateModel(await loadTrainedModel('shapes'), settings)) as unknown as Record<string, unknown>;
});

after(async () => {
  const children = seesProcesses ? workers.flatMap(({ child }) => (child.exitCode === null ? childrenOf(child.pid!) : [])) : [];
  for (const { child } of workers) if (child.exitCode === null) child.kill('SIGKILL');
  await waitUntilGone(children, 3000); // the workers' shard processes too
  await redis?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('eval over 3 queue workers equals the one-process evaluation bit for bit', { skip }, async () => {
  const executor = new QueueExecutor({ url: redis.url, pollMs: 100 });
  try {
    let last = 0;
    const report = await runSharded<Record<string, unknown>>('eval', settings, { results: join(scratch, 'three'), executor, onProgress: (done) => { last = done; } });
    assertSameScores(report.result);
    assert.equal(last, 12);
    assert.equal(computedShards(), 3);
  } finally {
    await executor.close();
  }
});

test('a queue worker SIGKILLed mid-shard: another takes the shard, nothing is lost or duplicated; its shard process exits', { skip }, async () => {
  const results = join(scratch, 'killed');
  const executor = new QueueExecutor({ url: redis.url, pollMs: 100 });
  const before = computedShards();
  let victim: ChildProcess | undefined;
  let victimChildren: number[] = [];
  let victimChildrenGone: Promise<unknown> = Promise.resolve();
  let killedMidShard = false;
  try {
    const report = await runSharded<Record<string, unknown>>('eval', settings, {
      results, executor,
      onProgress: (done) => {
        if (victim || done === 0) return;
        // Some shard is between two batches: kill every worker but one alive, the first of them busy.
        victim = workers.find((w) => w.child.exitCode === null)!.child;
        killedMidShard = artefactFiles(results).length < 3;
        victimChildren = seesProcesses ? childrenOf(victim.pid!) : [];
        victim.kill('SIGKILL');
        victimChildrenGone = waitUntilGone(victimChildren, 2000).catch((error: unknown) => error);
      },
    });
    assert.ok(victim && killedMidShard);
    if (seesProcesses) assert.ok(victimChildren.length > 0, 'the worker computes its shard in a child process');
    assert.ifError(await victimChildrenGone);
    assertSameScores(report.result);
    assert.deepEqual(artefactFiles(results).map((f) => f.split('/')[1]), ['0+4.safetensors', '4+4.safetensors', '8+4.safetensors']);
    assert.ok(computedShards() - before >= 3);
  } finally {
    await executor.close();
  }
});

test('the submitter killed and started again picks up where it was; a corrupt artefact is recomputed', { skip }, async () => {
  const results = join(scratch, 'resumed');
  const resumedSettings = { ...settings, seed: 11 };
  const submitter = spawn(process.execPath, [join(here, 'submit-main.js'), redis.url, results, JSON.stringify(resumedSettings)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => {
    submitter.stdout!.on('data', (data) => { if (/"done":[1-9]/.test(String(data))) { submitter.kill('SIGKILL'); resolve(); } });
  });
  const before = computedShards();
  const executor = new QueueExecutor({ url: redis.url, pollMs: 100 });
  try {
    const resumed = await runSharded<Record<string, unknown>>('eval', resumedSettings, { results, executor });
    const fresh = (await evaluateModel(await loadTrainedModel('shapes'), resumedSettings)) as unknown as Record<string, unknown>;
    for (const key of scores) assert.equal(resumed.result[key], fresh[key], key);
    // Shards the first submitter queued were computed once, whichever submitter was waiting for them.
    assert.ok(computedShards() - before <= 3);

    const files = artefactFiles(results);
    const corrupt = join(results, files[1]!);
    const bytes = readFileSync(corrupt);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(corrupt, bytes);
    const warnings: string[] = [];
    const again = await runSharded<Record<string, unknown>>('eval', resumedSettings, { results, executor, warn: (m) => warnings.push(m) });
    assert.equal(again.recomputed, 1);
    assert.equal(again.reused, 2);
    assert.ok(warnings.some((w) => /does not match the sha256 in its header/.test(w)), warnings.join('\n'));
    for (const key of scores) assert.equal(again.result[key], fresh[key], key);
  } finally {
    await executor.close();
  }
});

test('a worker whose settings resolve to another hash refuses the shard', { skip }, async () => {
  const model = join(scratch, 'swapped', 'teacher');
  await tinyTeacher(join(scratch, 'swapped'), 3);
  const other = await tinyTeacher(join(scratch, 'other'), 4);
  const queue = new QueueExecutor({ url: redis.url, pollMs: 100, attempts: 1 });
  // The model changes between the submitter resolving the settings and the workers loading them.
  const swapping: Executor = { description: 'swapping', run: async (tasks, events) => { cpSync(other, model, { recursive: true }); return queue.run(tasks, events); }, close: () => queue.close() };
  try {
    const pointSettings: SamplingSettings = { model: join(model, 'checkpoint'), sampler: 'euler', steps: 2, n: 8, seed: 0, batch: 4, guidance: 1, shardSize: 8 };
    assert.ok(existsSync(join(model, 'checkpoint', 'checkpoint.json')));
    await assert.rejects(runSharded('eval', pointSettings, { results: join(scratch, 'refused'), executor: swapping }), /refused/);
  } finally {
    await swapping.close();
  }
});
