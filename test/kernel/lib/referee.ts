// The referee tests' fixture: one kernel run of a case (its own Lab, removed afterwards) and a way to
// hand the comparison doctored "nfreplay outputs" built from any counters, conntrack text and egress.
import { beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from './netns.js';
import { loadCase, runKernel, type Case, type KernelResult, type NfreplayOutputs } from './harness.js';
import { writePcap, LINKTYPE_RAW } from './pcapfile.js';

export interface RefereeFixture {
  /** Set in beforeAll: the case and the kernel's results for it. */
  c: Case;
  k: KernelResult;
  /** Files as nfreplay would write them, holding `counters`, `conntrack` and the `egress` datagrams. */
  outputs(counters: string, conntrack: string, egress: Uint8Array[], linktype?: number): NfreplayOutputs;
}

/** Call inside a describe: runs case `name` (test/kernel/cases/<name>) through the kernel once. */
export function refereeFixture(name: string, labName: string): RefereeFixture {
  const lab = new Lab(labName);
  const dir = mkdtempSync(join(tmpdir(), `nfr-${labName}-`));
  let n = 0;
  const fx = {
    outputs(counters: string, conntrack: string, egress: Uint8Array[], linktype = LINKTYPE_RAW): NfreplayOutputs {
      const o = { counters: join(dir, `c${++n}`), conntrack: join(dir, `t${n}`), egress: join(dir, `e${n}.pcap`) };
      writeFileSync(o.counters, counters);
      writeFileSync(o.conntrack, conntrack);
      writeFileSync(o.egress, writePcap(egress.map((data, i) => ({ ts: 1.7e9 + i / 1000, data })), linktype));
      return o;
    },
  } as RefereeFixture;
  beforeAll(async () => {
    fx.c = await loadCase(fileURLToPath(new URL(`../cases/${name}/`, import.meta.url)));
    fx.k = await runKernel(fx.c, lab);
  });
  afterAll(async () => {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
    if (fx.k) rmSync(fx.k.workdir, { recursive: true, force: true });
  });
  return fx;
}
