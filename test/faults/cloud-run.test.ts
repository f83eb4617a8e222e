// The fault suite on cloud-run (see suite.ts and cases.ts).
import { addFaultTests } from './suite.ts';

addFaultTests('cloud-run');
