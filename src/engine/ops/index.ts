// The op set models are written in. Every primitive carries its own gradient rule.
export * from './elementwise.js';
export * from './shape.js';
export * from './reduce.js';
export * from './linalg.js';
export * from './conv.js';
export * from './nn.js';
