// Feeding a capture to the replay without per-packet JS: the file's bytes are read straight into
// the core (single worker) or into SharedArrayBuffers (the pool) and framed by the core. Classic
// pcap: the core walks the record headers (assembly/api-engine.ts pcapFrame: record header ->
// descriptor, one pass). pcapng (files; for the single worker also stdin and pipes, the pool
// spools those to a file): the core walks the blocks (assembly/api-pcapng.ts pcapngFrame: EPB/SPB
// -> descriptor through the section's interface table, NGI_* in src/layout.ts) and stops at every
// block it does not frame or skip (SHB, IDB, damage, the end of its bytes), which the reader's own
// block code reads (src/pcap/reader.ts PcapngBlocks) before the walk resumes. A classic pcap on
// stdin or a pipe, and tests' `general`, go through the general reader (readCapture) and
// loadBatch; every way gives the same descriptors (test/replay/feed.test.ts, pcapng-feed.test.ts).
//
// Errors are the reader's (same messages, byte offsets and packet numbers): a record or block that
// is corrupt or cut by the end of the file ends the replay after every packet before it.
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { classicPcapHeader, pcapRecordError, pcapTruncatedError, readCapture, CaptureError, PcapngBlocks, type ClassicPcap, type CaptureInfo, type PcapngIface } from '../pcap/reader.js';
import { DESC_LINKTYPE, PCAPNG_MAX_BLOCK, PCAPNG_MAX_CAPLEN, NGI_LW, NGI_SNAPLEN, NGI_MODE, NGI_K, NGI_UNITS, NGI_A, NGI_OFFSET, NGI_SIZE } from '../layout.js';
import { interfaceMap, type Engine, type ForwardedSink } from './engine.js';
import { outputFormat, type DropSink, type OutputFormat } from './drops.js';

/** Packets per batch the core frames and runs at a time (single worker). */
export const ENGINE_BATCH = 65536;
/** Bytes read from the file at a time. */
export const CHUNK_BYTES = 8 << 20;
/** Tests of the chunk seams (records cut by a chunk's end, records larger than a chunk):
 * NFREPLAY_TEST_CHUNK_BYTES makes the pool's chunks that small. */
export const POOL_CHUNK_BYTES = Number(process.env.NFREPLAY_TEST_CHUNK_BYTES ?? 0) || CHUNK_BYTES;
/** Tests of the Ctrl-C path (the single worker and the pool): NFREPLAY_TEST_BATCH_DELAY_MS waits
 * that long after each batch; NFREPLAY_TRACE=1 prints 'nfreplay: batch N done' on stderr when
 * batch N has run (the single worker adds its packet count: its batches end at chunk seams). */
export const TEST_DELAY_MS = Number(process.env.NFREPLAY_TEST_BATCH_DELAY_MS ?? 0) || 0;
export const TRACE = process.env.NFREPLAY_TRACE === '1';

export interface RawPcap extends ClassicPcap {
  fd: number;
  name: string;
  /** pcapFrame's flags: bit 0 big-endian, bit 1 nanosecond timestamps. */
  flags: number;
}

/** Open `path` for the raw feed when it is a classic pcap file (null: use readCapture). */
export function openClassicPcap(path: string, name: string): RawPcap | null {
  if (path === '-') return null;
  // regular files only (positional reads; a FIFO or device is opened once, by readCapture: an
  // open and close here would end the writer's side)
  try { if (!statSync(path).isFile()) return null; } catch { return null; } // readCapture reports it
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return null; }
  try {
    const head = new Uint8Array(24);
    const p = readFull(fd, head, 0, 24, 0) === 24 ? classicPcapHeader(head, name) : null;
    if (!p) { closeSync(fd); return null; }
    return { ...p, fd, name, flags: (p.bigEndian ? 1 : 0) | (p.nanosecond ? 2 : 0) };
  } catch {
    closeSync(fd);
    return null;
  }
}

