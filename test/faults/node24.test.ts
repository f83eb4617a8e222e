// The fault suite on node24 (see suite.ts and cases.ts).
import { addFaultTests } from './suite.ts';

addFaultTests('node24');
