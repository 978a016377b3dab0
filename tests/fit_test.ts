// Fitting specs: parameters recovered on synthetic data made with known values, the
// results' shape, and the one-line errors of the `fit` command.
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { loadSpec } from "../lib/fit/spec.ts";
import { fitSpec } from "../lib/fit/fit.ts";
import { SYNTHETIC } from "../scripts/make_fixtures.ts";
import { runCli } from "./helpers/cli.ts";

const SPECS = new URL("../fixtures/specs/", import.meta.url).pathname;

async function specsFor(csv: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(SPECS)) {
    // Search specs (`*-search.json`, deno task search) are fit specs plus a search block.
    if (!e.name.endsWith(".json") || e.name.endsWith("-search.json")) continue;
    const { spec } = await loadSpec(join(SPECS, e.name));
    if (spec.data.csv && basename(spec.data.csv) === csv) out.push(join(SPECS, e.name));
  }
  return out.sort();
}

for (const set of SYNTHETIC) {
  Deno.test(`fit recovers the true parameters of ${set.file} within 3 standard errors`, async () => {
    const specs = await specsFor(set.file);
    assert.ok(specs.length > 0, `no spec fits ${set.file}`);
    for (const path of specs) {
      const r = await fitSpec(await loadSpec(path), { plot: false });
      assert.ok(r.standard_errors.available, `${path}: no standard errors (${r.standard_errors.note})`);
      for (const p of r.params) {
        if (p.fixed) continue;
        const truth = p.role === "noise" ? set.sigma : set.truth[p.name];
        assert.ok(truth !== undefined, `${path}: no true value for ${p.name}`);
        assert.ok(p.se !== null && p.se > 0, `${path}: ${p.name} has no standard error`);
        const z = Math.abs(p.value - truth) / p.se!;
        assert.ok(
          z <= 3,
          `${path}: ${p.name} = ${p.value} ± ${p.se}, truth ${truth} (${z.toFixed(2)} SE away)`,
        );
      }
    }
  });
}

Deno.test("direct and interpreted fits agree on the exponential decay spec", async () => {
  const loaded = await loadSpec(join(SPECS, "exponential_decay.json"));
  const a = await fitSpec(loaded, { plot: false, mode: "interpreted" });
  const b = await fitSpec(loaded, { plot: false, mode: "direct" });
  a.params.forEach((p, i) =>
    assert.ok(Math.abs(p.value - b.params[i].value) <= 1e-9 * Math.max(1, Math.abs(p.value)))
  );
});

Deno.test("fit results carry names, train/test metrics, the trace, timing and the plot", async () => {
  const r = await fitSpec(await loadSpec(join(SPECS, "exponential_decay.json")));
  assert.deepEqual(r.params.map((p) => p.name), ["A", "k", "c"]);
  assert.equal(r.train.rows + (r.test?.rows ?? 0), r.data.rows);
  assert.ok(r.test && r.test.rmse !== null && r.train.r2! > 0.9);
  assert.ok(r.optimizer.trace.length > 0 && r.optimizer.restarts[0].converged);
  assert.ok(r.timing.seconds_total > 0);
  assert.ok(r.svg?.startsWith("<svg") && r.svg.includes("exponential_decay"));
});

Deno.test("restarts: every start is reported and the best one is kept", async () => {
  const loaded = await loadSpec(join(SPECS, "logistic_growth.json"));
  loaded.spec.optimizer.restarts = 3;
  const r = await fitSpec(loaded, { plot: false });
  assert.equal(r.optimizer.restarts.length, 3);
  const best = Math.min(...r.optimizer.restarts.map((x) => x.loss));
  assert.equal(r.optimizer.restarts[r.optimizer.best_restart].loss, best);
});

/** Runs `cli.ts fit …` in a subprocess. */
const fitCli = (args: string[], cwd?: string) => runCli(["fit", ...args], cwd);

/** Writes a spec (and files) into a temp dir and returns the spec path. */
async function tempSpec(spec: unknown, files: Record<string, string> = {}): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
  const path = join(dir, "spec.json");
  await Deno.writeTextFile(path, typeof spec === "string" ? spec : JSON.stringify(spec, null, 2));
  return path;
}

const GOOD_CSV = "t,y\n0,1\n1,0.6\n2,0.37\n3,0.22\n4,0.14\n";
const base = {
  name: "t",
  program: "m.scm",
  inputs: { t: "t" },
  target: "y",
  data: { csv: "d.csv" },
  backend: "f64",
};