/** Read into `buf` [off, off + len) from file offset `pos` until full or the end of the file. */
export function readFull(fd: number, buf: Uint8Array, off: number, len: number, pos: number): number {
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, off + got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** A batch of whole records inside a chunk: byte offset, byte length, packets, first ordinal. */
export interface RawBatch { off: number; len: number; n: number; ord: number; tsSec: number; tsNsec: number }

/** A capture file read in chunks for the pool's main thread: each chunk a SharedArrayBuffer of
 * whole records (or blocks); the incomplete tail of one is carried to the start of the next. */
abstract class SharedChunks {
  /** Absolute file offset of the next byte to read. */
  private filePos: number;
  /** Bytes of an incomplete record carried to the next chunk (in `carrySab` at `carryOff`). */
  protected carry = 0;
  protected carrySab: SharedArrayBuffer | null = null;
  protected carryOff = 0;
  protected eof = false;
  /** Set when the framing met damage: thrown by the next `next()` (after the packets before it). */
  protected pending: CaptureError | null = null;
  /** Packets framed so far (the next ordinal). */
  packets = 0;
  /** Bytes of the file consumed (whole records or blocks, and the file header). */
  bytes: number;

  constructor(protected readonly fd: number, start: number) {
    this.filePos = start;
    this.bytes = start;
  }

  close(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
  }

  /** Whether there is a next chunk; throws the pending error (once) first. */
  protected more(): boolean {
    if (this.pending) { const e = this.pending; this.pending = null; this.eof = true; this.carry = 0; throw e; }
    return !(this.eof && this.carry === 0);
  }

  /** A chunk of at least `need` bytes (`reuse` when large enough): the carried bytes, then as
   *  many of the file's next bytes as fit; `filled` = bytes in it. */
  protected fill(reuse: SharedArrayBuffer | undefined, need: number): { sab: SharedArrayBuffer; u8: Uint8Array; filled: number } {
    const sab = reuse && reuse.byteLength >= need ? reuse : new SharedArrayBuffer(need);
    const u8 = new Uint8Array(sab);
    if (this.carry) u8.set(new Uint8Array(this.carrySab!, this.carryOff, this.carry), 0);
    let filled = this.carry;
    if (!this.eof) {
      const got = readFull(this.fd, u8, filled, sab.byteLength - filled, this.filePos);
      this.filePos += got;
      filled += got;
      if (filled < sab.byteLength) this.eof = true;
    }
    return { sab, u8, filled };
  }

  /** Bytes [pos, filled) of `sab` are carried to the next chunk (none after damage). */
  protected keep(sab: SharedArrayBuffer, pos: number, filled: number): void {
    this.carry = this.pending ? 0 : filled - pos;
    this.carrySab = sab;
    this.carryOff = pos;
  }
}

/** The pool's main thread: a classic pcap file in chunks of whole records, each in a
 * SharedArrayBuffer, cut into batches of at most `batch` packets. The only per-packet work is
 * reading each record's caplen (to find the next record); the workers' cores build the
 * descriptors. */
export class PcapChunks extends SharedChunks {
  constructor(readonly raw: RawPcap, private readonly batch: number, private readonly chunkBytes = CHUNK_BYTES) {
    super(raw.fd, 24);
  }

  /** The timestamp of the record at `at` (as the reader gives it). */
  private ts(dv: DataView, at: number): { tsSec: number; tsNsec: number } {
    const le = !this.raw.bigEndian;
    return { tsSec: dv.getUint32(at, le), tsNsec: (dv.getUint32(at + 4, le) * (this.raw.nanosecond ? 1 : 1000)) >>> 0 };
  }

  /** The next chunk, in `reuse` when it is large enough, else in a new buffer; null at the end.
   * Throws the CaptureError of damaged input once the packets before it have been returned. */
  next(reuse: SharedArrayBuffer | undefined): { sab: SharedArrayBuffer; batches: RawBatch[] } | null {
    if (!this.more()) return null;
    const r = this.raw;
    // a record longer than a chunk gets a chunk of its own size
    let need = this.chunkBytes;
    if (this.carry >= 16) {
      const dv = new DataView(this.carrySab!, this.carryOff, 16);
      const cl = dv.getUint32(8, !r.bigEndian);
      if (cl <= r.maxCaplen) need = Math.max(need, 16 + cl);
    }
    const { sab, filled } = this.fill(reuse, need);
    const base = this.bytes; // file offset of byte 0 of this chunk
    const dv = new DataView(sab);
    const le = !r.bigEndian, max = r.maxCaplen, per = this.batch;
    const batches: RawBatch[] = [];
    let pos = 0, start = 0, n = 0, last = -1;
    for (;;) {
      if (filled - pos < 16) break;
      const cl = dv.getUint32(pos + 8, le);
      if (cl > max) { this.pending = pcapRecordError(r.name, base + pos, this.packets + n + 1, cl, max); break; }
      if (filled - pos < 16 + cl) break;
      last = pos;
      pos += 16 + cl;
      if (++n === per) {
        batches.push({ off: start, len: pos - start, n, ord: this.packets, ...this.ts(dv, last) });
        this.packets += n;
        start = pos; n = 0;
      }
    }
    if (n) { batches.push({ off: start, len: pos - start, n, ord: this.packets, ...this.ts(dv, last) }); this.packets += n; }
    this.bytes = base + pos;
    this.keep(sab, pos, filled);
    if (this.eof && this.carry && !this.pending) {
      // the end of the file inside a record
      this.pending = pcapTruncatedError(r.name, base + pos, this.packets + 1);
      this.carry = 0;
    }
    return { sab, batches };
  }
}

type Fn = (...a: number[]) => number;

export interface FeedOptions {
  /** Name in error messages (default: the path). */
  name?: string;
  onInfo?: (info: CaptureInfo) => void;
  /** Called once, before the first batch, with the first packet's link type and the output format
   *  (drops.ts outputFormat): the sink for forwarded packets (--out), or undefined. */
  sink?: (linktype: number, format: OutputFormat) => ForwardedSink | undefined;
  /** Called once, before the first batch (after `sink`): the sink for dropped packets (--drops). */
  drops?: (format: OutputFormat) => DropSink | undefined;
  /** Asked before each batch: true stops the replay there (Ctrl-C); the result says `partial`. */
  stop?: () => boolean;
  /** Awaited after each batch with the batches and packets run so far (tests, tracing). */
  onBatch?: (batches: number, packets: number) => unknown;
  /** Host interface names (pcapng interface names map to them). */
  hostNames: string[];
  /** Use the general reader even for classic pcap (tests compare the two feeds). */
  general?: boolean;
  /** Bytes read at a time and packets run at a time (tests of the seams; default CHUNK_BYTES,
   *  ENGINE_BATCH). */
  chunkBytes?: number;
  batch?: number;
}

export interface FeedResult {
  drops: Map<number, number>;
  /** Stopped by `stop` before the end of the capture. */
  partial?: boolean;
  captureError: CaptureError | null;
  info: CaptureInfo | null;
}

/** The single-worker replay of a capture through `engine`: a classic pcap file is read straight
 * into the core and framed there; anything else goes through readCapture. Damaged input ends it
 * with `captureError` (the packets before the damage are replayed); other errors are thrown. */
export async function replayCapture(engine: Engine, path: string, o: FeedOptions): Promise<FeedResult> {
  const name = o.name ?? (path === '-' ? 'stdin' : path);
  const drops = new Map<number, number>();
  const raw = o.general ? null : openClassicPcap(path, name);
  const ng = raw || o.general ? null : openPcapng(path);
  let info: CaptureInfo | null = null;
  let sink: ForwardedSink | undefined;
  let dsink: DropSink | undefined;
  let first = true;
  // the output files' format is decided by the first batch (the pool decides it the same way)
  const begin = (linktype: number) => {
    first = false;
    const fmt = outputFormat(info, linktype);
    sink = o.sink?.(linktype, fmt);
    dsink = o.drops?.(fmt);
  };
  let batches = 0;
  const after = async (n: number) => {
    engine.countDrops(n, drops);
    if (dsink) engine.scanDrops(n, dsink);
    batches++;
    if (o.onBatch) await o.onBatch(batches, engine.packets);
    // let a signal handler run between batches
    else if (o.stop) await new Promise((r) => setImmediate(r));
  };
  const ngRun = (read: SeqRead) => replayPcapng(engine, read, name, o, drops, (i) => { info = i; }, (lt) => { if (first) begin(lt); return sink; }, after);
  if (ng !== null) {
    try {
      const mem = () => new Uint8Array(engine.core.memory.buffer);
      return await ngRun((at, len, pos) => readFull(ng, mem(), at, len, pos));
    } finally {
      closeSync(ng);
    }
  }
  // stdin or a pipe: a pcapng stream is read into the core too (the pool spools it to a file and
  // reads that raw: both decide the same things the same way); anything else goes to readCapture
  const stream = raw || o.general ? null : await openStream(path);
  if (stream && isShb(stream.head)) {
    try {
      const mem = () => new Uint8Array(engine.core.memory.buffer);
      return await ngRun((at, len) => stream.fill(mem, at, len));
    } finally {
      await stream.close();
    }
  }
  if (!raw) {
    let ifmap: Uint16Array | null = null;
    try {
      const gen = readCapture(stream ? stream.rest() : path, { name, reuseBuffers: true, onInfo: (i) => { info = i; ifmap = interfaceMap(i, o.hostNames); o.onInfo?.(i); } });
      for await (const b of gen) {
        if (o.stop?.()) return { drops, captureError: null, info, partial: true };
        if (first && b.count) begin(b.linktype[0]);
        engine.runBatch(b, ifmap, sink);
        await after(b.count);
      }
    } catch (e) {
      if (e instanceof CaptureError) return { drops, captureError: e, info };
      throw e;
    } finally {
      await stream?.close();
    }
    return { drops, captureError: null, info };
  }
  info = raw.info;
  o.onInfo?.(raw.info);
  const core = engine.core;
  const frame = core.pcapFrame as Fn, nextAddr = core.frameNextAddr as Fn, status = core.frameStatus as Fn;
  const per = o.batch ?? ENGINE_BATCH;
  let a = engine.areas(per, o.chunkBytes ?? CHUNK_BYTES);
  a.dataCap = o.chunkBytes ?? a.dataCap;
  let filled = 0;          // bytes in the data area
  let base = 24;           // file offset of the data area's first byte
  let eof = false;
  let ord = 0;
  try {
    for (;;) {
      if (!eof) {
        const got = readFull(raw.fd, new Uint8Array(core.memory.buffer), a.data + filled, a.dataCap - filled, base + filled);
        if (got < a.dataCap - filled) eof = true;
        filled += got;
      }
      const end = a.data + filled;
      let p = a.data;
      for (;;) {
        if (o.stop?.()) return { drops, captureError: null, info, partial: true };
        const n = frame(p, end, a.descs, per, raw.flags, raw.linktype, raw.maxCaplen, ord) >>> 0;
        p = nextAddr() >>> 0;
        const bad = status();
        if (n) {
          if (first) begin(raw.linktype);
          engine.runDescs(n, sink);
          ord += n;
          await after(n);
        }
        if (bad) {
          const cl = new DataView(core.memory.buffer).getUint32(p + 8, !raw.bigEndian);
          return { drops, captureError: pcapRecordError(name, base + (p - a.data), ord + 1, cl, raw.maxCaplen), info };
        }
        if (n < per) break;
      }
      const carry = end - p;
      if (eof) {
        if (carry) return { drops, captureError: pcapTruncatedError(name, base + (p - a.data), ord + 1), info };
        return { drops, captureError: null, info };
      }
      // the incomplete record to the front; a record larger than the area gets a larger one
      const recAt = base + (p - a.data);
      let want = a.dataCap;
      if (carry >= 16) want = Math.max(want, 16 + new DataView(core.memory.buffer).getUint32(p + 8, !raw.bigEndian));
      if (want > a.dataCap) a = engine.areas(per, want); // the old area stays readable
      new Uint8Array(core.memory.buffer).copyWithin(a.data, p, end);
      base = recAt;
      filled = carry;
    }
  } finally {
    closeSync(raw.fd);
  }
}

// ---------------------------------------------------------------- pcapng, raw

/** Open `path` for the raw pcapng feed when it is a regular file starting with a section header
 * block's type (an fd; null: not pcapng, or not a regular file: use readCapture, which reports
 * any error). */
export function openPcapng(path: string): number | null {
  if (path === '-') return null;
  try { if (!statSync(path).isFile()) return null; } catch { return null; }
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return null; }
  const head = new Uint8Array(4);
  if (readFull(fd, head, 0, 4, 0) === 4 && head[0] === 0x0a && head[1] === 0x0d && head[2] === 0x0d && head[3] === 0x0a) return fd;
  closeSync(fd);
  return null;
}

