/**
 * Tests of the compiler and its runtime (lib/compile/): proper tail calls in every tail
 * position, left-to-right evaluation, fresh loop bindings, letrec initialisation order,
 * every run-time error kind with the position of the call at fault, compiling once and
 * running at many θ, and parameters inside quoted data. Mostly on f64, a few on tfjs.
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { compile, compileCount, instantiate } from "../lib/compile/compiler.ts";
import { DmciError, type ErrorKind } from "../lib/errors.ts";
import { expandProgram } from "../lib/expand/expander.ts";
import { loadProgram, runProgram, runtimeFor, valueAndGrad } from "../lib/program.ts";
import { read } from "../lib/read/reader.ts";

const FILE = "c.scm";

/** The value of a program in write syntax (f64 unless a backend is given). */
function run(text: string, backend: Backend = f64Backend): string {
  return runProgram(loadProgram(text, FILE), backend);
}

/**
 * Asserts that running `text` fails with a DmciError of `kind` at `line:col` whose message
 * contains `part` (never a host error such as RangeError or TypeError).
 */
function assertRunError(
  text: string,
  kind: ErrorKind,
  where: string,
  part: string,
  backend: Backend = f64Backend,
): void {
  assert.throws(() => run(text, backend), (e: unknown) => {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    assert.equal(e.kind, kind, e.message);
    assert.ok(e.span, `${kind} errors carry a span`);
    assert.equal(e.span.file, FILE);
    assert.equal(`${e.span.line}:${e.span.col}`, where, `position of: ${e.message}`);
    assert.ok(
      e.message.includes(part),
      `message ${JSON.stringify(e.message)} should contain ${JSON.stringify(part)}`,
    );
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Proper tail calls (these would overflow the host stack if tail calls grew it)

Deno.test("a named let of 10⁶ iterations runs in constant stack", () => {
  assert.equal(run("(let loop ((i 0)) (if (< i 1000000) (loop (+ i 1)) i))"), "1000000");
});

Deno.test("10⁵-deep mutual tail recursion runs in constant stack", () => {
  const evenOdd = `(define (ev? n) (if (= n 0) #t (od? (- n 1))))
                   (define (od? n) (if (= n 0) #f (ev? (- n 1))))`;
  assert.equal(run(`${evenOdd} (ev? 100000)`), "#t");
  assert.equal(run(`${evenOdd} (list (od? 100001) (ev? 100001))`), "(#t #f)");
});

Deno.test("local mutual tail recursion (letrec) runs in constant stack", () => {
  assert.equal(
    run(`(letrec ((ev? (lambda (n) (if (= n 0) #t (od? (- n 1)))))
                  (od? (lambda (n) (if (= n 0) #f (ev? (- n 1))))))
           (ev? 100000))`),
    "#t",
  );
});

Deno.test("a tail call through apply is a proper tail call", () => {
  assert.equal(run("(define (loop i) (if (= i 0) 'done (apply loop (list (- i 1))))) (loop 100000)"), "done");
  assert.equal(run("(define (loop i) (if (= i 0) 'done (apply loop (- i 1) '()))) (loop 100000)"), "done");
  // apply passed around as a value still tail-calls.
  assert.equal(
    run("(define (loop ap i) (if (= i 0) 'done (ap loop ap (list (- i 1))))) (loop apply 100000)"),
    "done",
  );
  // Mutual recursion where only one side uses apply.
  assert.equal(
    run(`(define (a n) (if (= n 0) 'a (apply b (list (- n 1)))))
         (define (b n) (if (= n 0) 'b (a (- n 1))))
         (a 100001)`),
    "b",
  );
});

Deno.test("apply in tail position keeps apply's argument checks", () => {
  assertRunError(
    "(define (f) (apply 5 '(1))) (f)",
    "type",
    "1:13",
    "apply: expected a procedure as argument 1, got 5",
  );
  assertRunError(
    "(define (f) (apply car 5)) (f)",
    "type",
    "1:13",
    "apply: expected a proper list as argument 2, got 5",
  );
  assertRunError(
    "(define (f) (apply car '(1 2))) (f)",
    "arity",
    "1:13",
    "car: expected 1 argument(s), got 2",
  );
  assertRunError(
    "(define ap apply) (define (f) (ap car)) (f)",
    "arity",
    "1:31",
    "apply: expected at least 2 argument(s)",
  );
  assert.equal(run("(define (f) (apply + 1 2 '(3 4))) (f)"), "10");
  assert.equal(run("(apply apply (list + (list 1 2)))"), "3");
});

Deno.test("tail calls through cond, case, and, or, when and unless are proper", () => {
  const loops: Record<string, string> = {
    cond: "(define (loop i) (cond ((= i 0) 'done) (else (loop (- i 1)))))",
    "cond =>": "(define (loop i) (cond ((= i 0) 'done) ((- i 1) => loop)))",
    case: "(define (loop i) (case i ((0) 'done) (else (loop (- i 1)))))",
    and: "(define (loop i) (and #t (if (= i 0) 'done (loop (- i 1)))))",
    or: "(define (loop i) (or (and (= i 0) 'done) (loop (- i 1))))",
    when: "(define (loop i) (when #t (if (= i 0) 'done (loop (- i 1)))))",
    unless: "(define (loop i) (unless #f (if (= i 0) 'done (loop (- i 1)))))",
    "let body": "(define (loop i) (let ((j (- i 1))) (if (< j 0) 'done (loop j))))",
    "let* body": "(define (loop i) (let* ((j (- i 1)) (k j)) (if (< k 0) 'done (loop k))))",
    "begin": "(define (loop i) (begin 1 (if (= i 0) 'done (loop (- i 1)))))",
  };
  for (const [form, def] of Object.entries(loops)) {
    assert.equal(run(`${def} (loop 100000)`), "done", form);
  }
});

Deno.test("a tail call to a procedure passed as an argument is proper (CPS loop)", () => {
  assert.equal(
    run(
      "(define (loop i k) (if (= i 0) (k 'done) (loop (- i 1) (lambda (v) (k v))))) (loop 100000 (lambda (v) v))",
    ),
    "done",
  );
  assert.equal(run("(define (run f n) (if (= n 0) 'done (f f (- n 1)))) (run run 100000)"), "done");
  assert.equal(
    run(
      "(define (twice f x) (f x)) (define (count n) (if (= n 0) 'done (twice count (- n 1)))) (count 100000)",
    ),
    "done",
  );
});

Deno.test("a self tail call with the wrong argument count is an arity error, not a loop", () => {
  assertRunError(
    "(define (f x) (if (= x 0) 0 (f))) (f 1)",
    "arity",
    "1:29",
    "f: expected 1 argument(s), got 0",
  );
});

// ---------------------------------------------------------------------------------------------
// Evaluation order and bindings

Deno.test("arguments are evaluated left to right", () => {
  const next = "(define n 0) (define (next) (set! n (+ n 1)) n)";
  assert.equal(run(`${next} (list (next) (next) (next))`), "(1 2 3)");
  assert.equal(run(`${next} (define (f a b c) (list a b c)) (f (next) (next) (next))`), "(1 2 3)");
  assert.equal(run(`${next} (- (next) (next))`), "-1");
  assert.equal(run(`${next} ((lambda (a b) (list a b)) (next) (next))`), "(1 2)");
  assert.equal(run(`${next} (cons (next) (cons (next) '()))`), "(1 2)");
});

Deno.test("a variable read before a later argument assigns it keeps its old value", () => {
  assert.equal(run("(let ((x 1)) (list x (begin (set! x 10) x) x))"), "(1 10 10)");
  assert.equal(run("(define x 1) (list x (begin (set! x 10) x))"), "(1 10)");
  assert.equal(run("(define (f a b) (list a b)) (let ((x 1)) (f x (begin (set! x 2) x)))"), "(1 2)");
  assert.equal(run("(let ((x 1)) (+ x (begin (set! x 10) x)))"), "11");
});

Deno.test("an assigned parameter read before a later argument assigns it keeps its old value", () => {
  assert.equal(run("(define (f x) (list x (begin (set! x 2) x) x)) (f 1)"), "(1 2 2)");
  assert.equal(run("(define (f x) (define (g a b) (list a b)) (g x (begin (set! x 5) x))) (f 1)"), "(1 5)");
});

Deno.test("let inits are evaluated left to right", () => {
  assert.equal(
    run("(define n 0) (define (next) (set! n (+ n 1)) n) (let ((a (next)) (b (next))) (list a b))"),
    "(1 2)",
  );
});

Deno.test("closures made in a named let capture a fresh binding per iteration", () => {
  assert.equal(
    run(`(define fs (let loop ((i 0) (fs '())) (if (= i 3) fs (loop (+ i 1) (cons (lambda () i) fs)))))
         (map (lambda (f) (f)) fs)`),
    "(2 1 0)",
  );
});

Deno.test("closures made in a do loop capture a fresh binding per iteration", () => {
  assert.equal(
    run(`(define fs '())
         (do ((i 0 (+ i 1))) ((= i 3)) (set! fs (cons (lambda () i) fs)))
         (map (lambda (f) (f)) fs)`),
    "(2 1 0)",
  );
});

Deno.test("closures made in a self-looping global procedure capture a fresh binding per iteration", () => {
  assert.equal(
    run(`(define (collect i acc) (if (= i 3) acc (collect (+ i 1) (cons (lambda () i) acc))))
         (map (lambda (f) (f)) (collect 0 '()))`),
    "(2 1 0)",
  );
});

Deno.test("a closure sees later assignments to the variable it captured", () => {
  assert.equal(run("(define (f n) (let ((g (lambda () n))) (set! n 5) (g))) (f 1)"), "5");
});

Deno.test("lexical scope: a procedure sees the bindings where it was made", () => {
  assert.equal(run("(let ((x 'outer)) (define (g) x) (let ((x 'inner)) (g)))"), "outer");
});

Deno.test("a letrec variable used before its initialiser ran is an unbound error, not a host error", () => {
  assertRunError("(letrec ((a b) (b 1)) a)", "unbound", "1:13", "variable b used before its definition");
  assertRunError("(letrec ((a (f)) (f (lambda () 1))) a)", "unbound", "1:14", "variable f used before");
  assertRunError(
    "(define (h) (define a (g)) (define (g) 1) a) (h)",
    "unbound",
    "1:24",
    "variable g used before",
  );
  assertRunError(
    "(define (h) (define (g) b) (define a (g)) (define b 2) a) (h)",
    "unbound",
    "1:25",
    "variable b used before",
  );
  // Forward references from lambdas that run after initialisation are fine.
  assert.equal(run("(define (h) (define a 1) (define (g) b) (define b 2) (+ a (g))) (h)"), "3");
});

// ---------------------------------------------------------------------------------------------
// Run-time errors: kind and position

Deno.test("an unbound variable is reported at the reference", () => {
  assertRunError("(+ 1 y)", "unbound", "1:6", "unbound variable: y");
  assertRunError("(define (f)\n  (* 2 zz))\n(f)", "unbound", "2:8", "unbound variable: zz");
  assertRunError("(set! zz 1)", "unbound", "1:1", "unbound variable: zz");
  assertRunError("(define (f) (g)) (f)", "unbound", "1:14", "unbound variable: g");
});

Deno.test("calling a global procedure before its define ran is an unbound error at the reference", () => {
  assertRunError("(define (g) (f)) (define x (g)) (define (f) 1)", "unbound", "1:14", "unbound variable: f");
  assertRunError("(define (g) (+ 1 (f))) (g) (define (f) 1)", "unbound", "1:19", "unbound variable: f");
});

Deno.test("a global procedure later assigned a non-procedure is a type error when called", () => {
  assertRunError("(define (f) 1) (set! f 5) (f)", "type", "1:27", "attempt to call a non-procedure: 5");
  assertRunError(
    "(define (f) 1) (define f 5) (+ 1 (f))",
    "type",
    "1:34",
    "attempt to call a non-procedure: 5",
  );
});

Deno.test("a lambda called with the wrong argument count is an arity error at the call", () => {
  assertRunError("(define (f x) x) (f 1 2)", "arity", "1:18", "f: expected 1 argument(s), got 2");
  assertRunError("(define (f x) x)\n(+ 1 (f))", "arity", "2:6", "f: expected 1 argument(s), got 0");
  assertRunError("((lambda (x) x))", "arity", "1:1", "lambda: expected 1 argument(s), got 0");
  assertRunError("(define (f a . r) a) (f)", "arity", "1:22", "f: expected at least 1 argument(s), got 0");
  assertRunError("(let ((g (lambda (a b) a))) (g 1))", "arity", "1:29", "g: expected 2 argument(s), got 1");
});

Deno.test("a primitive called with the wrong argument count is an arity error at the call", () => {
  assertRunError("(car 1 2)", "arity", "1:1", "car: expected 1 argument(s), got 2");
  assertRunError("(+ 1 (car 1 2))", "arity", "1:6", "car: expected 1 argument(s), got 2");
  assertRunError("(define (f) (cons 1)) (f)", "arity", "1:13", "cons: expected 2 argument(s), got 1");
  assertRunError("(let ((c car)) (c 1 2))", "arity", "1:16", "car: expected 1 argument(s), got 2");
  assertRunError("(map car '(1) '(2))", "arity", "1:1", "car: expected 1 argument(s), got 2");
});

Deno.test("a wrong argument count to a primitive is raised only when the call is reached", () => {
  assert.equal(run("(if #f (car 1 2) 'fine)"), "fine");
});

Deno.test("type errors are reported at the call with the culprit", () => {
  assertRunError("(car 5)", "type", "1:1", "car: expected a pair as argument 1, got 5");
  assertRunError('(+ 1 "a")', "type", "1:1", '+: expected a number as argument 2, got "a"');
  assertRunError("(list 1\n  (- 1 'x))", "type", "2:3", "-: expected a number as argument 2, got x");
});

Deno.test("calling a non-procedure is a type error at the call", () => {
  assertRunError("(5 3)", "type", "1:1", "attempt to call a non-procedure: 5");
  assertRunError("(define x 5) (x 3)", "type", "1:14", "attempt to call a non-procedure: 5");
  assertRunError(
    "(define (f) ('(1 2) 3)) (list (f))",
    "type",
    "1:13",
    "attempt to call a non-procedure: (1 2)",
  );
  assertRunError('(define (f g) (g 1)) (f "s")', "type", "1:15", 'attempt to call a non-procedure: "s"');
  assertRunError("(map 5 '(1))", "type", "1:1", "map: expected a procedure as argument 1, got 5");
});

Deno.test("error raises a user error whose message includes the irritants", () => {
  assertRunError('(error "msg" 1 2)', "user", "1:1", "msg 1 2");
  assertRunError(
    `(define (check x) (if (< x 0) (error "negative:" x 'in "f" '(1 2)) x)) (check -3)`,
    "user",
    "1:31",
    'negative: -3 in "f" (1 2)',
  );
  assert.throws(() => run('(error "bad" 1 (quote a))'), (e: unknown) => {
    assert.ok(e instanceof DmciError);
    assert.equal(e.irritants.length, 2);
    assert.equal(e.toString(), "user error at c.scm:1:1: bad 1 a");
    return true;
  });
});

Deno.test("errors raised inside nested calls report the innermost call's position", () => {
  const g = "(define (g x) (car x))";
  assertRunError(`${g} (define (f x) (+ 1 (g x))) (f 5)`, "type", "1:15", "car: expected a pair");
  assertRunError(`${g} (define (f x) (g x)) (+ 1 (f 5))`, "type", "1:15", "car: expected a pair");
  assertRunError(`${g} (define (f x) (map g x)) (f '(5))`, "type", "1:15", "car: expected a pair");
  assertRunError(`${g} (define (f x) (apply g (list x))) (f 5)`, "type", "1:15", "car: expected a pair");
  assertRunError(
    "(define (f) (g)) (define (g) (h)) (define (h) (car 5)) (+ 1 (f))",
    "type",
    "1:47",
    "car: expected a pair",
  );
  assertRunError(
    "(define (h x) (x))\n(define (g) (h 5))\n(g)",
    "type",
    "1:15",
    "attempt to call a non-procedure: 5",
  );
  assertRunError(
    "(define (g a) a) (define (f) (g 1 2)) (+ 1 (f))",
    "arity",
    "1:30",
    "g: expected 1 argument(s), got 2",
  );
});

Deno.test("errors carry the same kind and position on tfjs", () => {
  assertRunError("(define (g x) (car x)) (g 5)", "type", "1:15", "car: expected a pair", tfjsBackend);
  assertRunError("(define (f x) x) (f 1 2)", "arity", "1:18", "f: expected 1", tfjsBackend);
  assertRunError("(+ 1 y)", "unbound", "1:6", "unbound variable: y", tfjsBackend);
});

// ---------------------------------------------------------------------------------------------
// Compile once, run many times

Deno.test("compileCount counts one per compile, and loadProgram compiles once", () => {
  const before = compileCount;
  compile(expandProgram(read("(+ 1 2)", FILE)));
  assert.equal(compileCount, before + 1);
  const prog = loadProgram("(define k 2.0) (* k k)", FILE);
  assert.equal(compileCount, before + 2);
  for (const theta of [[1], [2], [3]]) valueAndGrad(prog, f64Backend, { theta });
  runProgram(prog, f64Backend);
  runProgram(prog, tfjsBackend);
  assert.equal(compileCount, before + 2, "running never recompiles");
});

Deno.test("instantiate binds compiled code to a runtime once and reuses it", () => {
  const prog = loadProgram("(+ 1 2)", FILE);
  const rt = runtimeFor(f64Backend);
  assert.equal(instantiate(prog.code, rt), instantiate(prog.code, rt));
  assert.notEqual(instantiate(prog.code, rt), instantiate(prog.code, runtimeFor(tfjsBackend)));
});

Deno.test("one compiled program runs at many θ and gives the values and gradients of each", () => {
  const prog = loadProgram(
    `(define a 2.0) (define b 0.5)
     (define (model x) (+ (* a x x) b))
     (model 3)`,
    FILE,
  );
  assert.deepEqual(prog.params.map((p) => p.name), ["a", "b"]);
  const at = (theta: number[]) => valueAndGrad(prog, f64Backend, { theta });
  assert.deepEqual(at([2, 0.5]), { value: 18.5, grad: [9, 1] });
  assert.deepEqual(at([1, 0]), { value: 9, grad: [9, 1] });
  assert.deepEqual(at([-1, 10]), { value: 1, grad: [9, 1] });
  assert.equal(runProgram(prog, f64Backend, { theta: [3, 1] }), "28");
  assert.equal(runProgram(prog, f64Backend), "18.5");
});

Deno.test("a loop over a parameter runs at different θ without recompiling", () => {
  const prog = loadProgram(
    "(define r 0.5) (let loop ((i 0) (acc 1)) (if (= i 3) acc (loop (+ i 1) (* acc r))))",
    FILE,
  );
  const n = compileCount;
  const v1 = valueAndGrad(prog, f64Backend, { theta: [0.5] });
  const v2 = valueAndGrad(prog, f64Backend, { theta: [2] });
  assert.equal(v1.value, 0.125);
  assert.equal(v2.value, 8);
  assert.ok(Math.abs((v1.grad[0] as number) - 3 * 0.25) < 1e-12);
  assert.ok(Math.abs((v2.grad[0] as number) - 12) < 1e-12);
  assert.equal(compileCount, n);
});

Deno.test("decimal literals inside quote are parameters with their own gradients", () => {
  const prog = loadProgram("(define xs '(1.5 2.5)) (apply + xs)", FILE);
  assert.equal(prog.params.length, 2);
  assert.deepEqual(prog.theta0, [1.5, 2.5]);
  assert.deepEqual(valueAndGrad(prog, f64Backend), { value: 4, grad: [1, 1] });
  assert.deepEqual(valueAndGrad(prog, f64Backend, { theta: [10, 20] }), { value: 30, grad: [1, 1] });
  const tf = valueAndGrad(prog, tfjsBackend);
  assert.equal(tf.value, 4);
  assert.deepEqual(tf.grad, [1, 1]);
});

Deno.test("quoted parameters inside nested data and vectors of weights get their gradients", () => {
  const prog = loadProgram(
    `(define data '((1 . 0.5) (2 . 1.5)))
     (define w 2.0)
     (fold-left (lambda (acc p) (+ acc (* w (car p) (cdr p)))) 0 data)`,
    FILE,
  );
  // value = w·(1·0.5 + 2·1.5) = 7; d/d0.5 = w·1, d/d1.5 = w·2, d/dw = 3.5
  assert.deepEqual(prog.params.map((p) => p.value), [0.5, 1.5, 2]);
  assert.deepEqual(valueAndGrad(prog, f64Backend), { value: 7, grad: [2, 4, 3.5] });
});

Deno.test("integer literals inside quote are fixed, not parameters", () => {
  const prog = loadProgram("(apply + '(1 2 3))", FILE);
  assert.equal(prog.params.length, 0);
  assert.equal(runProgram(prog, f64Backend), "6");
});

Deno.test("the same program gives the same values on f64 and tfjs", () => {
  const text = `(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
                (list (fib 15) (map (lambda (x) (* x x)) '(1 2 3)) (let loop ((i 0)) (if (< i 10000) (loop (+ i 1)) i)))`;
  assert.equal(run(text, f64Backend), "(610 (1 4 9) 10000)");
  assert.equal(run(text, tfjsBackend), "(610 (1 4 9) 10000)");
});

Deno.test("gradients flow through closures, tail loops and apply on tfjs", () => {
  const prog = loadProgram(
    `(define k 0.5)
     (define (scale x) (* k x))
     (define (sum-to n acc) (if (= n 0) acc (sum-to (- n 1) (+ acc (scale n)))))
     (apply + (list (sum-to 4 0) k))`,
    FILE,
  );
  // value = k·(1+2+3+4) + k = 11k; gradient 11
  const f = valueAndGrad(prog, f64Backend);
  assert.deepEqual(f, { value: 5.5, grad: [11] });
  const t = valueAndGrad(prog, tfjsBackend);
  assert.ok(Math.abs(t.value - 5.5) < 1e-5);
  assert.ok(Math.abs((t.grad[0] as number) - 11) < 1e-5);
});

Deno.test("a program's value is its last expression; only defines give the unspecified value", () => {
  assert.equal(run("1 2 3"), "3");
  assert.equal(run("(define x 1)"), "#<unspecified>");
  assert.equal(run(""), "#<unspecified>");
});
