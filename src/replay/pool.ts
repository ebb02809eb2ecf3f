// The parallel replay: a piscina pool (minThreads = maxThreads = workers), one shard task per
// worker and pass, deterministic flow sharding (shard.ts), results merged on the main thread
// (merge.ts) into the same ReplayOutcome the single-worker replay returns, so the report code is
// shared and 1, 2, 4 or 8 workers print byte-identical reports and files.
//
// Batches: the main thread reads the capture once per pass. A classic pcap file's bytes go into
// SharedArrayBuffers as they are (8 MiB chunks of whole records, cut into batches of POOL_BATCH
// packets; the only per-packet work here is the caplen walk: feed.ts PcapChunks); so do a pcapng
// file's (the block walk with pcapngFrame's checks, batches cut at SHB/IDB, each with its section's
// interface table: feed.ts PcapngChunks); other inputs are read with readCapture and sent as
// descriptors and frames. Every batch goes to every shard:
// each worker copies it into its core in one memcpy, frames and keys all of its packets and runs
// only its own (keying is repeated per worker, in parallel, instead of serially here). A buffer
// is reused when all shards have acknowledged every batch in it. At most IN_FLIGHT batches are
// queued per shard (a worker never waits for the reader while the reader is descheduled).
//
// Passes: pass 1 runs every shard; the shards' dependency logs join flows that met through
// conntrack/NAT (shard.ts); shards whose flows changed are replayed again (fresh state) until no
// flow moves. Rulesets with ordered state (and a conntrack table that could have filled up) take
// the sequential path: one shard. Ctrl-C stops reading; the replayed part is reported, marked
// partial (later passes replay exactly the same batches).
import { availableParallelism, tmpdir } from 'node:os';
import { statSync, createWriteStream, createReadStream, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { pipeline } from 'node:stream/promises';
import { Piscina } from 'piscina';
import { readCapture, CaptureError, type CaptureInfo, type PacketBatch } from '../pcap/reader.js';
import { interfaceMap, statsFromSlots, type Engine } from './engine.js';
import { ST_SIZE, DESC_SIZE, DESC_FRAME, DESC_CAPLEN, DESC_WIRELEN, DESC_TS_SEC, DESC_TS_NSEC, DESC_LINKTYPE, DESC_IFINDEX, DESC_ORDINAL, DESC_RESULT } from '../layout.js';
import { resettableCoreModule } from './core.js';
import { compileReplay, partialNote, type ReplayOptions, type ReplayOutcome } from '../commands/replay.js';
import type { Ruleset } from '../rules/model.js';
import type { CompiledImage } from '../compile/image.js';
import type { RulesApi } from './rules-adapter.js';
import { openClassicPcap, openPcapng, PcapChunks, PcapngChunks, POOL_CHUNK_BYTES, TEST_DELAY_MS, TRACE, type NgBatchMsg, type RawBatch } from './feed.js';
import { DropsWriter, outputFormat, replayDropRecords, type OutputFormat } from './drops.js';
import { Dependencies, orderedState, overrideTable, plan, recentMask, needsDependencyLog, RECENT_LIST_TOT, DEFRAG_QUEUES, type BatchMsg, type ShardResult, type ShardTask, type WorkerData } from './shard.js';
import { mergeConntrack, mergeResults, writeForwarded, MERGED_CT_TABLE } from './merge.js';
import { Progress } from './progress.js';

export interface PoolOptions extends ReplayOptions {
  workers?: number;
  quiet?: boolean;
  /** Progress bar; default: stderr is a TTY and not quiet. */
  progress?: boolean;
  /** Called after each batch of pass 1 has been acknowledged by every shard (tests, tracing). */
  onBatch?: (batches: number, packets: number) => void;
}

export interface PoolSummary {
  workers: number;
  passes: number;
  /** Packets replayed again because their shard changed after a pass. */
  rereplayed: number;
  /** Packets replayed in one shard because of ordered state (0 when sharded). */
  sequential: number;
  sequentialReason: string | null;
  partial: boolean;
}

export type PoolOutcome = ReplayOutcome & { partial: boolean; pool: PoolSummary };

const MAX_PASSES = 16;
// Tests of the Ctrl-C path (feed.ts TEST_DELAY_MS, TRACE): NFREPLAY_TEST_BATCH_DELAY_MS slows
// pass 1 down between batches and NFREPLAY_TRACE=1 prints 'nfreplay: batch N done' on stderr when
// every shard has run batch N.
const IN_FLIGHT = 4;
let nextRun = (process.pid * 1000003) >>> 0;
/** Packets per batch (the unit of Ctrl-C and of the dependency passes; fewer, larger messages:
 * 65,536 cost ~0.05-0.1 CPU-s less than 16,384 on 5M packets). At most IN_FLIGHT of them (~20 MB
 * of 60-byte packets) are queued per shard. */
export const POOL_BATCH = 65536;

export function defaultWorkers(): number {
  return availableParallelism();
}

interface PassRead {
  info: CaptureInfo | null;
  packets: number;
  batches: number;
  linktype: number | null;
  /** The output files' format, decided by the first batch as the single worker decides it. */
  format: OutputFormat | null;
  lastTsSec: number;
  lastTsNsec: number;
  captureError: CaptureError | null;
}

class PoolRun {
  private pool: Piscina;
  stop = false;

  /** Set before the first pass. */
  data!: WorkerData;

  constructor(workers: number) {
    this.pool = new Piscina({
      filename: fileURLToPath(new URL('./worker.js', import.meta.url)),
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: 600_000,
    });
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }

  /** One pass: shards `shards` of `nShards`, over the first `maxBatches` batches (all if null). */
  recentMask: number | null = null;
  log = true;

  async pass(path: string, name: string | undefined, hostNames: string[], shards: number[], nShards: number,
    override: Uint32Array, wantOut: boolean, wantDrops: boolean, maxBatches: number | null,
    progress: Progress | null, onBatch?: (b: number, p: number) => void): Promise<{ read: PassRead; results: ShardResult[] }> {
    const ports: MessagePort[] = [];
    const tasks: Promise<ShardResult>[] = [];
    const inflight = shards.map(() => 0);
    let wake: (() => void) | null = null;
    // a buffer goes back to `free` when every shard has acknowledged every batch in it and the
    // reader is done with it (a chunk's incomplete last record is copied to the next chunk)
    interface Buf { sab: SharedArrayBuffer; left: number; sealed: boolean }
    const bufs = new Map<number, Buf>();
    const free: SharedArrayBuffer[] = [];
    const release = (b: Buf) => { if (b.sealed && b.left === 0) free.push(b.sab); };
    const acks = new Map<number, number>(); // batch -> shards yet to acknowledge it
    let acked = 0;
    shards.forEach((s, i) => {
      const ch = new MessageChannel();
      const t: ShardTask = { port: ch.port2, data: this.data, shard: s, nShards, wantOut, wantDrops, recentMask: this.recentMask, log: this.log, override };
      tasks.push(this.pool.run(t, { transferList: [ch.port2] }) as Promise<ShardResult>);
      ch.port1.on('message', (m: { t: 'ack'; seq: number }) => {
        inflight[i]--;
        const b = bufs.get(m.seq)!;
        b.left--;
        const done = acks.get(m.seq)! - 1;
        if (done === 0) { acks.delete(m.seq); bufs.delete(m.seq); acked++; if (onBatch) onBatch(acked, 0); } else acks.set(m.seq, done);
        release(b);
        const w = wake; wake = null; w?.();
      });
      ports.push(ch.port1);
    });
    // a failing task must not leave the reader waiting for acks
    let failed: unknown = null;
    tasks.forEach((p) => p.catch((e) => { failed ??= e; const w = wake; wake = null; w?.(); }));

    const read: PassRead = { info: null, packets: 0, batches: 0, linktype: null, format: null, lastTsSec: 0, lastTsNsec: 0, captureError: null };
    let bytes = 24;
    /** May batch number read.batches go out? Waits for room in every shard's queue. */
    const room = async (): Promise<boolean> => {
      if (maxBatches !== null && read.batches >= maxBatches) return false;
      if (maxBatches === null && this.stop) return false;
      while (!failed && inflight.some((x) => x >= IN_FLIGHT)) await new Promise<void>((r) => { wake = r; });
      return !failed;
    };
    const post = (m: BatchMsg | NgBatchMsg, buf: Buf, packets: number, batchBytes: number) => {
      bufs.set(m.seq, buf);
      acks.set(m.seq, ports.length);
      buf.left += ports.length;
      for (let i = 0; i < ports.length; i++) { inflight[i]++; ports[i].postMessage(m); }
      read.batches++;
      read.packets += packets;
      bytes += batchBytes;
      progress?.update(read.packets, bytes);
    };
    /** Post the batches of a chunked file (whole records or blocks in shared buffers, framed by
     *  the workers' cores): a buffer is sealed when the reader moves to the next chunk. */
    const postChunks = async <B extends RawBatch>(chunks: { next(reuse: SharedArrayBuffer | undefined): { sab: SharedArrayBuffer; batches: B[] } | null; close(): void },
      message: (b: B, sab: SharedArrayBuffer) => BatchMsg | NgBatchMsg, afterNext?: () => void): Promise<void> => {
      let prev: Buf | null = null;
      try {
        outer: for (;;) {
          if (!(await room())) break;
          let c: { sab: SharedArrayBuffer; batches: B[] } | null;
          try {
            c = chunks.next(free.pop());
          } finally {
            afterNext?.();
          }
          if (prev) { prev.sealed = true; release(prev); prev = null; }
          if (!c) break;
          const buf: Buf = { sab: c.sab, left: 0, sealed: false };
          prev = buf;
          for (const b of c.batches) {
            if (!(await room())) break outer;
            post(message(b, c.sab), buf, b.n, b.len);
            read.lastTsSec = b.tsSec; read.lastTsNsec = b.tsNsec;
            if (maxBatches === null && TEST_DELAY_MS > 0) await new Promise((r) => setTimeout(r, TEST_DELAY_MS));
          }
        }
      } finally {
        chunks.close();
      }
    };
    const raw = openClassicPcap(path, name ?? path);
    const ngFd = raw ? null : openPcapng(path);
    try {
      if (ngFd !== null) {
        // pcapng: the file's bytes in shared buffers, the packet blocks framed by the workers' cores
        const chunks = new PcapngChunks(ngFd, name ?? path, hostNames, POOL_BATCH, POOL_CHUNK_BYTES);
        await postChunks(chunks, (b, sab) => {
          if (read.linktype === null) { read.linktype = chunks.linktype; read.format = chunks.format; }
          return { t: 'ng', seq: read.batches, sab, off: b.off, len: b.len, n: b.n, ord: b.ord, be: b.be, table: b.table, nIf: b.nIf };
        }, () => { read.info = chunks.info(); });
      } else if (raw) {
        // classic pcap: the file's bytes in shared buffers, framed by the workers' cores
        read.info = raw.info;
        read.linktype = raw.linktype;
        read.format = outputFormat(raw.info, raw.linktype);
        await postChunks(new PcapChunks(raw, POOL_BATCH, POOL_CHUNK_BYTES),
          (b, sab) => ({ t: 'raw', seq: read.batches, sab, off: b.off, len: b.len, n: b.n, ord: b.ord, flags: raw.flags, linktype: raw.linktype }));
      } else {
        // anything else (pcapng): read with readCapture; descriptors built here
        let ifmap: Uint16Array | null = null;
        // each batch is copied out before the next is read: the reader may reuse its buffers
        const gen = readCapture(path, { name, reuseBuffers: true, onInfo: (i) => { read.info = i; ifmap = interfaceMap(i, hostNames); } });
        for await (const b of gen) {
          if (!(await room())) break;
          if (read.linktype === null) read.linktype = b.linktype[0] ?? 1;
          if (read.format === null && b.count) read.format = outputFormat(read.info, b.linktype[0]);
          const { sab, bytes: nb } = descBatch(b, ifmap, free);
          post({ t: 'descs', seq: read.batches, sab, n: b.count, bytes: nb }, { sab, left: 0, sealed: true }, b.count, nb + 16 * b.count);
          if (b.count) { read.lastTsSec = b.tsSec[b.count - 1]; read.lastTsNsec = b.tsNsec[b.count - 1]; }
          if (maxBatches === null && TEST_DELAY_MS > 0) await new Promise((r) => setTimeout(r, TEST_DELAY_MS));
        }
      }
    } catch (e) {
      if (e instanceof CaptureError) read.captureError = e;
      else { for (const p of ports) p.postMessage({ t: 'end' }); await Promise.allSettled(tasks); throw e; }
    }
    for (const p of ports) p.postMessage({ t: 'end' });
    const results = await Promise.all(tasks);
    for (const p of ports) p.close();
    return { read, results };
  }
}

/** A readCapture batch as the workers take it: `n` descriptors (DESC_FRAME relative to the frames,
 * interface ids mapped to host interfaces), then the frames, in one shared buffer (from `free`
 * when one is large enough). */
function descBatch(b: PacketBatch, ifmap: Uint16Array | null, free: SharedArrayBuffer[]): { sab: SharedArrayBuffer; bytes: number } {
  const n = b.count;
  const start = n ? b.offset[0] : 0;
  const end = n ? b.offset[n - 1] + b.caplen[n - 1] : 0;
  const need = n * DESC_SIZE + (end - start);
  let sab = free.pop();
  if (!sab || sab.byteLength < need) sab = new SharedArrayBuffer(Math.max(need, 4 << 20));
  const w = new Uint32Array(sab, 0, n * (DESC_SIZE / 4));
  const h = new Uint16Array(sab, 0, n * (DESC_SIZE / 2));
  for (let i = 0, o = 0; i < n; i++, o += DESC_SIZE / 4) {
    w[o + DESC_FRAME / 4] = b.offset[i] - start;
    w[o + DESC_CAPLEN / 4] = b.caplen[i];
    w[o + DESC_WIRELEN / 4] = b.wirelen[i];
    w[o + DESC_TS_SEC / 4] = b.tsSec[i];
    w[o + DESC_TS_NSEC / 4] = b.tsNsec[i];
    h[o * 2 + DESC_LINKTYPE / 2] = b.linktype[i];
    h[o * 2 + DESC_IFINDEX / 2] = ifmap ? (ifmap[b.ifaceId[i]] ?? 0xffff) : 0xffff;
    w[o + DESC_ORDINAL / 4] = b.ordinal[i];
    w[o + DESC_RESULT / 4] = 0;
  }
  new Uint8Array(sab, n * DESC_SIZE, end - start).set(b.data.subarray(start, end));
  return { sab, bytes: end - start };
}

/** stdin, a FIFO or a device: copied to a temporary file, so later passes can read it again. */
async function spool(from: string): Promise<string> {
  const p = join(tmpdir(), `nfreplay-stdin-${process.pid}.pcap`);
  await pipeline(from === '-' ? process.stdin : createReadStream(from), createWriteStream(p));
  return p;
}

/** Is `path` something to spool (not a regular file)? A path that cannot be stat'ed is not: the
 * reader reports it. */
function needsSpool(path: string): boolean {
  if (path === '-') return true;
  try { return !statSync(path).isFile(); } catch { return false; }
}

/** The whole parallel replay; same inputs and outcome as commands/replay.ts `replay`. */
export async function runReplay(o: PoolOptions): Promise<PoolOutcome> {
  const workers = Math.max(1, o.workers ?? defaultWorkers());
  // the worker threads start now: their bootstrap overlaps parsing and compiling the ruleset (the
  // replay data goes with each task). A ruleset that takes the sequential path uses one of them.
  const run = new PoolRun(workers);
  let rs: Ruleset, compiled: CompiledImage, api: RulesApi, path: string, name: string | undefined, progress: Progress;
  let seqReason: string | null, nShards: number;
  const fromStdin = needsSpool(o.pcap);
  try {
    ({ api, rs, compiled } = await compileReplay(o));

    path = fromStdin ? await spool(o.pcap) : o.pcap;
    name = o.pcap === '-' ? 'stdin' : fromStdin ? o.pcap : undefined;
    let totalBytes: number | null = null;
    try { totalBytes = statSync(path).size; } catch { /* the reader reports it */ }
    const showProgress = o.progress ?? (!o.quiet && !!process.stderr.isTTY);
    progress = new Progress(totalBytes, showProgress);

    seqReason = orderedState(rs);
    nShards = seqReason ? 1 : workers;
    // the image in shared memory: every task gets it without a copy
    const image = new Int32Array(new SharedArrayBuffer(compiled.image.byteLength));
    image.set(compiled.image);
    const rc = resettableCoreModule();
    run.data = {
      module: rc.module,
      plan: rc.plan,
      run: nextRun++,
      compiled: { image, nCounters: compiled.nCounters, nState: compiled.nState, recentBytes: compiled.recentBytes, conntrack: compiled.conntrack, ctMax: compiled.ctMax },
      ifaceMtus: compiled.ifaceMtus,
      rejectRules: Uint8Array.from(compiled.rules, (r) => (r.model.target?.kind === 'module' && r.model.target.module === 'REJECT' ? 1 : 0)),
    };
  } catch (e) {
    await run.close();
    throw e;
  }
  run.recentMask = seqReason ? null : recentMask(rs);
  run.log = !seqReason && needsDependencyLog(rs);
  // first Ctrl-C: stop reading and report what was replayed; a second one: leave now
  const onSigint = () => { if (run.stop) process.exit(130); run.stop = true; };
  process.on('SIGINT', onSigint);
  const summary: PoolSummary = { workers, passes: 0, rereplayed: 0, sequential: 0, sequentialReason: seqReason, partial: false };
  try {
    const all = Array.from({ length: nShards }, (_, i) => i);
    const onBatch = TRACE ? (b: number, p: number) => { process.stderr.write(`nfreplay: batch ${b} done\n`); o.onBatch?.(b, p); } : o.onBatch;
    const first = await run.pass(path, name, compiled.ifaceNames, all, nShards, new Uint32Array(0), !!o.out, !!o.drops, null, progress, onBatch);
    progress.done();
    summary.passes = 1;
    const read = first.read;
    summary.partial = run.stop;
    const maxBatches = read.batches;
    const results: ShardResult[] = [];
    for (const r of first.results) results[r.shard] = r;
    if (nShards > 1) {
      const dep = new Dependencies();
      const ovr = new Map<number, number>();
      for (const r of results) dep.add(r.log);
      for (;;) {
        const changed = plan(dep, nShards, ovr);
        if (changed.size === 0) break;
        if (summary.passes >= MAX_PASSES) { summary.sequentialReason = `flows still moving after ${MAX_PASSES} passes`; break; }
        const again = [...changed].sort((a, b) => a - b);
        const p = await run.pass(path, name, compiled.ifaceNames, again, nShards, overrideTable(ovr), !!o.out, !!o.drops, maxBatches, null);
        summary.passes++;
        for (const r of p.results) { results[r.shard] = r; summary.rereplayed += r.packets; dep.add(r.log); }
      }
      if (!summary.sequentialReason && dep.fragDatagrams.size > DEFRAG_QUEUES) {
        summary.sequentialReason = `more than ${DEFRAG_QUEUES} fragmented datagrams (the reassembly queues are shared)`;
      }
      if (!summary.sequentialReason && dep.recentSources.size > RECENT_LIST_TOT) {
        summary.sequentialReason = `recent: more than ${RECENT_LIST_TOT} sources (a list could evict, least recently used first)`;
      }
      // a bounded table that could have filled up in a single replay: early drop is ordered state
      const hwm = results.reduce((a, r) => a + r.ctHwm, 0);
      if (!summary.sequentialReason && (hwm >= compiled.ctMax || results.some((r) => r.ctStats && (r.ctStats.earlyDrops || r.ctStats.fullDrops)))) {
        summary.sequentialReason = `the conntrack table (${compiled.ctMax} entries) may fill up`;
      }
      if (summary.sequentialReason) {
        nShards = 1;
        const p = await run.pass(path, name, compiled.ifaceNames, [0], 1, new Uint32Array(0), !!o.out, !!o.drops, maxBatches, null);
        summary.passes++;
        results.length = 0;
        results.push(p.results[0]);
      }
    }
    if (summary.sequentialReason) summary.sequential = read.packets;
    const m = mergeResults(results, compiled.nCounters);
    const ctBuf = compiled.conntrack ? mergeConntrack(results) : new ArrayBuffer(0);
    // the output files in the format of the capture (outputFormat: decided by its first batch)
    const fmt = read.format ?? outputFormat(read.info);
    if (o.out) writeForwarded(results, o.out, fmt);
    if (o.drops) {
      const dw = new DropsWriter(o.drops, { compiled, api }, fmt);
      try { replayDropRecords(results.map((r) => r.drec), dw.write); } catch (e) { dw.abort(); throw e; }
      dw.close();
    }
    const slots = Array.from({ length: ST_SIZE }, (_, i) => m.stats[i] ?? 0n);
    const engine = {
      compiled,
      core: { memory: { buffer: ctBuf } },
      ctAddr: compiled.conntrack ? MERGED_CT_TABLE : 0,
      packets: read.packets,
      lastTsSec: read.lastTsSec,
      lastTsNsec: read.lastTsNsec,
      lastJiffies: () => ((BigInt(read.lastTsSec) * 1000000000n + BigInt(read.lastTsNsec)) * BigInt(compiled.hz)) / 1000000000n,
      counters: () => m.counters,
      stats: () => statsFromSlots(slots, m.ct),
      lastResults: () => new Uint32Array(0),
    } as unknown as Engine;
    return { rs, compiled, engine, drops: m.drops, captureError: read.captureError, info: read.info, api, partial: summary.partial, pool: summary };
  } finally {
    process.off('SIGINT', onSigint);
    progress.done();
    await run.close();
    if (fromStdin) { try { unlinkSync(path); } catch { /* gone */ } }
  }
}

/** After the report: the partial marker on stdout, the pool summary on stderr (unless quiet). */
export function writePoolNotes(r: PoolOutcome, quiet: boolean): void {
  if (r.partial) process.stdout.write(partialNote(r.engine.packets));
  if (!quiet) process.stderr.write(`${formatPoolSummary(r.pool)}\n`);
}

/** The pool's line for stderr: worker count, passes, re-replayed and sequential-path packets. */
export function formatPoolSummary(s: PoolSummary): string {
  const seq = s.sequential ? `, ${s.sequential} packets on the sequential path (${s.sequentialReason})` : '';
  return `pool: ${s.workers} workers, ${s.passes} pass${s.passes === 1 ? '' : 'es'}, ${s.rereplayed} packets re-replayed${seq}${s.partial ? ', PARTIAL (interrupted)' : ''}`;
}
