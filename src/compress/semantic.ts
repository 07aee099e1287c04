// The frozen network of semantic-aware supervision: the student's and the teacher's predicted x0 are
// compared in its feature space. Either network the project trains serves: the self-supervised snippet
// encoder of the memory bank (its L2-normalised snippet), or a feature network (its pooled features).
// The default is the encoder, because the feature network that ships for a dataset is the one FD and
// class accuracy are measured with: a student trained against it would be graded on its own homework.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import type { Tensor } from '../engine/graph.js';
import { type HostTensor, type ParamTree, sameShape } from '../engine/host-tensor.js';
import { type FeatureNet, featureNetForward, loadFeatureNet } from '../eval/feature-net.js';
import { type SnippetEncoder, encoderForward, l2Normalize, loadEncoder, shippedEncoderDir } from '../gmem/encoder.js';
import type { ModuleContext } from '../models/module-context.js';
import { shippedModelsDir } from '../paths.js';
import { CompressError } from './assemble.js';

export interface SemanticNetwork {
  readonly kind: 'snippet-encoder' | 'feature-net';
  readonly params: ParamTree;
  /** Width of one image's features. */
  readonly width: number;
  /** [channels, height, width] of the images it reads. */
  readonly imageShape: readonly number[];
  /** Traced: features [B, width] of images x. */
  forward(ctx: ModuleContext, x: Tensor): Tensor;
  /** The same features of host images, row-major. */
  features(images: HostTensor<'float32'>): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** A snippet encoder as the semantic network: the L2-normalised snippet, as GMem uses it. */
export function semanticEncoder(encoder: SnippetEncoder): SemanticNetwork {
  const width = encoder.snippetDim;
  return {
    kind: 'snippet-encoder',
    params: encoder.params,
    width,
    imageShape: encoder.config.imageShape,
    forward: (ctx, x) => l2Normalize(encoderForward(ctx, encoder.config, x).snippet),
    async features(images) {
      const { snippets } = await encoder.encode(images);
      for (let row = 0; row < snippets.length; row += width) {
        let sum = 0;
        for (let i = row; i < row + width; i++) sum += snippets[i]! * snippets[i]!;
        const scale = 1 / Math.sqrt(sum + 1e-8); // l2Normalize's epsilon
        for (let i = row; i < row + width; i++) snippets[i]! *= scale;
      }
      return snippets;
    },
    dispose: () => encoder.dispose(),
  };
}

/** A feature network as the semantic network: its pooled features. */
export function semanticFeatureNet(net: FeatureNet): SemanticNetwork {
  return {
    kind: 'feature-net',
    params: net.params,
    width: net.config.featureDim,
    imageShape: net.config.imageShape,
    forward: (ctx, x) => featureNetForward(ctx, net.config, x).features,
    features: async (images) => Float32Array.from((await net.features(images)).features),
    dispose: () => net.dispose(),
  };
}

/** Loads a snippet encoder or a feature network, by shipped name (models/NAME) or path, from what its checkpoint says it is. */
export async function loadSemanticNetwork(nameOrPath: string): Promise<SemanticNetwork> {
  const dir = [join(shippedModelsDir(), nameOrPath), join(nameOrPath, 'checkpoint'), nameOrPath].find((d) => existsSync(join(d, 'checkpoint.json')));
  if (!dir) throw new CompressError(`--features: no network '${nameOrPath}': neither a shipped model (models/${nameOrPath}) nor a directory holding checkpoint.json`);
  let arch: unknown;
  try {
    arch = (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { config?: { model?: { arch?: unknown } } }).config?.model?.arch;
  } catch (error) {
    throw new CompressError(`--features: ${join(dir, 'checkpoint.json')} is not JSON: ${(error as Error).message}`);
  }
  if (arch === 'ssl-encoder') return semanticEncoder(await loadEncoder(dir));
  if (arch === 'feature-net') return semanticFeatureNet(await loadFeatureNet(dir));
  throw new CompressError(`--features: ${dir} holds a ${JSON.stringify(arch)} model; the semantic loss needs a snippet encoder (hasten gmem train-encoder) or a feature network`);
}

/** The network of the semantic loss: the one named, else the snippet encoder shipped for the data. */
export async function semanticNetworkFor(dataset: Pick<Dataset, 'name' | 'shape'>, nameOrPath?: string): Promise<SemanticNetwork> {
  const dir = nameOrPath ?? shippedEncoderDir(dataset);
  if (!dir) throw new CompressError(`no snippet encoder ships for ${dataset.name}: pass --features NAME|PATH (a snippet encoder or a feature network) for the semantic loss`);
  const network = await loadSemanticNetwork(dir);
  if (!sameShape(network.imageShape, dataset.shape)) {
    await network.dispose();
    throw new CompressError(`--features: the ${network.kind} '${dir}' reads images [${network.imageShape.join(', ')}], the teacher's data ${dataset.name} is [${dataset.shape.join(', ')}]`);
  }
  return network;
}
