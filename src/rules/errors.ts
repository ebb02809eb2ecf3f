// Errors for bad ruleset text: always `file:line:column: message`, naming the offending token.
import type { SourcePos } from './model.js';

export class ParseError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The word the error is about ('' at end of line/file). */
  readonly token: string;
  /** The message without the position prefix. */
  readonly detail: string;

  constructor(pos: SourcePos, token: string, detail: string) {
    super(`${pos.file}:${pos.line}:${pos.column}: ${detail}`);
    this.name = 'ParseError';
    this.file = pos.file;
    this.line = pos.line;
    this.column = pos.column;
    this.token = token;
    this.detail = detail;
  }

  /** The one-line form printed to stderr: `file:line:column: message`. */
  format(): string {
    return this.message;
  }
}

/** Quote a token for an error message. */
export function q(token: string): string {
  return `'${token}'`;
}
