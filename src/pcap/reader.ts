// Streaming, zero-copy reader for classic pcap and pcapng.
//
// Formats: classic pcap in either byte order with the microsecond (a1b2c3d4) or nanosecond
// (a1b23c4d) magic; pcapng with any number of sections (each with its own byte order), interfaces
// (IDB: link type, snaplen, if_name, if_tsresol, if_tsoffset), packets in EPB and SPB blocks.
// OPB (obsolete packet block), NRB, ISB, DSB, custom and unknown blocks are skipped; unknown
// options are skipped; an option running past its block ends the option list (no overrun).
// Link types are reported as found; the core decodes Ethernet, raw IPv4 (101, 228), SLL and SLL2.
//
// How to use:
//   const gen = readCapture('x.pcapng', { onInfo: (info) => ... });
//   for await (const b of gen) for (let i = 0; i < b.count; i++) {
//     const frame = b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]); ...
//   }
// `batch.info` is the same CaptureInfo object for the whole file (a pcapng IDB seen later in the
// file appends to `info.interfaces` and calls `onInfo` again). The generator's return value (the
// `value` when `done`) is a CaptureEnd.
//
// Memory and ownership. The file is read with fs reads of `chunkBytes` (default 4 MiB) into a
// chunk buffer; packets are never copied: `offset[i]` points into `data`, a view of the chunk that
// spans exactly this batch's frames (from the first frame's first byte to the last frame's last
// byte, record headers between frames included), so copying `data` once moves the whole batch;
// several consecutive batches can share one chunk's ArrayBuffer. A record cut by a chunk end is
// moved to the front of the next chunk (its only copy). With `reuseBuffers: false` (the default)
// every chunk is a fresh buffer, so a caller may keep `data` as long as it likes (do not transfer
// or detach `data.buffer`: later batches may still view it; copy out instead). With
// `reuseBuffers: true` one buffer is reused: `data` and the typed arrays of a batch are valid only
// until the next iteration of the generator. A batch holds at most `batchPackets` packets
// (default 16384) and never spans two chunks.
//
// Errors. A file that cannot be opened or read throws a CaptureError with byteOffset -1 and the
// message `file.pcap: cannot read capture: no such file`. Bad or truncated input throws a
// CaptureError from the generator after every packet
// before the damage has been yielded (so those packets still count). The message reads
// `file.pcap: truncated packet record at byte 123456 (packet 1042)`: the byte offset of the record
// or block at fault and the 1-based number of the packet being read (= packets yielded + 1).
// Sanity bound: a record whose caplen exceeds max(snaplen, 256 KiB) is corrupt (as libpcap).
//
// Interface ids: `ifaceId[i]` indexes `info.interfaces`, numbered across sections (a second
// section's first IDB gets the next number); classic pcap has one interface, id 0, named null.

import { open } from 'node:fs/promises';

export interface PacketBatch {
  /** Raw bytes holding the frames: a chunk of the file (see ownership above). */
  data: Uint8Array;
  count: number;
  /** Frame start within `data`. */
  offset: Uint32Array;
  caplen: Uint32Array;
  wirelen: Uint32Array;
  tsSec: Uint32Array;
  tsNsec: Uint32Array;
  linktype: Uint16Array;
  /** Index into info.interfaces (pcapng IDB, numbered across sections; 0 for classic pcap). */
  ifaceId: Uint16Array;
  /** 0-based packet number in the file. */
  ordinal: Uint32Array;
  info: CaptureInfo;
}

export interface CaptureInterface {
  name: string | null;
  linktype: number;
  /** Nanoseconds per timestamp unit (1000 for microseconds, 1 for nanoseconds, may be fractional). */
  tsResolNs: number;
  snaplen: number;
  /** pcapng section (0-based) the interface belongs to. */
  section: number;
}

export interface CaptureInfo {
  format: 'pcap' | 'pcapng';
  /** Timestamps finer than microseconds (pcap nano magic; pcapng: the first interface's resolution). */
  nanosecond: boolean;
  /** Classic pcap header snaplen; pcapng: the first interface's. */
  snaplen: number;
  /** Classic pcap header link type; pcapng: the first interface's (-1 before any IDB). */
  linktype: number;
  /** File byte order: true for big-endian (pcapng: the first section's). */
  bigEndian: boolean;
  interfaces: CaptureInterface[];
  /** pcapng sections seen so far (1 for classic pcap). */
  sections: number;
}

