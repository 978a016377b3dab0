/**
 * Traced f64 replay against the untraced paths and hand-written TypeScript, in one run:
 * `deno task bench-trace [--rounds N] [--json]`. For each case it prints medians over
 * interleaved rounds (each round times every variant once, a batch of calls each) of one
 * value+gradient: hand-written float64 TypeScript with a hand-written reverse pass, the
 * untraced program direct and through the evaluator, the traced replay of each (and its
 * forward-only replay), and the time to record and compile a trace (one first call of a fresh
 * staged function), as µs and as ratios. A ratio is the median over rounds of the ratio within
 * a round (both timed moments apart), which a loaded machine disturbs far less than a ratio of
 * medians. Then the fit of fixtures/specs/nino12_ar1_kalman.json end to end (fitSpec, in this
 * process, so with V8 warm): untraced, traced on a fresh backend (the trace recorded during the
 * fit, as a first fit does), and traced again on the same backend (the staged loss and its trace
 * kept from an earlier fit of the same program: a re-fit, a server job). Goals (issue 9): traced
 * ≤ 3× hand-written through the evaluator; record+compile ≤ 20× one untraced run; the fit ≥ 10×
 * faster than untraced.
 */
import { parseArgs } from "node:util";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import type { StagedFunction } from "../lib/backend/backend.ts";
import { interpretedValueAndGrad, stageInterpreted } from "../lib/dmci.ts";
import { loadProgram, stageProgram, valueAndGrad } from "../lib/program.ts";
import { scalarCases, tensorCase, type TraceCase } from "./trace_cases.ts";
import { loadSpec } from "../lib/fit/spec.ts";
import { fitSpec } from "../lib/fit/fit.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "15" },
    "fit-rounds": { type: "string", default: "7" },
    json: { type: "boolean", default: false },
  },
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
  /** Median over rounds of this variant's time over the hand-written one's (null: no hand-written). */
  readonly xHand: number | null;
  /** Median over rounds of this variant's time over the untraced interpreted one's. */
  readonly xUntraced: number;
  readonly engine?: string;
}

/** Median over rounds of a[r] / b[r]. */
const ratio = (a: number[], b: number[]) => median(a.map((x, r) => x / b[r]));

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
  const hand = c.hand ? samples[0] : null;
  const untraced = samples[variants.findIndex(([v]) => v === "untraced interpreted")];
  return variants.map(([variant], i) => ({
    case: c.name,
    variant,
    us: median(samples[i]),
    xHand: hand ? ratio(samples[i], hand) : null,
    xUntraced: ratio(samples[i], untraced),
    engine,
  }));
}

/** The Niño 1+2 AR(1) Kalman fit end to end, untraced and traced, interleaved rounds. */
async function measureFit(fitRounds: number): Promise<Row[]> {
  const file = new URL("../fixtures/specs/nino12_ar1_kalman.json", import.meta.url).pathname;
  const fit = async (trace: boolean, fresh: boolean) => {
    const t0 = performance.now();
    const spec = await loadSpec(file);
    // A maxTensorSize makes a new backend, hence a new runtime and staged loss: the fit records.
    await fitSpec(spec, {
      backend: "f64",
      trace,
      plot: false,
      ...(fresh ? { maxTensorSize: 10_000_000 } : {}),
    });
    return (performance.now() - t0) * 1000;
  };
  const variants: [string, () => Promise<number>][] = [
    ["fit untraced", () => fit(false, false)],
    ["fit traced, trace recorded in the fit", () => fit(true, true)],
    ["fit traced, trace kept from an earlier fit", () => fit(true, false)],
  ];
  for (const [, f] of variants) await f(); // warm-up
  const samples = variants.map(() => [] as number[]);
  for (let r = 0; r < fitRounds; r++) {
    for (let i = 0; i < variants.length; i++) samples[i].push(await variants[i][1]());
  }
  return variants.map(([variant], i) => ({
    case: "nino12_ar1_kalman fit (fitSpec, in process)",
    variant,
    us: median(samples[i]),
    xHand: null,
    xUntraced: ratio(samples[i], samples[0]),
  }));
}

const rows = [
  ...[...scalarCases(), tensorCase()].flatMap(measure),
  ...await measureFit(Number(values["fit-rounds"])),
];
if (values.json) console.log(JSON.stringify({ rows }));
else {
  for (const name of [...new Set(rows.map((r) => r.case))]) {
    const rs = rows.filter((r) => r.case === name);
    if (rs[0].engine === undefined) {
      console.log(`\n${name} (medians of ${values["fit-rounds"]} interleaved rounds)`);
      console.log("| variant | ms | × untraced |\n|---|---:|---:|");
      for (const r of rs) {
        console.log(`| ${r.variant} | ${(r.us / 1000).toFixed(1)} | ${r.xUntraced.toFixed(3)} |`);
      }
      continue;
    }
    console.log(`\n${name} (engine: ${rs[0].engine}; medians of ${rounds} interleaved rounds)`);
    console.log("| variant | µs | × hand-written | × untraced interpreted |\n|---|---:|---:|---:|");
    for (const r of rs) {
      const h = r.xHand === null ? "—" : r.xHand.toFixed(2);
      console.log(`| ${r.variant} | ${r.us.toFixed(1)} | ${h} | ${r.xUntraced.toFixed(3)} |`);
    }
  }
}
