/**
 * The reader: turns source text into datums, each tagged with the position of its first
 * character. It accepts the R7RS-small lexical syntax this language needs and rejects the rest
 * with a `read` error that names what was found and where.
 */
import { DmciError, type Span } from "../errors.ts";
import type { Datum, ListDatum } from "./datum.ts";

/**
 * Reads every datum of a source text, in order.
 *
 * @param text the source text
 * @param file the file name recorded in every span (and in errors)
 * @returns the datums, each with the span of its first character
 * @throws {DmciError} of kind `read` on malformed input
 *
 * @example
 * ```ts
 * const [d] = read("(f 'x 1.5)", "a.scm");
 * // d: a list of the symbol f, the list (quote x) and the number 1.5 (decimal: true)
 * ```
 */
export function read(text: string, file: string): Datum[] {
  return new Reader(text, file).readAll();
}

/**
 * Reads a source text that must hold exactly one datum.
 *
 * @throws {DmciError} of kind `read` when the text is malformed or holds no datum or more than one
 *
 * @example
 * ```ts
 * readOne("(+ 1 2)", "<repl>"); // the list (+ 1 2)
 * readOne("1 2", "<repl>"); // throws: expected exactly one datum
 * ```
 */
export function readOne(text: string, file: string): Datum {
  const reader = new Reader(text, file);
  const data = reader.readAll();
  if (data.length === 0) {
    throw new DmciError("read", "expected a datum, found end of input", reader.here());
  }
  if (data.length > 1) {
    throw new DmciError("read", "expected exactly one datum, found a second one", data[1].span);
  }
  return data[0];
}

// Nesting is kept on an explicit stack (not the JS call stack) so that lists nested thousands deep
// read fine. `skips` holds the `#;` comments waiting for the datum they discard; they belong to the
// frame that was open when they appeared, so `#;(a b)` discards the whole list, not `a`.
interface ListFrame {
  readonly kind: "list";
  readonly span: Span;
  readonly items: Datum[];
  /** The `.` of a dotted list, once seen. */
  dot: Span | null;
  tail: Datum | null;
  readonly skips: Span[];
}
/** A `'` `` ` `` `,` or `,@` waiting for the datum it applies to. */
interface PrefixFrame {
  readonly kind: "prefix";
  readonly span: Span;
  readonly name: string;
  readonly text: string;
  readonly skips: Span[];
}
interface TopFrame {
  readonly kind: "top";
  readonly skips: Span[];
}
type Frame = ListFrame | PrefixFrame | TopFrame;

const CH_TAB = 9, CH_LF = 10, CH_FF = 12, CH_CR = 13, CH_SPACE = 32;

function isWhitespace(c: number): boolean {
  return c === CH_SPACE || c === CH_LF || c === CH_TAB || c === CH_CR || c === CH_FF;
}

// `[` and `]` are not R7RS delimiters; making them delimiters lets `a[` report the bracket itself
// rather than a strange identifier.
const DELIMITERS = new Set(["(", ")", '"', ";", "|", "[", "]"]);

function isDelimiter(ch: string): boolean {
  return DELIMITERS.has(ch) || isWhitespace(ch.charCodeAt(0));
}

const SPECIAL_INITIAL = "!$%&*/:<=>?^_~";

function isLetter(ch: string): boolean {
  const c = ch.charCodeAt(0);
  // R7RS lets implementations accept non-ASCII identifier characters; everything beyond ASCII
  // except whitespace is taken, which keeps UTF-16 surrogate halves of astral letters intact.
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c > 127 && !/\s/.test(ch));
}
function isDigit(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return c >= 48 && c <= 57;
}
function isInitial(ch: string): boolean {
  return isLetter(ch) || SPECIAL_INITIAL.includes(ch);
}
function isSubsequent(ch: string): boolean {
  return isInitial(ch) || isDigit(ch) || ch === "+" || ch === "-" || ch === "." || ch === "@";
}
function isSignSubsequent(ch: string): boolean {
  return isInitial(ch) || ch === "+" || ch === "-" || ch === "@";
}
function isDotSubsequent(ch: string): boolean {
  return isSignSubsequent(ch) || ch === ".";
}

