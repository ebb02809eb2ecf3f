// Classic pcap: hand-assembled files, writer -> reader round trips for every link type, byte order
// and timestamp precision, cross-checked with pcap-parser (a second reader) and the real tcpdump.
import { describe, it, expect, afterAll } from 'vitest';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { buildFrame, LINKTYPE_OF, type LinkKind } from '../../src/pcap/craft.js';
import { parseCaptureBuffer, readCapture, readAllPackets, unpackBatch, type CapturedPacket } from '../../src/pcap/reader.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { tempDir, haveTcpdump, tcpdump, classicPcap } from './helpers.js';

const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser') as { parse(p: string): NodeJS.EventEmitter };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const t = tempDir();
afterAll(() => t.cleanup());

/** pcap-parser's view of a file: [{sec, usec, caplen, wirelen, hex}] */
function readWithPcapParser(path: string): Promise<{ sec: number; usec: number; caplen: number; wirelen: number; hex: string }[]> {
  return new Promise((resolve, reject) => {
    const out: { sec: number; usec: number; caplen: number; wirelen: number; hex: string }[] = [];
    const p = pcapParser.parse(path);
    p.on('packet', (pk: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }) =>
      out.push({ sec: pk.header.timestampSeconds, usec: pk.header.timestampMicroseconds, caplen: pk.header.capturedLength, wirelen: pk.header.originalLength, hex: pk.data.toString('hex') }));
    p.on('error', reject);
    p.on('end', () => resolve(out));
  });
}

function sample(link: LinkKind, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const proto = (['tcp', 'udp', 'icmp', 'sctp'] as const)[i % 4];
    out.push(buildFrame({ link, proto, src: '192.0.2.10', dst: `198.51.100.${1 + (i % 200)}`, sport: 10000 + i, dport: 80, id: i, payload: (i * 37) % 300, ifindex: 2 }));
  }
  return out;
}

describe('hand-assembled classic pcap', () => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      it(`${le ? 'little' : 'big'}-endian, ${nano ? 'nano' : 'micro'}second magic`, () => {
        const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70).fill(9)];
        const file = classicPcap(le, nano, 101, [
          { sec: 1700000000, frac: 999999, frame: frames[0], wirelen: 1500 },
          { sec: 0xfffffffe, frac: 1, frame: frames[1] },
          { sec: 7, frac: 0, frame: frames[2] },
        ], 1234);
        const r = parseCaptureBuffer(file);
        expect(r.error).toBeNull();
        expect(r.info).toMatchObject({ format: 'pcap', nanosecond: nano, snaplen: 1234, linktype: 101, bigEndian: !le, sections: 1 });
        expect(r.info.interfaces).toEqual([{ name: null, linktype: 101, tsResolNs: nano ? 1 : 1000, snaplen: 1234, section: 0 }]);
        const p = unpackBatch(r.batch);
        expect(p.map((x) => [x.ordinal, x.tsSec, x.tsNsec, x.caplen, x.wirelen, x.linktype, x.ifaceId, hex(x.frame)])).toEqual([
          [0, 1700000000, nano ? 999999 : 999999000, 3, 1500, 101, 0, '010203'],
          [1, 0xfffffffe, nano ? 1 : 1000, 0, 0, 101, 0, ''],
          [2, 7, 0, 70, 70, 101, 0, '09'.repeat(70)],
        ]);
        // header 24 bytes, record headers 16: frame offsets 40, 59, 75
        expect(Array.from(r.batch.offset)).toEqual([40, 24 + 16 + 3 + 16, 24 + 16 + 3 + 16 + 16]);
      });
    }
  }
  it('masks the FCS bits above the link type (LINKTYPE in the low 16 bits)', () => {
    const file = classicPcap(true, false, 0x14000001, [{ sec: 1, frac: 0, frame: new Uint8Array(14) }]);
    expect(parseCaptureBuffer(file).info.linktype).toBe(1);
  });
});

