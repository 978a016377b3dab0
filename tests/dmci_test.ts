/**
 * Tests of the frozen evaluator (lib/evaluator.scm run by lib/dmci.ts): it is compiled once
 * and compiles nothing per program; interpreted programs give the value and gradient of the
 * directly compiled program on f64 and tfjs; every special form and derived form behaves as
 * compiled code does; interpreted tail calls run in constant space; interpreted procedures are
 * host procedures (map, apply, fold-left call them); and errors come out with the kind and the
 * program position that direct compilation reports.
 *
 * What agreement cannot catch: interpreted and direct runs call the same host primitive
 * procedures (lib/primitives.ts), so a wrong primitive gives the same wrong value both ways.
 * Primitives are checked against outside references instead: GNU Guile (tests/guile_test.ts)
 * and float64 central differences per primitive (tests/primitives_*_test.ts).
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { compileCount } from "../lib/compile/compiler.ts";
import type { Limits } from "../lib/compile/runtime.ts";
import { DmciError, formatSpan } from "../lib/errors.ts";
import { loadProgram, runProgram, runtimeFor, valueAndGrad } from "../lib/program.ts";
import {
  EVALUATOR_FILE,
  evaluatorProgram,
  interpret,
  interpretedValueAndGrad,
  readProgram,
  runInterpreted,
} from "../lib/dmci.ts";

const FILE = "m.scm";

/** Asserts that the program's value, written, is the same directly and interpreted (and `want`, if given). */
function assertSameValue(text: string, want?: string, backend: Backend = f64Backend): void {
  const prog = loadProgram(text, FILE);
  const direct = runProgram(prog, backend);
  assert.equal(runInterpreted(prog, backend), direct, text);
  if (want !== undefined) assert.equal(direct, want, text);
}

function close(a: number, b: number, tol: number): boolean {
  return a === b || Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));
}

/** Asserts equal value and gradient, direct and interpreted, to relative `tol`. */
function assertSameGradient(text: string, backend: Backend, tol: number): void {
  const prog = loadProgram(text, FILE);
  assert.ok(prog.params.length > 0, "the program has parameters");
  const direct = valueAndGrad(prog, backend);
  const interp = interpretedValueAndGrad(prog, backend);
  assert.ok(close(interp.value, direct.value, tol), `value ${interp.value} vs ${direct.value} in ${text}`);
  assert.equal(interp.grad.length, direct.grad.length);
  direct.grad.forEach((g, i) => {
    assert.ok(
      close(interp.grad[i] as number, g as number, tol),
      `grad[${i}] ${interp.grad[i]} vs ${g} in ${text}`,
    );
  });
  assert.ok(direct.grad.some((g) => g !== 0), `some gradient is non-zero in ${text}`);
}

/** The error a thunk throws, which must be a DmciError. */
function errorOf(f: () => unknown): DmciError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    return e;
  }
  assert.fail("expected an error");
}

/** Asserts that the interpreted program fails as the compiled one does: same kind, position and (unless told) message. */
function assertSameError(
  text: string,
  options: { limits?: Partial<Limits>; message?: boolean } = {},
): DmciError {
  const prog = loadProgram(text, FILE);
  const direct = errorOf(() => runProgram(prog, f64Backend, { limits: options.limits }));
  const interp = errorOf(() => runInterpreted(prog, f64Backend, { limits: options.limits }));
  assert.equal(interp.kind, direct.kind, `${interp} vs ${direct}`);
  assert.ok(interp.span && direct.span, `${interp} and ${direct} have positions`);
  assert.equal(formatSpan(interp.span), formatSpan(direct.span), `${interp} vs ${direct}`);
  if (options.message !== false) assert.equal(interp.message, direct.message);
  return interp;
}

// ---------------------------------------------------------------------------------------------
// Model programs: value and gradient, direct vs interpreted

