/**
 * Tests of the command line (cli.ts, run as a `deno run` subprocess on temp files) and of the
 * REPL session behind `repl` (lib/session.ts, in process): values printed in write syntax on
 * both backends, one-line errors with kind and file:line:col, --json documents, usage
 * mistakes, and a REPL that keeps its definitions and survives errors.
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import { DmciError } from "../lib/errors.ts";
import { isIncomplete, Session } from "../lib/session.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

interface Output {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in `dir` with `args` (and `stdin`, if given). */
async function cli(dir: string, args: string[], stdin?: string, v8Flags: string[] = []): Promise<Output> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...v8Flags, CLI, ...args],
    cwd: dir,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A temp folder holding the given files; removed after `body`. */
async function withFiles(files: Record<string, string>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dmci_cli_" });
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that stderr is exactly one line (no stack trace) and returns it. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.ok(!/^\s+at /m.test(stderr), "no stack trace");
  return lines[0];
}

const VALUES = `(define (f x) (* x 2))
(list (f 21) "a\\"b\\\\c\\nd" #t #f ''x '(1 . 2) '(a (b c)) (quote ()) 2.5)
`;
const VALUES_WRITTEN = '(42 "a\\"b\\\\c\\nd" #t #f (quote x) (1 . 2) (a (b c)) () 2.5)';

// ---------------------------------------------------------------------------------------------
// run

Deno.test("cli run prints the value in write syntax on the default tfjs backend", async () => {
  await withFiles(
    { "v.scm": VALUES, "t.scm": "(list (tensor '((1 2) (3 4))) (sum (tensor '(1 2 3))))" },
    async (dir) => {
      const v = await cli(dir, ["run", "v.scm"]);
      assert.equal(v.code, 0, v.stderr);
      assert.equal(v.stdout, VALUES_WRITTEN + "\n");
      const t = await cli(dir, ["run", "t.scm"]);
      assert.equal(t.code, 0, t.stderr);
      assert.equal(t.stdout, "(#<tensor (2 2) ((1 2) (3 4))> 6)\n");
    },
  );
});

Deno.test("cli run --backend f64 prints the same values", async () => {
  await withFiles({ "v.scm": VALUES, "t.scm": "(tensor '((1 2) (3 4)))" }, async (dir) => {
    const v = await cli(dir, ["run", "v.scm", "--backend", "f64"]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, VALUES_WRITTEN + "\n");
    const t = await cli(dir, ["run", "--backend", "f64", "t.scm"]);
    assert.equal(t.stdout, "#<tensor (2 2) ((1 2) (3 4))>\n");
  });
});

Deno.test("cli run errors print one line 'kind error at file:line:col: message' and exit 1", async () => {
  const files = {
    "type.scm": "(define (g x) (car x))\n(g 5)\n",
    "read.scm": "(+ 1\n  (* 2 3)\n",
    "syntax.scm": "(let ((x)) x)",
    "unbound.scm": "(define (f) (+ 1 nope))\n(f)",
    "user.scm": '(error "bad value:" 42)',
    "loop.scm": "(define (loop) (loop))\n(loop)",
  };
  const expected: Record<string, string> = {
    "type.scm": "type error at type.scm:1:15: car: expected a pair as argument 1, got 5",
    "read.scm": "read error at read.scm:1:1: unbalanced parenthesis: '(' opened here is never closed",
    "syntax.scm": "syntax error at syntax.scm:1:7: let: expected a binding (name expression), got (x)",
    "unbound.scm": "unbound error at unbound.scm:1:18: unbound variable: nope",
    "user.scm": "user error at user.scm:1:1: bad value: 42",
  };
  await withFiles(files, async (dir) => {
    for (const [file, line] of Object.entries(expected)) {
      const out = await cli(dir, ["run", file, "--backend", "f64"]);
      assert.equal(out.code, 1, file);
      assert.equal(out.stdout, "", file);
      assert.equal(oneLine(out.stderr), line);
    }
    const out = await cli(dir, ["run", "loop.scm", "--backend", "f64", "--fuel", "1000"]);
    assert.equal(out.code, 1);
    assert.match(
      oneLine(out.stderr),
      /^limit error at loop\.scm:2:1: step limit of 1000 evaluation steps exceeded/,
    );
  });
});

Deno.test("cli run turns runaway recursion into a limit error, on tfjs too", async () => {
  await withFiles({ "deep.scm": "(define (f n) (+ 1 (f n)))\n(f 1)\n" }, async (dir) => {
    for (const args of [["--max-depth", "1000"], []]) {
      const out = await cli(dir, ["run", "deep.scm", ...args]);
      assert.equal(out.code, 1, out.stderr);
      assert.match(oneLine(out.stderr), /^limit error at deep\.scm:1:20: .*recursion/);
    }
  });
});

