/**
 * The fuzzer's Guile side: generated programs run in GNU Guile 3.0 (tests/helpers/guile.ts)
 * with their literals as plain numbers, after a prelude that defines dmci's extensions
 * (fold-left, filter, sigmoid, softplus, log1p) by their definitions; values are compared
 * with dmci's written value, and each disagreement is put in one of the kinds the README lists.
 */
import { compareWritten, runInGuile } from "../../tests/helpers/guile.ts";

/** Scheme definitions of dmci's extensions, as DESIGN §2 defines them. */
export const GUILE_PRELUDE = `
(define (fold-left f acc l) (if (null? l) acc (fold-left f (f acc (car l)) (cdr l))))
(define (filter keep? l) (cond ((null? l) '()) ((keep? (car l)) (cons (car l) (filter keep? (cdr l)))) (else (filter keep? (cdr l)))))
(define (sigmoid x) (/ 1 (+ 1 (exp (- x)))))
(define (softplus x) (log (+ 1 (exp x))))
(define (log1p x) (log (+ 1 x)))
`;

/** Relative tolerance of a value against Guile's (float64 both; Guile is exact on integers and rationals). */
export const GUILE_TOLERANCE = 1e-9;

/** A disagreement with Guile, by kind. */
export interface GuileDisagreement {
  readonly seed: number;
  readonly kind: string;
  readonly detail: string;
}

/**
 * The kind of a disagreement: `guile-error` (Guile raised where dmci gave a value),
 * `signed-zero` (−0 against 0), `rounding` (within 1e-6 relative: a different but valid
 * float64 evaluation order or exact arithmetic in Guile), `value` (anything else).
 */
export function disagreementKind(dmci: string, guile: string | undefined): string {
  if (guile === undefined) return "guile-error";
  const a = Number(dmci), b = Number(guile);
  if (Object.is(a, -0) !== Object.is(b, -0) && a === b) return "signed-zero";
  if (compareWritten(dmci, guile, 1e-6) === undefined) return "rounding";
  return "value";
}

/**
 * Runs the programs in Guile (in one process per call) and returns the disagreements.
 * `dir` is where the program files are written.
 */
export async function compareWithGuile(
  programs: readonly { seed: number; text: string; written: string }[],
  dir: string,
): Promise<GuileDisagreement[]> {
  const paths = programs.map((p) => {
    const path = `${dir}/fuzz-${p.seed}.scm`;
    Deno.writeTextFileSync(path, GUILE_PRELUDE + p.text);
    return path;
  });
  const outcomes = await runInGuile(paths, 600_000);
  const out: GuileDisagreement[] = [];
  outcomes.forEach((o, i) => {
    const p = programs[i];
    if (o.ok && compareWritten(p.written, o.value, GUILE_TOLERANCE) === undefined) return;
    const guile = o.ok ? o.value : undefined;
    out.push({
      seed: p.seed,
      kind: disagreementKind(p.written, guile),
      detail: o.ok ? `dmci ${p.written}, Guile ${o.value}` : `dmci ${p.written}, Guile error ${o.error}`,
    });
  });
  for (const path of paths) Deno.removeSync(path);
  return out;
}
