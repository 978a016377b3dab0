/**
 * The two core benchmark cases, each as a dmci program and as the same computation written
 * by hand in tfjs (same ops, same count, same order), shared by core_bench.ts (`deno bench`)
 * and core_ratios.ts (a table). It only defines and checks the cases; it must not time them.
 */
import { tf } from "../lib/deps_tfjs.ts";
import { readyTfjsEngine } from "../lib/backend/tfjs/setup.ts";
import type { Backend, ValueAndGrad } from "../lib/backend/backend.ts";
import { backendByName } from "../lib/backend/select.ts";
import { loadProgram, type Program, valueAndGrad } from "../lib/program.ts";

/** Steps of the recurrence in case (a). */
export const STEPS = 1000;
/** Length of the data vector in case (b). */
export const POINTS = 1000;

/**
 * Case (a): logistic growth by explicit Euler, x ← x + dt·(a·x − b·x·x), 1000 steps: six
 * scalar ops per step, all on the tape. Parameters a, b, x0; dt is a constant (an integer
 * quotient, so not a parameter). dt·1000 = 2 keeps x below its plateau a/b, so that every
 * gradient, the one w.r.t. x0 included, stays well away from zero.
 */
export const RECURRENCE_SOURCE = `
(define a 1.5)
(define b 0.8)
(define x0 0.1)
(define dt (/ 1 500))
(define (run x n)
  (if (= n 0)
      x
      (run (+ x (* dt (- (* a x) (* (* b x) x)))) (- n 1))))
(run x0 ${STEPS})
`;

/** The parameters of case (a) as written: a, b, x0. */
export const RECURRENCE_THETA: readonly number[] = [1.5, 0.8, 0.1];
const DT = 1 / 500;

/**
 * Case (b): a 20-op model over a 1000-element input, its mean squared error against a
 * target: y = a·e^(−b·x) + c·sin(d·x) + e·tanh(f·x + g) + h·sigmoid(x − k), loss
 * mean((y − t)²); 19 elementwise ops and one mean. The input x = (0 … 999)/1000 and the
 * target t = sin(6x) are made inside the program from integers (the program API has no
 * inputs yet, and decimal literals would be parameters), so the hand-written version makes
 * them inside too, with the same ops.
 */
export const MODEL_SOURCE = `
(define a 1.2) (define b 0.7) (define c 0.5) (define d 3.1) (define e 0.4)
(define f 1.3) (define g -0.2) (define h 0.6) (define k 0.3)
(define x (/ (tensor (iota ${POINTS})) ${POINTS}))
(define target (sin (* 6 x)))
(define y
  (+ (* a (exp (- (* b x))))
     (* c (sin (* d x)))
     (* e (tanh (+ (* f x) g)))
     (* h (sigmoid (- x k)))))
(mean (square (- y target)))
`;

/** The parameters of case (b) as written: a b c d e f g h k. */
export const MODEL_THETA: readonly number[] = [1.2, 0.7, 0.5, 3.1, 0.4, 1.3, -0.2, 0.6, 0.3];
const IOTA: readonly number[] = Array.from({ length: POINTS }, (_, i) => i);

/** Value and gradient of case (a) by hand in tfjs: `tf.valueAndGrads` inside `tf.tidy`. */
export function handRecurrence(theta: readonly number[] = RECURRENCE_THETA): ValueAndGrad {
  return tf.tidy(() => {
    const params = theta.map((v) => tf.scalar(v, "float32"));
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, x0: tf.Tensor) => {
      let x = x0;
      // As the program does it: dt enters as a JS number, which tfjs lifts to a scalar per op.
      for (let n = STEPS; n !== 0; n--) {
        x = tf.add(x, tf.mul(DT, tf.sub(tf.mul(a, x), tf.mul(tf.mul(b, x), x))));
      }
      return x as tf.Scalar;
    })(params);
    return { value: value.dataSync()[0], grad: grads.map((g) => g.dataSync()[0]) };
  });
}

