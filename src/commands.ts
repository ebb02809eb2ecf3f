// The subcommand table. Each entry's `help` includes an example.
export interface Command {
  name: string;
  summary: string;
  help: string;
  run(args: string[]): Promise<number>;
}

export const commands: Command[] = [];
