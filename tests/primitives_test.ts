/**
 * The primitive table as a whole: every primitive has value cases and every differentiable
 * one gradient cases (so coverage cannot silently rot; the cases run in
 * tests/primitives_{numbers,lists,tensors}_test.ts), arities are enforced, values that do
 * not depend on a parameter stay plain JS numbers, and `error` carries its irritants.
 */
import assert from "node:assert/strict";
import { DmciError } from "../lib/errors.ts";
import { PRIMITIVE_BY_NAME, PRIMITIVES } from "../lib/primitives.ts";
import { execute, runtimeFor, valueAndGrad } from "../lib/program.ts";
import { listToArray, Sym } from "../lib/values.ts";
import { GRAD_CASES, VALUE_CASES } from "./primitives_cases.ts";
import { BACKENDS, containsTensor, GROUPS_BY_FILE, load, runWith } from "./primitives_harness.ts";

/** The tokens of a program (for "does this case call that primitive"). */
function tokens(src: string): Set<string> {
  return new Set(src.split(/[\s()']+/).filter((t) => t !== ""));
}

Deno.test("every primitive of the table has value cases that call it", () => {
  const missing = PRIMITIVES.filter((p) => !(VALUE_CASES[p.name]?.length > 0)).map((p) => p.name);
  assert.deepEqual(missing, [], `primitives without value cases: ${missing.join(" ")}`);
  const notCalling = Object.entries(VALUE_CASES).flatMap(([name, cs]) =>
    cs.filter((c) => !tokens(c.src).has(name)).map((c) => `${name}: ${c.src}`)
  );
  assert.deepEqual(notCalling, [], "value cases that do not mention their primitive");
});

Deno.test("every differentiable primitive has gradient cases that call it", () => {
  const missing = PRIMITIVES.filter((p) => p.differentiable && !(GRAD_CASES[p.name]?.length > 0)).map((p) =>
    p.name
  );
  assert.deepEqual(missing, [], `differentiable primitives without gradient cases: ${missing.join(" ")}`);
  const notCalling = Object.entries(GRAD_CASES).flatMap(([name, cs]) =>
    cs.filter((src) => !tokens(src).has(name)).map((src) => `${name}: ${src}`)
  );
  assert.deepEqual(notCalling, [], "gradient cases that do not mention their primitive");
  for (const src of Object.values(GRAD_CASES).flat()) {
    assert.ok(load(src).params.length > 0, `gradient case without parameters: ${src}`);
  }
});

Deno.test("the case tables name only primitives, and every group has a test file", () => {
  const stray = [...Object.keys(VALUE_CASES), ...Object.keys(GRAD_CASES)].filter((n) =>
    !PRIMITIVE_BY_NAME.has(n)
  );
  assert.deepEqual(stray, [], "case names that are not primitives");
  const nonDifferentiable = Object.keys(GRAD_CASES).filter((n) => !PRIMITIVE_BY_NAME.get(n)?.differentiable);
  assert.deepEqual(nonDifferentiable, [], "gradient cases of primitives not marked differentiable");
  const tested = new Set(Object.values(GROUPS_BY_FILE).flat());
  const untested = [...new Set(PRIMITIVES.map((p) => p.group))].filter((g) => !tested.has(g));
  assert.deepEqual(untested, [], "primitive groups no test file runs");
});

Deno.test("every primitive rejects too few and too many arguments with an arity error", () => {
  const failures: string[] = [];
  for (const p of PRIMITIVES) {
    const [min, max] = p.arity;
    const counts = [...(min > 0 ? [min - 1] : []), ...(Number.isFinite(max) ? [max + 1] : [])];
    for (const n of counts) {
      const src = `(${p.name}${" 1".repeat(n)})`;
      for (const b of BACKENDS) {
        const r = runWith(src, b, "const", () => undefined);
        if (!("error" in r) || r.error.kind !== "arity") {
          failures.push(`${b.name}: ${src}: ${"error" in r ? r.error : "no error"}`);
        }
      }
    }
  }
  assert.deepEqual(failures, []);
});

Deno.test("a value that does not depend on a parameter stays a plain JS number inside valueAndGrad", () => {
  for (const b of BACKENDS) {
    const rt = runtimeFor(b);
    let plain: unknown, tracked: unknown, isTensor = false;
    b.valueAndGrad((ps) => {
      plain = execute(load("(+ 1 2)"), rt, ps);
      return 0;
    }, []);
    const prog = load("(define k 0.5) (* k 2.0)");
    b.valueAndGrad((ps) => {
      tracked = execute(prog, rt, ps);
      isTensor = b.isTensor(tracked);
      return tracked;
    }, prog.theta0);
    assert.equal(typeof plain, "number", b.name);
    assert.equal(plain, 3);
    assert.ok(isTensor, `${b.name}: (* k 2.0) with k a parameter is a backend tensor`);
  }
});

Deno.test("next to a parameter, counters, lengths, rounding and constants stay plain numbers", () => {
  const src =
    "(define k 0.5) (list (* k 2.0) (+ 1 2) (length (list k k)) (exact (floor k)) (iota 2) (max 1 2)" +
    " (quotient 7 2) (expt 2 3) (sqrt 4) (if (< k 1) 1 2) (fold-left + 0 '(1 2)))";
  for (const b of BACKENDS) {
    const r = runWith(src, b, "tracked", (v) => {
      const items = listToArray(v) ?? [];
      return { first: b.isTensor(items[0]), rest: items.slice(1).map((x) => containsTensor(b, x)) };
    });
    assert.ok("value" in r, `${b.name}: ${"error" in r ? r.error : ""}`);
    assert.equal(r.value.first, true, `${b.name}: (* k 2.0) is tracked`);
    assert.deepEqual(r.value.rest, r.value.rest.map(() => false), `${b.name}: the others are plain`);
  }
});

Deno.test("numeric cases without parameters produce no backend tensors on either backend", () => {
  const tensorMakers = /\b(tensor|zeros|ones|eye|tensor->list)\b/;
  const failures: string[] = [];
  for (const [name, cases] of Object.entries(VALUE_CASES)) {
    const group = PRIMITIVE_BY_NAME.get(name)?.group;
    if (group === "tensors" || group === "linear algebra") continue;
    for (const c of cases) {
      if (tensorMakers.test(c.src) || load(c.src).params.length > 0) continue;
      for (const b of BACKENDS) {
        const r = runWith(c.src, b, "tracked", (v) => containsTensor(b, v));
        if ("value" in r && r.value) failures.push(`${b.name}: ${c.src}`);
      }
    }
  }
  assert.deepEqual(failures, [], "cases whose value holds a tensor though nothing depends on a parameter");
});

Deno.test("error raises a user error at the call with the message and the irritants", () => {
  for (const b of BACKENDS) {
    const r = runWith(
      '(define (f x) (error "bad value:" x \'sym "str")) (f 42)',
      b,
      "const",
      () => undefined,
    );
    assert.ok("error" in r, b.name);
    const e = r.error;
    assert.ok(e instanceof DmciError);
    assert.equal(e.kind, "user");
    assert.equal(e.message, 'bad value: 42 sym "str"');
    assert.deepEqual(e.irritants, [42, Sym.of("sym"), "str"]);
    assert.deepEqual(e.span, { file: "t.scm", line: 1, col: 15 });
  }
});

Deno.test("rounding and exact pass a zero gradient, and a comparison's gradient follows the branch taken", () => {
  const cases: [string, number, number][] = [
    ["(define a 0.7) (+ (floor (* 3 a)) (ceiling a) (round a) (truncate a))", 2 + 1 + 1 + 0, 0],
    ["(define a 3.0) (* a (exact a))", 9, 3],
    ["(define a 0.7) (if (< a 1) (* 2 a) (* a a))", 1.4, 2],
    ["(define a 1.5) (if (< a 1) (* 2 a) (* a a))", 2.25, 3],
    ["(define a 0.7) (cond ((>= a 0.5) (* 3 a)) (else a))", 2.1, 3],
  ];
  for (const b of BACKENDS) {
    for (const [src, value, grad] of cases) {
      const r = valueAndGrad(load(src), b);
      assert.ok(Math.abs(r.value - value) < 1e-6, `${b.name}: ${src}: value ${r.value}`);
      assert.ok(Math.abs((r.grad[0] as number) - grad) < 1e-6, `${b.name}: ${src}: gradient ${r.grad[0]}`);
    }
  }
});
