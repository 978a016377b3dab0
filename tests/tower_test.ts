/**
 * Tests of the tower (DESIGN §2): the compiled evaluator evaluating the text of
 * lib/evaluator.scm, which evaluates a model program, gives the value and gradient of the
 * directly compiled program on f64 and tfjs, and reports the program's errors at the program's
 * own positions through both levels. The evaluator's own text is data here (no parameters);
 * the model program at the top is the only source of parameters.
 *
 * Every level calls the same host primitive procedures, so agreement between levels cannot catch
 * a primitive bug: tests/guile_test.ts and tests/primitives_*_test.ts check primitives.
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { compileCount } from "../lib/compile/compiler.ts";
import { DmciError, formatSpan } from "../lib/errors.ts";
import { loadProgram, runProgram, valueAndGrad } from "../lib/program.ts";
import { interpretedValueAndGrad, readProgram, runInterpreted } from "../lib/dmci.ts";

const FILE = "t.scm";
const TOWER = { levels: 2 };

const PROGRAMS: Record<string, string> = {
  "a closure over a parameter": "(define k 0.7) (define (scale s) (lambda (x) (* s k x))) ((scale 2.0) 3.0)",
  "a named-let loop":
    "(define a 0.3) (let loop ((i 0) (x 1.0)) (if (= i 20) x (loop (+ i 1) (+ x (* a 0.1 (sin x))))))",
  "non-tail recursion": "(define b 1.1) (define (pow n) (if (= n 0) 1 (* b (pow (- n 1))))) (pow 12)",
  "mutual recursion by internal definitions": `
    (define w 1.25)
    (define (f n)
      (define (ev n acc) (if (= n 0) acc (od (- n 1) (* acc w))))
      (define (od n acc) (if (= n 0) (- acc) (ev (- n 1) (+ acc 0.5))))
      (ev n 1.0))
    (f 7)`,
  "an accumulator assigned with set!":
    "(define r 0.1) (define total 0) (for-each (lambda (x) (set! total (+ total (* r x)))) '(1 2 3.5)) total",
  "quoted data with parameters, map and fold-left": `
    (define pts '((0.0 1.0) (1.0 2.9) (2.0 5.1)))
    (define m 1.8)
    (fold-left + 0 (map (lambda (p) (square (- (cadr p) (* m (car p))))) pts))`,
  "an association list and cond =>":
    "(define t '((a . 1.5) (b . 2.5))) (+ (cond ((assq 'b t) => cdr) (else 0)) (* 2 (cdr (assq 'a t))))",
  "case, when, unless, and, or": `
    (define u 0.4)
    (define (g x) (case (if (> x 0.5) 'big 'small) ((big) (* 2 x)) (else => (lambda (s) (* 3 x)))))
    (+ (g u) (g (* 2 u)) (or (and (< u 0) 1.0) (* u u)) (when (> u 0) u) (unless (> u 1) 1.0))`,
  "a do loop with a variadic procedure and apply": `
    (define c 0.2)
    (define (sum . xs) (apply + xs))
    (do ((i 0 (+ i 1)) (acc 0.0 (sum acc c (* c i)))) ((= i 5) acc))`,
  "tensors":
    "(define A '((2.0 0.5) (0.5 1.5))) (+ (logdet (tensor A)) (sum (matmul (tensor A) (tensor '(1.0 -1.0)))))",
  "an Euler integrator with let*": `
    (define k 0.8)
    (define (step s dt) (let* ((x (car s)) (v (cadr s)) (v2 (- v (* dt k x)))) (list (+ x (* dt v2)) v2)))
    (let loop ((i 0) (s (list 1.0 0.0))) (if (= i 30) (car s) (loop (+ i 1) (step s 0.1))))`,
};

function close(a: number, b: number, tol: number): boolean {
  return a === b || Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));
}

function assertTowerGradient(text: string, backend: Backend, tol: number): void {
  const prog = loadProgram(text, FILE);
  const direct = valueAndGrad(prog, backend);
  const tower = interpretedValueAndGrad(prog, backend, TOWER);
  assert.ok(close(tower.value, direct.value, tol), `value ${tower.value} vs ${direct.value}`);
  assert.equal(tower.grad.length, prog.params.length);
  direct.grad.forEach((g, i) => {
    assert.ok(close(tower.grad[i] as number, g as number, tol), `grad[${i}] ${tower.grad[i]} vs ${g}`);
  });
}

for (const [name, text] of Object.entries(PROGRAMS)) {
  Deno.test(`the tower gives the direct value and gradient on f64: ${name}`, () => {
    assertTowerGradient(text, f64Backend, 1e-12);
  });
  Deno.test(`the tower gives the direct value and gradient on tfjs: ${name}`, () => {
    assertTowerGradient(text, tfjsBackend, 1e-5);
  });
}

Deno.test("the tower writes the values compiled code writes", () => {
  for (
    const text of [
      "(map (lambda (x . r) (cons x r)) '(1 2) '(a b))",
      '(let* ((x \'(1 (2 . 3) "s" #t)) (y (reverse x))) (list x y))',
      "(define (f . xs) xs) (list (f) (f 1) (apply f 1 '(2 3)))",
      "(if #f #f)",
    ]
  ) {
    const prog = loadProgram(text, FILE);
    assert.equal(runInterpreted(prog, f64Backend, TOWER), runProgram(prog, f64Backend), text);
  }
});

Deno.test("the tower compiles nothing per program", () => {
  runInterpreted(readProgram("(+ 1 2)", FILE), f64Backend, TOWER);
  const before = compileCount;
  assert.equal(runInterpreted(readProgram("(define (f x) (* x x)) (f 7)", FILE), f64Backend, TOWER), "49");
  assert.equal(compileCount, before);
});

Deno.test("errors come out of the tower with the program's kind and position", () => {
  for (
    const text of [
      "(define (f x) x)\n(+ 1 y)",
      "(define (f x) x)\n(f 1 2)",
      "(cons 1)",
      "(define (f l) (car l))\n  (f 5)",
      '(error "stop" 1)',
      "(let ((g 5)) (g 1))",
    ]
  ) {
    const prog = loadProgram(text, FILE);
    const errorOf = (f: () => unknown): DmciError => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof DmciError, String(e));
        return e;
      }
      assert.fail(`expected an error from ${text}`);
    };
    const direct = errorOf(() => runProgram(prog, f64Backend));
    const tower = errorOf(() => runInterpreted(prog, f64Backend, TOWER));
    assert.equal(tower.toString(), direct.toString());
  }
  const syntax = (() => {
    try {
      runInterpreted(readProgram("(let ((x 1) (x 2)) x)", FILE), f64Backend, TOWER);
    } catch (e) {
      return e as DmciError;
    }
  })();
  assert.equal(syntax?.kind, "syntax");
  assert.equal(syntax?.span && formatSpan(syntax.span), "t.scm:1:14");
});
