/**
 * The fuzzer's malformed-input mode: a generated program's text mutated (truncated, random
 * bytes, unbalanced parentheses, deep nesting, huge literals) must, direct and interpreted,
 * give a value or one located error line: a DmciError with a file:line:col and a message
 * without a line break. Anything else (a host exception, an unlocated or multi-line error)
 * is a finding.
 */
import { f64Backend } from "../../lib/backend/f64/mod.ts";
import { readProgram, runInterpreted } from "../../lib/dmci.ts";
import { DmciError } from "../../lib/errors.ts";
import { loadProgram, runProgram } from "../../lib/program.ts";
import { uniform } from "../../lib/random.ts";
import { type Finding, FUZZ_FUEL } from "./check.ts";
import { generateProgram } from "./generate.ts";

/** The mutations, by name. */
export const MUTATIONS = ["truncate", "bytes", "parens", "nesting", "literal"] as const;

/** A mutated text and how it was made. */
export interface Mutant {
  readonly mutation: (typeof MUTATIONS)[number];
  readonly text: string;
}

/**
 * The malformed input of `seed`: the generated program of that seed, mutated.
 *
 * @example
 * ```ts
 * mutant(3).mutation; // one of MUTATIONS
 * ```
 */
export function mutant(seed: number): Mutant {
  const u = uniform(seed ^ 0x5bd1e995);
  const int = (n: number) => Math.floor(u() * n);
  const text = generateProgram(seed).text;
  const mutation = MUTATIONS[int(MUTATIONS.length)];
  const cut = int(text.length + 1);
  switch (mutation) {
    case "truncate":
      return { mutation, text: text.slice(0, cut) };
    case "bytes": {
      const bytes = Array.from(
        { length: 1 + int(8) },
        () => String.fromCharCode(int(4) === 0 ? 0x80 + int(0x2000) : int(128)),
      );
      return { mutation, text: text.slice(0, cut) + bytes.join("") + text.slice(cut + int(3)) };
    }
    case "parens": {
      const p = int(2) ? "(" : ")";
      return { mutation, text: text.slice(0, cut) + p.repeat(1 + int(3)) + text.slice(cut) };
    }
    case "nesting": {
      const depth = [1_000, 10_000, 100_000][int(3)];
      const open = int(2) ? "(+ 1 " : int(2) ? "'(" : "(";
      return { mutation, text: text + open.repeat(depth) + "1.5" + ")".repeat(int(2) ? depth : depth - 1) };
    }
    case "literal": {
      const big = [
        "1e400",
        "-1e-400",
        "9".repeat(400),
        "1." + "5".repeat(100_000),
        "#e1.5",
        "1/0",
        "#x10",
        "1e",
        ".e1",
      ][int(9)];
      return { mutation, text: text.replace(/-?\d+\.\d+/, big) };
    }
  }
}

/** Checks that `text` gives a value or one located error line, direct and interpreted. */
export function checkMalformed(text: string, file: string): Finding | undefined {
  const limits = { fuel: FUZZ_FUEL };
  const runs: [string, () => unknown][] = [
    ["direct", () => runProgram(loadProgram(text, file), f64Backend, { limits })],
    ["interpreted", () => runInterpreted(readProgram(text, file), f64Backend, { limits })],
  ];
  for (const [mode, run] of runs) {
    try {
      run();
    } catch (e) {
      if (!(e instanceof DmciError)) {
        return {
          kind: "crash",
          mode,
          detail: e instanceof Error ? `${e.name}: ${e.message.slice(0, 300)}` : String(e),
        };
      }
      const line = e.toString();
      if (!e.span || e.span.file !== file) {
        return { kind: "crash", mode, detail: `unlocated error: ${line.slice(0, 300)}` };
      }
      if (/[\n\r]/.test(line)) {
        return { kind: "crash", mode, detail: `error of several lines: ${line.slice(0, 300)}` };
      }
    }
  }
  return undefined;
}
