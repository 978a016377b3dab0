/**
 * Tests of model specs (lib/fit/spec.ts, lib/fit/schema_gen.ts): every variant parses with
 * its defaults; every kind of bad spec gives one line naming the JSON path, what was
 * expected and what was found, at the right line:col; loadSpec reads the program relative
 * to the spec; the committed JSON Schema is the one the zod schema generates.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DmciError } from "../lib/errors.ts";
import { SPEC_SCHEMA_FILE, specJsonSchemaText } from "../lib/fit/schema_gen.ts";
import {
  formatPath,
  loadSpec,
  neededColumns,
  parseJsonLocated,
  parseSpec,
  parseSpecText,
  type Spec,
  type SpecInput,
} from "../lib/fit/spec.ts";

const BASE = {
  name: "decay",
  program: "decay.scm",
  inputs: { t: "time" },
  target: "y",
  data: { csv: "decay.csv" },
} satisfies SpecInput;

const DEFAULTS = {
  params: {},
  loss: { kind: "mse" },
  optimizer: { method: "lbfgs", steps: 500, learning_rate: 0.05, restarts: 1, seed: 0, tolerance: 1e-9 },
  backend: "tfjs",
  mode: "interpreted",
} as const;

/** The error a spec (written out as indented JSON) gives. */
function specError(spec: unknown, file = "s.json"): DmciError {
  try {
    parseSpecText(JSON.stringify(spec, null, 2), file);
  } catch (e) {
    assert.ok(e instanceof DmciError, `not a DmciError: ${e}`);
    assert.equal(e.kind, "spec");
    assert.ok(!e.toString().includes("\n"), `not one line: ${e}`);
    return e;
  }
  assert.fail(`accepted: ${JSON.stringify(spec)}`);
}

function textError(text: string): string {
  try {
    parseSpecText(text, "j.json");
  } catch (e) {
    assert.ok(e instanceof DmciError && e.kind === "spec", `unexpected: ${e}`);
    return e.toString();
  }
  assert.fail(`accepted: ${text}`);
}

Deno.test("a minimal spec parses with every default applied", () => {
  const spec: Spec = parseSpec(BASE, "base");
  assert.deepEqual(spec, { ...BASE, data: { csv: "decay.csv", missing: "error" }, ...DEFAULTS });
  assert.equal(spec.split, undefined);
  assert.equal(spec.plot, undefined);
});

Deno.test("a full spec keeps every field it gives", () => {
  const full = {
    $schema: "../../schema/spec.schema.json",
    name: "full",
    description: "all of it",
    program: { text: "(define k 0.5) (* k t)" },
    inputs: { t: "time", "u->v": "u" },
    target: "y",
    params: {
      k: { init: 0.5, transform: "positive" },
      A: { transform: "bounded", lower: 0, upper: 10, init: 2 },
      c: { fixed: true },
      "3:14": { init: -1 },
    },
    data: { columns: { time: [0, 1, 2], u: [1, 2, 3], y: [1, null, 3] }, missing: "drop" },
    loss: { kind: "gaussian-nll", sigma_init: 0.1 },
    split: { kind: "column", column: "time", op: "<", value: 2 },
    optimizer: { method: "adam", steps: 100, learning_rate: 0.01, restarts: 4, seed: 7, tolerance: 0 },
    backend: "f64",
    mode: "direct",
    plot: { x: "time" },
  } as const;
  const spec = parseSpec(full, "full");
  assert.deepEqual(spec, {
    ...full,
    params: {
      k: { init: 0.5, transform: "positive", fixed: false },
      A: { transform: "bounded", lower: 0, upper: 10, init: 2, fixed: false },
      c: { transform: "free", fixed: true },
      "3:14": { init: -1, transform: "free", fixed: false },
    },
  });
});

Deno.test("every variant of loss, split, backend and mode is accepted", () => {
  const variants: Partial<SpecInput>[] = [
    { loss: { kind: "mse" } },
    { loss: { kind: "gaussian-nll" } },
    { loss: { kind: "program", returns: "loss" }, target: undefined },
    { loss: { kind: "program", returns: "log-likelihood" } },
    { split: { kind: "fraction", train: 0.8 } },
    { split: { kind: "fraction", train: 1 } },
    ...(["<", "<=", ">", ">=", "==", "!="] as const).map((op) => ({
      split: { kind: "column" as const, column: "time", op, value: 30 },
    })),
    { backend: "tfjs" },
    { backend: "tfjs-wasm" },
    { backend: "f64" },
    { mode: "interpreted" },
    { mode: "direct" },
    { optimizer: { method: "adam" } },
    { data: { csv: "x.csv", missing: "drop" } },
    { inputs: {} },
  ];
  for (const v of variants) {
    const spec = parseSpec({ ...BASE, ...v }, "variant");
    for (const [key, value] of Object.entries(v)) {
      if (key === "optimizer") assert.deepEqual(spec.optimizer, { ...DEFAULTS.optimizer, method: "adam" });
      else if (key === "data") assert.deepEqual(spec.data, v.data);
      else assert.deepEqual(spec[key as keyof Spec], value, key);
    }
  }
});

