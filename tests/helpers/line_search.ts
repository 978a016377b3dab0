/**
 * A small inline symbolic-regression search spec the search tests share: y = 2 + 0.75·x plus a
 * small wiggle, over x = i/4, seeded with a line, the last 20% of rows held out as test rows.
 */

/**
 * The spec for `rows` rows, named `name`, with `search` merged into its search block.
 *
 * @example
 * ```ts
 * const spec = lineSearchSpec("line", 20, { validation: 0.25, restarts: 2 });
 * spec.search.task; // "fit"
 * ```
 */
export function lineSearchSpec(name: string, rows: number, search: Record<string, unknown> = {}) {
  return {
    name,
    inputs: { x: "x" },
    target: "y",
    data: {
      columns: {
        x: Array.from({ length: rows }, (_, i) => i / 4),
        y: Array.from({ length: rows }, (_, i) => 2 + 0.75 * i + 0.05 * Math.cos(3 * i)),
      },
    },
    split: { kind: "fraction", train: 0.8 },
    backend: "f64",
    search: {
      task: "fit",
      seeds: [{ text: "(+ 1.0 (* 1.0 x))" }],
      primitives: ["+", "*", "exp"],
      ...search,
    },
  };
}
