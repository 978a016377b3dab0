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
import type { Backend, Nested } from "./backend/backend.ts";
import { runtimeFor } from "./program.ts";
import { guardNesting } from "./read/depth.ts";
import { Pair } from "./values.ts";

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
 * input changes what earlier definitions call, as in an R7RS REPL. Each input runs in
 * its own backend scope (tfjs releases the tensors made in it), so between inputs the
 * tensors held by globals, directly or in lists, are kept as data and made again; a
 * tensor captured only by a procedure does not survive its input.
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
    const forms = read(text, file);
    const rt = runtimeFor(this.backend);
    const run = guardNesting(
      forms,
      "compiling",
      () => instantiate(compile(expandProgram(forms), { openGlobals: true }), rt),
    );
    return this.backend.run(() => {
      rt.reset(this.limits);
      this.mapGlobalTensors((x) => x instanceof KeptTensor ? this.backend.tensor(x.data) : x);
      try {
        let v = run([], this.globals, []);
        if (v instanceof rt.TC) v = rt.bounce(v);
        return v === rt.U ? "" : rt.write(v);
      } catch (e) {
        if (e instanceof Error && /tensor is disposed/i.test(e.message)) {
          throw new DmciError(
            "type",
            "a tensor made by an earlier input is gone: tensors outlive their input only in globals and their lists",
            rt.site,
          );
        }
        throw rt.stackLimit(e);
      } finally {
        this.mapGlobalTensors((x) => this.backend.isTensor(x) ? new KeptTensor(this.backend.toNested(x)) : x);
      }
    }, []);
  }

  /** Replaces every tensor (or kept tensor) held by a global, directly or in its lists, by `f` of it. */
  private mapGlobalTensors(f: (x: unknown) => unknown): void {
    const pairs: Pair[] = [];
    const visit = (x: unknown): unknown => {
      if (x instanceof Pair) pairs.push(x);
      return typeof x === "object" && x !== null && !(x instanceof Pair) ? f(x) : x;
    };
    for (const name of Object.keys(this.globals)) this.globals[name] = visit(this.globals[name]);
    // Lists can be long and deep: an explicit stack, and each pair once.
    const seen = new Set<Pair>();
    while (pairs.length > 0) {
      const p = pairs.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      p.car = visit(p.car);
      p.cdr = visit(p.cdr);
    }
  }
}

/** A tensor kept as plain data between inputs. */
class KeptTensor {
  constructor(readonly data: Nested) {}
}
