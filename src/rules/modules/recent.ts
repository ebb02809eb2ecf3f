// -m recent (libxt_recent.c / xt_recent.c): per-name address lists. One of --set/--rcheck/--update/--remove;
// --seconds, --reap, --hitcount, --rttl, --name, --mask, --rsource/--rdest.
import { MOD_RECENT } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o } from './common.js';
import { inetAton, parseUint, ipv4ToString } from '../util.js';

export interface RecentParams {
  cmd: 'set' | 'rcheck' | 'update' | 'remove' | null;
  invert: boolean;
  seconds: number;
  reap: boolean;
  hitcount: number;
  rttl: boolean;
  name: string;
  /** Host-order u32 mask applied to the address (default 255.255.255.255). */
  mask: number;
  side: 'source' | 'dest';
}

/** xt_recent's ip_pkt_list_tot default (timestamps kept per address; a larger --hitcount raises it for the table). */
export const RECENT_PKT_LIST_TOT = 20;
/** Largest --hitcount the kernel accepts (measured: 65536 is refused, "larger than allowed maximum (65535)"). */
export const RECENT_MAX_HITCOUNT = 65535;

export const recent: MatchModule<RecentParams> = {
  kind: 'match',
  name: 'recent',
  id: MOD_RECENT,
  options: [o('--set', false, true), o('--rcheck', false, true), o('--update', false, true), o('--remove', false, true),
    o('--seconds', true), o('--reap', false), o('--hitcount', true), o('--rttl', false), o('--name', true),
    o('--mask', true), o('--rsource', false), o('--rdest', false)],
  init: () => ({ cmd: null, invert: false, seconds: 0, reap: false, hitcount: 0, rttl: false, name: 'DEFAULT', mask: 0xffffffff, side: 'source' }),
  parse(p, opt, args) {
    switch (opt.name) {
      case '--set': case '--rcheck': case '--update': case '--remove':
        if (p.cmd) return args.fail('recent: only one of --set, --rcheck, --update or --remove may be given', opt.pos);
        p.cmd = opt.name.slice(2) as RecentParams['cmd'];
        p.invert = opt.invert;
        return true;
      case '--seconds': {
        const w = args.next('--seconds');
        const v = parseUint(w);
        if (v === undefined || v === 0) return args.fail(`recent: bad --seconds value '${w}'`);
        p.seconds = v;
        return true;
      }
      case '--hitcount': {
        const w = args.next('--hitcount');
        const v = parseUint(w);
        if (v === undefined || v === 0) return args.fail(`recent: bad --hitcount value '${w}'`);
        p.hitcount = v;
        return true;
      }
      case '--reap': p.reap = true; return true;
      case '--rttl': p.rttl = true; return true;
      case '--name': {
        const w = args.next('--name');
        // The kernel refuses '', '.', '..' and '/' (proc file names); iptables keeps 199 characters (XT_RECENT_NAME_LEN - 1)
        // and prints the name as is, blanks included (measured).
        if (w.length === 0 || w.includes('/') || w === '.' || w === '..') return args.fail(`recent: bad --name '${w}'`);
        p.name = w.slice(0, 199);
        return true;
      }
      case '--mask': {
        const w = args.next('--mask');
        const v = inetAton(w); // XTTYPE_HOST: getaddrinfo/inet_aton syntax
        if (v === undefined) return args.fail(`recent: bad --mask '${w}'`);
        p.mask = v;
        return true;
      }
      case '--rsource': p.side = 'source'; return true;
      case '--rdest': p.side = 'dest'; return true;
    }
    return false;
  },
  finalCheck(p, _rule, fail) {
    if (!p.cmd) fail('recent: you must specify one of --set, --rcheck, --update or --remove');
    if ((p.seconds || p.hitcount) && (p.cmd === 'set' || p.cmd === 'remove')) fail('recent: --seconds and --hitcount only work with --rcheck or --update');
    if (p.reap && !p.seconds) fail('recent: --reap needs --seconds');
    if (p.reap && p.cmd !== 'rcheck' && p.cmd !== 'update') fail('recent: --reap only works with --rcheck or --update');
    if (p.rttl && (p.cmd === 'set' || p.cmd === 'remove')) fail(`recent: option "--rttl" cannot be used together with "--${p.cmd}"`);
    if (p.hitcount > RECENT_MAX_HITCOUNT) fail(`recent: hitcount (${p.hitcount}) is larger than allowed maximum (${RECENT_MAX_HITCOUNT})`);
  },
  save(p) {
    let s = p.invert ? ' !' : '';
    s += ` --${p.cmd}`;
    if (p.seconds) s += ` --seconds ${p.seconds}`;
    if (p.reap) s += ' --reap';
    if (p.hitcount) s += ` --hitcount ${p.hitcount}`;
    if (p.rttl) s += ' --rttl';
    s += ` --name ${p.name} --mask ${ipv4ToString(p.mask)}`;
    s += p.side === 'source' ? ' --rsource' : ' --rdest';
    return s;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
import { wireAddr } from '../../compile/wire.js';
recent.lower = (p, ctx) => {
  // [tableId, checkSet (CHECK 1 SET 2 UPDATE 4 REMOVE 8 TTL 16 REAP 32), seconds, hitcount, side, mask, invert]
  const cs = (p.cmd === 'set' ? 2 : p.cmd === 'rcheck' ? 1 : p.cmd === 'update' ? 4 : p.cmd === 'remove' ? 8 : 0) | (p.rttl ? 16 : 0) | (p.reap ? 32 : 0);
  return [ctx.recentId(p.name), cs, p.seconds, p.hitcount, p.side === 'dest' ? 1 : 0, wireAddr(p.mask), p.invert ? 1 : 0];
};
