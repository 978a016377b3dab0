/**
 * What a search leaves in --out besides its history and checkpoint: best.scm (the best program
 * with its fitted constants written in, under a header comment saying how it was found),
 * best.json, pareto.json and the SVG plots. For a `fit` task, after the search, the best
 * program's test NMSE on the spec's test rows (which the search never saw) and its fit against
 * all the data.
 */
import { join } from "node:path";
import { readProgram } from "../dmci.ts";
import { createF64Backend } from "../backend/f64/mod.ts";
import { loadTable } from "../fit/data.ts";
import { neededColumns, type Spec } from "../fit/spec.ts";
import { splitRows } from "../fit/split.ts";
import { fitProblem } from "../fit/problem.ts";
import { predict } from "../fit/objective.ts";
import { renderFitPlot } from "../fit/plot.ts";
import type { Entry } from "./database.ts";
import type { HistoryRecord, SearchState } from "./controller.ts";
import type { TokenUsage } from "./types.ts";
import type { LoadedSearch } from "./spec.ts";
import { bestScorePlot, paretoPlot } from "./plots.ts";
import { writeAtomic } from "./checkpoint.ts";

/** The score's name, for headers and axes. */
export function scoreName(s: LoadedSearch): string {
  const task = s.spec.search.task;
  return task === "fit"
    ? "validation NMSE"
    : task === "battery"
    ? "leave-one-cell-out early-split RMSE (training cells)"
    : "validation loss";
}

/** The best program's numbers on the spec's test rows (fit tasks with test rows only). */
export interface TestReport {
  readonly rows: number;
  readonly nmse: number;
  readonly rmse: number;
}

/** Loads the spec's table and split, and the best program with its fitted constants. */
async function bestOnData(s: LoadedSearch, best: Entry) {
  const spec = s.spec as unknown as Spec;
  const table = await loadTable(spec.data, s.dir, neededColumns(spec));
  const split = splitRows(table, spec.split);
  const program = readProgram(best.fittedText!, "best.scm");
  const p = fitProblem({
    backend: createF64Backend(),
    program,
    table,
    spec: { params: {}, inputs: spec.inputs, target: spec.target, loss: spec.loss },
  });
  return { p, split, theta: program.theta0 as number[], table };
}

/**
 * The best program's test NMSE (MSE / variance of the test target) at its fitted constants.
 *
 * @example
 * ```ts
 * (await testReport(loaded, state.db.best()!))?.nmse;
 * ```
 */
export async function testReport(s: LoadedSearch, best: Entry): Promise<TestReport | null> {
  if (s.spec.search.task !== "fit" || best.fittedText === null) return null;
  const { p, split, theta, table } = await bestOnData(s, best);
  if (split.test.length === 0) return null;
  const y = table.columns.get(p.target!)!;
  const pred = predict(p, split.test, theta);
  const ys = split.test.map((r) => y[r]);
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const mse = ys.reduce((a, v, i) => a + (v - pred[i]) ** 2, 0) / ys.length;
  const variance = ys.reduce((a, v) => a + (v - mean) ** 2, 0) / ys.length;
  return { rows: ys.length, nmse: mse / variance, rmse: Math.sqrt(mse) };
}

/** The header comment of best.scm. */
function header(
  s: LoadedSearch,
  best: Entry,
  record: HistoryRecord | undefined,
  test: TestReport | null,
): string {
  const lines = [
    `dmci search: ${s.spec.search.task} task "${s.spec.name}" (${s.file})`,
    `score (${scoreName(s)}): ${best.score}`,
    `complexity: ${best.complexity} datum nodes`,
    `found at evaluation ${best.n} by ${record?.proposer ?? "?"}${record?.edit ? ` (${record.edit})` : ""}` +
    `${record?.parent ? `, parent #${record.parent}` : ""}`,
  ];
  if (test) {
    lines.push(`after the search, on the ${test.rows} test rows: NMSE ${test.nmse}, RMSE ${test.rmse}`);
  }
  const withSe = best.constants.some((c) => c.se !== null);
  lines.push(
    withSe
      ? "fitted constants written in, ± their standard errors:"
      : "fitted constants written in (no standard errors: e.g. the Hessian of the training loss is not positive definite there):",
  );
  for (const c of best.constants) {
    lines.push(`  ${c.name} = ${c.value}${c.se !== null ? ` ± ${c.se.toPrecision(3)}` : ""}`);
  }
  return lines.map((l) => `; ${l}`).join("\n") + "\n";
}

