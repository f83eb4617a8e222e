// The end-to-end suite on bun (see suite.ts and runtimes.ts).
import { addTests } from './suite.ts';

addTests('bun');
