// kube-proxy's chain names and probability strings (pkg/proxy/iptables/proxier.go, v1.28):
//   portProtoHash(S, p) = base32(sha256(S + p))[:16]        -> KUBE-SVC-/SVL-/EXT-/FW- + hash
//   KUBE-SEP- + base32(sha256(S + p + "ip:port"))[:16]
//   computeProbability(n) = fmt.Sprintf("%0.10f", 1.0/float64(n))
import * as crypto from 'node:crypto';

// crypto.hash (one-shot, Node >= 20.12) is several times cheaper than createHash per call.
const oneShot = (crypto as unknown as { hash?: (alg: string, data: string, enc: 'buffer') => Buffer }).hash;
const sha256 = oneShot ? (s: string): Buffer => oneShot('sha256', s, 'buffer') : (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** First 16 characters of the standard base32 encoding of sha256(s): 10 bytes = 80 bits = 16 chars. */
export function hash16(s: string): string {
  const d = sha256(s);
  let out = '';
  // 10 bytes as two 40-bit groups of 8 characters each.
  for (let g = 0; g < 10; g += 5) {
    let hi = d[g]; // top 8 bits
    let lo = ((d[g + 1] << 24) | (d[g + 2] << 16) | (d[g + 3] << 8) | d[g + 4]) >>> 0; // low 32 bits
    const chars: string[] = [];
    for (let k = 0; k < 8; k++) {
      chars.push(B32[lo & 31]);
      lo = ((lo >>> 5) | ((hi & 31) << 27)) >>> 0;
      hi >>>= 5;
    }
    out += chars.reverse().join('');
  }
  return out;
}

/** portProtoHash: S is ServicePortName.String() ("ns/name" or "ns/name:port"), protocol lower case. */
export function portProtoHash(svcPortName: string, protocol: string): string {
  return hash16(svcPortName + protocol);
}

export function svcChain(s: string, p: string): string {
  return `KUBE-SVC-${portProtoHash(s, p)}`;
}
export function svlChain(s: string, p: string): string {
  return `KUBE-SVL-${portProtoHash(s, p)}`;
}
export function extChain(s: string, p: string): string {
  return `KUBE-EXT-${portProtoHash(s, p)}`;
}
export function fwChain(s: string, p: string): string {
  return `KUBE-FW-${portProtoHash(s, p)}`;
}
/** endpoint is net.JoinHostPort(ip, port): "10.1.2.3:80" (IPv6 would be "[fd00::1]:80"). */
export function sepChain(s: string, p: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(s + p + endpoint)}`;
}

/**
 * Go's `%0.<digits>f` of a float64: the exact binary value rounded half-to-even at the last digit.
 * (JavaScript's toFixed rounds exact ties up, e.g. 1/2048 = 0.00048828125 -> "0.0004882813" where Go
 * prints "0.0004882812", so it cannot be used.)
 */
export function goFixed(x: number, digits: number): string {
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`goFixed: unsupported value ${x}`);
  // x = mant * 2^exp exactly.
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  const e = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let exp: number;
  if (e === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = e - 1075;
  }
  const scale = 10n ** BigInt(digits);
  // q = round_half_even(mant * 2^exp * 10^digits)
  let num = mant * scale;
  let den = 1n;
  if (exp >= 0) num <<= BigInt(exp);
  else den <<= BigInt(-exp);
  let q = num / den;
  const r = num - q * den;
  const twice = r * 2n;
  if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  const s = q.toString().padStart(digits + 1, '0');
  return digits === 0 ? s : `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}`;
}

const probCache: string[] = ['<bad value>'];
/** computeProbability(n) with kube-proxy's cache. */
export function probability(n: number): string {
  let p = probCache[n];
  if (p === undefined) {
    p = goFixed(1 / n, 10);
    probCache[n] = p;
  }
  return p;
}

/** The masquerade mark as kube-proxy formats it: fmt.Sprintf("%#08x", 1<<bit) -> "0x00004000". */
export function masqueradeMark(bit: number): string {
  const v = 2 ** bit;
  return `0x${v.toString(16).padStart(8, '0')}`;
}
