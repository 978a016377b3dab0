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

/** What `languageReference` writes. */
export interface ReferenceOptions {
  /** Only these procedures (e.g. a search's allowed primitives); default every one. */
  readonly only?: readonly string[];
  /** Level of the section headings: 2 (the docs, default) or deeper when embedded in another text. */
  readonly level?: number;
  /** Leave out the title and the "generated from" lines (default false). */
  readonly bare?: boolean;
}

/**
 * The procedures of the language as Markdown: one section per group, one line per
 * procedure with its signature, doc and whether gradients flow through it.
 *
 * @example
 * ```ts
 * const md = languageReference();
 * md.includes("(expt a b)"); // true
 * languageReference({ only: ["+", "exp"], bare: true }).includes("(expt a b)"); // false
 * ```
 */
export function languageReference(options: ReferenceOptions = {}): string {
  const only = options.only ? new Set(options.only) : null;
  const h = "#".repeat(options.level ?? 2);
  const title = options.bare ? [] : [
    "# The dmci language: reference",
    "",
    "Generated from the primitive table (`lib/primitives.ts`) by `deno task docs`; do not edit by hand.",
    "Semantics follow R7RS-small for everything listed; see README.md for the syntax and the differences.",
    "",
  ];
  const out: string[] = [
    ...title,
    `${h} Special forms`,
    "",
    [...SPECIAL_FORMS].map((f) => `\`${f}\``).join(" ") +
    " — with named `let`, `cond` clauses with `else` and `=>`, `case` with `else` and `=>`, " +
    "and internal `define`s at the head of a body (`letrec*` meaning).",
    "",
  ];
  for (const group of GROUP_ORDER) {
    const prims = PRIMITIVES.filter((p) => p.group === group && (!only || only.has(p.name)));
    if (prims.length === 0) continue;
    out.push(`${h} ${group[0].toUpperCase()}${group.slice(1)}`, "");
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
