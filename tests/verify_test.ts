/**
 * Tests of the verification suite (lib/verify.ts, lib/verify_command.ts) and of its
 * fixtures (fixtures/programs): the fixtures cover every special form and primitive, every
 * fixture verifies on f64 and tfjs, the JSON document has DESIGN §5's shape, and a wrong
 * gradient, a wrong value or an erroring program fails instead of passing or crashing.
 *
 * Direct and interpreted runs share the host's primitive procedures, so their agreement cannot
 * catch a primitive bug; the central-difference check can (for gradients), and values of
 * primitives are checked against GNU Guile (tests/guile_test.ts) and per primitive
 * (tests/primitives_*_test.ts).
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import { SPECIAL_FORMS } from "../lib/expand/expander.ts";
import { PRIMITIVES } from "../lib/primitives.ts";
import { loadProgram, valueAndGrad } from "../lib/program.ts";
import type { Datum } from "../lib/read/datum.ts";
import { read } from "../lib/read/reader.ts";
import {
  collectPrograms,
  declaredInputs,
  type Executor,
  finiteDifferenceError,
  interpTolerance,
  perturbedTheta,
  relativeDiff,
  TOLERANCES,
  type VerifyPair,
  verifyPaths,
  verifyProgram,
} from "../lib/verify.ts";
import { verifyCommand } from "../lib/verify_command.ts";

const FIXTURES = new URL("../fixtures/programs", import.meta.url).pathname;

/** The fixture files and their texts. */
async function fixtures(): Promise<{ file: string; text: string }[]> {
  const files = await collectPrograms([FIXTURES]);
  return await Promise.all(files.map(async (file) => ({ file, text: await Deno.readTextFile(file) })));
}

