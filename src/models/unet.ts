// An EDM-style U-Net (the ADM / "DhariwalUNet" layout, small): an input conv and residual blocks
// per level form the encoder, each emitting a skip tensor; a middle pair of blocks; a decoder whose
// every block takes concat([h, skip]) into a residual block with a 1x1 conv shortcut on the
// concatenation. Blocks at chosen resolutions add a transformer layer with addressable units.
//
// Module paths, in execution order (level l has resolution = resolution / 2^l):
//   text, emb                           conditioning (text only with captions)
//   enc.0.conv                          input conv                       -> skip 0
//   enc.<l>.down  (l > 0)               downsampling residual block      -> a skip
//   enc.<l>.<i>   (i < blocksPerLevel)  residual block [+ attention]     -> a skip
//   mid                                 the middle: blocks mid.0 (with attention when middleAttention), mid.1
//   dec.<l>.up    (l < last level)      upsampling residual block
//   dec.<l>.<i>   (i <= blocksPerLevel) concat with a skip -> residual block [+ attention]
//   out                                 GroupNorm -> SiLU -> conv
// Inside a block: `res` (layer) and `attn` (layer) with units `attn.self`, `attn.cross` (with
// captions) and `attn.mlp`.
//
// Removal (a compressed student, A-SDM / BK-SDM): 'removedModules' lists module paths that the
// network leaves out. A block or 'mid' is bypassed (its output is its input; a decoder block's skip
// then goes unused), a 'res' layer keeps only its shortcut (the residual branch is dropped), an
// 'attn' layer is dropped. removableModules() lists what a config allows; kept parameters keep the
// full model's names, so a student starts from its teacher's weights by name.
//
// Capacity without cost (A-SDM): 'condConvLayers' lists 'res' layers whose two 3x3 convolutions are
// multi-expert conditional convolutions (cond-conv.ts); 'attention': 'gri' swaps every self-attention
// for global-regional attention (gri-attention.ts) with the same projections.
//
// Skip order: skip i is the i-th encoder output, so index 0 is the outermost (the input conv, full
// resolution) and the last index the innermost (the deepest encoder block). The decoder consumes
// them innermost first. UNet.skips() lists each skip's source, consumer, level, resolution and channels.

import type { Tensor } from '../engine/graph.js';
import * as F from '../engine/ops/index.js';
import { CONDITIONING_DEFAULTS, type ConditioningConfig, embedConditioning, validateConditioning } from './embeddings.js';
import { COND_CONV_DEFAULTS, type CondConvConfig, condConv, validateCondConv } from './cond-conv.js';
import { ATTENTION_DEFAULTS, type AttentionConfig, attendFor, validateAttention } from './gri-attention.js';
import { type Conditioning, type ConditioningInputs, type EncoderFeatures, type ForwardOptions, TracedEncoderDecoderNet, checkForwardOptions } from './network.js';
import { ModelConfigError, requireInteger } from './config-checks.js';
import { type ModuleRole, namedModule } from './declarations.js';
import { type Convolve, conv, groupNorm, matchBatch } from './layers.js';
import { resBlock } from './res-block.js';
import { spatialTransformer } from './transformer.js';
import type { ModuleContext } from './module-context.js';
import { type LongSkips, SKIP_SCALE, type SkipInfo } from './capabilities.js';

export interface UNetConfig extends ConditioningConfig, CondConvConfig, AttentionConfig {
  arch: 'unet';
  resolution: number;
  inChannels: number;
  outChannels: number;
  baseChannels: number;
  channelMultipliers: number[];
  blocksPerLevel: number;
  attentionResolutions: number[];
  middleAttention: boolean;
  attentionHeadChannels: number;
  attentionMlpRatio: number;
  groupNormGroups: number;
  embeddingWidth: number;
  removedModules: string[];
  condConvLayers: string[];
}

