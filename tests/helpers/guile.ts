/**
 * GNU Guile 3.0 as an outside reference Scheme: finds (or, as root, installs) `guile`, runs
 * R7RS programs in it, and compares values written by Guile and by dmci structurally.
 * Guile has exact rationals and bignums where dmci has doubles, so numbers compare by value.
 */

/** Where `guile` is looked for, in order. */
const GUILE_NAMES = ["guile", "guile-3.0"];

/** How to get Guile when it is missing (Debian/Ubuntu). */
const INSTALL_HINT = "install it with `sudo apt-get install -y guile-3.0` (Debian/Ubuntu)";

function onPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const path = `${dir}/${name}`;
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

async function apt(...args: string[]): Promise<boolean> {
  const out = await new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output();
  return out.success;
}

async function locateOrInstall(): Promise<string> {
  const found = () => GUILE_NAMES.map(onPath).find((p) => p !== undefined);
  let path = found();
  if (!path) {
    if (Deno.uid() !== 0) {
      throw new Error(`Guile 3.0 not found on PATH (tried ${GUILE_NAMES.join(", ")}): ${INSTALL_HINT}`);
    }
    if (!await apt("install", "-y", "guile-3.0")) {
      await apt("update");
      await apt("install", "-y", "guile-3.0");
    }
    path = found();
    if (!path) {
      throw new Error(
        `Guile 3.0 not found and \`apt-get install -y guile-3.0\` did not provide it: ${INSTALL_HINT}`,
      );
    }
  }
  const version = new TextDecoder().decode(
    (await new Deno.Command(path, { args: ["--version"] }).output()).stdout,
  );
  if (!/\b3\.\d+/.test(version.split("\n")[0])) {
    throw new Error(`${path} is not Guile 3 (${version.split("\n")[0]}): ${INSTALL_HINT}`);
  }
  return path;
}

let located: Promise<string> | undefined;

/**
 * The path of a Guile 3 executable. When none is on PATH and the process runs as root, it
 * runs `apt-get install -y guile-3.0` (after `apt-get update` if that fails); otherwise it
 * throws an error saying how to install Guile. The lookup runs once per process.
 *
 * @example
 * ```ts
 * const guile = await findGuile(); // "/usr/bin/guile"
 * ```
 */
export function findGuile(): Promise<string> {
  located ??= locateOrInstall();
  return located;
}

/**
 * The Guile side of a comparison: for each file named on the command line, a fresh R7RS
 * environment ((scheme base), (scheme inexact), (scheme cxr), and `tanh`, which dmci lists
 * but R7RS lacks), every datum of the file read with Guile's reader and evaluated in turn
 * at top level, and one line out: `ok ` and the last value `write`n, or `error ` and the
 * condition written as a string. Output the program itself makes is swallowed.
 */
const DRIVER = `
(use-modules (scheme eval))
(define (run-file path)
  (let ((env (environment '(scheme base) '(scheme inexact) '(scheme cxr) '(only (guile) tanh))))
    (call-with-input-file path
      (lambda (port)
        (let loop ((last (if #f #f)))
          (let ((d (read port)))
            (if (eof-object? d) last (loop (eval d env)))))))))
(for-each
 (lambda (path)
   (catch #t
     (lambda ()
       (let ((v #f))
         (with-output-to-string (lambda () (set! v (run-file path))))
         (display "ok ") (write v) (newline)))
     (lambda (key . args)
       (display "error ")
       (write (with-output-to-string (lambda () (write (cons key args)))))
       (newline))))
 (cdr (command-line)))
`;

/** What Guile made of one program: its value in `write` syntax, or an error. */
export type GuileOutcome = { readonly ok: true; readonly value: string } | {
  readonly ok: false;
  readonly error: string;
};

/**
 * Runs each file in Guile (all in one process, each in a fresh environment) and returns,
 * per file, the value of its last top-level form in `write` syntax, or the error raised.
 *
 * @example
 * ```ts
 * const [r] = await runInGuile(["fixtures/r7rs/fib.scm"]);
 * r.ok && r.value; // "(6765 190392490709135 (0 1 1 2 3 5 8 13 21 34 55))"
 * ```
 */
