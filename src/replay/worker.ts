// Pool worker (piscina). One task = one shard of one replay pass: the task gets a MessagePort and
// runs on this thread's core instance (instantiated by the first task of the replay, reset to its
// fresh state by the later ones: core.ts resetCore; the engine is set up on it again), then
// receives every batch (a SharedArrayBuffer shared by all workers: classic pcap records, or
// descriptors and frames), copies it into the core in one memcpy, frames it there, keys every
// packet and keeps only its shard's (poolSelect), runs those in one processBatch (poolRun) and
// acknowledges. On 'end' it returns counters, stats, drops, its conntrack entries, the dependency
// log and (when asked) the forwarded packets with their ordinals.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { MessagePort } from 'node:worker_threads';
import { NGI_SIZE, DESC_SIZE, DESC_RESULT, DESC_ORDINAL, RES_FORWARDED, RES_DROP_RULE, RES_DROP_POLICY, ST_NRES } from '../layout.js';
import { CTT_ENTRIES, CTT_HWM, CT_SIZE, CT_INUSE, CT_STATUS } from '../layout-ct.js';
import { IPS_CONFIRMED, IPS_DYING } from '../layout.js';
import type { CompiledImage } from '../compile/image.js';
import { Engine } from './engine.js';
import { instantiateCore, resetCore, type CoreExports } from './core.js';
import { forEachLeavingFrame, emitAreaOf, emittedCount } from './outframes.js';
import { type BatchMsg, type ShardTask, type ShardResult, type WorkerData } from './shard.js';
import { DropRecords, DropScanner } from './drops.js';
import type { NgBatchMsg } from './feed.js';

const LOG_REC = 12;
type Fn = (...a: number[]) => number;

/** This thread's core (instantiated by the first task of a replay, reset by the later ones). */
let kept: { core: CoreExports; run: number } | null = null;

class ShardRunner {
  readonly engine: Engine;
  readonly core: CoreExports;
  private cap = 0;
  private tab = 0;
  private tabCap = 0;
  private dataCap = 0;
  private descAll = 0;
  private descSel = 0;
  private ovr = 0;
  private ovrMask = 0;
  private dropsSeen = 0n;
  private keys = 0;
  private hashes = 0;
  private srcs = 0;
  private log = 0;
  private data = 0;
  packets = 0;
  private logs: Uint32Array[] = [];
  private logWords = 0;
  drops = new Map<number, [number, number]>(); // key -> [count, first ordinal]
  fwd: ArrayBuffer[] = [];
  /** --drops: this shard's dropped packets. */
  private readonly dropRecs: DropRecords | null;
  private readonly dropScan = new DropScanner();
  private readonly mtus: number[];

  constructor(wd: WorkerData, private t: ShardTask) {
    // one core per worker thread for the whole replay: reset (fresh-equivalent) for a later pass
    if (kept && kept.run === wd.run) resetCore(kept.core, wd.plan);
    else kept = { core: instantiateCore(wd.module), run: wd.run };
    this.core = kept.core;
    this.engine = new Engine(wd.compiled as CompiledImage, this.core);
    if (typeof this.core.poolHookInstalled !== 'function') throw new Error('core.wasm without the pool hook in processBatch: rebuild (npm run build)');
    this.mtus = wd.ifaceMtus;
    this.dropRecs = t.wantDrops ? new DropRecords() : null;
    (this.core.poolSetRecent as (on: number, mask: number) => void)(t.recentMask === null ? 0 : 1, t.recentMask ?? 0);
    (this.core.poolSetLog as (flags: number) => void)((t.log ? 1 : 0) | (wd.compiled.conntrack ? 2 : 0));
    if (wd.rejectRules.length) {
      const a = this.core.reserve(wd.rejectRules.length) >>> 0;
      new Uint8Array(this.core.memory.buffer, a, wd.rejectRules.length).set(wd.rejectRules);
      (this.core.poolSetRejectRules as (addr: number, n: number) => void)(a, wd.rejectRules.length);
    }
    if (t.override.length) {
      this.ovr = this.core.reserve(t.override.byteLength) >>> 0;
      new Uint32Array(this.core.memory.buffer, this.ovr, t.override.length).set(t.override);
      this.ovrMask = t.override.length / 2 - 1;
    }
  }

