/**
 * The search's SVG plots, drawn as lib/fit/plot.ts draws (a vega-lite spec rendered headless by
 * vega): the best score against evaluations and against time, and the Pareto front of
 * complexity against score. Plain rows in, SVG text out.
 */
import { renderVegaLite as render } from "../fit/plot.ts";

const COMMON = {
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  width: 520,
  height: 300,
  config: { font: "sans-serif", view: { stroke: "#dddddd" } },
};

/** Whether every score is positive (then the score axis is logarithmic). */
function logScale(ys: readonly number[]): { type: "log" } | { zero: false } {
  return ys.length > 0 && ys.every((y) => y > 0) ? { type: "log" } : { zero: false };
}

/**
 * The best score so far as a step line against `x` (evaluations or seconds).
 *
 * @example
 * ```ts
 * const svg = await bestScorePlot("pendulum", [[1, 0.5], [2, 0.1]], "evaluations", "validation NMSE");
 * ```
 */
export function bestScorePlot(
  title: string,
  points: readonly [number, number][],
  xLabel: string,
  yLabel: string,
): Promise<string> {
  return render({
    ...COMMON,
    title: { text: title, anchor: "start" },
    data: { values: points.map(([x, y]) => ({ x, y })) },
    mark: { type: "line", interpolate: "step-after", strokeWidth: 2, color: "#4c78a8" },
    encoding: {
      x: { field: "x", type: "quantitative", title: xLabel },
      y: { field: "y", type: "quantitative", title: yLabel, scale: logScale(points.map((p) => p[1])) },
    },
  });
}

/**
 * The Pareto front (a step line through its points) over every accepted program (grey points).
 *
 * @example
 * ```ts
 * const svg = await paretoPlot("pendulum", [[9, 0.5], [15, 1e-4]], [[9, 0.5], [12, 0.8], [15, 1e-4]], "score");
 * ```
 */
export function paretoPlot(
  title: string,
  front: readonly [number, number][],
  all: readonly [number, number][],
  yLabel: string,
): Promise<string> {
  const rows = [
    ...all.map(([x, y]) => ({ x, y, kind: "accepted" })),
    ...front.map(([x, y]) => ({ x, y, kind: "front" })),
  ];
  const scale = logScale(all.map((p) => p[1]));
  const x = { field: "x", type: "quantitative", title: "complexity (datum nodes)" };
  const y = { field: "y", type: "quantitative", title: yLabel, scale };
  return render({
    ...COMMON,
    title: { text: title, anchor: "start" },
    data: { values: rows },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'accepted'" }],
        mark: { type: "point", filled: true, opacity: 0.3, color: "#999999", size: 16 },
        encoding: { x, y },
      },
      {
        transform: [{ filter: "datum.kind === 'front'" }],
        mark: { type: "line", interpolate: "step-after", point: true, color: "#e45756", strokeWidth: 2 },
        encoding: { x, y },
      },
    ],
  });
}
