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
