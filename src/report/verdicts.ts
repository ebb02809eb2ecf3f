// Names of the per-packet results (RES_* in src/layout.ts) for reports.
import * as L from '../layout.js';

export const RES_LABELS: Record<number, { key: string; label: string; always?: boolean }> = {
  [L.RES_NOT_IP]: { key: 'notIPv4', label: 'not IPv4 (passed over)' },
  [L.RES_LOCAL]: { key: 'local', label: 'accepted, delivered locally', always: true },
  [L.RES_FORWARDED]: { key: 'forwarded', label: 'accepted, forwarded', always: true },
  [L.RES_DROP_RULE]: { key: 'droppedByRule', label: 'dropped by a rule (DROP/REJECT)', always: true },
  [L.RES_DROP_POLICY]: { key: 'droppedByPolicy', label: 'dropped by a chain policy', always: true },
  [L.RES_DROP_INVALID]: { key: 'droppedByConntrack', label: 'dropped by conntrack' },
  [L.RES_DROP_MARTIAN]: { key: 'martian', label: 'dropped by routing: martian' },
  [L.RES_DROP_NOROUTE]: { key: 'noRoute', label: 'dropped by routing: no route' },
  [L.RES_MALFORMED]: { key: 'malformed', label: 'malformed IPv4 (dropped in ip_rcv)' },
  [L.RES_DROP_NAT]: { key: 'natFailed', label: 'dropped by NAT (no mapping)' },
  [L.RES_DROP_TTL]: { key: 'ttlExceeded', label: 'dropped: TTL exceeded on forward' },
  [L.RES_FRAG_QUEUED]: { key: 'fragmentsHeld', label: 'fragments held for reassembly' },
  [L.RES_DROP_FRAG]: { key: 'fragmentsDropped', label: 'fragments dropped by reassembly' },
  [L.RES_DROP_OTHERHOST]: { key: 'otherHost', label: 'not for this host (PACKET_OTHERHOST)' },
  [L.RES_DROP_MTU]: { key: 'mtuExceeded', label: 'dropped: DF and longer than the MTU' },
};
