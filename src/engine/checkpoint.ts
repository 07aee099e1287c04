// A checkpoint is two files side by side: `<stem>.safetensors` holding the parameters (and any extra
// tensors such as optimizer moments or an EMA copy) and `<stem>.json` holding the model config and the
// training step. Each file is written atomically; a shared save id in both detects a pair torn by a
// crash between the two writes. The format itself, apart from files: checkpoint-format.ts.

import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { unreadableFile } from './checkpoint-error.js';
import {
  CONFIG_FORMAT, CONFIG_VERSION, type CheckpointContents, type CheckpointFiles, type CheckpointHeader, type LoadedCheckpoint, SAVE_ID_METADATA,
  assembleCheckpoint, parseCheckpointConfig,
} from './checkpoint-format.js';
import type { HostTensor } from './host-tensor.js';
import { encodeSafetensors } from './safetensors.js';
import { loadSafetensors } from './safetensors-file.js';
import { CHECKPOINT_EXTRA_PREFIX } from './state-names.js';

export { CheckpointError } from './checkpoint-error.js';

const DEFAULT_STEM = 'checkpoint';

/**
 * The two files of a checkpoint. `location` ending in `.safetensors` or `.json` names either file of
 * the pair (its stem is kept); any other location is a directory holding `checkpoint.safetensors` and
 * `checkpoint.json`.
 */
export function checkpointFiles(location: string): CheckpointFiles {
  const stemMatch = /^(.*)\.(safetensors|json)$/.exec(location);
  const stem = stemMatch ? stemMatch[1] : join(location, DEFAULT_STEM);
  return { weights: `${stem}.safetensors`, config: `${stem}.json` };
}

/**
 * Saves a checkpoint (see checkpointFiles for `location`), creating its directory if needed.
 * The tensors are serialised before the first await, so the caller may keep updating them at once.
 */
export async function saveCheckpoint(location: string, contents: CheckpointContents): Promise<CheckpointFiles> {
  const files = checkpointFiles(location);
  if (Array.isArray(contents.config)) throw new Error('saveCheckpoint: config must be a JSON object, not an array');
  if (contents.step !== undefined && !(Number.isSafeInteger(contents.step) && contents.step >= 0)) {
    throw new RangeError(`saveCheckpoint: step must be a non-negative integer, got ${contents.step}`);
  }
  const tensors = new Map<string, HostTensor>();
  for (const [name, tensor] of contents.params) {
    if (name.startsWith(CHECKPOINT_EXTRA_PREFIX)) throw new Error(`saveCheckpoint: parameter name '${name}' may not start with '${CHECKPOINT_EXTRA_PREFIX}'`);
    if (tensor.dtype !== 'float32') throw new Error(`saveCheckpoint: parameter '${name}' is ${tensor.dtype}, expected float32`);
    tensors.set(name, tensor);
  }
  for (const [name, tensor] of contents.extra ?? []) tensors.set(CHECKPOINT_EXTRA_PREFIX + name, tensor);
  const saveId = randomUUID();
  const weights = encodeSafetensors(tensors, { [SAVE_ID_METADATA]: saveId });
  const configJson = JSON.stringify(
    { format: CONFIG_FORMAT, version: CONFIG_VERSION, save_id: saveId, step: contents.step ?? null, config: contents.config },
    null,
    2,
  );

  await mkdir(dirname(files.weights), { recursive: true });
  // Weights first: a crash before the config is written leaves the old config, whose save id no longer matches.
  await writeFileAtomic(files.weights, weights);
  await writeFileAtomic(files.config, `${configJson}\n`);
  return files;
}

async function readConfigFile(path: string): Promise<CheckpointHeader> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadableFile(path, error, 'read');
  }
  return parseCheckpointConfig(text, path);
}

/** Loads a checkpoint written by saveCheckpoint. Every failure is a CheckpointError naming the file at fault. */
export async function loadCheckpoint(location: string): Promise<LoadedCheckpoint> {
  const files = checkpointFiles(location);
  return assembleCheckpoint(await readConfigFile(files.config), await loadSafetensors(files.weights), files);
}
