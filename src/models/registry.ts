// Models from JSON-able configs: { "arch": "unet" | "dit" | "mlp", ...settings }. Missing settings
// take the architecture's defaults (UNET_DEFAULTS, DIT_DEFAULTS, MLP_DEFAULTS, each setting
// commented there); the resolved config, stored with a checkpoint, recreates the same model.

import { DIT_DEFAULTS, DiT, type DiTConfig } from './dit.js';
import { ModelConfigError, resolveSettings } from './config-checks.js';
import { MLP_DEFAULTS, Mlp, type MlpConfig } from './mlp.js';
import { UNET_DEFAULTS, UNet, type UNetConfig } from './unet.js';

export type ModelConfig = UNetConfig | DiTConfig | MlpConfig;
export type Model = UNet | DiT | Mlp;
export type Architecture = ModelConfig['arch'];

export const MODEL_DEFAULTS: { readonly [A in Architecture]: Extract<ModelConfig, { arch: A }> } = { unet: UNET_DEFAULTS, dit: DIT_DEFAULTS, mlp: MLP_DEFAULTS };
export const ARCHITECTURES = Object.keys(MODEL_DEFAULTS) as Architecture[];

/** Defaults filled in; unknown or mistyped settings rejected. The architecture's constructor checks the rest. */
function fillDefaults(settings: unknown): ModelConfig {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw new ModelConfigError(`a model config must be a JSON object, got ${JSON.stringify(settings)}`);
  const { arch } = settings as { arch?: unknown };
  if (typeof arch !== 'string' || !(ARCHITECTURES as string[]).includes(arch)) {
    throw new ModelConfigError(`model config: setting 'arch' must be one of ${ARCHITECTURES.join(', ')}, got ${JSON.stringify(arch)}`);
  }
  return resolveSettings<ModelConfig>(MODEL_DEFAULTS[arch as Architecture], settings as Record<string, unknown>);
}

/** A model from a (partial) config; throws ModelConfigError naming the offending setting. */
export function createModel(settings: unknown): Model {
  const config = fillDefaults(settings);
  switch (config.arch) {
    case 'unet': return new UNet(config);
    case 'dit': return new DiT(config);
    case 'mlp': return new Mlp(config);
  }
}

/** The full, checked config of `settings`: what to store next to a checkpoint. */
export function resolveModelConfig(settings: unknown): ModelConfig {
  return createModel(settings).config;
}
