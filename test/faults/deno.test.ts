// The fault suite on deno (see suite.ts and cases.ts).
import { addFaultTests } from './suite.ts';

addFaultTests('deno');