const MODELS: Record<string, string> = {
  "closures over parameters": `
    (define k 0.7)
    (define (make-scaler s) (lambda (x) (* s k x)))
    (define double (make-scaler 2.0))
    (+ (double 3.0) ((make-scaler 0.5) 1.5))`,
  "an accumulator assigned with set!": `
    (define rate 0.1)
    (define (make-account balance)
      (lambda (years)
        (do ((i 0 (+ i 1))) ((= i years) balance)
          (set! balance (* balance (+ 1 rate))))))
    ((make-account 100.0) 5)`,
  "a named-let loop": `
    (define a 0.3)
    (let loop ((i 0) (x 1.0))
      (if (= i 50) x (loop (+ i 1) (+ x (* a (sin x) 0.1)))))`,
  "mutual recursion by internal definitions": `
    (define w 1.25)
    (define (f n)
      (define (ev n acc) (if (= n 0) acc (od (- n 1) (* acc w))))
      (define (od n acc) (if (= n 0) (- acc) (ev (- n 1) (+ acc 0.5))))
      (ev n 1.0))
    (f 9)`,
  "a tree built and folded recursively": `
    (define leaf 1.5)
    (define (build d) (if (= d 0) (list leaf) (list (build (- d 1)) (* d leaf) (build (- d 1)))))
    (define (tree-sum t)
      (cond ((null? t) 0)
            ((pair? (car t)) (+ (tree-sum (car t)) (tree-sum (cdr t))))
            (else (+ (square (car t)) (tree-sum (cdr t))))))
    (tree-sum (build 4))`,
  "an association list of quoted parameters": `
    (define table '((a . 1.5) (b . 2.5) (c . -0.5)))
    (define (lookup k) (cdr (assq k table)))
    (+ (* (lookup 'a) (lookup 'b)) (exp (lookup 'c)))`,
  "least squares over quoted data with map and fold-left": `
    (define pts '((0.0 1.0) (1.0 2.9) (2.0 5.1)))
    (define m 1.8)
    (define c 1.1)
    (define (residual p) (- (cadr p) (+ c (* m (car p)))))
    (fold-left + 0 (map (lambda (p) (square (residual p))) pts))`,
  "apply of a variadic interpreted procedure": `
    (define s 0.25)
    (define (poly x . coeffs) (fold-right (lambda (c acc) (+ c (* x acc))) 0 coeffs))
    (+ (apply poly 2.0 (list 1.0 s 3.0)) (poly s 1 2))`,
  "tensors and linear algebra": `
    (define A '((2.0 0.5) (0.5 1.5)))
    (define b '(1.0 -1.0))
    (define x (solve (tensor A) (tensor b)))
    (+ (dot x x) (logdet (tensor A)) (sum (matmul (tensor A) (tensor b))))`,
  "a damped oscillator integrated by let* steps": `
    (define k 0.8)
    (define damping 0.15)
    (define (accel x v) (- (* -1 k x) (* damping v)))
    (define (step state dt)
      (let* ((x (car state)) (v (cadr state)) (v2 (+ v (* dt (accel x v)))))
        (list (+ x (* dt v2)) v2)))
    (define (integrate state n dt) (if (= n 0) state (integrate (step state dt) (- n 1) dt)))
    (car (integrate (list 1.0 0.0) 200 0.05))`,
  "case, cond =>, when, unless, and, or": `
    (define t 0.4)
    (define (classify x) (case (exact (floor (* 3 x))) ((0) 'low) ((1) 'mid) (else 'high)))
    (define (weight sym) (cond ((assq sym '((low . 0.5) (mid . 1.5))) => cdr) (else 2.0)))
    (define (g x) (when (> x 0) (* x (weight (classify x)))))
    (+ (g t) (g (* 2 t)) (or (and (< t 0) 1.0) (* t t)) (unless (> t 1) t))`,
  "do inside letrec*": `
    (define alpha 0.05)
    (define (descend x0 steps)
      (do ((i 0 (+ i 1)) (x x0 (- x (* alpha (* 2 (- x 3.0))))))
          ((= i steps) x)))
    (letrec* ((f (lambda (x) (square (- (descend x 20) 3.0)))) (y (f 0.5))) (* y 1000))`,
  "compose, filter, reduce and iota": `
    (define gain 1.3)
    (define (compose . fs)
      (if (null? fs) (lambda (x) x) (lambda (x) ((car fs) ((apply compose (cdr fs)) x)))))
    (define h (compose (lambda (x) (* gain x)) sqrt (lambda (x) (+ x 1))))
    (reduce + 0 (map h (filter odd? (iota 10))))`,
  "a small interpreter written in Scheme": `
    (define env0 (list (cons 'x 1.5) (cons 'y 0.25)))
    (define (ev e env)
      (cond ((number? e) e)
            ((symbol? e) (cdr (assq e env)))
            ((eq? (car e) 'add) (+ (ev (cadr e) env) (ev (caddr e) env)))
            ((eq? (car e) 'mul) (* (ev (cadr e) env) (ev (caddr e) env)))
            (else (error "bad expression" e))))
    (ev '(add (mul x x) (mul 2.0 y)) env0)`,
  "a scalar Kalman filter likelihood": `
    (define q 0.1)
    (define r 0.5)
    (define (kf-step m P y)
      (let* ((Pp (+ P q)) (K (/ Pp (+ Pp r))))
        (list (+ m (* K (- y m))) (* (- 1 K) Pp))))
    (let loop ((ys '(1.0 1.2 0.9 1.1)) (s (list 0.0 1.0)) (ll 0))
      (if (null? ys)
          ll
          (let* ((m (car s)) (P (cadr s)) (S (+ P q r)) (e (- (car ys) m)))
            (loop (cdr ys) (kf-step m P (car ys)) (+ ll (log S) (/ (* e e) S))))))`,
  "a loop of ten variables": `
    (define c 0.01)
    (let loop ((i 0) (a 1.0) (b 0.0) (d 0.0) (e 0.0) (f 0.0) (g 0.0) (h 0.0) (j 0.0) (k 0.0))
      (if (= i 100)
          (+ a b d e f g h j k)
          (loop (+ i 1) (* a (- 1 c)) (+ b (* c a)) b d e f g h j)))`,
};

