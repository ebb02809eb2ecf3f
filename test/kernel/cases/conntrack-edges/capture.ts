// Numbered as in check.ts.
import type { CasePacket } from '../../lib/harness.js';
import { masqCapture } from '../../lib/masq-router.js';

export default function capture(seed: number): CasePacket[] {
  const k = masqCapture(seed);
  // T1: a full connection into TIME_WAIT (#1-#6), then a new SYN on the same tuple (#7).
  k.conv('192.0.2.30', 41000).c('S').s('SA').c('A').c('FA').s('FA').c('A');
  k.conv('192.0.2.30', 41000).c('S');
  // T2: picked up mid-stream: client data (#8), the server's ACK (#9), the client's ACK (#10).
  k.conv('192.0.2.31', 41001).c('PA', { len: 20 }).s('A').c('A');
  // T3: a SYN-ACK nobody asked for, straight to an inside address (#11).
  k.strayServerSynAck('192.0.2.32', 41002, 11);
  // T4: a SYN with a wrong checksum (#12).
  k.badChecksumSyn('192.0.2.33', 41003, 12);
  // T5: UDP without checksum (#13); T6: UDP with a wrong one (#14). 20 bytes each.
  k.udp('192.0.2.34', 5000, 20, 'zero');
  k.udp('192.0.2.35', 5001, 20, 'bad');
  return k.out;
}
