/**
 * Tests of the run-time limits (lib/compile/runtime.ts): deep non-tail recursion works up to
 * 10⁴ under the test task's --stack-size, runaway recursion and endless loops end as `limit`
 * errors that say how to raise the limit (never a RangeError or a hang), and every run starts
 * with fresh limits.
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { DEFAULT_LIMITS, type Limits } from "../lib/compile/runtime.ts";
import { DmciError } from "../lib/errors.ts";
import { loadProgram, runProgram, runtimeFor } from "../lib/program.ts";
import { Session } from "../lib/session.ts";

const FILE = "l.scm";

function run(text: string, limits?: Partial<Limits>, backend: Backend = f64Backend): string {
  return runProgram(loadProgram(text, FILE), backend, { limits });
}

/** Asserts that `f` throws a `limit` DmciError (at `where`, if given) whose message contains every part. */
function assertLimit(f: () => unknown, parts: string[], where?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    assert.equal(e.kind, "limit", e.message);
    for (const part of parts) {
      assert.ok(
        e.message.includes(part),
        `message ${JSON.stringify(e.message)} should contain ${JSON.stringify(part)}`,
      );
    }
    if (where) assert.equal(e.span && `${e.span.file}:${e.span.line}:${e.span.col}`, where);
    return true;
  });
}

const SUM = "(define (sum n) (if (= n 0) 0 (+ n (sum (- n 1)))))";
const RUNAWAY = "(define (f n) (+ 1 (f n))) (f 1)";

// ---------------------------------------------------------------------------------------------
// Depth

Deno.test("non-tail recursion 10⁴ deep works", () => {
  assert.equal(run(`${SUM} (sum 10000)`), "50005000");
  assert.equal(
    run("(define (build n) (if (= n 0) '() (cons n (build (- n 1))))) (length (build 10000))"),
    "10000",
  );
});

Deno.test("non-tail recursion 10⁴ deep works on tfjs", () => {
  assert.equal(run(`${SUM} (sum 10000)`, undefined, tfjsBackend), "50005000");
});

Deno.test("the maxDepth limit ends runaway recursion with a limit error that says how to raise it", () => {
  assertLimit(
    () => run(RUNAWAY, { maxDepth: 500 }),
    ["recursion depth limit of 500 exceeded", "maxDepth"],
    "l.scm:1:20",
  );
  assertLimit(
    () => run(RUNAWAY, { maxDepth: 500 }, tfjsBackend),
    ["recursion depth limit of 500"],
    "l.scm:1:20",
  );
});

Deno.test("recursion below the maxDepth limit runs", () => {
  assert.equal(run(`${SUM} (sum 400)`, { maxDepth: 500 }), "80200");
  assertLimit(() => run(`${SUM} (sum 600)`, { maxDepth: 500 }), ["recursion depth limit of 500"]);
});

Deno.test("tail calls do not count towards the depth limit", () => {
  assert.equal(
    run("(define (loop i) (if (= i 0) 'done (loop (- i 1)))) (loop 100000)", { maxDepth: 10 }),
    "done",
  );
  assert.equal(
    run("(define (a n) (if (= n 0) 'done (b (- n 1)))) (define (b n) (a n)) (a 10000)", { maxDepth: 10 }),
    "done",
  );
});

Deno.test("depth counts calls made by primitives (map, apply) too", () => {
  assertLimit(() => run("(define (f n) (car (map f (list n)))) (f 1)", { maxDepth: 300 }), [
    "recursion depth limit of 300",
  ]);
  assertLimit(() => run("(define (f n) (+ 1 (apply f (list n)))) (f 1)", { maxDepth: 300 }), [
    "recursion depth limit",
  ]);
});

// Host stack overflows are provoked in a `deno run` subprocess (main thread, as `deno task run`
// runs), not in this process: `deno test` runs tests on 2 MiB threads, and with a --stack-size
// above that V8's RangeError comes too late and the whole test run aborts.

/** The script the subprocess runs: each program of argv, its result or error, as JSON lines. */
const HOST_STACK_SCRIPT = `
import { f64Backend } from ${JSON.stringify(new URL("../lib/backend/f64/mod.ts", import.meta.url).href)};
import { loadProgram, runProgram } from ${JSON.stringify(new URL("../lib/program.ts", import.meta.url).href)};
import { Session } from ${JSON.stringify(new URL("../lib/session.ts", import.meta.url).href)};
const [mode, maxDepth, ...programs] = Deno.args;
const limits = maxDepth === "default" ? undefined : { maxDepth: Number(maxDepth) };
for (const text of programs) {
  try {
    const value = mode === "session"
      ? new Session(f64Backend, { fuel: 1e8, maxDepth: limits?.maxDepth ?? 1e5 }).eval(text)
      : runProgram(loadProgram(text, "l.scm"), f64Backend, { limits });
    console.log(JSON.stringify({ value }));
  } catch (e) {
    console.log(JSON.stringify({ name: e.name, kind: e.kind, message: e.message }));
  }
}`;