export const UNET_DEFAULTS: UNetConfig = {
  arch: 'unet',
  resolution: 32, // side of the (square) input in pixels
  inChannels: 3, // channels of x
  outChannels: 3, // channels of the output
  baseChannels: 32, // channels of the first level; level l has baseChannels * channelMultipliers[l]
  channelMultipliers: [1, 2, 2], // one entry per level; the resolution halves from one level to the next
  blocksPerLevel: 2, // residual blocks per encoder level (the decoder has one more per level)
  attentionResolutions: [8], // resolutions (sides in pixels) whose blocks get a transformer layer
  middleAttention: true, // transformer layer in the first middle block, as ADM
  attentionHeadChannels: 32, // channels per attention head
  attentionMlpRatio: 2, // hidden width of a transformer layer's MLP unit, as a multiple of the channels
  groupNormGroups: 8, // groups of every GroupNorm
  embeddingWidth: 128, // width of the conditioning embedding
  removedModules: [], // module paths left out (a compressed student); see UNet.removableModules()
  condConvLayers: [], // 'res' layer paths whose 3x3 convolutions are conditional convolutions (ME-CondConv)
  ...COND_CONV_DEFAULTS,
  ...ATTENTION_DEFAULTS,
  ...CONDITIONING_DEFAULTS,
};

/** A module a student may leave out: `bypass` passes its input through, `branch` keeps a residual layer's shortcut only, `drop` removes a transformer layer. */
export interface RemovableModule {
  path: string;
  kind: 'stage' | 'block' | 'layer';
  how: 'bypass' | 'branch' | 'drop';
}

interface BlockPlan {
  /** Module name, relative to `mid` for the middle blocks. */
  name: string;
  level: number;
  resolution: number;
  outChannels: number;
  attention: boolean;
  resample?: 'down' | 'up';
}

interface Layout {
  stem: BlockPlan;
  /** Encoder blocks after the stem, in order; every one emits a skip. */
  encoder: BlockPlan[];
  middle: BlockPlan[];
  /** Decoder blocks in order; `skip` is the index of the skip a block concatenates. */
  decoder: (BlockPlan & { skip?: number })[];
}

function layoutOf(config: UNetConfig): Layout {
  const { resolution, baseChannels, channelMultipliers, blocksPerLevel, attentionResolutions } = config;
  const levels = channelMultipliers.length;
  const at = (level: number): { level: number; resolution: number; attention: boolean } => {
    const side = resolution >> level;
    return { level, resolution: side, attention: attentionResolutions.includes(side) };
  };
  const channelsAt = (level: number): number => baseChannels * channelMultipliers[level]!;
  const stem: BlockPlan = { name: 'enc.0.conv', ...at(0), attention: false, outChannels: channelsAt(0) };
  const encoder: BlockPlan[] = [];
  for (let level = 0; level < levels; level++) {
    if (level > 0) encoder.push({ name: `enc.${level}.down`, ...at(level), attention: false, outChannels: channelsAt(level - 1), resample: 'down' });
    for (let i = 0; i < blocksPerLevel; i++) encoder.push({ name: `enc.${level}.${i}`, ...at(level), outChannels: channelsAt(level) });
  }
  const deepest = at(levels - 1);
  const middle: BlockPlan[] = [
    { name: '0', ...deepest, attention: config.middleAttention, outChannels: channelsAt(levels - 1) },
    { name: '1', ...deepest, attention: false, outChannels: channelsAt(levels - 1) },
  ];
  const decoder: Layout['decoder'] = [];
  let skip = encoder.length; // the stem's skip is index 0, so the encoder blocks are 1..encoder.length
  for (let level = levels - 1; level >= 0; level--) {
    if (level < levels - 1) decoder.push({ name: `dec.${level}.up`, ...at(level), attention: false, outChannels: channelsAt(level + 1), resample: 'up' });
    for (let i = 0; i <= blocksPerLevel; i++) decoder.push({ name: `dec.${level}.${i}`, ...at(level), outChannels: channelsAt(level), skip: skip-- });
  }
  return { stem, encoder, middle, decoder };
}

