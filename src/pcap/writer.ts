// Capture writers: classic pcap (`--out`) and pcapng with per-packet comments (`--drops`).
//
// Files are written whole or not at all: the bytes go to a temporary file next to the target
// (`<path>.tmp-<pid>-<n>`), renamed over the target by close(); abort() removes the temporary.
// Output is buffered (default 1 MiB) and written with synchronous fs calls, so writePacket() is a
// plain call that may be made millions of times; close()/abort() are synchronous too. Path '-'
// writes to stdout directly (no temporary; abort() just stops).
//
// Byte layouts written (little-endian by default; classic pcap can write big-endian):
//   pcap header (24): magic a1b2c3d4 (µs) / a1b23c4d (ns), version 2.4, thiszone 0, sigfigs 0,
//                     snaplen, linktype;  record (16): ts_sec, ts_usec|ts_nsec, caplen, wirelen.
//   pcapng: SHB (version 1.0, section length -1), one IDB per interface (if_name, if_tsresol),
//           EPB per packet (interface id, 64-bit timestamp, caplen, wirelen, data padded to 4,
//           opt_comment when given, opt_endofopt).

import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { CaptureInfo, PacketBatch } from './reader.js';

let tmpCounter = 0;

class AtomicFile {
  private fd: number;
  private readonly tmp: string | null;
  private buf: Uint8Array;
  private used = 0;
  private closed = false;
  bytesWritten = 0;

  constructor(readonly path: string, bufferBytes: number) {
    this.buf = new Uint8Array(Math.max(4096, bufferBytes));
    if (path === '-') {
      this.fd = 1;
      this.tmp = null;
    } else {
      this.tmp = `${path}.tmp-${process.pid}-${tmpCounter++}`;
      this.fd = openSync(this.tmp, 'w', 0o644);
    }
  }

  /** Room for n bytes at the returned offset of `buffer` (flushing first when needed). */
  reserve(n: number): number {
    if (this.closed) throw new Error(`${this.path}: write after close`);
    if (this.used + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) this.buf = new Uint8Array(n);
    }
    const at = this.used;
    this.used += n;
    this.bytesWritten += n;
    return at;
  }

  /** Give back the last `n` bytes of the last reserve(). */
  unreserve(n: number): void {
    this.used -= n;
    this.bytesWritten -= n;
  }

  get buffer(): Uint8Array {
    return this.buf;
  }

  flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.tmp === null) return;
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.used = 0;
    if (this.tmp === null) return;
    try {
      closeSync(this.fd);
    } finally {
      try {
        unlinkSync(this.tmp);
      } catch {
        /* already gone */
      }
    }
  }
}

/** A text file written in pieces, whole or not at all (temporary name, renamed by close()). */
export class AtomicTextWriter {
  private readonly f: AtomicFile;
  private static readonly enc = new TextEncoder();

  constructor(readonly path: string, bufferBytes = 1 << 20) {
    this.f = new AtomicFile(path, bufferBytes);
  }

  write(text: string): void {
    // at most 3 bytes per UTF-16 unit
    const at = this.f.reserve(text.length * 3);
    const { written } = AtomicTextWriter.enc.encodeInto(text, this.f.buffer.subarray(at));
    this.f.unreserve(text.length * 3 - written);
  }

  close(): void {
    this.f.close();
  }

  abort(): void {
    this.f.abort();
  }
}

export interface PcapWriterOptions {
  linktype: number;
  /** Default 262144; 0 = no limit. Frames longer than snaplen are cut (wirelen keeps the real length). */
  snaplen?: number;
  /** Nanosecond magic (a1b23c4d) and nanosecond timestamps; default microseconds. */
  nanosecond?: boolean;
  bigEndian?: boolean;
  bufferBytes?: number;
}

/** Classic pcap writer. */
export class PcapWriter {
  private readonly f: AtomicFile;
  private readonly dv: () => DataView;
  private dvCache: DataView | null = null;
  private readonly le: boolean;
  private readonly nano: boolean;
  readonly snaplen: number;
  packets = 0;

