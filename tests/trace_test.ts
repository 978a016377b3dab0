/**
 * Traced f64 replay (lib/backend/f64/trace) against the untraced run it replaces: every
 * fixture program and every outside-Scheme (R7RS) program at five seeds, direct and through
 * the evaluator (and the tower); programs whose branches and loop counts depend on a
 * parameter at random θ; errors; untraceable functions; the trace limit. The untraced run is
 * the reference: a replay must give its value and gradient (to 1e-12 relative — in fact to
 * the bit), raise where it raises, and never use a trace whose guards do not hold.
 */
import assert from "node:assert/strict";
import type { ParamValue, StagedFunction, ValueAndGrad } from "../lib/backend/backend.ts";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { interpret, interpretedValueAndGrad, stageInterpreted } from "../lib/dmci.ts";
import {
  execute,
  loadProgram,
  type Program,
  runtimeFor,
  stageProgram,
  valueAndGrad,
} from "../lib/program.ts";
import { Pair } from "../lib/values.ts";
import { uniform } from "../lib/random.ts";
import { declaredInputs, perturbedTheta, verifyBody } from "../lib/verify.ts";

const B = f64Backend;
const ROOT = new URL("../", import.meta.url).pathname;

function programsIn(dir: string): { file: string; text: string }[] {
  return [...Deno.readDirSync(ROOT + dir)]
    .filter((e) => e.name.endsWith(".scm"))
    .map((e) => e.name)
    .sort()
    .map((file) => ({ file, text: Deno.readTextFileSync(`${ROOT}${dir}/${file}`) }));
}

/** Largest relative difference of values and gradients; Infinity where one is NaN and the other not. */
function relDiff(a: ValueAndGrad, b: ValueAndGrad): number {
  const xs = [a.value, ...a.grad.map(Number)], ys = [b.value, ...b.grad.map(Number)];
  let worst = 0;
  xs.forEach((x, i) => {
    const y = ys[i];
    if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) return;
    const d = Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y));
    worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
  });
  return worst;
}

type Outcome = { ok: ValueAndGrad } | { error: string };

function outcome(f: () => ValueAndGrad): Outcome {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e) };
  }
}

/** Traced vs untraced at each θ: same value and gradient (1e-12), or the same error. */
function agree(
  label: string,
  untraced: (t: ParamValue[]) => ValueAndGrad,
  staged: StagedFunction,
  thetas: ParamValue[][],
): number {
  let errors = 0;
  for (const theta of thetas) {
    const u = outcome(() => untraced(theta)), t = outcome(() => staged.valueAndGrad(theta));
    if ("error" in u || "error" in t) {
      assert.deepEqual(t, u, `${label} at θ=${JSON.stringify(theta)}`);
      errors++;
      continue;
    }
    const d = relDiff(u.ok, t.ok);
    assert.ok(d <= 1e-12, `${label} at θ=${JSON.stringify(theta)}: relative difference ${d}`);
  }
  return errors;
}

const seeds = (file: string, prog: Program) =>
  [0, 1, 2, 3, 4].map((s) => perturbedTheta(file, s, prog.theta0));

Deno.test("traced = untraced on every fixture program at 5 seeds, direct and interpreted", () => {
  const programs = programsIn("fixtures/programs");
  let replays = 0, recordings = 0;
  let withInputs = 0;
  for (const { file, text } of programs) {
    const prog = loadProgram(text, file);
    const thetas = seeds(file, prog);
    // the test inputs a fixture declares (`; @input cycle …`), bound as verify binds them
    const inputs = declaredInputs(text, file);
    if (inputs) withInputs++;
    const body = verifyBody(prog, B, "direct", inputs),
      interpBody = verifyBody(prog, B, "interpreted", inputs);
    const direct = B.stage((ps) => ({ value: body(ps) })),
      interp = B.stage((ps) => ({ value: interpBody(ps) }));
    agree(`${file} direct`, (theta) => B.valueAndGrad(body, theta), direct, thetas);
    agree(`${file} interpreted`, (theta) => B.valueAndGrad(interpBody, theta), interp, thetas);
    for (const st of [direct.stats(), interp.stats()]) {
      replays += st.replays;
      recordings += st.recordings;
    }
  }
  // Most seeds k > 0 must be replays of seed 0's trace, or the test exercises no guard.
  assert.ok(replays > 6 * programs.length, `${replays} replays, ${recordings} recordings`);
  assert.ok(withInputs >= 2, `${withInputs} fixtures declare inputs`);
});