/** What a config may remove, in execution order. A block is bypassed only where its input has its output's shape. */
function removablesOf(layout: Layout): RemovableModule[] {
  const found: RemovableModule[] = [];
  let channels = layout.stem.outChannels;
  const visit = (plan: BlockPlan & { skip?: number }, path: string): void => {
    const sameShape = channels === plan.outChannels && plan.resample === undefined;
    if (sameShape) found.push({ path, kind: 'block', how: 'bypass' });
    // Without attention and with an identity shortcut (no skip concatenated), dropping the branch is the bypass itself.
    if (plan.attention || !sameShape || plan.skip !== undefined) found.push({ path: `${path}.res`, kind: 'layer', how: 'branch' });
    if (plan.attention) found.push({ path: `${path}.attn`, kind: 'layer', how: 'drop' });
    channels = plan.outChannels;
  };
  for (const plan of layout.encoder) visit(plan, plan.name);
  found.push({ path: 'mid', kind: 'stage', how: 'bypass' });
  for (const plan of layout.middle) visit(plan, `mid.${plan.name}`);
  for (const plan of layout.decoder) visit(plan, plan.name);
  return found;
}

function validateRemovals(config: UNetConfig, layout: Layout): void {
  const removable = new Map(removablesOf(layout).map((m) => [m.path, m]));
  const removed = config.removedModules;
  for (const path of removed) {
    if (typeof path !== 'string' || !removable.has(path)) {
      throw new ModelConfigError(`unet: setting 'removedModules' has ${JSON.stringify(path)}, which this config cannot remove (removable: ${[...removable.keys()].join(', ')})`);
    }
    const outer = removed.find((other) => other !== path && path.startsWith(`${other}.`));
    if (outer) throw new ModelConfigError(`unet: setting 'removedModules' has '${path}' inside '${outer}', which it already removes`);
  }
  const repeated = removed.find((path, i) => removed.indexOf(path) !== i);
  if (repeated) throw new ModelConfigError(`unet: setting 'removedModules' has '${repeated}' twice`);
}

/** Every block's residual layer, in execution order: where a conditional convolution may go. */
function resLayersOf(layout: Layout): string[] {
  return [...layout.encoder.map((p) => p.name), ...layout.middle.map((p) => `mid.${p.name}`), ...layout.decoder.map((p) => p.name)].map((path) => `${path}.res`);
}

function validateCapacity(config: UNetConfig, layout: Layout): void {
  validateCondConv('unet', config);
  validateAttention('unet', config);
  const layers = resLayersOf(layout);
  for (const path of config.condConvLayers) {
    if (!layers.includes(path)) throw new ModelConfigError(`unet: setting 'condConvLayers' has ${JSON.stringify(path)}, which is not a residual layer of this config (layers: ${layers.join(', ')})`);
    const removedBy = config.removedModules.find((removed) => path === removed || path.startsWith(`${removed}.`));
    if (removedBy) throw new ModelConfigError(`unet: setting 'condConvLayers' has '${path}', which 'removedModules' removes ('${removedBy}')`);
  }
  const attended = [...layout.encoder, ...layout.middle, ...layout.decoder].filter((p) => p.attention).map((p) => p.resolution);
  for (const side of new Set(attended)) attendFor('unet', config, [side, side]);
}