export interface CaptureEnd {
  info: CaptureInfo;
  /** Packets yielded. */
  packets: number;
  /** Bytes of the file consumed. */
  bytes: number;
}

export interface ReadOptions {
  batchPackets?: number;
  chunkBytes?: number;
  reuseBuffers?: boolean;
  /** Called when the file header is read and again whenever a pcapng IDB adds an interface. */
  onInfo?: (info: CaptureInfo) => void;
  /** Name used in error messages (default: the path, or 'stdin'). */
  name?: string;
}

export class CaptureError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    /** Absolute file offset of the record/block at fault. */
    readonly byteOffset: number,
    /** 1-based number of the packet being read when it failed (packets before it were yielded). */
    readonly packet: number,
  ) {
    // byteOffset -1: the file could not be opened or read at all (I/O error, not a format error)
    super(byteOffset < 0 ? `${file}: ${reason}` : `${file}: ${reason} at byte ${byteOffset} (packet ${packet})`);
    this.name = 'CaptureError';
  }
  /** Packets yielded before the error. */
  get packetsBefore(): number {
    return this.packet - 1;
  }
}

export const MAX_CAPLEN = 262144;
const MAX_BLOCK = 16 * 1024 * 1024;
const DEFAULT_BATCH = 16384;
const DEFAULT_CHUNK = 4 * 1024 * 1024;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BT_IDB = 1;
const BT_SPB = 3;
const BT_EPB = 6;

interface NgIface {
  globalId: number;
  linktype: number;
  snaplen: number;
  /** Timestamp units per second, decimal (10^k) or binary (2^k). */
  unitsPerSec: number;
  decimalExp: number; // k for 10^-k, -1 when binary
  /** Nanoseconds per unit when that is a whole number (10^(9-k), k <= 9), else 0. */
  nsPerUnit: number;
  tsOffset: number; // seconds
  /** The if_tsresol byte (default 6). */
  resol: number;
}

class Batch {
  count = 0;
  offset: Uint32Array;
  caplen: Uint32Array;
  wirelen: Uint32Array;
  tsSec: Uint32Array;
  tsNsec: Uint32Array;
  linktype: Uint16Array;
  ifaceId: Uint16Array;
  ordinal: Uint32Array;
  constructor(readonly cap: number) {
    this.offset = new Uint32Array(cap);
    this.caplen = new Uint32Array(cap);
    this.wirelen = new Uint32Array(cap);
    this.tsSec = new Uint32Array(cap);
    this.tsNsec = new Uint32Array(cap);
    this.linktype = new Uint16Array(cap);
    this.ifaceId = new Uint16Array(cap);
    this.ordinal = new Uint32Array(cap);
  }
  /** With `tight`, `data` is cut to span exactly this batch's frames and offsets are rebased. */
  toPacketBatch(data: Uint8Array, info: CaptureInfo, tight = false): PacketBatch {
    const n = this.count;
    if (tight && n > 0) {
      const start = this.offset[0];
      const end = this.offset[n - 1] + this.caplen[n - 1];
      for (let i = 0; i < n; i++) this.offset[i] -= start;
      data = data.subarray(start, end);
    }
    return {
      data, count: n, info,
      offset: this.offset.subarray(0, n), caplen: this.caplen.subarray(0, n), wirelen: this.wirelen.subarray(0, n),
      tsSec: this.tsSec.subarray(0, n), tsNsec: this.tsNsec.subarray(0, n), linktype: this.linktype.subarray(0, n),
      ifaceId: this.ifaceId.subarray(0, n), ordinal: this.ordinal.subarray(0, n),
    };
  }
}

/**
 * The format state machine. parse() consumes whole records/blocks from buf[pos, end) and appends
 * packets to the batch; it stops when the batch is full or the next unit is incomplete (then
 * `need` says how many bytes from the returned position it needs).
 */