  private ensure(n: number, bytes: number): void {
    const core = this.core;
    if (n > this.cap) {
      this.cap = Math.max(n, 16384);
      this.descAll = core.reserve(this.cap * DESC_SIZE) >>> 0;
      this.descSel = core.reserve(this.cap * DESC_SIZE) >>> 0;
      this.keys = core.reserve(this.cap * 4) >>> 0;
      this.hashes = core.reserve(this.cap * 8) >>> 0;
      this.srcs = core.reserve(this.cap * 4) >>> 0;
      this.log = core.reserve(this.cap * 9 * LOG_REC) >>> 0; // at most 9 records per packet (api-pool.ts poolRun)
    }
    if (bytes > this.dataCap) {
      this.dataCap = Math.max(bytes, 4 << 20);
      this.data = core.reserve(this.dataCap) >>> 0;
    }
  }

  /** A batch: the whole batch is copied into the core (one memcpy of the capture's bytes, framed
   * here: pcapFrame; or, for inputs the main thread read with readCapture, descriptors and frames),
   * every packet keyed, this shard's packets kept (poolSelect) and run in one processBatch. */
  batch(m: BatchMsg | NgBatchMsg): void {
    const n = m.n;
    if (n === 0) return;
    const core = this.core;
    let sel: number;
    if (m.t === 'raw') {
      this.ensure(n, m.len);
      new Uint8Array(core.memory.buffer).set(new Uint8Array(m.sab, m.off, m.len), this.data);
      sel = (core.poolFrameSelect as Fn)(this.data, n, m.flags, m.linktype, m.ord, this.t.nShards, this.t.shard, this.ovr, this.ovrMask,
        this.descSel, this.keys, this.hashes, this.srcs, this.t.log ? 1 : 0) >>> 0;
    } else if (m.t === 'ng') {
      // pcapng blocks: the section's interface table, then the blocks, framed and selected here (pcapngFrameSelect)
      this.ensure(n, m.len);
      if (m.table.length > this.tabCap) { this.tabCap = Math.max(m.table.length, 16 * NGI_SIZE); this.tab = core.reserve(this.tabCap) >>> 0; }
      const mem = new Uint8Array(core.memory.buffer);
      mem.set(m.table, this.tab);
      mem.set(new Uint8Array(m.sab, m.off, m.len), this.data);
      const framed = (core.pcapngFrameSelect as Fn)(this.data, this.data + m.len, n, m.be, this.tab, m.nIf, m.ord, this.t.nShards, this.t.shard, this.ovr, this.ovrMask,
        this.descSel, this.keys, this.hashes, this.srcs, this.t.log ? 1 : 0) >>> 0;
      if (framed !== n) throw new Error(`internal: a pcapng batch of ${n} packets framed as ${framed}`);
      sel = (core.pcapngKept as Fn)() >>> 0;
    } else {
      this.ensure(n, m.bytes);
      const mem = new Uint8Array(core.memory.buffer);
      mem.set(new Uint8Array(m.sab, 0, n * DESC_SIZE), this.descAll);
      mem.set(new Uint8Array(m.sab, n * DESC_SIZE, m.bytes), this.data);
      (core.poolRebase as Fn)(this.descAll, n, this.data);
      sel = (core.poolSelect as Fn)(this.descAll, n, this.t.nShards, this.t.shard, this.ovr, this.ovrMask,
        this.descSel, this.keys, this.hashes, this.srcs, this.t.log ? 1 : 0) >>> 0;
    }
    if (sel === 0) return;
    const nlog = (core.poolRun as Fn)(this.descSel, sel, this.keys, this.hashes, this.srcs, this.log) >>> 0;
    this.packets += sel;
    const buf = core.memory.buffer;
    if (this.dropRecs && this.dropScan.scan(buf, core.statsAddr() >>> 0, this.descSel, sel, this.dropRecs.sink)) this.dropRecs.flush();
    if (nlog) {
      this.logs.push(new Uint32Array(buf.slice(this.log, this.log + nlog * LOG_REC)));
      this.logWords += nlog * 3;
    }
    // drops per rule / policy, from the results (the stats slots say whether there are any)
    const st = new BigUint64Array(buf, core.statsAddr() >>> 0, ST_NRES);
    const dropped = st[RES_DROP_RULE] + st[RES_DROP_POLICY];
    const wantOut = this.t.wantOut;
    if (dropped === this.dropsSeen && !wantOut) return;
    this.dropsSeen = dropped;
    const w = new Uint32Array(buf, this.descSel, sel * (DESC_SIZE / 4));
    const R = DESC_RESULT / 4;
    let nf = 0;
    for (let i = 0; i < sel; i++) {
      const r = w[i * 8 + R];
      const code = r & 0xff;
      if (code === RES_FORWARDED) nf++;
      else if (code === RES_DROP_RULE || code === RES_DROP_POLICY) {
        const k = code === RES_DROP_RULE ? (r >>> 16) - 1 : -(r >>> 16);
        const d = this.drops.get(k);
        if (d) d[0]++; else this.drops.set(k, [1, w[i * 8 + DESC_ORDINAL / 4]]);
      }
    }
    if (wantOut && (nf || emittedCount(buf, emitAreaOf(core)))) this.forwarded(buf, sel);
  }

