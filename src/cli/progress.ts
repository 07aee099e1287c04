// A progress bar for long jobs on stderr: redrawn in place on a terminal, an occasional plain line
// otherwise (CI logs), with rate and ETA. Extra fields (loss, ...) are shown beside it.

export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string; // what one tick is, for the rate: 'it', 'img', ...
  stream?: NodeJS.WriteStream;
  /** Minimum seconds between redraws (and between lines when not a terminal). */
  interval?: number;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export class Progress {
  private done = 0;
  private readonly started = performance.now();
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly interactive: boolean;
  private fields: Record<string, string> = {};

  constructor(private readonly options: ProgressOptions, private readonly startAt = 0) {
    this.stream = options.stream ?? process.stderr;
    this.interactive = Boolean(this.stream.isTTY);
    this.done = startAt;
  }

  /** Advances to `done` ticks (absolute), with optional fields to show. */
  update(done: number, fields: Record<string, number | string> = {}): void {
    this.done = done;
    for (const [k, v] of Object.entries(fields)) this.fields[k] = typeof v === 'number' ? (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(2)) : v;
    const now = performance.now();
    const interval = (this.options.interval ?? (this.interactive ? 0.2 : 30)) * 1000;
    if (now - this.lastDraw >= interval || done >= this.options.total) {
      this.lastDraw = now;
      this.draw(done >= this.options.total);
    }
  }

  private line(): string {
    const { label, total, unit = 'it' } = this.options;
    const elapsed = (performance.now() - this.started) / 1000;
    const rate = (this.done - this.startAt) / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (total - this.done) / rate : Infinity;
    const width = 24;
    const filled = Math.round((width * this.done) / Math.max(total, 1));
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const extra = Object.entries(this.fields).map(([k, v]) => `${k} ${v}`).join('  ');
    return `${label} [${bar}] ${this.done}/${total}  ${rate.toFixed(2)} ${unit}/s  elapsed ${formatDuration(elapsed)}  eta ${formatDuration(eta)}${extra ? `  ${extra}` : ''}`;
  }

  private draw(final: boolean): void {
    if (this.interactive) this.stream.write(`\r\x1b[2K${this.line()}${final ? '\n' : ''}`);
    else this.stream.write(`${this.line()}\n`);
  }

  /** Ends the bar (a newline on a terminal). */
  finish(): void {
    if (this.interactive && this.done < this.options.total) this.stream.write('\n');
  }
}

/** Trainer callbacks that draw a bar: `finish` when the run ends, however it ends. */
export function trainingProgress(label: string): { onStart: (startStep: number, steps: number) => void; onStep: (step: number, figures: { loss: number; lr: number }) => void; finish: () => void } {
  let bar: Progress | undefined;
  return {
    onStart: (startStep, steps) => {
      bar = new Progress({ label, total: steps, unit: 'it' }, startStep);
    },
    onStep: (step, figures) => bar?.update(step, figures),
    finish: () => bar?.finish(),
  };
}