class Parser {
  kind: 'start' | 'pcap' | 'pcapng' = 'start';
  info: CaptureInfo = { format: 'pcap', nanosecond: false, snaplen: 0, linktype: -1, bigEndian: false, interfaces: [], sections: 0 };
  packets = 0;
  need = 0;
  /** Absolute file offset of buf[0]. */
  base = 0;
  infoChanged = false;
  // classic pcap
  private le = true;
  private nano = false;
  private maxCaplen = MAX_CAPLEN;
  private linktype = 0;
  // pcapng
  ifaces: NgIface[] = [];

  constructor(readonly name: string) {}

  /** Classic pcap, after the file header: byte order, timestamp unit, link type, caplen limit. */
  pcapParams(): ClassicPcap | null {
    return this.kind === 'pcap' ? { info: this.info, bigEndian: !this.le, nanosecond: this.nano, linktype: this.linktype, maxCaplen: this.maxCaplen } : null;
  }

  fail(reason: string, at: number): never {
    throw new CaptureError(this.name, reason, this.base + at, this.packets + 1);
  }

  parse(buf: Uint8Array, dv: DataView, pos: number, end: number, eof: boolean, b: Batch): number {
    this.need = 0;
    if (this.kind === 'start') {
      if (end - pos < 4) return this.incomplete(pos, end, eof, 4, 'file header');
      const m = dv.getUint32(pos, false);
      if (m === PCAPNG_SHB) this.kind = 'pcapng';
      else {
        if (end - pos < 24) return this.incomplete(pos, end, eof, 24, 'file header');
        const mle = dv.getUint32(pos, true);
        if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) this.le = false;
        else if (mle === PCAP_MAGIC_US || mle === PCAP_MAGIC_NS) this.le = true;
        else this.fail(`not a pcap or pcapng file (magic 0x${m.toString(16).padStart(8, '0')})`, pos);
        this.nano = (this.le ? mle : m) === PCAP_MAGIC_NS;
        const major = dv.getUint16(pos + 4, this.le);
        if (major !== 2) this.fail(`unsupported pcap version ${major}.${dv.getUint16(pos + 6, this.le)}`, pos);
        const snaplen = dv.getUint32(pos + 16, this.le);
        const lt = dv.getUint32(pos + 20, this.le) & 0xffff; // upper bits: FCS length flags
        this.linktype = lt;
        this.maxCaplen = Math.max(snaplen, MAX_CAPLEN);
        this.kind = 'pcap';
        const info = this.info;
        info.format = 'pcap';
        info.nanosecond = this.nano;
        info.snaplen = snaplen;
        info.linktype = lt;
        info.bigEndian = !this.le;
        info.sections = 1;
        info.interfaces.push({ name: null, linktype: lt, tsResolNs: this.nano ? 1 : 1000, snaplen, section: 0 });
        this.infoChanged = true;
        pos += 24;
      }
    }
    return this.kind === 'pcap' ? this.parsePcap(buf, dv, pos, end, eof, b) : this.parseNg(buf, dv, pos, end, eof, b);
  }

  private incomplete(pos: number, end: number, eof: boolean, need: number, what: string): number {
    if (eof) {
      if (pos === end && what !== 'file header') return pos;
      if (pos === end && this.base + pos === 0) this.fail('empty capture file', pos);
      this.fail(`truncated ${what}`, pos);
    }
    this.need = need;
    return pos;
  }

  private parsePcap(buf: Uint8Array, dv: DataView, pos: number, end: number, eof: boolean, b: Batch): number {
    const le = this.le;
    const nsMul = this.nano ? 1 : 1000;
    const lt = this.linktype;
    const maxCap = this.maxCaplen;
    let n = b.count;
    const cap = b.cap;
    while (n < cap) {
      if (end - pos < 16) {
        b.count = n;
        return this.incomplete(pos, end, eof, 16, 'packet record');
      }
      const caplen = dv.getUint32(pos + 8, le);
      if (caplen > maxCap) {
        b.count = n;
        throw pcapRecordError(this.name, this.base + pos, this.packets + 1, caplen, maxCap);
      }
      if (end - pos < 16 + caplen) {
        b.count = n;
        return this.incomplete(pos, end, eof, 16 + caplen, 'packet record');
      }
      b.offset[n] = pos + 16;
      b.caplen[n] = caplen;
      b.wirelen[n] = dv.getUint32(pos + 12, le);
      b.tsSec[n] = dv.getUint32(pos, le);
      b.tsNsec[n] = dv.getUint32(pos + 4, le) * nsMul;
      b.linktype[n] = lt;
      b.ifaceId[n] = 0;
      b.ordinal[n] = this.packets++;
      n++;
      pos += 16 + caplen;
    }
    b.count = n;
    return pos;
  }

  sectionLE = true;
  private sectionBase = 0; // global id of the current section's first interface

  private parseNg(buf: Uint8Array, dv: DataView, pos: number, end: number, eof: boolean, b: Batch): number {
    while (b.count < b.cap) {
      const next = this.ngBlock(buf, dv, pos, end, eof, b);
      if (next === pos) return pos;
      pos = next;
    }
    return pos;
  }

  /** One pcapng block at `pos`: the position after it, or `pos` when it is incomplete (`need`
   * set) or the input ended there. Throws the CaptureError of a bad block. */
  ngBlock(buf: Uint8Array, dv: DataView, pos: number, end: number, eof: boolean, b: Batch): number {
    {
      if (end - pos < 12) return this.incomplete(pos, end, eof, 12, 'block');
      let le = this.sectionLE;
      const typeBE = dv.getUint32(pos, false);
      if (typeBE === PCAPNG_SHB) {
        const bom = dv.getUint32(pos + 8, true);
        if (bom === PCAPNG_BOM) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else this.fail(`bad pcapng byte-order magic 0x${dv.getUint32(pos + 8, false).toString(16)}`, pos);
      }
      const type = dv.getUint32(pos, le);
      const len = dv.getUint32(pos + 4, le);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) this.fail(`bad pcapng block length ${len} (block type 0x${type.toString(16)})`, pos);
      if (end - pos < len) return this.incomplete(pos, end, eof, len, 'block');
      if (dv.getUint32(pos + len - 4, le) !== len) this.fail(`pcapng block length mismatch (${len} vs trailing ${dv.getUint32(pos + len - 4, le)})`, pos);
      if (type === PCAPNG_SHB) this.shb(buf, dv, pos, len, le);
      else if (type === BT_EPB) this.epb(dv, pos, len, le, b);
      else if (type === BT_SPB) this.spb(dv, pos, len, le, b);
      else if (type === BT_IDB) this.idb(buf, dv, pos, len, le);
      // other blocks (OPB 2, NRB 4, ISB 5, DSB 10, custom, unknown): skipped
      return pos + len;
    }
  }

  private shb(_buf: Uint8Array, dv: DataView, pos: number, len: number, le: boolean): void {
    if (len < 28) this.fail(`pcapng section header block too short (${len} bytes)`, pos);
    const major = dv.getUint16(pos + 12, le);
    if (major !== 1) this.fail(`unsupported pcapng version ${major}.${dv.getUint16(pos + 14, le)}`, pos);
    this.sectionLE = le;
    this.sectionBase = this.info.interfaces.length;
    this.ifaces = [];
    const info = this.info;
    if (info.sections === 0) {
      info.format = 'pcapng';
      info.bigEndian = !le;
    }
    info.sections++;
  }

  private idb(buf: Uint8Array, dv: DataView, pos: number, len: number, le: boolean): void {
    if (len < 20) this.fail(`pcapng interface description block too short (${len} bytes)`, pos);
    const linktype = dv.getUint16(pos + 8, le);
    const snaplen = dv.getUint32(pos + 12, le);
    let name: string | null = null;
    let resol = 6;
    let tsOffset = 0;
    for (let o = pos + 16, oend = pos + len - 4; o + 4 <= oend;) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === 0) break;
      const v = o + 4;
      if (v + olen > oend) break; // option overruns its block: stop reading options
      if (code === 2) {
        let e = v + olen;
        while (e > v && buf[e - 1] === 0) e--;
        name = new TextDecoder().decode(buf.subarray(v, e));
      } else if (code === 9 && olen >= 1) resol = buf[v];
      else if (code === 14 && olen >= 8) tsOffset = Number(dv.getBigInt64(v, le));
      o = v + ((olen + 3) & ~3);
    }
    const binary = (resol & 0x80) !== 0;
    const k = resol & 0x7f;
    const unitsPerSec = binary ? 2 ** k : 10 ** k;
    const ng: NgIface = { globalId: this.info.interfaces.length, linktype, snaplen, unitsPerSec, decimalExp: binary ? -1 : k, nsPerUnit: !binary && k <= 9 ? 10 ** (9 - k) : 0, tsOffset, resol };
    if (ng.globalId > 0xffff) this.fail('too many pcapng interfaces', pos);
    this.ifaces.push(ng);
    const info = this.info;
    info.interfaces.push({ name, linktype, tsResolNs: 1e9 / unitsPerSec, snaplen, section: info.sections - 1 });
    if (info.interfaces.length === 1) {
      info.linktype = linktype;
      info.snaplen = snaplen;
      info.nanosecond = unitsPerSec > 1e6;
    }
    this.infoChanged = true;
  }

  private epb(dv: DataView, pos: number, len: number, le: boolean, b: Batch): void {
    if (len < 32) this.fail(`pcapng enhanced packet block too short (${len} bytes)`, pos);
    const ifid = dv.getUint32(pos + 8, le);
    const caplen = dv.getUint32(pos + 20, le);
    if (32 + caplen + ((4 - (caplen & 3)) & 3) > len) this.fail(`pcapng packet caplen ${caplen} exceeds its block (${len} bytes)`, pos);
    if (caplen > MAX_CAPLEN && caplen > (this.ifaces[ifid]?.snaplen ?? 0)) this.fail(`packet caplen ${caplen} exceeds the ${MAX_CAPLEN}-byte limit (corrupt file)`, pos);
    const ifc = this.ifaces[ifid];
    if (!ifc) this.fail(`packet on undefined pcapng interface ${ifid}`, pos);
    const n = b.count;
    b.offset[n] = pos + 28;
    b.caplen[n] = caplen;
    b.wirelen[n] = dv.getUint32(pos + 24, le);
    this.setTime(b, n, ifc, dv.getUint32(pos + 12, le), dv.getUint32(pos + 16, le));
    b.linktype[n] = ifc.linktype;
    b.ifaceId[n] = ifc.globalId;
    b.ordinal[n] = this.packets++;
    b.count = n + 1;
  }

  private spb(dv: DataView, pos: number, len: number, le: boolean, b: Batch): void {
    if (len < 16) this.fail(`pcapng simple packet block too short (${len} bytes)`, pos);
    const ifc = this.ifaces[0];
    if (!ifc) this.fail('simple packet block before any interface description', pos);
    const wirelen = dv.getUint32(pos + 8, le);
    let caplen = Math.min(wirelen, len - 16);
    if (ifc.snaplen > 0 && caplen > ifc.snaplen) caplen = ifc.snaplen;
    const n = b.count;
    b.offset[n] = pos + 12;
    b.caplen[n] = caplen;
    b.wirelen[n] = wirelen;
    b.tsSec[n] = 0;
    b.tsNsec[n] = 0;
    b.linktype[n] = ifc.linktype;
    b.ifaceId[n] = ifc.globalId;
    b.ordinal[n] = this.packets++;
    b.count = n + 1;
  }

  /** Split a 64-bit timestamp (hi:lo units) into seconds and nanoseconds, exactly. */
  setTime(b: Batch, n: number, ifc: NgIface, hi: number, lo: number): void {
    const U = ifc.unitsPerSec;
    let sec: number;
    let rem: number;
    if (hi < 0x200000) {
      // < 2^53: exact in a double
      const t = hi * 4294967296 + lo;
      sec = Math.floor(t / U);
      rem = t - sec * U;
      // t / U is a rounded quotient: keep the remainder in [0, U) whatever the rounding did
      if (rem < 0) { sec--; rem += U; } else if (rem >= U) { sec++; rem -= U; }
    } else if (U <= 4294967296) {
      // long division in base 2^16 (every intermediate < 2^48)
      // first hi (< 2^32, exact), then the two 16-bit halves of lo
      const q0 = Math.floor(hi / U);
      let r = hi - q0 * U;
      let cur = r * 65536 + (lo >>> 16);
      const q1 = Math.floor(cur / U);
      r = cur - q1 * U;
      cur = r * 65536 + (lo & 0xffff);
      const q2 = Math.floor(cur / U);
      rem = cur - q2 * U;
      sec = (q0 * 65536 + q1) * 65536 + q2;
    } else {
      const t = (BigInt(hi) << 32n) | BigInt(lo);
      const bu = BigInt(U);
      sec = Number(t / bu);
      rem = Number(t % bu);
    }
    let nsec: number;
    if (ifc.nsPerUnit) nsec = rem * ifc.nsPerUnit;
    else nsec = Number((BigInt(rem) * 1000000000n) / BigInt(U));
    b.tsSec[n] = sec + ifc.tsOffset;
    b.tsNsec[n] = nsec;
  }
}

