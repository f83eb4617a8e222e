// The end-to-end suite on node20 (see suite.ts and runtimes.ts).
import { addTests } from './suite.ts';

addTests('node20');
