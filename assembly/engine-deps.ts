// The engine's view of the CONNTRACK engineer's functions (contract in /work/notes/core-common.md).
// While a piece has not landed, the line re-exports a minimal stand-in from ./engine-standins;
// switch each line to the real file when it lands. Engine code imports only from here.
export { dissect, defrag, defragMaxSize, defragDf } from './dissect';
export { ctIn, ctConfirm, ctAbort, ctStatus, ctMark, ctSetMark, ctProto, ctAddr, ctPort, ctExpiresSec } from './conntrack';
export { natNeeded, natSetup, natMasquerade, natRedirect, natNullBinding, natManip } from './nat';
export { routeInput, addrType, ifAddr } from './host';
export { draw } from './rng';
