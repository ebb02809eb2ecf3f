// The subcommand table. Each entry's `help` includes an example.
export interface Command {
  name: string;
  summary: string;
  help: string;
  run(args: string[]): Promise<number>;
}

export const commands: Command[] = [];

import { k8sCommands } from './commands/k8s.js';
commands.push(...k8sCommands);

import { replayCommand } from './commands/replay.js';
commands.push(replayCommand);

import { rulesCheck, rulesPrint } from './commands/rules.js';
commands.push(rulesCheck, rulesPrint);

import { compileCommand } from './commands/compile.js';
commands.push(compileCommand);

import { demoCommand } from './commands/demo.js';
commands.push(demoCommand);
