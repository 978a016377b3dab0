/**
 * The fit plot: data against the fitted model, with the train/test split marked, as SVG text.
 * A vega-lite spec is built from plain rows and rendered headless by vega (no canvas, no DOM,
 * no network); this module draws nothing by hand and knows nothing about specs or optimizers.
 */
import { loadVega } from "../deps.ts";
import { DmciError } from "../errors.ts";

/** What to draw: per-row columns of equal length, plus labels. */
export interface FitPlotInput {
  /** The plot's title (e.g. the spec's name). */
  title: string;
  /** Label of the horizontal axis. */
  xLabel: string;
  /** d3-format of the horizontal axis's labels (default vega's: "2,010" for a year; "d" gives 2010). */
  xFormat?: string;
  /** Label of the vertical axis. */
  yLabel: string;
  /** The horizontal coordinate of each row. */
  x: ArrayLike<number>;
  /** The observed value of each row (drawn as points). */
  observed: ArrayLike<number>;
  /** The model's prediction for each row (drawn as a line, in x order). */
  fitted: ArrayLike<number>;
  /** Which side of the split each row is on. */
  split: ("train" | "test")[];
  /** Optional panel name of each row (e.g. a battery cell): one small plot per panel, ≤ 4 across. */
  panels?: string[];
}

/** The split categories, in legend order, with their colours and point shapes. */
const SPLITS = ["train", "test"] as const;
const SPLIT_COLORS = ["#4c78a8", "#e45756"];
const SPLIT_SHAPES = ["circle", "triangle-up"];
const FIT_COLOR = "#222222";
const MAX_COLUMNS = 4;

/** One row of the single table every layer reads; `kind` says which layer it belongs to. */
interface PlotRow {
  kind: "obs" | "fit" | "boundary";
  panel: string;
  x: number;
  y?: number;
  split?: string;
  /** Right edge of the shaded test region (boundary rows only). */
  x2?: number;
}

/**
 * Renders data vs fit as SVG text: observed values as points coloured and shaped by split, the
 * fitted values as a line, and, where the test rows of a panel lie wholly after (or before) its
 * training rows, the test region shaded and its boundary drawn as a dashed rule labelled
 * "train | test". With `panels`, one small plot per panel in a grid at most 4 wide, sharing
 * both axes so panels compare at a glance. Rows whose x is not finite are left out entirely,
 * rows whose observation is not finite lose their point, and rows whose fitted value is not
 * finite lose only their place on the line; the subtitle counts what was left out.
 *
 * @example
 * ```ts
 * const svg = await renderFitPlot({
 *   title: "exponential decay", xLabel: "t", yLabel: "y",
 *   x: [0, 1, 2, 3], observed: [1, 0.6, 0.37, 0.2], fitted: [1, 0.61, 0.37, 0.22],
 *   split: ["train", "train", "train", "test"],
 * });
 * svg.startsWith("<svg"); // true
 * ```
 */
export async function renderFitPlot(p: FitPlotInput): Promise<string> {
  const n = p.x.length;
  for (const [name, col] of [["observed", p.observed], ["fitted", p.fitted], ["split", p.split]] as const) {
    if (col.length !== n) throw plotError(`'${name}' has ${col.length} rows but 'x' has ${n}`);
  }
  if (p.panels !== undefined && p.panels.length !== n) {
    throw plotError(`'panels' has ${p.panels.length} rows but 'x' has ${n}`);
  }
  for (let i = 0; i < n; i++) {
    if (p.split[i] !== "train" && p.split[i] !== "test") {
      throw plotError(`split of row ${i} is ${JSON.stringify(p.split[i])}; expected "train" or "test"`);
    }
  }

  const { rows, panelNames, dropped } = plotRows(p);
  return await renderVegaLite(vegaLiteSpec(p, rows, panelNames, dropped));
}

/**
 * Renders a vega-lite spec headless (no canvas, no DOM, no network) to SVG text.
 *
 * @example
 * ```ts
 * const svg = await renderVegaLite({ data: { values: [{ x: 1, y: 2 }] }, mark: "point",
 *   encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } });
 * ```
 */
