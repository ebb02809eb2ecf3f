// The single-worker replay: a clean function of (compiled image, batches). One core instance;
// setup reserves the image, counters, state slots, recent tables, conntrack table, descriptors and
// a data area. A classic pcap file is read straight into the data area and framed by the core
// (feed.ts replayCapture, runDescs: no per-packet JS); other batches (readCapture) are copied in
// once (one memcpy per column, runBatch). Either way a batch is run by one processBatch.
import { DESC_SIZE, DESC_RESULT, DESC_TS_SEC, DESC_TS_NSEC, RES_DROP_RULE, RES_DROP_POLICY, CNT_SIZE, ST_SIZE, ST_NRES, ST_REJECT_REPLIES, ST_CSUM_BAD, ST_DROP_INVALID_CT } from '../layout.js';
import type { CompiledImage } from '../compile/image.js';
import type { PacketBatch, CaptureInfo } from '../pcap/reader.js';
import { instantiateCore, loadBatch, batchColumnBytes, type CoreExports } from './core.js';
import { forEachLeavingFrame, emitAreaOf } from './outframes.js';
import { DropScanner, type DropSink } from './drops.js';

export interface EngineStats {
  /** Packets per RES_* code (index = code). */
  res: bigint[];
  /** REJECT replies that left the host (after OUTPUT/POSTROUTING and the ICMP rate limit). */
  rejectReplies: bigint;
  /** Packets conntrack found with a bad L4 checksum (made INVALID). */
  badChecksums: bigint;
  /** Of the packets dropped by a rule or policy, those conntrack had found INVALID. */
  droppedInvalid?: bigint;
  /** Conntrack (when active): live entries at the end, bytes per connection, early drops, packets
   *  dropped because the table was full. */
  ct?: { entries: number; bytesPerConn: number; earlyDrops: number; fullDrops: number; capacity: number };
}

export interface ForwardedSink {
  /** Called for every forwarded packet with its rewritten frame (valid during the call only). */
  (tsSec: number, tsNsec: number, frame: Uint8Array, wirelen: number, linktype: number): void;
}

export class Engine {
  readonly core: CoreExports;
  readonly compiled: CompiledImage;
  private countersAddr = 0;
  private descAddr = 0;
  private descCap = 0;
  private dataAddr = 0;
  private dataCap = 0;
  private colAddr = 0;
  ctAddr = 0;
  /** Out records (reassembled datagrams as they leave), 0 when the core has none. */
  outRecAddr = 0;
  packets = 0;
  /** Drops counted by the stats slots when countDrops last looked. */
  private dropsSeen = 0n;
  /** --drops: finds the dropped packets of a batch (only of batches that dropped some). */
  private dropScan: DropScanner | null = null;
  lastTsSec = 0;
  lastTsNsec = 0;

  constructor(compiled: CompiledImage, core: CoreExports = instantiateCore()) {
    this.core = core;
    this.compiled = compiled;
    const img = compiled.image;
    const imgAddr = core.reserve(img.byteLength);
    new Int32Array(core.memory.buffer, imgAddr, img.length).set(img);
    this.countersAddr = core.reserve(compiled.nCounters * CNT_SIZE);
    const stateAddr = core.reserve(Math.max(1, compiled.nState) * 16);
    const recentAddr = core.reserve(Math.max(16, compiled.recentBytes));
    core.engineSetup(imgAddr, this.countersAddr, stateAddr, recentAddr);
    if (compiled.conntrack && typeof core.ctSetup === 'function') this.ctAddr = core.ctSetup(compiled.ctMax) >>> 0;
    if (process.env.NFREPLAY_TEST_NO_WALK_CACHE === '1') (core as { setWalkCache?(on: number): void }).setWalkCache?.(0); // tests: outputs without the core's walk cache
    const setOut = (core as { setOutRecords?(a: number, n: number): void }).setOutRecords;
    if (compiled.conntrack && setOut) {
      const bytes = 4 << 20;
      this.outRecAddr = core.reserve(bytes) >>> 0;
      setOut(this.outRecAddr, bytes);
    }
  }

  private ensure(n: number, bytes: number): void {
    if (n > this.descCap) {
      this.descCap = Math.max(n, 16384);
      this.descAddr = this.core.reserve(this.descCap * DESC_SIZE);
      this.colAddr = this.core.reserve(batchColumnBytes(this.descCap));
    }
    if (bytes > this.dataCap) {
      this.dataCap = Math.max(bytes, 4 << 20);
      this.dataAddr = this.core.reserve(this.dataCap);
    }
  }

  /** Run one batch. `ifindex(ifaceId)` maps capture interface ids to host interface indices
   *  (0xFFFF = the host model's ingress). Calls `sink` for forwarded packets when given. */
  runBatch(b: PacketBatch, ifmap: Uint16Array | null, sink?: ForwardedSink): void {
    const n = b.count;
    if (n === 0) return;
    const start = b.offset[0];
    const end = b.offset[n - 1] + b.caplen[n - 1];
    this.ensure(n, end - start);
    loadBatch(this.core, b, ifmap, this.descAddr, this.colAddr, this.descCap, this.dataAddr);
    this.runDescs(n, sink);
  }

  /** The descriptor and data areas, large enough for `n` packets and `bytes` bytes of records
   *  (feed.ts reads a classic pcap file into `data` and frames it into `descs` in the core). */
  areas(n: number, bytes: number): { descs: number; data: number; dataCap: number } {
    this.ensure(n, bytes);
    return { descs: this.descAddr >>> 0, data: this.dataAddr >>> 0, dataCap: this.dataCap };
  }

