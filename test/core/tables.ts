// Ruleset text for the engine tests: the header iptables-save writes for a table whose builtin
// chains are all untouched, so that a test states only the chains and rules it is about.

/** Builtin chains per table, in the order iptables-save lists them (the kernel's hook order). */
const BUILTINS = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
} as const;

/** `*table` and every builtin chain of it declared `:CHAIN ACCEPT [0:0]`, one a line. */
export function declared(table: keyof typeof BUILTINS): string {
  return [`*${table}`, ...BUILTINS[table].map((c) => `:${c} ACCEPT [0:0]`)].join('\n');
}
