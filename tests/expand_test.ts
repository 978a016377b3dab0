/**
 * Tests of the expander (lib/expand/expander.ts): every special form of DESIGN §2 with its
 * R7RS meaning (checked by running the expansion on the f64 backend), the shape of the core
 * nodes it produces, shadowing of special-form and primitive names, and every syntax error
 * with its exact position.
 */
import assert from "node:assert/strict";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { DmciError } from "../lib/errors.ts";
import { children, type Node } from "../lib/expand/core.ts";
import { expandProgram, SPECIAL_FORMS } from "../lib/expand/expander.ts";
import { loadProgram, runProgram } from "../lib/program.ts";
import { read } from "../lib/read/reader.ts";

const FILE = "e.scm";

/** The value of a program on the f64 backend, in write syntax. */
function run(text: string): string {
  return runProgram(loadProgram(text, FILE), f64Backend);
}

function expand(text: string): Node[] {
  return expandProgram(read(text, FILE));
}

/** Asserts that loading `text` fails with a syntax error at `line:col` whose message contains `part`. */
function assertSyntaxError(text: string, where: string, part: string): void {
  assert.throws(() => loadProgram(text, FILE), (e: unknown) => {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    assert.equal(e.kind, "syntax", e.message);
    assert.ok(e.span, "syntax errors carry a span");
    assert.equal(e.span.file, FILE);
    assert.equal(`${e.span.line}:${e.span.col}`, where, `position of: ${e.message}`);
    assert.ok(
      e.message.includes(part),
      `message ${JSON.stringify(e.message)} should contain ${JSON.stringify(part)}`,
    );
    return true;
  });
}