  /** Frames of the forwarded packets as they leave (outframes.ts forEachLeavingFrame, as the
   * engine writes them), with their ordinals. Records: ordinal, tsSec, tsNsec, wirelen, linktype,
   * caplen (u32 each), the bytes (padded to 4). */
  private forwarded(buf: ArrayBuffer, sel: number): void {
    const parts: { ord: number; s: number; ns: number; wl: number; lt: number; f: Uint8Array }[] = [];
    let bytes = 0;
    forEachLeavingFrame(buf, this.descSel, sel, this.engine.outRecAddr, this.mtus, (ord, s, ns, frame, wl, lt) => {
      // the sink's frame is valid during the call only
      const f = frame.slice();
      parts.push({ ord, s, ns, wl, lt, f });
      bytes += 24 + ((f.length + 3) & ~3);
    }, emitAreaOf(this.core)); // and the packets the host emitted, after the packet that caused them
    if (!parts.length) return;
    const out = new ArrayBuffer(bytes);
    const ov = new DataView(out);
    const ob = new Uint8Array(out);
    let p = 0;
    for (const x of parts) {
      ov.setUint32(p, x.ord, true);
      ov.setUint32(p + 4, x.s, true);
      ov.setUint32(p + 8, x.ns, true);
      ov.setUint32(p + 12, x.wl, true);
      ov.setUint32(p + 16, x.lt, true);
      ov.setUint32(p + 20, x.f.length, true);
      ob.set(x.f, p + 24);
      p += 24 + ((x.f.length + 3) & ~3);
    }
    this.fwd.push(out);
  }

  finish(): ShardResult {
    const k = this.engine.counters();
    const log = new Uint32Array(this.logWords);
    let o = 0;
    for (const l of this.logs) { log.set(l, o); o += l.length; }
    let ct: ArrayBuffer | null = null;
    let ctHwm = 0;
    const tb = this.engine.ctAddr >>> 0;
    if (tb) {
      const buf = this.core.memory.buffer;
      const dv = new DataView(buf);
      const ent = dv.getUint32(tb + CTT_ENTRIES, true);
      ctHwm = dv.getUint32(tb + CTT_HWM, true);
      const keep: number[] = [];
      for (let i = 0; i < ctHwm; i++) {
        const e = ent + i * CT_SIZE;
        if (dv.getUint8(e + CT_INUSE) === 0) continue;
        if ((dv.getUint32(e + CT_STATUS, true) & (IPS_CONFIRMED | IPS_DYING)) !== IPS_CONFIRMED) continue;
        keep.push(e);
      }
      const out = new Uint8Array(keep.length * CT_SIZE);
      const mem = new Uint8Array(buf);
      keep.forEach((e, j) => out.set(mem.subarray(e, e + CT_SIZE), j * CT_SIZE));
      ct = out.buffer;
    }
    return {
      shard: this.t.shard,
      packets: this.packets,
      counters: { packets: k.packets, bytes: k.bytes },
      stats: this.engine.statSlots(),
      ctStats: this.engine.ctSummary() ?? null,
      drops: [...this.drops.entries()].map(([k, [c, f]]) => [k, c, f]),
      log,
      ct, ctHwm,
      fwd: this.fwd,
      drec: this.dropRecs?.buffers ?? [],
    };
  }
}

export default function runShard(t: ShardTask): Promise<ShardResult> {
  const wd = t.data;
  const port: MessagePort = t.port;
  return new Promise<ShardResult>((resolve, reject) => {
    let runner: ShardRunner;
    try { runner = new ShardRunner(wd, t); } catch (e) { reject(e); return; }
    port.on('message', (m: BatchMsg | NgBatchMsg | { t: 'end' }) => {
      try {
        if (m.t === 'end') {
          port.close();
          const r = runner.finish();
          // the result's buffers (conntrack entries, log, --out frames) are moved, not cloned
          const list: ArrayBuffer[] = [r.log.buffer as ArrayBuffer, ...r.fwd, ...r.drec];
          if (r.ct) list.push(r.ct);
          resolve(move({ [transferableSymbol]: list, [valueSymbol]: r } as never) as unknown as ShardResult);
          return;
        }
        runner.batch(m);
        port.postMessage({ t: 'ack', seq: m.seq });
      } catch (e) {
        port.close();
        reject(e);
      }
    });
  });
}
