// Exports for the packets the host itself emits (--out): see assembly/modules/reject.ts emitReply
// and the EM_*/EMR_* layout in src/layout.ts. Owned by the --out (emitted packets) work.
import { emitHeader } from './modules/reject';

/** Address of the emission header of the last batch (EM_COUNT, EM_USED, EM_CAP, EM_DATA). */
export function emitArea(): usize { return emitHeader(); }
