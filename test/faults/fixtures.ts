// Everything the fault cases use from the fake upstreams and the raw clients, in one import.
export * from './upstreams.ts';
export * from './client.ts';
