// pcapng: files hand-assembled block by block in the test (layouts in helpers.ts), read by our
// reader and, where libpcap can (one link type per file), by the real tcpdump; PcapngWriter output
// read back by both and its comments checked by walking the blocks by hand.
import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { buildFrame } from '../../src/pcap/craft.js';
import { parseCaptureBuffer, readCapture, readAllPackets, unpackBatch } from '../../src/pcap/reader.js';
import { PcapngWriter, PcapWriter } from '../../src/pcap/writer.js';
import { tempDir, haveTcpdump, tcpdump, shb, idb, epb, spb, block, Bytes, utf8, concat } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const t = tempDir();
afterAll(() => t.cleanup());

/** 64-bit timestamp split into the EPB's high and low words. */
function tsWords(units: bigint): [number, number] {
  return [Number(units >> 32n), Number(units & 0xffffffffn)];
}

const fEth = buildFrame({ src: '192.0.2.1', dst: '198.51.100.1', proto: 'udp', sport: 1111, dport: 2222, payload: 3 }); // odd length: padded
const fRaw = buildFrame({ link: 'raw', src: '192.0.2.2', dst: '198.51.100.2', proto: 'tcp', flags: 'S' });
const fSll2 = buildFrame({ link: 'sll2', ifindex: 7, src: '192.0.2.3', dst: '198.51.100.3', proto: 'icmp' });
const f100 = buildFrame({ proto: 'udp', payload: 100 - 42 });
const f64 = f100.subarray(0, 64);

function bigFile(): Uint8Array {
  const LE = true, BE = false;
  const nsTs = tsWords(1700000000123456789n); // hi >= 2^21: exercises the exact long division
  const usTs = tsWords(1700000001500000n);
  const psTs = tsWords(1700000002000000000007n & 0xffffffffffffffffn);
  return concat(
    // ---- section 1, little-endian
    shb(LE, [[1, utf8('a comment')], [0x7fff, new Uint8Array([1, 2, 3])]]),
    idb(LE, 1, 0, [[2, utf8('eth0')], [0x4242, new Uint8Array(5)]]), // iface 0: Ethernet, µs (default resolution)
    block(LE, 0x00000bad, new Uint8Array(8).fill(0xee)), // unknown block
    idb(LE, 101, 65535, [[2, utf8('tun0\0')], [9, new Uint8Array([9])]]), // iface 1: raw, ns; NUL-terminated name
    epb(LE, 1, nsTs[0], nsTs[1], fRaw, fRaw.length, [[1, utf8('pkt comment')], [2, new Uint8Array(4)], [0x7777, new Uint8Array(2)]]),
    spb(LE, 100, f100), // on iface 0, no timestamp
    spb(LE, 200, f64), // shorter than the wire: caplen 64
    block(LE, 4, new Uint8Array([0, 0, 0, 0])), // NRB (empty record list) skipped
    block(LE, 2, new Bytes(LE).u16(0).u16(0).u32(0).u32(0).u32(4).u32(4).u32(0xdeadbeef).build()), // OPB: obsolete, skipped
    epb(LE, 0, usTs[0], usTs[1], fEth, 1514),
    block(LE, 5, new Bytes(LE).u32(0).u32(0).u32(0).build()), // ISB skipped
    // ---- section 2, big-endian: its interfaces are numbered after section 1's
    shb(BE),
    idb(BE, 276, 262144, [[2, utf8('any')], [9, new Uint8Array([0x8a])], [14, new Bytes(BE).u32(0).u32(1000).build()]]), // 2^-10 s units, +1000 s
    epb(BE, 0, 0, 5 * 1024 + 512, fSll2),
    idb(BE, 1, 0, [[9, new Uint8Array([12])]]), // picoseconds
    epb(BE, 1, psTs[0], psTs[1], fEth),
  );
}

