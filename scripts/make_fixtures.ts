/**
 * Makes the data sets of fixtures/data/ that the fit specs of fixtures/specs/ use: synthetic
 * curves with known parameters (a seeded PRNG, Gaussian noise by Box–Muller), the Niño 1+2
 * anomalies derived from the bundled NOAA table, and the README that documents them all.
 * Deterministic: every run writes the same bytes. It writes nothing outside fixtures/data/.
 *
 * ```sh
 * deno run -A scripts/make_fixtures.ts           # (re)write fixtures/data/
 * deno run -A scripts/make_fixtures.ts --check   # exit 1 if a file on disk differs from what it would write
 * ```
 */

/** One column of a data set: its name and what it holds. */
export interface Column {
  readonly name: string;
  readonly doc: string;
}

/** A synthetic data set: the curve, its true parameters, the noise, and how rows are laid out. */
export interface Synthetic {
  /** File name under fixtures/data/. */
  readonly file: string;
  /** Heading of its README section. */
  readonly title: string;
  /** The noise-free curve, as a formula (README text). */
  readonly formula: string;
  /** Where the inputs are (README text). */
  readonly design: string;
  /** The true parameters, by the names the model program of the spec uses. */
  readonly truth: Readonly<Record<string, number>>;
  /** Standard deviation of the additive Gaussian noise. */
  readonly sigma: number;
  /** Seed of the data set's own generator (independent of the other data sets). */
  readonly seed: number;
  /** The spec(s) that fit it (README text). */
  readonly specs: string;
  /** Any further note (README text). */
  readonly note?: string;
  readonly columns: readonly Column[];
  /** The rows, given a source of standard normal draws. */
  rows(normal: () => number): (number | string)[][];
}

import { normal, uniform } from "../lib/random.ts";

/** The seeded generators the fixtures are made with (lib/random.ts), re-exported for the other scripts. */
export { normal, uniform };

/** `x` with `digits` decimals, without a negative zero. */
function fixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** Evenly spaced points from `a` to `b` inclusive. */
function linspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => a + (b - a) * i / (n - 1));
}

/** Numerically stable log(1 + eˣ), as the language's `softplus`. */
function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Position of the underdamped oscillator x'' + 2ζωx' + ω²x = 0 with x(0) = x0, x'(0) = v0 (exact). */
function oscillator(t: number, omega: number, zeta: number, x0: number, v0: number): number {
  const wd = omega * Math.sqrt(1 - zeta * zeta);
  return Math.exp(-zeta * omega * t) *
    (x0 * Math.cos(wd * t) + (v0 + zeta * omega * x0) / wd * Math.sin(wd * t));
}

/** Nominal capacity (Ah) of the synthetic cell: capacity_ah = NOMINAL_AH × capacity. */
const NOMINAL_AH = 1.1;

