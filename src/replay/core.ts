// Loading build/core.wasm: a plain WebAssembly.Instance with raw exports; memory is the module's
// own exported memory (one instance per worker). u32 results need `>>> 0`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface CoreExports {
  memory: WebAssembly.Memory;
  reserve(bytes: number): number;
  reservedTop(): number;
  engineSetup(image: number, counters: number, state: number, recent: number): void;
  processBatch(descs: number, n: number): void;
  buildDescs(descs: number, n: number, data: number, offset: number, caplen: number, wirelen: number,
    tsSec: number, tsNsec: number, linktype: number, ifindex: number, ordinal: number): void;
  statsAddr(): number;
  rejectCountsAddr?(): number;
  ctSetup?(capacity: number): number;
  ctCount?(): number;
  ctEntryBytes?(): number;
  [k: string]: unknown;
}

/** Path of build/core.wasm relative to this file (dist/replay/ or src/replay/). */
export function coreWasmPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'build', 'core.wasm');
}

let cached: WebAssembly.Module | null = null;
export function coreModule(): WebAssembly.Module {
  if (!cached) cached = new WebAssembly.Module(readFileSync(coreWasmPath()));
  return cached;
}

export function instantiateCore(mod: WebAssembly.Module = coreModule()): CoreExports {
  const inst = new WebAssembly.Instance(mod, {
    env: {
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`core.wasm abort at ${line}:${col}`);
      },
      seed: () => 0,
      trace: () => {},
    },
  });
  return inst.exports as unknown as CoreExports;
}