for (const [name, text] of Object.entries(MODELS)) {
  Deno.test(`interpreted value and gradient equal direct on f64: ${name}`, () => {
    assertSameGradient(text, f64Backend, 1e-12);
  });
  Deno.test(`interpreted value and gradient equal direct on tfjs: ${name}`, () => {
    assertSameGradient(text, tfjsBackend, 1e-5);
  });
}

Deno.test("interpreted gradients agree with float64 central differences", () => {
  for (const name of ["a damped oscillator integrated by let* steps", "tensors and linear algebra"]) {
    const prog = loadProgram(MODELS[name], FILE);
    const { grad } = interpretedValueAndGrad(prog, f64Backend);
    prog.theta0.forEach((t, i) => {
      const h = 1e-6 * Math.max(1, Math.abs(t));
      const at = (d: number) =>
        interpretedValueAndGrad(prog, f64Backend, { theta: prog.theta0.map((x, j) => (j === i ? x + d : x)) })
          .value;
      const fd = (at(h) - at(-h)) / (2 * h);
      assert.ok(
        Math.abs(fd - (grad[i] as number)) <= 1e-6 * Math.max(1, Math.abs(fd)),
        `${name}: ${fd} vs ${grad[i]}`,
      );
    });
  }
});

Deno.test("an interpreted run at another theta uses those parameter values", () => {
  const prog = loadProgram("(define k 2.0) (define pts '(1.0 2.0)) (* k (car pts) (cadr pts))", FILE);
  const theta = [3, 5, 7];
  assert.deepEqual(
    interpretedValueAndGrad(prog, f64Backend, { theta }),
    valueAndGrad(prog, f64Backend, { theta }),
  );
  assert.equal(runInterpreted(prog, f64Backend, { theta }), "105");
});

Deno.test("a program analysed once runs again correctly at other parameter values", () => {
  const text = `
    (define k 2.0)
    (define pts '((1.5 . 0.5) 3.0))
    (define (f x) (if (> x 100) (error "too big" x) (* k x (car (car pts)) (cdr (car pts)) (cadr pts))))
    (f 1.0)`;
  const prog = loadProgram(text, FILE);
  for (const backend of [f64Backend, tfjsBackend]) {
    for (const theta of [[2, 1.5, 0.5, 3, 1], [1, 1, 1, 1, 200], [3, 2, 1, 0.5, 2], [2, 1.5, 0.5, 3, 1]]) {
      const direct = (() => {
        try {
          return valueAndGrad(prog, backend, { theta });
        } catch (e) {
          return String(e);
        }
      })();
      const interp = (() => {
        try {
          return interpretedValueAndGrad(prog, backend, { theta });
        } catch (e) {
          return String(e);
        }
      })();
      if (typeof direct === "string") assert.equal(interp, direct);
      else {
        assert.ok(typeof interp !== "string", interp as string);
        assert.ok(close(interp.value, direct.value, 1e-6), `${interp.value} vs ${direct.value}`);
        direct.grad.forEach((g, i) => assert.ok(close(interp.grad[i] as number, g as number, 1e-6)));
      }
    }
  }
});

