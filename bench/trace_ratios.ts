/**
 * Traced f64 replay against the untraced paths and hand-written TypeScript, in one run:
 * `deno task bench-trace [--rounds N] [--json]`. For each case it prints medians over
 * interleaved rounds (each round times every variant once, a batch of calls each) of one
 * value+gradient: hand-written float64 TypeScript with a hand-written reverse pass, the
 * untraced program direct and through the evaluator, the traced replay of each (and its
 * forward-only replay), and the time to record and compile a trace (one first call of a fresh
 * staged function), as µs and as ratios. Goals (issue 9): traced ≤ 3× hand-written through
 * the evaluator; record+compile ≤ 20× one untraced run.
 */
import { parseArgs } from "node:util";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import type { StagedFunction } from "../lib/backend/backend.ts";
import { interpretedValueAndGrad, stageInterpreted } from "../lib/dmci.ts";
import { loadProgram, stageProgram, valueAndGrad } from "../lib/program.ts";
import { scalarCases, tensorCase, type TraceCase } from "./trace_cases.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "15" }, json: { type: "boolean", default: false } },
});
const rounds = Number(values.rounds);

/** µs per call of f, calling it enough times to fill about `ms` milliseconds. */
function timeOnce(f: () => unknown, ms = 20): number {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    const dt = performance.now() - t0;
    if (dt >= ms || n >= 1 << 20) return (dt * 1000) / n;
    n = Math.max(n * 2, Math.ceil((n * ms) / Math.max(dt, 0.01)));
  }
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  readonly case: string;
  readonly variant: string;
  readonly us: number;
  readonly engine?: string;
}

function measure(c: TraceCase): Row[] {
  const prog = loadProgram(c.source, c.file);
  const theta = c.theta.length ? c.theta : prog.theta0;
  const opts = { theta, inputs: c.inputs };
  const direct = stageProgram(prog, f64Backend, { inputs: c.inputs });
  const interp = stageInterpreted(prog, f64Backend, { inputs: c.inputs });
  direct.valueAndGrad(theta);
  interp.valueAndGrad(theta);
  const fresh = (s: () => StagedFunction) => () => s().valueAndGrad(theta);
  const variants: [string, () => unknown][] = [
    ...(c.hand ? [["hand-written TS", () => c.hand!(theta)] as [string, () => unknown]] : []),
    ["untraced direct", () => valueAndGrad(prog, f64Backend, opts)],
    ["untraced interpreted", () => interpretedValueAndGrad(prog, f64Backend, opts)],
    ["traced direct", () => direct.valueAndGrad(theta)],
    ["traced interpreted", () => interp.valueAndGrad(theta)],
    ["traced forward-only", () => interp.forward(theta)],
    ["record+compile interpreted", fresh(() => stageInterpreted(prog, f64Backend, { inputs: c.inputs }))],
  ];
  const samples = variants.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) variants.forEach(([, f], i) => samples[i].push(timeOnce(f)));
  const engine = interp.stats().engine;
  return variants.map(([variant], i) => ({ case: c.name, variant, us: median(samples[i]), engine }));
}

const rows = [...scalarCases(), tensorCase()].flatMap(measure);
if (values.json) console.log(JSON.stringify({ rows }));
else {
  for (const name of [...new Set(rows.map((r) => r.case))]) {
    const rs = rows.filter((r) => r.case === name);
    const hand = rs.find((r) => r.variant === "hand-written TS")?.us;
    const untraced = rs.find((r) => r.variant === "untraced interpreted")!.us;
    console.log(`\n${name} (engine: ${rs[0].engine}; medians of ${rounds} interleaved rounds)`);
    console.log("| variant | µs | × hand-written | × untraced interpreted |\n|---|---:|---:|---:|");
    for (const r of rs) {
      const h = hand ? (r.us / hand).toFixed(2) : "—";
      console.log(`| ${r.variant} | ${r.us.toFixed(1)} | ${h} | ${(r.us / untraced).toFixed(3)} |`);
    }
  }
}
