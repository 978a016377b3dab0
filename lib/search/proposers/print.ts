/**
 * Writes datums back as program text that the reader reads to the same datums: decimal
 * literals keep a point or an exponent (they are parameters), integers stay integers. It
 * formats for a reader of the program (one top-level form per line, long lists broken and
 * indented); it keeps no comments, and knows nothing of what a program means.
 */
import type { Datum, NumberDatum } from "../../read/datum.ts";
import { formatNumber } from "../../values.ts";

const STRING_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\t": "\\t",
  "\r": "\\r",
};

/** A number as the reader must read it back: a decimal keeps its point (`2` is written `2.0`). */
export function formatLiteral(d: Pick<NumberDatum, "value" | "decimal">): string {
  const s = formatNumber(d.value);
  if (!d.decimal) return s;
  return /[.e]|inf|nan/i.test(s) ? s : `${s}.0`;
}

/**
 * One datum on one line.
 *
 * @example
 * ```ts
 * import { readOne } from "../../read/reader.ts";
 * writeDatum(readOne("(* 2.0 'x)", "a.scm")); // "(* 2.0 'x)"
 * ```
 */
export function writeDatum(d: Datum): string {
  switch (d.type) {
    case "number":
      return formatLiteral(d);
    case "boolean":
      return d.value ? "#t" : "#f";
    case "string":
      return `"${d.value.replace(/["\\\n\t\r]/g, (c) => STRING_ESCAPES[c])}"`;
    case "symbol":
      return d.name;
    case "list": {
      const [head, quoted] = d.items;
      if (d.items.length === 2 && d.tail === null && head.type === "symbol" && head.name === "quote") {
        return `'${writeDatum(quoted)}`;
      }
      const inner = d.items.map(writeDatum).join(" ");
      return d.tail ? `(${inner} . ${writeDatum(d.tail)})` : `(${inner})`;
    }
  }
}

/**
 * One datum, broken over lines when it is wider than `width`: the head and first operand stay
 * on the first line, the other operands go below, indented by two.
 */
export function prettyDatum(d: Datum, width = 96, indent = 0): string {
  const flat = writeDatum(d);
  if (indent + flat.length <= width || d.type !== "list" || d.tail !== null || d.items.length < 3) {
    return flat;
  }
  const pad = " ".repeat(indent + 2);
  const [head, first, ...rest] = d.items;
  const lead = `(${writeDatum(head)} ${prettyDatum(first, width, indent + 2)}`;
  return [lead, ...rest.map((x) => pad + prettyDatum(x, width, indent + 2))].join("\n") + ")";
}

/**
 * A program's top-level forms as text, one per line (broken when long), after the given
 * header lines (comment lines such as battery `; @param` directives).
 *
 * @example
 * ```ts
 * import { read } from "../../read/reader.ts";
 * writeProgram(read("(define a 1.0) (* a x)", "m.scm"), ["; @param a positive"]);
 * // "; @param a positive\n(define a 1.0)\n(* a x)\n"
 * ```
 */
export function writeProgram(forms: readonly Datum[], header: readonly string[] = []): string {
  return [...header, ...forms.map((f) => prettyDatum(f))].join("\n") + "\n";
}
