/**
 * An interactive session: top-level forms evaluated one input at a time against
 * globals that persist between inputs (the REPL). Decimal literals are plain
 * constants here; parameters only matter for model programs.
 */
import { DmciError } from "./errors.ts";
import { read } from "./read/reader.ts";
import { expandProgram } from "./expand/expander.ts";
import { compile, instantiate } from "./compile/compiler.ts";
import { DEFAULT_LIMITS, type Limits } from "./compile/runtime.ts";
import type { Backend } from "./backend/backend.ts";
import { runtimeFor } from "./program.ts";

/**
 * True when `text` is an incomplete datum (an open list or string), so a REPL should
 * read another line before evaluating.
 */
export function isIncomplete(text: string): boolean {
  try {
    read(text, "<input>");
    return false;
  } catch (e) {
    return e instanceof DmciError &&
      /never closed|unterminated|after '.*', found end of input/.test(e.message);
  }
}

/**
 * A REPL session over one backend. Values are returned in `write` syntax. Every input
 * is compiled with open globals, so redefining a procedure (a primitive included) in one
 * input changes what earlier definitions call, as in an R7RS REPL. Tensors do
 * not survive between inputs on tfjs (each input runs in its own scope), so a global
 * bound to a tensor is read back as data by later inputs only if it was made again.
 *
 * @example
 * ```ts
 * import { f64Backend } from "./backend/f64/mod.ts";
 * const s = new Session(f64Backend);
 * s.eval("(define (sq x) (* x x))");
 * s.eval("(sq 4)"); // "16"
 * ```
 */
export class Session {
  private readonly globals: Record<string, unknown>;
  private inputs = 0;

  constructor(private readonly backend: Backend, private readonly limits: Limits = DEFAULT_LIMITS) {
    this.globals = Object.create(runtimeFor(backend).procs);
  }

  /** Evaluates every form of `text`; returns the last value written, or "" if it has none. */
  eval(text: string): string {
    const file = `<repl:${++this.inputs}>`;
    const code = compile(expandProgram(read(text, file)), { openGlobals: true });
    const rt = runtimeFor(this.backend);
    const run = instantiate(code, rt);
    return this.backend.run(() => {
      rt.reset(this.limits);
      try {
        let v = run([], this.globals, []);
        if (v instanceof rt.TC) v = rt.bounce(v);
        return v === rt.U ? "" : rt.write(v);
      } catch (e) {
        throw rt.stackLimit(e);
      }
    }, []);
  }
}
