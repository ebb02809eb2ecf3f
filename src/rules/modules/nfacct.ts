// -m nfacct (libxt_nfacct.c / xt_nfacct.c): --nfacct-name NAME. The match only adds the packet to a named
// accounting object and always matches, so the core evaluates it like comment (MOD_COMMENT: true).
// kube-proxy >= 1.30 writes it (ct_state_invalid_dropped_pkts, localhost_nps_accepted_pkts). The kernel
// refuses the rule when the object does not exist; nfreplay assumes it does, as on a kube-proxy node.
import { MOD_COMMENT } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o } from './common.js';
import { saveString, truncateBytes } from '../util.js';

export interface NfacctParams {
  name: string | null;
}

export const nfacct: MatchModule<NfacctParams> = {
  kind: 'match',
  name: 'nfacct',
  id: MOD_COMMENT,
  options: [o('--nfacct-name', true)],
  init: () => ({ name: null }),
  parse(p, opt, args) {
    if (opt.name !== '--nfacct-name') return false;
    const w = args.next('--nfacct-name');
    if (w === '') return args.fail('nfacct: --nfacct-name must have a minimum length of 1 characters');
    p.name = truncateBytes(w, 31); // NFACCT_NAME_MAX - 1, cut silently (measured)
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (p.name === null) fail("nfacct: option '--nfacct-name' must be specified");
  },
  // iptables v1.8.9 prints two blanks before the name (" --nfacct-name " then xtables_save_string's own " "), measured.
  save: (p) => ` --nfacct-name ${saveString(p.name ?? '')}`,
};
