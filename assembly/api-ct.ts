// Exports of dissect/conntrack/nat/host. Owned by the conntrack+NAT work.
import { PKT, setImage } from './state';
export { dissect, defrag, defragMaxSize, defragDf } from './dissect';
export { routeInput, addrType, ifAddr, ifFirstAddr, routeNexthop, isLocalAddr } from './host';
export { draw } from './rng';
export { csumCompute, csumVerify } from './csum';

/** Address of the PKT scratch record (tests and debugging). */
export function ctPkt(): usize { return PKT; }
/** Point the core at an image already in memory (tests; the engine has its own setup). */
export function ctTestSetImage(addr: usize): void { setImage(addr); }
export {
  ctSetup, ctCount, ctEntryBytes, ctBytesPerConn, ctTable, ctStats, ctIn, ctConfirm, ctAbort, ctStatus, ctMark,
  ctSetMark, ctProto, ctAddr, ctPort, ctExpiresSec, ctTcpState, ctFirst, ctNext, ctEntry, ctUnconfirmed,
  ctMissLogSetup, ctMissLogCount, ctMissLogProtos, ctMissLogLost, ctMissLogReset,
} from './conntrack';
export { natNeeded, natSetup, natNullBinding, natMasquerade, natRedirect, natManip } from './nat';