Deno.test("cli run --json prints one JSON document, for a value and for an error", async () => {
  await withFiles({ "ok.scm": '(list 1 "two" 3.5)', "bad.scm": "(car 5)" }, async (dir) => {
    const ok = await cli(dir, ["run", "ok.scm", "--json", "--backend", "f64"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { file: "ok.scm", backend: "f64", value: '(1 "two" 3.5)' });
    const bad = await cli(dir, ["run", "bad.scm", "--json", "--backend", "f64"]);
    assert.equal(bad.code, 1);
    assert.deepEqual(JSON.parse(bad.stdout), {
      error: {
        kind: "type",
        message: "car: expected a pair as argument 1, got 5",
        span: { file: "bad.scm", line: 1, col: 1 },
      },
    });
    oneLine(bad.stderr);
  });
});

Deno.test("cli usage mistakes exit non-zero with a clear one-line message", async () => {
  await withFiles({ "ok.scm": "1" }, async (dir) => {
    const cases: [string[], number, RegExp][] = [
      [["frobnicate"], 2, /^usage error: unknown command 'frobnicate'/],
      [["run"], 2, /^usage error: run: expected exactly one FILE\.scm/],
      [["run", "ok.scm", "--bogus"], 2, /^usage error: .*--bogus/],
      [
        ["run", "ok.scm", "--fuel", "lots"],
        2,
        /^usage error: --fuel: expected a positive integer, got 'lots'/,
      ],
      [["run", "missing.scm"], 1, /^io error: cannot read missing\.scm: /],
      [
        ["run", "ok.scm", "--backend", "abacus"],
        1,
        /unknown backend 'abacus': expected one of tfjs, tfjs-wasm, f64/,
      ],
    ];
    for (const [args, code, line] of cases) {
      const out = await cli(dir, args);
      assert.equal(out.code, code, `${args.join(" ")}: ${out.stderr}`);
      assert.match(oneLine(out.stderr), line);
    }
    const none = await cli(dir, []);
    assert.notEqual(none.code, 0);
    assert.match(none.stdout, /usage: /);
    const help = await cli(dir, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /run FILE\.scm/);
  });
});

// ---------------------------------------------------------------------------------------------
// repl

Deno.test("cli repl reads multi-line input from stdin, keeps definitions and survives errors", async () => {
  const input = [
    "(define (sq x)",
    "  (* x x))",
    "(sq 7)",
    "(car 5)",
    '"still here"',
    "(define (f n) (+ 1 (f n)))",
    "(f 1)",
    "(define (car x) 'mine) (car '(1))",
    "(list (sq 3)",
    "      'done)",
    "(+ 1 2",
  ].join("\n");
  await withFiles({}, async (dir) => {
    const out = await cli(dir, ["repl", "--backend", "f64"], input);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "49");
    assert.equal(lines[1], "type error at <repl:3>:1:1: car: expected a pair as argument 1, got 5");
    assert.equal(lines[2], '"still here"');
    // The position is the recursive call, in the input that defined f.
    assert.match(lines[3], /^limit error at <repl:5>:1:20: .*recursion/);
    assert.equal(lines[4], "mine");
    assert.equal(lines[5], "(9 done)");
    // The last input has no closing parenthesis: end of input makes it a read error, not a hang.
    assert.match(lines[6], /^read error at <repl:9>:1:1: /);
    assert.equal(lines.length, 7, out.stdout);
  });
});

Deno.test("cli repl on the default tfjs backend keeps tensors bound to globals", async () => {
  await withFiles({}, async (dir) => {
    const out = await cli(dir, ["repl"], "(define a (tensor '((1 2) (3 4))))\n(matmul a a)\n(sum a)\n");
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, "#<tensor (2 2) ((7 10) (15 22))>\n10\n");
  });
});

Deno.test("cli repl prints nothing for definitions and reads the last line without a newline", async () => {
  await withFiles({}, async (dir) => {
    const out = await cli(dir, ["repl", "--backend", "f64"], "(define x 41)\n(+ x 1)");
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, "42\n");
  });
});

// ---------------------------------------------------------------------------------------------
// The REPL session (lib/session.ts)

Deno.test("session definitions persist across inputs", () => {
  const s = new Session(f64Backend);
  assert.equal(s.eval("(define (sq x) (* x x))"), "");
  assert.equal(s.eval("(define k 3)"), "");
  assert.equal(s.eval("(sq k)"), "9");
  assert.equal(s.eval("(set! k 4) (sq k)"), "16");
  assert.equal(s.eval("(define (counter) (set! k (+ k 1)) k)"), "");
  s.eval("(counter)");
  assert.equal(s.eval("(counter)"), "6");
});

Deno.test("session returns the last value of an input, or nothing for definitions", () => {
  const s = new Session(f64Backend);
  assert.equal(s.eval('1 2 \'(a "b")'), '(a "b")');
  assert.equal(s.eval("(define x 1)"), "");
  assert.equal(s.eval(""), "");
});