/** The synthetic data sets, in README order. */
export const SYNTHETIC: readonly Synthetic[] = [
  {
    file: "exponential_decay.csv",
    title: "Exponential decay",
    formula: "y = A·exp(−k·t) + c",
    design: "t = 10·i/79 for i = 0 … 79 (80 rows, t from 0 to 10)",
    truth: { A: 2.5, k: 0.45, c: 0 },
    sigma: 0.05,
    seed: 1,
    specs: "`exponential_decay.json` (c fixed at 0; split: first 80% of rows by fraction)",
    columns: [{ name: "time", doc: "t" }, { name: "y", doc: "the noisy observation" }],
    rows(z) {
      const { A, k, c } = this.truth;
      return linspace(0, 10, 80).map((
        t,
      ) => [fixed(t, 6), fixed(A * Math.exp(-k * t) + c + this.sigma * z(), 6)]);
    },
  },
  {
    file: "logistic_growth.csv",
    title: "Logistic growth",
    formula: "y = K / (1 + ((K − y0)/y0)·exp(−r·t)), the solution of y' = r·y·(1 − y/K), y(0) = y0",
    design: "t = 0, 0.2, …, 12 (61 rows)",
    truth: { K: 8, y0: 0.25, r: 0.9 },
    sigma: 0.1,
    seed: 2,
    specs: "`logistic_growth.json` (loss gaussian-nll, whose fitted noise scale should come out near σ; " +
      "split: column day < 9)",
    columns: [{ name: "day", doc: "t" }, { name: "density", doc: "the noisy observation y" }],
    rows(z) {
      const { K, y0, r } = this.truth;
      return linspace(0, 12, 61).map((t) => [
        fixed(t, 6),
        fixed(K / (1 + (K - y0) / y0 * Math.exp(-r * t)) + this.sigma * z(), 6),
      ]);
    },
  },
  {
    file: "damped_oscillator.csv",
    title: "Damped oscillator",
    formula: "x'' + 2ζω·x' + ω²·x = 0, x(0) = x0, x'(0) = v0; observed y = x(t) + noise",
    design: "t = 0, 0.25, …, 20 (81 rows)",
    truth: { omega: 1.3, zeta: 0.1, x0: 1.2, v0: -0.4 },
    sigma: 0.04,
    seed: 3,
    specs: "`damped_oscillator.json`",
    note: "Made from the exact (underdamped) solution x(t) = e^(−ζωt)·(x0·cos(ω_d t) + (v0 + ζω·x0)/ω_d·" +
      "sin(ω_d t)), ω_d = ω√(1 − ζ²). The model program instead integrates the ODE by RK4 with step 1/20 " +
      "(400 steps to t = 20); at the true parameters its positions differ from the exact ones by less " +
      "than 1e-6, far below σ.",
    columns: [{ name: "time", doc: "t (ascending: the model program integrates from 0 up to each time)" }, {
      name: "position",
      doc: "the noisy observation of x(t)",
    }],
    rows(z) {
      const { omega, zeta, x0, v0 } = this.truth;
      return linspace(0, 20, 81).map((t) => [
        fixed(t, 6),
        fixed(oscillator(t, omega, zeta, x0, v0) + this.sigma * z(), 6),
      ]);
    },
  },
  {
    file: "battery_knee.csv",
    title: "Battery capacity curve with a knee (one synthetic cell)",
    formula: "capacity = q0 − a·u − b·s·softplus((u − knee)/s), u = cycle/1000 (a smooth Bacon–Watts " +
      "knee: slope a per 1000 cycles before the knee, a + b after it, bend width s)",
    design: "cycle = 1, 2, …, 1000 (1000 rows)",
    truth: { q0: 1, a: 0.08, b: 0.6, knee: 0.6, s: 0.04 },
    sigma: 0.002,
    seed: 4,
    specs: "`battery_knee.json` (split: column cycle < 800)",
    note:
      `Noise is added to the normalised capacity; capacity_ah is that value times a nominal ${NOMINAL_AH} Ah ` +
      "(rounded to 6 decimals), so the file also has the per-cell form `cycle,capacity_ah` of " +
      "../shared/data/battery. Slow linear fade to the knee near cycle 600, then fast fade; capacity first " +
      "falls below 0.8 near cycle 820.",
    columns: [
      { name: "cycle", doc: "cycle number" },
      { name: "capacity_ah", doc: `discharge capacity in Ah (${NOMINAL_AH} × capacity)` },
      { name: "capacity", doc: "normalised capacity (the fit target)" },
    ],
    rows(z) {
      const { q0, a, b, knee, s } = this.truth;
      return Array.from({ length: 1000 }, (_, i) => {
        const u = (i + 1) / 1000;
        const q = q0 - a * u - b * s * softplus((u - knee) / s) + this.sigma * z();
        return [i + 1, fixed(NOMINAL_AH * q, 6), fixed(q, 6)];
      });
    },
  },
];

/** A data set's CSV text: a header, then its rows, newline-terminated. */
export function syntheticCsv(set: Synthetic): string {
  const lines = [set.columns.map((c) => c.name).join(",")];
  for (const row of set.rows(normal(set.seed))) lines.push(row.join(","));
  return lines.join("\n") + "\n";
}

/** First and last year of the Niño 1+2 climatology (the training years of nino12_ar1_kalman.json). */
export const CLIMATOLOGY_YEARS = [1950, 1999] as const;

