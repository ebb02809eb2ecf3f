// The conntrack table at the end of a replay, as `conntrack -L` prints it (conntrack-tools'
// default output), from a view of the core's memory. Order: protocol, then original tuple
// (numerically) — deterministic, unlike the kernel's hash order.
import {
  CTT_ENTRIES, CTT_HWM, CT_STATUS, CT_MARK, CT_TIMEOUT, CT_PROTO, CT_TCPSTATE, CT_INUSE, CT_O_SRC,
  CT_O_DST, CT_O_SPORT, CT_O_DPORT, CT_R_SRC, CT_R_DST, CT_R_SPORT, CT_R_DPORT, CT_SIZE,
} from '../layout-ct.js';
import { IPS_SEEN_REPLY, IPS_ASSURED, IPS_CONFIRMED, IPS_DYING } from '../layout.js';

export const TCP_STATE_NAMES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT',
  'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'];
export const SCTP_STATE_NAMES = ['NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT',
  'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT', 'HEARTBEAT_SENT'];
const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 33: 'dccp', 47: 'gre', 132: 'sctp', 136: 'udplite' };

export interface CtTuple { src: string; dst: string; sport: number; dport: number }
export interface CtEntry {
  proto: number;
  /** seconds left at `now` */
  timeout: number;
  /** protocol state (TCP or SCTP) */
  tcpState?: string;
  orig: CtTuple;
  reply: CtTuple;
  status: number;
  mark: number;
}

function ip(dv: DataView, at: number): string {
  return `${dv.getUint8(at)}.${dv.getUint8(at + 1)}.${dv.getUint8(at + 2)}.${dv.getUint8(at + 3)}`;
}

/** Read the live, confirmed connections of the table at `table` (ctTable()) in `mem`.
 *  `now` is the capture's last timestamp in jiffies; entries expired by then are left out. */
export function readConntrack(mem: ArrayBuffer, table: number, now: bigint, hz: number): CtEntry[] {
  const dv = new DataView(mem);
  const ent = dv.getUint32(table + CTT_ENTRIES, true);
  const hwm = dv.getUint32(table + CTT_HWM, true);
  const rows: (CtEntry & { key: number[] })[] = [];
  for (let i = 0; i < hwm; i++) {
    const e = ent + i * CT_SIZE;
    if (dv.getUint8(e + CT_INUSE) === 0) continue;
    const st = dv.getUint32(e + CT_STATUS, true);
    if ((st & (IPS_CONFIRMED | IPS_DYING)) !== IPS_CONFIRMED) continue;
    const left = dv.getBigUint64(e + CT_TIMEOUT, true) - now;
    if (left <= 0n) continue;
    const proto = dv.getUint8(e + CT_PROTO);
    const tuple = (s: number, d: number, sp: number, dp: number): CtTuple => ({
      src: ip(dv, e + s), dst: ip(dv, e + d), sport: dv.getUint16(e + sp, true), dport: dv.getUint16(e + dp, true),
    });
    const row: CtEntry & { key: number[] } = {
      proto,
      timeout: Number(left / BigInt(hz)),
      orig: tuple(CT_O_SRC, CT_O_DST, CT_O_SPORT, CT_O_DPORT),
      reply: tuple(CT_R_SRC, CT_R_DST, CT_R_SPORT, CT_R_DPORT),
      status: st,
      mark: dv.getUint32(e + CT_MARK, true),
      key: [proto, dv.getUint32(e + CT_O_SRC, false), dv.getUint32(e + CT_O_DST, false),
        dv.getUint16(e + CT_O_SPORT, true), dv.getUint16(e + CT_O_DPORT, true)],
    };
    if (proto === 6) row.tcpState = TCP_STATE_NAMES[dv.getUint8(e + CT_TCPSTATE)] ?? 'NONE';
    if (proto === 132) row.tcpState = SCTP_STATE_NAMES[dv.getUint8(e + CT_TCPSTATE)] ?? 'NONE';
    rows.push(row);
  }
  rows.sort((a, b) => {
    for (let k = 0; k < a.key.length; k++) if (a.key[k] !== b.key[k]) return a.key[k] - b.key[k];
    return 0;
  });
  return rows.map(({ key: _k, ...r }) => r);
}

function tupleText(proto: number, t: CtTuple): string {
  if (proto === 1) return `src=${t.src} dst=${t.dst} type=${t.dport >> 8} code=${t.dport & 255} id=${t.sport}`;
  if (proto === 6 || proto === 17 || proto === 132 || proto === 136 || proto === 33) {
    return `src=${t.src} dst=${t.dst} sport=${t.sport} dport=${t.dport}`;
  }
  if (proto === 47) return `src=${t.src} dst=${t.dst} srckey=0x${t.sport.toString(16)} dstkey=0x${t.dport.toString(16)}`;
  return `src=${t.src} dst=${t.dst}`;
}

/** One line as `conntrack -L` prints it. */
export function formatEntry(c: CtEntry): string {
  const name = PROTO_NAMES[c.proto] ?? 'unknown';
  const parts = [`${name.padEnd(8)} ${c.proto} ${c.timeout}`];
  if (c.tcpState) parts.push(c.tcpState);
  parts.push(tupleText(c.proto, c.orig));
  if ((c.status & IPS_SEEN_REPLY) === 0) parts.push('[UNREPLIED]');
  parts.push(tupleText(c.proto, c.reply));
  if ((c.status & IPS_ASSURED) !== 0) parts.push('[ASSURED]');
  parts.push(`mark=${c.mark}`, 'use=1');
  return parts.join(' ');
}

/** The whole table, one line per connection, and conntrack's summary line on stderr's place. */
export function formatConntrack(mem: ArrayBuffer, table: number, now: bigint, hz: number): string {
  const rows = readConntrack(mem, table, now, hz);
  return rows.map(formatEntry).join('\n') + (rows.length ? '\n' : '');
}
