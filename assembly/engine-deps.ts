// The engine's view of the CONNTRACK engineer's functions (contract in /work/notes/core-common.md
// and /work/notes/core-contract-changes.md): dissect/defrag, conntrack, NAT, host model, rng.
// Engine code (hooks, interp, modules) imports them only from here.
export { dissect, defrag, defragMaxSize, defragDf } from './dissect';
export { ctIn, ctConfirm, ctAbort, ctStatus, ctMark, ctSetMark, ctProto, ctAddr, ctPort, ctExpiresSec } from './conntrack';
export { natNeeded, natSetup, natMasquerade, natRedirect, natNullBinding, natManip } from './nat';
export { routeInput, addrType, ifAddr } from './host';
export { draw } from './rng';