/** The raw Niño 1+2 table as rows. */
export function parseNino(text: string): { year: number; month: number; sst: number }[] {
  const [header, ...lines] = text.trim().split(/\r?\n/);
  if (header !== "year,month,sst_c") throw new Error(`nino12.csv: unexpected header '${header}'`);
  return lines.map((line, i) => {
    const [year, month, sst] = line.split(",").map(Number);
    if (![year, month, sst].every(Number.isFinite)) {
      throw new Error(`nino12.csv: row ${i + 2} is not numeric`);
    }
    return { year, month, sst };
  });
}

/**
 * The anomaly table: each month's SST minus the mean of its calendar month over
 * CLIMATOLOGY_YEARS; `t` = year + (month − 1)/12. The raw temperatures have two decimals,
 * so a 50-year mean is a multiple of 0.0002 and four decimals write the anomaly exactly.
 */
export function ninoAnomaliesCsv(text: string): string {
  const rows = parseNino(text);
  const sums = new Array(13).fill(0);
  const counts = new Array(13).fill(0);
  for (const r of rows) {
    if (r.year >= CLIMATOLOGY_YEARS[0] && r.year <= CLIMATOLOGY_YEARS[1]) {
      sums[r.month] += r.sst;
      counts[r.month]++;
    }
  }
  const lines = ["year,month,t,sst,anomaly"];
  for (const r of rows) {
    const t = r.year + (r.month - 1) / 12;
    lines.push(
      [r.year, r.month, fixed(t, 4), fixed(r.sst, 2), fixed(r.sst - sums[r.month] / counts[r.month], 4)].join(
        ",",
      ),
    );
  }
  return lines.join("\n") + "\n";
}

const COMMAND = "deno run -A scripts/make_fixtures.ts";

/** fixtures/data/README.md. */
export function dataReadme(): string {
  const out: string[] = [
    "# fixtures/data — data sets for the fit specs",
    "",
    `Made by \`${COMMAND}\`, which writes every file here except`,
    "`nino12.csv` (a copy of a NOAA table, see nino12.README.md) and is deterministic: running it again",
    "gives the same bytes (`--check` verifies that). Do not edit these files by hand; change the script.",
    "",
    "Synthetic sets: the noise-free curve at the true parameters plus independent Gaussian noise of",
    "standard deviation σ. Noise: mulberry32 uniforms seeded per data set, turned into standard normals by",
    "Box–Muller (each pair of uniforms gives the cos and then the sin draw). Numbers are written with 6",
    "decimals. The fit specs in fixtures/specs/ start away from the true parameters; fitting should recover",
    "them within a few standard errors.",
    "",
  ];
  for (const set of SYNTHETIC) {
    const n = set.rows(normal(set.seed)).length;
    out.push(
      `## ${set.file} — ${set.title}`,
      "",
      `- Curve: ${set.formula}`,
      `- Inputs: ${set.design}`,
      `- True parameters: ${Object.entries(set.truth).map(([k, v]) => `${k} = ${v}`).join(", ")}`,
      `- Noise: Gaussian, σ = ${set.sigma}; seed ${set.seed}`,
      `- Columns (${n} rows): ${set.columns.map((c) => `\`${c.name}\` — ${c.doc}`).join("; ")}`,
      `- Fitted by: ${set.specs}`,
    );
    if (set.note) out.push(`- Note: ${set.note}`);
    out.push("");
  }
  out.push(
    "## nino12.csv — Niño 1+2 sea surface temperature, 1950–2010 (NOAA, public domain)",
    "",
    "Copied byte for byte from `../shared/data/enso/nino12_sst_1950_2010.csv`; provenance in",
    "[nino12.README.md](nino12.README.md). The script copies it when that file is present and otherwise",
    "uses the copy here.",
    "",
    "## nino12_anomalies.csv — Niño 1+2 SST anomalies (derived from nino12.csv)",
    "",
    `- Anomaly = SST minus the mean SST of the same calendar month over ${CLIMATOLOGY_YEARS[0]}–` +
      `${CLIMATOLOGY_YEARS[1]} (the training years of \`nino12_ar1_kalman.json\`, whose split is year < ` +
      `${CLIMATOLOGY_YEARS[1] + 1}; the test years ${CLIMATOLOGY_YEARS[1] + 1}–2010 do not enter the means).`,
    "- Columns (732 rows): `year`; `month` (1–12); `t` = year + (month − 1)/12 (4 decimals); `sst` — the raw",
    "  monthly mean SST in °C, as in nino12.csv; `anomaly` — °C, exact with 4 decimals (the means are",
    "  multiples of 0.0002).",
    "- Fitted by: `nino12_ar1_kalman.json` (AR(1) + noise state-space model, Kalman-filter log-likelihood).",
    "",
  );
  return out.join("\n");
}