Deno.test("inputs are globals of interpreted runs, as of direct runs", () => {
  const prog = loadProgram(
    "(define a 0.5) (define b 0.1) (sum (square (- ys (+ (* a xs) b))))",
    FILE,
  );
  const inputs = { xs: new Float64Array([0, 1, 2, 3]), ys: [0.2, 0.6, 1.2, 1.5], unused: 7 };
  for (const [backend, tol] of [[f64Backend, 1e-12], [tfjsBackend, 1e-5]] as const) {
    const direct = valueAndGrad(prog, backend, { inputs });
    for (const levels of [1, 2]) {
      const interp = interpretedValueAndGrad(prog, backend, { inputs, levels });
      assert.ok(close(interp.value, direct.value, tol), `${interp.value} vs ${direct.value}`);
      direct.grad.forEach((g, i) => assert.ok(close(interp.grad[i] as number, g as number, tol)));
    }
  }
  // New values for the same names reuse the analysis; a program may redefine an input.
  assert.equal(runInterpreted(readProgram("(+ n 1)", FILE), f64Backend, { inputs: { n: 41 } }), "42");
  const again = readProgram("(+ n 1)", FILE);
  assert.equal(runInterpreted(again, f64Backend, { inputs: { n: 1 } }), "2");
  assert.equal(runInterpreted(again, f64Backend, { inputs: { n: 2 } }), "3");
  assert.equal(runInterpreted(readProgram("(define n 5) n", FILE), f64Backend, { inputs: { n: 1 } }), "5");
  assert.equal(errorOf(() => runInterpreted(again, f64Backend)).kind, "unbound");
  assert.equal(errorOf(() => runInterpreted(again, f64Backend, { inputs: { car: 1 } })).kind, "spec");
});

Deno.test("a θ of the wrong length is refused as by direct runs", () => {
  const prog = loadProgram("(define k 2.0) k", FILE);
  const direct = errorOf(() => valueAndGrad(prog, f64Backend, { theta: [1, 2] }));
  const interp = errorOf(() => interpretedValueAndGrad(prog, f64Backend, { theta: [1, 2] }));
  assert.equal(interp.kind, direct.kind);
  assert.equal(interp.message, direct.message);
});

// ---------------------------------------------------------------------------------------------
// Compiled once

Deno.test("the evaluator is compiled once, and interpreting programs compiles nothing", () => {
  const evaluator = evaluatorProgram();
  assert.equal(evaluatorProgram(), evaluator);
  assert.equal(evaluator.file, EVALUATOR_FILE);
  const texts = Array.from({ length: 10 }, (_, i) => `(define (f x) (* x ${i + 1}.5)) (f (+ ${i} 1.0))`);
  const programs = texts.map((t) => readProgram(t, FILE));
  interpretedValueAndGrad(programs[0], f64Backend);
  interpretedValueAndGrad(programs[0], tfjsBackend);
  const before = compileCount;
  programs.forEach((p, i) => {
    assert.equal(interpretedValueAndGrad(p, f64Backend).value, (i + 1.5) * (i + 1));
    assert.equal(runInterpreted(p, tfjsBackend), String((i + 1.5) * (i + 1)));
  });
  assert.equal(compileCount, before, "no compilation per program");
});

Deno.test("readProgram finds the parameters loadProgram finds, without compiling", () => {
  const text = "(define k 0.5) (define (f x) (* k x 2.5)) (f '(1.5))";
  const before = compileCount;
  const data = readProgram(text, FILE);
  assert.equal(compileCount, before);
  const prog = loadProgram(text, FILE);
  assert.deepEqual(data.params.map((p) => p.name), prog.params.map((p) => p.name));
  assert.deepEqual(data.theta0, prog.theta0);
  assert.deepEqual(readProgram(text, FILE, { model: false }).params, []);
});

// ---------------------------------------------------------------------------------------------
// The language, form by form

Deno.test("literals, quote and variables evaluate as compiled code does", () => {
  assertSameValue(
    `(list 1 -2.5 "a\\"b" #t #f 'sym '(1 (2 . 3) "s") '())`,
    `(1 -2.5 "a\\"b" #t #f sym (1 (2 . 3) "s") ())`,
  );
  assertSameValue("(define x 5) x", "5");
  assertSameValue("(define x 5)", "#<unspecified>");
  assertSameValue("", "#<unspecified>");
  assertSameValue("(if #f #f)", "#<unspecified>");
});

Deno.test("if, set! and begin", () => {
  assertSameValue("(if 0 'yes 'no)", "yes");
  assertSameValue("(if '() 'yes 'no)", "yes");
  assertSameValue("(if #f 'yes)", "#<unspecified>");
  assertSameValue("(define x 1) (set! x (+ x 1)) (begin (set! x (* x 10)) x)", "20");
  assertSameValue("(define x 1) (list (set! x 2) x)", "(#<unspecified> 2)");
  assertSameValue("(begin (define a 1) (define b (+ a 1))) (list a b)", "(1 2)");
});