export async function renderVegaLite(spec: Record<string, unknown>): Promise<string> {
  const { vega, vegaLite } = await loadVega();
  const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** An error about the plot's input; these are caller mistakes, so they name the column. */
function plotError(message: string): DmciError {
  return new DmciError("data", `fit plot: ${message}`);
}

/** Builds the table of point, line and boundary rows, panel by panel, and counts what was left out. */
function plotRows(p: FitPlotInput): {
  rows: PlotRow[];
  panelNames: string[];
  dropped: { x: number; observed: number; fitted: number };
} {
  const dropped = { x: 0, observed: 0, fitted: 0 };
  const byPanel = new Map<string, number[]>();
  for (let i = 0; i < p.x.length; i++) {
    if (!Number.isFinite(p.x[i])) {
      dropped.x++;
      continue;
    }
    const panel = p.panels?.[i] ?? "";
    let members = byPanel.get(panel);
    if (members === undefined) byPanel.set(panel, members = []);
    members.push(i);
  }

  const rows: PlotRow[] = [];
  for (const [panel, members] of byPanel) {
    for (const i of members) {
      if (Number.isFinite(p.observed[i])) {
        rows.push({ kind: "obs", panel, x: p.x[i], y: p.observed[i], split: p.split[i] });
      } else dropped.observed++;
    }
    // The line is drawn in x order (vega-lite sorts a line by its x field); ties keep row order.
    for (const i of [...members].sort((a, b) => p.x[a] - p.x[b])) {
      if (Number.isFinite(p.fitted[i])) rows.push({ kind: "fit", panel, x: p.x[i], y: p.fitted[i] });
      else dropped.fitted++;
    }
    const boundary = splitBoundary(p, members);
    if (boundary !== undefined) rows.push({ kind: "boundary", panel, ...boundary });
  }
  return { rows, panelNames: [...byPanel.keys()], dropped };
}

/**
 * Where a panel's test region starts and ends, if its test rows lie wholly after (or wholly
 * before) its training rows; an interleaved split (a condition on another column) has no one
 * boundary to draw, and then only the points' colours and shapes show the split.
 */
function splitBoundary(p: FitPlotInput, members: number[]): { x: number; x2: number } | undefined {
  let trainMin = Infinity, trainMax = -Infinity, testMin = Infinity, testMax = -Infinity;
  for (const i of members) {
    const x = p.x[i];
    if (p.split[i] === "train") trainMin = Math.min(trainMin, x), trainMax = Math.max(trainMax, x);
    else testMin = Math.min(testMin, x), testMax = Math.max(testMax, x);
  }
  if (testMin === Infinity || trainMin === Infinity) return undefined;
  if (trainMax < testMin) return { x: testMin, x2: testMax };
  if (testMax < trainMin) return { x: testMax, x2: testMin };
  return undefined;
}

/** The vega-lite spec: one layered plot, faceted into a grid when there are several panels. */
function vegaLiteSpec(
  p: FitPlotInput,
  rows: PlotRow[],
  panelNames: string[],
  dropped: { x: number; observed: number; fitted: number },
): Record<string, unknown> {
  const faceted = p.panels !== undefined;
  const nObs = rows.reduce((k, r) => k + (r.kind === "obs" ? 1 : 0), 0);
  const pointSize = nObs > 2000 ? 10 : nObs > 300 ? 18 : 36;
  const x = {
    field: "x",
    type: "quantitative",
    title: p.xLabel,
    scale: { zero: false },
    ...(p.xFormat ? { axis: { format: p.xFormat } } : {}),
  };
  const y = { field: "y", type: "quantitative", title: p.yLabel, scale: { zero: false } };
  const only = (kind: PlotRow["kind"]) => [{ filter: `datum.kind === '${kind}'` }];
  const label = (text: string, align: "left" | "right", dx: number) => ({
    transform: only("boundary"),
    mark: { type: "text", text, align, dx, baseline: "top", fontSize: 10, color: "#555555" },
    encoding: { x: { field: "x", type: "quantitative" }, y: { value: 4 } },
  });

  const layers = [
    {
      // The test region, shaded behind everything else.
      transform: only("boundary"),
      mark: { type: "rect", color: "#999999", opacity: 0.12 },
      encoding: { x: { field: "x", type: "quantitative" }, x2: { field: "x2" } },
    },
    {
      transform: only("boundary"),
      mark: { type: "rule", color: "#555555", strokeDash: [5, 4], strokeWidth: 1.2 },
      encoding: { x: { field: "x", type: "quantitative" } },
    },
    label("train", "right", -4),
    label("test", "left", 4),
    {
      transform: only("obs"),
      mark: { type: "point", filled: true, opacity: 0.75, size: pointSize },
      encoding: {
        x,
        y,
        color: {
          field: "split",
          type: "nominal",
          title: "data",
          scale: { domain: SPLITS, range: SPLIT_COLORS },
        },
        shape: {
          field: "split",
          type: "nominal",
          title: "data",
          scale: { domain: SPLITS, range: SPLIT_SHAPES },
        },
      },
    },
    {
      transform: only("fit"),
      mark: { type: "line", strokeWidth: 2, interpolate: "linear" },
      encoding: {
        x,
        y,
        stroke: {
          datum: "fit",
          type: "nominal",
          title: "model",
          scale: { domain: ["fit"], range: [FIT_COLOR] },
        },
      },
    },
  ];

  const notes: string[] = [];
  const count = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`;
  if (dropped.x > 0) notes.push(`${count(dropped.x, "row")} with non-finite x left out`);
  if (dropped.observed > 0) notes.push(`${count(dropped.observed, "non-finite observation")} left out`);
  if (dropped.fitted > 0) {
    notes.push(`${count(dropped.fitted, "non-finite fitted value")} left out of the line`);
  }
  const title = notes.length > 0 ? { text: p.title, subtitle: notes.join("; ") } : { text: p.title };

  const common = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { ...title, anchor: "start" },
    data: { values: rows },
    config: { font: "sans-serif", view: { stroke: "#dddddd" }, legend: { orient: "right" } },
  };
  if (!faceted) return { ...common, width: 560, height: 320, layer: layers };
  return {
    ...common,
    columns: Math.min(MAX_COLUMNS, Math.max(1, panelNames.length)),
    facet: { field: "panel", type: "nominal", title: null, sort: panelNames },
    spec: { width: 220, height: 150, layer: layers },
  };
}
