/**
 * Tests of the offline proposer (lib/search/proposers/mutate.ts and its parts): the datum
 * printer round-trips every bundled program through the reader; proposals are deterministic
 * per seed; over many seeds every edit kind yields programs that the reader, the expander and
 * (for battery tasks) the battery model parser accept, that use the inputs and only the allowed
 * primitives, and that respect the size bound; gradient feedback drives the pruning of
 * insignificant terms.
 */
import assert from "node:assert/strict";
import { read } from "../lib/read/reader.ts";
import type { Datum } from "../lib/read/datum.ts";
import { loadProgram } from "../lib/program.ts";
import { parseModel } from "../lib/domains/battery/model.ts";
import { PRIMITIVE_BY_NAME, PRIMITIVES } from "../lib/primitives.ts";
import { EDIT_KINDS, mutateOnce, mutateProposer } from "../lib/search/proposers/mutate.ts";
import { writeProgram } from "../lib/search/proposers/print.ts";
import { countNodes, sameDatum } from "../lib/search/proposers/tree.ts";
import type { ConstantReport, ProposalContext, ScoredProgram, TaskInfo } from "../lib/search/types.ts";

const root = new URL("../", import.meta.url).pathname;
const text = (path: string) => Deno.readTextFileSync(root + path);

const NUMERIC = PRIMITIVES.filter((p) => p.group === "numbers").map((p) => p.name);
const ALL = PRIMITIVES.map((p) => p.name);

function task(kind: TaskInfo["kind"], inputs: string[], allowed: readonly string[], max = 200): TaskInfo {
  return {
    kind,
    name: "test",
    inputs,
    goal: "",
    dataSummary: "",
    allowedPrimitives: allowed,
    maxComplexity: max,
  };
}

function scored(id: string, program: string, constants: ConstantReport[] = []): ScoredProgram {
  return {
    id,
    text: program,
    fittedText: null,
    score: 1,
    complexity: countNodes(read(program, "p.scm")),
    constants,
    rejection: null,
  };
}

function context(
  t: TaskInfo,
  parent: ScoredProgram,
  seed: number,
  inspirations: ScoredProgram[] = [],
): ProposalContext {
  return { task: t, parent, inspirations, recentErrors: [], seed };
}

/** Symbols used as variables or operators that name primitives, excluding names the program binds. */
function primitivesUsed(forms: readonly Datum[]): Set<string> {
  const out = new Set<string>();
  const defined = new Set<string>();
  const go = (d: Datum): void => {
    if (d.type === "symbol" && PRIMITIVE_BY_NAME.has(d.name)) out.add(d.name);
    if (d.type === "list") {
      if (d.items[0]?.type === "symbol" && d.items[0].name === "quote") return;
      if (d.items[0]?.type === "symbol" && d.items[0].name === "define") {
        const t = d.items[1];
        if (t?.type === "symbol") defined.add(t.name);
        if (t?.type === "list" && t.items[0]?.type === "symbol") defined.add(t.items[0].name);
      }
      d.items.forEach(go);
    }
  };
  forms.forEach(go);
  for (const n of defined) out.delete(n);
  return out;
}

function symbols(forms: readonly Datum[]): Set<string> {
  const out = new Set<string>();
  const go = (d: Datum): void => {
    if (d.type === "symbol") out.add(d.name);
    if (d.type === "list") d.items.forEach(go);
  };
  forms.forEach(go);
  return out;
}

Deno.test("print: every bundled program reads back to the same datums", () => {
  const dirs = ["fixtures/programs/", "fixtures/battery/", "fixtures/models/"];
  let n = 0;
  for (const dir of dirs) {
    for (const e of Deno.readDirSync(root + dir)) {
      if (!e.name.endsWith(".scm")) continue;
      const forms = read(text(dir + e.name), e.name);
      const again = read(writeProgram(forms), e.name);
      assert.equal(again.length, forms.length, e.name);
      forms.forEach((f, i) => assert.ok(sameDatum(f, again[i]), `${e.name}: form ${i + 1} differs`));
      n++;
    }
  }
  assert.ok(n > 60, `only ${n} programs found`);
});

Deno.test("print: decimals keep their point, integers do not gain one", () => {
  const forms = read('(+ 2.0 3 1e-7 -0.5 .5 "a\\"b" \'x)', "p.scm");
  assert.equal(writeProgram(forms), '(+ 2.0 3 1e-7 -0.5 0.5 "a\\"b" \'x)\n');
  assert.deepEqual(loadProgram(writeProgram(forms), "p.scm").params.map((p) => p.value), [
    2,
    1e-7,
    -0.5,
    0.5,
  ]);
});