Deno.test("lambda with fixed, variadic and dotted formals", () => {
  assertSameValue("((lambda (a b) (list b a)) 1 2)", "(2 1)");
  assertSameValue("((lambda args args) 1 2 3)", "(1 2 3)");
  assertSameValue("((lambda args args))", "()");
  assertSameValue("((lambda (a . rest) (list a rest)) 1 2 3)", "(1 (2 3))");
  assertSameValue("((lambda (a b c d . rest) (list d rest)) 1 2 3 4)", "(4 ())");
  assertSameValue(
    "((lambda (a . rest) (set! rest (cons 0 rest)) (set! a 9) (list a rest)) 1 2)",
    "(9 (0 2))",
  );
  assertSameValue("((lambda (a b c d e) (+ a b c d e)) 1 2 3 4 5)", "15");
  assertSameValue("(define (f) 7) (f)", "7");
  assertSameValue("(procedure? (lambda (x) x))", "#t");
});

Deno.test("let, let*, letrec, letrec* and named let", () => {
  assertSameValue("(let ((x 1) (y 2)) (let ((x y) (y x)) (list x y)))", "(2 1)");
  assertSameValue("(let () 5)", "5");
  assertSameValue("(let ((a 1) (b 2) (c 3)) (set! b 20) (list a b c))", "(1 20 3)");
  assertSameValue("(let* ((x 1) (y (+ x 1)) (x (* y 10))) (list x y))", "(20 2)");
  assertSameValue("(let* () (define z 3) z)", "3");
  assertSameValue(
    "(letrec ((ev? (lambda (n) (if (= n 0) #t (od? (- n 1))))) (od? (lambda (n) (if (= n 0) #f (ev? (- n 1)))))) (list (ev? 10) (od? 7)))",
    "(#t #t)",
  );
  assertSameValue("(letrec* ((a 1) (b (+ a 1)) (f (lambda () (* a b)))) (f))", "2");
  assertSameValue("(let loop ((i 0) (acc '())) (if (= i 3) acc (loop (+ i 1) (cons i acc))))", "(2 1 0)");
  assertSameValue("(let loop ((i 0)) (if (< i 3) (begin (set! i (+ i 1)) (loop i)) i))", "3");
  assertSameValue("(let f () 1)", "1");
});

Deno.test("internal definitions have letrec* meaning, begin at the head of a body splices", () => {
  assertSameValue("(define (f) (define a 1) (define (g) (* a 10)) (define b (g)) (list a b)) (f)", "(1 10)");
  assertSameValue("(define (f) (begin (define a 2) (define b 3)) (* a b)) (f)", "6");
  assertSameValue("(define (f) (define (g) h) (define (h) 4) ((g))) (f)", "4");
  assertSameValue("(define (f x) (define y x) (set! y (+ y 1)) y) (f 1)", "2");
  assertSameError("(define (f) (define x (g)) (define (g) 1) x) (f)");
  assertSameError("(letrec ((a b) (b 1)) a)");
});

Deno.test("cond with else and =>, case with else and =>", () => {
  assertSameValue("(cond ((> 1 2) 'a) ((< 1 2) 'b) (else 'c))", "b");
  assertSameValue("(cond ((> 1 2) 'a) (else 'c 'd))", "d");
  assertSameValue("(cond ((memv 2 '(1 2 3))) (else 'no))".replace("memv", "member"), "(2 3)");
  assertSameValue("(cond ((assv 2 '((1 . a) (2 . b))) => cdr) (else 'no))", "b");
  assertSameValue("(cond (#f 1))", "#<unspecified>");
  assertSameValue("(let ((else #f)) (cond (else 'local) (#t 'fallthrough)))", "fallthrough");
  assertSameValue("(case (* 2 3) ((2 3 5 7) 'prime) ((1 4 6 8 9) 'composite))", "composite");
  assertSameValue("(case 'x ((a) 1) (else 'other))", "other");
  assertSameValue("(case 5 ((5) => (lambda (x) (* x 2))) (else 0))", "10");
  assertSameValue("(case 7 ((5) 1) (else => (lambda (x) (- x))))", "-7");
  assertSameValue("(case 9 ((1) 'a))", "#<unspecified>");
  assertSameValue("(case 2.0 ((2) 'two) (else 'no))", "two");
});

Deno.test("and, or, when, unless and do", () => {
  assertSameValue(
    "(list (and) (and 1 2) (and #f (car 5)) (or) (or #f 3) (or 1 (car 5)))",
    "(#t 2 #f #f 3 1)",
  );
  assertSameValue(
    "(list (when (> 2 1) 'a 'b) (when #f 'a) (unless #f 'c) (unless #t 'c))",
    "(b #<unspecified> c #<unspecified>)",
  );
  assertSameValue("(do ((i 0 (+ i 1)) (s '() (cons i s))) ((= i 4) s))", "(3 2 1 0)");
  assertSameValue("(do ((i 0 (+ i 1))) ((= i 3)))", "#<unspecified>");
  assertSameValue(
    "(define n 0) (do ((i 0 (+ i 1)) (k 5)) ((= i 3) (list n k)) (set! n (+ n i)) (set! k (+ k 1)))",
    "(3 8)",
  );
  assertSameValue(
    "(define fs (do ((i 0 (+ i 1)) (fs '() (cons (lambda () i) fs))) ((= i 3) fs))) (map (lambda (f) (f)) fs)",
    "(2 1 0)",
  );
});

