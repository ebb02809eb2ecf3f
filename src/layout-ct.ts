// Conntrack memory layout: shared by assembly/conntrack.ts (asc) and src/report/conntrack.ts (tsc).
// Plain integer constants only (see src/layout.ts). Offsets in bytes.
//
// The table (reserved by ctSetup(capacity), base returned by it), as the kernel's: a bucket array of
// chain heads and entries allocated in order from one array (a new connection touches its entry's
// two cache lines and one bucket word, not a random page of a large hash):
//   [0, CTT_HDR)                  header words (CTT_*)
//   entries: capacity * CT_SIZE   one record per connection (index 0..capacity-1), 64-byte aligned;
//                                 handed out in index order (CTT_HWM), freed ones reused (free list)
//   free list: capacity * 4       stack of free entry indices
//   buckets: nbuckets * 4         u32 chain heads (nbuckets = pow2 >= 2 * capacity); a chain links
//                                 nodes through the entries' CT_NEXT_* words
// A connection is hashed under its ORIGINAL and REPLY tuples, and (after a SRC NAT decision) under
// its original source (ip, port, proto) for nf_nat_bysource-style lookups. A node reference is
// (entry index + 1) << 2 | kind (NODE_KIND_*); 0 ends a chain. A link (bucket word, CT_NEXT_*)
// holds the reference in bits 0..23 and, above, hints about the node it points to (a 7-bit hash
// tag, a may-have-a-successor bit: see assembly/conntrack.ts); mask with 0xffffff for the reference. New nodes go to the chain's head
// (hlist_nulls_add_head_rcu), so a chain lists the newest first, as the kernel's.

// Table header (byte offsets from the table base)
export const CTT_CAPACITY = 0;   // u32 entries
export const CTT_NBUCKETS = 4;   // u32 buckets (power of two)
export const CTT_ENTRIES = 8;    // u32 absolute address of entry 0
export const CTT_FREE = 12;      // u32 absolute address of the free-index stack
export const CTT_BUCKETS = 16;   // u32 absolute address of bucket 0
export const CTT_NFREE = 20;     // u32 entries on the free stack
export const CTT_USED = 24;      // u32 live entries (confirmed + the one unconfirmed)
export const CTT_RESERVED = 28;  // u32 unused (0)
export const CTT_HWM = 32;       // u32 entries ever handed out (entries >= HWM were never used)
export const CTT_EARLYDROPS = 36; // u32 early drops done
export const CTT_FULLDROPS = 40;  // u32 packets dropped because the table was full
export const CTT_CSUMBAD = 44;   // u32 packets INVALID because of a bad L4 checksum (hint: --trust-checksums)
export const CTT_INVALID = 48;   // u32 packets conntrack found INVALID (no ct attached)
export const CTT_HDR = 64;

