// Shared helpers for the pcap tests: temp dirs, tcpdump runs, hand-assembled pcapng blocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export function tempDir(): { dir: string; file: (n: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nfreplay-pcap-'));
  return { dir, file: (n) => join(dir, n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const haveTcpdump = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' }).status === 0;

/** tcpdump -r file with extra args; returns stdout lines (stderr kept for messages). */
export function tcpdump(file: string, args: string[] = []): { lines: string[]; stderr: string; status: number | null } {
  const r = spawnSync('tcpdump', ['-r', file, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { lines: r.stdout.split('\n').filter((l) => l.length > 0), stderr: r.stderr, status: r.status };
}

/** Little or big endian byte assembler for hand-built files. */
export class Bytes {
  private parts: number[] = [];
  constructor(readonly le = true) {}
  u8(...v: number[]): this { for (const x of v) this.parts.push(x & 255); return this; }
  u16(v: number): this { return this.le ? this.u8(v, v >>> 8) : this.u8(v >>> 8, v); }
  u32(v: number): this { return this.le ? this.u8(v, v >>> 8, v >>> 16, v >>> 24) : this.u8(v >>> 24, v >>> 16, v >>> 8, v); }
  bytes(b: Uint8Array | number[]): this { for (const x of b) this.parts.push(x); return this; }
  pad4(): this { while (this.parts.length % 4) this.parts.push(0); return this; }
  get length(): number { return this.parts.length; }
  build(): Uint8Array { return new Uint8Array(this.parts); }
}

/**
 * A pcapng block: type(4) total_length(4) body total_length(4), body padded to 4 bytes.
 * `opts` are encoded after the body as code(2) length(2) value padded to 4, then opt_endofopt (0,0).
 */
export function block(le: boolean, type: number, body: Uint8Array, opts: [number, Uint8Array][] | null = null): Uint8Array {
  const b = new Bytes(le).bytes(body).pad4();
  if (opts) {
    for (const [code, v] of opts) b.u16(code).u16(v.length).bytes(v).pad4();
    b.u16(0).u16(0);
  }
  const inner = b.build();
  const total = 12 + inner.length;
  return new Bytes(le).u32(type).u32(total).bytes(inner).u32(total).build();
}

export const SHB = 0x0a0d0d0a;
export function shb(le: boolean, opts: [number, Uint8Array][] | null = null): Uint8Array {
  // byte-order magic 0x1A2B3C4D, version 1.0, section length -1 (unknown)
  return block(le, SHB, new Bytes(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).build(), opts);
}
export function idb(le: boolean, linktype: number, snaplen: number, opts: [number, Uint8Array][] | null = null): Uint8Array {
  return block(le, 1, new Bytes(le).u16(linktype).u16(0).u32(snaplen).build(), opts);
}
export function epb(le: boolean, iface: number, tsHi: number, tsLo: number, frame: Uint8Array, wirelen = frame.length, opts: [number, Uint8Array][] | null = null): Uint8Array {
  return block(le, 6, new Bytes(le).u32(iface).u32(tsHi).u32(tsLo).u32(frame.length).u32(wirelen).bytes(frame).build(), opts);
}
export function spb(le: boolean, wirelen: number, frame: Uint8Array): Uint8Array {
  return block(le, 3, new Bytes(le).u32(wirelen).bytes(frame).build());
}
export const utf8 = (s: string) => new TextEncoder().encode(s);
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** A classic pcap, hand-assembled: header (24) then per packet ts_sec, ts_frac, caplen, wirelen, data. */
export function classicPcap(le: boolean, nano: boolean, linktype: number, pkts: { sec: number; frac: number; frame: Uint8Array; wirelen?: number }[], snaplen = 65535): Uint8Array {
  const b = new Bytes(le).u32(nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(linktype);
  for (const p of pkts) b.u32(p.sec).u32(p.frac).u32(p.frame.length).u32(p.wirelen ?? p.frame.length).bytes(p.frame);
  return b.build();
}
