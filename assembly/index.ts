// Core entry: exports only. See README.md in this folder for the contract.
// Each export file has one owner; add new exports there, not here.
import { IMG_VERSION } from '../src/layout';
export { reserve, reservedTop } from './mem';
export * from './api-ct';      // dissect, conntrack, NAT, host model (setup + test exports)
export * from './api-engine';  // image, interpreter, hooks, batches, counters

export function version(): i32 {
  return IMG_VERSION;
}
export * from './api-pool';    // worker pool: shard selection, dependency log
export * from './api-emit';    // packets the host emits (--out)
export * from './api-pcapng'; // pcapng framing (replay raw feed)