function validate(config: UNetConfig): void {
  const fail = (message: string): never => {
    throw new ModelConfigError(`unet: ${message}`);
  };
  for (const key of ['resolution', 'inChannels', 'outChannels', 'baseChannels', 'blocksPerLevel', 'attentionHeadChannels', 'attentionMlpRatio', 'groupNormGroups', 'embeddingWidth'] as const) {
    requireInteger('unet', key, config[key], 1);
  }
  const levels = config.channelMultipliers.length;
  if (levels === 0) fail(`setting 'channelMultipliers' needs at least one level`);
  config.channelMultipliers.forEach((m, level) => {
    if (!Number.isInteger(m) || m < 1) fail(`setting 'channelMultipliers' must hold integers >= 1, got ${m} at level ${level}`);
    const channels = config.baseChannels * m;
    if (channels % config.groupNormGroups !== 0) {
      fail(`level ${level} has ${channels} channels ('baseChannels' ${config.baseChannels} x 'channelMultipliers'[${level}] ${m}), not divisible by 'groupNormGroups' ${config.groupNormGroups}`);
    }
  });
  const downsamplings = 2 ** (levels - 1);
  if (config.resolution % downsamplings !== 0) {
    fail(`setting 'resolution' (${config.resolution}) must be divisible by 2^(levels - 1) = ${downsamplings}, with ${levels} levels from 'channelMultipliers'`);
  }
  const sides = config.channelMultipliers.map((_, level) => config.resolution >> level);
  for (const side of config.attentionResolutions) {
    if (!sides.includes(side)) fail(`setting 'attentionResolutions' has ${side}, which is not a level's resolution (${sides.join(', ')})`);
  }
  if (config.embeddingWidth % 2 !== 0) fail(`setting 'embeddingWidth' must be even, got ${config.embeddingWidth}`);
  const attended = config.channelMultipliers.filter((_, level) => config.attentionResolutions.includes(sides[level]!) || (config.middleAttention && level === levels - 1));
  for (const m of attended) {
    const channels = config.baseChannels * m;
    if (channels % config.attentionHeadChannels !== 0) fail(`attention over ${channels} channels does not divide into heads of 'attentionHeadChannels' ${config.attentionHeadChannels}`);
  }
  validateConditioning('unet', config);
}

export class UNet extends TracedEncoderDecoderNet<UNetConfig> implements LongSkips {
  readonly dataShape: readonly number[];
  protected readonly roles: Readonly<Record<string, ModuleRole>> = { text: 'conditioning', emb: 'conditioning', enc: 'encoder', mid: 'middle', dec: 'decoder', out: 'output' };
  private readonly layout: Layout;
  private readonly removed: ReadonlySet<string>;

  constructor(config: UNetConfig) {
    validate(config);
    const layout = layoutOf(config);
    validateRemovals(config, layout);
    validateCapacity(config, layout);
    super(config);
    this.dataShape = [config.inChannels, config.resolution, config.resolution];
    this.layout = layout;
    this.removed = new Set(config.removedModules);
  }

  /** The modules this config's layout allows to remove (those already removed included), in execution order. */
  removableModules(): RemovableModule[] {
    return removablesOf(this.layout);
  }

  get numSkips(): number {
    return this.layout.encoder.length + 1;
  }

  /** The long skips in index order (0 = outermost). */
  skips(): SkipInfo[] {
    const { stem, encoder, decoder } = this.layout;
    return [stem, ...encoder].map((block, index) => ({
      index,
      source: block.name,
      consumer: decoder.find((d) => d.skip === index)!.name,
      level: block.level,
      resolution: block.resolution,
      channels: block.outChannels,
    }));
  }

  embed(ctx: ModuleContext, inputs: ConditioningInputs): Conditioning {
    return embedConditioning(ctx, 'unet', this.config, this.config.embeddingWidth, inputs);
  }

  /** A residual block, then a transformer layer where the plan puts attention; `path` is the block's, for its removed layers. */
  private block(ctx: ModuleContext, input: Tensor, plan: BlockPlan, conditioning: Conditioning): Tensor {
    const { groupNormGroups, attentionHeadChannels, attentionMlpRatio } = this.config;
    const path = ctx.currentPath;
    const branch = !this.removed.has(`${path}.res`);
    const convolve = this.config.condConvLayers.includes(`${path}.res`) ? this.condConvolve(conditioning) : undefined;
    const h = namedModule(ctx, 'res', 'layer', () => resBlock(ctx, input, { outChannels: plan.outChannels, groups: groupNormGroups, emb: conditioning.emb, resample: plan.resample, branch, convolve }));
    if (!plan.attention || this.removed.has(`${path}.attn`)) return h;
    const attention = attendFor('unet', this.config, [plan.resolution, plan.resolution]);
    const settings = { heads: plan.outChannels / attentionHeadChannels, mlpRatio: attentionMlpRatio, context: conditioning.context, attention };
    return namedModule(ctx, 'attn', 'layer', () => spatialTransformer(ctx, h, settings));
  }

  private condConvolve(conditioning: Conditioning): Convolve {
    const { condConvExperts: experts, condConvForm: form, condConvRoute: route } = this.config;
    const emb = route === 'input+time' ? conditioning.emb : undefined;
    return (ctx, name, x, outChannels, kernel, settings) => condConv(ctx, name, x, outChannels, kernel, { ...settings, experts, form, emb });
  }

