// Test entry for assembly/classify.ts alone (compiled by test/tree/classify-wasm.test.ts with asc):
// classify plus what a test needs to place an image and a packet in memory.
export { classify, leavesMulti } from '../../assembly/classify';
export { reserve } from '../../assembly/mem';
import { PKT, setImage } from '../../assembly/state';
export function pktAddr(): usize { return PKT; }
export function useImage(addr: usize): void { setImage(addr); }