const KNEE = scored("knee", text("fixtures/battery/knee.scm"));
const EXPONENTIAL = scored("exp", text("fixtures/battery/exponential.scm"));
const OSCILLATOR = scored("osc", text("fixtures/models/damped_oscillator.scm"));
const UNTIDY = scored("untidy", "(+ (+ (* 1.0 x) 0) (* 2.0 3.0 y))\n");
const SR = scored("sr", "(define a 1.5)\n(+ (* a (sin x)) (* 0.3 y))\n");

Deno.test("mutate: the same seed gives the same proposal, different seeds different ones", async () => {
  const t = task("battery", ["cycle"], NUMERIC);
  const p = mutateProposer();
  const texts = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const a = await p.propose(context(t, KNEE, seed, [EXPONENTIAL]));
    const b = await p.propose(context(t, KNEE, seed, [EXPONENTIAL]));
    assert.deepEqual(a, b);
    if ("text" in a) texts.add(a.text);
  }
  assert.ok(texts.size >= 15, `only ${texts.size} distinct proposals in 20 seeds`);
});

/** Checks one proposal as a user of the search would: independent of the proposer's own checks. */
function checkProposal(t: TaskInfo, proposal: { text: string }, battery: boolean): void {
  const forms = read(proposal.text, "child.scm"); // reads back
  loadProgram(proposal.text, "child.scm"); // expands and compiles
  if (battery) parseModel(proposal.text, "child.scm"); // directives still name parameters
  const used = symbols(forms);
  assert.ok(t.inputs.some((i) => used.has(i)), `uses no input:\n${proposal.text}`);
  for (const p of primitivesUsed(forms)) {
    assert.ok(t.allowedPrimitives.includes(p), `uses ${p}, not allowed:\n${proposal.text}`);
  }
  assert.ok(countNodes(forms) <= t.maxComplexity, `complexity ${countNodes(forms)} > ${t.maxComplexity}`);
}

Deno.test("mutate: every edit kind gives well-formed programs over many seeds", () => {
  const cases = [
    { t: task("battery", ["cycle"], NUMERIC), parent: KNEE, donors: [EXPONENTIAL], battery: true },
    {
      t: task("fit", ["x", "y"], ["+", "-", "*", "/", "sin", "exp", "sqrt"], 40),
      parent: SR,
      donors: [],
      battery: false,
    },
    { t: task("fit", ["t"], ALL, 400), parent: OSCILLATOR, donors: [], battery: false },
    { t: task("fit", ["x", "y"], ["+", "*"], 40), parent: UNTIDY, donors: [SR], battery: false },
  ];
  const made = new Map<string, number>();
  for (const { t, parent, donors, battery } of cases) {
    for (const kind of EDIT_KINDS) {
      for (let seed = 0; seed < 30; seed++) {
        const r = mutateOnce(context(t, parent, seed, donors), { kinds: [kind.name] });
        if ("error" in r) continue;
        checkProposal(t, r, battery);
        made.set(kind.name, (made.get(kind.name) ?? 0) + 1);
      }
    }
  }
  // prune needs insignificant constants and crossover a donor: tested below with those.
  for (const kind of EDIT_KINDS.map((k) => k.name).filter((k) => k !== "prune")) {
    assert.ok((made.get(kind) ?? 0) > 0, `edit ${kind} never produced a program`);
  }
});

Deno.test("mutate: a property test over 300 seeds of mixed edits: all well-formed, none equal to the parent", () => {
  const t = task("battery", ["cycle"], NUMERIC, 60);
  let ok = 0;
  for (let seed = 0; seed < 300; seed++) {
    const r = mutateOnce(context(t, KNEE, seed * 7919 + 1, [EXPONENTIAL]));
    if ("error" in r) continue;
    checkProposal(t, r, true);
    assert.notEqual(r.text, KNEE.text);
    ok++;
  }
  assert.ok(ok >= 290, `${ok} of 300 proposals`);
});

Deno.test("mutate: the complexity bound holds for a parent at the bound", () => {
  const bound = countNodes(read(KNEE.text, "k.scm"));
  const t = task("battery", ["cycle"], NUMERIC, bound);
  let ok = 0;
  for (let seed = 0; seed < 100; seed++) {
    const r = mutateOnce(context(t, KNEE, seed));
    if ("error" in r) continue;
    assert.ok(countNodes(read(r.text, "c.scm")) <= bound);
    ok++;
  }
  assert.ok(ok > 20, `only ${ok} proposals within the bound`);
});