/** Every node kind reachable from `nodes`. */
function kinds(nodes: readonly Node[]): Set<string> {
  const out = new Set<string>();
  const visit = (n: Node): void => {
    out.add(n.k);
    children(n).forEach(visit);
  };
  nodes.forEach(visit);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The core nodes the expander produces

Deno.test("top-level begin is spliced: its defines become top-level define nodes", () => {
  const nodes = expand("(begin (define a 1) (begin (define b 2))) (+ a b)");
  assert.deepEqual(nodes.map((n) => n.k), ["define", "define", "call"]);
  assert.deepEqual(nodes.slice(0, 2).map((n) => n.k === "define" && n.name), ["a", "b"]);
});

Deno.test("derived forms expand into core nodes only", () => {
  const nodes = expand(`
    (define (f x . r)
      (define y 1)
      (let* ((a 1) (b a))
        (letrec ((g (lambda () a)))
          (let loop ((i 0))
            (cond ((= i 1) => (lambda (t) t)) ((> i 5)) (else (loop (+ i 1))))
            (case i ((1 2) 'a) (else 'b))
            (and a (or b #f) (when a 1) (unless b 2))
            (do ((j 0 (+ j 1))) ((= j 2) j) (set! y j))))))`);
  const core = new Set([
    "const",
    "param",
    "quote",
    "ref",
    "set",
    "define",
    "if",
    "lambda",
    "begin",
    "let",
    "letrec",
    "call",
    "primcall",
  ]);
  for (const k of kinds(nodes)) assert.ok(core.has(k), `unexpected node kind ${k}`);
});

Deno.test("internal defines become a letrec around the rest of the body", () => {
  const [def] = expand("(define (f) (define a 1) (define (g) a) (g))");
  assert.equal(def.k, "define");
  const lambda = def.k === "define" ? def.value : null;
  assert.equal(lambda?.k, "lambda");
  const body = lambda?.k === "lambda" ? lambda.body : null;
  assert.equal(body?.k, "letrec");
  assert.deepEqual(body?.k === "letrec" && body.names, ["a", "g"]);
});

Deno.test("a procedure bound by define or let carries its name for messages", () => {
  const [def, letForm] = expand("(define (f) 1) (let ((g (lambda () 2))) g)");
  assert.ok(def.k === "define" && def.value.k === "lambda");
  assert.equal(def.value.name, "f");
  assert.ok(letForm.k === "let" && letForm.values[0].k === "lambda");
  assert.equal(letForm.values[0].name, "g");
});

Deno.test("decimal literals become param nodes only when the params map names them", () => {
  const forms = read("(* 2 1.5)", FILE);
  const call = forms[0];
  assert.ok(call.type === "list");
  const lit = call.items[2];
  assert.ok(lit.type === "number");
  const plain = expandProgram(forms)[0];
  assert.ok(plain.k === "call" && plain.args[1].k === "const");
  const withParams = expandProgram(forms, { params: new Map([[lit, 0]]) })[0];
  assert.ok(withParams.k === "call");
  assert.deepEqual(withParams.args.map((a) => a.k), ["const", "param"]);
});

Deno.test("every node carries the position of the form it came from", () => {
  const [n] = expand("\n  (if x\n      (f 1)\n      2)");
  assert.ok(n.k === "if");
  assert.deepEqual([n.span.line, n.span.col], [2, 3]);
  assert.deepEqual([n.test.span.line, n.test.span.col], [2, 7]);
  assert.deepEqual([n.then.span.line, n.then.span.col], [3, 7]);
});

// ---------------------------------------------------------------------------------------------
// quote, if, define, set!, lambda, begin

Deno.test("quote returns its datum unevaluated, nested and dotted data included", () => {
  assert.equal(run("'a"), "a");
  assert.equal(run("''a"), "(quote a)");
  assert.equal(run('(quote (1 (2 . 3) "s" #t #f () (quote x)))'), '(1 (2 . 3) "s" #t #f () (quote x))');
  assert.equal(run("'(1 . (2 . (3 . ())))"), "(1 2 3)");
  assert.equal(run("'(a b . c)"), "(a b . c)");
  assert.equal(run("'()"), "()");
  assert.equal(run("(car '((if 1 2) . 3))"), "(if 1 2)");
  assert.equal(run("(eq? 'abc 'abc)"), "#t");
});

Deno.test("if with three operands picks a branch; only #f is false", () => {
  assert.equal(run("(if #t 1 2)"), "1");
  assert.equal(run("(if #f 1 2)"), "2");
  assert.equal(run("(if '() 'yes 'no)"), "yes");
  assert.equal(run("(if 0 'yes 'no)"), "yes");
  assert.equal(run("(if \"\" 'yes 'no)"), "yes");
});

Deno.test("if with two operands gives the unspecified value when the test is false", () => {
  assert.equal(run("(if #f 1)"), "#<unspecified>");
  assert.equal(run("(if #t 1)"), "1");
});

Deno.test("define binds a variable, a procedure, and variadic procedures", () => {
  assert.equal(run("(define x 7) x"), "7");
  assert.equal(run("(define (sq x) (* x x)) (sq 5)"), "25");
  assert.equal(run("(define (f . xs) xs) (list (f) (f 1) (f 1 2 3))"), "(() (1) (1 2 3))");
  assert.equal(run("(define (f a . r) (list a r)) (list (f 1) (f 1 2 3))"), "((1 ()) (1 (2 3)))");
  assert.equal(run("(define (f a b . r) (list a b r)) (f 1 2 3)"), "(1 2 (3))");
  assert.equal(run("(define f (lambda (x) (+ x 1))) (f 1)"), "2");
});

Deno.test("a later top-level define replaces the earlier binding for every caller", () => {
  assert.equal(run("(define x 1) (define (f) x) (define x 2) (f)"), "2");
  assert.equal(run("(define (f) 1) (define (g) (f)) (define (f) 2) (g)"), "2");
});

Deno.test("set! assigns a local, a global, and a variable captured by a closure", () => {
  assert.equal(run("(let ((x 1)) (set! x 5) x)"), "5");
  assert.equal(run("(define x 1) (set! x 2) x"), "2");
  assert.equal(run("(define x 10) (define (f) x) (set! x 20) (f)"), "20");
  assert.equal(
    run("(define (counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n))) (define c (counter)) (c) (c) (c)"),
    "3",
  );
  assert.equal(
    run(
      "(define (mk) (let ((n 0)) (cons (lambda () n) (lambda (v) (set! n v))))) (define p (mk)) ((cdr p) 9) ((car p))",
    ),
    "9",
  );
  // Two counters do not share state.
  assert.equal(
    run(
      "(define (counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n))) (define a (counter)) (define b (counter)) (a) (a) (list (a) (b))",
    ),
    "(3 1)",
  );
  assert.equal(run("(define (f x) (set! x (* x 2)) x) (f 4)"), "8");
  assert.equal(run("(let ((x 1)) (if (set! x 2) x 0))"), "2");
});

Deno.test("lambda takes a list, a symbol, or a dotted list of formals", () => {
  assert.equal(run("((lambda (a b) (- a b)) 5 3)"), "2");
  assert.equal(run("((lambda () 42))"), "42");
  assert.equal(run("((lambda args args) 1 2 3)"), "(1 2 3)");
  assert.equal(run("((lambda args args))"), "()");
  assert.equal(run("((lambda (a . b) (list a b)) 1)"), "(1 ())");
  assert.equal(run("((lambda (a . b) (list a b)) 1 2 3)"), "(1 (2 3))");
  assert.equal(run("(((lambda (x) (lambda (y) (+ x y))) 1) 2)"), "3");
});

Deno.test("a lambda body is a sequence whose last value is returned", () => {
  assert.equal(run("((lambda () 1 2 3))"), "3");
});

Deno.test("begin evaluates in order and returns the last value", () => {
  assert.equal(run("(define x 0) (begin (set! x 1) (set! x (+ x 10)) x)"), "11");
  assert.equal(run("(+ 1 (begin 2 3))"), "4");
});

// ---------------------------------------------------------------------------------------------
// let, let*, letrec, letrec*, named let

Deno.test("let binds in parallel: inits see the outer scope", () => {
  assert.equal(run("(let ((x 1) (y 2)) (+ x y))"), "3");
  assert.equal(run("(define x 10) (let ((x 1) (y x)) y)"), "10");
  assert.equal(run("(let ((x 1)) (let ((x 2) (y x)) (list x y)))"), "(2 1)");
  assert.equal(run("(let () 5)"), "5");
});

Deno.test("let* binds in sequence: each init sees the earlier names", () => {
  assert.equal(run("(let* ((x 1) (y (+ x 1)) (z (* y 10))) (list x y z))"), "(1 2 20)");
  assert.equal(run("(let* ((x 1) (x (+ x 1))) x)"), "2");
  assert.equal(run("(let* () 7)"), "7");
});

Deno.test("letrec and letrec* allow mutual recursion", () => {
  const evenOdd = `((ev? (lambda (n) (if (= n 0) #t (od? (- n 1)))))
                    (od? (lambda (n) (if (= n 0) #f (ev? (- n 1))))))`;
  assert.equal(run(`(letrec ${evenOdd} (list (ev? 10) (od? 7) (ev? 3)))`), "(#t #t #f)");
  assert.equal(run(`(letrec* ${evenOdd} (ev? 101))`), "#f");
  assert.equal(run("(letrec* ((a 1) (b (+ a 1))) (list a b))"), "(1 2)");
});

Deno.test("named let loops with fresh bindings and the loop name in scope of the body only", () => {
  assert.equal(run("(let loop ((i 0) (acc '())) (if (= i 3) acc (loop (+ i 1) (cons i acc))))"), "(2 1 0)");
  assert.equal(run("(define (fact n) (let f ((n n)) (if (= n 0) 1 (* n (f (- n 1)))))) (fact 5)"), "120");
  // The inits are evaluated outside the loop's scope.
  assert.equal(run("(define loop 5) (let loop ((i loop)) (if (= i 7) i (loop (+ i 1))))"), "7");
});

// ---------------------------------------------------------------------------------------------
// cond, case, and, or, when, unless, do

Deno.test("cond picks the first true clause; else; no match is unspecified", () => {
  assert.equal(run("(cond (#f 1) ((= 1 1) 2) (else 3))"), "2");
  assert.equal(run("(cond (#f 1) (else 3 4))"), "4");
  assert.equal(run("(cond (#f 1))"), "#<unspecified>");
  assert.equal(
    run("(define (sign x) (cond ((< x 0) -1) ((> x 0) 1) (else 0))) (map sign '(-5 0 5))"),
    "(-1 0 1)",
  );
});

Deno.test("cond => passes the test value to the receiver", () => {
  assert.equal(run("(cond ((assv 2 '((1 . a) (2 . b))) => cdr) (else 'no))"), "b");
  assert.equal(run("(cond ((assv 9 '((1 . a))) => cdr) (else 'no))"), "no");
});

Deno.test("a cond clause with only a test yields the test's value", () => {
  assert.equal(run("(cond (#f 1) ((+ 1 2)))"), "3");
  assert.equal(run("(cond ((member 2 '(1 2 3))) (else 'no))"), "(2 3)");
});

Deno.test("case matches symbols and numbers with eqv?, with else", () => {
  assert.equal(run("(case (* 2 3) ((2 3 5 7) 'prime) ((1 4 6 8 9) 'composite))"), "composite");
  assert.equal(run("(case 'x ((a) 1) ((x y) 2) (else 3))"), "2");
  assert.equal(run("(case 'z ((a) 1) ((x y) 2) (else 3))"), "3");
  assert.equal(run("(case 'z ((a) 1))"), "#<unspecified>");
  assert.equal(run("(case (+ 1 1) ((1) 'one) ((2) 'two))"), "two");
  assert.equal(run("(case #t ((#f) 'f) ((#t) 't))"), "t");
});

Deno.test("case evaluates its key once", () => {
  assert.equal(
    run("(define n 0) (define (k) (set! n (+ n 1)) 5) (case (k) ((1) 'a) ((2) 'b) ((5) 'c)) n"),
    "1",
  );
});

Deno.test("case => passes the key to the receiver, in a clause and in else", () => {
  assert.equal(run("(case 1 ((1) => (lambda (x) (+ x 100))) (else 0))"), "101");
  assert.equal(run("(case 9 ((1) 1) (else => (lambda (x) (* x 2))))"), "18");
});

Deno.test("and and or return values, not just booleans", () => {
  assert.equal(run("(and 1 2 'c)"), "c");
  assert.equal(run("(and)"), "#t");
  assert.equal(run("(and 1 #f 3)"), "#f");
  assert.equal(run("(or #f 2)"), "2");
  assert.equal(run("(or)"), "#f");
  assert.equal(run("(or #f #f)"), "#f");
  assert.equal(run("(or (memq 'b '(a b c)) 'none)"), "(b c)");
});

Deno.test("and and or short-circuit", () => {
  assert.equal(run("(define n 0) (and #f (set! n 1)) (or 1 (set! n 2)) n"), "0");
  assert.equal(run("(and #f (car 5))"), "#f");
  assert.equal(run("(or 1 (car 5))"), "1");
});

Deno.test("when and unless run their body on a true or false test", () => {
  assert.equal(run("(when (> 1 0) 'a 'b)"), "b");
  assert.equal(run("(when (< 1 0) 'a)"), "#<unspecified>");
  assert.equal(run("(unless (< 1 0) 'a 'b)"), "b");
  assert.equal(run("(unless (> 1 0) 'a 'b)"), "#<unspecified>");
});

Deno.test("do loops with steps, without a step, and with body commands", () => {
  assert.equal(run("(do ((i 0 (+ i 1)) (acc '() (cons i acc))) ((= i 3) acc))"), "(2 1 0)");
  assert.equal(run("(do ((acc '()) (i 0 (+ i 1))) ((= i 3) acc) (set! acc (cons i acc)))"), "(2 1 0)");
  assert.equal(run("(define s 0) (do ((i 1 (+ i 1))) ((> i 4)) (set! s (+ s i))) s"), "10");
  assert.equal(run("(do ((i 0 (+ i 1))) ((= i 2)))"), "#<unspecified>");
  assert.equal(run("(do ((i 0 (+ i 1))) ((= i 2) 'a 'b))"), "b");
  // Steps are evaluated in parallel, all seeing the old values.
  assert.equal(run("(do ((a 0 b) (b 1 (+ a b)) (n 0 (+ n 1))) ((= n 10) a))"), "55");
});

// ---------------------------------------------------------------------------------------------
// Bodies: internal defines

Deno.test("internal defines have letrec* meaning", () => {
  assert.equal(run("(define (f) (define a 1) (define (g) (* a 2)) (g)) (f)"), "2");
  assert.equal(run("(define (f) (define a 1) (define b (+ a 1)) (list a b)) (f)"), "(1 2)");
  assert.equal(
    run(`(define (f n)
           (define (ev? n) (if (= n 0) #t (od? (- n 1))))
           (define (od? n) (if (= n 0) #f (ev? (- n 1))))
           (ev? n))
         (f 10)`),
    "#t",
  );
  assert.equal(run("(let ((x 1)) (define y 2) (+ x y))"), "3");
  assert.equal(run("(let* ((x 1)) (define y 2) (+ x y))"), "3");
  assert.equal(run("((lambda () (define z 3) z))"), "3");
});

Deno.test("internal defines after a begin at the head of a body are still definitions", () => {
  assert.equal(run("(define (f) (begin (define a 3)) (define b 4) (+ a b)) (f)"), "7");
  assert.equal(run("(define (f) (begin (define a 3) (define b 4)) (* a b)) (f)"), "12");
});

Deno.test("an internal define shadows a global of the same name", () => {
  assert.equal(run("(define x 'global) (define (f) (define x 'local) x) (list (f) x)"), "(local global)");
});

// ---------------------------------------------------------------------------------------------
// Scope: shadowing special forms and primitives

Deno.test("a formal named like a primitive shadows it", () => {
  assert.equal(run("(define (f list) (car list)) (f '(7 8))"), "7");
  assert.equal(run("(define (g car) (car 1)) (g (lambda (x) (* x 10)))"), "10");
  assert.equal(run("(let ((list 1) (car 2)) (+ list car))"), "3");
});

Deno.test("a local variable may shadow a special-form name within its scope (R7RS)", () => {
  assert.equal(run("(let ((list 1) (if 2)) (+ list if))"), "3");
  assert.equal(run("(let ((if (lambda (a b c) 'shadowed))) (if #t 1 2))"), "shadowed");
  assert.equal(run("(define (f quote) quote) (f 5)"), "5");
  assert.equal(run("((lambda (when . unless) (list when unless)) 1 2)"), "(1 (2))");
  assert.equal(run("(define (f) (define and 5) and) (f)"), "5");
  assert.equal(run("(let do ((i 0)) (if (< i 3) (do (+ i 1)) i))"), "3");
  assert.equal(run("(do ((begin 0 (+ begin 1))) ((= begin 2) begin))"), "2");
  // The shadowing ends with the scope: outside it the special form is back.
  assert.equal(run("(list (let ((if 1)) if) (if #f 1 2))"), "(1 2)");
});

Deno.test("a top-level define of a special-form name is a syntax error at the name", () => {
  assertSyntaxError("(define if 5)", "1:9", "cannot bind the special form name 'if'");
  assertSyntaxError("(define (cond x) x)", "1:10", "cannot bind the special form name 'cond'");
  assertSyntaxError("(begin (define lambda 1))", "1:16", "cannot bind the special form name 'lambda'");
});

Deno.test("else and => are ordinary names when bound locally", () => {
  assert.equal(run("(let ((else #f)) (cond (else 1) (#t 2)))"), "2");
});

Deno.test("a global define of a primitive's name replaces it for the whole program", () => {
  assert.equal(run("(define (car x) 42) (car '(1))"), "42");
  assert.equal(run("(define (g) (car '(1))) (define (car x) 43) (g)"), "43");
  assert.equal(run("(define car cdr) (car '(1 2))"), "(2)");
  assert.equal(run("(set! car cdr) (car '(1 2))"), "(2)");
});

Deno.test("a local binding of a primitive's name shadows it only locally", () => {
  assert.equal(run("(list (let ((car (lambda (x) 'local))) (car '(1))) (car '(1)))"), "(local 1)");
  assert.equal(run("(define (f +) (+ 1 2)) (list (f -) (+ 1 2))"), "(-1 3)");
});

// ---------------------------------------------------------------------------------------------
// Syntax errors, with their exact positions

Deno.test("malformed let forms are syntax errors at the offending part", () => {
  assertSyntaxError("(let ((x)) x)", "1:7", "let: expected a binding (name expression), got (x)");
  assertSyntaxError("(let x)", "1:1", "let: expected bindings and a body");
  assertSyntaxError("(let ((x 1)))", "1:1", "let: expected bindings and a body");
  assertSyntaxError("(let ((x 1) (x 2)) x)", "1:14", "duplicate binding of 'x'");
  assertSyntaxError("(let ((x 1) . 2) x)", "1:6", "let: expected a list of bindings");
  assertSyntaxError("(let ((1 2)) 3)", "1:7", "let: expected a binding");
  assertSyntaxError("(let loop ((i 0)))", "1:1", "named let needs bindings and a body");
  assertSyntaxError("(let* ((x 1) y) x)", "1:14", "let*: expected a binding");
  assertSyntaxError("(letrec ((f)) f)", "1:10", "letrec: expected a binding");
});

Deno.test("lambda with a non-symbol formal is a syntax error at the formal", () => {
  assertSyntaxError("(lambda (1) 1)", "1:10", "lambda: formal parameter must be a symbol, got 1");
  assertSyntaxError('(lambda (x "y") x)', "1:12", "formal parameter must be a symbol");
  assertSyntaxError("(lambda (x . 5) x)", "1:14", "rest parameter must be a symbol, got 5");
  assertSyntaxError("(lambda 5 5)", "1:9", "expected a list of formals or a symbol");
  assertSyntaxError("(lambda (x x) x)", "1:12", "duplicate parameter 'x'");
  assertSyntaxError("(lambda x)", "1:1", "lambda: expected formals and a body");
  assertSyntaxError("(define (f #t) 1)", "1:12", "formal parameter must be a symbol, got #t");
});

Deno.test("if with a wrong number of operands is a syntax error", () => {
  assertSyntaxError("(if)", "1:1", "if: expected 2 to 3 operand(s), got 0");
  assertSyntaxError("(+ 1\n  (if 1))", "2:3", "if: expected 2 to 3 operand(s), got 1");
  assertSyntaxError("(if 1 2 3 4)", "1:1", "got 4");
});

Deno.test("define in expression position is a syntax error", () => {
  assertSyntaxError(
    "(+ 1 (define x 1))",
    "1:6",
    "define is only allowed at top level or at the start of a body",
  );
  assertSyntaxError("(if (begin (define x 1) x) 1 2)", "1:12", "define is only allowed");
  assertSyntaxError(
    "(define (f) 1 (define x 1) x)",
    "1:15",
    "definitions must come before the expressions of a body",
  );
  assertSyntaxError("(define (f) (define x 1))", "1:1", "body has no expression after its definitions");
});

Deno.test("the empty combination () is a syntax error", () => {
  assertSyntaxError("(+ 1 ())", "1:6", "empty combination ()");
  assertSyntaxError("()", "1:1", "to write the empty list use '()");
});

Deno.test("malformed define, set!, quote and begin are syntax errors", () => {
  assertSyntaxError("(define)", "1:1", "define: malformed definition");
  assertSyntaxError("(define x 1 2)", "1:1", "define: expected a name and one expression");
  assertSyntaxError("(define (f))", "1:1", "has no body");
  assertSyntaxError("(define 5 2)", "1:9", "define: expected a name or (name formals…), got 5");
  assertSyntaxError("(let ((f 1)) (define 5 2) f)", "1:14", "define: malformed definition");
  assertSyntaxError("(set! 1 2)", "1:7", "set!: expected a variable name, got 1");
  assertSyntaxError("(set! x)", "1:1", "set!: expected 2 operand(s), got 1");
  assertSyntaxError("(quote)", "1:1", "quote: expected 1 operand(s), got 0");
  assertSyntaxError("(quote 1 2)", "1:1", "got 2");
  assertSyntaxError("(+ (begin))", "1:4", "begin: expected at least one expression");
});

Deno.test("malformed cond, case, when and do are syntax errors", () => {
  assertSyntaxError("(cond)", "1:1", "cond: expected at least one clause");
  assertSyntaxError("(cond (else))", "1:7", "else clause needs at least one expression");
  assertSyntaxError("(cond (else 1) (#t 2))", "1:7", "else clause must be the last clause");
  assertSyntaxError("(cond 5)", "1:7", "cond: expected a clause");
  assertSyntaxError("(cond (1 => f g))", "1:7", "cond: expected (test => receiver)");
  assertSyntaxError("(case)", "1:1", "case: expected a key and at least one clause");
  assertSyntaxError("(case 1 (1 2))", "1:10", "case: expected a list of datums, got 1");
  assertSyntaxError("(case 1 (else 1) ((1) 2))", "1:9", "else clause must be the last clause");
  assertSyntaxError("(when #t)", "1:1", "when: expected a test and at least one expression");
  assertSyntaxError("(unless)", "1:1", "unless: expected a test and at least one expression");
  assertSyntaxError("(do ((i 0 (+ i 1) 3)) (#t))", "1:7", "do: expected (variable init [step])");
  assertSyntaxError("(do ((i 0)) ())", "1:13", "do: expected (test result …)");
  assertSyntaxError("(do ((i 0)))", "1:1", "do: expected bindings");
});

Deno.test("a special-form name used as a variable is a syntax error at the name", () => {
  assertSyntaxError("(+ 1 if)", "1:6", "'if' is a special form, not a variable");
  assertSyntaxError("(list\n  lambda)", "2:3", "'lambda' is a special form");
});

Deno.test("a dotted call is a syntax error", () => {
  assertSyntaxError("(f . 1)", "1:1", "a call or form must be a proper list");
});

Deno.test("SPECIAL_FORMS lists exactly the special forms of DESIGN §2", () => {
  assert.deepEqual(
    [...SPECIAL_FORMS].sort(),
    [
      "and",
      "begin",
      "case",
      "cond",
      "define",
      "do",
      "if",
      "lambda",
      "let",
      "let*",
      "letrec",
      "letrec*",
      "or",
      "quote",
      "set!",
      "unless",
      "when",
    ],
  );
});
