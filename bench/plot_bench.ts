/**
 * Plot rendering time (`deno task bench-perf`): one fit plot of 1000 points, data and fitted
 * line with a train/test split, compiled by vega-lite and rendered to SVG headless.
 */
import { renderFitPlot } from "../lib/fit/plot.ts";
import { decay } from "../tests/helpers/plot_input.ts";

const input = decay(1000);

/** Length of the last SVG rendered, kept so that no rendering is dead code. */
export let sink = 0;

Deno.bench({ name: "fit plot of 1000 points to SVG", n: 20, warmup: 3 }, async () => {
  sink = (await renderFitPlot(input)).length;
});