Deno.test("interpreted procedures are host procedures: primitives call them", () => {
  assertSameValue("(map (lambda (x y) (+ x y)) '(1 2 3) '(10 20 30))", "(11 22 33)");
  assertSameValue("(define (add . xs) (apply + xs)) (apply add 1 2 '(3 4))", "10");
  assertSameValue("(fold-left (lambda (acc x) (cons x acc)) '() '(1 2 3))", "(3 2 1)");
  assertSameValue("(fold-right (lambda (x acc) (cons (* x x) acc)) '() '(1 2 3))", "(1 4 9)");
  assertSameValue("(filter (lambda (x) (> x 1)) '(0 1 2 3))", "(2 3)");
  assertSameValue("(reduce (lambda (x acc) (+ x acc)) 0 '(1 2 3))", "6");
  assertSameValue("(define n 0) (for-each (lambda (x) (set! n (+ n x))) '(1 2 3)) n", "6");
  assertSameValue("(member 2.0 '(1 2 3) (lambda (a b) (= a b)))", "(2 3)");
  assertSameValue("(map car '((1) (2)))", "(1 2)");
  assertSameValue("(apply map list '((1 2) (3 4)))", "((1 3) (2 4))");
});

Deno.test("programs may redefine primitives, and local variables shadow them", () => {
  assertSameValue("(define (car x) 'mine) (car '(1 2))", "mine");
  assertSameValue("(define (square x) (* x x x)) (map square '(1 2))", "(1 8)");
  assertSameValue("(let ((list (lambda args 'shadowed))) (list 1 2))", "shadowed");
  assertSameValue("(define (f +) (+ 1 2)) (f *)", "2");
  assertSameValue("(set! abs (lambda (x) 0)) (abs -5)", "0");
});

Deno.test("local variables shadow special forms, as in R7RS", () => {
  assertSameValue("(define (f if) (if 1 2)) (f list)", "(1 2)");
  assertSameValue("(let ((quote (lambda (x) (* x 2)))) (quote 5))", "10");
  assertSameValue("(define (g) (define (lambda . x) x) (lambda 1 2)) (g)", "(1 2)");
  assertSameValue("(let ((define 3)) define)", "3");
  assertSameValue("(define (f) (define begin list) (begin 1 2)) (f)", "2");
  assertSameValue("(let ((set! (lambda (a b) (+ a b)))) (set! 1 2))", "3");
  assertSameValue("(let ((=> 1)) (cond (#t => -)))", "#<procedure ->");
  assertSameValue("(do ((when 0 (+ when 1))) ((= when 3) when))", "3");
  assertSameValue("(let ((lambda list)) (define f (lambda 1 2)) f)", "(1 2)");
});

Deno.test("strings, symbols and tensors pass through the evaluator unchanged", () => {
  assertSameValue(`(string-append "a" (symbol->string 'b) (number->string 2.5))`, `"ab2.5"`);
  assertSameValue('(eq? (string->symbol "x") \'x)', "#t");
  assertSameValue("(tensor '((1 2) (3 4)))", "#<tensor (2 2) ((1 2) (3 4))>");
  assertSameValue("(tensor->list (matmul (eye 2) (tensor '((1 2) (3 4)))))", "((1 2) (3 4))", tfjsBackend);
});

// ---------------------------------------------------------------------------------------------
// Tail calls and depth

Deno.test("interpreted tail calls run in constant space", () => {
  const loops = [
    "(let loop ((i 0)) (if (< i 100000) (loop (+ i 1)) i))",
    "(define (ev? n) (if (= n 0) #t (od? (- n 1)))) (define (od? n) (if (= n 0) #f (ev? (- n 1)))) (ev? 100000)",
    "(do ((i 0 (+ i 1))) ((= i 100000) i))",
    "(define (f n) (cond ((= n 0) 'done) ((> n 0) (f (- n 1))))) (f 100000)",
    "(define (f n) (and #t (or #f (when #t (unless #f (f (- n 1))))))) (define (g n) (if (= n 0) 'done (f n))) (set! f (lambda (n) (and #t (or #f (g (- n 1)))))) (g 100000)",
    "(define (f n) (case (if (= n 0) 'stop 'go) ((stop) n) (else (f (- n 1))))) (f 100000)",
    "(define (f n) (if (= n 0) n (apply f (list (- n 1))))) (f 100000)",
    "(let loop ((i 0) (a 0) (b 0) (c 0) (d 0) (e 0)) (if (= i 100000) i (loop (+ i 1) a b c d e)))",
    "(define (f n) (let* ((m (- n 1))) (letrec ((g (lambda () (if (< m 0) 'done (f m))))) (g)))) (f 100000)",
  ];
  for (const text of loops) assertSameValue(text);
});

