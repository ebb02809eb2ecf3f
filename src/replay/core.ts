// Loading build/core.wasm: a plain WebAssembly.Instance with raw exports; memory is the module's
// own exported memory (one instance per worker). u32 results need `>>> 0`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

import type { PacketBatch } from '../pcap/reader.js';
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

/** Bytes of the column area `loadBatch` needs for `cap` packets: offset, caplen, wirelen, tsSec,
 *  tsNsec, ordinal (u32) + linktype, ifindex (u16). */
export function batchColumnBytes(cap: number): number {
  return cap * (6 * 4 + 2 * 2);
}

/** Copy batch `b` into the core once (frames into `dataAddr`, one copy per column into `colAddr`,
 *  laid out for `cap` packets) and have the core build its descriptors at `descAddr`.
 *  `ifmap` maps capture interface ids to host interface indices (0xFFFF = the host's ingress). */
export function loadBatch(core: CoreExports, b: PacketBatch, ifmap: Uint16Array | null,
  descAddr: number, colAddr: number, cap: number, dataAddr: number): void {
  const n = b.count;
  const start = b.offset[0];
  const end = b.offset[n - 1] + b.caplen[n - 1];
  const buf = core.memory.buffer;
  new Uint8Array(buf, dataAddr, end - start).set(b.data.subarray(start, end));
  const c = colAddr;
  const u32 = (k: number) => new Uint32Array(buf, c + k * cap * 4, n);
  u32(0).set(b.offset.subarray(0, n));
  u32(1).set(b.caplen.subarray(0, n));
  u32(2).set(b.wirelen.subarray(0, n));
  u32(3).set(b.tsSec.subarray(0, n));
  u32(4).set(b.tsNsec.subarray(0, n));
  u32(5).set(b.ordinal.subarray(0, n));
  const u16base = c + 6 * cap * 4;
  new Uint16Array(buf, u16base, n).set(b.linktype.subarray(0, n));
  const ifx = new Uint16Array(buf, u16base + cap * 2, n);
  if (!ifmap) ifx.fill(0xffff);
  else for (let i = 0; i < n; i++) ifx[i] = ifmap[b.ifaceId[i]] ?? 0xffff;
  core.buildDescs(descAddr, n, (dataAddr - start) >>> 0, c, c + cap * 4, c + 2 * cap * 4,
    c + 3 * cap * 4, c + 4 * cap * 4, u16base, u16base + cap * 2, c + 5 * cap * 4);
}