// ---------------------------------------------------------------- sources

interface Source {
  read(into: Uint8Array, off: number, len: number): Promise<number>;
  close(): Promise<void>;
}

function ioError(name: string, e: unknown, packet: number): CaptureError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : String(err.message ?? e);
  return new CaptureError(name, `cannot read capture: ${why}`, -1, packet);
}

async function fileSource(path: string, name: string, parser: { packets: number }): Promise<Source> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw ioError(name, e, 1);
  }
  return {
    async read(into, off, len) {
      try {
        const { bytesRead } = await fh.read(into, off, len, null);
        return bytesRead;
      } catch (e) {
        throw ioError(name, e, parser.packets + 1);
      }
    },
    close: () => fh.close(),
  };
}

function streamSource(stream: NodeJS.ReadableStream): Source {
  const it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let pending: Uint8Array | null = null;
  return {
    async read(into, off, len) {
      if (!pending || pending.length === 0) {
        const r = await it.next();
        if (r.done) return 0;
        pending = typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value;
      }
      const n = Math.min(len, pending.length);
      into.set(pending.subarray(0, n), off);
      pending = pending.subarray(n);
      return n;
    },
    async close() {
      await it.return?.();
    },
  };
}

// ---------------------------------------------------------------- the generator

/**
 * Read a capture file ('-' = stdin, or any Readable) in batches. See the header comment for
 * ownership of `data`, errors and interface numbering.
 */
