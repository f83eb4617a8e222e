// The end-to-end suite on workerd (see suite.ts and workerd.ts), then what is particular to Workers (workerd-specifics.ts).
import { addTests } from './suite.ts';

addTests('workerd');
