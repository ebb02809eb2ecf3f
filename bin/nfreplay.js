#!/usr/bin/env node
// Entry point: the compiled CLI (npm ci builds dist/ through the prepare script).
import { main } from '../dist/cli.js';

// `nfreplay ... | head` closes the pipe early: stop quietly, as other command-line tools do.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`nfreplay: internal error: ${err && err.stack || err}\n`); process.exitCode = 70; },
);
