// The end-to-end suite on deno (see suite.ts and runtimes.ts).
import { addTests } from './suite.ts';

addTests('deno');
