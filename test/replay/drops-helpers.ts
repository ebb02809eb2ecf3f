// Reading the --drops / --out files back independently of the writer: a pcapng walk written from
// the pcapng spec (draft-ietf-opsawg-pcapng: SHB, IDB with if_name (2) and if_tsresol (9), EPB
// with opt_comment (1)), pcap-parser for classic pcap, and tcpdump.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';

export interface NgIdb { linktype: number; name: string | null; tsresol: number }
export interface NgEpb { iface: number; ts: bigint; caplen: number; wirelen: number; data: Uint8Array; comment: string | null }

/** Every IDB and EPB of a little-endian pcapng file. */
export function parsePcapng(path: string): { idbs: NgIdb[]; epbs: NgEpb[] } {
  const b = readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== 0x0a0d0d0a || dv.getUint32(8, true) !== 0x1a2b3c4d) throw new Error(`${path}: not a little-endian pcapng`);
  const idbs: NgIdb[] = [], epbs: NgEpb[] = [];
  const opts = (from: number, to: number): Map<number, Uint8Array> => {
    const m = new Map<number, Uint8Array>();
    for (let o = from; o + 4 <= to;) {
      const code = dv.getUint16(o, true), len = dv.getUint16(o + 2, true);
      if (code === 0) break;
      m.set(code, b.subarray(o + 4, o + 4 + len));
      o += 4 + ((len + 3) & ~3);
    }
    return m;
  };
  for (let p = 0; p < b.length;) {
    const type = dv.getUint32(p, true), len = dv.getUint32(p + 4, true);
    if (dv.getUint32(p + len - 4, true) !== len) throw new Error(`block at ${p}: trailing length differs`);
    if (type === 1) {
      const o = opts(p + 16, p + len - 4);
      idbs.push({ linktype: dv.getUint16(p + 8, true), name: o.has(2) ? Buffer.from(o.get(2)!).toString('utf8') : null, tsresol: o.has(9) ? o.get(9)![0] : 6 });
    } else if (type === 6) {
      const caplen = dv.getUint32(p + 20, true);
      const o = opts(p + 28 + ((caplen + 3) & ~3), p + len - 4);
      epbs.push({
        iface: dv.getUint32(p + 8, true),
        ts: (BigInt(dv.getUint32(p + 12, true)) << 32n) | BigInt(dv.getUint32(p + 16, true)),
        caplen, wirelen: dv.getUint32(p + 24, true),
        data: new Uint8Array(b.subarray(p + 28, p + 28 + caplen)),
        comment: o.has(1) ? Buffer.from(o.get(1)!).toString('utf8') : null,
      });
    }
    p += len;
  }
  return { idbs, epbs };
}

const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser') as { parse(p: string): NodeJS.EventEmitter };

/** pcap-parser's view of a classic pcap: link type and [{sec, frac, hex}]. */
export function readWithPcapParser(path: string): Promise<{ linktype: number; packets: { sec: number; frac: number; hex: string }[] }> {
  return new Promise((resolve, reject) => {
    const packets: { sec: number; frac: number; hex: string }[] = [];
    let linktype = -1;
    const p = pcapParser.parse(path);
    p.on('globalHeader', (h: { linkLayerType: number }) => { linktype = h.linkLayerType; });
    p.on('packet', (pk: { header: { timestampSeconds: number; timestampMicroseconds: number }; data: Buffer }) =>
      packets.push({ sec: pk.header.timestampSeconds, frac: pk.header.timestampMicroseconds, hex: pk.data.toString('hex') }));
    p.on('error', reject);
    p.on('end', () => resolve({ linktype, packets }));
  });
}

/** `tcpdump -tt -nn -r F` (nanosecond timestamps with `nano`): the lines. */
export function tcpdumpLines(path: string, nano: boolean, extra: string[] = []): string[] {
  const r = spawnSync('tcpdump', ['-tt', '-nn', ...(nano ? ['--time-stamp-precision=nano'] : []), ...extra, '-r', path], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`tcpdump -r ${path}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0);
}

/** The 4 magic bytes of a file, as a hex string in file order. */
export function magicOf(path: string): string {
  return readFileSync(path).subarray(0, 4).toString('hex');
}
