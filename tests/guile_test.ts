/**
 * Agreement with an outside Scheme: every R7RS program in fixtures/r7rs/ runs in dmci (f64
 * backend; on tfjs, those with decimal literals, the literals as tfjs tensors) and in GNU Guile
 * 3.0 (tests/helpers/guile.ts), and the values must agree: within 1e-12 on f64 (relative,
 * absolute below 1) and 1e-5 on tfjs.
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { loadProgram, runProgram } from "../lib/program.ts";
import { compareWritten, type GuileOutcome, parseWritten, runInGuile } from "./helpers/guile.ts";

const DIR = new URL("../fixtures/r7rs/", import.meta.url);
const FILES = [...Deno.readDirSync(DIR)].filter((e) => e.isFile && e.name.endsWith(".scm")).map((e) => e.name)
  .sort();
const PATHS = FILES.map((f) => new URL(f, DIR).pathname);

/** All programs run in one Guile process, once, on first use. */
let guileRun: Promise<GuileOutcome[]> | undefined;
async function guileValue(name: string): Promise<string> {
  guileRun ??= runInGuile(PATHS);
  const outcome = (await guileRun)[FILES.indexOf(name)];
  if (!outcome.ok) throw new Error(`${name} failed in Guile: ${outcome.error}`);
  return outcome.value;
}

function dmciValue(name: string, backend: Backend): string {
  const file = new URL(name, DIR).pathname;
  return runProgram(loadProgram(Deno.readTextFileSync(file), file, { model: false }), backend);
}

Deno.test("the written-value comparison reads both sides' number syntax and rejects real differences", () => {
  assert.equal(compareWritten('(0.5 3 1e+21 -0 a "s")', '(1/2 3.0 1.0e21 0 a "s")', 1e-12), undefined);
  assert.equal(
    compareWritten("(+nan.0 +inf.0 #<procedure f>)", "(+nan.0 +inf.0 #<procedure 7f12 (x)>)", 1e-12),
    undefined,
  );
  assert.equal(compareWritten("1.5511210043330986e+25", "15511210043330985984000000", 1e-12), undefined);
  assert.equal(compareWritten("(a b c)", "(a #{b}# c)", 1e-12), undefined);
  assert.match(compareWritten("(1 (2 . 3))", "(1 (2 . 4))", 1e-12)!, /\[1\]\.tail: 3 vs 4/);
  assert.match(compareWritten("(1 2)", "(1 2 3)", 1e-12)!, /lengths 2 and 3/);
  assert.match(compareWritten("+nan.0", "0.0+1.0i", 1e-12)!, /top/);
  assert.match(compareWritten('"1"', "1", 1e-12)!, /top/);
  assert.match(compareWritten("0.5", "0.5000000000011", 1e-12)!, /difference/);
  assert.deepEqual(parseWritten('"a\\nb\\x41;"'), { type: "string", value: "a\nbA" });
});

Deno.test("there are at least 40 R7RS programs to compare", () => {
  assert.ok(FILES.length >= 40, `only ${FILES.length} programs in fixtures/r7rs/`);
});

for (const name of FILES) {
  Deno.test(`r7rs/${name}: dmci on f64 gives Guile's value within 1e-12`, async () => {
    const guile = await guileValue(name);
    const dmci = dmciValue(name, f64Backend);
    const diff = compareWritten(dmci, guile, 1e-12);
    assert.equal(diff, undefined, `dmci ${dmci}\nguile ${guile}\n${diff}`);
  });
}

/**
 * Programs whose decimal literals cannot be float32 tensors and still give Guile's value: they
 * test float64 edge cases (2^53 + 1, denormals, exactness of float64 sums), or iterate until a
 * difference falls below a tolerance (1e-13, 1e-15) that float32 cannot resolve, so never stop.
 */
const FLOAT64_ONLY = new Set([
  "exactness.scm",
  "float-edge.scm",
  "float-extremes.scm",
  "float-sums.scm",
  "newton-sqrt.scm",
  "root-finding.scm",
  "tail-loops.scm",
]);

Deno.test("r7rs programs on tfjs with their decimal literals as tfjs tensors give Guile's value within 1e-5", async () => {
  // Each decimal literal enters as a rank-0 tfjs tensor, so every operation that touches one is a
  // float32 tfjs kernel (with plain numbers tfjs would compute nothing: they stay JS numbers).
  let compared = 0, float32Visible = 0;
  for (const name of FILES) {
    const file = new URL(name, DIR).pathname;
    const prog = loadProgram(Deno.readTextFileSync(file), file);
    if (prog.params.length === 0 || FLOAT64_ONLY.has(name)) continue;
    const theta = prog.theta0.map((x) => ({ shape: [], data: new Float64Array([x]) }));
    const onTfjs = runProgram(prog, tfjsBackend, { theta, limits: { fuel: 1_000_000 } });
    const diff = compareWritten(onTfjs, await guileValue(name), 1e-5);
    assert.equal(diff, undefined, `${name}: ${diff}`);
    compared++;
    if (onTfjs !== runProgram(prog, f64Backend)) float32Visible++;
  }
  assert.ok(compared >= 20, `only ${compared} programs with parameters compared`);
  // tfjs really did the arithmetic: float32 rounding shows in the written values of many.
  assert.ok(float32Visible >= 8, `float32 rounding visible in only ${float32Visible} programs`);
});
