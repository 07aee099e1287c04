// One error type for every acceleration setting that is malformed, contradictory or does not fit the
// model, so the CLI can print it as a one-line usage error.
import { InputError } from '../engine/input-error.js';

export class AccelSettingError extends InputError {
  override name = 'AccelSettingError';
}
