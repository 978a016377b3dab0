/**
 * The checks every proposal passes before it leaves a proposer: it reads and expands, every
 * free name is an input, a top-level definition or an allowed primitive, primitives get an
 * argument count they accept, it uses an input, has a parameter, and is within the size bound. It runs
 * nothing; the search's evaluation cascade still checks everything again.
 */
import { DmciError, formatSpan } from "../../errors.ts";
import type { Datum } from "../../read/datum.ts";
import { read } from "../../read/reader.ts";
import { expandProgram } from "../../expand/expander.ts";
import { children, type Node } from "../../expand/core.ts";
import { PRIMITIVE_BY_NAME } from "../../primitives.ts";
import { findParams } from "../../program.ts";
import type { TaskInfo } from "../types.ts";
import { countNodes } from "./tree.ts";

/** What a well-formed program text is, for the proposers. */
export interface Checked {
  readonly forms: readonly Datum[];
  readonly complexity: number;
}

/**
 * Reads and checks a program text against a task; throws a `DmciError` whose message names the
 * place at fault.
 *
 * @example
 * ```ts
 * const task = { inputs: ["x"], allowedPrimitives: ["*"], maxComplexity: 10 };
 * checkProgram("(* 2.0 x)", "c.scm", task).complexity; // 4
 * ```
 */
export function checkProgram(
  text: string,
  file: string,
  task: Pick<TaskInfo, "inputs" | "allowedPrimitives" | "maxComplexity">,
): Checked {
  const forms = read(text, file);
  if (forms.length === 0) throw new DmciError("syntax", "the program is empty", { file, line: 1, col: 1 });
  const nodes = expandProgram(forms);
  const allowed = new Set(task.allowedPrimitives);
  const inputs = new Set(task.inputs);
  const defined = new Set(nodes.flatMap((n) => (n.k === "define" ? [n.name] : [])));
  let usesInput = false;
  const visit = (n: Node, bound: ReadonlySet<string>): void => {
    const free = (name: string) => !bound.has(name) && !defined.has(name);
    if ((n.k === "ref" || n.k === "set") && free(n.name)) {
      if (inputs.has(n.name)) usesInput = true;
      else if (!allowed.has(n.name)) {
        const what = PRIMITIVE_BY_NAME.has(n.name) ? "a primitive not allowed in this search" : "unbound";
        throw new DmciError("unbound", `${n.name} is ${what}`, n.span);
      }
    }
    if (n.k === "call" && n.fn.k === "ref" && free(n.fn.name)) {
      const p = PRIMITIVE_BY_NAME.get(n.fn.name);
      if (p && (n.args.length < p.arity[0] || n.args.length > p.arity[1])) {
        const want = p.arity[0] === p.arity[1]
          ? `${p.arity[0]}`
          : p.arity[1] === Infinity
          ? `at least ${p.arity[0]}`
          : `${p.arity[0]} to ${p.arity[1]}`;
        throw new DmciError("arity", `${p.name}: expected ${want} argument(s), got ${n.args.length}`, n.span);
      }
    }
    let inner = bound;
    if (n.k === "lambda" || n.k === "let" || n.k === "letrec") {
      const names = n.k === "lambda" ? [...n.params, ...(n.rest ? [n.rest] : [])] : n.names;
      inner = new Set([...bound, ...names]);
    }
    if (n.k === "let") {
      // let's values are outside its scope
      n.values.forEach((v) => visit(v, bound));
      visit(n.body, inner);
      return;
    }
    children(n).forEach((c) => visit(c, inner));
  };
  nodes.forEach((n) => visit(n, new Set()));
  if (!usesInput) {
    throw new DmciError(
      "syntax",
      `the program uses none of its inputs (${task.inputs.join(", ")})`,
      forms[0].span,
    );
  }
  if (findParams(forms).length === 0) {
    throw new DmciError(
      "syntax",
      "the program has no parameters (decimal literals such as 0.5) to fit",
      forms[0].span,
    );
  }
  const complexity = countNodes(forms);
  if (complexity > task.maxComplexity) {
    throw new DmciError(
      "limit",
      `the program has ${complexity} datum nodes, more than the bound ${task.maxComplexity}`,
      forms[0].span,
    );
  }
  return { forms, complexity };
}

/** A check's failure as one line: `file:line:col: message`. */
export function describeError(e: unknown): string {
  if (e instanceof DmciError) return e.span ? `${formatSpan(e.span)}: ${e.message}` : e.message;
  return e instanceof Error ? e.message : String(e);
}
