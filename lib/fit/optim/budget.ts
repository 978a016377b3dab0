/**
 * Budgets for comparing optimizers: a wall-clock and/or evaluation-count limit that every method
 * (gradient or not) is held to the same way. A `Meter` wraps the objective: it counts each call,
 * keeps the best point seen and a history of (seconds, evaluations, best), and throws
 * `BudgetExhausted` when a call is asked for after the budget is spent. `withBudget` runs an
 * optimizer under a meter and turns that throw into an ordinary result. No optimizer logic here.
 */
import type { Objective } from "./types.ts";

/** A limit on an optimizer run; an absent field is no limit. */
export interface Budget {
  /** Wall-clock seconds from the meter's creation. */
  readonly seconds?: number;
  /** Objective evaluations (a value+gradient and a value alone each count as one). */
  readonly evaluations?: number;
}

/** One point of a run's history: after `evaluations` calls and `seconds`, the best value so far. */
export interface BudgetPoint {
  readonly seconds: number;
  readonly evaluations: number;
  readonly best: number;
}

/**
 * Thrown by a meter's wrapped objective when the budget is spent; `withBudget` catches it.
 *
 * @example
 * ```ts
 * new BudgetExhausted("evaluations (10)").message; // "budget spent: evaluations (10)"
 * ```
 */
export class BudgetExhausted extends Error {
  constructor(readonly which: string) {
    super(`budget spent: ${which}`);
  }
}

/** Counts and times the evaluations of one run, and keeps the best point. */
export class Meter {
  /** Evaluations so far. */
  evaluations = 0;
  /** The lowest finite value seen (Infinity before any). */
  bestValue = Infinity;
  /** The point of `bestValue` (null before any finite value). */
  bestX: Float64Array | null = null;
  /** One point per improvement of the best value, and one per evaluation count that is a power of 2. */
  readonly history: BudgetPoint[] = [];
  private readonly start: number;

  /**
   * A meter for `budget`, started now; `clock` (milliseconds) is for tests.
   *
   * @example
   * ```ts
   * const m = new Meter({ evaluations: 100 });
   * ```
   */
  constructor(readonly budget: Budget, private readonly clock: () => number = () => performance.now()) {
    this.start = clock();
  }

  /** Seconds since the meter started. */
  seconds(): number {
    return (this.clock() - this.start) / 1000;
  }

  /** Why the budget is spent, or null while it is not. */
  spent(): string | null {
    const { seconds, evaluations } = this.budget;
    if (evaluations !== undefined && this.evaluations >= evaluations) return `evaluations (${evaluations})`;
    if (seconds !== undefined && this.seconds() >= seconds) return `wall clock (${seconds} s)`;
    return null;
  }

  /** Throws BudgetExhausted if the budget is spent (called before each evaluation). */
  check(): void {
    const why = this.spent();
    if (why !== null) throw new BudgetExhausted(why);
  }

  /** Records one evaluation of value `value` at `x` (called after it). */
  record(x: Float64Array, value: number): void {
    this.evaluations++;
    const improved = Number.isFinite(value) && value < this.bestValue;
    if (improved) {
      this.bestValue = value;
      this.bestX = Float64Array.from(x);
    }
    if (improved || (this.evaluations & (this.evaluations - 1)) === 0) {
      this.history.push({ seconds: this.seconds(), evaluations: this.evaluations, best: this.bestValue });
    }
  }

  /**
   * `f` (value only) under this meter.
   *
   * @example
   * ```ts
   * const g = new Meter({ evaluations: 2 }).value((x) => x[0] ** 2);
   * g(Float64Array.of(1)); g(Float64Array.of(2)); // a third call throws BudgetExhausted
   * ```
   */
  value(f: (x: Float64Array) => number): (x: Float64Array) => number {
    return (x) => {
      this.check();
      const v = f(x);
      this.record(x, v);
      return v;
    };
  }

  /**
   * `f` (value and gradient) under this meter.
   *
   * @example
   * ```ts
   * const g = new Meter({ seconds: 1 }).objective((x) => ({ value: x[0] ** 2, grad: x.map((v) => 2 * v) }));
   * ```
   */
  objective(f: Objective): Objective {
    return (x) => {
      this.check();
      const e = f(x);
      this.record(x, e.value);
      return e;
    };
  }

  /**
   * The best value reached within the first `evaluations` evaluations (Infinity if none finite).
   *
   * @example
   * ```ts
   * meter.bestWithin(100); // the value an equal-evaluation comparison at 100 reports
   * ```
   */
  bestWithin(evaluations: number): number {
    let best = Infinity;
    for (const p of this.history) if (p.evaluations <= evaluations) best = Math.min(best, p.best);
    return best;
  }
}

/** What a budgeted run ends with. */
export interface BudgetedResult<R> {
  /** The optimizer's own result, or null when the budget stopped it. */
  readonly result: R | null;
  /** The best point and value seen (NaN-free; null x when no evaluation was finite). */
  readonly x: Float64Array | null;
  readonly value: number;
  readonly evaluations: number;
  readonly seconds: number;
  /** Why it stopped: the budget spent, or "finished" when the optimizer returned by itself. */
  readonly stopped: string;
  readonly history: readonly BudgetPoint[];
}

/**
 * Runs `run` (an optimizer call that uses `meter`'s wrapped objective) until it returns or the
 * budget is spent, and reports the best point the meter saw either way.
 *
 * @example
 * ```ts
 * const meter = new Meter({ evaluations: 50 });
 * const r = withBudget(meter, () => nelderMead(meter.value(sphere), Float64Array.of(1, 1)));
 * r.evaluations; // ≤ 50
 * ```
 */
export function withBudget<R>(meter: Meter, run: () => R): BudgetedResult<R> {
  let result: R | null = null;
  let stopped = "finished";
  try {
    result = run();
  } catch (e) {
    if (!(e instanceof BudgetExhausted)) throw e;
    stopped = e.message;
  }
  return {
    result,
    x: meter.bestX,
    value: meter.bestValue,
    evaluations: meter.evaluations,
    seconds: meter.seconds(),
    stopped,
    history: meter.history,
  };
}
