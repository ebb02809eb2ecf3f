// -m comment (libxt_comment.c): --comment TEXT (at most 255 characters); always matches.
import { MOD_COMMENT } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o } from './common.js';
import { saveString } from '../util.js';

export interface CommentParams {
  text: string | null;
}

export const comment: MatchModule<CommentParams> = {
  kind: 'match',
  name: 'comment',
  id: MOD_COMMENT,
  options: [o('--comment', true)],
  init: () => ({ text: null }),
  parse(p, opt, args) {
    if (opt.name !== '--comment') return false;
    const w = args.next('--comment');
    if (Buffer.byteLength(w) > 255) return args.fail('comment: --comment may not exceed 255 characters');
    p.text = w;
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (p.text === null) fail("comment: option '--comment' must be specified");
  },
  save(p) {
    return ` --comment${saveString(p.text ?? '')}`;
  },
};
