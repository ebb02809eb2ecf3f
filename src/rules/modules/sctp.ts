// -m sctp (libxt_sctp.c / xt_sctp.c): --sport --dport with ranges (--chunk-types is not supported).
import { MOD_SCTP } from '../../layout.js';
import { portsModule } from './udp.js';
import { IPPROTO_SCTP } from '../protocols.js';

export type { PortsParams as SctpParams } from './udp.js';
export const sctp = portsModule('sctp', MOD_SCTP, IPPROTO_SCTP, false);

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
import { lowerPorts } from './udp.js';
sctp.lower = lowerPorts;
