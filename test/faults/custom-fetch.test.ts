// The fault suite on custom-fetch (see suite.ts and cases.ts).
import { addFaultTests } from './suite.ts';

addFaultTests('custom-fetch');
