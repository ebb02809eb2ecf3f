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

// ---------------------------------------------------------------- a core that can be reset
// The pool's workers keep one core instance for the whole replay (all passes). Between passes the
// instance is put back exactly as instantiation left it — what a fresh instance would be: memory
// zeroed up to the highest address handed out, the module's data segments written again, every
// mutable global set to its initializer, the start function (if any) run again — and the engine
// is set up on it again. For that the module is compiled with every mutable global (and the start
// function) exported: `exportGlobals` adds those exports to the binary; nothing else changes.

/** What instantiation does, from the module binary: data segments, global initializers, start. */
export interface ResetPlan {
  data: { offset: number; bytes: Uint8Array }[];
  /** Exported name and initial value of each defined mutable global. */
  globals: { name: string; init: number | bigint }[];
  start: string | null;
}

function uleb(b: Uint8Array, p: { i: number }): number {
  let r = 0, s = 0, x: number;
  do { x = b[p.i++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80);
  return r;
}

function sleb(b: Uint8Array, p: { i: number }): bigint {
  let r = 0n, s = 0n, x: number;
  do { x = b[p.i++]; r |= BigInt(x & 0x7f) << s; s += 7n; } while (x & 0x80);
  if (x & 0x40) r -= 1n << s;
  return r;
}

function encUleb(n: number): number[] {
  const out: number[] = [];
  do { let x = n & 0x7f; n = Math.floor(n / 128); if (n) x |= 0x80; out.push(x); } while (n);
  return out;
}

/** A constant expression (i32/i64.const) ending in `end`. */
function constExpr(b: Uint8Array, p: { i: number }, kind: string): number | bigint {
  const op = b[p.i++];
  let v: number | bigint;
  if (op === 0x41) v = Number(BigInt.asIntN(32, sleb(b, p)));
  else if (op === 0x42) v = BigInt.asIntN(64, sleb(b, p));
  else if (op === 0x43) { v = new DataView(b.buffer, b.byteOffset + p.i, 4).getFloat32(0, true); p.i += 4; }
  else if (op === 0x44) { v = new DataView(b.buffer, b.byteOffset + p.i, 8).getFloat64(0, true); p.i += 8; }
  else throw new Error(`core.wasm: ${kind} initializer opcode 0x${op.toString(16)} not supported by the reset`);
  if (b[p.i++] !== 0x0b) throw new Error(`core.wasm: ${kind} initializer is not a single constant`);
  return v;
}

/** The module binary with its mutable globals ('__g<index>') and start function ('__start')
 * exported, and the plan to reset an instance of it. */
export function exportGlobals(wasm: Uint8Array): { binary: Uint8Array<ArrayBuffer>; plan: ResetPlan } {
  const plan: ResetPlan = { data: [], globals: [], start: null };
  const secs: { id: number; body: Uint8Array }[] = [];
  let importedGlobals = 0;
  const p = { i: 8 };
  while (p.i < wasm.length) {
    const id = wasm[p.i++];
    const size = uleb(wasm, p);
    secs.push({ id, body: wasm.subarray(p.i, p.i + size) });
    p.i += size;
  }
  const extra: number[][] = [];
  for (const s of secs) {
    const b = s.body, q = { i: 0 };
    if (s.id === 2) {
      for (let n = uleb(b, q); n > 0; n--) {
        q.i += uleb(b, q); q.i += uleb(b, q);
        const kind = b[q.i++];
        if (kind === 0) uleb(b, q);
        else if (kind === 1) { q.i++; const f = b[q.i++]; uleb(b, q); if (f & 1) uleb(b, q); }
        else if (kind === 2) { const f = b[q.i++]; uleb(b, q); if (f & 1) uleb(b, q); }
        else if (kind === 3) { q.i += 2; importedGlobals++; }
      }
    } else if (s.id === 6) {
      const n = uleb(b, q);
      for (let k = 0; k < n; k++) {
        q.i++; // value type
        const mut = b[q.i++];
        const init = constExpr(b, q, 'global');
        if (mut) {
          const name = `__g${importedGlobals + k}`;
          plan.globals.push({ name, init });
          extra.push([...encUleb(name.length), ...Buffer.from(name), 3, ...encUleb(importedGlobals + k)]);
        }
      }
    } else if (s.id === 8) {
      const f = uleb(b, q);
      plan.start = '__start';
      extra.push([...encUleb(7), ...Buffer.from('__start'), 0, ...encUleb(f)]);
    } else if (s.id === 11) {
      for (let n = uleb(b, q); n > 0; n--) {
        const flag = uleb(b, q);
        if (flag === 1) { q.i += uleb(b, q); continue; } // passive: not written at instantiation
        if (flag === 2) uleb(b, q);
        const offset = Number(constExpr(b, q, 'data segment'));
        const len = uleb(b, q);
        plan.data.push({ offset, bytes: b.slice(q.i, q.i + len) });
        q.i += len;
      }
    }
  }
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  let exported = false;
  for (const s of secs) {
    let body = s.body;
    if (s.id === 7) {
      const q = { i: 0 };
      const n = uleb(body, q);
      const head = encUleb(n + extra.length), tail = extra.flat();
      const nb = new Uint8Array(head.length + body.length - q.i + tail.length);
      nb.set(head, 0);
      nb.set(body.subarray(q.i), head.length);
      nb.set(tail, head.length + body.length - q.i);
      body = nb;
      exported = true;
    }
    parts.push(Uint8Array.from([s.id, ...encUleb(body.length)]), body);
  }
  if (!exported) throw new Error('core.wasm has no export section');
  const binary = new Uint8Array(parts.reduce((a, x) => a + x.length, 0));
  let at = 0;
  for (const x of parts) { binary.set(x, at); at += x.length; }
  return { binary, plan };
}

let cachedResettable: { module: WebAssembly.Module; plan: ResetPlan } | null = null;
/** build/core.wasm with its globals exported (for resetCore), compiled once per thread. */
export function resettableCoreModule(): { module: WebAssembly.Module; plan: ResetPlan } {
  if (!cachedResettable) {
    const { binary, plan } = exportGlobals(readFileSync(coreWasmPath()));
    cachedResettable = { module: new WebAssembly.Module(binary), plan };
  }
  return cachedResettable;
}

/** Put an instance of a resettable module back into its state right after instantiation. */
export function resetCore(core: CoreExports, plan: ResetPlan): void {
  const mem = new Uint8Array(core.memory.buffer);
  // everything the instance can have written lies below its reservation top (reserve() hands out
  // memory upwards; memory above it was never handed out since the last reset)
  mem.fill(0, 0, Math.min(mem.length, Math.max(core.reservedTop() >>> 0, 1 << 16)));
  for (const d of plan.data) mem.set(d.bytes, d.offset);
  for (const g of plan.globals) (core[g.name] as WebAssembly.Global).value = g.init;
  if (plan.start) (core[plan.start] as () => void)();
}