export async function* readCapture(
  path: string | NodeJS.ReadableStream,
  opts: ReadOptions = {},
): AsyncGenerator<PacketBatch, CaptureEnd, undefined> {
  const batchPackets = Math.max(1, opts.batchPackets ?? DEFAULT_BATCH);
  const chunkBytes = Math.max(1, opts.chunkBytes ?? DEFAULT_CHUNK);
  const reuse = opts.reuseBuffers ?? false;
  const name = opts.name ?? (typeof path === 'string' ? (path === '-' ? 'stdin' : path) : 'stream');
  const parser = new Parser(name);
  const src = typeof path !== 'string' ? streamSource(path) : path === '-' ? streamSource(process.stdin) : await fileSource(path, name, parser);
  try {
    let cap = Math.max(chunkBytes, 64);
    let buf = new Uint8Array(cap);
    let dv = new DataView(buf.buffer);
    let filled = 0;
    let pos = 0;
    let eof = false;
    let batch = new Batch(batchPackets);
    const flush = (): PacketBatch => {
      const pb = batch.toPacketBatch(buf, parser.info, true);
      batch = reuse ? (batch.count = 0, batch) : new Batch(batchPackets);
      return pb;
    };
    for (;;) {
      if (filled > pos || eof) {
        try {
          pos = parser.parse(buf, dv, pos, filled, eof, batch);
        } catch (e) {
          if (parser.infoChanged) opts.onInfo?.(parser.info);
          if (batch.count > 0) yield flush();
          throw e;
        }
        if (parser.infoChanged) {
          parser.infoChanged = false;
          opts.onInfo?.(parser.info);
        }
        if (batch.count === batchPackets) {
          yield flush();
          continue;
        }
        if (eof) {
          if (batch.count > 0) yield flush();
          return { info: parser.info, packets: parser.packets, bytes: parser.base + pos };
        }
      }
      // need more data: the current chunk's packets go out before it is replaced
      if (batch.count > 0) yield flush();
      const tail = filled - pos;
      const want = Math.max(tail + chunkBytes, parser.need);
      if (reuse && want <= cap) {
        buf.copyWithin(0, pos, filled);
      } else {
        const nc = reuse ? Math.max(want, cap * 2) : want;
        const nb = new Uint8Array(nc);
        nb.set(buf.subarray(pos, filled));
        buf = nb;
        cap = nc;
        dv = new DataView(buf.buffer);
      }
      parser.base += pos;
      pos = 0;
      filled = tail;
      const target = Math.min(cap, want);
      while (filled < target && !eof) {
        const n = await src.read(buf, filled, target - filled);
        if (n === 0) eof = true;
        filled += n;
      }
    }
  } finally {
    await src.close();
  }
}