Deno.test("bad values name the JSON path, what was expected and what was found", () => {
  const cases: [unknown, string][] = [
    [{ ...BASE, optimizer: { steps: -3 } }, "$.optimizer.steps: expected a positive integer, got -3"],
    [{ ...BASE, optimizer: { steps: 2.5 } }, "$.optimizer.steps: expected a positive integer, got 2.5"],
    [{ ...BASE, optimizer: { steps: "10" } }, '$.optimizer.steps: expected a positive integer, got "10"'],
    [
      { ...BASE, optimizer: { method: "sgd" } },
      '$.optimizer.method: expected one of "lbfgs", "adam", got "sgd"',
    ],
    [{ ...BASE, optimizer: { learning_rate: 0 } }, "$.optimizer.learning_rate: expected a number > 0, got 0"],
    [{ ...BASE, optimizer: { seed: -1 } }, "$.optimizer.seed: expected an integer >= 0, got -1"],
    [
      { ...BASE, optimizer: { tolerance: -1e-3 } },
      "$.optimizer.tolerance: expected a number >= 0, got -0.001",
    ],
    [{ ...BASE, optimizer: 5 }, "$.optimizer: expected an object, got 5"],
    [
      { ...BASE, params: { k: { transform: "pos" } } },
      '$.params.k.transform: expected one of "free", "positive", "bounded", got "pos"',
    ],
    [{ ...BASE, params: { k: { init: "1" } } }, '$.params.k.init: expected a number, got "1"'],
    [{ ...BASE, params: { k: { fixed: "yes" } } }, '$.params.k.fixed: expected true or false, got "yes"'],
    [{ ...BASE, params: { "12:5": 0.5 } }, '$.params["12:5"]: expected an object, got 0.5'],
    [{ ...BASE, name: "" }, '$.name: expected a non-empty string, got ""'],
    [{ ...BASE, name: undefined }, "$.name: missing (expected a non-empty string)"],
    [
      { ...BASE, program: 3 },
      '$.program: expected a path to a .scm file (relative to the spec) or {"text": "(…Scheme…)"}, got 3',
    ],
    [{ ...BASE, program: { text: "" } }, `$.program.text: expected the program's Scheme text, got ""`],
    [{ ...BASE, inputs: { t: 1 } }, "$.inputs.t: expected a data column name, got 1"],
    [
      { ...BASE, data: { columns: { y: [1, "x"] } } },
      '$.data.columns.y[1]: expected a number or null, got "x"',
    ],
    [
      { ...BASE, data: { csv: "d.csv", missing: "skip" } },
      '$.data.missing: expected one of "drop", "error", got "skip"',
    ],
    [{ ...BASE, loss: 3 }, "$.loss: expected an object, got 3"],
    [
      { ...BASE, loss: { kind: "l1" } },
      '$.loss.kind: expected one of "mse", "gaussian-nll", "program", got "l1"',
    ],
    [
      { ...BASE, loss: { kind: "program" } },
      '$.loss.returns: missing (expected one of "loss", "log-likelihood")',
    ],
    [
      { ...BASE, loss: { kind: "gaussian-nll", sigma_init: 0 } },
      "$.loss.sigma_init: expected a number > 0, got 0",
    ],
    [{ ...BASE, split: { kind: "frac" } }, '$.split.kind: expected one of "fraction", "column", got "frac"'],
    [
      { ...BASE, split: { kind: "fraction", train: 1.5 } },
      "$.split.train: expected a number in (0, 1], got 1.5",
    ],
    [{ ...BASE, split: { kind: "fraction", train: 0 } }, "$.split.train: expected a number in (0, 1], got 0"],
    [
      { ...BASE, split: { kind: "column", column: "t", op: "=", value: 3 } },
      '$.split.op: expected one of "<", "<=", ">", ">=", "==", "!=", got "="',
    ],
    [
      { ...BASE, split: { kind: "column", column: "t", op: "<" } },
      "$.split.value: missing (expected a number)",
    ],
    [{ ...BASE, backend: "gpu" }, '$.backend: expected one of "tfjs", "tfjs-wasm", "f64", got "gpu"'],
    [{ ...BASE, mode: "fast" }, '$.mode: expected one of "interpreted", "direct", got "fast"'],
    [{ ...BASE, plot: { x: 2 } }, "$.plot.x: expected a data column name, got 2"],
    [5, "$: expected a JSON object, got 5"],
    [[BASE], "$: expected a JSON object, got an array of 1 items"],
    [null, "$: expected a JSON object, got null"],
  ];
  for (const [spec, message] of cases) assert.equal(specError(spec).message, message);
});