/** fixtures/data/nino12.README.md. */
export function ninoReadme(): string {
  return [
    "# nino12.csv — provenance",
    "",
    "Columns `year,month,sst_c`: monthly mean sea surface temperature (°C) of the Niño 1+2 region",
    "(0–10°S, 90–80°W), January 1950 – December 2010, 732 months, no gaps. Absolute temperatures, not",
    "anomalies.",
    "",
    "- Original: NOAA National Weather Service, Climate Prediction Center indices, ERSST v3b.",
    '- Terms: public domain (US government work). The source below states: "This data is in the public',
    '  domain."',
    "- Taken from: the `elnino` data set shipped in the statsmodels Python package (Debian package",
    "  `python3-statsmodels` 0.13.5, file `statsmodels/datasets/elnino/elnino.csv`); the wide table (one row",
    "  per year, one column per month) was reshaped to one row per month, values unchanged.",
    "- Here: a byte-identical copy of the project's shared `data/enso/nino12_sst_1950_2010.csv` (whose",
    `  PROVENANCE.md says the above), made by \`${COMMAND}\`.`,
    "",
    "## Anomalies",
    "",
    "`nino12_anomalies.csv` is derived from this file by the same script: for each calendar month m, the",
    `mean SST of month m over ${CLIMATOLOGY_YEARS[0]}–${
      CLIMATOLOGY_YEARS[1]
    } is subtracted from every month m of`,
    `1950–2010. Only the training years (before ${
      CLIMATOLOGY_YEARS[1] + 1
    }) enter the means, so the held-out`,
    "years stay unseen. See README.md for its columns.",
    "",
  ].join("\n");
}

/** Every file the script writes, by name under fixtures/data/, given the Niño table's text. */
export function fixtureFiles(ninoText: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const set of SYNTHETIC) files.set(set.file, syntheticCsv(set));
  files.set("nino12.csv", ninoText);
  files.set("nino12_anomalies.csv", ninoAnomaliesCsv(ninoText));
  files.set("README.md", dataReadme());
  files.set("nino12.README.md", ninoReadme());
  return files;
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
  const check = args.includes("--check");
  const dataDir = new URL("../fixtures/data/", import.meta.url);
  const shared = await readIfExists(
    new URL("../../shared/data/enso/nino12_sst_1950_2010.csv", import.meta.url),
  );
  const bundled = await readIfExists(new URL("nino12.csv", dataDir));
  if (shared !== undefined && bundled !== undefined && shared !== bundled) {
    console.error("note: fixtures/data/nino12.csv differs from ../shared/data/enso/nino12_sst_1950_2010.csv");
  }
  const ninoText = shared ?? bundled;
  if (ninoText === undefined) {
    console.error(
      "error: neither ../shared/data/enso/nino12_sst_1950_2010.csv nor fixtures/data/nino12.csv exists",
    );
    return 1;
  }
  const files = fixtureFiles(ninoText);
  if (check) {
    let stale = 0;
    for (const [name, text] of files) {
      if (await readIfExists(new URL(name, dataDir)) !== text) {
        console.error(`fixtures/data/${name} is not what ${COMMAND} writes`);
        stale++;
      }
    }
    if (!stale) console.error(`fixtures/data: all ${files.size} files up to date`);
    return stale ? 1 : 0;
  }
  await Deno.mkdir(dataDir, { recursive: true });
  for (const [name, text] of files) {
    await Deno.writeTextFile(new URL(name, dataDir), text);
    console.error(`wrote fixtures/data/${name}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