/** The sum of every number (and tensor element) in a value made of pairs: a scalar of a list-valued program. */
function sumOfNumbers(v: unknown): unknown {
  let acc: unknown = 0;
  const stack = [v];
  while (stack.length) {
    const x = stack.pop();
    if (x instanceof Pair) stack.push(x.cdr, x.car);
    else if (Array.isArray(x)) stack.push(...x);
    else if (typeof x === "number" || B.isTensor(x)) acc = B.binary("add", acc, B.isTensor(x) ? B.sum(x) : x);
  }
  return acc;
}

Deno.test("traced = untraced on the outside-Scheme (R7RS) programs, their decimals as parameters, 5 seeds", () => {
  const rt = runtimeFor(B);
  let traced = 0;
  for (const { file, text } of programsIn("fixtures/r7rs")) {
    const prog = loadProgram(text, file);
    const body = (ps: unknown[]) => sumOfNumbers(execute(prog, rt, ps));
    const interpBody = (ps: unknown[]) => sumOfNumbers(interpret(prog, rt, ps, {}));
    for (const f of [body, interpBody]) {
      const staged = B.stage((ps) => ({ value: f(ps) }));
      agree(`${file}`, (theta) => B.valueAndGrad(f, theta), staged, seeds(file, prog));
      if (staged.stats().replays > 0) traced++;
    }
  }
  assert.ok(traced > 50, `${traced} program runs replayed`);
});

Deno.test("the tower (evaluator evaluating the evaluator) replays to the untraced tower's values", () => {
  for (const file of ["logistic_euler.scm", "kalman_scalar.scm", "closure_counter.scm"]) {
    const prog = loadProgram(Deno.readTextFileSync(`${ROOT}fixtures/programs/${file}`), file);
    const staged = stageInterpreted(prog, B, { levels: 2 });
    agree(
      `${file} tower`,
      (theta) => interpretedValueAndGrad(prog, B, { theta, levels: 2 }),
      staged,
      seeds(file, prog),
    );
    assert.ok(staged.stats().replays >= 1, file);
  }
});

Deno.test("a branch on a parameter: a failed guard re-records, and the new trace is kept beside the old", () => {
  const prog = loadProgram("(define x 0.5) (if (< x 1) (* x x) (* 3 x))", "branch.scm");
  const s = stageProgram(prog, B);
  const at = (x: number) => s.valueAndGrad([x]);
  assert.deepEqual(at(0.5), { value: 0.25, grad: [1], aux: null });
  assert.deepEqual(at(0.75), { value: 0.5625, grad: [1.5], aux: null }); // replay: same branch
  assert.deepEqual(at(2), { value: 6, grad: [3], aux: null }); // guard fails: recorded
  assert.deepEqual(at(0.25), { value: 0.0625, grad: [0.5], aux: null }); // first trace again
  assert.deepEqual(at(4), { value: 12, grad: [3], aux: null }); // second trace
  const st = s.stats();
  assert.equal(st.recordings, 2);
  assert.equal(st.replays, 3);
  assert.equal(st.traces, 2);
  assert.ok(st.guardFailures >= 2, `guard failures ${st.guardFailures}`);
});

/**
 * Programs whose control flow depends on parameters, for the property test, each with the box
 * its random θ are drawn from (integers are constants, decimals parameters).
 */
const BRANCHY: { text: string; box: [number, number][] }[] = [
  {
    text: `(define a 0.3) (define b 1.2)
   (cond ((< a 0) (* b b)) ((< a (/ 1 2)) (+ (* a b) (abs (- b 1)))) (else (max a b (* a a))))`,
    box: [[-1, 2], [-1, 3]],
  },
  {
    text: `(define x0 2.0) (define r 1.5)
   (let loop ((x x0) (n 0)) (if (< x 10) (loop (* x r) (+ n 1)) (+ x n)))`,
    box: [[0.5, 12], [1.1, 3]],
  },
  {
    text: `(define a 0.5) (define b -0.25)
   (+ (min a b) (abs b) (max (* a 2) (- b)) (if (positive? (- a b)) (sqrt (abs a)) (exp b)))`,
    box: [[-2, 2], [-2, 2]],
  },
  {
    text: `(define k 3.7)
   (let loop ((i 0) (acc 0)) (if (> i (exact (floor k))) acc (loop (+ i 1) (+ acc (* k i)))))`,
    box: [[0, 9]],
  },
  {
    text: `(define p 0.4)
   (define (f x) (if (zero? (round x)) (* x 10) (/ 1 x)))
   (+ (f p) (f (* 3 p)) (if (eqv? (floor p) 0) p (- p)))`,
    box: [[-2, 2]],
  },
];

