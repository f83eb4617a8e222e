// The fault suite on bun (see suite.ts and cases.ts).
import { addFaultTests } from './suite.ts';

addFaultTests('bun');
