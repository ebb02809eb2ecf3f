// -j CONNMARK (libxt_CONNMARK.c revision 1 / xt_connmark.c): set ctmark = (ctmark & ~ctmask) ^ ctmark-value;
// save ctmark = (ctmark & ~ctmask) ^ (skb->mark & nfmask); restore skb->mark = (mark & ~nfmask) ^ (ctmark & ctmask).
import { MOD_CONNMARK_T } from '../../layout.js';
import type { TargetModule } from './types.js';
import { o, readU32, hex } from './common.js';
import { parseXMark, MARK_OPTIONS } from './MARK_T.js';

export interface ConnmarkTargetParams {
  mode: 'set' | 'save' | 'restore' | null;
  /** set: value and ctmask; save/restore: masks. */
  mark: number;
  ctmask: number;
  nfmask: number;
}

/** Which of --mask / --nfmask / --ctmask were given (parse-time bookkeeping, kept out of the model). */
const masksGiven = new WeakMap<ConnmarkTargetParams, Set<string>>();
function noteMask(p: ConnmarkTargetParams, name: string, fail: (m: string) => never): void {
  const s = masksGiven.get(p) ?? new Set<string>();
  masksGiven.set(p, s);
  const clash = name === '--mask' ? [...s].find((x) => x !== '--mask') : s.has('--mask') ? '--mask' : undefined;
  if (clash) fail(`CONNMARK: option "${name}" cannot be used together with "${clash}"`);
  s.add(name);
}

export const CONNMARK: TargetModule<ConnmarkTargetParams> = {
  kind: 'target',
  name: 'CONNMARK',
  id: MOD_CONNMARK_T,
  terminal: false,
  needsConntrack: true,
  options: [...MARK_OPTIONS, o('--save-mark', false), o('--restore-mark', false), o('--nfmask', true), o('--ctmask', true), o('--mask', true)],
  init: () => ({ mode: null, mark: 0, ctmask: 0xffffffff, nfmask: 0xffffffff }),
  parse(p, opt, args) {
    if (opt.name === '--save-mark' || opt.name === '--restore-mark') {
      if (p.mode) return args.fail('CONNMARK: only one action (--set-*/--save-mark/--restore-mark) may be given', opt.pos);
      p.mode = opt.name === '--save-mark' ? 'save' : 'restore';
      return true;
    }
    // The masks overwrite in option order, also after --set-xmark (`--set-xmark 1 --mask 3` saves as 0x1/0x3).
    const f = (m: string) => args.fail(m, opt.pos);
    if (opt.name === '--nfmask') { noteMask(p, opt.name, f); p.nfmask = readU32(args, opt.name); return true; }
    if (opt.name === '--ctmask') { noteMask(p, opt.name, f); p.ctmask = readU32(args, opt.name); return true; }
    if (opt.name === '--mask') { noteMask(p, opt.name, f); p.nfmask = p.ctmask = readU32(args, opt.name); return true; }
    const x = { mark: 0, mask: 0, set: false };
    if (!parseXMark(x, opt, args, 'CONNMARK')) return false;
    if (p.mode) return args.fail('CONNMARK: only one action (--set-*/--save-mark/--restore-mark) may be given', opt.pos);
    p.mode = 'set';
    p.mark = x.mark;
    p.ctmask = x.mask;
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (!p.mode) fail('CONNMARK: one of --set-xmark, --save-mark or --restore-mark is required');
  },
  save(p) {
    if (p.mode === 'set') return ` --set-xmark ${hex(p.mark)}/${hex(p.ctmask)}`;
    return ` --${p.mode}-mark --nfmask ${hex(p.nfmask)} --ctmask ${hex(p.ctmask)}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
CONNMARK.lower = (p) => [p.mode === 'set' ? 0 : p.mode === 'save' ? 1 : 2, p.mark | 0, p.ctmask | 0, p.nfmask | 0, 0, 0];
