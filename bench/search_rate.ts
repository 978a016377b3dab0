/**
 * Calibrated candidates per minute of `deno task search` with the offline proposer, on the
 * bundled symbolic-regression spec and on the battery search, with the worker pool at its
 * default size (the number of cores). A candidate is "calibrated" when it reached the quick fit
 * (accepted, or rejected at the quick or full stage); duplicates and static rejections are
 * counted apart. Prints the rate beside the goal of issue 10 (≥ 120/min on the SR spec).
 *
 *   deno run -A --v8-flags=--stack-size=4000 bench/search_rate.ts [--evaluations N] [--minutes M]
 *        [--battery-data DIR] [--battery-minutes M]
 */
import { parseArgs } from "node:util";
import { loadSearchSpec } from "../lib/search/spec.ts";
import { runSearch } from "../lib/search/search.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    evaluations: { type: "string", default: "1000" },
    minutes: { type: "string", default: "3" },
    "battery-data": { type: "string", default: "../shared/data/battery/hkust" },
    "battery-minutes": { type: "string", default: "3" },
  },
});
const root = new URL("../", import.meta.url).pathname;
const workers = navigator.hardwareConcurrency ?? 2;

async function measure(spec: string, o: { evaluations: number; minutes: number; data?: string }) {
  const out = await Deno.makeTempDir({ prefix: "dmci-search-rate-" });
  const t0 = performance.now();
  const r = await runSearch(await loadSearchSpec(root + spec), {
    out,
    evaluations: o.evaluations,
    minutes: o.minutes,
    workers,
    data: o.data,
    signals: false,
    plots: false,
  });
  const seconds = (performance.now() - t0) / 1000;
  const records = [...r.records.values()];
  const calibrated = records.filter((h) => ["accepted", "quick", "full"].includes(h.stage)).length;
  await Deno.remove(out, { recursive: true });
  return {
    spec,
    seconds,
    records: records.length,
    calibrated,
    perMinute: (calibrated / seconds) * 60,
    best: r.state.db.best()?.score ?? null,
  };
}

const rows = [
  await measure("fixtures/specs/pendulum-search.json", {
    evaluations: Number(values.evaluations),
    minutes: Number(values.minutes),
  }),
];
try {
  await Deno.stat(values["battery-data"]);
  rows.push(
    await measure("fixtures/specs/battery-search.json", {
      evaluations: 100000,
      minutes: Number(values["battery-minutes"]),
      data: values["battery-data"],
    }),
  );
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
  console.log(`(battery: ${values["battery-data"]} is absent on this machine; skipped)`);
}
console.log(`workers: ${workers}`);
console.log(
  "spec                                  seconds  records  calibrated  per minute  goal  ratio  best score",
);
for (const r of rows) {
  const goal = r.spec.includes("pendulum") ? 120 : null;
  console.log(
    `${r.spec.padEnd(38)}${r.seconds.toFixed(1).padStart(7)}${String(r.records).padStart(9)}${
      String(r.calibrated).padStart(12)
    }` +
      `${r.perMinute.toFixed(0).padStart(12)}${(goal ? String(goal) : "—").padStart(6)}${
        (goal ? (r.perMinute / goal).toFixed(2) : "—").padStart(7)
      }  ${r.best}`,
  );
}
