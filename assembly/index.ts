// Core entry: exports only. See README.md in this folder for the contract.
import { IMG_VERSION } from '../src/layout';

export function version(): i32 {
  return IMG_VERSION;
}
