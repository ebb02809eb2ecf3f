#!/usr/bin/env node
// Entry point: the compiled CLI (npm ci builds dist/ through the prepare script).
import { main } from '../dist/cli.js';
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`nfreplay: internal error: ${err && err.stack || err}\n`); process.exitCode = 70; },
);