Deno.test("mutate: only allowed primitives appear, even with crossover from a program using others", () => {
  const t = task("fit", ["x", "y"], ["+", "*", "-"], 40);
  const parent = scored("p", "(+ (* 1.5 x) (* 0.3 y))\n");
  const donor = scored("d", "(+ (exp (* 0.2 x)) (sqrt y))\n");
  for (let seed = 0; seed < 100; seed++) {
    const r = mutateOnce(context(t, parent, seed, [donor]));
    if ("error" in r) continue;
    checkProposal(t, r, false);
  }
});

Deno.test("mutate: prune deletes the term whose constant's error bar includes zero", () => {
  const t = task("fit", ["x"], ["+", "*", "exp"], 40);
  const parent = scored("p", "(+ (* 2.0 x) (* 0.001 (exp x)) 0.5)\n", [
    { name: "1:7", value: 2.0, se: 0.01, validationGrad: 0.1 },
    { name: "1:20", value: 0.001, se: 0.01, validationGrad: 0.0 },
    { name: "1:36", value: 0.5, se: 0.01, validationGrad: 0.0 },
  ]);
  const r = mutateOnce(context(t, parent, 1), { kinds: ["prune"] });
  assert.ok(!("error" in r), JSON.stringify(r));
  assert.equal(r.text, "(+ (* 2.0 x) 0.5)\n");
  assert.match(r.edit, /prune 1:20/);
  // A named constant: its define goes too, and (battery) its directive.
  const bt = task("battery", ["cycle"], NUMERIC);
  const named = scored(
    "n",
    "; @param a positive\n; @param c free global\n(define a 0.1)\n(define c 0.002)\n" +
      "(define u (/ cycle 1000))\n(- 1 (* a u) (* c u u))\n",
    [
      { name: "a", value: 0.08, se: 0.001, validationGrad: 0.2 },
      { name: "c", value: 0.002, se: 0.05, validationGrad: 0.0 },
    ],
  );
  const r2 = mutateOnce(context(bt, named, 3), { kinds: ["prune"] });
  assert.ok(!("error" in r2), JSON.stringify(r2));
  assert.equal(r2.text, "; @param a positive\n(define a 0.08)\n(define u (/ cycle 1000))\n(- 1 (* a u))\n");
  parseModel(r2.text, "pruned.scm");
  // No constant is insignificant: prune has nothing to do.
  const none = mutateOnce(
    context(t, { ...parent, constants: parent.constants.map((k) => ({ ...k, se: 1e-6 })) }, 1),
    {
      kinds: ["prune"],
    },
  );
  assert.ok("error" in none);
});

Deno.test("mutate: a child starts from the parent's fitted constants", () => {
  const t = task("fit", ["x"], ["+", "*", "sin"], 40);
  const parent = scored("p", "(define k 1.0)\n(* k (sin x))\n", [{
    name: "k",
    value: 2.5,
    se: 0.1,
    validationGrad: 0,
  }]);
  const r = mutateOnce(context(t, parent, 4), { kinds: ["add-term"] });
  assert.ok(!("error" in r));
  assert.match(r.text, /\(define k 2\.5\)/);
});

Deno.test("mutate: edits favour sites near constants with a large validation gradient", () => {
  const t = task("fit", ["x"], ["+", "*", "sin", "exp"], 60);
  const program = "(+ (* 1.5 (sin x)) (* 0.5 (exp x)))\n";
  const parent = scored("p", program, [
    { name: "1:7", value: 1.5, se: 0.1, validationGrad: 0 },
    { name: "1:24", value: 0.5, se: 0.1, validationGrad: 50 },
  ]);
  let near = 0, far = 0;
  for (let seed = 0; seed < 200; seed++) {
    const r = mutateOnce(context(t, parent, seed), { kinds: ["wrap"] });
    if ("error" in r) continue;
    const m = /at 1:(\d+)/.exec(r.edit);
    if (!m) continue;
    if (Number(m[1]) >= 20) near++;
    else if (Number(m[1]) > 1) far++; // (the whole sum is near both)
  }
  assert.ok(near > 1.5 * far, `near the sensitive constant ${near}, elsewhere ${far}`);
});