/** Value and gradient of case (b) by hand in tfjs: `tf.valueAndGrads` inside `tf.tidy`. */
export function handModel(theta: readonly number[] = MODEL_THETA): ValueAndGrad {
  return tf.tidy(() => {
    const params = theta.map((v) => tf.scalar(v, "float32"));
    const { value, grads } = tf.valueAndGrads(
      (
        a: tf.Tensor,
        b: tf.Tensor,
        c: tf.Tensor,
        d: tf.Tensor,
        e: tf.Tensor,
        f: tf.Tensor,
        g: tf.Tensor,
        h: tf.Tensor,
        k: tf.Tensor,
      ) => {
        const x = tf.div(tf.tensor(IOTA as number[], [POINTS], "float32"), POINTS);
        const target = tf.sin(tf.mul(6, x));
        // (- u) is 0 − u in the program, so here too; (+ p q r s) adds left to right.
        const y = tf.add(
          tf.add(
            tf.add(tf.mul(a, tf.exp(tf.sub(0, tf.mul(b, x)))), tf.mul(c, tf.sin(tf.mul(d, x)))),
            tf.mul(e, tf.tanh(tf.add(tf.mul(f, x), g))),
          ),
          tf.mul(h, tf.sigmoid(tf.sub(x, k))),
        );
        return tf.mean(tf.square(tf.sub(y, target))) as tf.Scalar;
      },
    )(params);
    return { value: value.dataSync()[0], grad: grads.map((g) => g.dataSync()[0]) };
  });
}

/** One variant of a case: a name for the tables and one value+gradient evaluation. */
export interface Variant {
  readonly name: string;
  readonly run: () => ValueAndGrad;
}

/** A case: its hand-written tfjs baseline and the program on each backend. */
export interface Case {
  readonly name: string;
  readonly hand: Variant;
  readonly tfjs: Variant;
  readonly f64: Variant;
}

function programVariant(name: string, prog: Program, backend: Backend): Variant {
  return { name, run: () => valueAndGrad(prog, backend) };
}

/**
 * Loads both backends and both programs, checks that every variant of a case computes the
 * same value and gradient (float32 against float64: relative 1e-3), and returns the cases.
 *
 * @example
 * ```ts
 * const [recurrence] = await loadCases();
 * recurrence.f64.run().value; // ≈ 0.994
 * ```
 */
export async function loadCases(): Promise<Case[]> {
  const [tfjs, f64] = await Promise.all([backendByName("tfjs"), backendByName("f64")]);
  await readyTfjsEngine("cpu"); // the hand-written versions run on the engine the backend uses
  const make = (name: string, source: string, hand: () => ValueAndGrad): Case => {
    const prog = loadProgram(source, `${name}.scm`);
    return {
      name,
      hand: { name: "hand-written tfjs", run: hand },
      tfjs: programVariant("program on tfjs", prog, tfjs),
      f64: programVariant("program on f64", prog, f64),
    };
  };
  const cases = [
    make(`recurrence-${STEPS}`, RECURRENCE_SOURCE, handRecurrence),
    make(`model-20op-${POINTS}`, MODEL_SOURCE, handModel),
  ];
  for (const c of cases) checkAgree(c);
  return cases;
}

function checkAgree(c: Case): void {
  const ref = c.f64.run();
  for (const v of [c.hand, c.tfjs]) {
    const got = v.run();
    const close = (x: number, y: number): boolean => Math.abs(x - y) <= 1e-3 * Math.max(1, Math.abs(y));
    const ok = close(got.value, ref.value) && got.grad.length === ref.grad.length &&
      got.grad.every((g, i) => close(g as number, ref.grad[i] as number));
    if (!ok) {
      throw new Error(
        `${c.name}: ${v.name} disagrees with the program on f64: ${JSON.stringify(got)} vs ${
          JSON.stringify(ref)
        }`,
      );
    }
  }
}
