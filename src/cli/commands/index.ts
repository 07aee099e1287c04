// Every CLI command, in the order `hasten --help` lists them.
import type { Command } from '../command.js';
import { analyzeFeatureChangeCommand, analyzeSkipLossCommand } from './analyze.js';
import { analyzeRedundancyCommand } from './analyze-redundancy.js';
import { benchAccelCommand } from './bench-accel.js';
import { benchCapacityCommand } from './bench-capacity.js';
import { benchCompressCommand } from './bench-compress.js';
import { compressCommand } from './compress.js';
import { benchEngineCommand } from './bench-engine.js';
import { benchGmemCommand } from './bench-gmem.js';
import { benchImportCommand } from './bench-import.js';
import { benchProfileCommand } from './bench-profile.js';
import { benchReflowCommand } from './bench-reflow.js';
import { benchScaleCommand } from './bench-scale.js';
import { benchSamplers } from './bench-samplers.js';
import { benchTrainCommand } from './bench-train.js';
import { benchWebCommand } from './bench-web.js';
import { dataPreviewCommand } from './data-preview.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { gmemBankCommand } from './gmem-bank.js';
import { gmemTrainEncoderCommand } from './gmem-train-encoder.js';
import { importCommand } from './import.js';
import { inspectCommand } from './inspect.js';
import { reflowCommands } from './reflow.js';
import { sampleCommand } from './sample.js';
import { trainCommand } from './train.js';
import { trainFeaturesCommand } from './train-features.js';
import { webCommand } from './web.js';
import { workerCommand } from './worker.js';

export const commands: Command[] = [
  dataPreviewCommand,
  trainCommand,
  trainFeaturesCommand,
  gmemTrainEncoderCommand,
  gmemBankCommand,
  sampleCommand,
  evalCommand,
  exportCommand,
  workerCommand,
  importCommand,
  inspectCommand,
  ...reflowCommands,
  compressCommand,
  webCommand,
  benchEngineCommand,
  benchProfileCommand,
  benchSamplers,
  benchTrainCommand,
  benchAccelCommand,
  benchImportCommand,
  benchCompressCommand,
  benchCapacityCommand,
  benchReflowCommand,
  benchScaleCommand,
  benchGmemCommand,
  benchWebCommand,
  analyzeFeatureChangeCommand,
  analyzeSkipLossCommand,
  analyzeRedundancyCommand,
];