/** Asserts a failing fit prints exactly one error line naming `where` and exits non-zero. */
function assertOneLineError(r: { code: number; stderr: string }, kind: string, where: RegExp): void {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("Task "));
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], new RegExp(`^${kind} error`));
  assert.match(lines[0], where);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
}

Deno.test("fit: a bad spec is one spec error naming the JSON path", async () => {
  const path = await tempSpec({ ...base, optimizer: { steps: -3 } }, {
    "m.scm": "(define k 0.5) (exp (- (* k t)))",
    "d.csv": GOOD_CSV,
  });
  assertOneLineError(await fitCli([path, "--out", await Deno.makeTempDir()]), "spec", /\$\.optimizer\.steps/);
});

Deno.test("fit: a bad CSV cell is one data error naming file, row and column", async () => {
  const path = await tempSpec(base, {
    "m.scm": "(define k 0.5) (exp (- (* k t)))",
    "d.csv": "t,y\n0,1\n1,abc\n",
  });
  assertOneLineError(await fitCli([path, "--out", await Deno.makeTempDir()]), "data", /d\.csv:3.*"y"/);
});

Deno.test("fit: an unknown column is one data error naming the column", async () => {
  const path = await tempSpec({ ...base, inputs: { t: "time" } }, {
    "m.scm": "(define k 0.5) (exp (- (* k t)))",
    "d.csv": GOOD_CSV,
  });
  assertOneLineError(await fitCli([path, "--out", await Deno.makeTempDir()]), "data", /"time"/);
});

Deno.test("fit: a program that loops forever is one limit error at its position", async () => {
  const path = await tempSpec(base, {
    "m.scm": "(define k 0.5)\n(define (spin n) (spin (+ n 1)))\n(spin 0)",
    "d.csv": GOOD_CSV,
  });
  assertOneLineError(await fitCli([path, "--out", await Deno.makeTempDir()]), "limit", /m\.scm:\d+:\d+/);
});

Deno.test("fit: a program whose loss is NaN is one error naming the program", async () => {
  const path = await tempSpec(base, { "m.scm": "(define k 0.5) (* k (sqrt (- t 10)))", "d.csv": GOOD_CSV });
  assertOneLineError(await fitCli([path, "--out", await Deno.makeTempDir()]), "type", /m\.scm:1:1.*NaN/);
});

Deno.test("fit with no spec fits the bundled default and writes JSON and SVG", async () => {
  const out = await Deno.makeTempDir();
  const r = await fitCli(["--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^A\s+2\.5/m);
  const json = JSON.parse(await Deno.readTextFile(join(out, "exponential_decay.json")));
  assert.equal(json.params[0].name, "A");
  assert.match(await Deno.readTextFile(join(out, "exponential_decay.svg")), /^<svg/);
});

Deno.test("restarts on tfjs run batched (parameters [restarts, 1]) and agree with f64", async () => {
  const loaded = await loadSpec(join(SPECS, "exponential_decay.json"));
  loaded.spec.optimizer.restarts = 3;
  const r = await fitSpec(loaded, { plot: false, backend: "tfjs" });
  assert.ok(!r.optimizer.warnings.some((w) => w.includes("one at a time")), r.optimizer.warnings.join("\n"));
  assert.equal(r.optimizer.restarts.length, 3);
  const f = await fitSpec(await loadSpec(join(SPECS, "exponential_decay.json")), { plot: false });
  r.params.forEach((p, i) =>
    assert.ok(Math.abs(p.value - f.params[i].value) <= 1e-3 * Math.max(1, Math.abs(p.value)))
  );
});

Deno.test("a program that cannot batch its restarts falls back to one at a time, and says so", async () => {
  const loaded = await loadSpec(join(SPECS, "exponential_decay.json"));
  loaded.spec.optimizer.restarts = 2;
  loaded.programText = "(define A 1.0) (define k 0.2) (define c 0.0) (if (> k c) (* A (exp (- (* k t)))) t)";
  const r = await fitSpec(loaded, { plot: false, backend: "tfjs" });
  assert.ok(r.optimizer.warnings.some((w) => w.includes("one at a time")), r.optimizer.warnings.join("\n"));
  assert.ok(Math.abs(r.params[0].value - 2.5) < 0.1);
});