/** The R7RS `<identifier>` grammar (without `|…|`), for an atom made only of subsequent characters. */
function isIdentifier(t: string): boolean {
  let rest: number;
  if (isInitial(t[0])) rest = 1;
  else if (t === "+" || t === "-") return true;
  else if (t[0] === "+" || t[0] === "-") {
    if (t[1] === ".") {
      if (t.length < 3 || !isDotSubsequent(t[2])) return false;
      rest = 3;
    } else {
      if (!isSignSubsequent(t[1])) return false;
      rest = 2;
    }
  } else if (t[0] === ".") {
    if (t.length < 2 || !isDotSubsequent(t[1])) return false;
    rest = 2;
  } else return false;
  for (let i = rest; i < t.length; i++) if (!isSubsequent(t[i])) return false;
  return true;
}

const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const SPECIAL_NUMBER = /^([+-])(inf|nan)\.0$/i;
// What R7RS would try to parse as a number: a digit first, possibly after a sign and/or a point.
const NUMBER_START = /^[+-]?\.?\d/;

/**
 * True when `name`, written bare, reads back as the symbol of that name (so `write` needs
 * no `|…|` for it).
 *
 * @example
 * ```ts
 * isSymbolText("list->vector"); // true
 * isSymbolText("a b"); // false
 * ```
 */
export function isSymbolText(name: string): boolean {
  if (name === "" || DECIMAL_NUMBER.test(name) || SPECIAL_NUMBER.test(name) || NUMBER_START.test(name)) {
    return false;
  }
  for (let i = 0; i < name.length; i++) if (!isSubsequent(name[i]) || isDelimiter(name[i])) return false;
  return isIdentifier(name);
}

/** A message with its control characters escaped (`\x1b;`), so that echoing input cannot garble a terminal. */
function escapeControls(message: string): string {
  return message.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16)};`);
}
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]/g;

/** A character for a message: itself when printable ASCII, else its code point. */
function showChar(ch: string): string {
  const c = ch.codePointAt(0)!;
  return c > 32 && c < 127 ? `'${ch}'` : `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
}

const STRING_ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", t: "\t", r: "\r" };

class Reader {
  private pos = 0;
  private line = 1;
  private col = 1;

  constructor(private readonly text: string, private readonly file: string) {}

  /** The current position as a span. */
  here(): Span {
    return { file: this.file, line: this.line, col: this.col };
  }

  private error(message: string, span: Span): never {
    throw new DmciError("read", escapeControls(message), span);
  }

