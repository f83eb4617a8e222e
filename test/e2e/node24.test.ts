// The end-to-end suite on node24 (see suite.ts and runtimes.ts).
import { addTests } from './suite.ts';

addTests('node24');
