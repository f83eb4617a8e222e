// The fault suite on node20 (see suite.ts and cases.ts).
import { addFaultTests } from './suite.ts';

addFaultTests('node20');
