// An imported model as a folder every command opens with --model DIR: the ONNX file(s) as given,
// import.json (what was found: the signature, the schedule, the U-Net structure and FLOPs) and the
// scheduler config and the diffusers model config.json it came with. Import checks everything up front, so that opening is cheap.

import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../engine/atomic-write.js';
import type { OnnxModel } from '../engine/onnx/codec.js';
import type { Process } from '../diffusion/process.js';
import { type UNetAnalysis, analyseUNet } from './analysis.js';
import { ImportError, opsetVersion, readOnnxFile } from './onnx-file.js';
import { DEFAULT_SCHEDULE, type ImportedSchedule, parsePrediction, parseSchedulerConfig, scheduleProcess } from './schedule.js';
import { type ClassOptions, type UNetSignature, readSignature } from './signature.js';

export const IMPORT_FORMAT = 'hasten-import/1';
export const IMPORT_FILE = 'import.json';
const GRAPH_FILE = 'model.onnx';

export interface ImportRecord {
  format: typeof IMPORT_FORMAT;
  source: string; // the ONNX file imported
  producer: string; // who wrote it, as its header says
  opset: number;
  graph: string; // the ONNX file in this folder
  external_data: string[]; // its external data files, beside it
  signature: UNetSignature;
  schedule: ImportedSchedule;
  schedule_source: string; // the scheduler config read, or 'default'
  /** The U-Net's skips, boundary and FLOPs; absent where none was found (with the reason). */
  analysis?: UNetAnalysis;
  analysis_error?: string;
}

export interface ImportedModel {
  name: string;
  location: string;
  record: ImportRecord;
  onnx: OnnxModel;
  process: Process;
  /** [channels, height, width] of one sample. */
  dataShape: number[];
  /** Weight bytes above which edited graphs go to ONNX Runtime with external data; default just under protobuf's 2 GB limit. */
  inlineLimit?: number;
}

export interface ImportOptions {
  onnx: string; // the ONNX file
  out: string; // the model folder to write
  scheduler?: string; // a diffusers scheduler_config.json
  prediction?: string; // overrides the config's prediction_type
  sampleSize?: [number, number]; // fixes symbolic height and width
  classes?: number; // labels a class_labels input takes (0..classes−1); default: num_class_embeds of the config.json beside the file
  nullClass?: number; // the label meaning "no class", for guidance; default: the config's null_class (hasten's exports write it)
  inlineLimit?: number; // weight bytes above which the analysed graphs run with external data (default: just under 2 GB)
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new ImportError(`${what} ${path}: no such file`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ImportError(`${what} ${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** The diffusers config.json beside an ONNX file, where there is one. */
const modelConfigPath = (onnx: string): string => join(dirname(onnx), 'config.json');

/** The class count and null class: the options first, else the config.json beside the file (num_class_embeds, null_class). */
function classOptions(options: ImportOptions): ClassOptions {
  const path = modelConfigPath(options.onnx);
  const config = existsSync(path) ? readJson(path, 'model config') as Record<string, unknown> : {};
  const entry = (key: string): number | undefined => {
    const value = config[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number') throw new ImportError(`model config ${path}: ${key} must be a number or null, got ${JSON.stringify(value)}`);
    return value;
  };
  const classes = options.classes ?? entry('num_class_embeds');
  const nullClass = options.nullClass ?? entry('null_class');
  const given = options.classes !== undefined ? '--classes' : options.nullClass !== undefined ? '--null-class' : undefined;
  const names = Array.isArray(config.class_names) && config.class_names.every((c) => typeof c === 'string') ? config.class_names as string[] : undefined;
  return { classes, nullClass, names, source: options.classes !== undefined ? '--classes' : `${path} num_class_embeds`, given };
}

/** Checks the graph, reads the schedule, finds the structure and writes the model folder. */
export async function importModel(options: ImportOptions): Promise<ImportRecord> {
  const file = readOnnxFile(options.onnx);
  const signature = readSignature(file.model, { sampleSize: options.sampleSize, classes: classOptions(options) });
  let schedule = options.scheduler ? parseSchedulerConfig(readJson(options.scheduler, 'scheduler config'), options.scheduler) : { ...DEFAULT_SCHEDULE };
  if (options.prediction) schedule = { ...schedule, prediction: parsePrediction(options.prediction, '--prediction') };
  scheduleProcess(schedule); // the betas must make a process
  let analysis: UNetAnalysis | undefined;
  let analysisError: string | undefined;
  try {
    analysis = await analyseUNet(file.model, signature, options.inlineLimit);
  } catch (error) {
    if (!(error instanceof ImportError)) throw error;
    analysisError = error.message;
  }
  const record: ImportRecord = {
    format: IMPORT_FORMAT,
    source: options.onnx,
    producer: `${file.model.producerName} ${file.model.producerVersion}`.trim(),
    opset: opsetVersion(file.model),
    graph: GRAPH_FILE,
    external_data: file.externalFiles,
    signature,
    schedule,
    schedule_source: options.scheduler ?? 'default',
    ...(analysis ? { analysis } : { analysis_error: analysisError }),
  };
  mkdirSync(options.out, { recursive: true });
  copyFileSync(options.onnx, join(options.out, GRAPH_FILE));
  for (const data of file.externalFiles) copyFileSync(join(dirname(options.onnx), data), join(options.out, data));
  if (options.scheduler) copyFileSync(options.scheduler, join(options.out, 'scheduler_config.json'));
  if (existsSync(modelConfigPath(options.onnx))) copyFileSync(modelConfigPath(options.onnx), join(options.out, 'config.json'));
  await writeFileAtomic(join(options.out, IMPORT_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

export function isImportedModelDir(dir: string): boolean {
  return existsSync(join(dir, IMPORT_FILE));
}

export function openImportedModel(dir: string, options: { inlineLimit?: number } = {}): ImportedModel {
  const record = readJson(join(dir, IMPORT_FILE), 'import record') as ImportRecord;
  if (record.format !== IMPORT_FORMAT) throw new ImportError(`${join(dir, IMPORT_FILE)}: format '${String(record.format)}' is not ${IMPORT_FORMAT}; import the model again`);
  const onnx = readOnnxFile(join(dir, record.graph)).model;
  return { name: basename(dir), location: dir, record, onnx, process: scheduleProcess(record.schedule), dataShape: record.signature.sampleShape, ...options };
}
