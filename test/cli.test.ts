import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';

const bin = new URL('../bin/nfreplay.js', import.meta.url).pathname;

describe('cli', () => {
  it('prints usage and exits 2 without a command', () => {
    const r = spawnSync(process.execPath, [bin], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/usage: nfreplay/);
  });
  it('rejects an unknown command with exit 2', () => {
    const r = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
  it('prints its version', () => {
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' })).toMatch(/^nfreplay \d/);
  });
});

describe('cli output into a closed pipe', () => {
  it('exits quietly when the reader goes away (nfreplay ... | head)', () => {
    // 1.5 MB of rules into a reader that takes one byte and exits: the writer gets EPIPE and
    // must end without a stack trace (as other command-line tools do).
    const r = spawnSync('bash', ['-c', `set -o pipefail; node ${bin} k8s synth --services 2000 --endpoints 5 | head -c 1 >/dev/null`], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|Error/);
    expect(r.status).toBe(0);
  });
});
