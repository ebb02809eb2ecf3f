// Drives the core's dissect/conntrack/NAT/host exports directly: writes the image header, host and
// sysctl sections (with lowerHost), frames and descriptors into wasm memory.
import { readFileSync } from 'node:fs';
import * as L from '../../src/layout.js';
import { lowerHost, defaultHost, type HostModel } from '../../src/host/index.js';
import { buildFrame, LINKTYPE_OF, type FrameSpec } from '../../src/pcap/craft.js';

export const HZ = 250;

export interface Core {
  mem: WebAssembly.Memory;
  x: Record<string, (...a: number[]) => number>;
  pkt: number;
  desc: number;
  frame: number;
  dv(): DataView;
  u8(): Uint8Array;
}

export interface CoreOpts { host?: HostModel; flags?: number; capacity?: number; seed?: number }

export function makeCore(o: CoreOpts = {}): Core {
  const mod = new WebAssembly.Module(readFileSync(new URL('../../build/core.wasm', import.meta.url)));
  const inst = new WebAssembly.Instance(mod, { env: { abort() { throw new Error('abort'); } } });
  const x = inst.exports as unknown as Record<string, (...a: number[]) => number>;
  const mem = inst.exports.memory as WebAssembly.Memory;
  const { host, sysctl } = lowerHost(o.host ?? defaultHost());
  const words = new Int32Array(L.H_SIZE + host.length + sysctl.length);
  words[L.H_MAGIC] = L.IMG_MAGIC;
  words[L.H_VERSION] = L.IMG_VERSION;
  words[L.H_FLAGS] = (o.flags ?? (L.IMGF_CONNTRACK | L.IMGF_NAT));
  words[L.H_HOST] = L.H_SIZE;
  words[L.H_SYSCTL] = L.H_SIZE + host.length;
  words[L.H_HZ] = HZ;
  words[L.H_SEED_LO] = o.seed ?? 1;
  words[L.H_CT_MAX] = o.capacity ?? 1024;
  words.set(host, L.H_SIZE);
  words.set(sysctl, L.H_SIZE + host.length);
  const img = x.reserve(words.byteLength) >>> 0;
  new Int32Array(mem.buffer, img, words.length).set(words);
  x.ctTestSetImage(img);
  x.ctSetup(o.capacity ?? 1024);
  const desc = x.reserve(L.DESC_SIZE) >>> 0;
  const frame = x.reserve(4096) >>> 0;
  const c: Core = {
    mem, x, pkt: x.ctPkt() >>> 0, desc, frame,
    dv: () => new DataView(mem.buffer),
    u8: () => new Uint8Array(mem.buffer),
  };
  return c;
}

export interface SendOpts { t?: number; ifindex?: number; ordinal?: number; linktype?: number; wirelen?: number }

/** Put a frame in memory with a descriptor and dissect it; returns the RES_* code. */
export function put(c: Core, frame: Uint8Array | FrameSpec, o: SendOpts = {}): number {
  const bytes = frame instanceof Uint8Array ? frame : buildFrame(frame);
  const lt = o.linktype ?? (frame instanceof Uint8Array ? 1 : LINKTYPE_OF[(frame as FrameSpec).link ?? 'ether']);
  c.u8().set(bytes, c.frame);
  const dv = c.dv();
  const t = o.t ?? 1000;
  dv.setUint32(c.desc + L.DESC_FRAME, c.frame, true);
  dv.setUint32(c.desc + L.DESC_CAPLEN, bytes.length, true);
  dv.setUint32(c.desc + L.DESC_WIRELEN, o.wirelen ?? bytes.length, true);
  dv.setUint32(c.desc + L.DESC_TS_SEC, Math.floor(t), true);
  dv.setUint32(c.desc + L.DESC_TS_NSEC, Math.round((t - Math.floor(t)) * 1e9), true);
  dv.setUint16(c.desc + L.DESC_LINKTYPE, lt, true);
  dv.setUint16(c.desc + L.DESC_IFINDEX, o.ifindex ?? 0xffff, true);
  dv.setUint32(c.desc + L.DESC_ORDINAL, o.ordinal ?? 0, true);
  return c.x.dissect(c.desc);
}

/** The current frame bytes (after rewrites). */
export function frameBytes(c: Core, len: number): Uint8Array {
  return c.u8().slice(c.frame, c.frame + len);
}

export const P = {
  u8: (c: Core, off: number) => c.dv().getUint8(c.pkt + off),
  u16: (c: Core, off: number) => c.dv().getUint16(c.pkt + off, true),
  u32: (c: Core, off: number) => c.dv().getUint32(c.pkt + off, true),
  u64: (c: Core, off: number) => c.dv().getBigUint64(c.pkt + off, true),
};

export function ctinfo(c: Core): number { return P.u8(c, L.P_CTINFO); }
export function ct(c: Core): number { return P.u32(c, L.P_CT); }
export function tcpState(c: Core): number { return c.x.ctTcpState(ct(c)); }

/** Dotted quad -> P_SADDR encoding. */
export function w(a: string): number {
  const b = a.split('.').map(Number);
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}
export function unw(v: number): string {
  return `${v & 255}.${(v >>> 8) & 255}.${(v >>> 16) & 255}.${(v >>> 24) & 255}`;
}

// ---- an independent checksum routine (RFC 1071 over big-endian 16-bit words) ----
export function sum16(b: Uint8Array, start: number, end: number, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}
/** True when the IPv4 header at `l3` and its TCP/UDP/ICMP checksum verify. */
export function checksumsOk(b: Uint8Array, l3: number): { ip: boolean; l4: boolean } {
  const ihl = (b[l3] & 15) * 4;
  const tot = (b[l3 + 2] << 8) | b[l3 + 3];
  const ip = sum16(b, l3, l3 + ihl) === 0xffff;
  const proto = b[l3 + 9];
  const l4 = l3 + ihl;
  const len = tot - ihl;
  let ok = true;
  if (proto === 6 || proto === 17) {
    if (proto === 17 && b[l4 + 6] === 0 && b[l4 + 7] === 0) return { ip, l4: true };
    const pseudo = sum16(b, l3 + 12, l3 + 20) + proto + len;
    ok = sum16(b, l4, l4 + len, pseudo) === 0xffff;
  } else if (proto === 1) {
    ok = sum16(b, l4, l4 + len) === 0xffff;
  }
  return { ip, l4: ok };
}