  constructor(readonly path: string, opts: PcapWriterOptions) {
    this.f = new AtomicFile(path, opts.bufferBytes ?? 1 << 20);
    this.le = !opts.bigEndian;
    this.nano = !!opts.nanosecond;
    this.snaplen = opts.snaplen ?? 262144;
    this.dv = () => {
      const b = this.f.buffer;
      if (!this.dvCache || this.dvCache.buffer !== b.buffer) this.dvCache = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return this.dvCache;
    };
    const at = this.f.reserve(24);
    const dv = this.dv();
    dv.setUint32(at, this.nano ? 0xa1b23c4d : 0xa1b2c3d4, this.le);
    dv.setUint16(at + 4, 2, this.le);
    dv.setUint16(at + 6, 4, this.le);
    dv.setInt32(at + 8, 0, this.le);
    dv.setUint32(at + 12, 0, this.le);
    dv.setUint32(at + 16, this.snaplen, this.le);
    dv.setUint32(at + 20, opts.linktype, this.le);
  }

  /**
   * A writer keeping an input capture's link type and timestamp precision (nanoseconds when any
   * interface is finer than microseconds) for `--out`. Returns
   * null when a classic pcap cannot hold it (a pcapng input with several link types: use
   * PcapngWriter.fromInfo instead).
   */
  static fromInfo(path: string, info: CaptureInfo, opts: { bufferBytes?: number } = {}): PcapWriter | null {
    const types = new Set(info.interfaces.map((i) => i.linktype));
    if (types.size > 1 || info.linktype < 0) return null;
    const snaplen = Math.max(0, ...info.interfaces.map((i) => i.snaplen)) || 262144;
    const nanosecond = info.interfaces.some((i) => i.tsResolNs < 1000);
    return new PcapWriter(path, { linktype: info.linktype, nanosecond, snaplen, bufferBytes: opts.bufferBytes });
  }

  /** Append one packet. tsNsec is nanoseconds (divided down to µs for a microsecond file). */
  writePacket(tsSec: number, tsNsec: number, frame: Uint8Array, wirelen: number = frame.length): void {
    const caplen = this.snaplen > 0 ? Math.min(frame.length, this.snaplen) : frame.length;
    const at = this.f.reserve(16 + caplen);
    const dv = this.dv();
    const le = this.le;
    dv.setUint32(at, tsSec >>> 0, le);
    dv.setUint32(at + 4, this.nano ? tsNsec : Math.floor(tsNsec / 1000), le);
    dv.setUint32(at + 8, caplen, le);
    dv.setUint32(at + 12, Math.max(wirelen, caplen), le);
    this.f.buffer.set(caplen === frame.length ? frame : frame.subarray(0, caplen), at + 16);
    this.packets++;
  }

  /** Append packet i of a reader batch (same timestamp, frame and wire length). */
  writeFromBatch(b: PacketBatch, i: number): void {
    this.writePacket(b.tsSec[i], b.tsNsec[i], b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]), b.wirelen[i]);
  }

  /** Write everything and rename the temporary file to `path`. */
  close(): void {
    this.f.close();
  }

  /** Drop the output: the temporary file is removed, `path` is left untouched. */
  abort(): void {
    this.f.abort();
  }
}

export interface PcapngInterface {
  linktype: number;
  name?: string;
  snaplen?: number;
}

export interface PcapngWriterOptions {
  /** Interfaces written up front (more can be added with addInterface()). */
  interfaces?: PcapngInterface[];
  /** Timestamp resolution: nanoseconds (if_tsresol 9, default) or microseconds (6). */
  nanosecond?: boolean;
  bufferBytes?: number;
  /** SHB comment (opt_comment). */
  comment?: string;
}

const utf8 = new TextEncoder();
const pad4 = (n: number) => (n + 3) & ~3;

/** pcapng writer (little-endian) with optional per-packet comments. */
export class PcapngWriter {
  private readonly f: AtomicFile;
  private readonly nano: boolean;
  private snaplens: number[] = [];
  packets = 0;

  constructor(readonly path: string, opts: PcapngWriterOptions = {}) {
    this.f = new AtomicFile(path, opts.bufferBytes ?? 1 << 20);
    this.nano = opts.nanosecond ?? true;
    // SHB
    const opt = this.options(opts.comment !== undefined ? [[1, utf8.encode(opts.comment)]] : []);
    const len = 28 + opt.length;
    const at = this.f.reserve(len);
    const dv = this.view();
    dv.setUint32(at, 0x0a0d0d0a, true);
    dv.setUint32(at + 4, len, true);
    dv.setUint32(at + 8, 0x1a2b3c4d, true);
    dv.setUint16(at + 12, 1, true);
    dv.setUint16(at + 14, 0, true);
    dv.setInt32(at + 16, -1, true);
    dv.setInt32(at + 20, -1, true);
    this.f.buffer.set(opt, at + 24);
    dv.setUint32(at + len - 4, len, true);
    for (const i of opts.interfaces ?? []) this.addInterface(i);
  }