Deno.test("interpreted non-tail recursion 1000 deep works", () => {
  assertSameValue("(define (sum n) (if (= n 0) 0 (+ n (sum (- n 1))))) (sum 1000)", "500500");
  assertSameValue(
    "(define (build n) (if (= n 0) '() (cons n (build (- n 1))))) (length (build 1000))",
    "1000",
  );
  assertSameValue(
    "(define (depth n) (if (= n 0) 0 (+ 1 (car (map depth (list (- n 1))))))) (depth 1000)",
    "1000",
  );
});

// ---------------------------------------------------------------------------------------------
// Errors

Deno.test("an unbound variable is reported at the variable", () => {
  assert.equal(
    assertSameError("(define (f x) x)\n(+ 1 y)").toString(),
    "unbound error at m.scm:2:6: unbound variable: y",
  );
  assertSameError("(define (f x) x)\n(+ 1 (g 2))");
  assertSameError("(set! zz 3)");
  assertSameError("(define (f) undefined-thing) (f)");
  assertSameError("nope");
});

Deno.test("a wrong argument count is reported at the call", () => {
  assert.equal(
    assertSameError("(define (f x) x)\n(f 1 2)").toString(),
    "arity error at m.scm:2:1: f: expected 1 argument(s), got 2",
  );
  assertSameError("(define (f x . r) x)\n   (f)");
  assertSameError("(let ((g (lambda (a b c) a))) (g 1))");
  assertSameError("(cons 1)");
  assertSameError("(define (f l) (car l l))\n(f 1)");
  assertSameError("(map (lambda (x y) x) '(1 2))");
});

Deno.test("a type error is reported at the call", () => {
  assert.equal(
    assertSameError("(car 5)").toString(),
    "type error at m.scm:1:1: car: expected a pair as argument 1, got 5",
  );
  assertSameError("(define (f l) (car l))\n  (f 5)");
  assertSameError("(5 3)");
  assertSameError("(define x 1)\n  (x)");
  assertSameError("(+ 1 (tensor-ref (tensor '(1 2)) 5))");
  assertSameError("(apply car '(1 2))");
});

Deno.test("a user error is reported at the call of error", () => {
  const e = assertSameError('(define (check x) (if (< x 0) (error "negative:" x) x))\n(check -2)');
  assert.equal(e.toString(), "user error at m.scm:1:31: negative: -2");
  assert.deepEqual(e.irritants, [-2]);
});

// Runaway recursion ends on the host stack (its RangeError becomes a limit error); that is
// provoked in a `deno run` subprocess (main thread), as tests/limits_test.ts does, because
// `deno test` threads have 2 MiB stacks and a larger --stack-size would abort the test run.
const RUNAWAY_SCRIPT = `
import { f64Backend } from ${JSON.stringify(new URL("../lib/backend/f64/mod.ts", import.meta.url).href)};
import { loadProgram, runProgram } from ${JSON.stringify(new URL("../lib/program.ts", import.meta.url).href)};
import { runInterpreted } from ${JSON.stringify(new URL("../lib/dmci.ts", import.meta.url).href)};
const prog = loadProgram(Deno.args[0], "m.scm");
for (const run of [runProgram, runInterpreted]) {
  try {
    console.log(JSON.stringify({ value: run(prog, f64Backend) }));
  } catch (e) {
    console.log(JSON.stringify({ kind: e.kind, span: e.span, message: e.message }));
  }
}`;

Deno.test("runaway recursion and endless loops are limit errors", async () => {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, RUNAWAY_SCRIPT);
    for (const text of ["(define (f n) (+ 1 (f n))) (f 1)", "(define (f n) (car (map f (list n)))) (f 1)"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--v8-flags=--stack-size=4000", script, text],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const [direct, interp] = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      assert.equal(direct.kind, "limit", JSON.stringify(direct));
      assert.equal(interp.kind, "limit", JSON.stringify(interp));
      assert.equal(interp.span?.file, FILE);
    }
  } finally {
    await Deno.remove(script);
  }
  const loop = errorOf(() =>
    runInterpreted(loadProgram("(let loop () (loop))", FILE), f64Backend, { limits: { fuel: 100000 } })
  );
  assert.equal(loop.kind, "limit");
  assert.match(loop.message, /step limit of 100000/);
  assert.equal(loop.span?.file, FILE);
});

