/**
 * Battery model programs: a Scheme program of the input `cycle` whose value is the predicted
 * normalised capacity, its decimal literals the parameters. `; @param` comment lines give a
 * parameter its transform, mark it global (shared by all cells) and give its range of random
 * starts. This module reads and checks models; it runs nothing (fit.ts does).
 */
import { basename, join } from "node:path";
import { DmciError, type Span } from "../../errors.ts";
import { loadProgram, type Program } from "../../program.ts";
import { type ProgramData, readProgram } from "../../dmci.ts";
import { toU, type Transform } from "../../fit/params.ts";

/** One parameter of a model as the benchmark fits it. */
export interface ModelParam {
  readonly name: string;
  /** The literal as written: the first start of every fit. */
  readonly init: number;
  readonly transform: Transform;
  /** Shared by all cells (fitted on the training cells' full curves) rather than per cell. */
  readonly global: boolean;
  /** Range of the random starts (θ units), if the program gives one. */
  readonly start?: readonly [number, number];
}

/** A model ready to fit. */
export interface Model {
  /** The file's base name without `.scm`. */
  readonly name: string;
  readonly file: string;
  /** The program (only read, not compiled, when parsed with `compile: false`: the evaluator runs it). */
  readonly program: Program | ProgramData;
  /** In the program's parameter order. */
  readonly params: readonly ModelParam[];
}

/** The folder of the bundled baselines. */
export const BASELINE_DIR = new URL("../../../fixtures/battery/", import.meta.url);

/** The eight hand-crafted baselines, in table order. */
export const BASELINES = [
  "linear",
  "quadratic",
  "exponential",
  "double_exponential",
  "power_law",
  "sqrt_linear",
  "logistic",
  "knee",
] as const;

/** The input the programs receive: a tensor of cycle numbers. */
export const CYCLE_INPUT = "cycle";

const DIRECTIVE = /^\s*;+\s*@param\b(.*)$/;

/**
 * Reads the `; @param NAME TRANSFORM [LO HI] [global] [start A B]` lines of a program text,
 * TRANSFORM being `free`, `positive` or `bounded LO HI`. Errors name the line.
 *
 * @example
 * ```ts
 * parseDirectives("; @param k positive start 0.1 10\n(define k 1.0)\n", "m.scm").get("k");
 * // { transform: { kind: "positive" }, global: false, start: [0.1, 10], line: 1 }
 * ```
 */
export function parseDirectives(
  text: string,
  file: string,
): Map<string, { transform: Transform; global: boolean; start?: [number, number]; span: Span }> {
  const out = new Map<
    string,
    { transform: Transform; global: boolean; start?: [number, number]; span: Span }
  >();
  text.split(/\r\n|\n|\r/).forEach((line, i) => {
    const m = DIRECTIVE.exec(line);
    if (!m) return;
    const span = { file, line: i + 1, col: line.indexOf("@param") + 1 };
    const fail = (message: string): never => {
      throw new DmciError(
        "spec",
        `${message}; expected "; @param NAME free|positive|bounded LO HI [global] [start A B]"`,
        span,
      );
    };
    const words = m[1].split(";")[0].trim().split(/\s+/).filter((w) => w !== "");
    const num = (k: number, what: string): number => {
      const v = Number(words[k]);
      if (words[k] === undefined || !Number.isFinite(v)) {
        fail(`@param: ${what} must be a number, got ${words[k] ?? "nothing"}`);
      }
      return v;
    };
    const name = words[0] ?? fail("@param: no parameter name");
    if (out.has(name)) fail(`@param: ${name} is given twice`);
    let transform: Transform;
    let k = 2;
    switch (words[1]) {
      case "free":
        transform = { kind: "free" };
        break;
      case "positive":
        transform = { kind: "positive" };
        break;
      case "bounded": {
        const lower = num(2, "the lower bound"), upper = num(3, "the upper bound");
        if (!(lower < upper)) {
          fail(`@param ${name}: the lower bound ${lower} is not below the upper ${upper}`);
        }
        transform = { kind: "bounded", lower, upper };
        k = 4;
        break;
      }
      default:
        return fail(`@param ${name}: unknown transform ${JSON.stringify(words[1] ?? "")}`);
    }
    let global = false;
    let start: [number, number] | undefined;
    while (k < words.length) {
      if (words[k] === "global") global = true, k++;
      else if (words[k] === "start") {
        start = [num(k + 1, "the start range's low end"), num(k + 2, "the start range's high end")];
        if (!(start[0] <= start[1])) fail(`@param ${name}: start range ${start[0]} > ${start[1]}`);
        k += 3;
      } else fail(`@param ${name}: unexpected ${JSON.stringify(words[k])}`);
    }
    out.set(name, { transform, global, start, span });
  });
  return out;
}