Deno.test("unknown keys are errors, with the key meant when it is near one", () => {
  const cases: [unknown, string][] = [
    [
      { ...BASE, loss: { kin: "mse" } },
      '$.loss: unknown key "kin" (did you mean "kind"?); ' +
      '$.loss.kind: missing (expected one of "mse", "gaussian-nll", "program")',
    ],
    [{ ...BASE, optimiser: {} }, '$: unknown key "optimiser" (did you mean "optimizer"?)'],
    [{ ...BASE, optimizer: { step: 3 } }, '$.optimizer: unknown key "step" (did you mean "steps"?)'],
    [
      { ...BASE, optimizer: { momentum: 0.9 } },
      '$.optimizer: unknown key "momentum" (known keys: method, steps, learning_rate, restarts, seed, tolerance)',
    ],
    [
      { ...BASE, loss: { kind: "mse", sigma_init: 1 } },
      '$.loss: unknown key "sigma_init" (it belongs with "kind": "gaussian-nll")',
    ],
    [{ ...BASE, params: { k: { inti: 1 } } }, '$.params.k: unknown key "inti" (did you mean "init"?)'],
    [
      { ...BASE, program: { txt: "(+ 1 2)" } },
      `$.program.text: missing (expected the program's Scheme text); $.program: unknown key "txt" (did you mean "text"?)`,
    ],
    [{ ...BASE, plot: { x: "t", y: "y" } }, '$.plot: unknown key "y" (known keys: x)'],
  ];
  for (const [spec, message] of cases) assert.equal(specError(spec).message, message);
});

Deno.test("cross-field rules: bounds, target, data source, inputs", () => {
  const cases: [unknown, string][] = [
    [
      { ...BASE, params: { A: { transform: "bounded", lower: 1, upper: 0 } } },
      '$.params.A.upper: expected a number above "lower" (1), got 0',
    ],
    [
      { ...BASE, params: { A: { transform: "bounded", lower: 1, upper: 1 } } },
      '$.params.A.upper: expected a number above "lower" (1), got 1',
    ],
    [
      { ...BASE, params: { A: { transform: "bounded" } } },
      '$.params.A: "transform": "bounded" needs "lower" and "upper"',
    ],
    [
      { ...BASE, params: { A: { transform: "bounded", lower: 0 } } },
      '$.params.A: "transform": "bounded" needs "upper"',
    ],
    [
      { ...BASE, params: { A: { transform: "bounded", lower: 0, upper: 1, init: 1 } } },
      '$.params.A.init: expected a number strictly between "lower" and "upper" (0, 1), got 1',
    ],
    [
      { ...BASE, params: { A: { lower: 0 } } },
      '$.params.A.lower: "lower" is only used with "transform": "bounded" (this parameter is "free")',
    ],
    [
      { ...BASE, params: { k: { transform: "positive", init: -1 } } },
      '$.params.k.init: expected a number > 0 for "transform": "positive", got -1',
    ],
    [
      { ...BASE, target: undefined },
      `$.target: missing (expected the data column the program's value predicts; only "loss": {"kind": "program"} goes without)`,
    ],
    [{ ...BASE, data: {} }, '$.data: expected "csv" (a file path) or "columns" (inline data), got neither'],
    [
      { ...BASE, data: { csv: "a.csv", columns: { y: [1] } } },
      '$.data: expected "csv" (a file path) or "columns" (inline data), not both',
    ],
    [{ ...BASE, data: { columns: {} } }, "$.data.columns: expected at least one column, got none"],
    [
      { ...BASE, data: { columns: { t: [1, 2, 3], y: [1, 2] } } },
      "$.data.columns.y: has 2 values, but $.data.columns.t has 3 (columns must be of equal length)",
    ],
    [
      { ...BASE, inputs: { "a b": "time" } },
      '$.inputs["a b"]: expected a Scheme identifier as the program variable, got "a b"',
    ],
    [
      { ...BASE, inputs: { k: "time" }, params: { k: {} } },
      '$.inputs.k: "k" is both a program input and a parameter ($.params.k)',
    ],
  ];
  for (const [spec, message] of cases) assert.equal(specError(spec).message, message);
});

