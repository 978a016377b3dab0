/**
 * The fuzzer's differential check of one program: it runs in each run mode (direct,
 * interpreted, the tower on a sample), value and gradient on f64, and the modes must agree
 * with direct (lib/verify.ts's relative difference and f64 tolerance); it runs staged
 * (traced: recorded, replayed at the same θ, replayed at a perturbed θ) direct, interpreted
 * and in the tower sample, and each call must agree with an untraced direct run at its θ, so
 * a stale trace is caught; the direct gradient must agree with float64 central differences
 * (lib/verify.ts); and nothing may throw a host error. An error of the language (a DmciError)
 * must be the same in every mode.
 */
import { f64Backend } from "../../lib/backend/f64/mod.ts";
import type { StagedFunction, ValueAndGrad } from "../../lib/backend/backend.ts";
import { interpretedValueAndGrad, stageInterpreted } from "../../lib/dmci.ts";
import { DmciError } from "../../lib/errors.ts";
import { loadProgram, type Program, stageProgram, valueAndGrad } from "../../lib/program.ts";
import { finiteDifferenceError, perturbedTheta, relativeDiff, TOLERANCES } from "../../lib/verify.ts";

/** Step budget of every fuzz run: generated programs are small; a runaway one is a limit error. */
export const FUZZ_FUEL = 2_000_000;

/** A way of running a program whose value and gradient must equal direct execution's. */
export interface RunMode {
  readonly name: string;
  /** Run only for every `every`-th program (1: all). */
  readonly every: number;
  readonly run: (prog: Program) => ValueAndGrad;
}

const limits = { fuel: FUZZ_FUEL };

/** The modes compared with direct execution. */
export const RUN_MODES: readonly RunMode[] = [
  { name: "interpreted", every: 1, run: (p) => interpretedValueAndGrad(p, f64Backend, { limits }) },
  { name: "tower", every: 25, run: (p) => interpretedValueAndGrad(p, f64Backend, { limits, levels: 2 }) },
];

/**
 * A way of running a program staged (`Backend.stage`: on f64, traced). Its calls — the
 * recording at θ₀, a replay at θ₀, and one at a perturbed θ — must each equal an untraced
 * direct run at that θ.
 */
export interface TracedMode {
  readonly name: string;
  /** Run only for every `every`-th program (1: all). */
  readonly every: number;
  /** Must equal untraced direct to the bit (a replay repeats the untraced formulas in order). */
  readonly exact: boolean;
  readonly stage: (prog: Program) => StagedFunction;
}

/** The traced modes (README "Tracing on f64"). */
export const TRACED_MODES: readonly TracedMode[] = [
  { name: "traced direct", every: 1, exact: true, stage: (p) => stageProgram(p, f64Backend, { limits }) },
  {
    name: "traced interpreted",
    every: 1,
    exact: false,
    stage: (p) => stageInterpreted(p, f64Backend, { limits }),
  },
  {
    name: "traced tower",
    every: 25,
    exact: false,
    stage: (p) => stageInterpreted(p, f64Backend, { limits, levels: 2 }),
  },
];

/** How the traced calls were answered, summed over programs (a run that never replays tests little). */
export interface TraceTally {
  /** Staged calls answered by replaying a trace. */
  replays: number;
  /** Staged calls that recorded (the first, and any whose guards failed). */
  recordings: number;
  /** Staged calls in all. */
  calls: number;
}

/** A tally with nothing counted. */
export function emptyTally(): TraceTally {
  return { replays: 0, recordings: 0, calls: 0 };
}

/** What `checkProgram` runs besides direct and `modes`, and where it counts traced calls. */
export interface CheckOptions {
  readonly traced?: readonly TracedMode[];
  readonly tally?: TraceTally;
}

/** What went wrong with a program, if anything. */
export interface Finding {
  /**
   * crash (a host exception), mismatch (value or gradient between modes), error-mismatch (an
   * error in one mode only), fd (gradient vs central differences, at θ and at a perturbed θ).
   * No failures (counted, not defects): kink, central differences disagree only at the
   * literals as written, where a comparison ties or abs/max/min is at its kink; roundoff,
   * they disagree only in gradient entries below `ROUNDOFF` that they put at zero, or the
   * value and every gradient entry are below `ROUNDOFF` (the round-off of a sum that cancels).
   */
  readonly kind: "crash" | "mismatch" | "fd" | "error-mismatch" | "kink" | "roundoff";
  /** The mode at fault. */
  readonly mode: string;
  readonly detail: string;
}

