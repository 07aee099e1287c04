// A tiny trained encoder for the memory-bank tests: 8x8 shapes, snippets of 6.
import { type SnippetEncoder, trainEncoder } from '../../src/gmem/encoder.js';

export async function tinyEncoder(out: string, snippetDim = 6, resolution = 8): Promise<SnippetEncoder> {
  const { encoder } = await trainEncoder({
    data: 'shapes', resolution, out,
    architecture: { stageWidths: [4, 8], groups: 2, snippetDim, projectorHidden: 8, projectionDim: 4 },
    settings: { steps: 2, batch: 8, warmup: 1 },
  });
  return encoder;
}
