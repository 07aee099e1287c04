import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RunFolderError, checkResumedSettings, prepareRunFolder } from '../../src/engine/run-folder.js';

const scratch = mkdtempSync(join(tmpdir(), 'hasten-run-folder-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const folder = (name: string) => ({ dir: join(scratch, name), what: 'a training run', files: ['checkpoint', 'log.jsonl'] });

test('prepareRunFolder: a new or empty folder starts fresh; one holding a run needs resume or overwrite, and nothing is replaced without overwrite', () => {
  assert.deepEqual(prepareRunFolder(folder('new'), {}), { resuming: false });
  const run = folder('run');
  mkdirSync(join(run.dir, 'checkpoint'), { recursive: true });
  writeFileSync(join(run.dir, 'checkpoint', 'checkpoint.json'), 'saved');
  writeFileSync(join(run.dir, 'log.jsonl'), 'logged');
  writeFileSync(join(run.dir, 'notes.txt'), 'mine');
  assert.throws(() => prepareRunFolder(run, {}), (error: Error) => {
    assert.ok(error instanceof RunFolderError);
    assert.equal(error.message, `${run.dir} already holds a training run (checkpoint): continue it with --resume, or replace it with --overwrite`);
    return true;
  });
  assert.equal(readFileSync(join(run.dir, 'checkpoint', 'checkpoint.json'), 'utf8'), 'saved');
  assert.deepEqual(prepareRunFolder(run, { resume: true }), { resuming: true });
  assert.throws(() => prepareRunFolder(run, { resume: true, overwrite: true }), /--resume and --overwrite exclude each other/);
  assert.deepEqual(prepareRunFolder(run, { overwrite: true }), { resuming: false });
  assert.ok(!existsSync(join(run.dir, 'checkpoint')) && !existsSync(join(run.dir, 'log.jsonl')), 'the old run is gone');
  assert.equal(readFileSync(join(run.dir, 'notes.txt'), 'utf8'), 'mine', "files that are not the run's stay");
  assert.throws(() => prepareRunFolder(run, { resume: true }), new RegExp(`${run.dir} holds no training run to resume`));
  const oneShot = { ...folder('features'), what: 'a feature network', files: ['checkpoint.json'], resumable: false };
  mkdirSync(oneShot.dir);
  writeFileSync(join(oneShot.dir, 'checkpoint.json'), '{}');
  assert.throws(() => prepareRunFolder(oneShot, {}), /already holds a feature network \(checkpoint\.json\): replace it with --overwrite, or choose another folder/);
  assert.throws(() => prepareRunFolder(oneShot, { resume: true }), /a feature network cannot be resumed/);
});

test('checkResumedSettings: only the settings resuming may change may differ, and the error names each difference', () => {
  const saved = { lr: 0.001, batch: 64, steps: 400, model: { width: 32 }, checkpointEvery: 100 };
  const mayChange = ['steps', 'checkpointEvery'];
  checkResumedSettings('runs/a', saved, { ...saved, steps: 800, checkpointEvery: 50 }, mayChange);
  assert.throws(() => checkResumedSettings('runs/a', saved, { ...saved, lr: 0.002, model: { width: 64 } }, mayChange), (error: Error) => {
    assert.ok(error instanceof RunFolderError);
    assert.equal(error.message, 'runs/a: resuming with settings that differ from the saved run\'s: lr 0.002 (saved 0.001), model {"width":64} (saved {"width":32}). '
      + 'Resuming may change only steps, checkpointEvery; to change the others start a new run (another folder, or --overwrite)');
    return true;
  });
});