Deno.test("several problems are reported on one line, at most three and a count", () => {
  const e = specError({ ...BASE, backend: "gpu", mode: "fast", plot: { y: 1 }, extra: 1 });
  assert.equal(
    e.message,
    '$.backend: expected one of "tfjs", "tfjs-wasm", "f64", got "gpu"; ' +
      '$.mode: expected one of "interpreted", "direct", got "fast"; ' +
      "$.plot.x: missing (expected a data column name); and 2 more",
  );
});

Deno.test("spec errors point at the value, the unknown key, or the object missing a key", () => {
  const text = [
    "{",
    '  "name": "d", "program": "d.scm", "target": "y",',
    '  "data": { "csv": "d.csv" },',
    '  "optimizer": {',
    '    "steps": -3',
    "  }",
    "}",
  ].join("\n");
  let e = specError(JSON.parse(text));
  assert.throws(() => parseSpecText(text, "fixtures/specs/decay.json"), (err: DmciError) => {
    assert.equal(
      err.toString(),
      "spec error at fixtures/specs/decay.json:5:14: $.optimizer.steps: expected a positive integer, got -3",
    );
    return true;
  });
  const unknown = text.replace('"steps"', '"stepz"');
  assert.throws(() => parseSpecText(unknown, "u.json"), (err: DmciError) => {
    assert.deepEqual(err.span, { file: "u.json", line: 5, col: 5 });
    return true;
  });
  const missing = text.replace('"csv": "d.csv"', '"missing": "drop"').replace("-3", "3");
  assert.throws(() => parseSpecText(missing, "m.json"), (err: DmciError) => {
    assert.deepEqual(err.span, { file: "m.json", line: 3, col: 11 });
    return true;
  });
  // Without the text (an object from elsewhere) the message names where it came from.
  e = (() => {
    try {
      parseSpec({ ...BASE, optimizer: { steps: -3 } }, "request body");
    } catch (err) {
      return err as DmciError;
    }
    assert.fail("accepted");
  })();
  assert.equal(
    e.toString(),
    "spec error: request body: $.optimizer.steps: expected a positive integer, got -3",
  );
});

Deno.test("JSON syntax errors name the file, line and column", () => {
  const cases: [string, string][] = [
    ["", "spec error at j.json:1:1: invalid JSON: the file is empty"],
    ["{", 'spec error at j.json:1:2: invalid JSON: expected a "quoted" key, got the end of the file'],
    ['{\n  "a": 1,\n}', 'spec error at j.json:3:1: invalid JSON: a trailing comma before "}"'],
    ["[1, 2,]", 'spec error at j.json:1:7: invalid JSON: a trailing comma before "]"'],
    [
      "{'a': 1}",
      `spec error at j.json:1:2: invalid JSON: expected a "quoted" key, got "'" (JSON strings use double quotes)`,
    ],
    [
      '{\n "a": 1,\n "b" 2}',
      'spec error at j.json:3:6: invalid JSON: expected ":" after the key "b", got "2"',
    ],
    ['{"a": tru}', 'spec error at j.json:1:7: invalid JSON: expected a value, got "t"'],
    ['{"a": 1} x', 'spec error at j.json:1:10: invalid JSON: unexpected "x" after the end of the JSON value'],
    ['{"a": "x\ny"}', "spec error at j.json:1:9: invalid JSON: a string runs past the end of its line"],
    ['{"a": "x', "spec error at j.json:1:7: invalid JSON: a string is never closed"],
    ['{"a": "\\q"}', "spec error at j.json:1:7: invalid JSON: an invalid escape in a string"],
    ["// c\n{}", 'spec error at j.json:1:1: invalid JSON: expected a value, got "/" (JSON has no comments)'],
    [
      '{"a": 1 "b": 2}',
      'spec error at j.json:1:9: invalid JSON: expected "," or "}" after the value of "a", got "\\""',
    ],
    ['{"a": NaN}', 'spec error at j.json:1:7: invalid JSON: expected a value, got "N"'],
    ["[".repeat(300), "spec error at j.json:1:258: invalid JSON: nested more than 256 levels deep"],
    ['{"p": {"k": 1, "k": 2}}', 'spec error at j.json:1:16: $.p: duplicate key "k"'],
  ];
  for (const [text, message] of cases) assert.equal(textError(text), message);
});

