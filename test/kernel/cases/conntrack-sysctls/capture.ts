// Numbered as in check.ts.
import type { CasePacket } from '../../lib/harness.js';
import { masqCapture } from '../../lib/masq-router.js';

export default function capture(seed: number): CasePacket[] {
  const k = masqCapture(seed);
  // #1-#3 handshake, #4 10 bytes a quarter of the sequence space ahead (out of window).
  k.conv('192.0.2.40', 42000).c('S').s('SA').c('A').c('PA', { len: 10, seqDelta: 0x40000000 });
  // #5 a mid-stream segment of an unknown connection (20 bytes).
  k.conv('192.0.2.41', 42001).c('PA', { len: 20 });
  // #6 a SYN with a wrong checksum; #7 UDP with a wrong checksum (20 bytes).
  k.badChecksumSyn('192.0.2.42', 42002, 6);
  k.udp('192.0.2.43', 5002, 20, 'bad');
  // #8 a SYN-ACK without a connection.
  k.strayServerSynAck('192.0.2.44', 42003, 8);
  return k.out;
}