  /** Run the `n` descriptors already at areas().descs (built in the core). */
  runDescs(n: number, sink?: ForwardedSink): void {
    if (n === 0) return;
    const core = this.core;
    core.processBatch(this.descAddr, n);
    this.packets += n;
    const last = new Uint32Array(core.memory.buffer, this.descAddr + (n - 1) * DESC_SIZE, DESC_SIZE / 4);
    this.lastTsSec = last[DESC_TS_SEC / 4];
    this.lastTsNsec = last[DESC_TS_NSEC / 4];
    if (sink) forEachLeavingFrame(core.memory.buffer, this.descAddr, n, this.outRecAddr, this.compiled.ifaceMtus,
      (_ord, s, ns, frame, wl, lt) => sink(s, ns, frame, wl, lt), emitAreaOf(core));
  }

  /** Add the drops of the last batch (`n` packets) to `drops`: rule index, or -(chain id + 1)
   *  for a policy -> packets, in the order they first occur. */
  countDrops(n: number, drops: Map<number, number>): void {
    // the stats slots count drops per batch already: most batches have none to look for
    const st = new BigUint64Array(this.core.memory.buffer, this.core.statsAddr() >>> 0, ST_NRES);
    const seen = st[RES_DROP_RULE] + st[RES_DROP_POLICY];
    if (seen === this.dropsSeen) return;
    this.dropsSeen = seen;
    const w = new Uint32Array(this.core.memory.buffer, this.descAddr, n * (DESC_SIZE / 4));
    const step = DESC_SIZE / 4;
    for (let i = DESC_RESULT / 4; i < w.length; i += step) {
      const r = w[i];
      const code = r & 0xff;
      if (code === RES_DROP_RULE) { const k = (r >>> 16) - 1; drops.set(k, (drops.get(k) ?? 0) + 1); }
      else if (code === RES_DROP_POLICY) { const k = -(r >>> 16); drops.set(k, (drops.get(k) ?? 0) + 1); }
    }
  }

  /** Every packet of the last batch (`n` packets) that was dropped, to `sink`, in descriptor
   *  order (the descriptors are read only when the stats slots say the batch dropped some). */
  scanDrops(n: number, sink: DropSink): number {
    this.dropScan ??= new DropScanner();
    return this.dropScan.scan(this.core.memory.buffer, this.core.statsAddr() >>> 0, this.descAddr, n, sink);
  }

  /** The capture's last timestamp in jiffies (as dissect computes P_JIFFIES). */
  lastJiffies(): bigint {
    const ns = BigInt(this.lastTsSec) * 1000000000n + BigInt(this.lastTsNsec);
    return (ns * BigInt(this.compiled.hz)) / 1000000000n;
  }

  /** Per-packet results of the last batch (DESC_RESULT words). */
  lastResults(n: number): Uint32Array {
    const out = new Uint32Array(n);
    const dv = new DataView(this.core.memory.buffer);
    for (let i = 0; i < n; i++) out[i] = dv.getUint32(this.descAddr + i * DESC_SIZE + DESC_RESULT, true);
    return out;
  }

  /** Counters: packets and bytes per counter index (rules, then chains). */
  counters(): { packets: bigint[]; bytes: bigint[] } {
    const v = new BigUint64Array(this.core.memory.buffer, this.countersAddr, this.compiled.nCounters * 2);
    const packets: bigint[] = [], bytes: bigint[] = [];
    for (let i = 0; i < this.compiled.nCounters; i++) { packets.push(v[2 * i]); bytes.push(v[2 * i + 1]); }
    return { packets, bytes };
  }

  /** Every stats slot of the core (ST_SIZE u64: per RES_* code, then the ST_* extras). */
  statSlots(): bigint[] {
    return Array.from(new BigUint64Array(this.core.memory.buffer, this.core.statsAddr() >>> 0, ST_SIZE));
  }

  /** The conntrack summary of this core (undefined without conntrack). */
  ctSummary(): CtSummary | undefined {
    const core = this.core as CoreExports & { ctStats?(i: number): number; ctBytesPerConn?(): number };
    return this.ctAddr && core.ctStats && core.ctCount && core.ctBytesPerConn
      ? { entries: core.ctCount() >>> 0, bytesPerConn: core.ctBytesPerConn() >>> 0, earlyDrops: core.ctStats(0) >>> 0, fullDrops: core.ctStats(1) >>> 0, capacity: this.compiled.ctMax }
      : undefined;
  }

  stats(): EngineStats {
    return statsFromSlots(this.statSlots(), this.ctSummary());
  }
}

export type CtSummary = NonNullable<EngineStats['ct']>;

/** Fields of the conntrack summary that describe the table, not what happened in it: the same in
 * every shard (the pool keeps them; every other field is a count and is summed). */
export const CT_SUMMARY_PER_TABLE: readonly (keyof CtSummary)[] = ['bytesPerConn', 'capacity'];

/** EngineStats from the raw stats slots (the one place that names them: the single-worker engine
 * and the pool's merged slots go through it, so the pool cannot miss a field). */
export function statsFromSlots(v: bigint[], ct: CtSummary | undefined): EngineStats {
  return { res: v.slice(0, ST_NRES), rejectReplies: v[ST_REJECT_REPLIES], badChecksums: v[ST_CSUM_BAD], droppedInvalid: v[ST_DROP_INVALID_CT], ct };
}

/** Map capture interfaces to host interface indices by name (unknown / unnamed: the ingress). */
export function interfaceMap(info: CaptureInfo | null, hostNames: string[]): Uint16Array | null {
  if (!info || info.interfaces.every((i) => !i.name)) return null;
  const m = new Uint16Array(Math.max(1, info.interfaces.length)).fill(0xffff);
  info.interfaces.forEach((itf, k) => {
    const i = itf.name ? hostNames.indexOf(itf.name) : -1;
    if (i >= 0) m[k] = i;
  });
  return m;
}
