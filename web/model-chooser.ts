// Which shipped model a view works on: a select per view, one download per model whichever view
// asked, with a progress bar, and the network compiled before the views say they are ready; its
// first call follows at once.

import type { TrainedModel } from '../src/pipeline/model-store.js';
import { type ProgressBar, describeError, notice } from './dom.js';
import { loadModel } from './models.js';
import { timed } from './phases.js';
import { compileFor, warmUp } from './run-job.js';
import { DEFAULT_SAMPLING } from './settings.js';
import type { SiteEntry } from '../src/web/site.js';

export class ModelChooser {
  readonly names: string[];

  constructor(readonly entries: SiteEntry[], readonly defaultName: string) {
    this.names = entries.map((entry) => entry.name);
  }

  private selects: HTMLSelectElement[] = [];

  /** The model a view's select names now. */
  current(select = this.selects[0]!): Promise<TrainedModel> {
    return loadModel(select.value);
  }

  /** Loads the select's model now and whenever it changes, showing the download on `progress`; `ready` runs once it is loaded. */
  attach(select: HTMLSelectElement, progress: ProgressBar, ready: (trained: TrainedModel) => void): void {
    this.selects.push(select);
    const load = async (): Promise<void> => {
      const name = select.value;
      const entry = this.entries.find((e) => e.name === name)!;
      try {
        const trained = await timed('download', () => loadModel(name, ({ loaded, total }) => progress.set(loaded / (total ?? entry.bytes), `downloading ${name}: ${(loaded / 1e6).toFixed(1)} of ${((total ?? entry.bytes) / 1e6).toFixed(1)} MB`)));
        const n = Number(DEFAULT_SAMPLING.n) || 16;
        progress.set(1, `compiling ${name}…`);
        await timed('compile', () => compileFor(trained, n));
        progress.set(1, `${name} ready`);
        ready(trained);
        // The first call runs now, before the first Sample press if the visitor takes a moment (a press queues behind it).
        await timed('warm-up', () => warmUp(trained, n));
      } catch (error) {
        progress.set(0, `${name} failed to load`);
        notice(`Could not load model ${name}: ${describeError(error)}`, 'bad');
      }
    };
    select.addEventListener('change', () => void load());
    void load();
  }
}
