/**
 * Makes fixtures/battery/synthetic/: ten synthetic battery cells with known knees, one CSV per
 * cell in the format of ../shared/data/battery (`cycle,capacity_ah`), for the battery benchmark's
 * tests and its default run. Deterministic (a seeded PRNG); it writes nothing else, and `--check`
 * also verifies that the truth table in fixtures/battery/README.md is the one it prints.
 *
 * ```sh
 * deno run -A scripts/make_battery_cells.ts           # (re)write fixtures/battery/synthetic/
 * deno run -A scripts/make_battery_cells.ts --check   # exit 1 if a file differs from what it would write
 * deno run -A scripts/make_battery_cells.ts --table   # print the README's truth table
 * ```
 */
import { normal, uniform } from "./make_fixtures.ts";

/** The true parameters of one synthetic cell (normalised capacity, u = cycle/1000). */
export interface SyntheticCell {
  readonly name: string;
  /** Nominal capacity in Ah: capacity_ah = nominal × normalised capacity. */
  readonly nominal: number;
  /** Square-root (SEI-like) fade per √(1000 cycles). */
  readonly alpha: number;
  /** Linear fade per 1000 cycles before the knee. */
  readonly a: number;
  /** Normalised capacity on the pre-knee curve at the knee. */
  readonly level: number;
  /** The knee, in thousands of cycles (where the pre-knee curve reaches `level`). */
  readonly knee: number;
  /** Extra fade per 1000 cycles after the knee. */
  readonly b: number;
  /** Width of the bend, in thousands of cycles. */
  readonly s: number;
  /** Last recorded cycle: the first at which the noise-free capacity is below 0.7. */
  readonly cycles: number;
  /** First cycle at which the noise-free capacity is below 0.8. */
  readonly eol: number;
}

/** Cells made; noise standard deviation (normalised capacity); seeds of the parameters and noise. */
export const CELLS = 10;
export const SIGMA = 0.003;
const PARAM_SEED = 61;
const NOISE_SEED = 62;
const BEND = 0.03;
const COMMAND = "deno run -A scripts/make_battery_cells.ts";

function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** The noise-free normalised capacity of a cell at `cycle`. */
export function trueCapacity(c: SyntheticCell, cycle: number): number {
  const u = cycle / 1000;
  return 1 - c.alpha * Math.sqrt(u) - c.a * u - c.b * c.s * softplus((u - c.knee) / c.s);
}

/**
 * The cells' true parameters. The knee sits where the pre-knee curve 1 − α√u − a·u falls to a
 * level near 0.94 (cells that fade faster early knee sooner, as in the literature on early
 * prediction of cycle life), so a fit of the early cycles cannot see it, but the level can be
 * learnt from other cells.
 *
 * @example
 * ```ts
 * syntheticCells()[0].knee; // thousands of cycles
 * ```
 */
export function syntheticCells(): SyntheticCell[] {
  const u = uniform(PARAM_SEED);
  const z = normal(PARAM_SEED + 1000);
  return Array.from({ length: CELLS }, (_, i) => {
    const a = 0.05 + 0.05 * u();
    const alpha = 0.005 + 0.01 * u();
    const level = 0.94 + 0.008 * z();
    const b = 0.5 + 0.5 * u();
    const nominal = 1.1 * (1 + 0.02 * z());
    // 1 − α·x − a·x² = level with x = √knee.
    const x = (-alpha + Math.sqrt(alpha * alpha + 4 * a * (1 - level))) / (2 * a);
    const cell = {
      name: `S${String(i + 1).padStart(2, "0")}`,
      nominal,
      alpha,
      a,
      level,
      knee: x * x,
      b,
      s: BEND,
    };
    let eol = 0, n = 1;
    for (; trueCapacity({ ...cell, cycles: 0, eol: 0 }, n) >= 0.7; n++) {
      if (!eol && trueCapacity({ ...cell, cycles: 0, eol: 0 }, n) < 0.8) eol = n;
    }
    return { ...cell, cycles: n, eol: eol || n };
  });
}

/** The CSV text of each cell, by file name. */
export function cellFiles(): Map<string, string> {
  const z = normal(NOISE_SEED);
  const files = new Map<string, string>();
  for (const c of syntheticCells()) {
    const lines = ["cycle,capacity_ah"];
    for (let n = 1; n <= c.cycles; n++) {
      lines.push(`${n},${(c.nominal * (trueCapacity(c, n) + SIGMA * z())).toFixed(6)}`);
    }
    files.set(`${c.name}.csv`, lines.join("\n") + "\n");
  }
  return files;
}

/** The Markdown table of true parameters that fixtures/battery/README.md carries (aligned as deno fmt does). */
export function truthTable(): string {
  const head = ["cell", "cycles", "nominal Ah", "α", "a", "knee level", "knee cycle", "b", "EOL cycle"];
  const rows = syntheticCells().map((c) => [
    c.name,
    String(c.cycles),
    c.nominal.toFixed(4),
    c.alpha.toFixed(4),
    c.a.toFixed(4),
    c.level.toFixed(4),
    String(Math.round(1000 * c.knee)),
    c.b.toFixed(4),
    String(c.eol),
  ]);
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((v, j) => j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j])).join(" | ")} |`;
  const rule = `| ${widths.map((w, j) => j === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":").join(" | ")} |`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

async function readIfExists(url: URL): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(url);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function main(args: string[]): Promise<number> {
  const dir = new URL("../fixtures/battery/synthetic/", import.meta.url);
  const files = cellFiles();
  if (args.includes("--table")) {
    console.log(truthTable());
    return 0;
  }
  if (args.includes("--check")) {
    let stale = 0;
    for (const [name, text] of files) {
      if (await readIfExists(new URL(name, dir)) !== text) {
        console.error(`fixtures/battery/synthetic/${name} is not what ${COMMAND} writes`);
        stale++;
      }
    }
    const readme = await readIfExists(new URL("../README.md", dir));
    if (!readme?.includes(truthTable())) {
      console.error(`fixtures/battery/README.md lacks the truth table of ${COMMAND} --table`);
      stale++;
    }
    if (!stale) console.error(`fixtures/battery/synthetic: all ${files.size} cells up to date`);
    return stale ? 1 : 0;
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of files) {
    await Deno.writeTextFile(new URL(name, dir), text);
    console.error(`wrote fixtures/battery/synthetic/${name}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