/** The JSON of one program in best.json and pareto.json. */
export function programJson(e: Entry): Record<string, unknown> {
  return {
    id: e.id,
    program: e.fittedText,
    proposed: e.text,
    params: Object.fromEntries(e.constants.map((c) => [c.name, c.value])),
    constants: e.constants,
    score: e.score,
    complexity: e.complexity,
  };
}

/**
 * The document `search --json` prints (and a server search job's result): the best program, the
 * Pareto front, counts, the test report and, for a proposer that calls out, its tokens.
 *
 * @example
 * ```ts
 * JSON.stringify(searchDocument(state, 12.5, null, null)); // {"best": …, "pareto": […], "evaluations": …}
 * ```
 */
export function searchDocument(
  state: SearchState,
  seconds: number,
  test: TestReport | null,
  tokens: TokenUsage | null,
): Record<string, unknown> {
  const best = state.db.best();
  return {
    best: best ? programJson(best) : null,
    pareto: state.db.pareto().map(programJson),
    evaluations: state.count,
    seconds,
    rejected: state.rejected,
    test,
    ...(tokens ? { tokens } : {}),
  };
}

/**
 * Writes best.scm, best.json, pareto.json and the plots; returns the files written and the test
 * report.
 */
export async function writeOutputs(
  out: string,
  s: LoadedSearch,
  state: SearchState,
  records: ReadonlyMap<string, HistoryRecord>,
): Promise<{ files: string[]; test: TestReport | null }> {
  const files: string[] = [];
  const put = async (name: string, text: string) => {
    await writeAtomic(join(out, name), text);
    files.push(join(out, name));
  };
  const best = state.db.best();
  const pareto = state.db.pareto();
  await put("pareto.json", JSON.stringify(pareto.map(programJson), null, 2) + "\n");
  let test: TestReport | null = null;
  if (best) {
    test = await testReport(s, best);
    await put("best.scm", header(s, best, records.get(best.id), test) + best.fittedText);
    await put(
      "best.json",
      JSON.stringify({ ...programJson(best), score_name: scoreName(s), test }, null, 2) + "\n",
    );
    if (s.spec.search.task === "fit" && best.fittedText) {
      const { p, split, theta, table } = await bestOnData(s, best);
      const all = Array.from({ length: table.rows }, (_, i) => i);
      const role = all.map(() => "train" as "train" | "test");
      split.test.forEach((r) => role[r] = "test");
      const xName = Object.values(p.inputs)[0];
      await put(
        "best_fit.svg",
        await renderFitPlot({
          title: `${s.spec.name}: the best program (#${best.id}) against the data`,
          xLabel: xName ?? "row",
          yLabel: p.target!,
          x: xName ? table.columns.get(xName)! : Float64Array.from(all),
          observed: table.columns.get(p.target!)!,
          fitted: predict(p, all, theta),
          split: role,
        }),
      );
    }
  }
  if (state.progress.length) {
    const name = scoreName(s);
    await put(
      "best_vs_evaluations.svg",
      await bestScorePlot(
        `${s.spec.name}: best score`,
        state.progress.map(([n, , y]) => [n, y]),
        "evaluations",
        name,
      ),
    );
    await put(
      "best_vs_time.svg",
      await bestScorePlot(
        `${s.spec.name}: best score`,
        state.progress.map(([, t, y]) => [t, y]),
        "seconds",
        name,
      ),
    );
    await put(
      "pareto.svg",
      await paretoPlot(
        `${s.spec.name}: Pareto front`,
        pareto.map((e) => [e.complexity, e.score!]),
        state.db.all().map((e) => [e.complexity, e.score!]),
        name,
      ),
    );
  }
  return { files, test };
}