/** Runs programs in a fresh `deno run` with the given V8 flags; one result object per program. */
async function runInSubprocess(
  v8Flags: string,
  mode: "program" | "session",
  maxDepth: number | "default",
  programs: string[],
): Promise<{ value?: string; name?: string; kind?: string; message?: string }[]> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, HOST_STACK_SCRIPT);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
        script,
        mode,
        String(maxDepth),
        ...programs,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `subprocess failed: ${stderr}`);
    return new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => JSON.parse(line));
  } finally {
    await Deno.remove(script);
  }
}

const RUNAWAYS = [
  RUNAWAY,
  "(define (f n) (car (map f (list n)))) (f 1)",
  "(define (f n) (+ 1 (apply f (list n)))) (f 1)",
  "(define (f . xs) (list (apply f xs))) (f 1)",
];

Deno.test("runaway recursion with the default limits is a limit error, never a RangeError", async () => {
  for (const flags of ["", "--stack-size=4000"]) {
    const results = await runInSubprocess(flags, "program", "default", RUNAWAYS);
    results.forEach((r, i) => {
      assert.equal(r.kind, "limit", `${RUNAWAYS[i]} with ${flags || "no flags"}: ${JSON.stringify(r)}`);
      assert.match(r.message!, /recursion/);
    });
  }
});

Deno.test("a host stack overflow becomes a limit error that says what to do, in programs and sessions", async () => {
  // A depth limit far above what the host stack allows forces the host-stack path.
  for (const mode of ["program", "session"] as const) {
    const [r] = await runInSubprocess("", mode, 1e9, [RUNAWAY]);
    assert.equal(r.kind, "limit", `${mode}: ${JSON.stringify(r)}`);
    for (const part of ["host stack exhausted", "--stack-size", "maxDepth"]) {
      assert.ok(r.message!.includes(part), r.message);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Fuel

Deno.test("fuel exhaustion ends an endless loop with a limit error naming the limit and how to raise it", () => {
  assertLimit(() => run("(define (loop) (loop)) (loop)", { fuel: 10000 }), ["step limit of 10000", "fuel"]);
});

Deno.test("fuel ends endless loops of every shape", () => {
  const loops = [
    "(let loop ((i 0)) (loop (+ i 1)))",
    "(define (a) (b)) (define (b) (a)) (a)",
    "(do ((i 0 (+ i 1))) (#f))",
    "(define (f g) (g g)) (f f)",
    "(define (loop) (apply loop '())) (loop)",
    "(define (f k) (f (lambda () (k)))) (f (lambda () 1))",
  ];
  for (const text of loops) assertLimit(() => run(text, { fuel: 10000 }), ["step limit of 10000"]);
});

Deno.test("a program within its fuel runs, and every run starts with full fuel", () => {
  const prog = loadProgram("(let loop ((i 0)) (if (< i 5000) (loop (+ i 1)) i))", FILE);
  for (let k = 0; k < 3; k++) assert.equal(runProgram(prog, f64Backend, { limits: { fuel: 10000 } }), "5000");
  assertLimit(() => runProgram(prog, f64Backend, { limits: { fuel: 1000 } }), ["step limit of 1000"]);
});

Deno.test("a run after a limit error starts with fresh depth and fuel", () => {
  assertLimit(() => run(RUNAWAY, { maxDepth: 500 }), ["recursion depth limit of 500"]);
  assert.equal(run(`${SUM} (sum 400)`, { maxDepth: 500 }), "80200");
  assertLimit(() => run(RUNAWAY, { maxDepth: 5000 }), ["recursion depth limit of 5000"]);
  assert.equal(run(`${SUM} (sum 10000)`), "50005000");
  assert.equal(runtimeFor(f64Backend).depth, 0);
});

Deno.test("unset limits take the defaults", () => {
  assert.deepEqual(DEFAULT_LIMITS, { fuel: 100_000_000, maxDepth: 100_000 });
  assertLimit(() => run(RUNAWAY, { fuel: 5000 }), ["step limit of 5000"]);
});

// ---------------------------------------------------------------------------------------------
// Limits in a REPL session

Deno.test("a session applies its limits to every input and survives a limit error", () => {
  const s = new Session(f64Backend, { fuel: 10000, maxDepth: 200 });
  s.eval("(define (loop) (loop))");
  assertLimit(() => s.eval("(loop)"), ["step limit of 10000"]);
  assertLimit(() => s.eval(RUNAWAY), ["recursion depth limit of 200"]);
  assert.equal(s.eval("(+ 1 2)"), "3");
});

Deno.test("stackLimit converts only host stack overflows", () => {
  const rt = runtimeFor(f64Backend);
  const other = new TypeError("x");
  assert.equal(rt.stackLimit(other), other);
  const converted = rt.stackLimit(new RangeError("Maximum call stack size exceeded"));
  assert.ok(converted instanceof DmciError && converted.kind === "limit");
});

Deno.test("string-append past the host's longest string is a limit error, not a RangeError (issue 13)", () => {
  const doubling = `(define (grow s n) (if (= n 0) s (grow (string-append s s) (- n 1))))
(string? (grow "abcdefgh" 40))`;
  const col = doubling.indexOf("(string-append") + 1;
  assertLimit(() => run(doubling), ["string-append", "limit"], `${FILE}:1:${col}`);
});
