export * from './content.js';
export * from './wire-value.js';
