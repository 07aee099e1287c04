// `hasten gmem bank`: builds a memory bank (one snippet per image of a dataset, from a frozen encoder),
// or derives one from an existing bank: k-means or SVD compression, exact snippets of image files, an
// interpolation between two entries.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { plural } from '../plural.js';
import { defineCommand } from '../command.js';
import { flag, int, json, list, num, text, UsageError } from '../options.js';
import { Progress } from '../progress.js';
import { openDataset } from '../../data/registry.js';
import { BANK_BATCH, type MemoryBank, buildBank, claimBankFolder, compressKMeans, compressSvd, loadBank, saveBank } from '../../gmem/bank.js';
import { type SnippetEncoder, loadEncoder } from '../../gmem/encoder.js';
import { snippetOfFile } from '../../gmem/snippet-of-file.js';
import { shippedModelsDir } from '../../paths.js';
import { type BankJobSettings, DEFAULT_BANK_SHARD_SIZE } from '../../scale/jobs/bank.js';
import { isSharded, runShardedCommand, scaleOptions, shardSizeFor } from '../scale.js';

export const gmemBankCommand = defineCommand({
  path: ['gmem', 'bank'],
  summary: 'build a memory bank of encoder snippets from a dataset, or compress / extend one',
  options: {
    encoder: text({ placeholder: 'NAME|PATH', description: "snippet encoder: a shipped one (models/NAME) or a saved one (a train-encoder run's encoder/); needed to encode a dataset or --add files" }),
    data: text({ placeholder: 'NAME', description: 'image dataset to encode: shapes, folder:PATH, ...' }),
    n: int({ placeholder: 'N', min: 1, description: 'images to encode (default: all of a folder)' }),
    start: int({ placeholder: 'K', min: 0, default: 0, description: 'first stream position' }),
    seed: int({ placeholder: 'S', min: 0, default: 0, description: 'dataset seed' }),
    resolution: int({ placeholder: 'R', min: 8, description: "image side (default: the encoder's)" }),
    batch: int({ placeholder: 'B', min: 1, default: BANK_BATCH, description: 'images per encoder call' }),
    mirrored: flag({ description: "also store each image's mirror-image snippet (training with flips needs them)" }),
    from: text({ placeholder: 'DIR', description: 'derive from this bank instead of encoding a dataset' }),
    kmeans: int({ placeholder: 'K', min: 1, description: 'compress to K k-means centroids (frequencies: cluster sizes)' }),
    'kmeans-iterations': int({ placeholder: 'N', min: 1, default: 20, description: 'Lloyd iterations of --kmeans' }),
    svd: int({ placeholder: 'R', min: 1, description: 'compress to a mean-centred rank-R factorisation' }),
    add: list('text', { placeholder: 'FILE,...', description: 'append the exact snippets of these image files' }),
    interpolate: list('int', { placeholder: 'A,B', min: 0, description: 'append the interpolation between entries A and B' }),
    t: num({ placeholder: 'T', min: 0, max: 1, default: 0.5, description: 'weight of B in --interpolate' }),
    out: text({ placeholder: 'DIR', required: true, description: 'bank directory to write (bank.safetensors + bank.json)' }),
    overwrite: flag({ description: 'replace the bank DIR holds (it may be the --from bank)' }),
    ...scaleOptions,
    'shard-size': int({ placeholder: 'N', min: 1, description: `images per shard with --workers or --queue, a multiple of --batch (default: ${DEFAULT_BANK_SHARD_SIZE} rounded up to whole batches)` }),
    json: json(),
  },
  details: 'Example: hasten gmem bank --encoder encoder-shapes --data shapes --n 20000 --mirrored --out runs/bank-shapes\nWith --workers N or --queue URL the images are encoded in shards (docs/scale.md); the bank equals a one-process build bit for bit.',
  async run(values) {
    if ((values.from === undefined) === (values.data === undefined)) throw new UsageError('give exactly one of --data NAME (encode a dataset) and --from DIR (derive from a bank)');
    if (values.interpolate && values.interpolate.length !== 2) throw new UsageError(`--interpolate expects two entries A,B, got ${values.interpolate.length}`);
    const needsEncoder = values.data !== undefined || values.add !== undefined;
    if (needsEncoder && values.encoder === undefined) throw new UsageError('--encoder NAME|PATH is required to encode images');
    claimBankFolder(values.out, { overwrite: values.overwrite });
    const encoder: SnippetEncoder | undefined = needsEncoder ? await loadEncoder(values.encoder!) : undefined;
    const figures: Record<string, unknown> = { out: values.out };
    try {
      let bank: MemoryBank;
      if (values.data !== undefined) {
        const dataset = openDataset(values.data, { resolution: values.resolution ?? encoder!.config.imageShape[1] });
        const count = values.n ?? dataset.size;
        if (count === undefined) throw new UsageError(`--n N is required for '${values.data}', which has no end`);
        const started = performance.now();
        if (isSharded(values)) {
          const settings: BankJobSettings = {
            encoder: existsSync(join(shippedModelsDir(), values.encoder!)) ? values.encoder! : resolve(values.encoder!), // as every worker finds it
            encoderName: values.encoder!,
            data: values.data.startsWith('folder:') ? `folder:${resolve(values.data.slice('folder:'.length))}` : values.data,
            dataName: values.data,
            resolution: dataset.shape[1]!, seed: values.seed, start: values.start, count, mirrored: values.mirrored, batch: values.batch,
            shardSize: shardSizeFor(values['shard-size'], Math.min(values.batch, count), DEFAULT_BANK_SHARD_SIZE),
          };
          bank = (await runShardedCommand<MemoryBank>('bank', settings, values, 'gmem bank')).result;
        } else {
          const progress = values.json ? undefined : new Progress({ label: 'gmem bank', total: count, unit: 'img' });
          try {
            bank = await buildBank(encoder!, dataset, { encoderName: values.encoder!, count, mirrored: values.mirrored, start: values.start, seed: values.seed, batch: values.batch, onProgress: (done) => progress?.update(done) });
          } finally {
            progress?.finish();
          }
        }
        const seconds = (performance.now() - started) / 1000;
        Object.assign(figures, { images: count, seconds, images_per_second: count / seconds, snippets_per_second: (count * (values.mirrored ? 2 : 1)) / seconds });
      } else {
        bank = await loadBank(values.from!);
      }
      for (const file of values.add ?? []) bank = bank.withSnippet(await snippetOfFile(encoder!, file), file);
      if (values.interpolate) bank = bank.withInterpolation(values.interpolate[0]!, values.interpolate[1]!, values.t);
      if (values.kmeans !== undefined) bank = compressKMeans(bank, values.kmeans, { iterations: values['kmeans-iterations'] });
      if (values.svd !== undefined) bank = compressSvd(bank, values.svd);
      await saveBank(values.out, bank);
      Object.assign(figures, { entries: bank.size, dim: bank.dim, compression: bank.metadata.compression });
    } finally {
      await encoder?.dispose();
    }
    if (values.json) console.log(JSON.stringify(figures, null, 2));
    else console.log(`bank of ${plural(Number(figures.entries), 'snippet')} of ${String(figures.dim)} written to ${values.out}${figures.images_per_second ? ` (${Number(figures.images_per_second).toFixed(0)} images/s)` : ''}`);
  },
});
