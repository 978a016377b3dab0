/**
 * The one error type of dmci. Every failure a user can cause (bad syntax, unbound
 * variable, exhausted fuel, bad spec, unreadable CSV …) is a DmciError with a kind,
 * a message saying what was expected and what was found, and where it happened.
 * This module must not import anything from the rest of the library.
 */

/** A position in a source text: file name, 1-based line and column. */
export interface Span {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** The kinds of error; DESIGN §2 and STYLE §4 list them. */
export type ErrorKind =
  | "read"
  | "syntax"
  | "unbound"
  | "arity"
  | "type"
  | "limit"
  | "user"
  | "spec"
  | "data"
  | "io";

/** Formats a span as `file:line:col`. */
export function formatSpan(span: Span): string {
  return `${span.file}:${span.line}:${span.col}`;
}

/**
 * An error with a kind and (where known) the source position at fault.
 *
 * @example
 * ```ts
 * const e = new DmciError("unbound", "unbound variable: x", { file: "a.scm", line: 1, col: 1 });
 * e.toString(); // "unbound error at a.scm:1:1: unbound variable: x"
 * ```
 */
export class DmciError extends Error {
  /** What went wrong, coarsely. */
  readonly kind: ErrorKind;
  /** Where it went wrong, if known. Set once, by the innermost code that knows. */
  span: Span | undefined;
  /** Extra data for `user` errors (the irritants of `(error msg irritant …)`). */
  readonly irritants: readonly unknown[];

  constructor(kind: ErrorKind, message: string, span?: Span, irritants: readonly unknown[] = []) {
    super(message);
    this.name = "DmciError";
    this.kind = kind;
    this.span = span;
    this.irritants = irritants;
  }

  /** One line: kind, position and message. This is what the CLI prints. */
  override toString(): string {
    const where = this.span ? ` at ${formatSpan(this.span)}` : "";
    return `${this.kind} error${where}: ${this.message}`;
  }
}

/** Shorthand for `throw new DmciError(...)` in expression position. */
export function fail(kind: ErrorKind, message: string, span?: Span): never {
  throw new DmciError(kind, message, span);
}