// ---------------------------------------------------------------- classic pcap, raw

/** A classic pcap file's parameters (from its 24-byte header). */
export interface ClassicPcap {
  info: CaptureInfo;
  bigEndian: boolean;
  nanosecond: boolean;
  linktype: number;
  /** Records with a larger caplen are corrupt (max(snaplen, MAX_CAPLEN), as libpcap). */
  maxCaplen: number;
}

/** The first bytes of a file (at least 24): a classic pcap header gives its parameters (and the
 * same CaptureInfo the reader builds); anything else (pcapng, a bad or short header) gives null —
 * read it with readCapture, which reports the error. For callers that frame records themselves
 * (src/replay/feed.ts: the core walks the record headers). */
export function classicPcapHeader(head: Uint8Array, name: string): ClassicPcap | null {
  if (head.length < 24) return null;
  const p = new Parser(name);
  try {
    p.parse(head, new DataView(head.buffer, head.byteOffset, 24), 0, 24, false, new Batch(1));
  } catch {
    return null;
  }
  return p.pcapParams();
}

/** The reader's error for a classic pcap record with a caplen over the limit (record at file
 * offset `at`, `packet` = 1-based number of the packet being read). */
export function pcapRecordError(name: string, at: number, packet: number, caplen: number, maxCaplen: number): CaptureError {
  return new CaptureError(name, `packet record caplen ${caplen} exceeds the ${maxCaplen}-byte limit (corrupt file)`, at, packet);
}

