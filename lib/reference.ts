/**
 * The language reference, made from the primitive table: the same text serves the
 * docs (docs/language.md) and, later, the proposer's prompt. Nothing here lists a
 * procedure by hand; special forms are listed by the expander.
 */
import { type PrimGroup, PRIMITIVES } from "./primitives.ts";
import { SPECIAL_FORMS } from "./expand/expander.ts";

const GROUP_ORDER: readonly PrimGroup[] = [
  "numbers",
  "booleans",
  "lists",
  "control",
  "symbols and strings",
  "tensors",
  "linear algebra",
];

/**
 * The procedures of the language as Markdown: one section per group, one line per
 * procedure with its signature, doc and whether gradients flow through it.
 *
 * @example
 * ```ts
 * const md = languageReference();
 * md.includes("(expt a b)"); // true
 * ```
 */
export function languageReference(): string {
  const out: string[] = [
    "# The dmci language: reference",
    "",
    "Generated from the primitive table (`lib/primitives.ts`) by `deno task docs`; do not edit by hand.",
    "Semantics follow R7RS-small for everything listed; see README.md for the syntax and the differences.",
    "",
    "## Special forms",
    "",
    [...SPECIAL_FORMS].map((f) => `\`${f}\``).join(" ") +
    " — with named `let`, `cond` clauses with `else` and `=>`, `case` with `else` and `=>`, " +
    "and internal `define`s at the head of a body (`letrec*` meaning).",
    "",
  ];
  for (const group of GROUP_ORDER) {
    const prims = PRIMITIVES.filter((p) => p.group === group);
    if (prims.length === 0) continue;
    out.push(`## ${group[0].toUpperCase()}${group.slice(1)}`, "");
    for (const p of prims) {
      const grad = p.differentiable ? " *(differentiable)*" : "";
      out.push(`- \`${p.signature}\` — ${p.doc}${grad}`);
    }
    out.push("");
  }
  return out.join("\n");
}

if (import.meta.main) {
  const target = new URL("../docs/language.md", import.meta.url);
  await Deno.writeTextFile(target, languageReference());
  console.error(`wrote ${target.pathname}`);
}
