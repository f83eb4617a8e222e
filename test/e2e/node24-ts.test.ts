// The end-to-end suite on node24-ts (see suite.ts and runtimes.ts).
import { addTests } from './suite.ts';

addTests('node24-ts');
