/**
 * The case tables of the primitive tests: for every primitive of lib/primitives.ts, Scheme
 * programs with their expected values (R7RS semantics where the language follows R7RS), and
 * for every differentiable one, scalar programs whose decimal literals are the parameters of
 * a gradient check. tests/primitives_test.ts fails when a primitive has no case here.
 */
import { err, exact, near, type ValueCase, type Want } from "./primitives_harness.ts";

type Cases = Record<string, readonly (readonly [string, Want] | ValueCase)[]>;

/** Cases as `[src, want]` pairs or full ValueCase objects, normalised. */
function table(t: Cases): Record<string, ValueCase[]> {
  const out: Record<string, ValueCase[]> = {};
  for (const [name, cs] of Object.entries(t)) {
    out[name] = cs.map((c) => ("src" in c ? c : { src: c[0], want: c[1] }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// c[ad]{1,4}r on a full binary tree of depth 4, so that every path exists.

type Tree = number | [Tree, Tree];

function fullTree(depth: number, next = { n: 1 }): Tree {
  return depth === 0 ? next.n++ : [fullTree(depth - 1, next), fullTree(depth - 1, next)];
}

/** A tree in Scheme write syntax (pairs whose cdr is a pair continue the list). */
function writeTree(t: Tree): string {
  if (typeof t === "number") return String(t);
  const parts = [writeTree(t[0])];
  let rest: Tree = t[1];
  while (typeof rest !== "number") {
    parts.push(writeTree(rest[0]));
    rest = rest[1];
  }
  return `(${parts.join(" ")} . ${rest})`;
}

/** Every cxr name with its value on the full tree, e.g. `cadr` → cdr, then car. */
function cxrCases(): Cases {
  const tree = fullTree(4);
  const src = `'${writeTree(tree)}`;
  const out: Record<string, [string, Want][]> = {};
  const paths: string[] = [];
  for (let len = 1; len <= 4; len++) {
    let ps = [""];
    for (let i = 0; i < len; i++) ps = ps.flatMap((p) => [p + "a", p + "d"]);
    paths.push(...ps);
  }
  for (const path of paths) {
    let t: Tree = tree;
    for (const step of [...path].reverse()) t = (t as [Tree, Tree])[step === "a" ? 0 : 1];
    out[`c${path}r`] = [[`(c${path}r ${src})`, writeTree(t)], [
      `(c${path}r '())`,
      err("type", new RegExp(`c${path}r`)),
    ]];
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Value cases

/** Numbers, comparison, rounding, integer division, predicates on numbers. */
export const NUMBER_CASES: Record<string, ValueCase[]> = table({
  "+": [
    ["(+)", "0"],
    ["(+ 5)", "5"],
    ["(+ 1 2 3)", "6"],
    ["(+ 0.5 0.25)", "0.75"],
    ["(+ (tensor '(1 2)) 0.5)", "#<tensor (2) (1.5 2.5)>"],
    ["(+ 1 'a)", err("type", /\+/)],
    ['(+ "a")', err("type")],
  ],
  "*": [
    ["(*)", "1"],
    ["(* 4)", "4"],
    ["(* 2 3 4)", "24"],
    ["(* 1.5 -2.0)", "-3"],
    ["(* (tensor '((1 2) (3 4))) (tensor '(10 0.5)))", "#<tensor (2 2) ((10 1) (30 2))>"],
    ["(* (tensor '(1 2)) (tensor '(1 2 3)))", err("type", /\*/)],
    ["(* 2 #t)", err("type")],
  ],
  "-": [
    ["(- 5)", "-5"],
    ["(- 0.5)", "-0.5"],
    ["(- 0.0)", exact("-0.0")],
    ["(- (tensor '(1 -2)))", "#<tensor (2) (-1 2)>"],
    ["(- 10 1 2)", "7"],
    ["(- 2.5 0.5)", "2"],
    ["(-)", err("arity")],
    ["(- 'a)", err("type")],
  ],
  "/": [
    ["(/ 2)", "0.5"],
    ["(/ 1 2)", "0.5"],
    ["(/ 60 2 3)", "10"],
    ["(/ 0.5)", "2"],
    ["(/ (tensor '(2 4)))", "#<tensor (2) (0.5 0.25)>"],
    ["(/ 3.0 1.5)", "2"],
    ["(/ 1 0)", "+inf.0"],
    ["(/ -1.0 0)", "-inf.0"],
    ["(/)", err("arity")],
  ],
  "=": [
    ["(= 1 1.0)", "#t"],
    ["(= 1 2)", "#f"],
    ["(= 1 1 1)", "#t"],
    ["(= 1 1 2)", "#f"],
    ["(= 2.5 2.5)", "#t"],
    ["(= 1 'a)", err("type")],
  ],
  "<": [
    ["(< 1 2 3)", "#t"],
    ["(< 1 3 2)", "#f"],
    ["(< 1 1)", "#f"],
    ["(< 0.5 0.7)", "#t"],
    ["(< 1)", "#t"],
    ["(< (tensor '(1 2)) 3)", err("type", /</)],
    ["(< 1 'a)", err("type")],
  ],
  ">": [
    ["(> 3 2 1)", "#t"],
    ["(> 3 1 2)", "#f"],
    ["(> 1 1)", "#f"],
    ["(> 0.7 0.5)", "#t"],
  ],
  "<=": [
    ["(<= 1 1 2)", "#t"],
    ["(<= 2 1)", "#f"],
    ["(<= 0.5 0.5)", "#t"],
  ],
  ">=": [
    ["(>= 2 2 1)", "#t"],
    ["(>= 1 2)", "#f"],
    ["(>= 0.5 0.5 -1.5)", "#t"],
  ],
  abs: [
    ["(abs -7)", "7"],
    ["(abs -2.5)", "2.5"],
    ["(abs 3)", "3"],
    ["(abs (tensor '(-1.5 2)))", "#<tensor (2) (1.5 2)>"],
    ["(abs 'a)", err("type", /abs/)],
  ],
  exp: [
    ["(exp 0)", "1"],
    ["(exp 1)", Math.E],
    ["(exp 0.5)", Math.exp(0.5)],
    ["(exp -1000)", "0"],
    ["(exp (tensor '(0 1)))", `#<tensor (2) (1 ${Math.E})>`],
  ],
  sqrt: [
    ["(sqrt 16)", "4"],
    ["(sqrt 2.25)", "1.5"],
    ["(sqrt 2)", Math.SQRT2],
    ["(sqrt -1.0)", "+nan.0"],
  ],
  sin: [
    ["(sin 0)", "0"],
    ["(sin 0.5)", Math.sin(0.5)],
    ["(sin -1.25)", Math.sin(-1.25)],
  ],
  cos: [
    ["(cos 0)", "1"],
    ["(cos 0.5)", Math.cos(0.5)],
    ["(cos -1.25)", Math.cos(-1.25)],
  ],
  tan: [
    ["(tan 0)", "0"],
    ["(tan 0.5)", Math.tan(0.5)],
    ["(tan -1.25)", Math.tan(-1.25)],
  ],
  asin: [
    ["(asin 0)", "0"],
    ["(asin 1)", Math.PI / 2],
    ["(asin 0.5)", Math.asin(0.5)],
    ["(asin -0.25)", Math.asin(-0.25)],
  ],
  acos: [
    ["(acos 1)", "0"],
    ["(acos 0)", Math.PI / 2],
    ["(acos 0.5)", Math.acos(0.5)],
    ["(acos -0.25)", Math.acos(-0.25)],
  ],
  tanh: [
    ["(tanh 0)", "0"],
    ["(tanh 0.5)", Math.tanh(0.5)],
    ["(tanh 1000.0)", "1"],
    ["(tanh -1000.0)", "-1"],
  ],
  square: [
    ["(square 3)", "9"],
    ["(square -1.5)", "2.25"],
    ["(square 'a)", err("type")],
  ],
  floor: [
    ["(floor 2.5)", "2"],
    ["(floor -2.5)", "-3"],
    ["(floor 3)", "3"],
    ["(floor -4.3)", "-5"],
    ["(floor (tensor '(1.5 -1.5)))", "#<tensor (2) (1 -2)>"],
  ],
  ceiling: [
    ["(ceiling 2.5)", "3"],
    ["(ceiling -2.5)", "-2"],
    ["(ceiling 3)", "3"],
    ["(ceiling 3.2)", "4"],
    ["(ceiling (tensor '(1.5 -1.5)))", "#<tensor (2) (2 -1)>"],
  ],
  round: [
    ["(round 2.5)", "2"],
    ["(round -3.5)", "-4"],
    ["(round 3.5)", "4"],
    ["(round -2.5)", "-2"],
    ["(round 0.5)", "0"],
    ["(round 1.6)", "2"],
    ["(round -1.4)", "-1"],
    ["(round 7)", "7"],
    ["(round (tensor '(0.5 1.5 2.5 -2.5 -0.4)))", "#<tensor (5) (0 2 2 -2 0)>"],
  ],
  truncate: [
    ["(truncate 2.7)", "2"],
    ["(truncate -2.7)", "-2"],
    ["(truncate 5)", "5"],
    ["(truncate (tensor '(2.7 -2.7)))", "#<tensor (2) (2 -2)>"],
  ],
  sigmoid: [
    ["(sigmoid 0)", "0.5"],
    ["(sigmoid 2.0)", 1 / (1 + Math.exp(-2))],
    ["(sigmoid -2.0)", 1 / (1 + Math.exp(2))],
    ["(sigmoid 1000.0)", "1"],
    ["(sigmoid -1000.0)", exact("0")],
    ["(sigmoid -50.0)", near(1.9287498479639178e-22, 1e-5)],
    ["(sigmoid 1e-10)", near(0.5 + 2.5e-11, 1e-6)],
    ["(sigmoid (tensor '(-1000 0 1000)))", "#<tensor (3) (0 0.5 1)>"],
  ],
  softplus: [
    ["(softplus 0)", Math.LN2],
    ["(softplus 1.5)", Math.log1p(Math.exp(1.5))],
    ["(softplus -1.5)", Math.log1p(Math.exp(-1.5))],
    ["(softplus 1000.0)", exact("1000")],
    ["(softplus -1000.0)", near(0, 0, 1e-300)],
    ["(softplus -30.0)", near(9.357622968840175e-14, 1e-5)],
    ["(softplus 1e-10)", near(Math.LN2 + 5e-11, 1e-6)],
    ["(softplus (tensor '(-1000 0 1000)))", `#<tensor (3) (0 ${Math.LN2} 1000)>`],
  ],
  relu: [
    ["(relu -2)", "0"],
    ["(relu 2.5)", "2.5"],
    ["(relu 0)", "0"],
    ["(relu -0.5)", "0"],
    ["(relu (tensor '(-1 2)))", "#<tensor (2) (0 2)>"],
  ],
  log1p: [
    ["(log1p 1e-10)", near(9.9999999995e-11, 1e-6)],
    ["(log1p 0)", "0"],
    ["(log1p -0.5)", Math.log(0.5)],
    ["(log1p 1000.0)", Math.log(1001)],
    ["(log1p (tensor '(0 1)))", `#<tensor (2) (0 ${Math.LN2})>`],
  ],
  expm1: [
    ["(expm1 1e-10)", near(1.00000000005e-10, 1e-6)],
    ["(expm1 0)", "0"],
    ["(expm1 1.0)", Math.E - 1],
    ["(expm1 -1000.0)", "-1"],
    ["(expm1 (tensor '(0 -1000)))", "#<tensor (2) (0 -1)>"],
  ],
  log: [
    ["(log 1)", "0"],
    ["(log 2.5)", Math.log(2.5)],
    ["(log 8 2)", "3"],
    ["(log 100 10)", "2"],
    ["(log 0.25 2.0)", "-2"],
    ["(log 0)", "-inf.0"],
    ["(log 'a)", err("type", /log/)],
  ],
  atan: [
    ["(atan 1)", Math.PI / 4],
    ["(atan 1 1)", Math.PI / 4],
    ["(atan 1 -1)", (3 * Math.PI) / 4],
    ["(atan -1 -1)", (-3 * Math.PI) / 4],
    ["(atan 0.5 2.0)", Math.atan2(0.5, 2)],
    ["(atan -2.0)", Math.atan(-2)],
  ],
  expt: [
    ["(expt 2 10)", "1024"],
    ["(expt 2 -1)", "0.5"],
    ["(expt 2.0 0.5)", Math.SQRT2],
    ["(expt 4 0.5)", "2"],
    ["(expt 0 0)", "1"],
    ["(expt -2 3)", "-8"],
    ["(expt -2.0 3)", "-8"],
    ["(expt 1.5 2.0)", "2.25"],
  ],
  min: [
    ["(min 1 2 3)", "1"],
    ["(min (tensor '(1 5)) 2)", "#<tensor (2) (1 2)>"],
    ["(min 3 1 2)", "1"],
    ["(min 5)", "5"],
    ["(min -1.5 2.0)", "-1.5"],
    ["(min 1 'a)", err("type")],
  ],
  max: [
    ["(max 1 2 3)", "3"],
    ["(max (tensor '(1 5)) 2)", "#<tensor (2) (2 5)>"],
    ["(max 3 1 2)", "3"],
    ["(max 5)", "5"],
    ["(max -1.5 2.0)", "2"],
    ["(max 1 'a)", err("type")],
  ],
  quotient: [
    ["(quotient 7 2)", "3"],
    ["(quotient -7 2)", "-3"],
    ["(quotient 7 -2)", "-3"],
    ["(quotient -7 -2)", "3"],
    ["(quotient -1 2)", exact("0")],
    ["(quotient 8.0 2)", "4"],
    ["(quotient 7 0)", err("type", /division by zero/)],
    ["(quotient 7.5 2)", err("type", /integer/)],
  ],
  remainder: [
    ["(remainder 7 2)", "1"],
    ["(remainder -7 2)", "-1"],
    ["(remainder 7 -2)", "1"],
    ["(remainder -7 -2)", "-1"],
    ["(remainder -6 3)", exact("0")],
    ["(remainder 7 0)", err("type", /division by zero/)],
  ],
  modulo: [
    ["(modulo 7 2)", "1"],
    ["(modulo -7 2)", "1"],
    ["(modulo 7 -2)", "-1"],
    ["(modulo -7 -2)", "-1"],
    ["(modulo 6 -3)", exact("0")],
    ["(modulo -6 3)", exact("0")],
    ["(modulo 7 0)", err("type", /division by zero/)],
  ],
  "number?": [
    ["(number? 1)", "#t"],
    ["(number? 1.5)", "#t"],
    ["(number? 'a)", "#f"],
    ['(number? "1")', "#f"],
    ["(number? (tensor 2))", "#t"],
    ["(number? (tensor '(1 2)))", "#f"],
  ],
  "integer?": [
    ["(integer? 3)", "#t"],
    ["(integer? 3.0)", "#t"],
    ["(integer? 3.5)", "#f"],
    ["(integer? 'a)", "#f"],
    ['(integer? "3")', "#f"],
  ],
  "zero?": [
    ["(zero? 0)", "#t"],
    ["(zero? 0.0)", "#t"],
    ["(zero? -0.0)", "#t"],
    // 1e-300 is 0 in float32, so only as a constant does it stay non-zero on tfjs.
    { src: "(zero? 1e-300)", want: "#f", modes: ["const"] },
    ["(zero? 'a)", err("type")],
  ],
  "positive?": [
    ["(positive? 2)", "#t"],
    ["(positive? 0)", "#f"],
    ["(positive? -1.5)", "#f"],
    ["(positive? 0.5)", "#t"],
  ],
  "negative?": [
    ["(negative? -2)", "#t"],
    ["(negative? 0)", "#f"],
    ["(negative? -1.5)", "#t"],
    ["(negative? 0.5)", "#f"],
  ],
  "even?": [
    ["(even? 0)", "#t"],
    ["(even? -4)", "#t"],
    ["(even? 3)", "#f"],
    ["(even? 4.0)", "#t"],
    ["(even? 2.5)", err("type")],
  ],
  "odd?": [
    ["(odd? -3)", "#t"],
    ["(odd? 2)", "#f"],
    ["(odd? 7)", "#t"],
    ["(odd? 1.5)", err("type")],
  ],
  exact: [
    ["(exact 3.0)", "3"],
    ["(exact -2)", "-2"],
    ["(exact -0.0)", exact("0")],
    ["(exact 2.5)", err("type", /integer/)],
  ],
  inexact: [
    ["(inexact 3)", "3"],
    ["(inexact 0.5)", "0.5"],
    ["(inexact 'a)", err("type")],
  ],
});

/** Booleans and equivalence. */
export const BOOLEAN_CASES: Record<string, ValueCase[]> = table({
  not: [
    ["(not #f)", "#t"],
    ["(not #t)", "#f"],
    ["(not 0)", "#f"],
    ["(not '())", "#f"],
    ['(not "")', "#f"],
  ],
  "boolean?": [
    ["(boolean? #f)", "#t"],
    ["(boolean? #t)", "#t"],
    ["(boolean? 0)", "#f"],
    ["(boolean? '())", "#f"],
  ],
  "eq?": [
    ["(eq? 'a 'a)", "#t"],
    ["(eq? 'a 'b)", "#f"],
    ["(eq? '() '())", "#t"],
    ["(eq? (list 1) (list 1))", "#f"],
    ["(let ((p (list 1))) (eq? p p))", "#t"],
    ["(eq? car car)", "#t"],
    ["(eq? 2 2)", "#t"],
    ["(eq? #t #t)", "#t"],
    ['(eq? "a" \'a)', "#f"],
  ],
  "eqv?": [
    ["(eqv? 1.5 1.5)", "#t"],
    ["(eqv? 100000000 100000000)", "#t"],
    ["(eqv? 1 2)", "#f"],
    ["(eqv? 'x 'x)", "#t"],
    ["(eqv? (cons 1 2) (cons 1 2))", "#f"],
    ["(let ((f (lambda (x) x))) (eqv? f f))", "#t"],
    ["(eqv? '() '())", "#t"],
  ],
  "equal?": [
    ["(equal? '(1 (2 3)) (list 1 (list 2 3)))", "#t"],
    ['(equal? "abc" "abc")', "#t"],
    ["(equal? '(1 2) '(1 3))", "#f"],
    ["(equal? '(1 2) '(1 2 3))", "#f"],
    ["(equal? '(1 . 2) (cons 1 2))", "#t"],
    ["(equal? 'a 'a)", "#t"],
    ["(equal? 2 2.0)", "#t"],
    ["(equal? (tensor '(1 2)) (tensor '(1 2)))", "#t"],
    ["(equal? (tensor '(1 2)) (tensor '(1 3)))", "#f"],
    ["(equal? (tensor '(1 2)) (tensor '((1 2))))", "#f"],
  ],
});

/** Pairs and lists. */
export const LIST_CASES: Record<string, ValueCase[]> = table({
  cons: [
    ["(cons 1 2)", "(1 . 2)"],
    ["(cons 1 '(2))", "(1 2)"],
    ["(cons '() '())", "(())"],
    ["(cons 'a (cons 'b 'c))", "(a b . c)"],
  ],
  car: [
    ["(car '(1 2))", "1"],
    ["(car '((a) b))", "(a)"],
    ["(car (cons 1 2))", "1"],
    ["(car '())", err("type", /car/)],
  ],
  cdr: [
    ["(cdr '(1 2))", "(2)"],
    ["(cdr (cons 1 2))", "2"],
    ["(cdr '(1))", "()"],
    ["(cdr 5)", err("type", /cdr/)],
  ],
  ...cxrCases(),
  list: [
    ["(list)", "()"],
    ["(list 1 2 3)", "(1 2 3)"],
    ["(list 1 '(2) \"s\" 'a #t 0.5)", '(1 (2) "s" a #t 0.5)'],
  ],
  "pair?": [
    ["(pair? '(1))", "#t"],
    ["(pair? '())", "#f"],
    ["(pair? (cons 1 2))", "#t"],
    ['(pair? "ab")', "#f"],
  ],
  "null?": [
    ["(null? '())", "#t"],
    ["(null? '(1))", "#f"],
    ["(null? #f)", "#f"],
    ["(null? (cdr '(1)))", "#t"],
  ],
  "list?": [
    ["(list? '(1 2))", "#t"],
    ["(list? '())", "#t"],
    ["(list? (cons 1 2))", "#f"],
    ["(list? 'a)", "#f"],
    ["(list? '(1 2 . 3))", "#f"],
  ],
  length: [
    ["(length '())", "0"],
    ["(length '(1 2 3))", "3"],
    ["(length '(1 (2 3)))", "2"],
    ["(length (cons 1 2))", err("type", /length/)],
  ],
  append: [
    ["(append)", "()"],
    ["(append '(1) '(2 3))", "(1 2 3)"],
    ["(append '(1) '(2) '(3 4) '())", "(1 2 3 4)"],
    ["(append '() 5)", "5"],
    ["(append '(1) 2)", "(1 . 2)"],
    ["(append '(1 2) '(3 . 4))", "(1 2 3 . 4)"],
    ["(let ((t (list 3))) (eq? t (cddr (append '(1 2) t))))", "#t"],
    ["(let ((a (list 1 2))) (eq? a (append '() a)))", "#t"],
    ["(append 1 '(2))", err("type", /append/)],
  ],
  reverse: [
    ["(reverse '(1 2 3))", "(3 2 1)"],
    ["(reverse '())", "()"],
    ["(reverse '(1 (2 3)))", "((2 3) 1)"],
    ["(reverse (cons 1 2))", err("type")],
  ],
  "list-tail": [
    ["(list-tail '(1 2 3 4) 2)", "(3 4)"],
    ["(list-tail '(1 2) 2)", "()"],
    ["(list-tail '(1 2) 0)", "(1 2)"],
    ["(list-tail '(1 2) 3)", err("type", /out of range/)],
  ],
  "list-ref": [
    ["(list-ref '(a b c) 0)", "a"],
    ["(list-ref '(a b c) 2)", "c"],
    ["(list-ref '(a b c) 1.0)", "b"],
    ["(list-ref '(a b c) 3)", err("type", /out of range/)],
    ["(list-ref '(a b c) -1)", err("type")],
  ],
  memq: [
    ["(memq 'c '(a b c d))", "(c d)"],
    ["(memq 'z '(a b))", "#f"],
    ["(memq 101 '(100 101 102))", "(101 102)"],
    ["(memq 'a 'b)", err("type")],
  ],
  member: [
    ["(member '(1) '((0) (1) (2)))", "((1) (2))"],
    ['(member "b" \'("a" "b"))', '("b")'],
    ["(member 4 '(1 2 3))", "#f"],
    ["(member 2.0 '(1 2 3) =)", "(2 3)"],
    ["(member 5 '(1 7 3) <)", "(7 3)"],
    ["(member 'b '(a b c) (lambda (x y) (eq? x y)))", "(b c)"],
    ["(member 1 '(1) 5)", err("type")],
  ],
  assq: [
    ["(assq 'b '((a 1) (b 2)))", "(b 2)"],
    ["(assq 'z '((a 1)))", "#f"],
    ["(assq 'a '(1))", err("type")],
  ],
  assv: [
    ["(assv 5 '((2 3) (5 7) (11 13)))", "(5 7)"],
    ["(assv 1.5 '((0.5 a) (1.5 b)))", "(1.5 b)"],
    ["(assv 4 '((2 3)))", "#f"],
  ],
  assoc: [
    ["(assoc '(a) '(((a)) ((b))))", "((a))"],
    ['(assoc "b" \'(("a" . 1) ("b" . 2)))', '("b" . 2)'],
    ["(assoc 2.0 '((1 one) (2 two)) =)", "(2 two)"],
    ["(assoc 5 '((1 a) (7 b)) <)", "(7 b)"],
    ["(assoc 'x '((a 1)))", "#f"],
  ],
});

/** Higher-order procedures, iota, procedure?, error. */
export const CONTROL_CASES: Record<string, ValueCase[]> = table({
  map: [
    ["(map car '((a b) (d e) (g h)))", "(a d g)"],
    ["(map + '(1 2 3) '(10 20 30))", "(11 22 33)"],
    ["(map + '(1 2 3) '(10 20))", "(11 22)"],
    ['(map list \'(1 2) \'(a b) \'("x" "y"))', '((1 a "x") (2 b "y"))'],
    ["(map (lambda (x) (* x x)) '())", "()"],
    ["(map (lambda (x) (* x 0.5)) '(1 2))", "(0.5 1)"],
    ["(map 1 '(1))", err("type", /map/)],
    ["(map car 5)", err("type", /map/)],
  ],
  "for-each": [
    [
      "(let ((acc '())) (for-each (lambda (x y) (set! acc (cons (+ x y) acc))) '(1 2) '(10 20)) acc)",
      "(22 11)",
    ],
    ["(let ((n 0)) (for-each (lambda (x) (set! n (+ n x))) '(1 2 3)) n)", "6"],
    ["(for-each car '())", "#<unspecified>"],
  ],
  apply: [
    ["(apply + '(1 2 3))", "6"],
    ["(apply + 1 2 '(3 4))", "10"],
    ["(apply list 'a '())", "(a)"],
    ["(apply max '(3 7 2))", "7"],
    ["(apply (lambda args args) 1 '(2 3))", "(1 2 3)"],
    ["(apply + 1 2)", err("type", /apply/)],
    ["(apply 5 '(1))", err("type", /apply/)],
  ],
  filter: [
    ["(filter odd? '(1 2 3 4 5))", "(1 3 5)"],
    ["(filter odd? '())", "()"],
    ["(filter (lambda (x) (> x 0.5)) '(0.25 0.75 1.5))", "(0.75 1.5)"],
  ],
  reduce: [
    ["(reduce + 0 '(1 2 3 4))", "10"],
    ["(reduce - 0 '(1 2 3 4))", "2"],
    ["(reduce + 0 '())", "0"],
    ["(reduce max 'none '())", "none"],
    ["(reduce cons '() '(1 2 3))", "(3 2 . 1)"],
    ["(reduce list 0 '(5))", "5"],
  ],
  "fold-left": [
    ["(fold-left cons '() '(1 2 3))", "(((() . 1) . 2) . 3)"],
    ["(fold-left + 0 '(1 2 3))", "6"],
    ["(fold-left - 0 '(1 2 3))", "-6"],
    ["(fold-left (lambda (acc x y) (+ acc (* x y))) 0 '(1 2 3) '(4 5 6))", "32"],
    ["(fold-left list '() '(1 2) '(a b))", "((() 1 a) 2 b)"],
    ["(fold-left + 7 '())", "7"],
  ],
  "fold-right": [
    ["(fold-right cons '() '(1 2 3))", "(1 2 3)"],
    ["(fold-right - 0 '(1 2 3))", "2"],
    ["(fold-right list 'z '(1 2) '(a b))", "(1 a (2 b z))"],
    ["(fold-right + 7 '())", "7"],
  ],
  iota: [
    ["(iota 5)", "(0 1 2 3 4)"],
    ["(iota 5 1)", "(1 2 3 4 5)"],
    ["(iota 5 0 -1)", "(0 -1 -2 -3 -4)"],
    ["(iota 3 0.5 0.25)", "(0.5 0.75 1)"],
    ["(iota 0)", "()"],
    ["(iota -1)", err("type", /iota/)],
    ["(iota 2.5)", err("type", /iota/)],
  ],
  "procedure?": [
    ["(procedure? car)", "#t"],
    ["(procedure? 'car)", "#f"],
    ["(procedure? (lambda (x) x))", "#t"],
    ["(procedure? '(lambda (x) x))", "#f"],
  ],
  error: [
    ['(error "bad thing:" 1 \'x "s")', err("user", /^bad thing: 1 x "s"$/)],
    ['(error "plain")', err("user", /^plain$/)],
    ["(error 'my-proc 2)", err("user", /^my-proc 2$/)],
  ],
});

/** Symbols and strings. */
export const STRING_CASES: Record<string, ValueCase[]> = table({
  "symbol?": [
    ["(symbol? 'foo)", "#t"],
    ['(symbol? "foo")', "#f"],
    ["(symbol? (car '(a b)))", "#t"],
    ["(symbol? '())", "#f"],
  ],
  "string?": [
    ['(string? "a")', "#t"],
    ["(string? 'a)", "#f"],
    ["(string? 1)", "#f"],
  ],
  "symbol->string": [
    ["(symbol->string 'abc)", '"abc"'],
    ['(symbol->string "abc")', err("type", /symbol->string/)],
  ],
  "string->symbol": [
    ['(string->symbol "abc")', "abc"],
    ['(eq? (string->symbol "abc") \'abc)', "#t"],
    ["(string->symbol 'abc)", err("type")],
  ],
  "string-append": [
    ["(string-append)", '""'],
    ['(string-append "a" "bc" "")', '"abc"'],
    ['(string-append "a" 1)', err("type", /string-append/)],
  ],
  "number->string": [
    ["(number->string 42)", '"42"'],
    ["(number->string 0.5)", '"0.5"'],
    ["(number->string -1.25)", '"-1.25"'],
    ["(number->string 'a)", err("type")],
  ],
});

/** Tensors. */
export const TENSOR_CASES: Record<string, ValueCase[]> = table({
  tensor: [
    ["(tensor 2)", "2"],
    ["(tensor '(1 2 3))", "#<tensor (3) (1 2 3)>"],
    ["(tensor '((1 2) (3 4)))", "#<tensor (2 2) ((1 2) (3 4))>"],
    ["(tensor '((1.5 2) (3 4.5)))", "#<tensor (2 2) ((1.5 2) (3 4.5))>"],
    ["(define a 0.5) (tensor (list a 2 (* a 3)))", "#<tensor (3) (0.5 2 1.5)>"],
    ["(define a 0.5) (tensor (list (list a 1) (list 2 a)))", "#<tensor (2 2) ((0.5 1) (2 0.5))>"],
    ["(tensor (list (tensor '(1 2)) (tensor '(3 4))))", "#<tensor (2 2) ((1 2) (3 4))>"],
    ["(tensor (tensor '(1 2)))", "#<tensor (2) (1 2)>"],
    ["(tensor '((1 2) (3)))", err("type", /tensor/)],
    ["(tensor '())", err("type", /tensor/)],
    ["(tensor 'a)", err("type", /tensor/)],
  ],
  "tensor?": [
    ["(tensor? (tensor '(1 2)))", "#t"],
    ["(tensor? 1)", "#f"],
    ["(tensor? (tensor 1))", "#f"],
    ["(tensor? '(1 2))", "#f"],
    ["(tensor? (zeros '(2 2)))", "#t"],
  ],
  shape: [
    ["(shape (tensor '((1 2 3) (4 5 6))))", "(2 3)"],
    ["(shape (tensor '(1 2)))", "(2)"],
    ["(shape 5)", "()"],
    ["(shape 0.5)", "()"],
    ["(shape 'a)", err("type", /shape/)],
  ],
  zeros: [
    ["(zeros 3)", "#<tensor (3) (0 0 0)>"],
    ["(zeros '(2 2))", "#<tensor (2 2) ((0 0) (0 0))>"],
    ["(zeros '())", "0"],
    ["(zeros -1)", err("type", /zeros/)],
    ["(zeros 2.5)", err("type", /zeros/)],
  ],
  ones: [
    ["(ones 2)", "#<tensor (2) (1 1)>"],
    ["(ones '(2 3))", "#<tensor (2 3) ((1 1 1) (1 1 1))>"],
    ["(ones '(a))", err("type", /ones/)],
  ],
  eye: [
    ["(eye 2)", "#<tensor (2 2) ((1 0) (0 1))>"],
    ["(eye 3)", "#<tensor (3 3) ((1 0 0) (0 1 0) (0 0 1))>"],
    ["(eye -1)", err("type", /eye/)],
  ],
  "tensor-ref": [
    ["(tensor-ref (tensor '((1 2) (3 4))) 1 0)", "3"],
    ["(tensor-ref (tensor '(5 6 7)) 2)", "7"],
    ["(tensor-ref (tensor '(5 6.5 7)) 1)", "6.5"],
    ["(tensor-ref 5)", "5"],
    ["(tensor-ref (tensor '(5 6 7)) 3)", err("type", /out of range/)],
    ["(tensor-ref (tensor '((1 2) (3 4))) 1)", err("type", /index/)],
  ],
  "tensor->list": [
    ["(tensor->list (tensor '((1 2) (3 4))))", "((1 2) (3 4))"],
    ["(tensor->list (tensor '(1.5 2.5)))", "(1.5 2.5)"],
    ["(tensor->list 3)", "3"],
    ["(map (lambda (x) (* 2 x)) (tensor->list (tensor '(1 2))))", "(2 4)"],
    ["(tensor->list 'a)", err("type")],
  ],
  matmul: [
    ["(matmul (tensor '((1 2) (3 4))) (tensor '((5 6) (7 8))))", "#<tensor (2 2) ((19 22) (43 50))>"],
    ["(matmul (tensor '((1 2 3) (4 5 6))) (tensor '((1 0) (0 1) (1 1))))", "#<tensor (2 2) ((4 5) (10 11))>"],
    ["(matmul (tensor '(1 2)) (tensor '((1 2) (3 4))))", "#<tensor (2) (7 10)>"],
    ["(matmul (tensor '((1 2) (3 4))) (tensor '(1 1)))", "#<tensor (2) (3 7)>"],
    ["(matmul (tensor '(1 2)) (tensor '(3 4)))", "11"],
    ["(matmul (tensor '((1 2 3))) (tensor '((1 2))))", err("type", /matmul/)],
  ],
  transpose: [
    ["(transpose (tensor '((1 2 3) (4 5 6))))", "#<tensor (3 2) ((1 4) (2 5) (3 6))>"],
    ["(transpose (tensor '(1 2)))", "#<tensor (2) (1 2)>"],
    ["(transpose 'a)", err("type", /transpose/)],
  ],
  dot: [
    ["(dot (tensor '(1 2 3)) (tensor '(4 5 6)))", "32"],
    ["(dot (tensor '(0.5 2)) (tensor '(2 0.25)))", "1.5"],
    ["(dot (tensor '(1 2)) (tensor '(1 2 3)))", err("type", /dot/)],
  ],
  outer: [
    ["(outer (tensor '(1 2)) (tensor '(3 4 5)))", "#<tensor (2 3) ((3 4 5) (6 8 10))>"],
    ["(outer (tensor '((1))) (tensor '(1)))", err("type", /outer/)],
  ],
  sum: [
    ["(sum (tensor '((1 2) (3 4))))", "10"],
    ["(sum (tensor '((1 2) (3 4))) 0)", "#<tensor (2) (4 6)>"],
    ["(sum (tensor '((1 2) (3 4))) 1)", "#<tensor (2) (3 7)>"],
    ["(sum 5)", "5"],
    ["(sum (tensor '(1 2)) 1)", err("type", /sum/)],
  ],
  mean: [
    ["(mean (tensor '((1 2) (3 4))))", "2.5"],
    ["(mean (tensor '((1 2) (3 4))) 0)", "#<tensor (2) (2 3)>"],
    ["(mean (tensor '((1 2) (3 4))) 1)", "#<tensor (2) (1.5 3.5)>"],
    ["(mean (tensor '(1 2)) 2)", err("type", /mean/)],
  ],
  reshape: [
    ["(reshape (tensor '(1 2 3 4 5 6)) '(2 3))", "#<tensor (2 3) ((1 2 3) (4 5 6))>"],
    ["(reshape (tensor '((1 2) (3 4))) 4)", "#<tensor (4) (1 2 3 4)>"],
    ["(reshape (tensor '((1 2) (3 4))) '(4 1))", "#<tensor (4 1) ((1) (2) (3) (4))>"],
    ["(reshape (tensor '(1 2 3)) '(2 2))", err("type", /reshape/)],
  ],
  stack: [
    ["(stack (list (tensor '(1 2)) (tensor '(3 4))))", "#<tensor (2 2) ((1 2) (3 4))>"],
    ["(stack (list (tensor '(1 2)) (tensor '(3 4))) 1)", "#<tensor (2 2) ((1 3) (2 4))>"],
    ["(stack (list 1 2 3))", "#<tensor (3) (1 2 3)>"],
    ["(define a 0.5) (stack (list a 2))", "#<tensor (2) (0.5 2)>"],
    ["(stack '())", err("type", /stack/)],
    ["(stack (list (tensor '(1 2)) (tensor '(3))))", err("type", /stack/)],
  ],
  concat: [
    ["(concat (list (tensor '(1 2)) (tensor '(3))))", "#<tensor (3) (1 2 3)>"],
    ["(concat (list (tensor '((1 2))) (tensor '((3 4)))))", "#<tensor (2 2) ((1 2) (3 4))>"],
    ["(concat (list (tensor '((1) (2))) (tensor '((3) (4)))) 1)", "#<tensor (2 2) ((1 3) (2 4))>"],
    ["(concat '())", err("type", /concat/)],
    ["(concat (list (tensor '((1 2))) (tensor '(3))))", err("type", /concat/)],
  ],
  slice: [
    ["(slice (tensor '((1 2 3) (4 5 6))) '(0 1) '(2 2))", "#<tensor (2 2) ((2 3) (5 6))>"],
    ["(slice (tensor '(1 2 3 4)) '(1) '(-1))", "#<tensor (3) (2 3 4)>"],
    ["(slice (tensor '(1 2 3 4)) '(1) '(2))", "#<tensor (2) (2 3)>"],
    ["(slice (tensor '(1 2 3 4)) '(3) '(2))", err("type", /slice/)],
  ],
  diag: [
    ["(diag (tensor '(1 2)))", "#<tensor (2 2) ((1 0) (0 2))>"],
    ["(diag (tensor '((1 2) (3 4))))", "#<tensor (2) (1 4)>"],
    ["(diag (tensor '((1 2 3) (4 5 6))))", err("type", /diag/)],
  ],
  cholesky: [
    ["(cholesky (tensor '((4 2) (2 3))))", `#<tensor (2 2) ((2 0) (1 ${Math.SQRT2}))>`],
    ["(cholesky (eye 3))", "#<tensor (3 3) ((1 0 0) (0 1 0) (0 0 1))>"],
    ["(cholesky (tensor '((1 2) (2 1))))", err("type", /positive definite/)],
    ["(cholesky (tensor '(1 2)))", err("type", /cholesky/)],
  ],
  solve: [
    ["(solve (tensor '((2 1) (1 3))) (tensor '(3 5)))", "#<tensor (2) (0.8 1.4)>"],
    ["(solve (tensor '((0 1) (1 0))) (tensor '(2 3)))", "#<tensor (2) (3 2)>"],
    ["(solve (tensor '((2 0) (0 4))) (tensor '((2 4) (4 8))))", "#<tensor (2 2) ((1 2) (1 2))>"],
    ["(solve (tensor '((1 2 0) (3 1 1) (0 2 5))) (tensor '(5 8 19)))", "#<tensor (3) (1 2 3)>"],
    ["(solve (tensor '((1 2) (2 4))) (tensor '(1 1)))", err("type", /singular/)],
    ["(solve (tensor '((1 0) (0 1))) (tensor '(1 2 3)))", err("type", /solve/)],
  ],
  logdet: [
    ["(logdet (tensor '((4 2) (2 3))))", Math.log(8)],
    ["(logdet (eye 3))", "0"],
    ["(logdet (tensor '((1 2) (2 1))))", err("type", /positive definite/)],
  ],
});

/** Every value case, by primitive name. */
export const VALUE_CASES: Record<string, ValueCase[]> = {
  ...NUMBER_CASES,
  ...BOOLEAN_CASES,
  ...LIST_CASES,
  ...CONTROL_CASES,
  ...STRING_CASES,
  ...TENSOR_CASES,
};

// ---------------------------------------------------------------------------------------
// Gradient cases: scalar programs; their decimal literals are the parameters.

const ABC = "(define a 0.7) (define b -1.3) (define c 0.4)";
/** A 2×2 matrix of parameters. */
const M2 = "(define M (tensor (list (list 0.9 -0.4) (list 0.3 1.2))))";
/** A 3×3 matrix of parameters and the symmetric positive-definite A = M Mᵀ + 2I. */
const SPD3 = "(define M (tensor (list (list 0.9 -0.4 0.2) (list 0.3 1.2 -0.5) (list -0.7 0.1 0.8))))" +
  " (define A (+ (matmul M (transpose M)) (* 2 (eye 3))))";
/** Weights that make every element of a 2×2 result matter. */
const W2 = "(tensor '((1 -2) (3 5)))";
const W3 = "(tensor '((1 -2 3) (0.5 4 -1) (2 1 -3)))";

/** Gradient cases by primitive name. */
export const GRAD_CASES: Record<string, string[]> = {
  "+": [`${ABC} (+ a b c a)`, "(define a 0.7) (* 3 (+ a))", "(define a 0.7) (+ a 2)"],
  "*": [`${ABC} (* a b c a)`, "(define a 0.7) (* a)", "(define a 0.7) (* 3 a)"],
  "-": ["(define a 0.7) (- a)", `${ABC} (- a b c)`, "(define a 0.7) (- 2 a)"],
  "/": ["(define a 0.7) (/ a)", `${ABC} (/ a b c)`, "(define a 0.7) (/ 2 a)", "(define a 0.7) (/ a 4)"],
  abs: ["(define a -0.7) (abs a)", "(define a 1.3) (abs a)"],
  exp: [
    "(define a 0.7) (exp a)",
    "(define a -2.5) (exp a)",
    "(define a -1000.0) (define b 0.3) (+ (exp a) (exp b))",
  ],
  sqrt: ["(define a 1.7) (sqrt a)", "(define a 0.04) (sqrt a)"],
  sin: ["(define a 0.7) (sin a)", "(define a -2.5) (sin a)"],
  cos: ["(define a 0.7) (cos a)", "(define a -2.5) (cos a)"],
  tan: ["(define a 0.4) (tan a)", "(define a -1.1) (tan a)"],
  asin: ["(define a 0.3) (asin a)", "(define a -0.8) (asin a)"],
  acos: ["(define a 0.3) (acos a)", "(define a -0.8) (acos a)"],
  tanh: [
    "(define a 0.8) (tanh a)",
    "(define a -2.1) (tanh a)",
    "(define a 1000.0) (define b -0.3) (+ (tanh a) (tanh b))",
  ],
  square: ["(define a -1.2) (square a)"],
  sigmoid: [
    "(define a 0.9) (sigmoid a)",
    "(define a -3.0) (sigmoid a)",
    "(define a -12.0) (* 1000 (sigmoid a))",
    "(define a 1000.0) (define b -1000.0) (define c 0.3) (+ (sigmoid a) (sigmoid b) (sigmoid c))",
  ],
  softplus: [
    "(define a 0.9) (softplus a)",
    "(define a -2.5) (softplus a)",
    "(define a 40.0) (softplus a)",
    "(define a 1000.0) (define b -1000.0) (+ (softplus a) (softplus b))",
  ],
  relu: ["(define a 0.8) (define b -0.6) (+ (relu a) (* 2 (relu b)))"],
  log1p: [
    "(define a 1000.0) (* 1000 (log1p a))",
    "(define a 0.3) (log1p a)",
    "(define a -0.5) (log1p a)",
    "(define a 1e-10) (log1p a)",
  ],
  expm1: [
    "(define a 0.3) (expm1 a)",
    "(define a -1.5) (expm1 a)",
    "(define a -1000.0) (define b 1e-10) (+ (expm1 a) (expm1 b))",
  ],
  log: ["(define a 1.7) (log a)", "(define a 1.7) (define b 3.1) (log a b)", "(define b 3.1) (log 5 b)"],
  atan: [
    "(define a 0.7) (atan a)",
    "(define y 0.7) (define x -1.3) (atan y x)",
    "(define y -0.4) (define x 2.2) (atan y x)",
  ],
  expt: [
    "(define a 1.7) (define b 2.3) (expt a b)",
    "(define a 1.7) (expt a 3)",
    "(define a -1.5) (expt a 3)",
    "(define b 0.7) (expt 2 b)",
  ],
  min: [`${ABC} (min a b c)`, `${ABC} (sum (* (tensor '(1 -2 3)) (min (tensor (list a b c)) 0.1)))`],
  max: [`${ABC} (max a b c)`, `${ABC} (sum (* (tensor '(1 -2 3)) (max (tensor (list a b c)) 0.1)))`],
  inexact: ["(define a 0.7) (* a (inexact a))"],
  iota: ["(define s 0.3) (define d 0.7) (apply + (map * '(1 2 3) (iota 3 s d)))"],
  tensor: [
    `${ABC} (sum (* (tensor '(0.3 -1.1 0.7)) (tensor (list a b c))))`,
    `${ABC} (sum (* ${W2} (tensor (list (list a b) (list c (* a b))))))`,
    `${ABC} (sum (* ${W2} (tensor (list (tensor (list a b)) (tensor (list c 2))))))`,
  ],
  "tensor-ref": [`${M2} (+ (* 2 (tensor-ref M 0 1)) (* (tensor-ref M 1 0) (tensor-ref M 1 1)))`],
  "tensor->list": [
    `${ABC} (apply + (map * '(2 -1 3) (tensor->list (tensor (list a b c)))))`,
    `${M2} (apply * (apply append (tensor->list M)))`,
  ],
  matmul: [
    `${M2} (sum (* ${W2} (matmul M (transpose M))))`,
    `${M2} (sum (* (tensor '(1 -2)) (matmul (tensor '(0.5 1.5)) M)))`,
    `${M2} (sum (* (tensor '(1 -2)) (matmul M (tensor '(0.5 1.5)))))`,
    `${ABC} (matmul (tensor (list a b)) (tensor (list c 1.5)))`,
  ],
  transpose: [`${M2} (sum (* ${W2} (transpose M)))`],
  dot: [`${ABC} (dot (tensor (list a b c)) (tensor (list c 2 (* a a))))`],
  outer: [`${ABC} (sum (* ${W2} (outer (tensor (list a b)) (tensor (list c 0.5)))))`],
  sum: [
    `${M2} (sum (* M M))`,
    `${M2} (sum (* (tensor '(1 -2)) (sum (* M M) 0)))`,
    `${M2} (sum (* (tensor '(1 -2)) (sum (* M M) 1)))`,
  ],
  mean: [
    `${M2} (mean (* M M))`,
    `${M2} (sum (* (tensor '(1 -2)) (mean (* M M) 0)))`,
    `${M2} (sum (* (tensor '(1 -2)) (mean (* M M) 1)))`,
  ],
  reshape: [
    `${M2} (sum (* (tensor '(1 -2 3 0.5)) (reshape (* M M) 4)))`,
    `${M2} (sum (* ${W2} (reshape (transpose M) '(2 2))))`,
  ],
  stack: [
    `${ABC} (sum (* ${W2} (stack (list (tensor (list a b)) (tensor (list c (* a c)))))))`,
    `${ABC} (sum (* ${W2} (stack (list (tensor (list a b)) (tensor (list c (* a c)))) 1)))`,
    `${ABC} (sum (* (tensor '(1 -2 3)) (stack (list a b (* b c)))))`,
  ],
  concat: [
    `${ABC} (sum (* (tensor '(1 -2 3)) (concat (list (tensor (list a b)) (tensor (list (* b c)))))))`,
    `${M2} (sum (* (tensor '((1 -2 3 0.5) (2 1 -1 4))) (concat (list M (* M M)) 1)))`,
  ],
  slice: [
    `${SPD3} (sum (* ${W2} (slice A '(1 0) '(2 2))))`,
    `${M2} (sum (* (tensor '((3 -1))) (slice M '(1 0) '(1 -1))))`,
  ],
  diag: [
    `${ABC} (sum (* ${W2} (diag (tensor (list a b)))))`,
    `${M2} (sum (* (tensor '(1 -3)) (diag (matmul M M))))`,
  ],
  cholesky: [`${SPD3} (sum (* ${W3} (cholesky A)))`],
  solve: [
    `${SPD3} (sum (* (tensor '(1 -2 3)) (solve A (tensor (list 0.5 -1.5 2.5)))))`,
    `${M2} (define A (+ M (* 2 (eye 2)))) (sum (* (tensor '(1 -2)) (solve A (tensor (list 0.5 -1.5)))))`,
    `${SPD3} (sum (* ${W3} (solve A (transpose M))))`,
  ],
  logdet: [`${SPD3} (logdet A)`, `${M2} (logdet (+ (matmul (transpose M) M) (eye 2)))`],
};
