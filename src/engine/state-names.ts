// Every reserved name prefix of hasten's tensors and checkpoints, in one place, so no two parts of
// the code invent overlapping ones. Parameters may start with none of them.

/** Checkpoints: tensors that are not parameters (EMA, optimizer state) are stored under this prefix. */
export const CHECKPOINT_EXTRA_PREFIX = 'extra/';
/** Checkpoint extras: the exponential moving average of the parameters. */
export const EMA_PREFIX = 'ema/';
/** Checkpoint extras: the optimizer's state. */
export const OPTIMIZER_STATE_PREFIX = 'opt/';
/** The optimizer's state tensors (AdamW's moments and step count). */
export const ADAMW_PREFIX = 'adamw.';
/** Inputs of a compiled training step that carry optimizer state, not data. */
export const TRAIN_STEP_INPUT_PREFIX = 'opt.';
