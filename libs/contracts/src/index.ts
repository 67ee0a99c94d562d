export * from './auth';
export * from './envelope';
export * from './errors';
export * from './events';
export * from './ids';
export * from './money';
export * from './topics';
export * from './ticket-code';
