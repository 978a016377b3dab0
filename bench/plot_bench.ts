/**
 * Plot rendering time (`deno task bench-perf`): one fit plot of 1000 points, data and fitted
 * line with a train/test split, compiled by vega-lite and rendered to SVG headless.
 */
import { type FitPlotInput, renderFitPlot } from "../lib/fit/plot.ts";

const N = 1000;
const x = Array.from({ length: N }, (_, i) => i * 0.1);
const fitted = x.map((t) => 2 * Math.exp(-0.3 * t) + 0.2);
const input: FitPlotInput = {
  title: "exponential decay",
  xLabel: "time t (s)",
  yLabel: "signal y",
  x: Float64Array.from(x),
  observed: fitted.map((f, i) => f + 0.05 * Math.sin(7.3 * i)),
  fitted,
  split: x.map((_, i) => i < 0.75 * N ? "train" : "test"),
};

/** Length of the last SVG rendered, kept so that no rendering is dead code. */
export let sink = 0;

Deno.bench({ name: "fit plot of 1000 points to SVG", n: 20, warmup: 3 }, async () => {
  sink = (await renderFitPlot(input)).length;
});