/** The reader's error for a classic pcap record cut by the end of the file. */
export function pcapTruncatedError(name: string, at: number, packet: number): CaptureError {
  return new CaptureError(name, 'truncated packet record', at, packet);
}

// ---------------------------------------------------------------- pcapng, raw

/** An interface of the current pcapng section, as a raw framer needs it. */
export interface PcapngIface {
  /** Index into CaptureInfo.interfaces (numbered across sections). */
  globalId: number;
  linktype: number;
  snaplen: number;
  /** The if_tsresol byte: bit 7 clear = 10^-k s units, set = 2^-k (k = bits 0..6). */
  resol: number;
  /** if_tsoffset, seconds (as the reader adds it). */
  tsOffset: number;
}

/** The reader's pcapng state machine, one block at a time, for callers that walk the packet
 * blocks themselves (src/replay/feed.ts: the core frames EPB/SPB and stops at any other block
 * it does not skip, at damage and at the end of its bytes; this parses that block, so the section
 * state, the interfaces and every error message and offset are the reader's own). */
export class PcapngBlocks {
  private readonly p: Parser;
  private readonly scratch = new Batch(1);
  constructor(name: string) {
    this.p = new Parser(name);
    this.p.kind = 'pcapng'; // the caller saw the section header's type (the SHB sets info.format)
  }
  get info(): CaptureInfo { return this.p.info; }
  /** Bytes needed from the position block() returned (0: the input ended there). */
  get need(): number { return this.p.need; }
  /** The current section's byte order. */
  get bigEndian(): boolean { return !this.p.sectionLE; }
  /** The current section's interfaces (index = the interface id in its packet blocks). */
  get interfaces(): readonly PcapngIface[] { return this.p.ifaces; }
  /** Did the last block() add an interface or a section (and clear the flag)? */
  takeChange(): boolean { const c = this.p.infoChanged; this.p.infoChanged = false; return c; }