/** A value strictly inside a transform's domain (start ranges are clipped to it). */
function inside(t: Transform, v: number): boolean {
  return t.kind === "free" || (t.kind === "positive" ? v > 0 : v > t.lower && v < t.upper);
}

/**
 * Reads and checks a model program: every `@param` names a parameter, every literal lies in its
 * transform's domain, and the program has at least one parameter.
 *
 * @example
 * ```ts
 * const m = parseModel("; @param a positive\n(define a 0.1)\n(- 1 (* a (/ cycle 1000)))", "lin.scm");
 * m.params[0]; // { name: "a", init: 0.1, transform: { kind: "positive" }, global: false }
 * ```
 */
export function parseModel(text: string, file: string, options: { compile?: boolean } = {}): Model {
  const program = options.compile === false ? readProgram(text, file) : loadProgram(text, file);
  const directives = parseDirectives(text, file);
  const names = new Set(program.params.map((p) => p.name));
  for (const [name, d] of directives) {
    if (!names.has(name)) {
      throw new DmciError(
        "spec",
        `@param ${name}: the program has no parameter '${name}' (its parameters: ${
          [...names].join(", ") || "none"
        })`,
        d.span,
      );
    }
  }
  if (program.params.length === 0) {
    throw new DmciError(
      "spec",
      `${file}: the model has no parameters (decimal literals such as 0.5) to fit`,
    );
  }
  const params = program.params.map((p): ModelParam => {
    const d = directives.get(p.name);
    const transform = d?.transform ?? { kind: "free" as const };
    try {
      toU(transform, p.value, p.name);
    } catch {
      throw new DmciError(
        "spec",
        `parameter ${p.name}: its literal ${p.value} is outside its ${transform.kind} transform's domain`,
        p.span,
      );
    }
    if (d?.start && !(inside(transform, d.start[0]) || inside(transform, d.start[1]))) {
      throw new DmciError(
        "spec",
        `@param ${p.name}: the start range lies outside the transform's domain`,
        d.span,
      );
    }
    return { name: p.name, init: p.value, transform, global: d?.global ?? false, start: d?.start };
  });
  return { name: basename(file).replace(/\.scm$/i, ""), file, program, params };
}

/**
 * Loads a model by baseline name (`knee`) or by path to a `.scm` file.
 *
 * @example
 * ```ts
 * (await loadModel("knee")).params.filter((p) => p.global).map((p) => p.name); // ["qk", "b", "s"]
 * ```
 */
export async function loadModel(nameOrPath: string): Promise<Model> {
  const isBaseline = (BASELINES as readonly string[]).includes(nameOrPath);
  if (!isBaseline && !/\.scm$/i.test(nameOrPath)) {
    throw new DmciError(
      "spec",
      `--models: ${JSON.stringify(nameOrPath)} is neither a baseline (${
        BASELINES.join(", ")
      }, or "baselines") ` +
        "nor a .scm file",
    );
  }
  const file = isBaseline ? join(BASELINE_DIR.pathname, `${nameOrPath}.scm`) : nameOrPath;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new DmciError(
      "io",
      `cannot read the model ${file}: ${e instanceof Deno.errors.NotFound ? "no such file" : String(e)}`,
    );
  }
  return parseModel(text, file);
}
