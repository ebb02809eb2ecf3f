// The pool's keyer (main thread): every packet is keyed once, not once per worker. A core instance
// of its own (the image set up, so dissect sees the host model) copies each batch in (one memcpy
// per column), computes every packet's flow key, tuple hash, source and shard (api-pool.ts
// poolKeys) and gathers each shard's packets into one section (poolGather: compact descriptors,
// keys, hashes, sources, then its frames). The sections are copied to a SharedArrayBuffer in one
// memcpy; a worker copies only its own section into its core and runs it.
import { DESC_SIZE } from '../layout.js';
import type { CompiledImage } from '../compile/image.js';
import type { PacketBatch } from '../pcap/reader.js';
import { Engine } from './engine.js';
import { loadBatch, batchColumnBytes, type CoreExports } from './core.js';

/** Bytes of a shard's section of `n` packets whose padded frames take `bytes`. */
export function sectionLayout(n: number, bytes: number) {
  const keys = n * DESC_SIZE;
  const hashes = keys + 4 * n;
  const srcs = hashes + 8 * n;
  const data = srcs + 4 * n;
  return { descs: 0, keys, hashes, srcs, data, total: data + bytes };
}

type Fn = (...a: number[]) => number;

export class Keyer {
  private core: CoreExports;
  private cap = 0;
  private dataCap = 0;
  private descs = 0;
  private cols = 0;
  private shards = 0;
  private keys = 0;
  private hashes = 0;
  private srcs = 0;
  private counts = 0;
  private bytes = 0;
  private data = 0;
  private out = 0;
  private outCap = 0;
  private ovr = 0;
  private ovrMask = 0;
  /** Compute tuple hashes (only the dependency log reads them). */
  withHashes = true;

  constructor(compiled: CompiledImage) {
    this.core = new Engine(compiled).core;
    this.counts = this.core.reserve(256 * 4) >>> 0;
    this.bytes = this.core.reserve(256 * 4) >>> 0;
  }

  /** The override table of the coming pass (shard.ts overrideTable). */
  setOverride(o: Uint32Array): void {
    this.ovr = 0; this.ovrMask = 0;
    if (!o.length) return;
    this.ovr = this.core.reserve(o.byteLength) >>> 0;
    new Uint32Array(this.core.memory.buffer, this.ovr, o.length).set(o);
    this.ovrMask = o.length / 2 - 1;
  }

  private ensure(n: number, bytes: number): void {
    const core = this.core;
    if (n > this.cap) {
      this.cap = Math.max(n, 16384);
      this.descs = core.reserve(this.cap * DESC_SIZE) >>> 0;
      this.cols = core.reserve(batchColumnBytes(this.cap)) >>> 0;
      this.shards = core.reserve(this.cap) >>> 0;
      this.keys = core.reserve(this.cap * 4) >>> 0;
      this.hashes = core.reserve(this.cap * 8) >>> 0;
      this.srcs = core.reserve(this.cap * 4) >>> 0;
    }
    if (bytes > this.dataCap) {
      this.dataCap = Math.max(bytes, 4 << 20);
      // + 64: poolGather reads short frames in 8-byte words (up to 7 bytes past the last one)
      this.data = core.reserve(this.dataCap + 64) >>> 0;
    }
    // sections: 48 bytes per packet plus the frames padded to 4 bytes, the sections to 8; the
    // slack (4 bytes per packet) also takes poolGather's 8-byte-word overrun of the last frame
    const need = this.cap * 48 + bytes + 4 * this.cap;
    if (need > this.outCap) {
      this.outCap = Math.max(need, this.dataCap + 52 * this.cap);
      this.out = core.reserve(this.outCap) >>> 0;
    }
  }

  /** Key batch `b` for `nShards` shards and lay out the sections of `active` shards (in that
   * order) into a SharedArrayBuffer (reusing `sab` when large enough). Returns it with each
   * active shard's [offset, packets, frame bytes]. */
  batch(b: PacketBatch, ifmap: Uint16Array | null, nShards: number, active: number[], sab: SharedArrayBuffer | undefined):
    { sab: SharedArrayBuffer; sections: [number, number, number][] } {
    const n = b.count;
    const core = this.core;
    const sections: [number, number, number][] = [];
    if (n === 0) return { sab: sab ?? new SharedArrayBuffer(8), sections: active.map(() => [0, 0, 0]) };
    const start = b.offset[0];
    const end = b.offset[n - 1] + b.caplen[n - 1];
    this.ensure(n, end - start);
    loadBatch(core, b, ifmap, this.descs, this.cols, this.cap, this.data);
    (core.poolKeys as Fn)(this.descs, n, nShards, this.ovr, this.ovrMask, this.shards, this.keys, this.hashes, this.srcs, this.counts, this.bytes, this.withHashes ? 1 : 0);
    let buf = core.memory.buffer;
    const counts = new Uint32Array(buf, this.counts, nShards), bytes = new Uint32Array(buf, this.bytes, nShards);
    let at = 0;
    for (const s of active) {
      const L = sectionLayout(counts[s], bytes[s]);
      (core.poolGather as Fn)(this.descs, n, s, counts[s], this.shards, this.keys, this.hashes, this.srcs, this.out + at);
      sections.push([at, counts[s], bytes[s]]);
      at += (L.total + 7) & ~7;
    }
    if (!sab || sab.byteLength < at) sab = new SharedArrayBuffer(Math.max(at, 8 << 20));
    new Uint8Array(sab, 0, at).set(new Uint8Array(core.memory.buffer, this.out, at));
    return { sab, sections };
  }
}
