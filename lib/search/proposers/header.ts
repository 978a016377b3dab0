/**
 * The header comment lines a proposal keeps: the battery models' `; @param NAME …` directives
 * (lib/domains/battery/model.ts), one per named parameter. Edits that remove a parameter drop its
 * line, so every proposal still parses as a model; other comments are not carried over.
 */
import { parseDirectives } from "../../domains/battery/model.ts";

/** Directive lines by parameter name, as written. A text with a malformed directive gives none. */
export function readDirectives(text: string, file: string): Map<string, string> {
  const lines = text.split(/\r\n|\n|\r/);
  try {
    return new Map(
      [...parseDirectives(text, file)].map(([name, d]) => [name, lines[d.span.line - 1].trim()]),
    );
  } catch {
    return new Map();
  }
}

/** The directive lines of the parameters in `names`, in the order of `names`. */
export function keptDirectives(directives: ReadonlyMap<string, string>, names: readonly string[]): string[] {
  return names.flatMap((n) => (directives.has(n) ? [directives.get(n)!] : []));
}

/** True when the directive marks its parameter global. */
export function isGlobal(line: string | undefined): boolean {
  return line !== undefined && words(line).split(/\s+/).includes("global");
}

/** The words of a directive after `@param`, up to a trailing comment. */
function words(line: string): string {
  const rest = line.slice(line.indexOf("@param") + "@param".length);
  const end = rest.indexOf(";");
  return end < 0 ? rest : rest.slice(0, end);
}

/**
 * The directive with its `global` flag flipped (a parameter without a directive gets
 * `; @param NAME free global`).
 *
 * @example
 * ```ts
 * toggleGlobal("k", "; @param k positive start 0.1 1"); // "; @param k positive start 0.1 1 global"
 * ```
 */
export function toggleGlobal(name: string, line: string | undefined): string {
  if (line === undefined) return `; @param ${name} free global`;
  const at = line.indexOf("@param") + "@param".length;
  const w = words(line);
  const changed = isGlobal(line) ? w.replace(/\s+global\b/, "") : `${w.trimEnd()} global`;
  return line.slice(0, at) + changed + line.slice(at + w.length);
}
