/**
 * Records and replays a trace of more than 10^6 operations (a 170 000-step logistic
 * recurrence, six ops a step) and prints one JSON line: entries, engine, replays, the
 * resident set in MiB, and the largest relative difference from the untraced run.
 * tests/trace_test.ts runs it in a process whose heap is limited to 1 GiB.
 */
import { f64Backend } from "../../lib/backend/f64/mod.ts";
import { loadProgram, stageProgram, valueAndGrad } from "../../lib/program.ts";

const STEPS = 170_000;
const prog = loadProgram(
  `(define a 1.5) (define b 0.8) (define x0 0.1) (define dt (/ 1 500000))
   (let loop ((x x0) (n 0)) (if (= n ${STEPS}) x (loop (+ x (* dt (- (* a x) (* (* b x) x)))) (+ n 1))))`,
  "long.scm",
);
const staged = stageProgram(prog, f64Backend);
let maxRelDiff = 0;
for (const theta of [[1.5, 0.8, 0.1], [1.4, 0.9, 0.2], [1.6, 0.7, 0.15]]) {
  const t = staged.valueAndGrad(theta), u = valueAndGrad(prog, f64Backend, { theta });
  [t.value, ...t.grad.map(Number)].forEach((x, i) => {
    const y = [u.value, ...u.grad.map(Number)][i];
    if (x !== y) maxRelDiff = Math.max(maxRelDiff, Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y)));
  });
}
const st = staged.stats();
console.log(JSON.stringify({
  entries: st.entries,
  engine: st.engine,
  replays: st.replays,
  rssMiB: Math.round(Deno.memoryUsage().rss / 2 ** 20),
  maxRelDiff,
}));
