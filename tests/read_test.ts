/**
 * Tests of the reader (lib/read/reader.ts): every piece of accepted syntax, the spans it
 * records, dotted-tail normalisation, every read error with its exact position, deep nesting
 * and a round trip of a medium-sized program.
 */
import assert from "node:assert/strict";
import { DmciError } from "../lib/errors.ts";
import type { Datum } from "../lib/read/datum.ts";
import { read, readOne } from "../lib/read/reader.ts";

const FILE = "t.scm";

/** A datum without spans, for structural comparison. */
type Plain = number | boolean | string | { sym: string } | { list: Plain[]; tail?: Plain };

function plain(d: Datum): Plain {
  switch (d.type) {
    case "number":
    case "boolean":
      return d.value;
    case "string":
      return `"${d.value}`; // marked so strings and symbols never compare equal
    case "symbol":
      return { sym: d.name };
    case "list":
      return d.tail === null
        ? { list: d.items.map(plain) }
        : { list: d.items.map(plain), tail: plain(d.tail) };
  }
}

const sym = (name: string): Plain => ({ sym: name });
const list = (...items: Plain[]): Plain => ({ list: items });
const dotted = (tail: Plain, ...items: Plain[]): Plain => ({ list: items, tail });
const str = (s: string): Plain => `"${s}`;

function readPlain(text: string): Plain[] {
  return read(text, FILE).map(plain);
}

/** `line:col` of a datum, for compact span assertions. */
function at(d: Datum): string {
  assert.equal(d.span.file, FILE);
  return `${d.span.line}:${d.span.col}`;
}

function asList(d: Datum): Datum[] {
  assert.equal(d.type, "list");
  return d.type === "list" ? [...d.items] : [];
}

/** Asserts that reading `text` fails with a read error at `line:col` whose message contains `part`. */
function assertReadError(text: string, where: string, part: string): void {
  assert.throws(() => read(text, FILE), (e: unknown) => {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    assert.equal(e.kind, "read");
    assert.ok(e.span, "read errors carry a span");
    assert.equal(e.span.file, FILE);
    assert.equal(`${e.span.line}:${e.span.col}`, where, `position of: ${e.message}`);
    assert.ok(
      e.message.includes(part),
      `message ${JSON.stringify(e.message)} should contain ${JSON.stringify(part)}`,
    );
    return true;
  });
}