Deno.test("property: at random θ, branchy programs give the untraced values, never a stale trace's", () => {
  const rand = uniform(20261204);
  BRANCHY.forEach(({ text, box }, k) => {
    const prog = loadProgram(text, `branchy${k}.scm`);
    const direct = stageProgram(prog, B), interp = stageInterpreted(prog, B);
    const thetas = Array.from({ length: 150 }, () => box.map(([lo, hi]) => lo + rand() * (hi - lo)));
    agree(`branchy${k} direct`, (theta) => valueAndGrad(prog, B, { theta }), direct, thetas);
    agree(`branchy${k} interpreted`, (theta) => interpretedValueAndGrad(prog, B, { theta }), interp, thetas);
    const st = interp.stats();
    assert.ok(st.guardFailures > 0 && st.replays > 0, `branchy${k}: ${JSON.stringify(st)}`);
  });
});

Deno.test("forward-only replay gives the untraced value", () => {
  const prog = loadProgram(BRANCHY[1].text, "loop.scm");
  const s = stageInterpreted(prog, B);
  for (const x0 of [2, 2.5, 0.5, 9.9, 11]) {
    assert.equal(s.forward([x0, 1.5]).value, interpretedValueAndGrad(prog, B, { theta: [x0, 1.5] }).value);
  }
  assert.ok(s.stats().replays > 0);
});

Deno.test("errors: a replay raises nothing the untraced run does not, and raises what it raises, with its place", () => {
  const prog = loadProgram(
    `(define x 1.0)
     (define m (tensor (list (list x (/ 1 2)) (list (/ 1 2) 1))))
     (if (< x -5) (error "x too small" x) (+ (logdet m) (sqrt (+ x 10))))`,
    "errors.scm",
  );
  const thetas = [[1], [2], [0.1], [-6], [3], [-0.3], [0.3]];
  // 0.1 and −0.3 make m indefinite (logdet raises inside a replayed op); −6 raises the program's error.
  assert.equal(
    agree("errors direct", (theta) => valueAndGrad(prog, B, { theta }), stageProgram(prog, B), thetas),
    3,
  );
  const interp = stageInterpreted(prog, B);
  const interpErrors = agree(
    "errors interpreted",
    (t) => interpretedValueAndGrad(prog, B, { theta: t }),
    interp,
    thetas,
  );
  assert.equal(interpErrors, 3);
  assert.ok(interp.stats().replays >= 3);
});

Deno.test("a function that opens a nested backend scope is not traced, and says why", () => {
  const s = B.stage(([k]) => ({ value: B.binary("mul", k, B.run(() => 2, [])) }));
  assert.equal(s.valueAndGrad([3]).value, 6);
  assert.equal(s.valueAndGrad([4]).value, 8);
  const st = s.stats();
  assert.equal(st.replays, 0);
  assert.match(st.untraced ?? "", /nested backend scope/);
});

Deno.test("a run longer than the trace limit stays untraced, with the limit in its reason", () => {
  const prog = loadProgram(
    "(define a 1.01) (let loop ((x 1) (n 0)) (if (= n 100) x (loop (* x a) (+ n 1))))",
    "l.scm",
  );
  const s = stageProgram(prog, B, { traceLimit: 50 });
  const a = s.valueAndGrad([1.02]), b = s.valueAndGrad([1.03]);
  assert.deepEqual(b, { ...valueAndGrad(prog, B, { theta: [1.03] }), aux: null });
  assert.ok(a.value > 1);
  assert.match(s.stats().untraced ?? "", /more than 50 .*trace limit/);
  const ok = stageProgram(prog, B, { traceLimit: 101 });
  ok.valueAndGrad([1.02]);
  ok.valueAndGrad([1.03]);
  assert.equal(ok.stats().replays, 1);
});

Deno.test("an auxiliary output is replayed too (per-restart losses of a batched objective)", () => {
  const s = B.stage(([k]) => {
    const each = B.binary("mul", k, B.tensor([1, 2, 3]));
    return { value: B.sum(each), aux: each };
  });
  s.valueAndGrad([{ shape: [3], data: Float64Array.of(1, 1, 1) }]);
  const r = s.valueAndGrad([{ shape: [3], data: Float64Array.of(2, 3, 4) }]);
  assert.deepEqual(Array.from(r.aux!), [2, 6, 12]);
  assert.equal(r.value, 20);
  assert.deepEqual(Array.from((r.grad[0] as { data: Float64Array }).data), [1, 2, 3]);
  assert.equal(s.stats().replays, 1);
});

