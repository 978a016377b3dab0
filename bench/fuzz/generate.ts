/**
 * The fuzzer's program generator: from a seed, a random well-formed model program of the
 * language whose value is a real scalar. Programs are datum trees made with the search
 * proposers' node builders (lib/search/proposers/tree.ts) and printed by their printer, so a
 * shrunk reproducer is printed the same way. They use decimal parameters, closures, named-let
 * loops, recursion (tail and non-tail), higher-order list procedures, strings and symbols, and
 * the real procedures of the primitive table, each applied where its domain is safe.
 */
import type { Datum, StringDatum } from "../../lib/read/datum.ts";
import { PRIMITIVE_BY_NAME } from "../../lib/primitives.ts";
import { uniform } from "../../lib/random.ts";
import { call, list, MADE, num, sym } from "../../lib/search/proposers/tree.ts";
import { writeProgram } from "../../lib/search/proposers/print.ts";

/**
 * Real procedures of the primitive table the generator applies to any real argument, with
 * how: `any` (defined everywhere), or wrapped to stay in the domain.
 */
const UNARY: readonly { name: string; wrap?: (x: Datum) => Datum }[] = [
  { name: "tanh" },
  { name: "sin" },
  { name: "cos" },
  { name: "atan" },
  { name: "abs" },
  { name: "square" },
  { name: "sigmoid" },
  { name: "exp", wrap: (x) => call("tanh", x) },
  { name: "sqrt", wrap: (x) => call("+", num(1, false), call("square", x)) },
  { name: "log", wrap: (x) => call("+", num(1, false), call("square", x)) },
  { name: "log1p", wrap: (x) => call("square", x) },
  { name: "softplus", wrap: (x) => call("tanh", x) },
];
const BINARY = ["+", "-", "*", "max", "min"];
const COMPARE = ["<", ">", "<=", ">="];

for (const p of [...UNARY.map((u) => u.name), ...BINARY, ...COMPARE, "fold-left", "map", "filter", "apply"]) {
  if (!PRIMITIVE_BY_NAME.has(p)) throw new Error(`fuzz generator: ${p} is not in the primitive table`);
}

/** A generated program: its forms and its text. */
export interface Generated {
  readonly forms: Datum[];
  readonly text: string;
}

function str(value: string): StringDatum {
  return { type: "string", value, span: MADE };
}

/** A procedure the program defines, callable from later expressions. */
interface Helper {
  readonly name: string;
  /** How a call is made from argument expressions. */
  readonly call: (arg: () => Datum) => Datum;
}

/** Generation state of one program. */
class Gen {
  private counter = 0;
  readonly helpers: Helper[] = [];
  constructor(private readonly u: () => number) {}

