/**
 * Shrinking a failing program to a small reproducer: greedily, while the failure keeps its
 * kind and mode, drop top-level forms and replace subexpressions by one of their own
 * subexpressions or by a decimal literal, using the proposers' tree edits.
 */
import type { Datum } from "../../lib/read/datum.ts";
import { at, num, type Path, removeAt, replaceAt } from "../../lib/search/proposers/tree.ts";
import { writeProgram } from "../../lib/search/proposers/print.ts";
import type { Finding } from "./check.ts";

/** Every path of a list item in the forms, outermost first. */
function paths(forms: readonly Datum[]): Path[] {
  const out: Path[] = [];
  const walk = (d: Datum, p: Path) => {
    if (d.type !== "list") return;
    d.items.forEach((x, i) => {
      out.push([...p, i]);
      walk(x, [...p, i]);
    });
  };
  forms.forEach((f, i) => walk(f, [i]));
  return out;
}

/**
 * The smallest program found that still fails as `finding` does, by `check`; at most
 * `budget` checks, and none begun after `ms` milliseconds (a candidate may run long: a loop
 * bound replaced by a literal).
 */
export function shrink(
  forms: readonly Datum[],
  finding: Finding,
  check: (text: string) => Finding | undefined,
  budget = 300,
  ms = 60_000,
): string {
  const end = performance.now() + ms;
  const same = (f: readonly Datum[]): boolean => {
    budget = performance.now() > end ? 0 : budget - 1;
    const r = check(writeProgram(f));
    return r !== undefined && r.kind === finding.kind && r.mode === finding.mode;
  };
  let best = [...forms];
  let progress = true;
  while (progress && budget > 0) {
    progress = false;
    for (let i = best.length - 2; i >= 0 && budget > 0; i--) {
      const cand = removeAt(best, [i]);
      if (same(cand)) (best = cand, progress = true);
    }
    for (const p of paths(best)) {
      if (budget <= 0) break;
      const d = at(best, p);
      if (!d || d.type !== "list") continue;
      const candidates: Datum[] = [num(0.5, true), ...d.items.slice(1)];
      for (const c of candidates) {
        let cand: Datum[];
        try {
          cand = replaceAt(best, p, c);
        } catch {
          continue;
        }
        if (same(cand)) {
          best = cand;
          progress = true;
          break;
        }
      }
      if (progress) break; // paths changed: start over
    }
  }
  return writeProgram(best);
}

/**
 * The shortest text found by deleting pieces (halves, then smaller) of `text` while `fails`
 * holds; at most `budget` checks.
 */
export function shrinkText(text: string, fails: (t: string) => boolean, budget = 200): string {
  let best = text;
  for (let piece = best.length >> 1; piece >= 1 && budget > 0; piece >>= 1) {
    for (let i = 0; i + piece <= best.length && budget > 0;) {
      const cand = best.slice(0, i) + best.slice(i + piece);
      budget--;
      if (fails(cand)) best = cand;
      else i += piece;
    }
  }
  return best;
}