// Entry record: 128 bytes, two cache lines. Line 0 holds what a lookup and every packet read
// (status, timeout, tuples, chain links); line 1 the protocol trackers' state.
export const CT_STATUS = 0;      // u32 IPS_* bits (src/layout.ts); 0 with CT_INUSE clear = free
export const CT_MARK = 4;        // u32 ct->mark
export const CT_TIMEOUT = 8;     // u64 absolute expiry in jiffies
export const CT_PROTO = 16;      // u8 l4 protocol
export const CT_TCPSTATE = 17;   // u8 TCP_CONNTRACK_* (TCS_* below)
export const CT_INUSE = 18;      // u8 1 when the record holds a connection
export const CT_LAST_INDEX = 19; // u8 TCP: last packet kind (TCP_*_SET)
// ORIGINAL tuple (addresses in P_SADDR encoding; ports host order; ICMP: sport = id, dport = type<<8|code)
export const CT_O_SRC = 20;
export const CT_O_DST = 24;
export const CT_O_SPORT = 28;    // u16
export const CT_O_DPORT = 30;    // u16
// REPLY tuple (reflects NAT)
export const CT_R_SRC = 32;
export const CT_R_DST = 36;
export const CT_R_SPORT = 40;    // u16
export const CT_R_DPORT = 42;    // u16
// Hash chains: the next node after this entry's ORIGINAL, REPLY and bysource nodes (0 = end)
export const CT_NEXT_O = 44;     // u32 link to the next node (reference in bits 0..23)
export const CT_NEXT_R = 48;     // u32
export const CT_NEXT_S = 52;     // u32
export const CT_SEQ = 56;        // u32 creation sequence number (dump order tiebreak)
export const CT_HASHED = 60;     // u8 HASHED_TUPLES: ORIGINAL+REPLY nodes linked; HASHED_SRC: bysource node linked
export const CT_LAST_DIR = 61;   // u8
export const CT_RETRANS = 62;    // u8
export const CT_LAST_WSCALE = 63; // u8
// TCP per-direction window data: seen[0] at CT_SEEN0, seen[1] at CT_SEEN0 + CT_SEEN_SIZE
export const CT_SEEN0 = 64;
export const SEEN_END = 0;       // u32 td_end
export const SEEN_MAXEND = 4;    // u32 td_maxend
export const SEEN_MAXWIN = 8;    // u32 td_maxwin
export const SEEN_MAXACK = 12;   // u32 td_maxack
export const SEEN_SCALE = 16;    // u8 td_scale
export const SEEN_FLAGS = 17;    // u8 IP_CT_TCP_FLAG_*
export const CT_SEEN_SIZE = 20;
export const CT_LAST_FLAGS = 104; // u8
export const CT_LAST_WIN = 106;  // u16
export const CT_LAST_SEQ = 108;  // u32
export const CT_LAST_ACK = 112;  // u32
export const CT_LAST_END = 116;  // u32
// Per direction (u32 at CT_ROUTE + 4 * dir): the input route of the direction's ESTABLISHED packets
// (assembly/hooks.ts routeCt): byte 0 = 1 when set, 1 = ingress device, 2 = routeInput's answer
// (i8), 3 = out device when it is HOOK_FORWARD. Outside the TCP/UDP/SCTP overlays; zeroed with the entry.
export const CT_ROUTE = 120;
// UDP: stream timestamp (jiffies, u64) overlays the TCP window area
export const CT_UDP_STREAM_TS = 64;
// SCTP (overlays the TCP window area too): state in CT_TCPSTATE, verification tags per direction
export const CT_SCTP_VTAG0 = 64;   // u32 vtag[ORIGINAL] (wire bytes as LE u32)
export const CT_SCTP_VTAG1 = 68;   // u32 vtag[REPLY]
export const CT_SCTP_INIT0 = 72;   // u8 init[ORIGINAL]
export const CT_SCTP_INIT1 = 73;   // u8 init[REPLY]
export const CT_SCTP_FLAGS = 74;   // u8 SCTP_FLAG_HEARTBEAT_VTAG_FAILED 1
export const CT_SCTP_LASTDIR = 75; // u8
export const CT_SIZE = 128;

export const HASHED_TUPLES = 1;
export const HASHED_SRC = 2;
// Node kinds (low 2 bits of a node reference)
export const NODE_KIND_ORIG = 0;
export const NODE_KIND_REPLY = 1;
export const NODE_KIND_SRC = 2;  // nf_nat_bysource: (orig src ip, orig src port, proto)
export const CT_MAX_CAPACITY = 4194303; // (2^22 - 1): (index + 1) << 2 fits 24 bits

// TCP conntrack states (enum tcp_conntrack)
export const TCS_NONE = 0;
export const TCS_SYN_SENT = 1;
export const TCS_SYN_RECV = 2;
export const TCS_ESTABLISHED = 3;
export const TCS_FIN_WAIT = 4;
export const TCS_CLOSE_WAIT = 5;
export const TCS_LAST_ACK = 6;
export const TCS_TIME_WAIT = 7;
export const TCS_CLOSE = 8;
export const TCS_SYN_SENT2 = 9;
export const TCS_MAX = 10;       // sIV
export const TCS_IGNORE = 11;    // sIG
export const TCS_RETRANS = 12;   // timeout table only
export const TCS_UNACK = 13;     // timeout table only

// SCTP conntrack states (enum sctp_conntrack)
export const SCS_NONE = 0;
export const SCS_CLOSED = 1;
export const SCS_COOKIE_WAIT = 2;
export const SCS_COOKIE_ECHOED = 3;
export const SCS_ESTABLISHED = 4;
export const SCS_SHUTDOWN_SENT = 5;
export const SCS_SHUTDOWN_RECD = 6;
export const SCS_SHUTDOWN_ACK_SENT = 7;
export const SCS_HEARTBEAT_SENT = 8;
export const SCS_MAX = 10;          // sIV

export const CT_DEFAULT_MAX = 262144;

// Miss log (ctMissLogSetup): 16-byte records, protocols in a parallel byte array (ctMissLogProtos)
export const ML_ORDINAL = 0;     // u32 packet ordinal
export const ML_SRC = 4;         // u32 tuple looked up (P_SADDR encoding)
export const ML_DST = 8;
export const ML_SPORT = 12;      // u16 host order (ICMP: id)
export const ML_DPORT = 14;      // u16 (ICMP: type << 8 | code)
export const ML_SIZE = 16;
