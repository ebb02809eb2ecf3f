// -j LOG (libxt_LOG.c / xt_LOG.c): non-terminal; --log-level, --log-prefix (29 chars), flags.
import { MOD_LOG } from '../../layout.js';
import type { TargetModule } from './types.js';
import { o } from './common.js';
import { saveString, parseUint, truncateBytes } from '../util.js';

const LEVELS: [string, number][] = [['emerg', 0], ['alert', 1], ['crit', 2], ['error', 3], ['warning', 4], ['notice', 5], ['info', 6], ['debug', 7], ['panic', 0]];
export const LOG_DEFAULT_LEVEL = 4;
export const LOG_FLAGS: [string, number][] = [['--log-tcp-sequence', 0x01], ['--log-tcp-options', 0x02], ['--log-ip-options', 0x04], ['--log-uid', 0x08], ['--log-macdecode', 0x20]];

export interface LogParams { level: number; prefix: string; flags: number }

export const LOG: TargetModule<LogParams> = {
  kind: 'target',
  name: 'LOG',
  id: MOD_LOG,
  terminal: false,
  options: [o('--log-level', true), o('--log-prefix', true), ...LOG_FLAGS.map(([n]) => o(n, false))],
  init: () => ({ level: LOG_DEFAULT_LEVEL, prefix: '', flags: 0 }),
  parse(p, opt, args) {
    if (opt.name === '--log-level') {
      const w = args.next('--log-level');
      const v = parseUint(w, 7) ?? LEVELS.find(([n]) => n === w)?.[1];
      if (v === undefined) return args.fail(`LOG: bad --log-level '${w}'`);
      p.level = v;
      return true;
    }
    if (opt.name === '--log-prefix') {
      const w = args.next('--log-prefix');
      if (w.length === 0) return args.fail('LOG: --log-prefix must have a minimum length of 1 characters');

      if (w.includes('\n')) return args.fail('LOG: newlines not allowed in --log-prefix');
      p.prefix = truncateBytes(w, 29); // cut silently to 29 bytes, as iptables does (measured)
      return true;
    }
    const f = LOG_FLAGS.find(([n]) => n === opt.name);
    if (f) { p.flags |= f[1]; return true; }
    return false;
  },
  save(p) {
    let s = '';
    if (p.prefix !== '') s += ` --log-prefix${saveString(p.prefix)}`;
    if (p.level !== LOG_DEFAULT_LEVEL) s += ` --log-level ${p.level}`;
    for (const [n, b] of LOG_FLAGS) if (p.flags & b) s += ` ${n}`;
    return s;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
LOG.lower = () => [];