const pow10 = (k: number): bigint => 10n ** BigInt(k);

/** Reads `len` bytes into core memory at `at` (file offset `pos`): fewer only at the end. */
type SeqRead = (at: number, len: number, pos: number) => number | Promise<number>;

const isShb = (h: Uint8Array) => h.length >= 4 && h[0] === 0x0a && h[1] === 0x0d && h[2] === 0x0d && h[3] === 0x0a;

interface OpenStream {
  /** The first bytes (up to 4; fewer at the end of the input). */
  head: Uint8Array;
  /** Fill [at, at + len) of `mem()` from the input (the head first): fewer bytes only at the end. */
  fill(mem: () => Uint8Array, at: number, len: number): Promise<number>;
  /** The whole input (the head first) as a stream, for readCapture. */
  rest(): NodeJS.ReadableStream;
  close(): Promise<void>;
}

/** stdin ('-') or a FIFO/device opened once for sequential reads, its first 4 bytes read; null for
 * a regular file or anything that cannot be opened (readCapture reports that). */
async function openStream(path: string): Promise<OpenStream | null> {
  let next: () => Promise<Uint8Array | null>;
  let close: () => Promise<void>;
  if (path === '-') {
    const it = (process.stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
    next = async () => { const r = await it.next(); return r.done ? null : typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value; };
    close = async () => { await it.return?.(); };
  } else {
    // a FIFO, a character device or a socket (a regular file is read by position, a directory or
    // anything unreadable is reported by readCapture)
    try { const st = statSync(path); if (!st.isFIFO() && !st.isCharacterDevice() && !st.isSocket()) return null; } catch { return null; }
    let fh: Awaited<ReturnType<typeof openFile>>;
    try { fh = await openFile(path, 'r'); } catch { return null; }
    next = async () => {
      const b = new Uint8Array(1 << 16);
      const { bytesRead } = await fh.read(b, 0, b.length, null);
      return bytesRead ? b.subarray(0, bytesRead) : null;
    };
    close = () => fh.close();
  }
  let pending: Uint8Array | null = null;
  let ended = false;
  const more = async (): Promise<boolean> => {
    while (!ended && (!pending || pending.length === 0)) {
      const c = await next();
      if (!c) ended = true; else pending = c;
    }
    return !ended || (pending !== null && pending.length > 0);
  };
  // the head: up to 4 bytes, kept in `pending` for the reads that follow
  const parts: Uint8Array[] = [];
  let have = 0;
  while (have < 4 && await more()) { parts.push(pending!); have += pending!.length; pending = null; }
  pending = Buffer.concat(parts);
  const head = pending.subarray(0, 4);
  let closed = false;
  return {
    head,
    async fill(mem, at, len) {
      let got = 0;
      while (got < len && await more()) {
        const n = Math.min(len - got, pending!.length);
        mem().set(pending!.subarray(0, n), at + got);
        pending = pending!.subarray(n);
        got += n;
      }
      return got;
    },
    rest() {
      return Readable.from((async function* () {
        while (await more()) { const c = pending!; pending = null; yield c; }
      })(), { objectMode: false });
    },
    async close() { if (!closed) { closed = true; await close(); } },
  };
}

/** Write the current section's interfaces into the core's table at `addr` (NGI_* entries):
 * link type, host interface (the interface name among `hostNames`, else 0xFFFF: interfaceMap),
 * snaplen and the timestamp split of its if_tsresol / if_tsoffset. */
export function writeIfaceTable(mem: ArrayBuffer, addr: number, ifaces: readonly PcapngIface[], info: CaptureInfo, hostNames: string[]): void {
  const dv = new DataView(mem, addr, ifaces.length * NGI_SIZE);
  ifaces.forEach((f, i) => {
    const e = i * NGI_SIZE;
    const nm = info.interfaces[f.globalId]?.name;
    const h = nm ? hostNames.indexOf(nm) : -1;
    dv.setUint32(e + NGI_LW, (f.linktype & 0xffff) | ((h >= 0 ? h : 0xffff) << 16) >>> 0, true);
    dv.setUint32(e + NGI_SNAPLEN, f.snaplen >>> 0, true);
    const k = f.resol & 0x7f;
    let mode: number, units = 0n, a = 0n;
    if (f.resol & 0x80) mode = 2;
    else if (k <= 9) { mode = 0; units = pow10(k); a = pow10(9 - k); }
    else if (k <= 28) { mode = 1; units = k <= 19 ? pow10(k) : 0n; a = pow10(k - 9); }
    else mode = 3;
    dv.setUint32(e + NGI_MODE, mode, true);
    dv.setUint32(e + NGI_K, k, true);
    dv.setBigUint64(e + NGI_UNITS, units, true);
    dv.setBigUint64(e + NGI_A, a, true);
    dv.setBigInt64(e + NGI_OFFSET, BigInt.asIntN(64, BigInt(f.tsOffset)), true);
  });
}

/** The single worker's raw pcapng feed: the file read in chunks into the core's data area, the
 * packet blocks framed by the core (pcapngFrame), every other block it stops at read by the
 * reader's code (PcapngBlocks), which updates the core's interface table. */
async function replayPcapng(engine: Engine, read: SeqRead, name: string, o: FeedOptions, drops: Map<number, number>,
  setInfo: (i: CaptureInfo) => void, begin: (linktype: number) => ForwardedSink | undefined, after: (n: number) => Promise<void>): Promise<FeedResult> {
  const core = engine.core;
  const frame = core.pcapngFrame as Fn, nextAddr = core.pcapngNextAddr as Fn;
  const blocks = new PcapngBlocks(name);
  let info: CaptureInfo | null = null;
  const per = o.batch ?? ENGINE_BATCH;
  let a = engine.areas(per, o.chunkBytes ?? CHUNK_BYTES);
  a.dataCap = o.chunkBytes ?? a.dataCap;
  let tabCap = 16;
  let tab = core.reserve(tabCap * NGI_SIZE) >>> 0;
  let nIf = 0, be = 0;
  let filled = 0;          // bytes in the data area
  let base = 0;            // file offset of the data area's first byte
  let eof = false;
  let ord = 0;
  try {
    for (;;) {
      if (!eof) {
        const want = a.dataCap - filled;
        const got = await read(a.data + filled, want, base + filled);
        if (got < want) eof = true;
        filled += got;
      }
      const end = a.data + filled;
      let p = a.data;
      let need = 0;
      for (;;) {
        if (o.stop?.()) return { drops, captureError: null, info, partial: true };
        const n = frame(p, end, a.descs, per, be, tab, nIf, ord) >>> 0;
        p = nextAddr() >>> 0;
        if (n) {
          const sink = begin(new DataView(core.memory.buffer).getUint16(a.descs + DESC_LINKTYPE, true));
          engine.runDescs(n, sink);
          ord += n;
          await after(n);
          if (n === per) continue;
        }
        // the core stopped at p: the end of its bytes, or a block for the reader's code
        const at = p - a.data;
        const q = blocks.block(new Uint8Array(core.memory.buffer, a.data, filled), at, filled, eof, base, ord);
        if (blocks.gotPacket) throw new Error(`internal: the core stopped at a packet block the reader takes (byte ${base + at})`);
        if (blocks.takeChange()) {
          const ifs = blocks.interfaces;
          if (ifs.length > tabCap) { tabCap = Math.max(ifs.length, tabCap * 2); tab = core.reserve(tabCap * NGI_SIZE) >>> 0; }
          info = blocks.info;
          setInfo(info);
          o.onInfo?.(info);
        }
        be = blocks.bigEndian ? 1 : 0;
        nIf = blocks.interfaces.length;
        if (nIf) writeIfaceTable(core.memory.buffer, tab, blocks.interfaces, blocks.info, o.hostNames);
        if (q === at) { need = blocks.need; break; }
        p = a.data + q;
      }
      if (eof) return { drops, captureError: null, info };
      // the incomplete block to the front; a block larger than the area gets a larger one
      const carry = end - p;
      const blockAt = base + (p - a.data);
      const want = Math.max(a.dataCap, need);
      if (want > a.dataCap) { const na = engine.areas(per, want); a = { ...na, dataCap: Math.max(Math.min(o.chunkBytes ?? na.dataCap, na.dataCap), want) }; }
      new Uint8Array(core.memory.buffer).copyWithin(a.data, p, end);
      base = blockAt;
      filled = carry;
    }
  } catch (e) {
    if (e instanceof CaptureError) return { drops, captureError: e, info };
    throw e;
  }
}

/** A batch of the pool's pcapng chunks: whole blocks at `off` (`len` bytes) of the chunk, `n`
 * packets from ordinal `ord`, of one section (`be`: big-endian) whose interface table is `table`
 * (`nIf` NGI_* entries); the workers' cores frame it with pcapngFrame (which skips the blocks the
 * reader skips between its packets). */
export interface NgBatch extends RawBatch { be: number; table: Uint8Array; nIf: number }

/** The worker's message for an NgBatch. */
export type NgBatchMsg = { t: 'ng'; seq: number; sab: SharedArrayBuffer; off: number; len: number; n: number; ord: number; be: number; table: Uint8Array; nIf: number };

/** The pool's main thread: a pcapng file in chunks of whole blocks, each in a SharedArrayBuffer,
 * cut into batches of at most `batch` packets and at every block the core does not frame (SHB,
 * IDB: read here by the reader's code, which updates the interface table the next batches carry).
 * The only per-packet work is the block walk (type, lengths and, for packet blocks, the checks
 * pcapngFrame makes, so that a worker's core frames exactly the batch's packets); the workers'
 * cores build the descriptors. Damage: the reader's CaptureError, thrown by the next `next()`
 * after the packets before it. */
export class PcapngChunks extends SharedChunks {
  private need = 0;
  readonly blocks: PcapngBlocks;
  /** The output format (drops.ts outputFormat), decided at the first packet as replayCapture does. */
  format: OutputFormat | null = null;
  /** The first packet's link type. */
  linktype: number | null = null;
  private table = new Uint8Array(0);
  private nIf = 0;
  private be = 0;
  /** Interfaces changed since the last `takeInfo()`. */
  private changed = false;

  constructor(fd: number, name: string, private readonly hostNames: string[], private readonly batch: number, private readonly chunkBytes = CHUNK_BYTES) {
    super(fd, 0);
    this.blocks = new PcapngBlocks(name);
  }

  /** The capture's info once an interface was read (null before), as readCapture's onInfo gives it. */
  info(): CaptureInfo | null { return this.changed || this.blocks.info.interfaces.length ? this.blocks.info : null; }

  next(reuse: SharedArrayBuffer | undefined): { sab: SharedArrayBuffer; batches: NgBatch[] } | null {
    if (!this.more()) return null;
    const { sab, u8, filled } = this.fill(reuse, Math.max(this.chunkBytes, this.need, this.carry));
    const base = this.bytes;
    const dv = new DataView(sab);
    const per = this.batch, blocks = this.blocks;
    const batches: NgBatch[] = [];
    let pos = 0, start = 0, n = 0;
    let lastIf = -1, lastHi = 0, lastLo = 0; // the batch's last packet (-1: an SPB)
    const cut = () => {
      if (n) {
        const ts = lastIf < 0 ? { tsSec: 0, tsNsec: 0 } : blocks.time(lastIf, lastHi, lastLo);
        if (this.linktype === null) {
          // the first packet's link type: its interface's entry in the table
          this.linktype = this.firstLinktype(dv, start);
          this.format = outputFormat(blocks.info, this.linktype);
        }
        batches.push({ off: start, len: pos - start, n, ord: this.packets, be: this.be, table: this.table, nIf: this.nIf, ...ts });
        this.packets += n;
      }
      start = pos; n = 0;
    };
    this.need = 0;
    for (;;) {
      // the checks of pcapngFrame: a block it frames or skips stays in the batch
      if (filled - pos >= 12) {
        const le = this.be === 0;
        const len = dv.getUint32(pos + 4, le);
        if (dv.getUint32(pos, true) !== 0x0a0d0d0a && len >= 12 && (len & 3) === 0 && len <= PCAPNG_MAX_BLOCK && pos + len <= filled && dv.getUint32(pos + len - 4, le) === len) {
          const type = dv.getUint32(pos, le);
          if (type === 6) {
            if (len >= 32) {
              const ifid = dv.getUint32(pos + 8, le);
              const cl = dv.getUint32(pos + 20, le);
              if (ifid < this.nIf && 32 + cl + ((4 - (cl & 3)) & 3) <= len && (cl <= PCAPNG_MAX_CAPLEN || cl <= this.snaplen(ifid))) {
                lastIf = ifid; lastHi = dv.getUint32(pos + 12, le); lastLo = dv.getUint32(pos + 16, le);
                pos += len;
                if (++n === per) cut();
                continue;
              }
            }
          } else if (type === 3) {
            if (len >= 16 && this.nIf > 0) {
              lastIf = -1;
              pos += len;
              if (++n === per) cut();
              continue;
            }
          } else if (type !== 1) { pos += len; continue; }
        }
      }
      // a block for the reader's code (or the end of the bytes)
      cut();
      let q: number;
      try {
        q = blocks.block(u8, pos, filled, this.eof, base, this.packets);
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
        this.pending = e;
        break;
      }
      if (blocks.gotPacket) throw new Error(`internal: the pcapng walk stopped at a packet block the reader takes (byte ${base + pos})`);
      if (blocks.takeChange()) this.changed = true;
      this.setTable();
      if (q === pos) { this.need = blocks.need; break; }
      pos = start = q;
    }
    this.bytes = base + pos;
    this.keep(sab, pos, filled);
    return { sab, batches };
  }

  private snaplen(ifid: number): number {
    return new DataView(this.table.buffer).getUint32(ifid * NGI_SIZE + NGI_SNAPLEN, true);
  }

  private firstLinktype(dv: DataView, at: number): number {
    // the batch's first packet block (blocks the reader skips may come before it)
    const le = this.be === 0;
    for (;;) {
      const type = dv.getUint32(at, le);
      if (type === 6 || type === 3) {
        const ifid = type === 6 ? dv.getUint32(at + 8, le) : 0;
        return new DataView(this.table.buffer).getUint32(ifid * NGI_SIZE + NGI_LW, true) & 0xffff;
      }
      at += dv.getUint32(at + 4, le);
    }
  }

  /** The current section's interface table, as the core reads it (a new array when it changes). */
  private setTable(): void {
    const ifs = this.blocks.interfaces;
    this.be = this.blocks.bigEndian ? 1 : 0;
    const t = new Uint8Array(ifs.length * NGI_SIZE);
    if (ifs.length) writeIfaceTable(t.buffer, 0, ifs, this.blocks.info, this.hostNames);
    this.table = t;
    this.nIf = ifs.length;
  }
}
