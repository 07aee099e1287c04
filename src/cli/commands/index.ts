// Every CLI command, in the order `hasten --help` lists them.
import type { Command } from '../command.js';
import { benchEngineCommand } from './bench-engine.js';
import { benchSamplers } from './bench-samplers.js';
import { benchTrainCommand } from './bench-train.js';
import { dataPreviewCommand } from './data-preview.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { sampleCommand } from './sample.js';
import { trainCommand } from './train.js';
import { trainFeaturesCommand } from './train-features.js';

export const commands: Command[] = [
  dataPreviewCommand,
  trainCommand,
  trainFeaturesCommand,
  sampleCommand,
  evalCommand,
  exportCommand,
  benchEngineCommand,
  benchSamplers,
  benchTrainCommand,
];