export async function runInGuile(files: readonly string[], timeoutMs = 120_000): Promise<GuileOutcome[]> {
  if (files.length === 0) return [];
  const guile = await findGuile();
  const child = new Deno.Command(guile, {
    args: ["--no-auto-compile", "-c", DRIVER, ...files],
    env: { GUILE_AUTO_COMPILE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const out = await child.output().finally(() => clearTimeout(timer));
  const text = new TextDecoder().decode(out.stdout);
  const lines = text.split("\n").filter((l) => l !== "");
  if (!out.success || lines.length !== files.length) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(
      `guile exited with code ${out.code} after ${lines.length} of ${files.length} programs ` +
        `(timeout ${timeoutMs} ms):\n${err.slice(0, 2000)}`,
    );
  }
  return lines.map((line): GuileOutcome => {
    if (line.startsWith("ok ")) return { ok: true, value: line.slice(3) };
    const written = line.slice("error ".length);
    return { ok: false, error: JSON.parse(written) as string };
  });
}

// ---------------------------------------------------------------------------------------------
// Written values

/** A value in Scheme `write` syntax, parsed: the common ground of dmci's and Guile's output. */
export type Written =
  | { readonly type: "number"; readonly value: number }
  | { readonly type: "boolean"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "symbol"; readonly name: string }
  /** `#<procedure …>`, `#<unspecified>`, and numbers neither side reads as real (`1.0+2.0i`). */
  | { readonly type: "opaque"; readonly text: string }
  | { readonly type: "list"; readonly items: readonly Written[]; readonly tail: Written | null };

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const FRACTION = /^([+-]?\d+)\/(\d+)$/;
const SPECIAL_NUMBERS: Record<string, number> = {
  "+inf.0": Infinity,
  "-inf.0": -Infinity,
  "+nan.0": NaN,
  "-nan.0": NaN,
};
const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  a: "\x07",
  b: "\b",
  "0": "\0",
  '"': '"',
  "\\": "\\",
};

/** n/d as the nearest double (to about one ulp), for numerators and denominators of any size. */
function ratioToNumber(n: bigint, d: bigint): number {
  const neg = n < 0n;
  if (neg) n = -n;
  // Scale so the integer quotient carries at least 64 significant bits, then undo the scale.
  const shift = Math.max(0, 64 - (n.toString(2).length - d.toString(2).length));
  const q = Number((n << BigInt(shift)) / d) / 2 ** shift;
  return neg ? -q : q;
}

function atom(token: string): Written {
  if (token in SPECIAL_NUMBERS) return { type: "number", value: SPECIAL_NUMBERS[token] };
  if (DECIMAL.test(token)) return { type: "number", value: Number(token) };
  const frac = FRACTION.exec(token);
  if (frac) return { type: "number", value: ratioToNumber(BigInt(frac[1]), BigInt(frac[2])) };
  if (token === "#t" || token === "#true") return { type: "boolean", value: true };
  if (token === "#f" || token === "#false") return { type: "boolean", value: false };
  // A number with an imaginary part or another syntax only one side knows stays opaque.
  if (/^[+-]?(\d|\.\d)|^[+-](inf|nan)\.0[+-]/.test(token)) return { type: "opaque", text: token };
  if (token.startsWith("|") && token.endsWith("|") && token.length >= 2) {
    return { type: "symbol", name: token.slice(1, -1) };
  }
  return { type: "symbol", name: token };
}

/**
 * Parses one value in `write` syntax as dmci or Guile prints it: numbers (integers of any
 * size, decimals, exponents, fractions `a/b`, `±inf.0`, `+nan.0`), booleans, strings,
 * symbols (also Guile's `#{a b}#`), lists, dotted pairs and `#<…>` objects.
 *
 * @example
 * ```ts
 * parseWritten("(1/2 . #t)"); // {type: "list", items: [{type: "number", value: 0.5}], tail: {type: "boolean", value: true}}
 * ```
 */
export function parseWritten(text: string): Written {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`cannot parse written value at offset ${i} (${what}): ${text.slice(0, 200)}`);
  };
  const skip = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (): Written => {
    skip();
    if (i >= text.length) fail("unexpected end");
    const c = text[i];
    if (c === "(") {
      i++;
      const items: Written[] = [];
      let tail: Written | null = null;
      for (;;) {
        skip();
        if (text[i] === ")") {
          i++;
          return { type: "list", items, tail };
        }
        if (text[i] === "." && /[\s()]/.test(text[i + 1] ?? " ")) {
          i++;
          tail = value();
          skip();
          if (text[i] !== ")") fail("expected ) after dotted tail");
          i++;
          return { type: "list", items, tail };
        }
        items.push(value());
      }
    }
    if (c === ")") fail("unexpected )");
    if (c === '"') {
      let s = "";
      for (i++; text[i] !== '"'; i++) {
        if (i >= text.length) fail("unterminated string");
        if (text[i] !== "\\") {
          s += text[i];
          continue;
        }
        const e = text[++i];
        if (e === "x") {
          const end = text.indexOf(";", i);
          s += String.fromCodePoint(parseInt(text.slice(i + 1, end), 16));
          i = end;
        } else s += ESCAPES[e] ?? e;
      }
      i++;
      return { type: "string", value: s };
    }
    if (text.startsWith("#<", i)) {
      let depth = 0;
      const start = i;
      for (; i < text.length; i++) {
        if (text[i] === "<") depth++;
        else if (text[i] === ">" && --depth === 0) break;
      }
      i++;
      return { type: "opaque", text: text.slice(start, i) };
    }
    if (text.startsWith("#{", i)) {
      const end = text.indexOf("}#", i);
      if (end < 0) fail("unterminated #{…}#");
      const name = text.slice(i + 2, end);
      i = end + 2;
      return { type: "symbol", name };
    }
    const start = i;
    while (i < text.length && !/[\s()"]/.test(text[i])) i++;
    return atom(text.slice(start, i));
  };
  const v = value();
  skip();
  if (i < text.length) fail("text after the value");
  return v;
}

/** The kind of an opaque object: `procedure` for `#<procedure f>` and `#<procedure 7f… (x)>`. */
function opaqueKind(text: string): string {
  return text.startsWith("#<") ? text.slice(2).split(/[\s>]/)[0] : text;
}

/**
 * True when two numbers agree: both NaN, equal, or within `tolerance` relative to the
 * larger magnitude, and absolute for magnitudes below 1 (so that results of cancellation,
 * which carry the rounding error of their larger operands, compare sensibly near 0).
 */
export function numbersAgree(a: number, b: number, tolerance: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b));
}