  encode(ctx: ModuleContext, x: Tensor, conditioning: Conditioning, options: ForwardOptions = {}): EncoderFeatures {
    checkOptions(options);
    const { stem, encoder, middle } = this.layout;
    let h = namedModule(ctx, stem.name, 'stem', () => conv(ctx, '', x, stem.outChannels, 3));
    const run = (plan: BlockPlan, path: string): Tensor => {
      const input = h;
      if (this.removed.has(path)) return input;
      return namedModule(ctx, plan.name, 'block', () => this.block(ctx, input, plan, conditioning));
    };
    const skips = [h];
    for (const plan of encoder) skips.push((h = run(plan, plan.name)));
    if (this.removed.has('mid')) return { skips, h };
    h = namedModule(ctx, 'mid', 'stage', () => {
      for (const plan of middle) h = run(plan, `mid.${plan.name}`);
      return h;
    });
    return { skips, h };
  }

  decode(ctx: ModuleContext, features: EncoderFeatures, conditioning: Conditioning, options: ForwardOptions = {}): Tensor {
    checkOptions(options);
    if (features.skips.length !== this.numSkips) throw new Error(`unet: decode needs ${this.numSkips} skips, got ${features.skips.length}`);
    const batch = conditioning.emb.shape[0]!;
    const skipFactor = this.skipFactors(options[SKIP_SCALE] as Tensor | undefined, batch);
    let h = matchBatch('unet decode', features.h, batch);
    for (const plan of this.layout.decoder) {
      const input = h;
      const index = plan.skip;
      if (this.removed.has(plan.name)) continue;
      h = namedModule(ctx, plan.name, 'block', () => {
        if (index === undefined) return this.block(ctx, input, plan, conditioning);
        const skip = matchBatch('unet decode', features.skips[index]!, batch);
        const factor = skipFactor?.(index);
        return this.block(ctx, F.concat([input, factor ? F.mul(skip, factor) : skip], 1), plan, conditioning);
      });
    }
    return namedModule(ctx, 'out', 'head', () => conv(ctx, 'conv', F.silu(groupNorm(ctx, 'norm', h, this.config.groupNormGroups)), this.config.outChannels, 3, { init: 'zero' }));
  }

  /** Skip-Tuning: the factor of skip i, broadcastable against [B, C, H, W]; undefined (no multiply traced) without skipScale. */
  private skipFactors(skipScale: Tensor | undefined, batch: number): ((index: number) => Tensor) | undefined {
    if (!skipScale) return undefined;
    const n = this.numSkips;
    if (skipScale.dtype !== 'float32') throw new Error(`unet: skipScale must be float32, got ${skipScale.dtype}`);
    if (skipScale.rank === 1 && skipScale.shape[0] === n) return (i) => F.slice(skipScale, { 0: [i, i + 1] });
    if (skipScale.rank === 2 && skipScale.shape[0] === batch && skipScale.shape[1] === n) return (i) => F.reshape(F.slice(skipScale, { 1: [i, i + 1] }), [batch, 1, 1, 1]);
    throw new Error(`unet: skipScale must be [${n}] or [${batch}, ${n}] (one factor per skip), got [${skipScale.shape.join(', ')}]`);
  }

  encoderOutputs(batch: number, options: ForwardOptions = {}): Map<string, number[]> {
    checkOptions(options);
    const { stem, encoder, middle } = this.layout;
    const shape = (plan: BlockPlan): number[] => [batch, plan.outChannels, plan.resolution, plan.resolution];
    return new Map([...[stem, ...encoder].map((plan): [string, number[]] => [plan.name, shape(plan)]), ['mid', shape(middle.at(-1)!)]]);
  }
}

/** The U-Net takes Skip-Tuning's factors; its encoder/decoder split is fixed (encoder and middle vs decoder). */
function checkOptions(options: ForwardOptions): void {
  checkForwardOptions('unet', options, [SKIP_SCALE]);
}