describe('hand-assembled pcapng', () => {
  const expected = [
    // ordinal, iface, linktype, sec, nsec, caplen, wirelen, frame
    [0, 1, 101, 1700000000, 123456789, fRaw.length, fRaw.length, hex(fRaw)],
    [1, 0, 1, 0, 0, 100, 100, hex(f100)],
    [2, 0, 1, 0, 0, 64, 200, hex(f64)],
    [3, 0, 1, 1700000001, 500000000, fEth.length, 1514, hex(fEth)],
    // 5*1024+512 units of 1/1024 s = 5.5 s, plus if_tsoffset 1000 s
    [4, 2, 276, 1005, 500000000, fSll2.length, fSll2.length, hex(fSll2)],
    // 1700000002000000000007 ps wraps mod 2^64 (the field is 64 bits): computed below
    null,
  ];
  const ps = 1700000002000000000007n & 0xffffffffffffffffn;
  expected[5] = [5, 3, 1, Number(ps / 1000000000000n), Number((ps % 1000000000000n) / 1000n), fEth.length, fEth.length, hex(fEth)];
  const rows = (ps: ReturnType<typeof unpackBatch>) => ps.map((p) => [p.ordinal, p.ifaceId, p.linktype, p.tsSec, p.tsNsec, p.caplen, p.wirelen, hex(p.frame)]);

  it('reads interfaces, names, resolutions, EPB and SPB across two sections of both byte orders', () => {
    const r = parseCaptureBuffer(bigFile());
    expect(r.error).toBeNull();
    expect(r.info).toMatchObject({ format: 'pcapng', linktype: 1, snaplen: 0, nanosecond: false, bigEndian: false, sections: 2 });
    expect(r.info.interfaces).toEqual([
      { name: 'eth0', linktype: 1, tsResolNs: 1000, snaplen: 0, section: 0 },
      { name: 'tun0', linktype: 101, tsResolNs: 1, snaplen: 65535, section: 0 },
      { name: 'any', linktype: 276, tsResolNs: 1e9 / 1024, snaplen: 262144, section: 1 },
      { name: null, linktype: 1, tsResolNs: 0.001, snaplen: 0, section: 1 },
    ]);
    expect(rows(unpackBatch(r.batch))).toEqual(expected);
  });

  it('streams the same packets from a file in 7-byte chunks, from a stream, with reused buffers', async () => {
    const path = t.file('big.pcapng');
    writeFileSync(path, bigFile());
    for (const o of [{}, { chunkBytes: 7 }, { chunkBytes: 13, reuseBuffers: true, batchPackets: 2 }]) {
      const got: ReturnType<typeof rows> = [];
      for await (const b of readCapture(path, o)) got.push(...rows(unpackBatch(b)));
      expect(got, JSON.stringify(o)).toEqual(expected);
    }
    const file = bigFile();
    const chunks: Buffer[] = [];
    for (let i = 0; i < file.length; i += 5) chunks.push(Buffer.from(file.subarray(i, i + 5)));
    const got: ReturnType<typeof rows> = [];
    for await (const b of readCapture(Readable.from(chunks), { chunkBytes: 64 })) got.push(...rows(unpackBatch(b)));
    expect(got).toEqual(expected);
  });

  it('announces interfaces as they appear', async () => {
    const path = t.file('info.pcapng');
    writeFileSync(path, bigFile());
    const seen: number[] = [];
    for await (const _ of readCapture(path, { chunkBytes: 16, onInfo: (i) => seen.push(i.interfaces.length) })) void _;
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('skips an option that runs past its block without reading beyond it', () => {
    // IDB whose option claims 200 bytes: the option list ends there, the name is not taken from outside
    const bad = block(true, 1, new Bytes(true).u16(1).u16(0).u32(0).u16(2).u16(200).bytes(utf8('eth9')).build());
    const r = parseCaptureBuffer(concat(shb(true), bad, epb(true, 0, 0, 1, fEth)));
    expect(r.error).toBeNull();
    expect(r.info.interfaces[0].name).toBeNull();
    expect(r.batch.count).toBe(1);
  });
});

describe.skipIf(!haveTcpdump)('tcpdump reads the same pcapng files', () => {
  for (const le of [true, false]) {
    it(`hand-assembled ${le ? 'little' : 'big'}-endian, two Ethernet interfaces, SPB, unknown blocks`, async () => {
      const a = buildFrame({ src: '192.0.2.1', dst: '198.51.100.1', proto: 'udp', sport: 1000, dport: 2000, payload: 5 });
      const b = buildFrame({ src: '192.0.2.2', dst: '198.51.100.2', proto: 'tcp', sport: 3000, dport: 4000, flags: 'S' });
      const ts = tsWords(1700000000250000n);
      const file = concat(
        shb(le),
        idb(le, 1, 0, [[2, utf8('eth0')]]),
        idb(le, 1, 0, [[2, utf8('eth1')], [9, new Uint8Array([9])]]),
        block(le, 0x40000bad, new Uint8Array(4)),
        epb(le, 0, ts[0], ts[1], a),
        spb(le, b.length, b),
        epb(le, 1, ...tsWords(1700000001000000007n), b),
      );
      const path = t.file(`td-${le}.pcapng`);
      writeFileSync(path, file);
      const { lines, status, stderr } = tcpdump(path, ['-nn', '-tt', '--time-stamp-precision=nano']);
      expect(status, stderr).toBe(0);
      expect(lines).toEqual([
        '1700000000.250000000 IP 192.0.2.1.1000 > 198.51.100.1.2000: UDP, length 5',
        expect.stringMatching(/^0\.000000000 IP 192\.0\.2\.2\.3000 > 198\.51\.100\.2\.4000: Flags \[S\]/),
        expect.stringMatching(/^1700000001\.000000007 IP 192\.0\.2\.2\.3000 > 198\.51\.100\.2\.4000: Flags \[S\]/),
      ]);
      const ours = await readAllPackets(path);
      expect(ours.packets.map((p) => `${p.tsSec}.${String(p.tsNsec).padStart(9, '0')} ${p.ifaceId}`)).toEqual([
        '1700000000.250000000 0', '0.000000000 0', '1700000001.000000007 1',
      ]);
    });
  }

  it('PcapngWriter output: read by tcpdump and by us, comments where they belong', async () => {
    const path = t.file('w.pcapng');
    const w = new PcapngWriter(path, { interfaces: [{ linktype: 1, name: 'eth0', snaplen: 50 }], comment: 'nfreplay drops' });
    // libpcap refuses interfaces of different snaplens or link types in one file: keep them equal here
    const i1 = w.addInterface({ linktype: 1, name: 'eth1', snaplen: 50 });
    const a = buildFrame({ src: '192.0.2.1', dst: '198.51.100.1', proto: 'udp', sport: 1000, dport: 2000, payload: 5 });
    const big = buildFrame({ src: '192.0.2.2', dst: '198.51.100.2', proto: 'udp', sport: 1000, dport: 2000, payload: 77 });
    w.writePacket(0, 1700000000, 123456789, a, a.length, 'dropped by filter/FORWARD rule 3');
    w.writePacket(i1, 1700000001, 1, big);
    w.close();
    const td = tcpdump(path, ['-nn', '-tt', '--time-stamp-precision=nano']);
    expect(td.status).toBe(0);
    expect(td.lines).toEqual([
      '1700000000.123456789 IP 192.0.2.1.1000 > 198.51.100.1.2000: UDP, length 5',
      '1700000001.000000001 IP 192.0.2.2.1000 > 198.51.100.2.2000: UDP, length 77',
    ]);
    const ours = await readAllPackets(path);
    expect(ours.info?.interfaces.map((i) => [i.name, i.snaplen, i.tsResolNs])).toEqual([['eth0', 50, 1], ['eth1', 50, 1]]);
    expect(ours.packets.map((p) => [p.ifaceId, p.caplen, p.wirelen])).toEqual([[0, a.length, a.length], [1, 50, big.length]]);
    // walk the blocks by hand and collect opt_comment values (code 1)
    const buf = readFileSync(path);
    const comments: [number, string][] = [];
    for (let o = 0; o < buf.length;) {
      const type = buf.readUInt32LE(o), len = buf.readUInt32LE(o + 4);
      const optStart = type === 0x0a0d0d0a ? 24 : type === 1 ? 16 : type === 6 ? 28 + ((buf.readUInt32LE(o + 20) + 3) & ~3) : len - 4;
      for (let q = o + optStart; q < o + len - 4;) {
        const code = buf.readUInt16LE(q), ol = buf.readUInt16LE(q + 2);
        if (code === 0) break;
        if (code === 1) comments.push([type, buf.toString('utf8', q + 4, q + 4 + ol)]);
        q += 4 + ((ol + 3) & ~3);
      }
      o += len;
    }
    expect(comments).toEqual([[0x0a0d0d0a, 'nfreplay drops'], [6, 'dropped by filter/FORWARD rule 3']]);
  });
});

describe('writers from an input capture', () => {
  it('PcapWriter.fromInfo keeps link type and precision; refuses mixed link types; PcapngWriter.fromInfo keeps interfaces', async () => {
    const mixed = parseCaptureBuffer(bigFile());
    expect(PcapWriter.fromInfo(t.file('no.pcap'), mixed.info)).toBeNull();

    const path = t.file('two-eth.pcapng');
    writeFileSync(path, concat(shb(true), idb(true, 1, 0, [[2, utf8('eth0')], [9, new Uint8Array([9])]]), idb(true, 1, 0, [[2, utf8('eth1')]]), epb(true, 1, 0, 1, fEth)));
    const input = await readAllPackets(path);
    const out = t.file('out.pcap');
    const w = PcapWriter.fromInfo(out, input.info!)!;
    for (const p of input.packets) w.writePacket(p.tsSec, p.tsNsec, p.frame, p.wirelen);
    w.close();
    const back = await readAllPackets(out);
    expect(back.info).toMatchObject({ format: 'pcap', linktype: 1, nanosecond: true, snaplen: 262144 });
    expect(back.packets.map((p) => hex(p.frame))).toEqual([hex(fEth)]);

    const out2 = t.file('out.pcapng');
    const w2 = PcapngWriter.fromInfo(out2, mixed.info);
    for (const p of unpackBatch(mixed.batch)) w2.writePacket(p.ifaceId, p.tsSec, p.tsNsec, p.frame, p.wirelen);
    w2.close();
    const back2 = await readAllPackets(out2);
    expect(back2.info?.interfaces.map((i) => [i.name, i.linktype, i.snaplen])).toEqual(mixed.info.interfaces.map((i) => [i.name, i.linktype, i.snaplen]));
    // same packets; timestamps kept to the nanosecond (the picosecond one is cut to ns)
    expect(back2.packets.map((p) => [p.ifaceId, p.tsSec, p.tsNsec, hex(p.frame)])).toEqual(unpackBatch(mixed.batch).map((p) => [p.ifaceId, p.tsSec, p.tsNsec, hex(p.frame)]));
  });
});