function show(w: Written): string {
  switch (w.type) {
    case "number":
      return String(w.value);
    case "boolean":
      return w.value ? "#t" : "#f";
    case "string":
      return JSON.stringify(w.value);
    case "symbol":
      return w.name;
    case "opaque":
      return w.text;
    case "list":
      return `(${w.items.map(show).join(" ")}${w.tail ? ` . ${show(w.tail)}` : ""})`;
  }
}

function difference(a: Written, b: Written, tolerance: number, path: string): string | undefined {
  const differ = (why = "") =>
    `at ${path || "top"}: ${show(a).slice(0, 120)} vs ${show(b).slice(0, 120)}${why}`;
  if (a.type !== b.type) return differ();
  switch (a.type) {
    case "number": {
      const y = (b as typeof a).value;
      return numbersAgree(a.value, y, tolerance)
        ? undefined
        : differ(` (difference ${Math.abs(a.value - y)})`);
    }
    case "boolean":
    case "string":
      return a.value === (b as typeof a).value ? undefined : differ();
    case "symbol":
      return a.name === (b as typeof a).name ? undefined : differ();
    case "opaque":
      return opaqueKind(a.text) === opaqueKind((b as typeof a).text) ? undefined : differ();
    case "list": {
      const l = b as typeof a;
      if (a.items.length !== l.items.length) {
        return differ(` (lengths ${a.items.length} and ${l.items.length})`);
      }
      for (let k = 0; k < a.items.length; k++) {
        const d = difference(a.items[k], l.items[k], tolerance, `${path}[${k}]`);
        if (d) return d;
      }
      if (a.tail === null || l.tail === null) return a.tail === l.tail ? undefined : differ(" (dotted tail)");
      return difference(a.tail, l.tail, tolerance, `${path}.tail`);
    }
  }
}

/**
 * Compares two values in `write` syntax: numbers by `numbersAgree` at `tolerance`,
 * strings, symbols and booleans exactly, `#<…>` objects by kind, lists element by element.
 * Returns undefined when they agree, else where and how they first differ.
 *
 * @example
 * ```ts
 * compareWritten("(0.5 3 a)", "(1/2 3.0 a)", 1e-12); // undefined
 * compareWritten("(1 2)", "(1 3)", 1e-12); // "at [1]: 2 vs 3 (difference 1)"
 * ```
 */
export function compareWritten(a: string, b: string, tolerance: number): string | undefined {
  return difference(parseWritten(a), parseWritten(b), tolerance, "");
}
