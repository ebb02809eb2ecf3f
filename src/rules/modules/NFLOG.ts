// -j NFLOG (libxt_NFLOG.c / xt_NFLOG.c): non-terminal; --nflog-group, --nflog-prefix (63), --nflog-range/--nflog-size, --nflog-threshold.
import { MOD_NFLOG } from '../../layout.js';
import type { TargetModule } from './types.js';
import { o, readU32 } from './common.js';
import { saveString, truncateBytes } from '../util.js';

export interface NflogParams { group: number; prefix: string; len: number; copyLen: boolean; threshold: number }

export const NFLOG: TargetModule<NflogParams> = {
  kind: 'target',
  name: 'NFLOG',
  id: MOD_NFLOG,
  terminal: false,
  options: [o('--nflog-group', true), o('--nflog-prefix', true), o('--nflog-range', true), o('--nflog-size', true), o('--nflog-threshold', true)],
  init: () => ({ group: 0, prefix: '', len: 0, copyLen: false, threshold: 1 }),
  parse(p, opt, args) {
    switch (opt.name) {
      case '--nflog-group': p.group = readU32(args, opt.name, 0, 0xffff); return true;
      case '--nflog-prefix': {
        const w = args.next(opt.name);
        if (w.length === 0) return args.fail('NFLOG: --nflog-prefix must have a minimum length of 1 characters');

        if (w.includes('\n')) return args.fail('NFLOG: newlines not allowed in --nflog-prefix');
        p.prefix = truncateBytes(w, 63); // cut silently to 63 bytes, as iptables does (measured)
        return true;
      }
      case '--nflog-range': p.len = readU32(args, opt.name); return true;
      case '--nflog-size': p.len = readU32(args, opt.name); p.copyLen = true; return true;
      case '--nflog-threshold': p.threshold = readU32(args, opt.name, 1, 0xffff); return true;
    }
    return false;
  },
  save(p) {
    let s = '';
    if (p.prefix !== '') s += ` --nflog-prefix${saveString(p.prefix)}`;
    if (p.group) s += ` --nflog-group ${p.group}`;
    if (p.copyLen) s += ` --nflog-size ${p.len}`;
    else if (p.len) s += ` --nflog-range ${p.len}`;
    if (p.threshold !== 1) s += ` --nflog-threshold ${p.threshold}`;
    return s;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
NFLOG.lower = () => [];