Deno.test("10^6 traced operations record and replay in a process limited to 1 GiB of heap", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=1024", `${ROOT}tests/helpers/trace_memory.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
  const r = JSON.parse(text);
  assert.ok(r.entries >= 1_000_000, `${r.entries} entries`);
  assert.ok(r.replays >= 2, JSON.stringify(r));
  assert.ok(r.rssMiB < 1024, `resident set ${r.rssMiB} MiB`);
  assert.equal(r.maxRelDiff, 0);
});

/** Value and gradient equal to the bit (Object.is on every number). */
function assertBitIdentical(label: string, got: ValueAndGrad, want: ValueAndGrad): void {
  const xs = [got.value, ...got.grad.map(Number)], ys = [want.value, ...want.grad.map(Number)];
  assert.equal(xs.length, ys.length, label);
  xs.forEach((x, i) => assert.ok(Object.is(x, ys[i]), `${label}: component ${i} is ${x}, untraced ${ys[i]}`));
}

Deno.test("rerolled loops: a recurrence and a filter over data replay to the bit, as loops", () => {
  const rec = loadProgram(
    `(define a 1.5) (define b 0.8) (define x0 0.1)
     (let run ((x x0) (n 400)) (if (= n 0) x (run (+ x (* (/ 1 500) (- (* a x) (* (* b x) x)))) (- n 1))))`,
    "rec.scm",
  );
  const kalman = loadProgram(Deno.readTextFileSync(`${ROOT}fixtures/models/nino12_ar1_kalman.scm`), "k.scm");
  const y = Float64Array.from({ length: 120 }, (_, t) => Math.sin(t / 7) + 0.1 * Math.cos(t * 1.3));
  const cases: [Program, ParamValue[][], Record<string, Float64Array>][] = [
    [rec, [[1.5, 0.8, 0.1], [1.2, 0.5, 0.3], [2, 1, 0.05]], {}],
    [kalman, [[0.5, 0.3, 0.3], [0.9, 0.2, 0.1], [-0.3, 1.5, 0.01]], { y }],
  ];
  for (const [prog, thetas, inputs] of cases) {
    const direct = stageProgram(prog, B, { inputs }), interp = stageInterpreted(prog, B, { inputs });
    for (const theta of thetas) {
      assertBitIdentical(
        `${prog.file} direct`,
        direct.valueAndGrad(theta),
        valueAndGrad(prog, B, { theta, inputs }),
      );
      const want = interpretedValueAndGrad(prog, B, { theta, inputs });
      assertBitIdentical(`${prog.file} interpreted`, interp.valueAndGrad(theta), want);
      assert.ok(Object.is(interp.forward(theta).value, want.value), `${prog.file} forward`);
    }
    for (const st of [direct.stats(), interp.stats()]) {
      assert.equal(st.engine, "js", `${prog.file}: ${JSON.stringify(st)}`);
      assert.ok(
        st.loops >= 1 && st.replays >= 2 && st.recordings === 1,
        `${prog.file}: ${JSON.stringify(st)}`,
      );
    }
  }
});

Deno.test("rerolled loops: a guard whose observed value changes every iteration fails mid-loop and re-records", () => {
  // (exact (floor x)) is a guard inside the loop, observing a different integer at each step.
  const prog = loadProgram(
    `(define a 1.05)
     (let loop ((x a) (n 0) (acc 0)) (if (= n 60) (+ acc x) (loop (* x a) (+ n 1) (+ acc (exact (floor x))))))`,
    "floors.scm",
  );
  const s = stageProgram(prog, B);
  for (const a of [1.05, 1.0500001, 1.06, 1.05, 1.0499999, 1.04]) {
    assertBitIdentical(`a=${a}`, s.valueAndGrad([a]), valueAndGrad(prog, B, { theta: [a] }));
  }
  const st = s.stats();
  assert.ok(st.loops >= 1, JSON.stringify(st));
  assert.ok(st.replays >= 2 && st.guardFailures >= 2 && st.recordings >= 3, JSON.stringify(st));
});