  /** A writer with the same interfaces (names, link types, snaplens) as an input capture. */
  static fromInfo(path: string, info: CaptureInfo, opts: Omit<PcapngWriterOptions, 'interfaces'> = {}): PcapngWriter {
    return new PcapngWriter(path, {
      nanosecond: info.interfaces.some((i) => i.tsResolNs < 1000),
      ...opts,
      interfaces: info.interfaces.map((i) => ({ linktype: i.linktype, name: i.name ?? undefined, snaplen: i.snaplen })),
    });
  }

  private view(): DataView {
    const b = this.f.buffer;
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Encoded options (code, value) ending with opt_endofopt; empty when there are none. */
  private options(list: [number, Uint8Array][]): Uint8Array {
    if (list.length === 0) return new Uint8Array(0);
    let n = 4;
    for (const [, v] of list) n += 4 + pad4(v.length);
    const out = new Uint8Array(n);
    const dv = new DataView(out.buffer);
    let o = 0;
    for (const [code, v] of list) {
      dv.setUint16(o, code, true);
      dv.setUint16(o + 2, v.length, true);
      out.set(v, o + 4);
      o += 4 + pad4(v.length);
    }
    return out; // last 4 bytes are zero: opt_endofopt
  }

  /** Adds an interface; returns its id for writePacket(). */
  addInterface(i: PcapngInterface): number {
    const list: [number, Uint8Array][] = [];
    if (i.name !== undefined) list.push([2, utf8.encode(i.name)]);
    list.push([9, new Uint8Array([this.nano ? 9 : 6])]);
    const opt = this.options(list);
    const len = 20 + opt.length;
    const at = this.f.reserve(len);
    const dv = this.view();
    dv.setUint32(at, 1, true);
    dv.setUint32(at + 4, len, true);
    dv.setUint16(at + 8, i.linktype, true);
    dv.setUint16(at + 10, 0, true);
    dv.setUint32(at + 12, i.snaplen ?? 262144, true);
    this.f.buffer.set(opt, at + 16);
    dv.setUint32(at + len - 4, len, true);
    this.snaplens.push(i.snaplen ?? 262144);
    return this.snaplens.length - 1;
  }

  /** Append one packet on interface `iface`, with an optional comment (opt_comment). */
  writePacket(iface: number, tsSec: number, tsNsec: number, frame: Uint8Array, wirelen: number = frame.length, comment?: string): void {
    const snap = this.snaplens[iface];
    if (snap === undefined) throw new Error(`${this.path}: no pcapng interface ${iface}`);
    const caplen = Math.min(frame.length, snap || frame.length);
    const opt = comment !== undefined ? this.options([[1, utf8.encode(comment)]]) : null;
    const len = 32 + pad4(caplen) + (opt ? opt.length : 0);
    const at = this.f.reserve(len);
    const dv = this.view();
    const units = this.nano ? BigInt(tsSec) * 1000000000n + BigInt(tsNsec) : BigInt(tsSec) * 1000000n + BigInt(Math.floor(tsNsec / 1000));
    dv.setUint32(at, 6, true);
    dv.setUint32(at + 4, len, true);
    dv.setUint32(at + 8, iface, true);
    dv.setUint32(at + 12, Number(units >> 32n), true);
    dv.setUint32(at + 16, Number(units & 0xffffffffn), true);
    dv.setUint32(at + 20, caplen, true);
    dv.setUint32(at + 24, Math.max(wirelen, caplen), true);
    const buf = this.f.buffer;
    buf.set(caplen === frame.length ? frame : frame.subarray(0, caplen), at + 28);
    buf.fill(0, at + 28 + caplen, at + 28 + pad4(caplen));
    if (opt) buf.set(opt, at + 28 + pad4(caplen));
    dv.setUint32(at + len - 4, len, true);
    this.packets++;
  }

  close(): void {
    this.f.close();
  }

  abort(): void {
    this.f.abort();
  }
}
