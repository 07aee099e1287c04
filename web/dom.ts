// Small DOM helpers shared by the views: settings forms, progress bars, errors, notices.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page: no element #${id}`);
  return element as T;
}

export interface FieldSpec {
  name: string;
  label: string;
  value: string;
  options?: readonly (string | { value: string; label: string })[]; // a select when given
  hint?: string; // tooltip: what the setting means
  wide?: boolean;
}

/** Appends labelled inputs (or selects) to `form`; returns them by name. */
export function addFields(form: HTMLElement, fields: FieldSpec[], prefix = ''): Record<string, HTMLInputElement | HTMLSelectElement> {
  const inputs: Record<string, HTMLInputElement | HTMLSelectElement> = {};
  for (const field of fields) {
    const label = document.createElement('label');
    label.textContent = field.label;
    if (field.hint) label.title = field.hint;
    let input: HTMLInputElement | HTMLSelectElement;
    if (field.options) {
      input = document.createElement('select');
      setOptions(input, field.options);
    } else {
      input = document.createElement('input');
      input.type = 'text';
      if (field.wide) input.classList.add('wide');
    }
    input.name = `${prefix}${field.name}`;
    input.value = field.value;
    label.append(input);
    form.append(label);
    inputs[field.name] = input;
  }
  return inputs;
}

export function setOptions(select: HTMLSelectElement, options: readonly (string | { value: string; label: string })[]): void {
  select.replaceChildren(...options.map((option) => {
    const element = document.createElement('option');
    element.value = typeof option === 'string' ? option : option.value;
    element.textContent = typeof option === 'string' ? option : option.label;
    return element;
  }));
}

export function values(inputs: Record<string, HTMLInputElement | HTMLSelectElement>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value.trim()]));
}

export class ProgressBar {
  constructor(private readonly element: HTMLElement) {}

  set(fraction: number, label: string): void {
    (this.element.querySelector('.bar') as HTMLElement).style.width = `${Math.round(100 * Math.min(1, Math.max(0, fraction)))}%`;
    (this.element.querySelector('.label') as HTMLElement).textContent = label;
  }
}

/** What went wrong, for people: the message, with a hint where the cause is the browser's memory. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RangeError || /out of memory|memory access out of bounds|Array buffer allocation failed|allocation/i.test(message)) {
    return `out of memory: ${message}. Try fewer samples or a smaller batch (a browser tab holds at most about 2 GB in one buffer).`;
  }
  return message;
}

export function showError(element: HTMLElement, error: unknown): void {
  element.textContent = describeError(error);
  element.hidden = false;
}

export function clearError(element: HTMLElement): void {
  element.textContent = '';
  element.hidden = true;
}

/** A lasting message at the top of the page (what cannot work here, and what runs instead). */
export function notice(text: string, severity: 'info' | 'bad' = 'info'): void {
  const element = document.createElement('div');
  element.className = `notice${severity === 'bad' ? ' bad' : ''}`;
  element.textContent = text;
  byId('notices').append(element);
}

/** Lets the browser paint before the next piece of work. */
export const nextFrame = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