describe('writer -> reader round trips', () => {
  const variants: { link: LinkKind; nanosecond: boolean; bigEndian: boolean }[] = [];
  for (const link of ['ether', 'raw', 'ipv4', 'sll', 'sll2'] as LinkKind[])
    for (const nanosecond of [false, true]) for (const bigEndian of [false, true]) variants.push({ link, nanosecond, bigEndian });

  for (const v of variants) {
    it(`${v.link} ${v.nanosecond ? 'ns' : 'us'} ${v.bigEndian ? 'BE' : 'LE'}`, async () => {
      const path = t.file(`rt-${v.link}-${v.nanosecond}-${v.bigEndian}.pcap`);
      const frames = sample(v.link, 50);
      const w = new PcapWriter(path, { linktype: LINKTYPE_OF[v.link], nanosecond: v.nanosecond, bigEndian: v.bigEndian, bufferBytes: 1000 });
      frames.forEach((f, i) => w.writePacket(1700000000 + i, i * 1000003, f, f.length + (i % 3)));
      expect(existsSync(path)).toBe(false); // temp name until close()
      w.close();
      const { info, packets, error } = await readAllPackets(path);
      expect(error).toBeNull();
      expect(info).toMatchObject({ format: 'pcap', linktype: LINKTYPE_OF[v.link], nanosecond: v.nanosecond, bigEndian: v.bigEndian });
      expect(packets.length).toBe(50);
      packets.forEach((p, i) => {
        expect(p.ordinal).toBe(i);
        expect(p.tsSec).toBe(1700000000 + i);
        // microsecond files keep whole microseconds
        expect(p.tsNsec).toBe(v.nanosecond ? i * 1000003 : Math.floor((i * 1000003) / 1000) * 1000);
        expect(p.wirelen).toBe(frames[i].length + (i % 3));
        expect(hex(p.frame)).toBe(hex(frames[i]));
        expect(p.linktype).toBe(LINKTYPE_OF[v.link]);
      });
      if (!v.nanosecond) {
        // pcap-parser (independent reader) sees the same packets
        const other = await readWithPcapParser(path);
        expect(other).toEqual(packets.map((p) => ({ sec: p.tsSec, usec: p.tsNsec / 1000, caplen: p.caplen, wirelen: p.wirelen, hex: hex(p.frame) })));
      }
      if (haveTcpdump) {
        const args = ['-nn', '-tt', ...(v.nanosecond ? ['--time-stamp-precision=nano'] : [])];
        const { lines, status } = tcpdump(path, args);
        expect(status).toBe(0);
        expect(lines.length).toBe(50);
        const ts = v.nanosecond ? '1700000003.003000009' : '1700000003.003000';
        expect(lines[3].startsWith(ts + ' ')).toBe(true);
        expect(lines[1]).toMatch(/IP 192\.0\.2\.10\.10001 > 198\.51\.100\.2\.80: UDP, length 37/);
      }
    });
  }

  it('cuts frames at snaplen and keeps the wire length', async () => {
    const path = t.file('snap.pcap');
    const w = new PcapWriter(path, { linktype: 1, snaplen: 60 });
    const f = buildFrame({ proto: 'udp', dport: 9999, payload: 200 });
    w.writePacket(1, 2000, f);
    w.close();
    const { packets } = await readAllPackets(path);
    expect([packets[0].caplen, packets[0].wirelen]).toEqual([60, f.length]);
    expect(hex(packets[0].frame)).toBe(hex(f.subarray(0, 60)));
    if (haveTcpdump) expect(tcpdump(path, ['-nn']).lines[0]).toMatch(/UDP, length 200/);
  });

  it('abort() leaves no file behind and does not touch an existing target', () => {
    const path = t.file('aborted.pcap');
    writeFileSync(path, 'old');
    const w = new PcapWriter(path, { linktype: 1 });
    w.writePacket(1, 0, buildFrame({}));
    w.abort();
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(t.dir).filter((n) => n.startsWith('aborted.pcap.tmp'))).toEqual([]);
  });
});