  int(n: number): number {
    return Math.floor(this.u() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  fresh(hint: string): string {
    return `${hint}${++this.counter}`;
  }
  decimal(): Datum {
    return num(Math.round((this.u() * 4 - 2) * 100) / 100 || 0.25, true);
  }

  /** A real-valued expression over the variables `vars`, at most `depth` deep. */
  real(vars: readonly string[], depth: number): Datum {
    if (depth <= 0 || this.u() < 0.2) return this.leaf(vars);
    const d = depth - 1;
    const r = () => this.real(vars, d);
    switch (this.int(16)) {
      case 0:
      case 1:
        return call(this.pick(BINARY), r(), r());
      case 2:
        return call("+", r(), r(), r());
      case 3: {
        const u = this.pick(UNARY);
        return call(u.name, u.wrap ? u.wrap(r()) : r());
      }
      case 4:
        return call("/", r(), call("+", num(2, false), call("square", r())));
      case 5:
        return list(sym("if"), call(this.pick(COMPARE), r(), r()), r(), r());
      case 6: {
        const v = this.fresh("v");
        return list(sym("let"), list(list(sym(v), r())), this.real([...vars, v], d));
      }
      case 7: {
        if (this.helpers.length === 0) return r();
        const h = this.pick(this.helpers);
        return h.call(r);
      }
      case 8: {
        const acc = this.fresh("acc"), x = this.fresh("x");
        const f = list(sym("lambda"), list(sym(acc), sym(x)), this.real([...vars, acc, x], d));
        return call("fold-left", f, r(), call("list", r(), r(), r()));
      }
      case 9: {
        const x = this.fresh("x");
        return call(
          "apply",
          sym("+"),
          call("map", list(sym("lambda"), list(sym(x)), this.real([...vars, x], d)), call("list", r(), r())),
        );
      }
      case 10: {
        const loop = this.fresh("loop"), i = this.fresh("i"), acc = this.fresh("acc");
        const n = 1 + this.int(6);
        return list(
          sym("let"),
          sym(loop),
          list(list(sym(i), num(0, false)), list(sym(acc), r())),
          list(
            sym("if"),
            call("<", sym(i), num(n, false)),
            call(loop, call("+", sym(i), num(1, false)), this.real([...vars, acc, i], d)),
            sym(acc),
          ),
        );
      }
      case 11: {
        const x = this.fresh("x");
        return call(
          "*",
          r(),
          call(
            "length",
            call(
              "filter",
              list(sym("lambda"), list(sym(x)), call(this.pick(COMPARE), sym(x), r())),
              call("list", r(), r(), r()),
            ),
          ),
        );
      }
      case 12: {
        const a = this.pick(["a", "bc", "d e"]), b = this.pick(["", "f", "bc"]);
        const test = this.u() < 0.5
          ? call("equal?", call("string-append", str(a), str(b)), str(a + this.pick([b, "x"])))
          : call(
            "eq?",
            call("string->symbol", str(a + b)),
            list(sym("quote"), sym(this.pick(["abc", "df", "bc"]))),
          );
        return list(sym("if"), test, r(), r());
      }
      case 13: {
        const p = this.fresh("p");
        return list(
          sym("let"),
          list(list(sym(p), call("cons", r(), r()))),
          call("-", call("car", sym(p)), call("cdr", sym(p))),
        );
      }
      case 14:
        return list(
          sym("cond"),
          list(call(this.pick(COMPARE), r(), r()), r()),
          list(call(this.pick(COMPARE), r(), r()), r()),
          list(sym("else"), r()),
        );
      default:
        return call("*", r(), this.leaf(vars));
    }
  }

  leaf(vars: readonly string[]): Datum {
    const x = this.u();
    if (vars.length && x < 0.6) return sym(this.pick(vars));
    if (x < 0.85) return this.decimal();
    return num(this.int(5) - 2, false);
  }

  /** Top-level definitions: parameters, then procedures of the kinds the language has. */
  definitions(): { forms: Datum[]; globals: string[] } {
    const forms: Datum[] = [];
    const globals: string[] = [];
    for (let i = 0, n = 1 + this.int(3); i < n; i++) {
      const name = this.fresh("k");
      forms.push(list(sym("define"), sym(name), this.decimal()));
      globals.push(name);
    }
    for (let i = 0, n = this.int(4); i < n; i++) {
      const kind = this.int(4);
      const name = this.fresh(["h", "make", "rec", "iter"][kind]);
      if (kind === 0) { // a procedure of one argument
        forms.push(list(sym("define"), list(sym(name), sym("x")), this.real([...globals, "x"], 3)));
        this.helpers.push({ name, call: (arg) => call(name, arg()) });
      } else if (kind === 1) { // a closure maker
        const body = list(sym("lambda"), list(sym("y")), this.real([...globals, "c", "y"], 3));
        forms.push(list(sym("define"), list(sym(name), sym("c")), body));
        this.helpers.push({ name, call: (arg) => list(call(name, arg()), arg()) });
      } else if (kind === 2) { // non-tail recursion on a count
        const step = this.real([...globals, "n"], 2);
        forms.push(list(
          sym("define"),
          list(sym(name), sym("n")),
          list(
            sym("if"),
            call("<=", sym("n"), num(0, false)),
            this.real(globals, 2),
            call("+", step, call(name, call("-", sym("n"), num(1, false)))),
          ),
        ));
        this.helpers.push({ name, call: () => call(name, num(this.int(8), false)) });
      } else { // tail recursion with an accumulator
        forms.push(list(
          sym("define"),
          list(sym(name), sym("n"), sym("acc")),
          list(
            sym("if"),
            call("=", sym("n"), num(0, false)),
            sym("acc"),
            call(name, call("-", sym("n"), num(1, false)), this.real([...globals, "acc", "n"], 2)),
          ),
        ));
        this.helpers.push({ name, call: (arg) => call(name, num(this.int(8), false), arg()) });
      }
    }
    return { forms, globals };
  }
}

/**
 * The program of `seed`: definitions, then one real-valued expression using them.
 *
 * @example
 * ```ts
 * generateProgram(1).text === generateProgram(1).text; // true: a seed is one program
 * ```
 */
export function generateProgram(seed: number): Generated {
  const g = new Gen(uniform(seed));
  const { forms, globals } = g.definitions();
  forms.push(g.real(globals, 4));
  return { forms, text: writeProgram(forms) };
}
