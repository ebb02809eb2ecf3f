// Running the nfreplay CLI (the compiled dist/ through bin/nfreplay.js) from the kernel tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = `${REPO}bin/nfreplay.js`;

export interface CliResult { code: number; stdout: string; stderr: string }

export function nfreplay(args: string[], timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8', timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024, cwd: REPO,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

const cache = new Map<string, boolean>();
/** True when `nfreplay <words...> --help` exits 0, i.e. the subcommand exists in the built CLI. */
export function hasSubcommand(...words: string[]): boolean {
  const key = words.join(' ');
  if (!cache.has(key)) cache.set(key, nfreplay([...words, '--help'], 30_000).code === 0);
  return cache.get(key)!;
}
