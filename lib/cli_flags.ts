/**
 * Numeric command-line flags, checked the same way by every command: one `spec` error naming
 * the flag and the text it was given.
 */
import { DmciError } from "./errors.ts";

/**
 * A flag's value as a positive finite number (an integer unless `integer` is false), or
 * undefined when the flag is absent.
 *
 * @example
 * ```ts
 * positiveFlag("workers", "2"); // 2
 * positiveFlag("minutes", "0.5", false); // 0.5
 * positiveFlag("workers", "0"); // throws: --workers: expected a positive integer, got '0'
 * ```
 */
export function positiveFlag(flag: string, v: string | undefined, integer = true): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new DmciError(
      "spec",
      `--${flag}: expected a positive ${integer ? "integer" : "number"}, got '${v}'`,
    );
  }
  return n;
}
