/** Plain-text tables for the commands' reports. */

/**
 * Rows of cells as text columns: the first left-aligned, the others right-aligned, two spaces
 * apart.
 *
 * @example
 * ```ts
 * columns([["model", "RMSE"], ["knee", "0.027"]]); // ["model   RMSE", "knee   0.027"]
 * ```
 */
export function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) => r.map((c, j) => j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j] + 2)).join(""));
}