Deno.test("session: redefining a primitive in one input affects later inputs", () => {
  const s = new Session(f64Backend);
  assert.equal(s.eval("(car '(1 2))"), "1");
  s.eval("(define (car x) 42)");
  assert.equal(s.eval("(car '(1 2))"), "42");
  assert.equal(s.eval("(let ((car cdr)) (car '(1 2)))"), "(2)");
  assert.equal(s.eval("(car '(1 2))"), "42");
});

Deno.test("session: redefining a primitive also changes procedures defined earlier", () => {
  const s = new Session(f64Backend);
  s.eval("(define (first l) (car l))");
  assert.equal(s.eval("(first '(1 2))"), "1");
  s.eval("(define (car x) 'redefined)");
  assert.equal(s.eval("(first '(1 2))"), "redefined");
});

Deno.test("session: set! of a primitive name affects later inputs", () => {
  const s = new Session(f64Backend);
  s.eval("(set! car cdr)");
  assert.equal(s.eval("(car '(1 2))"), "(2)");
});

Deno.test("session: redefining a procedure reaches callers compiled before, even self-recursive ones", () => {
  const s = new Session(f64Backend);
  s.eval("(define (f n) (if (= n 0) 'old (f (- n 1))))");
  s.eval("(define g f)");
  s.eval("(define (f n) 'new)");
  // g is the old f; its recursive call names the global f, which is now the new one.
  assert.equal(s.eval("(g 3)"), "new");
});

Deno.test("session: a procedure redefined as a non-procedure is a type error when called", () => {
  const s = new Session(f64Backend);
  s.eval("(define (f) 1) (define (g) (f))");
  s.eval("(define f 5)");
  assert.throws(() => s.eval("(g)"), (e: unknown) => {
    assert.ok(e instanceof DmciError);
    assert.equal(e.toString(), "type error at <repl:1>:1:28: attempt to call a non-procedure: 5");
    return true;
  });
});

Deno.test("session on tfjs: tensors held by globals, directly or in lists, survive between inputs", () => {
  const s = new Session(tfjsBackend);
  s.eval("(define t (tensor '(1 2)))");
  assert.equal(s.eval("t"), "#<tensor (2) (1 2)>");
  assert.equal(s.eval("(sum t)"), "3");
  s.eval("(define l (list 1 (tensor '((1 2) (3 4))) (list t)))");
  assert.equal(s.eval("(matmul (cadr l) (cadr l))"), "#<tensor (2 2) ((7 10) (15 22))>");
  assert.equal(s.eval("(sum (car (caddr l)))"), "3");
  s.eval("(define m (sum t))");
  assert.equal(s.eval("(* m 2)"), "6");
});

Deno.test("session on tfjs: a tensor captured only by a procedure is a type error later, not a crash", () => {
  const s = new Session(tfjsBackend);
  s.eval("(define f (let ((u (tensor '(5 6)))) (lambda () u)))");
  assert.throws(() => s.eval("(f)"), (e: unknown) => {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    assert.equal(e.kind, "type");
    assert.match(e.message, /tensor made by an earlier input is gone/);
    return true;
  });
  // A primitive given the released tensor reports a type error of its own.
  assert.throws(() => s.eval("(sum (f))"), (e: unknown) => e instanceof DmciError && e.kind === "type");
  assert.equal(s.eval("(+ 1 2)"), "3");
});

Deno.test("session: tail calls stay proper in the REPL", () => {
  const s = new Session(f64Backend);
  s.eval("(define (loop i) (if (= i 0) 'done (loop (- i 1))))");
  assert.equal(s.eval("(loop 100000)"), "done");
  assert.equal(s.eval("(let loop ((i 0)) (if (< i 100000) (loop (+ i 1)) i))"), "100000");
});

Deno.test("session: an error does not lose earlier definitions", () => {
  const s = new Session(f64Backend);
  s.eval("(define x 5)");
  assert.throws(() => s.eval("(car x)"), (e: unknown) => e instanceof DmciError && e.kind === "type");
  assert.throws(() => s.eval("(+ 1"), (e: unknown) => e instanceof DmciError && e.kind === "read");
  assert.equal(s.eval("x"), "5");
});

Deno.test("session errors name the input they came from", () => {
  const s = new Session(f64Backend);
  s.eval("1");
  assert.throws(() => s.eval("\n  (undefined-thing)"), (e: unknown) => {
    assert.ok(e instanceof DmciError);
    assert.equal(e.toString(), "unbound error at <repl:2>:2:4: unbound variable: undefined-thing");
    return true;
  });
});

Deno.test("isIncomplete is true exactly for input that needs more lines", () => {
  for (const text of ["(define (f x)", '"abc', "'", "#| comment", "(a .", "#;", "(a (b", '(a "b'] as const) {
    assert.equal(isIncomplete(text), true, text);
  }
  for (const text of ["(+ 1 2)", "", "; comment", "x", ")", "(a))", "(a . b c)", "[", '"a\\"b"'] as const) {
    assert.equal(isIncomplete(text), false, text);
  }
});
