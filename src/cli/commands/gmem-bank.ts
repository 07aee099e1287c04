// `hasten gmem bank`: builds a memory bank (one snippet per image of a dataset, from a frozen encoder),
// or derives one from an existing bank: k-means or SVD compression, an exact snippet of an image
// file, an interpolation between two entries.

import { readFileSync } from 'node:fs';
import { type Command, parseList, parseNumber, UsageError } from '../command.js';
import { Progress } from '../progress.js';
import { DatasetError } from '../../data/dataset.js';
import { decodeImage } from '../../data/image-io.js';
import { openDataset } from '../../data/registry.js';
import { centreSquareTensor } from '../../data/resample.js';
import { BankError, type MemoryBank, buildBank, compressKMeans, compressSvd, loadBank, saveBank } from '../../gmem/bank.js';
import { type SnippetEncoder, loadEncoder } from '../../gmem/encoder.js';

/** The raw snippet of an image file, read at the encoder's resolution. */
export async function snippetOfFile(encoder: SnippetEncoder, file: string): Promise<Float32Array> {
  let pixels: Float32Array;
  try {
    pixels = centreSquareTensor(decodeImage(readFileSync(file)), encoder.config.imageShape[1]!);
  } catch (error) {
    throw new UsageError(`cannot read image '${file}': ${(error as Error).message}`);
  }
  return (await encoder.encode({ dtype: 'float32', shape: [1, ...encoder.config.imageShape], data: pixels })).snippets;
}

export const gmemBankCommand: Command = {
  path: ['gmem', 'bank'],
  summary: 'build a memory bank of encoder snippets from a dataset, or compress / extend one',
  options: {
    encoder: { type: 'string', placeholder: 'NAME|PATH', description: 'snippet encoder: a shipped one (encoder-shapes) or a saved one', default: 'encoder-shapes' },
    data: { type: 'string', placeholder: 'NAME', description: 'image dataset: shapes, folder:PATH, ...' },
    n: { type: 'string', placeholder: 'N', description: 'images to encode (default: all of a folder)' },
    start: { type: 'string', placeholder: 'K', description: 'first stream position', default: '0' },
    seed: { type: 'string', placeholder: 'S', description: 'dataset seed', default: '0' },
    resolution: { type: 'string', placeholder: 'R', description: "image side (default: the encoder's)" },
    mirrored: { type: 'boolean', description: "also store each image's mirror-image snippet (needed to train with flips)" },
    from: { type: 'string', placeholder: 'DIR', description: 'start from this bank instead of encoding a dataset' },
    kmeans: { type: 'string', placeholder: 'K', description: 'compress to K k-means centroids (frequencies: cluster sizes)' },
    'kmeans-iterations': { type: 'string', placeholder: 'N', description: 'Lloyd iterations of --kmeans', default: '20' },
    svd: { type: 'string', placeholder: 'R', description: 'compress to a mean-centred rank-R factorisation' },
    add: { type: 'string', placeholder: 'FILES', description: 'append the exact snippets of these image files (comma separated)' },
    interpolate: { type: 'string', placeholder: 'A,B', description: 'append the interpolation between entries A and B' },
    t: { type: 'string', placeholder: 'T', description: 'weight of B in --interpolate', default: '0.5' },
    out: { type: 'string', placeholder: 'DIR', description: 'bank directory to write (bank.safetensors + bank.json)' },
    json: { type: 'boolean', description: 'print one JSON object with the figures' },
  },
  details: 'Example: hasten gmem bank --encoder encoder-shapes --data shapes --n 50000 --mirrored --out runs/bank-shapes',
  async run(values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (typeof values.out !== 'string') throw new UsageError('--out DIR is required');
    if ((typeof values.from === 'string') === (typeof values.data === 'string')) throw new UsageError('give exactly one of --data NAME (encode a dataset) and --from DIR (derive from a bank)');
    let encoder: SnippetEncoder | undefined;
    const needsEncoder = typeof values.data === 'string' || typeof values.add === 'string';
    try {
      encoder = needsEncoder ? await loadEncoder(String(values.encoder)) : undefined;
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const figures: Record<string, unknown> = { out: values.out };
    try {
      let bank: MemoryBank;
      if (typeof values.data === 'string') {
        let dataset;
        try {
          dataset = openDataset(values.data, { resolution: parseNumber('resolution', values.resolution, { integer: true, min: 1 }) ?? encoder!.config.imageShape[1] });
        } catch (error) {
          if (error instanceof DatasetError) throw new UsageError(error.message);
          throw error;
        }
        const count = parseNumber('n', values.n, { integer: true, min: 1 }) ?? dataset.size;
        if (count === undefined) throw new UsageError(`--n N is required for '${values.data}', which has no end`);
        const progress = new Progress({ label: 'gmem bank', total: count, unit: 'img' });
        const started = performance.now();
        bank = await buildBank(encoder!, dataset, {
          encoderName: String(values.encoder), count, mirrored: Boolean(values.mirrored),
          start: parseNumber('start', values.start, { integer: true, min: 0 })!, seed: parseNumber('seed', values.seed, { integer: true, min: 0 })!,
          onProgress: (done) => progress.update(done),
        });
        progress.finish();
        const seconds = (performance.now() - started) / 1000;
        Object.assign(figures, { images: count, seconds, images_per_second: count / seconds, snippets_per_second: (count * (values.mirrored ? 2 : 1)) / seconds });
      } else {
        bank = await loadBank(String(values.from));
      }
      for (const file of parseList(values.add) ?? []) bank = bank.withSnippet(await snippetOfFile(encoder!, file), file);
      const pair = parseList(values.interpolate);
      if (pair) {
        if (pair.length !== 2) throw new UsageError(`--interpolate expects two entries A,B, got '${String(values.interpolate)}'`);
        const [a, b] = pair.map((item) => parseNumber('interpolate', item, { integer: true, min: 0 })!);
        bank = bank.withInterpolation(a!, b!, parseNumber('t', values.t, { min: 0 })!);
      }
      const k = parseNumber('kmeans', values.kmeans, { integer: true, min: 1 });
      if (k !== undefined) bank = compressKMeans(bank, k, { iterations: parseNumber('kmeans-iterations', values['kmeans-iterations'], { integer: true, min: 1 })! });
      const rank = parseNumber('svd', values.svd, { integer: true, min: 1 });
      if (rank !== undefined) bank = compressSvd(bank, rank);
      await saveBank(values.out, bank);
      Object.assign(figures, { entries: bank.size, dim: bank.dim, compression: bank.metadata.compression });
    } catch (error) {
      if (error instanceof BankError) throw new UsageError(error.message);
      throw error;
    } finally {
      await encoder?.dispose();
    }
    if (values.json) console.log(JSON.stringify(figures, null, 2));
    else console.log(`bank of ${String(figures.entries)} snippets of ${String(figures.dim)} written to ${values.out}${figures.images_per_second ? ` (${Number(figures.images_per_second).toFixed(0)} images/s)` : ''}`);
  },
};
