/**
 * Tests of deep nesting (lib/read/depth.ts and its users): code nested 10,000 deep and
 * quoted data nested 20,000 deep never crash the host with a RangeError. Data is handled
 * without recursion (parameters found, converted, written, interpreted); code the host
 * stack cannot take is one `limit` error at its most deeply nested list.
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { DmciError, formatSpan } from "../lib/errors.ts";
import { findParams, loadProgram, runProgram, valueAndGrad } from "../lib/program.ts";
import { interpretedValueAndGrad, readProgram, runInterpreted } from "../lib/dmci.ts";
import { read } from "../lib/read/reader.ts";
import { datumToValue } from "../lib/read/datum_value.ts";
import { deepest, eachDatum, foldDatum } from "../lib/read/depth.ts";
import { Session } from "../lib/session.ts";
import { arrayToList, NIL, write } from "../lib/values.ts";

const FILE = "deep.scm";
const DEEP_CODE = "(+ 1 ".repeat(10_000) + "1.5" + ")".repeat(10_000);
const DEEP_DATA = "(define k 0.5) (* k (length (car '" + "(".repeat(20_000) + "2.5" + ")".repeat(20_000) +
  ")))";

/** Runs `f`; it must return, or throw one `limit` DmciError located in FILE (never a host error). */
function limitOrValue(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    assert.equal(e.kind, "limit", e.message);
    assert.ok(e.span && e.span.file === FILE, `located in the program: ${e.span && formatSpan(e.span)}`);
    return e;
  }
}

Deno.test("10,000-deep code is a located limit error (or a value) in every stage, direct and interpreted", () => {
  const results = [
    limitOrValue(() => runProgram(loadProgram(DEEP_CODE, FILE), f64Backend)),
    limitOrValue(() => valueAndGrad(loadProgram(DEEP_CODE, FILE), f64Backend)),
    limitOrValue(() => runInterpreted(readProgram(DEEP_CODE, FILE), f64Backend)),
    limitOrValue(() => interpretedValueAndGrad(readProgram(DEEP_CODE, FILE), f64Backend)),
  ];
  // This host's stack cannot take it, so the error is there, at the innermost list.
  const e = results[0] as DmciError;
  assert.ok(e instanceof DmciError);
  assert.equal(formatSpan(e.span!), `${FILE}:1:${5 * 9_999 + 1}`);
  assert.match(e.message, /nested 10000 levels deep/);
  assert.throws(() => new Session(f64Backend).eval(DEEP_CODE), (x: unknown) => x instanceof DmciError);
});

Deno.test("20,000-deep quoted data: parameters found, value and gradient direct and interpreted", () => {
  const params = findParams(read(DEEP_DATA, FILE));
  assert.deepEqual(params.map((p) => p.value), [0.5, 2.5]);
  const direct = valueAndGrad(loadProgram(DEEP_DATA, FILE), f64Backend);
  const interp = interpretedValueAndGrad(readProgram(DEEP_DATA, FILE), f64Backend);
  assert.equal(direct.value, 0.5);
  assert.deepEqual(direct.grad, [1, 0]);
  assert.equal(interp.value, 0.5);
  assert.deepEqual(interp.grad, [1, 0]);
  // Written back without recursion.
  const text = runProgram(loadProgram("'" + "(".repeat(20_000) + ")".repeat(20_000), FILE), f64Backend);
  assert.ok(text === "(".repeat(20_000) + ")".repeat(20_000), "written back");
});

Deno.test("depth walkers: source order, depth, bottom-up fold", () => {
  const forms = read("(a (b (c)) . d) e", FILE);
  const seen: string[] = [];
  eachDatum(forms, (d, depth) => void (d.type === "symbol" && seen.push(`${d.name}${depth}`)));
  assert.deepEqual(seen, ["a1", "b2", "c3", "d1", "e0"]);
  assert.equal(deepest(forms)?.depth, 3);
  assert.equal(write(datumToValue(forms[0])), "(a (b (c)) . d)");
  const count = foldDatum<number>(forms[0], () => 1, (l, c) => l.items.reduce((n, x) => n + c(x), 1));
  assert.equal(count, 6);
  // A list a million deep made at run time is written too.
  let v: unknown = NIL;
  for (let i = 0; i < 1_000_000; i++) v = arrayToList([v]);
  assert.equal(write(v).length, 2_000_002);
});