Deno.test("the JSON parser agrees with JSON.parse on valid JSON, including escapes and __proto__", () => {
  const texts = [
    '{"a": [1, -2.5e-3, 0, true, false, null], "b": {"c": "\\u00e9\\n\\"q\\"\\ud83d\\ude00"}, "d": {}}',
    "\uFEFF  [ ]  ",
    '{"__proto__": {"x": 1}, "constructor": 2}',
    "-0",
    '"just a string"',
  ];
  for (const text of texts) {
    const { value } = parseJsonLocated(text, "p.json");
    assert.deepEqual(value, JSON.parse(text.replace(/^\uFEFF/, "")));
  }
  const { value } = parseJsonLocated('{"__proto__": {"polluted": 1}}', "p.json");
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value as object), ["__proto__"]);
});

Deno.test("formatPath writes identifiers with dots and anything else in brackets", () => {
  assert.equal(formatPath([]), "$");
  assert.equal(formatPath(["params", "k", "init"]), "$.params.k.init");
  assert.equal(formatPath(["data", "columns", "y", 3]), "$.data.columns.y[3]");
  assert.equal(formatPath(["params", "12:5"]), '$.params["12:5"]');
});

Deno.test("neededColumns lists inputs, target, split column and plot x once each, in order", () => {
  const spec = parseSpec({
    ...BASE,
    inputs: { t: "time", u: "u", t2: "time" },
    split: { kind: "column", column: "year", op: "<", value: 2000 },
    plot: { x: "time" },
  }, "n");
  assert.deepEqual(neededColumns(spec), ["time", "u", "y", "year"]);
  assert.deepEqual(
    neededColumns(parseSpec({ ...BASE, target: undefined, loss: { kind: "program", returns: "loss" } }, "n")),
    [
      "time",
    ],
  );
});

Deno.test("loadSpec reads the spec and its program relative to the spec's directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "specs", "progs"), { recursive: true });
    await Deno.writeTextFile(join(dir, "specs", "progs", "decay.scm"), "(define k 0.5)\n(* k t)\n");
    const file = join(dir, "specs", "decay.json");
    await Deno.writeTextFile(file, JSON.stringify({ ...BASE, program: "progs/decay.scm" }, null, 2));
    const loaded = await loadSpec(file);
    assert.equal(loaded.dir, join(dir, "specs"));
    assert.equal(loaded.file, file);
    assert.equal(loaded.programFile, join(dir, "specs", "progs", "decay.scm"));
    assert.equal(loaded.programText, "(define k 0.5)\n(* k t)\n");
    assert.equal(loaded.spec.optimizer.steps, 500);

    const inline = join(dir, "specs", "inline.json");
    await Deno.writeTextFile(inline, JSON.stringify({ ...BASE, program: { text: "(* 2 t)" } }));
    const li = await loadSpec(inline);
    assert.equal(li.programText, "(* 2 t)");
    assert.equal(li.programFile, `${inline}#program`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadSpec: unreadable spec or program files are one-line io errors naming them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = join(dir, "nope.json");
    await assert.rejects(() => loadSpec(missing), (e: DmciError) => {
      assert.equal(e.toString(), `io error: cannot read ${missing}: no such file`);
      return true;
    });
    const file = join(dir, "s.json");
    await Deno.writeTextFile(file, JSON.stringify(BASE));
    await assert.rejects(() => loadSpec(file), (e: DmciError) => {
      assert.equal(
        e.toString(),
        `io error: cannot read ${join(dir, "decay.scm")} (the program of ${file}): no such file`,
      );
      return true;
    });
    await assert.rejects(() => loadSpec(dir), (e: DmciError) => e.kind === "io" && !e.message.includes("\n"));
    const bad = join(dir, "bad.json");
    await Deno.writeTextFile(bad, '{\n  "name": "x",\n  "program": "p.scm",\n  "bogus": 1\n}\n');
    await assert.rejects(() => loadSpec(bad), (e: DmciError) => {
      assert.equal(
        e.toString(),
        `spec error at ${bad}:1:1: $.data: missing (expected an object with "csv" or "columns"); ` +
          `$: unknown key "bogus" (known keys: ${
            [
              "$schema",
              "name",
              "description",
              "program",
              "inputs",
              "target",
              "params",
              "data",
              "loss",
              "split",
              "optimizer",
              "backend",
              "mode",
              "plot",
            ].join(", ")
          })`,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("schema/spec.schema.json is what `deno run -A lib/fit/schema_gen.ts` generates", async () => {
  const committed = await Deno.readTextFile(SPEC_SCHEMA_FILE);
  assert.equal(committed, specJsonSchemaText(), "stale: run `deno run -A lib/fit/schema_gen.ts`");
  const schema = JSON.parse(committed);
  assert.equal(schema.title, "dmci model spec");
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ["name", "program", "data"]);
  assert.equal(schema.properties.optimizer.properties.steps.default, 500);
});
