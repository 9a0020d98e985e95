export * from './access-control.js';
export * from './connectivity-monitoring.js';
export * from './device.js';
export * from './location.js';
export * from './security.js';
export * from './sensors.js';
export * from './server.js';