  /** Parse the block at buf[pos] (file offset `base + pos`; `packets` packets came before it).
   * Returns the position after it, or `pos` when it is incomplete (`need` > 0) or the input ended
   * there (`eof`, need 0). Throws the reader's CaptureError for a bad or truncated block. A packet
   * block that is whole and sound is parsed too (its packet in `packet()`). */
  block(buf: Uint8Array, pos: number, end: number, eof: boolean, base: number, packets: number): number {
    const p = this.p;
    p.base = base;
    p.packets = packets;
    this.scratch.count = 0;
    return p.ngBlock(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), pos, end, eof, this.scratch);
  }

  /** Did the last block() read a packet? */
  get gotPacket(): boolean { return this.scratch.count > 0; }

  /** The timestamp the reader gives a packet of interface `ifid` (current section) whose EPB
   * timestamp words are `hi`, `lo`. */
  time(ifid: number, hi: number, lo: number): { tsSec: number; tsNsec: number } {
    const b = this.scratch;
    b.count = 0;
    this.p.setTime(b, 0, this.p.ifaces[ifid], hi, lo);
    return { tsSec: b.tsSec[0], tsNsec: b.tsNsec[0] };
  }
}

// ---------------------------------------------------------------- whole-buffer variant

export interface ParsedCapture {
  info: CaptureInfo;
  /** All packets read before the end or the error. */
  batch: PacketBatch;
  /** Set when the input is corrupt or truncated; the packets before it are in `batch`. */
  error: CaptureError | null;
}

/** Parse a whole capture held in memory (tests, small files). Never throws for bad input. */
export function parseCaptureBuffer(buf: Uint8Array, name = 'buffer'): ParsedCapture {
  const parser = new Parser(name);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let b = new Batch(1024);
  const batches: Batch[] = [];
  let error: CaptureError | null = null;
  let pos = 0;
  try {
    for (;;) {
      pos = parser.parse(buf, dv, pos, buf.length, true, b);
      if (b.count < b.cap) break;
      batches.push(b);
      b = new Batch(b.cap * 2);
    }
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    error = e;
  }
  batches.push(b);
  const total = batches.reduce((s, x) => s + x.count, 0);
  const all = new Batch(Math.max(total, 1));
  for (const x of batches) {
    const n = all.count;
    all.offset.set(x.offset.subarray(0, x.count), n);
    all.caplen.set(x.caplen.subarray(0, x.count), n);
    all.wirelen.set(x.wirelen.subarray(0, x.count), n);
    all.tsSec.set(x.tsSec.subarray(0, x.count), n);
    all.tsNsec.set(x.tsNsec.subarray(0, x.count), n);
    all.linktype.set(x.linktype.subarray(0, x.count), n);
    all.ifaceId.set(x.ifaceId.subarray(0, x.count), n);
    all.ordinal.set(x.ordinal.subarray(0, x.count), n);
    all.count += x.count;
  }
  return { info: parser.info, batch: all.toPacketBatch(buf, parser.info), error };
}

// ---------------------------------------------------------------- conveniences

export interface CapturedPacket {
  ordinal: number;
  tsSec: number;
  tsNsec: number;
  caplen: number;
  wirelen: number;
  linktype: number;
  ifaceId: number;
  /** A view of the frame (not a copy). */
  frame: Uint8Array;
}

/** The packets of a batch as objects (tests and tools; allocates per packet). */
export function unpackBatch(b: PacketBatch): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  for (let i = 0; i < b.count; i++) {
    out.push({
      ordinal: b.ordinal[i], tsSec: b.tsSec[i], tsNsec: b.tsNsec[i], caplen: b.caplen[i], wirelen: b.wirelen[i],
      linktype: b.linktype[i], ifaceId: b.ifaceId[i], frame: b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]),
    });
  }
  return out;
}

/** Read a whole capture into packet objects, copying the frames (tests and small tools). */
export async function readAllPackets(path: string, opts: ReadOptions = {}): Promise<{ info: CaptureInfo | null; packets: CapturedPacket[]; error: CaptureError | null }> {
  const packets: CapturedPacket[] = [];
  let info: CaptureInfo | null = null;
  try {
    for await (const b of readCapture(path, opts)) {
      info = b.info;
      for (const p of unpackBatch(b)) packets.push({ ...p, frame: p.frame.slice() });
    }
  } catch (e) {
    if (e instanceof CaptureError) return { info, packets, error: e };
    throw e;
  }
  return { info, packets, error: null };
}