type Outcome = { ok: true; vg: ValueAndGrad } | { ok: false; error: DmciError };

function attempt(f: () => ValueAndGrad, mode: string): Outcome | Finding {
  try {
    return { ok: true, vg: f() };
  } catch (e) {
    if (e instanceof DmciError) return { ok: false, error: e };
    return { kind: "crash", mode, detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

const isFinding = (x: Outcome | Finding): x is Finding => "kind" in x;
const grads = (vg: ValueAndGrad): number[] => vg.grad.map((g) => (typeof g === "number" ? g : NaN));

/**
 * Checks one program text in `modes`; `index` picks the sampled modes. Undefined when all agree.
 *
 * @example
 * ```ts
 * checkProgram("(define k 2.0) (* k k)", "f.scm", 0); // undefined
 * ```
 */
export function checkProgram(
  text: string,
  file: string,
  index: number,
  modes: readonly RunMode[] = RUN_MODES,
  options: CheckOptions = {},
): Finding | undefined {
  let prog: Program;
  try {
    prog = loadProgram(text, file);
  } catch (e) {
    if (e instanceof DmciError) return undefined; // generated programs are well formed; malformed mode checks errors
    return { kind: "crash", mode: "load", detail: String(e) };
  }
  const direct = attempt(() => valueAndGrad(prog, f64Backend, { limits }), "direct");
  if (isFinding(direct)) return direct;
  for (const mode of modes) {
    if (index % mode.every !== 0) continue;
    const other = attempt(() => mode.run(prog), mode.name);
    if (isFinding(other)) return other;
    const finding = compare(direct, other, mode.name);
    if (finding) return finding;
  }
  // Untraced direct at the perturbed θ (verify's seed 1): the reference of the traced replays
  // there, and of central differences where they disagree at θ₀.
  const thetaP = perturbedTheta(file, 1, prog.theta0);
  let perturbed: Outcome | Finding | undefined;
  const atPerturbed = () =>
    perturbed ??= attempt(() => valueAndGrad(prog, f64Backend, { limits, theta: thetaP }), "direct");
  for (const mode of options.traced ?? TRACED_MODES) {
    if (index % mode.every !== 0) continue;
    const finding = checkTraced(
      prog,
      mode,
      direct,
      prog.params.length > 0 ? [thetaP, atPerturbed] : null,
      options.tally,
    );
    if (finding) return finding;
  }
  if (direct.ok && prog.params.length > 0 && Number.isFinite(direct.vg.value)) {
    const err = finiteDifferenceError(prog, f64Backend, prog.theta0, grads(direct.vg));
    if (err > TOLERANCES.fd) {
      return fdFinding(prog, file, direct.vg.value, grads(direct.vg), err, atPerturbed);
    }
  }
  return undefined;
}

/**
 * Gradient entries below this (in absolute value) that central differences put at zero are
 * round-off of a value that cancels to the bit (e.g. `(- (f k) (f k))`: reverse mode sums
 * the partials of the two calls, ±1 ± 2k, in an order that need not cancel exactly).
 */
export const ROUNDOFF = 1e-15;

/**
 * A gradient that disagrees with central differences at θ₀ (relative error `err`): a
 * failure (`fd`) unless it is round-off or a kink.
 */
function fdFinding(
  prog: Program,
  file: string,
  value: number,
  grad: readonly number[],
  err: number,
  atPerturbed: () => Outcome | Finding,
): Finding {
  const tol = TOLERANCES.fd;
  const zeroed = grad.map((g) => Math.abs(g) < ROUNDOFF ? 0 : g);
  if (
    zeroed.some((g, i) => g !== grad[i]) &&
    finiteDifferenceError(prog, f64Backend, prog.theta0, zeroed) <= tol
  ) {
    return {
      kind: "roundoff",
      mode: "direct",
      detail: `central differences: relative error ${err}, 0 with the entries below ${ROUNDOFF} as 0`,
    };
  }
  // A value and gradient that are both below ROUNDOFF are the round-off of a sum that cancels
  // ((1 − k) + (k − 1)): central differences of that noise measure nothing.
  if (Math.abs(value) < ROUNDOFF && grad.every((g) => Math.abs(g) < ROUNDOFF)) {
    return {
      kind: "roundoff",
      mode: "direct",
      detail: `central differences: relative error ${err} of a value ${value} and gradient below ${ROUNDOFF}`,
    };
  }
  // Generated comparisons may tie exactly at the literals as written ((> k k), a kink of
  // abs/max/min): there central differences straddle a branch. A gradient that agrees at a
  // perturbed θ (verify's seed 1) is right where the program is differentiable. Seed 1 may
  // itself land within a step of a jump (a perturbation of 10⁻⁶): then seeds 2 and 3 must
  // both agree.
  const errAt = (seed: number): number => {
    const theta = perturbedTheta(file, seed, prog.theta0);
    const vg = seed === 1
      ? atPerturbed()
      : attempt(() => valueAndGrad(prog, f64Backend, { limits, theta }), "direct");
    return !isFinding(vg) && vg.ok ? finiteDifferenceError(prog, f64Backend, theta, grads(vg.vg)) : Infinity;
  };
  const e1 = errAt(1);
  const more = e1 > tol ? [errAt(2), errAt(3)] : [];
  const detail = `central differences: relative error ${err} as written, ${
    [e1, ...more].join(", ")
  } perturbed`;
  return more.some((e) => !(e <= tol))
    ? { kind: "fd", mode: "direct", detail }
    : { kind: "kink", mode: "direct", detail };
}

/** Kinds of finding that are counted and reported, not failures (see `Finding`). */
export const COUNTED_KINDS: ReadonlySet<Finding["kind"]> = new Set(["kink", "roundoff"]);

/**
 * The staged calls of one traced mode: record at θ₀, replay at θ₀, replay at the perturbed θ
 * (when the program has parameters), each against untraced direct at its θ.
 */
function checkTraced(
  prog: Program,
  mode: TracedMode,
  direct: Outcome,
  perturbed: [number[], () => Outcome | Finding] | null,
  tally: TraceTally | undefined,
): Finding | undefined {
  let staged: StagedFunction;
  try {
    staged = mode.stage(prog);
  } catch (e) {
    return {
      kind: "crash",
      mode: mode.name,
      detail: `staging: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  const calls: [string, readonly number[], () => Outcome | Finding][] = [
    ["recording at θ₀", prog.theta0, () => direct],
    ["replay at θ₀", prog.theta0, () => direct],
  ];
  if (perturbed) calls.push(["call at the perturbed θ", perturbed[0], perturbed[1]]);
  for (const [call, theta, reference] of calls) {
    const before = staged.stats();
    const got = attempt(() => staged.valueAndGrad(theta), mode.name);
    if (tally) {
      const after = staged.stats();
      tally.calls++;
      tally.replays += after.replays - before.replays;
      tally.recordings += after.recordings - before.recordings;
    }
    if (isFinding(got)) return { ...got, detail: `${call}: ${got.detail}` };
    const expected = reference();
    if (isFinding(expected)) return expected;
    const finding = compare(expected, got, mode.name, mode.exact ? 0 : TOLERANCES.interpF64);
    if (finding) return { ...finding, detail: `${call}: ${finding.detail}` };
  }
  return undefined;
}

function compare(
  direct: Outcome,
  other: Outcome,
  mode: string,
  tol: number = TOLERANCES.interpF64,
): Finding | undefined {
  if (!direct.ok || !other.ok) {
    const a = direct.ok ? "a value" : `${direct.error.kind}: ${direct.error.message}`;
    const b = other.ok ? "a value" : `${other.error.kind}: ${other.error.message}`;
    // The same kind of error both ways is agreement (messages of limit errors differ by stage).
    if (!direct.ok && !other.ok && direct.error.kind === other.error.kind) return undefined;
    return { kind: "error-mismatch", mode, detail: `direct gives ${a}, ${mode} gives ${b}` };
  }
  const v = relativeDiff([direct.vg.value], [other.vg.value]);
  const sameNaN = Number.isNaN(direct.vg.value) && Number.isNaN(other.vg.value);
  if (!sameNaN && !(v.maxRel <= tol)) {
    return { kind: "mismatch", mode, detail: `value ${direct.vg.value} direct, ${other.vg.value} ${mode}` };
  }
  // Entries NaN in both (an overflowed program's ∞ − ∞) agree, as NaN values do.
  const ga = grads(direct.vg), gb = grads(other.vg);
  const both = (i: number) => Number.isNaN(ga[i]) && Number.isNaN(gb[i]);
  const g = relativeDiff(ga.filter((_, i) => !both(i)), gb.filter((_, i) => !both(i)));
  if (!(g.maxRel <= tol) && !(g.maxAbs === 0)) {
    return { kind: "mismatch", mode, detail: `gradient differs by ${g.maxRel} (relative)` };
  }
  return undefined;
}