/** Prints a datum so that reading the output gives the same datum back (spans aside). */
function write(d: Datum): string {
  switch (d.type) {
    case "number":
      if (Number.isNaN(d.value)) return "+nan.0";
      if (d.value === Infinity) return "+inf.0";
      if (d.value === -Infinity) return "-inf.0";
      return d.decimal && Number.isInteger(d.value) ? `${d.value}.0` : `${d.value}`;
    case "boolean":
      return d.value ? "#t" : "#f";
    case "string":
      return `"${
        d.value.replace(/[\\"\n\t\r]/g, (c) => ({ "\n": "\\n", "\t": "\\t", "\r": "\\r" })[c] ?? `\\${c}`)
      }"`;
    case "symbol":
      return d.name;
    case "list": {
      const items = d.items.map(write).join(" ");
      return d.tail === null ? `(${items})` : `(${items} . ${write(d.tail)})`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers

Deno.test("integers read as non-decimal numbers, with optional sign", () => {
  const ds = read("42 -7 +3 0 007", FILE);
  assert.deepEqual(ds.map((d) => d.type === "number" && [d.value, d.decimal]), [
    [42, false],
    [-7, false],
    [3, false],
    [0, false],
    [7, false],
  ]);
});

Deno.test("decimals and exponents read as decimal numbers", () => {
  const ds = read("0.5 -1.25 .5 3. -.5 +.5 1e-3 2.5E4 1e3 1E+2", FILE);
  assert.deepEqual(ds.map((d) => d.type === "number" && [d.value, d.decimal]), [
    [0.5, true],
    [-1.25, true],
    [0.5, true],
    [3, true],
    [-0.5, true],
    [0.5, true],
    [0.001, true],
    [25000, true],
    [1000, true],
    [100, true],
  ]);
});

Deno.test("+inf.0 -inf.0 +nan.0 -nan.0 read as decimal numbers", () => {
  const ds = read("+inf.0 -inf.0 +nan.0 -nan.0", FILE);
  assert.ok(ds.every((d) => d.type === "number" && d.decimal));
  const values = ds.map((d) => d.type === "number" ? d.value : 0);
  assert.equal(values[0], Infinity);
  assert.equal(values[1], -Infinity);
  assert.ok(Number.isNaN(values[2]));
  assert.ok(Number.isNaN(values[3]));
});

Deno.test("things that start like a number but are not one are 'bad number syntax'", () => {
  for (
    const bad of ["1.2.3", "12abc", "1+", "1e", "1e+", "+5x", ".5x", "-.5a", "1..", "2-3"]
  ) {
    assertReadError(`  ${bad}`, "1:3", `bad number syntax: ${bad}`);
  }
  assertReadError("(f 1 1.2.3)", "1:6", "bad number syntax: 1.2.3");
});

// ---------------------------------------------------------------------------------------------
// Symbols

Deno.test("ordinary identifiers use all R7RS identifier characters and are case-sensitive", () => {
  assert.deepEqual(readPlain("foo Foo FOO list->vector set-car! a.b x@y <=? *v* $%&/:<=>?^_~ a1+-.@"), [
    sym("foo"),
    sym("Foo"),
    sym("FOO"),
    sym("list->vector"),
    sym("set-car!"),
    sym("a.b"),
    sym("x@y"),
    sym("<=?"),
    sym("*v*"),
    sym("$%&/:<=>?^_~"),
    sym("a1+-.@"),
  ]);
});

Deno.test("peculiar identifiers: + - ... and sign-prefixed names are symbols", () => {
  assert.deepEqual(readPlain("+ - ... -x ->list +inf -inf.1 +a -@ -- +.x .. .x"), [
    sym("+"),
    sym("-"),
    sym("..."),
    sym("-x"),
    sym("->list"),
    sym("+inf"),
    sym("-inf.1"),
    sym("+a"),
    sym("-@"),
    sym("--"),
    sym("+.x"),
    sym(".."),
    sym(".x"),
  ]);
});

Deno.test("non-ASCII letters are accepted in identifiers", () => {
  assert.deepEqual(readPlain("λ σ² café"), [sym("λ"), sym("σ²"), sym("café")]);
});

Deno.test("an invalid character in an identifier is reported at that character", () => {
  assertReadError("(a'b)", "1:3", "invalid character ''' in identifier 'a'b'");
  assertReadError("ab{c", "1:3", "invalid character '{'");
  assertReadError("x#y", "1:2", "invalid character '#'");
  assertReadError("a\u00a0b", "1:2", "invalid character U+00A0");
});

Deno.test("identifier-character sequences outside the R7RS grammar are 'bad identifier syntax'", () => {
  assertReadError("+.", "1:1", "bad identifier syntax: +.");
  assertReadError(" @x", "1:2", "bad identifier syntax: @x");
});

Deno.test("bar-quoted symbols are not supported", () => {
  assertReadError("(a |b c|)", "1:4", "bar-quoted symbols");
});

// ---------------------------------------------------------------------------------------------
// Booleans and other # syntax

Deno.test("booleans #t #f #true #false", () => {
  assert.deepEqual(readPlain("#t #f #true #false (#t)"), [true, false, true, false, list(true)]);
});

Deno.test("unsupported # syntax is an error naming what was found", () => {
  assertReadError("#\\a", "1:1", "unsupported # syntax: #\\a");
  assertReadError("x #(1 2)", "1:3", "unsupported # syntax: #(");
  assertReadError("#x10", "1:1", "unsupported # syntax: #x10");
  assertReadError("#u8(1)", "1:1", "unsupported # syntax: #u8");
  assertReadError("#tru", "1:1", "unsupported # syntax: #tru");
  assertReadError("#T", "1:1", "unsupported # syntax: #T");
  assertReadError('#"', "1:1", 'unsupported # syntax: #"');
  assertReadError("(a #", "1:4", "unsupported # syntax: '#' at end of input");
});

// ---------------------------------------------------------------------------------------------
// Strings

Deno.test('strings decode the escapes \\" \\\\ \\n \\t \\r', () => {
  assert.deepEqual(readPlain(String.raw`"plain" "" "q\"q" "b\\s" "a\nb" "t\tt" "c\rr"`), [
    str("plain"),
    str(""),
    str('q"q'),
    str("b\\s"),
    str("a\nb"),
    str("t\tt"),
    str("c\rr"),
  ]);
});

Deno.test("a string may hold a literal newline, and the next datum's span counts it", () => {
  const ds = read('"one\ntwo" x', FILE);
  assert.deepEqual(ds.map(plain), [str("one\ntwo"), sym("x")]);
  assert.equal(at(ds[1]), "2:6");
});

Deno.test("strings hold delimiters and comment characters verbatim", () => {
  assert.deepEqual(readPlain('"(a ; b) #| [x] |#"'), [str("(a ; b) #| [x] |#")]);
});

Deno.test("an unknown string escape is an error naming it, at the backslash", () => {
  assertReadError('(f "ab\\a")', "1:7", "unknown string escape '\\a'");
  assertReadError('"\n  \\x41;"', "2:3", "unknown string escape '\\x'");
});

Deno.test("an unterminated string is reported where it starts", () => {
  assertReadError('(display "abc)\n(newline)\n', "1:10", "unterminated string");
  assertReadError('"abc\\', "1:1", "unterminated string");
});

// ---------------------------------------------------------------------------------------------
// Lists and dotted pairs

Deno.test("lists: empty, nested, adjacent without spaces", () => {
  assert.deepEqual(readPlain("() (a (b c) ()) (a(b)c)"), [
    list(),
    list(sym("a"), list(sym("b"), sym("c")), list()),
    list(sym("a"), list(sym("b")), sym("c")),
  ]);
});

Deno.test("brackets are not part of the language", () => {
  assertReadError("(let [x 1] x)", "1:6", "brackets are not part of the language");
  assertReadError("a]", "1:2", "brackets are not part of the language: found ']'");
});

Deno.test("dotted pairs keep an improper tail", () => {
  assert.deepEqual(readPlain("(a . b) (a b . c) (1 . 2)"), [
    dotted(sym("b"), sym("a")),
    dotted(sym("c"), sym("a"), sym("b")),
    dotted(2, 1),
  ]);
});

Deno.test("a list tail is spliced in: (a . (b c)) is (a b c) and (a . ()) is (a)", () => {
  assert.deepEqual(readPlain("(a . (b c)) (a . ()) (a b . (c . d)) (a . (b . (c . ())))"), [
    list(sym("a"), sym("b"), sym("c")),
    list(sym("a")),
    dotted(sym("d"), sym("a"), sym("b"), sym("c")),
    list(sym("a"), sym("b"), sym("c")),
  ]);
  const [d] = read("(a . (b c))", FILE);
  assert.equal(at(d), "1:1");
  assert.deepEqual(asList(d).map(at), ["1:2", "1:7", "1:9"]);
});

Deno.test("a quoted tail is a list tail too: (a . 'b) is (a quote b)", () => {
  assert.deepEqual(readPlain("(a . 'b)"), [list(sym("a"), sym("quote"), sym("b"))]);
});

Deno.test("a dot touching other characters is part of a symbol or number, not a dot", () => {
  assert.deepEqual(readPlain("(a .b) (a. b) (a .5)"), [
    list(sym("a"), sym(".b")),
    list(sym("a."), sym("b")),
    list(sym("a"), 0.5),
  ]);
});

Deno.test("misplaced dots are errors at the offending place", () => {
  assertReadError("( . a)", "1:3", "expected a datum before '.'");
  assertReadError("(a . )", "1:4", "expected a datum after '.', found ')'");
  assertReadError("(a . b c)", "1:8", "expected ')' after the datum following '.', found 'c'");
  assertReadError("(a . b (c))", "1:8", "found '('");
  assertReadError("(a . b 'c)", "1:8", "found '''");
  assertReadError('(a . b "c")', "1:8", "found a string");
  assertReadError("(a . b . c)", "1:8", "unexpected second '.'");
  assertReadError("(a . . b)", "1:6", "unexpected second '.'");
  assertReadError("x .", "1:3", "unexpected '.' outside a list");
  assertReadError("(a '. b)", "1:4", "expected a datum after ''', found '.'");
  assertReadError("(a #; . b)", "1:4", "expected a datum after '#;', found '.'");
  assertReadError("(a .\n", "1:1", "unbalanced parenthesis");
});

// ---------------------------------------------------------------------------------------------
// Quote and friends

Deno.test("'x reads as (quote x) with the span of the quote mark", () => {
  const [d] = read("  'x", FILE);
  assert.deepEqual(plain(d), list(sym("quote"), sym("x")));
  assert.equal(at(d), "1:3");
  assert.deepEqual(asList(d).map(at), ["1:3", "1:4"]);
});

Deno.test("` , ,@ read as quasiquote, unquote, unquote-splicing", () => {
  assert.deepEqual(readPlain("`(a ,b ,@c) ''x ' y"), [
    list(
      sym("quasiquote"),
      list(sym("a"), list(sym("unquote"), sym("b")), list(sym("unquote-splicing"), sym("c"))),
    ),
    list(sym("quote"), list(sym("quote"), sym("x"))),
    list(sym("quote"), sym("y")),
  ]);
});

Deno.test("a quote mark without a datum is an error at the mark", () => {
  assertReadError("(a ')", "1:4", "expected a datum after ''', found ')'");
  assertReadError("x\n  ,@", "2:3", "expected a datum after ',@', found end of input");
  assertReadError("`", "1:1", "expected a datum after '`', found end of input");
});

// ---------------------------------------------------------------------------------------------
// Comments

Deno.test("line comments run to the end of the line", () => {
  assert.deepEqual(readPlain("a ; b c\nd ;; e\r\nf;g"), [sym("a"), sym("d"), sym("f")]);
});

Deno.test("block comments nest and may span lines", () => {
  assert.deepEqual(readPlain("a #| b #| c |# d |# e #||# f #|x|#g"), [
    sym("a"),
    sym("e"),
    sym("f"),
    sym("g"),
  ]);
  const ds = read("#| one\n two #| three\n |# four\n|#  x", FILE);
  assert.deepEqual(ds.map(plain), [sym("x")]);
  assert.equal(at(ds[0]), "4:5");
});

Deno.test("an unterminated block comment is reported at the '#|' still open", () => {
  assertReadError("a\n #| b", "2:2", "unterminated block comment");
  assertReadError("#| a\n  #| b |#\n", "1:1", "unterminated block comment");
  assertReadError("#| a\n  #| b\n", "2:3", "unterminated block comment");
});

Deno.test("a '|#' outside a block comment is an error", () => {
  assertReadError("a |# b", "1:3", "unexpected '|#' outside a block comment");
});

Deno.test("#; skips the next datum, which may be a list or a quoted datum", () => {
  assert.deepEqual(readPlain("#;a b"), [sym("b")]);
  assert.deepEqual(readPlain("#;(a (b) c) d"), [sym("d")]);
  assert.deepEqual(readPlain("#; 'a b"), [sym("b")]);
  assert.deepEqual(readPlain("(a #;b c #;(d e))"), [list(sym("a"), sym("c"))]);
  assert.deepEqual(readPlain("'#;a b"), [list(sym("quote"), sym("b"))]);
  assert.deepEqual(readPlain("#;\n; comment\n a b"), [sym("b")]);
});

Deno.test("#; #; skips two datums", () => {
  assert.deepEqual(readPlain("#; #; a b c"), [sym("c")]);
  assert.deepEqual(readPlain("(#;#;1 2)"), [list()]);
});

Deno.test("#; works around the tail of a dotted list", () => {
  assert.deepEqual(readPlain("(a . #;b c) (a . b #;c)"), [
    dotted(sym("c"), sym("a")),
    dotted(sym("b"), sym("a")),
  ]);
});

Deno.test("#; without a following datum is an error at the '#;'", () => {
  assertReadError("a #;", "1:3", "expected a datum after '#;', found end of input");
  assertReadError("a #; ; nothing\n", "1:3", "found end of input");
  assertReadError("(a #;)", "1:4", "expected a datum after '#;', found ')'");
  assertReadError("(a . #;)", "1:6", "expected a datum after '#;', found ')'");
  assertReadError("(a . #;b)", "1:4", "expected a datum after '.', found ')'");
  assertReadError("#; #; a", "1:1", "found end of input");
});

// ---------------------------------------------------------------------------------------------
// Spans and whitespace

Deno.test("spans give line and column of each datum's first character, nested items included", () => {
  const [def] = read("(define (f x)\n  (* x\n     2.5))", FILE);
  assert.equal(at(def), "1:1");
  const [kw, head, body] = asList(def);
  assert.equal(at(kw), "1:2");
  assert.equal(at(head), "1:9");
  assert.deepEqual(asList(head).map(at), ["1:10", "1:12"]);
  assert.equal(at(body), "2:3");
  assert.deepEqual(asList(body).map(at), ["2:4", "2:6", "3:6"]);
});

Deno.test("spans are right after line comments, block comments and datum comments", () => {
  const ds = read("; header\n  a ; tail\n#| multi\nline |# b #;(skip\n me) c", FILE);
  assert.deepEqual(ds.map(plain), [sym("a"), sym("b"), sym("c")]);
  assert.deepEqual(ds.map(at), ["2:3", "4:9", "5:6"]);
});

Deno.test("tabs count as one column; CR LF, lone CR and form feed are whitespace", () => {
  const ds = read("\ta\r\n\t\tb\rc\fd", FILE);
  assert.deepEqual(ds.map(plain), [sym("a"), sym("b"), sym("c"), sym("d")]);
  assert.deepEqual(ds.map(at), ["1:2", "2:3", "3:1", "3:3"]);
});

Deno.test("the file name given to read is in every span", () => {
  const [d] = read("(a)", "dir/prog.scm");
  assert.equal(d.span.file, "dir/prog.scm");
  assert.equal(asList(d)[0].span.file, "dir/prog.scm");
});

Deno.test("empty and comment-only texts read as no datums", () => {
  assert.deepEqual(read("", FILE), []);
  assert.deepEqual(read("  \n ; nothing\n #| nothing |# #;(nothing)", FILE), []);
});

// ---------------------------------------------------------------------------------------------
// Parenthesis balance

Deno.test("an unclosed '(' is reported where it opens (the innermost one left open)", () => {
  assertReadError("(define (f x)\n  (+ x 1)\n(define (g y) y)\n", "1:1", "'(' opened here is never closed");
  assertReadError("(a (b\n  (c)", "1:4", "unbalanced parenthesis");
  assertReadError("x\n  (", "2:3", "unbalanced parenthesis");
});

Deno.test("a stray ')' is reported at its position", () => {
  assertReadError("(a b))", "1:6", "unexpected ')'");
  assertReadError("\n\n   )", "3:4", "unexpected ')'");
});

Deno.test("read errors are DmciErrors of kind read whose toString names file, line and column", () => {
  try {
    read("(a\n b", "prog.scm");
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(e instanceof DmciError);
    assert.equal(
      e.toString(),
      "read error at prog.scm:1:1: unbalanced parenthesis: '(' opened here is never closed",
    );
  }
});

// ---------------------------------------------------------------------------------------------
// readOne

Deno.test("readOne returns the single datum of a text", () => {
  assert.deepEqual(plain(readOne("  ; c\n (+ 1 2) ; end\n", FILE)), list(sym("+"), 1, 2));
});

Deno.test("readOne refuses an empty text and a text with two datums", () => {
  assert.throws(() => readOne(" ; only a comment", FILE), (e: unknown) => {
    assert.ok(e instanceof DmciError && e.kind === "read");
    assert.match(e.message, /expected a datum, found end of input/);
    assert.deepEqual(e.span, { file: FILE, line: 1, col: 18 });
    return true;
  });
  assert.throws(() => readOne("(a)\n  b", FILE), (e: unknown) => {
    assert.ok(e instanceof DmciError && e.kind === "read");
    assert.match(e.message, /expected exactly one datum/);
    assert.deepEqual(e.span, { file: FILE, line: 2, col: 3 });
    return true;
  });
});

// ---------------------------------------------------------------------------------------------
// Depth and size

const DEPTH = 5000;

Deno.test("lists nested 5000 deep read without overflowing the stack", () => {
  const [d] = read("(".repeat(DEPTH) + "x" + ")".repeat(DEPTH), FILE);
  let depth = 0;
  let cur: Datum = d;
  while (cur.type === "list") {
    assert.equal(cur.items.length, 1);
    depth++;
    cur = cur.items[0];
  }
  assert.equal(depth, DEPTH);
  assert.deepEqual(plain(cur), sym("x"));
  assert.equal(at(cur), `1:${DEPTH + 1}`);
});

Deno.test("5000 nested quotes and 5000 nested dotted tails read without overflowing", () => {
  let [d] = read("'".repeat(DEPTH) + "x", FILE);
  for (let i = 0; i < DEPTH; i++) {
    const items = asList(d);
    assert.deepEqual(plain(items[0]), sym("quote"));
    d = items[1];
  }
  assert.deepEqual(plain(d), sym("x"));

  const [chain] = read("(0 . ".repeat(DEPTH) + "()" + ")".repeat(DEPTH), FILE);
  assert.equal(chain.type === "list" && chain.tail, null);
  assert.equal(asList(chain).length, DEPTH);
});

Deno.test("an unclosed list 5000 deep is an error at the innermost '('", () => {
  assertReadError("(".repeat(DEPTH) + ")".repeat(DEPTH - 1), "1:1", "unbalanced parenthesis");
  assertReadError("(".repeat(DEPTH), `1:${DEPTH}`, "unbalanced parenthesis");
});

// ---------------------------------------------------------------------------------------------
// Round trip

const PROGRAM = `;; A small program in the language: a two-layer network and its training loop.
#| The block comment spans
   several lines. |#
(define (relu x) (if (> x 0.) x 0.))

(define (dot xs ys)
  (if (null? xs)
      0.
      (+ (* (car xs) (car ys)) (dot (cdr xs) (cdr ys)))))

(define (layer weights bias xs)
  (map (lambda (w b) (relu (+ (dot w xs) b))) weights bias))

(define params
  '((w1 . ((0.5 -0.25) (1.5e-2 2.)))
    (b1 . (0. .1))
    (w2 . ((1 -1)))
    (flags #t #f #true #false)))

(define (lookup key alist)
  (cond ((null? alist) (error "missing key:\\t" key))
        ((eq? (car (car alist)) key) (cdr (car alist)))
        (else (lookup key (cdr alist)))))

(define (train epochs lr)
  (let loop ((i 0) (loss +inf.0))
    #;(display "debug\\n")
    (if (= i epochs)
        loss
        (loop (+ i 1) (* loss (- 1 lr))))))

(define template \`(layer ,(lookup 'w1 params) ,@(list 1 2) . rest))
(display "done: \\"ok\\"\\n")
`;

Deno.test("a medium program round-trips through write and read", () => {
  const first = read(PROGRAM, FILE);
  assert.equal(first.length, 8);
  const printed = first.map(write).join("\n");
  const second = read(printed, FILE);
  assert.deepEqual(second.map(plain), first.map(plain));
  // Printing is a fixed point once the source's surface variety has been normalised away.
  assert.equal(second.map(write).join("\n"), printed);
  // Spot checks of what the printed form normalised.
  assert.ok(printed.includes("(w1 (0.5 -0.25) (0.015 2.0))"));
  assert.ok(printed.includes("(b1 0.0 0.1)"));
  assert.ok(
    printed.includes(
      "(quasiquote (layer (unquote (lookup (quote w1) params)) (unquote-splicing (list 1 2)) . rest))",
    ),
  );
  assert.ok(!printed.includes("debug"));
  assert.equal(at(first[7]), "33:1");
});

Deno.test("reading a large program is quick", () => {
  const big = PROGRAM.repeat(200); // about 7000 lines
  const t0 = performance.now();
  const ds = read(big, FILE);
  const ms = performance.now() - t0;
  assert.equal(ds.length, 8 * 200);
  assert.ok(ms < 2000, `took ${ms} ms`);
});

Deno.test("read errors escape the control bytes they echo (issue 13)", () => {
  for (const text of ["1\x1b[2Jx", "#\x07", "(a \x00b)", "abc\x7f"]) {
    assert.throws(() => read(text, FILE), (e: unknown) => {
      assert.ok(e instanceof DmciError && e.kind === "read", String(e));
      // deno-lint-ignore no-control-regex
      assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(e.message), JSON.stringify(e.message));
      return true;
    });
  }
});
