// -j TRACE (libxt_TRACE.c / xt_TRACE.c): raw table; marks the packet for tracing (nfreplay: no effect), non-terminal.
import { MOD_TRACE } from '../../layout.js';
import type { TargetModule } from './types.js';

export const TRACE: TargetModule<Record<string, never>> = {
  kind: 'target',
  name: 'TRACE',
  id: MOD_TRACE,
  terminal: false,
  tables: ['raw'],
  options: [],
  init: () => ({}),
  parse: () => false,
  save: () => '',
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
TRACE.lower = () => [];