describe('streaming', () => {
  it('yields the same packets for any chunk size, batch size and buffer reuse', async () => {
    const path = t.file('stream.pcap');
    const w = new PcapWriter(path, { linktype: 1 });
    const frames = sample('ether', 300);
    frames.forEach((f, i) => w.writePacket(i, 0, f));
    w.close();
    const want = (await readAllPackets(path)).packets.map((p) => `${p.ordinal}:${p.tsSec}:${hex(p.frame)}`);
    expect(want.length).toBe(300);
    for (const o of [{ chunkBytes: 7 }, { chunkBytes: 100, batchPackets: 3 }, { chunkBytes: 4096, batchPackets: 1 }, { chunkBytes: 7, reuseBuffers: true }, { chunkBytes: 5000, reuseBuffers: true, batchPackets: 7 }]) {
      const got: string[] = [];
      let batches = 0;
      for await (const b of readCapture(path, o)) {
        batches++;
        expect(b.count).toBeLessThanOrEqual(o.batchPackets ?? 16384);
        // data spans exactly the batch's frames
        expect(b.offset[0]).toBe(0);
        expect(b.offset[b.count - 1] + b.caplen[b.count - 1]).toBe(b.data.length);
        for (const p of unpackBatch(b)) got.push(`${p.ordinal}:${p.tsSec}:${hex(p.frame)}`);
      }
      expect(got, JSON.stringify(o)).toEqual(want);
      expect(batches).toBeGreaterThan(1);
    }
  });

  it('keeps earlier batches intact when buffers are not reused (the default)', async () => {
    const path = t.file('keep.pcap');
    const w = new PcapWriter(path, { linktype: 1 });
    const frames = sample('ether', 100);
    frames.forEach((f, i) => w.writePacket(i, 0, f));
    w.close();
    const kept: CapturedPacket[] = [];
    for await (const b of readCapture(path, { chunkBytes: 512 })) kept.push(...unpackBatch(b));
    kept.forEach((p, i) => expect(hex(p.frame)).toBe(hex(frames[i])));
  });

  it('reports the info and the end', async () => {
    const path = t.file('end.pcap');
    const w = new PcapWriter(path, { linktype: 113, nanosecond: true });
    w.writePacket(1, 5, buildFrame({ link: 'sll' }));
    w.close();
    const infos: unknown[] = [];
    const gen = readCapture(path, { onInfo: (i) => infos.push({ ...i }) });
    let r = await gen.next();
    expect(r.done).toBe(false);
    r = await gen.next();
    expect(r.done).toBe(true);
    expect(r.value).toMatchObject({ packets: 1, bytes: 24 + 16 + buildFrame({ link: 'sll' }).length, info: { linktype: 113, nanosecond: true } });
    expect(infos.length).toBe(1);
  });
});

describe('every classic pcap the project ships', () => {
  // pcaps/ (and captures under test/) are read by our reader and by pcap-parser; both must agree.
  // pcap-parser only knows the microsecond magic, so nanosecond and pcapng files are left out.
  const files: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.pcap')) {
        const magic = readFileSync(p).subarray(0, 4).toString('hex');
        if (magic === 'd4c3b2a1' || magic === 'a1b2c3d4') files.push(p);
      }
    }
  };
  walk('pcaps');
  walk('test');
  it.skipIf(files.length === 0)(`${files.length} files read the same by both readers`, async () => {
    for (const f of files) {
      const ours = await readAllPackets(f);
      const other = await readWithPcapParser(f);
      expect(ours.error, f).toBeNull();
      expect(other, f).toEqual(ours.packets.map((p) => ({ sec: p.tsSec, usec: p.tsNsec / 1000, caplen: p.caplen, wirelen: p.wirelen, hex: hex(p.frame) })));
    }
  });
});
