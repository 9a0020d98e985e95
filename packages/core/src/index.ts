export * from './attributes.js';
export * from './codes.js';
export * from './data-type.js';
export * from './errors.js';
export * from './link-format.js';
export * from './model.js';
export * from './node.js';
export * from './path.js';