Deno.test("data inputs are trace inputs: one trace serves two data sets of a shape, a new shape re-records", () => {
  const kalman = loadProgram(Deno.readTextFileSync(`${ROOT}fixtures/models/nino12_ar1_kalman.scm`), "k.scm");
  const decay = loadProgram(
    "(define a 2.0) (define k 0.5) (sum (square (- (* a (exp (* (- k) t))) obs)))",
    "decay.scm",
  );
  const series = (n: number, w: number) =>
    Float64Array.from({ length: n }, (_, t) => Math.sin(t / w) + 0.01 * t);
  const cases: [Program, string[], number[]][] = [[kalman, ["y"], [0.7, 0.2, 0.3]], [decay, ["t", "obs"], [
    1.7,
    0.4,
  ]]];
  for (const [prog, names, theta] of cases) {
    const inputsOf = (n: number, w: number) =>
      Object.fromEntries(names.map((name, i) => [name, series(n, w + i)]));
    const first = inputsOf(100, 5), second = inputsOf(100, 9), shorter = inputsOf(70, 5);
    for (const interpreted of [false, true]) {
      const label = `${prog.file} ${interpreted ? "interpreted" : "direct"}`;
      const s = interpreted
        ? stageInterpreted(prog, B, { inputs: first })
        : stageProgram(prog, B, { inputs: first });
      const untraced = (inputs: Record<string, Float64Array>) =>
        interpreted
          ? interpretedValueAndGrad(prog, B, { theta, inputs })
          : valueAndGrad(prog, B, { theta, inputs });
      const dataOf = (inputs: Record<string, Float64Array>) =>
        names.map((name) => ({ shape: [inputs[name].length], data: inputs[name] }));
      assertBitIdentical(`${label} first`, s.valueAndGrad(theta), untraced(first));
      const u2 = untraced(second);
      assert.notEqual(u2.value, untraced(first).value);
      assertBitIdentical(`${label} second`, s.valueAndGrad(theta, dataOf(second)), u2);
      assertBitIdentical(`${label} first again`, s.valueAndGrad(theta, dataOf(first)), untraced(first));
      assert.ok(Object.is(s.forward(theta, dataOf(second)).value, u2.value), `${label} forward`);
      let st = s.stats();
      assert.equal(st.recordings, 1, `${label}: one trace for both data sets: ${JSON.stringify(st)}`);
      assert.equal(st.replays, 3, label);
      assertBitIdentical(`${label} shorter`, s.valueAndGrad(theta, dataOf(shorter)), untraced(shorter));
      st = s.stats();
      assert.equal(st.recordings, 2, `${label}: another shape records: ${JSON.stringify(st)}`);
      assert.equal(st.traces, 2, label);
    }
  }
});

Deno.test("data read as plain numbers is a guard: other values re-record, equal values replay", () => {
  // (> (car ys) 0) reads a data element as a plain boolean: a test on the data.
  const prog = loadProgram(
    "(define k 0.5) (let loop ((ys (tensor->list y)) (acc 0)) (if (null? ys) acc (loop (cdr ys) (if (> (car ys) 0) (+ acc (* k (car ys))) (- acc k)))))",
    "signs.scm",
  );
  const y1 = Float64Array.of(1, -2, 3, 4),
    y2 = Float64Array.of(2, -1, 5, 1),
    y3 = Float64Array.of(-1, 2, 3, 4);
  const s = stageProgram(prog, B, { inputs: { y: y1 } });
  for (const y of [y1, y2, y3, y1]) {
    const got = s.valueAndGrad([0.7], [{ shape: [4], data: y }]);
    assertBitIdentical(`y=${y}`, got, valueAndGrad(prog, B, { theta: [0.7], inputs: { y } }));
  }
  const st = s.stats();
  assert.equal(st.recordings, 2, JSON.stringify(st)); // y3's signs differ from y1's and y2's
  assert.equal(st.replays, 2, JSON.stringify(st));
});

Deno.test("a rank-0 data input: its value is loaded, and a plain read of it is a guard checked with the data", () => {
  const prog = loadProgram("(define k 0.5) (+ (* k y) (* k k (exact y)))", "scalar_input.scm");
  const scalar = (v: number) => ({ shape: [], data: Float64Array.of(v) });
  const s = stageProgram(prog, B, { inputs: { y: scalar(3) } });
  for (const [y, k] of [[3, 0.5], [3, 0.7], [4, 0.5], [4, 0.9], [3, 0.2]]) {
    const got = s.valueAndGrad([k], [scalar(y)]);
    assertBitIdentical(`y=${y} k=${k}`, got, valueAndGrad(prog, B, { theta: [k], inputs: { y: scalar(y) } }));
  }
  const st = s.stats();
  assert.equal(st.engine, "js", JSON.stringify(st));
  assert.equal(st.recordings, 2, JSON.stringify(st)); // y = 3, then y = 4 (exact read it)
  assert.equal(st.replays, 3, JSON.stringify(st));
  assert.ok(st.guardFailures >= 1, JSON.stringify(st));
});