Deno.test("errors raised inside map and apply keep the interpreted call's position", () => {
  assertSameError("(map (lambda (x) (car x)) '(1))");
  assertSameError("(define (f x) (vector-ref x 0))\n(apply f '(1))");
  assertSameError('(fold-left (lambda (a x) (+ a (error "stop" x))) 0 \'(1 2))');
});

Deno.test("syntax errors of a program read without compiling come out with the expander's kind and position", () => {
  const cases = [
    "(if)",
    "(let ((x)) x)",
    "(lambda (1) 2)",
    "()",
    "(quote)",
    "(f . 3)",
    "(let ((x 1) (x 2)) x)",
    "(define)",
    "(lambda (x x) x)",
    "(cond)",
    "(cond (else 1) (#t 2))",
    "(case)",
    "(do)",
    "(let loop)",
    "(set! 5 1)",
    "(define if 3)",
    "(+ if 1)",
    "(let () (define x 1))",
    "(let () 1 (define x 1) x)",
    "(when)",
    "(let* ((x)) 1)",
    "(if 1 (define x 2))",
  ];
  for (const text of cases) {
    const direct = errorOf(() => loadProgram(text, FILE));
    const interp = errorOf(() => runInterpreted(readProgram(text, FILE), f64Backend));
    assert.equal(interp.kind, "syntax", `${text}: ${interp}`);
    assert.equal(formatSpan(interp.span!), formatSpan(direct.span!), `${text}: ${interp} vs ${direct}`);
  }
});

Deno.test("interpreted errors on tfjs are the same as on f64", () => {
  const prog = loadProgram("(define k 2.0)\n(define (f x) (car x))\n(* k (f k))", FILE);
  const e = errorOf(() => interpretedValueAndGrad(prog, tfjsBackend));
  assert.equal(e.kind, "type");
  assert.equal(formatSpan(e.span!), "m.scm:2:15");
});

Deno.test("a parameter first run as a tensor (batched restarts) stays a parameter in later runs", () => {
  const prog = loadProgram("(define a 2.0) (* a x)", "batched.scm");
  const rt = runtimeFor(f64Backend);
  const x = Float64Array.of(1, 2);
  for (const a of [2, 3, 5]) {
    const r = f64Backend.valueAndGrad(
      (ps) => f64Backend.sum(interpret(prog, rt, ps, { inputs: { x } })),
      [{ shape: [1], data: Float64Array.of(a) }],
    );
    assert.equal(r.value, 3 * a);
    assert.equal((r.grad[0] as { data: Float64Array }).data[0], 3);
  }
});

Deno.test("an interpreted error names its own program's place, never an earlier program's (issue 13, defect 4)", () => {
  // The first program leaves its last call as the evaluator's current call.
  runInterpreted(readProgram("(car '(1 2))", "first.scm"), f64Backend);
  // The second overflows the host stack while the evaluator analyses it, before any call.
  const nested = "(+ 1 ".repeat(3000) + "1" + ")".repeat(3000);
  const deep = errorOf(() => runInterpreted(readProgram(nested, "second.scm"), f64Backend));
  assert.equal(deep.kind, "limit", deep.message);
  assert.equal(deep.span?.file, "second.scm", String(deep));
  // A run-time overflow is placed at a call of the program that overflowed.
  runInterpreted(readProgram("(car '(1 2))", "first.scm"), f64Backend);
  const recursion = "(define (f n) (if (= n 0) 0 (+ 1 (f (- n 1)))))\n(f 1000000)";
  const run = errorOf(() =>
    runInterpreted(readProgram(recursion, "third.scm"), f64Backend, { limits: { maxDepth: 10_000_000 } })
  );
  assert.equal(run.kind, "limit", run.message);
  assert.equal(run.span?.file, "third.scm", String(run));
});

Deno.test("quasiquote says it is not in the language, direct and interpreted (issue 13)", () => {
  for (const text of ["`(a b)", "(list ,x)"]) {
    const direct = errorOf(() => runProgram(loadProgram(text, FILE), f64Backend));
    const interp = errorOf(() => runInterpreted(readProgram(text, FILE), f64Backend));
    for (const e of [direct, interp]) {
      assert.equal(e.kind, "unbound");
      assert.match(e.message, /quasiquote is not in the language/);
    }
  }
});