/** A temp folder holding the given files; removed after `body`. */
async function withFiles(files: Record<string, string>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dmci_verify_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      const path = `${dir}/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, text);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs verifyCommand with stdout and stderr captured. */
async function runCommand(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...xs: unknown[]) => out.push(xs.join(" "));
  console.error = (...xs: unknown[]) => err.push(xs.join(" "));
  try {
    const code = await verifyCommand(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Failing pairs, shown in an assertion message. */
function failures(pairs: readonly VerifyPair[]): string {
  return pairs.filter((p) => !p.ok).map((p) => JSON.stringify(p)).join("\n");
}

const GOOD = `; good: a smooth function of two parameters
(define a 0.5)
(define (f x) (* a (exp x)))
(+ (f 1.25) (square a))
`;

// ---------------------------------------------------------------------------------------------
// The fixtures

Deno.test("there are at least 60 fixtures and each opens with a comment saying what it exercises", async () => {
  const all = await fixtures();
  assert.ok(all.length >= 60, `only ${all.length} fixtures`);
  for (const { file, text } of all) assert.match(text, /^;[^\n]*\w/, `${file} must start with a comment`);
});

Deno.test("the fixtures together use every special form and every primitive outside quoted data", async () => {
  const used = new Set<string>();
  const features = new Set<string>();
  const walk = (d: Datum): void => {
    if (d.type === "symbol") used.add(d.name);
    if (d.type !== "list") return;
    const [head, second] = d.items;
    if (head?.type === "symbol") {
      if (head.name === "quote") {
        used.add("quote"); // quoted data itself does not count as use
        const decimals = (x: Datum): boolean =>
          x.type === "number"
            ? x.decimal
            : x.type === "list" && (x.items.some(decimals) || (!!x.tail && decimals(x.tail)));
        if (d.items[1] && decimals(d.items[1])) features.add("quoted parameters");
        return;
      }
      if (head.name === "let" && second?.type === "symbol") features.add("named let");
      if (head.name === "lambda" && second?.type === "symbol") features.add("symbol formals");
      if ((head.name === "lambda" || head.name === "define") && second?.type === "list" && second.tail) {
        features.add("dotted formals");
      }
      if (
        head.name === "cond" &&
        d.items.some((c) => c.type === "list" && c.items[1]?.type === "symbol" && c.items[1].name === "=>")
      ) {
        features.add("cond =>");
      }
      for (const form of ["cond", "case"]) {
        if (
          head.name === form &&
          d.items.some((c) =>
            c.type === "list" && c.items[0]?.type === "symbol" && c.items[0].name === "else"
          )
        ) {
          features.add(`${form} else`);
        }
      }
    }
    d.items.forEach(walk);
    if (d.tail) walk(d.tail);
  };
  for (const { file, text } of await fixtures()) read(text, file).forEach(walk);
  const missing = [...SPECIAL_FORMS, ...PRIMITIVES.map((p) => p.name)].filter((n) => !used.has(n));
  assert.deepEqual(missing, [], `not used by any fixture: ${missing.join(" ")}`);
  const wanted = [
    "named let",
    "symbol formals",
    "dotted formals",
    "cond =>",
    "cond else",
    "case else",
    "quoted parameters",
  ];
  assert.deepEqual(wanted.filter((f) => !features.has(f)), []);
});

// The acceptance run itself (seeds 0–4, ≥ 300 pairs per backend): a few seconds, so CI runs all of it.
for (const name of ["f64", "tfjs"] as const) {
  Deno.test(`every fixture verifies on ${name} at seeds 0-4, directly and through the evaluator`, async () => {
    const backend = name === "f64" ? f64Backend : tfjsBackend;
    const report = await verifyPaths([FIXTURES], { backend, f64: f64Backend, seeds: 5 });
    assert.ok(report.summary.pairs >= 300, `only ${report.summary.pairs} pairs`);
    assert.equal(report.summary.failed, 0, failures(report.pairs));
  });
}

Deno.test("@input lines: a number binds a scalar, several a tensor whose predictions are summed; errors located", () => {
  const model = "; a model of a data column\n; @input t 1 2 4\n(define k 0.5)\n(* 2.0 (exp (* k t)))\n";
  assert.deepEqual(declaredInputs(model, "m.scm"), { t: [1, 2, 4] });
  assert.deepEqual(declaredInputs(";; @input x -0.5\n(* 2.0 x)", "m.scm"), { x: -0.5 });
  assert.equal(declaredInputs("(* 2.0 3.0)", "m.scm"), undefined);
  const [pair] = verifyProgram(model, "m.scm", { backend: f64Backend, f64: f64Backend });
  assert.ok(pair.ok, JSON.stringify(pair));
  // value Σ 2 e^{k t}; d/dk = Σ 2 t e^{k t}; d/d2.0 = Σ e^{k t}
  const ts = [1, 2, 4];
  const close = (a: number | null, b: number) =>
    assert.ok(Math.abs(a! - b) <= 1e-12 * Math.abs(b), `${a} vs ${b}`);
  close(pair.value_direct, ts.reduce((a, t) => a + 2 * Math.exp(0.5 * t), 0));
  close(pair.grad_direct[0], ts.reduce((a, t) => a + 2 * t * Math.exp(0.5 * t), 0));
  close(pair.grad_direct[1], ts.reduce((a, t) => a + Math.exp(0.5 * t), 0));
  // without the line the program's input is unbound; a tensor value without declared inputs is not a scalar
  const [unbound] = verifyProgram(model.replace("; @input t 1 2 4\n", ""), "m.scm", {
    backend: f64Backend,
    f64: f64Backend,
  });
  assert.ok(!unbound.ok && /t is unbound|unbound/.test(unbound.error ?? ""), unbound.error);
  const [vector] = verifyProgram("(* 2.0 (tensor '(1 2)))", "v.scm", {
    backend: f64Backend,
    f64: f64Backend,
  });
  assert.ok(!vector.ok);
  // malformed lines are spec errors at their line:col
  assert.throws(
    () => declaredInputs("; x\n; @input t one", "m.scm"),
    /m\.scm:2:3: @input: "one" is not a number/,
  );
  assert.throws(() => declaredInputs("; @input t", "m.scm"), /no value for t/);
  assert.throws(() => declaredInputs("; @input t 1\n; @input t 2", "m.scm"), /t is given twice/);
  const [bad] = verifyProgram("; @input t x\n(* 2.0 t)", "b.scm", { backend: f64Backend, f64: f64Backend });
  assert.match(bad.error!, /^load: .*b\.scm:1:3: @input/);
});

// ---------------------------------------------------------------------------------------------
// The comparisons

Deno.test("relativeDiff measures each component against the larger of the two, floored at 1e-3 of the scale", () => {
  assert.deepEqual(relativeDiff([1, 2, 3], [1, 2, 3]), { maxAbs: 0, maxRel: 0 });
  const r = relativeDiff([1, -4], [1 + 1e-6, -4]);
  assert.ok(Math.abs(r.maxAbs - 1e-6) < 1e-15 && Math.abs(r.maxRel - 1e-6 / (1 + 1e-6)) < 1e-15);
  // a component far below the vector's scale is judged against 1e-3 of the scale, not itself
  assert.ok(Math.abs(relativeDiff([1e-9, 10], [2e-9, 10]).maxRel - 1e-9 / 1e-2) < 1e-18);
  assert.equal(relativeDiff([0, 0], [0, 0]).maxRel, 0);
  assert.equal(relativeDiff([NaN], [1]).maxRel, Infinity);
  assert.equal(relativeDiff([1], [1, 2]).maxRel, Infinity);
  assert.equal(relativeDiff([Infinity], [Infinity]).maxRel, 0);
});

Deno.test("tolerances are 1e-5 on float32 backends, 1e-12 on f64 and 1e-6 for central differences", () => {
  assert.equal(interpTolerance(tfjsBackend), 1e-5);
  assert.equal(interpTolerance(f64Backend), 1e-12);
  assert.equal(TOLERANCES.fd, 1e-6);
});

Deno.test("seed 0 keeps the literals; other seeds perturb each by at most 10%, reproducibly, by base name", () => {
  const theta0 = [0.5, -2, 10, 0];
  assert.deepEqual(perturbedTheta("a.scm", 0, theta0), theta0);
  const t1 = perturbedTheta("dir/a.scm", 1, theta0);
  assert.deepEqual(perturbedTheta("other/a.scm", 1, theta0), t1);
  assert.notDeepEqual(perturbedTheta("a.scm", 2, theta0), t1);
  assert.notDeepEqual(perturbedTheta("b.scm", 1, theta0), t1);
  t1.forEach((t, i) => {
    assert.ok(Math.abs(t - theta0[i]) <= 0.1 * Math.abs(theta0[i]));
    if (theta0[i] !== 0) assert.notEqual(t, theta0[i]);
  });
});

Deno.test("central differences agree with a right gradient and reject a slightly wrong one", () => {
  const prog = loadProgram("(define a 0.7) (define b 2.0) (* (sin a) (exp (/ b 3)))", "fd.scm");
  const { grad } = valueAndGrad(prog, f64Backend);
  const g = grad as number[];
  assert.ok(finiteDifferenceError(prog, f64Backend, prog.theta0, g) < 1e-9);
  assert.ok(finiteDifferenceError(prog, f64Backend, prog.theta0, [g[0] * (1 + 1e-4), g[1]]) > 1e-5);
});

// ---------------------------------------------------------------------------------------------
// Failing pairs

Deno.test("an interpreter whose gradient or value differs from direct execution fails the pair", () => {
  const skewGrad: Executor = (prog, backend, options) => {
    const r = valueAndGrad(prog, backend, options);
    return { value: r.value, grad: r.grad.map((g) => (g as number) * (1 + 1e-3)) };
  };
  const skewValue: Executor = (prog, backend, options) => {
    const r = valueAndGrad(prog, backend, options);
    return { value: r.value * (1 + 1e-3), grad: r.grad };
  };
  const [bad] = verifyProgram(GOOD, "good.scm", {
    backend: f64Backend,
    f64: f64Backend,
    interpret: skewGrad,
  });
  assert.equal(bad.ok, false);
  assert.ok(Math.abs(bad.max_rel_grad_diff! - 1e-3 / (1 + 1e-3)) < 1e-9);
  assert.equal(bad.error, undefined);
  const [bad2] = verifyProgram(GOOD, "good.scm", {
    backend: f64Backend,
    f64: f64Backend,
    interpret: skewValue,
  });
  assert.equal(bad2.ok, false);
  assert.equal(bad2.max_rel_grad_diff, 0);
  const [good] = verifyProgram(GOOD, "good.scm", {
    backend: f64Backend,
    f64: f64Backend,
    interpret: valueAndGrad,
  });
  assert.equal(good.ok, true);
});

Deno.test("a program that raises gives failing pairs with a one-line error, not a crash", () => {
  const opts = { backend: f64Backend, f64: f64Backend, seeds: 2, interpret: valueAndGrad };
  const unbound = verifyProgram("(define a 0.5)\n(+ a nowhere)", "unbound.scm", opts);
  assert.equal(unbound.length, 2);
  for (const p of unbound) {
    assert.equal(p.ok, false);
    assert.match(p.error!, /^direct: unbound error at unbound\.scm:2:6: unbound variable: nowhere$/);
    assert.deepEqual(p.params, ["a"]);
  }
  const [notScalar] = verifyProgram("(list 1.5 2.5)", "list.scm", opts);
  assert.equal(notScalar.ok, false);
  assert.match(notScalar.error!, /type error.*real scalar/);
  const [unread] = verifyProgram("(+ 1.5", "open.scm", opts);
  assert.equal(unread.ok, false);
  assert.match(unread.error!, /^load: read error at open\.scm/);
  const [user] = verifyProgram('(define a 0.5) (error "boom" a)', "user.scm", opts);
  assert.match(user.error!, /^direct: user error at user\.scm:1:16: boom 0\.5$/);
  const interpFails: Executor = () => {
    throw new Error("evaluator broke\nsecond line");
  };
  const [broken] = verifyProgram(GOOD, "good.scm", { ...opts, interpret: interpFails });
  assert.equal(broken.ok, false);
  assert.ok(broken.value_direct !== null);
  assert.equal(broken.error, "interpreted: internal error (Error): evaluator broke second line");
});

// ---------------------------------------------------------------------------------------------
// The command

const PAIR_KEYS = [
  "file",
  "seed",
  "n_params",
  "params",
  "theta",
  "value_direct",
  "value_interp",
  "grad_direct",
  "grad_interp",
  "max_abs_grad_diff",
  "max_rel_grad_diff",
  "fd_max_rel_err",
  "value_traced",
  "grad_traced",
  "max_rel_trace_diff",
  "trace",
  "ok",
];

Deno.test("verify --json prints one document of DESIGN §5's shape and exits 0 when all pairs pass", async () => {
  await withFiles({ "b.scm": GOOD, "sub/a.scm": GOOD.replace("0.5", "0.25") }, async (dir) => {
    const { code, stdout } = await runCommand([dir, "--seeds", "3", "--backend", "f64", "--json"]);
    assert.equal(code, 0);
    const doc = JSON.parse(stdout);
    assert.deepEqual(Object.keys(doc), ["pairs", "summary"]);
    assert.deepEqual(doc.summary, { pairs: 6, passed: 6, failed: 0 });
    assert.deepEqual(doc.pairs.map((p: VerifyPair) => [p.file, p.seed]), [
      [`${dir}/b.scm`, 0],
      [`${dir}/b.scm`, 1],
      [`${dir}/b.scm`, 2],
      [`${dir}/sub/a.scm`, 0],
      [`${dir}/sub/a.scm`, 1],
      [`${dir}/sub/a.scm`, 2],
    ]);
    for (const p of doc.pairs) {
      assert.deepEqual(Object.keys(p), PAIR_KEYS);
      assert.equal(p.n_params, 2);
      assert.deepEqual(p.params, ["a", "4:7"]);
      assert.equal(p.theta.length, 2);
      assert.equal(p.grad_direct.length, 2);
      assert.equal(p.grad_interp.length, 2);
      assert.equal(typeof p.value_direct, "number");
    }
    assert.deepEqual(doc.pairs[0].theta, [0.5, 1.25]);
  });
});

Deno.test("verify prints a table per program and a summary line, and exits 1 when a pair fails", async () => {
  await withFiles({ "good.scm": GOOD, "bad.scm": "; unbound\n(define a 0.5)\n(* a b)\n" }, async (dir) => {
    const { code, stdout, stderr } = await runCommand([dir, "--backend", "f64"]);
    assert.equal(code, 1);
    assert.match(
      stdout,
      /bad\.scm \(1 parameter\)\n\s+seed\s+value direct\s+value interp\s+max rel grad diff\s+fd err\s+ok\n\s+0\s+-\s+-\s+-\s+-\s+FAIL/,
    );
    assert.match(stdout, /seed 0: direct: unbound error at .*bad\.scm:3:6: unbound variable: b/);
    assert.match(stdout, /good\.scm \(2 parameters\)/);
    assert.match(stdout, /\n2 pairs, 1 passed, 1 failed$/);
    assert.match(stderr, /verify \[1\/2\]/);
    const json = await runCommand([dir, "--backend", "f64", "--json"]);
    assert.equal(json.code, 1);
    const doc = JSON.parse(json.stdout);
    assert.deepEqual(doc.summary, { pairs: 2, passed: 1, failed: 1 });
    assert.deepEqual(Object.keys(doc.pairs[0]), [...PAIR_KEYS, "error"]);
  });
});

Deno.test("verify rejects bad flags as usage errors and missing paths as io errors", async () => {
  const usage = (e: unknown) =>
    e instanceof TypeError && String((e as { code?: string }).code).startsWith("ERR_PARSE_ARGS");
  await assert.rejects(runCommand([FIXTURES, "--seeds", "0"]), usage);
  await assert.rejects(runCommand([FIXTURES, "--seeds", "two"]), usage);
  await assert.rejects(runCommand([]), usage);
  await assert.rejects(runCommand([FIXTURES, "--frobnicate"]), usage);
  await assert.rejects(runCommand(["/no/such/path.scm"]), /cannot read \/no\/such\/path\.scm/);
  await withFiles({ "notes.txt": "no programs here" }, async (dir) => {
    await assert.rejects(runCommand([dir]), /no \.scm files/);
  });
});

Deno.test("collectPrograms searches folders recursively, keeps named files, and sorts without duplicates", async () => {
  await withFiles({ "z.scm": GOOD, "a/b.scm": GOOD, "a/c.txt": "", "m.scm": GOOD }, async (dir) => {
    const files = await collectPrograms([dir, `${dir}/z.scm`]);
    assert.deepEqual(files, [`${dir}/a/b.scm`, `${dir}/m.scm`, `${dir}/z.scm`]);
  });
});

Deno.test("central differences pass an exact tiny gradient and still fail a wrong one (issue 13, defect 6)", () => {
  const prog = loadProgram("(define k 12.0) (tanh k)", "flat.scm");
  const { grad } = valueAndGrad(prog, f64Backend);
  const g = grad[0] as number;
  assert.ok(g > 1e-11 && g < 1e-9, `sech²(12) = ${g}`);
  assert.ok(finiteDifferenceError(prog, f64Backend, prog.theta0, [g]) <= 1e-6);
  for (const wrong of [2 * g, 0, -g, 1e-6]) {
    assert.ok(finiteDifferenceError(prog, f64Backend, prog.theta0, [wrong]) > 1e-6, `${wrong} must fail`);
  }
  // The same for a tiny gradient on a value that is not flat: exp(-30) at 30 is tiny, and resolvable.
  const decay = loadProgram("(define k 30.0) (exp (- k))", "decay.scm");
  const d = valueAndGrad(decay, f64Backend).grad[0] as number;
  assert.ok(finiteDifferenceError(decay, f64Backend, decay.theta0, [d]) <= 1e-6);
  assert.ok(finiteDifferenceError(decay, f64Backend, decay.theta0, [d * (1 + 1e-4)]) > 1e-6);
});
