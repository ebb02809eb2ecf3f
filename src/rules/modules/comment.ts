// -m comment (libxt_comment.c): --comment TEXT (cut to 255 bytes); always matches.
import { MOD_COMMENT } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o } from './common.js';
import { saveString, truncateBytes } from '../util.js';

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
    p.text = truncateBytes(w, 255); // XT_MAX_COMMENT_LEN - 1: longer comments are cut silently (measured)
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (p.text === null) fail("comment: option '--comment' must be specified");
  },
  save(p) {
    return ` --comment${saveString(p.text ?? '')}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
comment.lower = () => [];
