export * from './http';
export * from './stack';
export * from './scratch-db';
