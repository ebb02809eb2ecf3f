// nfreplay: one binary, subcommands. Each subcommand lives in its own module and registers here.
import { commands } from './commands.js';

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write('nfreplay 0.1.0\n');
    return 0;
  }
  // Two-word subcommands ("rules check", "k8s synth") are looked up first.
  const two = rest.length > 0 ? commands.find((c) => c.name === `${name} ${rest[0]}`) : undefined;
  const cmd = two ?? commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`nfreplay: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const args = two ? rest.slice(1) : rest;
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${cmd.help.trim()}\n`);
    return 0;
  }
  return cmd.run(args);
}

function usage(): string {
  const lines = commands.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`);
  return `usage: nfreplay <command> [options]   (nfreplay <command> --help for examples)\n\ncommands:\n${lines.join('\n')}\n`;
}
