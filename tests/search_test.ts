/**
 * Tests of the search's parts: the search spec (fit spec errors, with line:col, in the search
 * block too), the task material (the spec's test rows and bench battery's test cells never enter
 * it; the validation rows are the last of the training rows), the cascade's stages and its
 * constants (fitted values against a closed-form least-squares fit, standard errors against
 * statsmodels-style OLS formulas, validation gradients against central differences), shapes and
 * warm starts, and the database (grid, dedupe, migration, Pareto front).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DmciError } from "../lib/errors.ts";
import { read } from "../lib/read/reader.ts";
import { loadSearchSpec } from "../lib/search/spec.ts";
import { makeTask, taskMaterial } from "../lib/search/tasks/mod.ts";
import { evaluateCandidate } from "../lib/search/cascade.ts";
import { constantContexts, distinctPrimitives, shapeKey, warmStart } from "../lib/search/shape.ts";
import { Database, type Entry } from "../lib/search/database.ts";
import { fitRoles } from "../lib/search/tasks/fit.ts";
import { loadCellSet } from "../lib/domains/battery/cells.ts";
import { cellMetrics, normalise, splitCells } from "../lib/domains/battery/protocol.ts";
import { parseModel } from "../lib/domains/battery/model.ts";
import { predictCells } from "../lib/domains/battery/fit.ts";
import { batteryConstants, leaveOneCellOutFolds } from "../lib/search/tasks/battery.ts";
import { createF64Backend } from "../lib/backend/f64/mod.ts";
import { runtimeFor } from "../lib/program.ts";
import { lineSearchSpec } from "./helpers/line_search.ts";

const root = new URL("../", import.meta.url).pathname;

async function writeSpec(spec: unknown): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dmci-search-spec-" });
  const path = join(dir, "spec.json");
  await Deno.writeTextFile(path, typeof spec === "string" ? spec : JSON.stringify(spec, null, 2));
  return path;
}

// y = 2 + 3x + wiggle, 20 rows; the last 4 are test rows
const LINE = lineSearchSpec("line", 20, { validation: 0.25, restarts: 2 });

Deno.test("search spec: a fit spec's errors, with line:col, in the search block too", async () => {
  const bad = await writeSpec(JSON.stringify({ ...LINE, search: { ...LINE.search, islands: 0 } }, null, 2));
  await assert.rejects(loadSearchSpec(bad), (e: unknown) => {
    assert.ok(e instanceof DmciError && e.kind === "spec");
    assert.match(e.message, /\$\.search\.islands: expected a positive integer, got 0/);
    assert.ok(e.span && e.span.line > 1);
    return true;
  });
  const noData = await writeSpec({ ...LINE, data: undefined });
  await assert.rejects(loadSearchSpec(noData), /\$\.data: missing/);
  const unknownKey = await writeSpec({ ...LINE, search: { ...LINE.search, isles: 2 } });
  await assert.rejects(loadSearchSpec(unknownKey), /unknown key "isles"/);
  const prim = await writeSpec({ ...LINE, search: { ...LINE.search, primitives: ["frobnicate"] } });
  await assert.rejects(loadSearchSpec(prim), /unknown primitive "frobnicate"/);
  const ok = await loadSearchSpec(await writeSpec(LINE));
  assert.equal(ok.spec.search.islands, 2);
  assert.equal(ok.seeds[0].text, "(+ 1.0 (* 1.0 x))");
});

Deno.test("fit task: the test rows never enter the material; validation is the last 25% of training rows", async () => {
  const s = await loadSearchSpec(await writeSpec(LINE));
  const m = await taskMaterial(s);
  assert.equal(m.kind, "fit");
  if (m.kind !== "fit") return;
  assert.equal(m.columns.x.length, 16, "16 training rows of 20");
  assert.deepEqual(m.columns.x, LINE.data.columns.x.slice(0, 16));
  const roles = fitRoles(m);
  assert.deepEqual(roles.fit, Array.from({ length: 12 }, (_, i) => i));
  assert.deepEqual(roles.validation, [12, 13, 14, 15]);
});

Deno.test("cascade: constants against the closed-form least-squares line, standard errors against OLS, gradients against differences", async () => {
  const s = await loadSearchSpec(await writeSpec(LINE));
  const m = await taskMaterial(s);
  const task = await makeTask(m);
  const out = evaluateCandidate(task, { id: "1", text: "(+ 1.0 (* 1.0 x))", parent: null, quickBar: null });
  assert.ok(out.ok);
  if (!out.ok || m.kind !== "fit") return;
  // OLS on the 12 fit rows, by hand.
  const x = m.columns.x.slice(0, 12), y = m.columns.y.slice(0, 12), n = 12;
  const mx = x.reduce((a, b) => a + b) / n, my = y.reduce((a, b) => a + b) / n;
  const sxx = x.reduce((a, v) => a + (v - mx) ** 2, 0);
  const b = x.reduce((a, v, i) => a + (v - mx) * (y[i] - my), 0) / sxx, a = my - b * mx;
  const sse = x.reduce((acc, v, i) => acc + (y[i] - a - b * v) ** 2, 0);
  const s2 = sse / (n - 2);
  const seB = Math.sqrt(s2 / sxx), seA = Math.sqrt(s2 * (1 / n + (mx * mx) / sxx));
  const [ca, cb] = out.constants;
  assert.ok(
    Math.abs(ca.value - a) < 1e-6 && Math.abs(cb.value - b) < 1e-6,
    `${ca.value} ${cb.value} vs ${a} ${b}`,
  );
  assert.ok(
    Math.abs(ca.se! / seA - 1) < 1e-3 && Math.abs(cb.se! / seB - 1) < 1e-3,
    `${ca.se} ${cb.se} vs ${seA} ${seB}`,
  );
  // d(validation mse)/dθ by central differences of the closed form.
  const xv = m.columns.x.slice(12), yv = m.columns.y.slice(12);
  const mse = (pa: number, pb: number) =>
    xv.reduce((acc, v, i) => acc + (yv[i] - pa - pb * v) ** 2, 0) / xv.length;
  const h = 1e-6;
  const ga = (mse(ca.value + h, cb.value) - mse(ca.value - h, cb.value)) / (2 * h);
  const gb = (mse(ca.value, cb.value + h) - mse(ca.value, cb.value - h)) / (2 * h);
  assert.ok(
    Math.abs(ca.validationGrad! - ga) < 1e-5 * Math.max(1, Math.abs(ga)),
    `${ca.validationGrad} vs ${ga}`,
  );
  assert.ok(
    Math.abs(cb.validationGrad! - gb) < 1e-5 * Math.max(1, Math.abs(gb)),
    `${cb.validationGrad} vs ${gb}`,
  );
  assert.match(out.fittedText, new RegExp(`^\\(\\+ ${ca.value.toString().slice(0, 8)}`));
  // Rejections name their stage.
  const stages = ["(+ 1.0 (* x", "(+ 1.0 (sin x))", "(+ 1.0 (* 1.0 (exp (* 1000.0 (exp x)))))"].map((
    text,
    i,
  ) => evaluateCandidate(task, { id: `${i + 2}`, text, parent: null, quickBar: null }));
  assert.deepEqual(stages.map((o) => (o.ok ? "ok" : o.stage)), ["read", "static", "quick"]);
  assert.ok(!stages[1].ok && /sin is a primitive not allowed/.test(stages[1].message));
  const barred = evaluateCandidate(task, {
    id: "9",
    text: "(+ 1.0 (* 0.0 (exp x)))",
    parent: null,
    quickBar: 1e-12,
  });
  assert.ok(!barred.ok && barred.stage === "quick" && /above the bar/.test(barred.message));
});

Deno.test("battery task: bench battery's test cells never enter the material", async () => {
  const dir = join(root, "fixtures/battery/synthetic");
  const s = await loadSearchSpec(
    await writeSpec({
      name: "b",
      search: { task: "battery", seeds: [join(root, "fixtures/battery/linear.scm")], battery: { data: dir } },
    }),
  );
  const m = await taskMaterial(s);
  assert.equal(m.kind, "battery");
  if (m.kind !== "battery") return;
  const set = await loadCellSet(dir);
  const split = splitCells(set.cells.map((c) => c.name), 0.3, 0);
  assert.deepEqual(m.cells.map((c) => c.name), split.train);
  assert.deepEqual(m.heldOut, split.test);
  assert.ok(split.test.every((name) => !m.cells.some((c) => c.name === name)));
});

Deno.test("battery task: a program scores the same wherever it stands in the search (restarts seeded by its shape)", async () => {
  const dir = join(root, "fixtures/battery/synthetic");
  const seed = join(root, "fixtures/battery/knee.scm"); // globals qk, b, s: a non-convex fit
  const s = await loadSearchSpec(
    await writeSpec({
      name: "b",
      search: { task: "battery", seeds: [seed], battery: { data: dir, restarts: 4, max_rounds: 25 } },
    }),
  );
  const task = await makeTask(await taskMaterial(s));
  const text = await Deno.readTextFile(seed);
  const at = (id: string) => {
    const o = evaluateCandidate(task, { id, text, parent: null, quickBar: null });
    assert.ok(o.ok, o.ok ? "" : o.message);
    return o;
  };
  const [a, b] = [at("17"), at("3")];
  assert.equal(a.score, b.score);
  assert.equal(a.fittedText, b.fittedText);
});

Deno.test("battery task: constants carry Hessian SEs (against pooled OLS) and the score's gradient (against central differences)", async () => {
  const set = await loadCellSet(join(root, "fixtures/battery/synthetic"));
  const cells = set.cells.slice(0, 3).map(normalise);
  const text = "; @param a positive global start 0.01 5\n(define q0 1.0)\n(define a 0.1)\n" +
    "(define u (/ cycle 1000))\n(- q0 (* a u))\n";
  const model = parseModel(text, "lin.scm", { compile: false });
  const B = createF64Backend();
  const s = { backend: B, runtime: runtimeFor(B), restarts: 2, seed: 0, maxRounds: 80 };
  const folds = leaveOneCellOutFolds(model, s, cells);
  // The pooled least-squares fit of y = q0 − a·u over every cell's curve, in closed form.
  const us = cells.flatMap((c) => Array.from(c.cycle, (x) => x / 1000)),
    ys = cells.flatMap((c) => Array.from(c.y));
  const n = us.length, su = us.reduce((a, b) => a + b, 0), suu = us.reduce((a, b) => a + b * b, 0);
  const sy = ys.reduce((a, b) => a + b, 0), suy = us.reduce((a, u, i) => a + u * ys[i], 0);
  const det = n * suu - su * su;
  const slope = (n * suy - su * sy) / det, q0 = (sy - slope * su) / n, a = -slope;
  const sse = us.reduce((acc, u, i) => acc + (ys[i] - (q0 - a * u)) ** 2, 0);
  const sigma2 = sse / (n - 2);
  const ols = [Math.sqrt(sigma2 * suu / det), Math.sqrt(sigma2 * n / det)]; // se(q0), se(a)
  const reports = batteryConstants(model, B, cells, folds, [q0, a], 1e8);
  assert.deepEqual(reports.map((r) => r.name), ["q0", "a"]);
  reports.forEach((r, j) => {
    assert.ok(Math.abs(r.se! - ols[j]) <= 1e-5 * ols[j], `se of ${r.name}: ${r.se} vs OLS ${ols[j]}`);
  });
  // The gradient of the score (mean over folds of the RMSE after the early window), fits held fixed.
  const score = (j: number, h: number) =>
    folds.reduce((acc, f, i) => {
      const theta = f.theta.map((t, k) => (k === j ? t + h : t));
      return acc + cellMetrics(cells[i], predictCells(model, s, [cells[i]], [theta])[0], f.rows).rmse!;
    }, 0) / folds.length;
  reports.forEach((r, j) => {
    const h = 1e-6;
    const fd = (score(j, h) - score(j, -h)) / (2 * h);
    assert.ok(
      Math.abs(r.validationGrad! - fd) <= 1e-5 * Math.abs(fd),
      `${r.name}: ${r.validationGrad} vs ${fd}`,
    );
  });

  // Through the task and the cascade: every constant of an accepted candidate has both.
  const spec = await writeSpec({
    name: "b",
    search: {
      task: "battery",
      seeds: [join(root, "fixtures/battery/linear.scm")],
      battery: { data: join(root, "fixtures/battery/synthetic"), restarts: 2, max_rounds: 40 },
    },
  });
  const task = await makeTask(await taskMaterial(await loadSearchSpec(spec)));
  const out = evaluateCandidate(task, { id: "1", text, parent: null, quickBar: null });
  assert.ok(out.ok, JSON.stringify(out));
  if (!out.ok) return;
  assert.equal(out.constants.length, 2);
  for (const c of out.constants) {
    assert.ok(c.se !== null && c.se > 0 && Number.isFinite(c.validationGrad), JSON.stringify(c));
  }
});

Deno.test("shapes: constants abstracted for dedupe; behaviour; warm start where the subtree is unchanged", () => {
  const f = (t: string) => read(t, "t.scm");
  assert.equal(shapeKey(f("(* 2.0 (exp x))")), shapeKey(f("(* 3.5 (exp x))")));
  assert.notEqual(shapeKey(f("(* 2.0 (exp x))")), shapeKey(f("(* 2 (exp x))")), "integers are not constants");
  assert.equal(distinctPrimitives(f("(* 2.0 (exp (* -1.0 x)))")), 2);
  assert.deepEqual(constantContexts(f("(define k 0.5) (* k 2.0)")), ["define k#1", "(* k #c)@2#1"]);
  // The child adds a term: the old term's constant keeps its fitted value; the new one its literal.
  const parent = f("(* 2.0 (exp x))");
  assert.deepEqual(warmStart(parent, [2.7], f("(+ (* 2.0 (exp x)) 0.5)")), [2.7, 0.5]);
  // The subtree changed (exp → sqrt): no warm value.
  assert.deepEqual(warmStart(parent, [2.7], f("(* 2.0 (sqrt x))")), [2.0]);
});

function entry(id: number, complexity: number, score: number, behaviour = 1): Entry {
  return {
    id: `${id}`,
    n: id,
    text: `#${id}`,
    fittedText: `#${id}`,
    score,
    complexity,
    behaviour,
    constants: [],
    rejection: null,
  };
}

Deno.test("database: one elite per cell, dedupe by shape, migration along the ring, the Pareto front", () => {
  const db = new Database({ islands: 2, complexityBins: 4, behaviourBins: 3, maxComplexity: 39 });
  assert.equal(db.add(entry(1, 5, 0.5), 0), true);
  assert.equal(db.add(entry(2, 6, 0.7), 0), false, "same cell, worse");
  assert.equal(db.add(entry(3, 7, 0.2), 0), true, "same cell, better");
  assert.equal(db.add(entry(4, 35, 0.1, 2), 0), true);
  assert.deepEqual(db.elites(0).map((e) => e.id), ["3", "4"]);
  assert.deepEqual(db.elites(1), []);
  db.migrate();
  assert.deepEqual(db.elites(1).map((e) => e.id), ["4"], "island 0's best moved to island 1");
  db.noteShape("k", "3");
  assert.equal(db.firstOfShape("k"), "3");
  assert.equal(db.firstOfShape("other"), null);
  db.add(entry(5, 20, 0.15), 1);
  // The front: each program better than every simpler one.
  assert.deepEqual(db.pareto().map((e) => e.id), ["1", "3", "5", "4"]);
  assert.equal(db.best()!.id, "4");
  const again = Database.restore(db.shape, JSON.parse(JSON.stringify(db.snapshot())));
  assert.deepEqual(again.snapshot(), db.snapshot());
  const s1 = db.sample(0, () => 0.1)!;
  assert.equal(s1.parent.id, "4", "elitism: the island's best");
});

Deno.test("program task: the score is the program's own loss on the validation rows at the fitted constant", async () => {
  const x = Array.from({ length: 20 }, (_, i) => 1 + i / 5),
    y = x.map((v, i) => 0.7 * v + 0.02 * Math.cos(5 * i));
  const s = await loadSearchSpec(
    await writeSpec({
      name: "own-loss",
      inputs: { x: "x", y: "y" },
      loss: { kind: "program", returns: "loss" },
      data: { columns: { x, y } },
      backend: "f64",
      search: {
        task: "program",
        seeds: [{ text: "(mean (square (- y (* 1.0 x))))" }],
        primitives: ["mean", "square", "-", "*"],
      },
    }),
  );
  const task = await makeTask(await taskMaterial(s));
  const out = evaluateCandidate(task, {
    id: "1",
    text: "(mean (square (- y (* 1.0 x))))",
    parent: null,
    quickBar: null,
  });
  assert.ok(out.ok, out.ok ? "" : out.message);
  if (!out.ok) return;
  // Least squares through the origin on the 15 fit rows; the loss on the last 5.
  const a = x.slice(0, 15).reduce((acc, v, i) => acc + v * y[i], 0) /
    x.slice(0, 15).reduce((acc, v) => acc + v * v, 0);
  const loss = x.slice(15).reduce((acc, v, i) => acc + (y[15 + i] - a * v) ** 2, 0) / 5;
  assert.ok(Math.abs(out.constants[0].value - a) < 1e-7, `${out.constants[0].value} vs ${a}`);
  assert.ok(Math.abs(out.score - loss) < 1e-9 * Math.max(1, loss) + 1e-12, `${out.score} vs ${loss}`);
  assert.equal(out.constants[0].se, null, "a loss that is not a likelihood implies no standard errors");
});

Deno.test("the pendulum search data are what scripts/make_pendulum_data.ts makes", async () => {
  const { pendulumCsv } = await import("../scripts/make_pendulum_data.ts");
  assert.equal(await Deno.readTextFile(join(root, "fixtures/search/pendulum.csv")), pendulumCsv());
});