  /** Moves one character on, keeping line and column; CR LF, LF and a lone CR each end a line. */
  private advance(): void {
    const c = this.text.charCodeAt(this.pos++);
    if (c === CH_LF || (c === CH_CR && this.text.charCodeAt(this.pos) !== CH_LF)) {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
  }

  readAll(): Datum[] {
    const out: Datum[] = [];
    const top: TopFrame = { kind: "top", skips: [] };
    const stack: Frame[] = [top];
    const text = this.text;

    // Hands a finished datum to the innermost open frame; a finished prefix frame becomes a datum
    // itself, hence the loop.
    const deliver = (d: Datum): void => {
      for (;;) {
        const frame = stack[stack.length - 1];
        if (frame.skips.length > 0) {
          frame.skips.pop();
          return;
        }
        if (frame.kind === "top") {
          out.push(d);
          return;
        }
        if (frame.kind === "list") {
          if (frame.dot === null) frame.items.push(d);
          else frame.tail = d; // a second tail was already refused in expectDatumStart
          return;
        }
        stack.pop();
        const sym: Datum = { type: "symbol", name: frame.name, span: frame.span };
        d = { type: "list", items: [sym, d], tail: null, span: frame.span };
      }
    };

    // Refuses a datum where the syntax allows none: right after the tail of a dotted list.
    const expectDatumStart = (span: Span, found: string): void => {
      const frame = stack[stack.length - 1];
      if (frame.kind === "list" && frame.tail !== null && frame.skips.length === 0) {
        this.error(`expected ')' after the datum following '.', found ${found}`, span);
      }
    };

    for (;;) {
      this.skipAtmosphere();
      const span = this.here();
      if (this.pos >= text.length) {
        const frame = stack[stack.length - 1];
        this.expectNoPending(frame, "end of input");
        if (frame.kind === "list") {
          this.error("unbalanced parenthesis: '(' opened here is never closed", frame.span);
        }
        return out;
      }
      const ch = text[this.pos];
      switch (ch) {
        case "(":
          expectDatumStart(span, "'('");
          this.advance();
          stack.push({ kind: "list", span, items: [], dot: null, tail: null, skips: [] });
          break;
        case ")": {
          const frame = stack[stack.length - 1];
          this.expectNoPending(frame, "')'");
          if (frame.kind !== "list") this.error("unexpected ')' with no '(' open", span);
          if (frame.dot !== null && frame.tail === null) {
            this.error("expected a datum after '.', found ')'", frame.dot);
          }
          this.advance();
          stack.pop();
          deliver(finishList(frame));
          break;
        }
        case "[":
        case "]":
          this.error(
            `brackets are not part of the language: found '${ch}', use '${ch === "[" ? "(" : ")"}'`,
            span,
          );
          break;
        case "'":
        case "`":
        case ",": {
          expectDatumStart(span, `'${ch}'`);
          this.advance();
          let prefix: string = ch;
          let name = ch === "'" ? "quote" : ch === "`" ? "quasiquote" : "unquote";
          if (ch === "," && text[this.pos] === "@") {
            this.advance();
            prefix = ",@";
            name = "unquote-splicing";
          }
          stack.push({ kind: "prefix", span, name, text: prefix, skips: [] });
          break;
        }
        case '"':
          expectDatumStart(span, "a string");
          deliver({ type: "string", value: this.readString(), span });
          break;
        case "#":
          if (text[this.pos + 1] === ";") {
            this.advance();
            this.advance();
            stack[stack.length - 1].skips.push(span);
          } else {
            expectDatumStart(span, "a '#' datum");
            deliver({ type: "boolean", value: this.readHash(), span });
          }
          break;
        case "|":
          if (text[this.pos + 1] === "#") this.error("unexpected '|#' outside a block comment", span);
          this.error("bar-quoted symbols |...| are not supported", span);
          break;
        default: {
          const atom = this.readAtomText();
          if (atom === ".") {
            this.readDot(stack[stack.length - 1], span);
          } else {
            expectDatumStart(span, `'${atom}'`);
            deliver(this.parseAtom(atom, span));
          }
        }
      }
    }
  }

  /** Refuses a token that cannot stand where `#;` or a quote prefix still waits for its datum. */
  private expectNoPending(frame: Frame, found: string): void {
    if (frame.skips.length > 0) {
      this.error(`expected a datum after '#;', found ${found}`, frame.skips[frame.skips.length - 1]);
    }
    if (frame.kind === "prefix") {
      this.error(`expected a datum after '${frame.text}', found ${found}`, frame.span);
    }
  }

  /** Checks a `.` against where it stands and records it in its list. */
  private readDot(frame: Frame, span: Span): void {
    this.expectNoPending(frame, "'.'");
    if (frame.kind !== "list") this.error("unexpected '.' outside a list", span);
    if (frame.dot !== null) this.error("unexpected second '.' in a list", span);
    if (frame.items.length === 0) this.error("expected a datum before '.' in a dotted list", span);
    frame.dot = span;
  }

  /** Skips whitespace, `;` comments and (nested) `#| |#` comments. */
  private skipAtmosphere(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === CH_SPACE || c === CH_TAB) {
        this.pos++;
        this.col++;
      } else if (isWhitespace(c)) {
        this.advance();
      } else if (text[this.pos] === ";") {
        while (this.pos < text.length && text[this.pos] !== "\n" && text[this.pos] !== "\r") {
          this.pos++;
          this.col++;
        }
      } else if (text[this.pos] === "#" && text[this.pos + 1] === "|") {
        this.skipBlockComment();
      } else {
        return;
      }
    }
  }

  private skipBlockComment(): void {
    const text = this.text;
    const opened: Span[] = [];
    do {
      if (text[this.pos] === "#" && text[this.pos + 1] === "|") {
        opened.push(this.here());
        this.advance();
        this.advance();
      } else if (text[this.pos] === "|" && text[this.pos + 1] === "#") {
        opened.pop();
        this.advance();
        this.advance();
      } else if (this.pos >= text.length) {
        this.error("unterminated block comment: '#|' opened here is never closed", opened[opened.length - 1]);
      } else {
        this.advance();
      }
    } while (opened.length > 0);
  }

  /** Reads a string literal from its opening quote; returns its decoded value. */
  private readString(): string {
    const text = this.text;
    const start = this.here();
    this.advance();
    let value = "";
    let chunk = this.pos;
    for (;;) {
      if (this.pos >= text.length) this.error("unterminated string: expected a closing '\"'", start);
      const ch = text[this.pos];
      if (ch === '"') {
        value += text.slice(chunk, this.pos);
        this.advance();
        return value;
      }
      if (ch === "\\") {
        value += text.slice(chunk, this.pos);
        const at = this.here();
        this.advance();
        if (this.pos >= text.length) this.error("unterminated string: expected a closing '\"'", start);
        const esc = text[this.pos];
        const decoded = STRING_ESCAPES[esc];
        if (decoded === undefined) {
          this.error(`unknown string escape '\\${esc}': expected one of \\" \\\\ \\n \\t \\r`, at);
        }
        value += decoded;
        this.advance();
        chunk = this.pos;
      } else {
        this.advance();
      }
    }
  }

  /** Reads `#t`, `#f`, `#true` or `#false`; any other `#` syntax is an error naming it. */
  private readHash(): boolean {
    const start = this.here();
    this.advance();
    const word = this.readAtomText();
    if (word === "t" || word === "true") return true;
    if (word === "f" || word === "false") return false;
    if (this.pos >= this.text.length && word === "") {
      this.error("unsupported # syntax: '#' at end of input", start);
    }
    // With nothing word-like after the `#`, name the delimiter that follows it (`#(`, `#"`).
    this.error(`unsupported # syntax: #${word !== "" ? word : this.text[this.pos]}`, start);
  }

  /** Reads up to the next delimiter. Atoms hold no line breaks, so only the column moves. */
  private readAtomText(): string {
    const text = this.text;
    const start = this.pos;
    while (this.pos < text.length && !isDelimiter(text[this.pos])) this.pos++;
    this.col += this.pos - start;
    return text.slice(start, this.pos);
  }

  /** Classifies an atom (not `.`) as a number or a symbol, or reports why it is neither. */
  private parseAtom(atom: string, span: Span): Datum {
    if (DECIMAL_NUMBER.test(atom)) {
      return { type: "number", value: Number(atom), decimal: /[.e]/i.test(atom), span };
    }
    const special = SPECIAL_NUMBER.exec(atom);
    if (special) {
      const value = special[2].toLowerCase() === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity;
      return { type: "number", value, decimal: true, span };
    }
    if (NUMBER_START.test(atom)) this.error(`bad number syntax: ${atom}`, span);
    for (let i = 0; i < atom.length; i++) {
      if (!isSubsequent(atom[i])) {
        const at = { file: span.file, line: span.line, col: span.col + i };
        this.error(`invalid character ${showChar(atom[i])} in identifier '${atom}'`, at);
      }
    }
    if (!isIdentifier(atom)) this.error(`bad identifier syntax: ${atom}`, span);
    return { type: "symbol", name: atom, span };
  }
}

/** Builds the datum of a closed list, splicing a list tail so `(a . (b c))` is `(a b c)`. */
function finishList(frame: ListFrame): ListDatum {
  const tail = frame.tail;
  if (tail !== null && tail.type === "list") {
    // The tail was normalised when it was closed, so one splice suffices. A chain n deep costs
    // O(n²) element copies, tens of ms at n = 5000; written code nests dotted tails a few deep at most.
    return { type: "list", items: frame.items.concat(tail.items), tail: tail.tail, span: frame.span };
  }
  return { type: "list", items: frame.items, tail, span: frame.span };
}
