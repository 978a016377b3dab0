/**
 * The fitted parameters of a spec: which of a program's parameters are free, their
 * transforms (free, positive, bounded) between the optimizer's unconstrained vector u
 * and the program's θ, and the chain rule back to u. Pure functions of plain numbers;
 * nothing here touches a backend.
 */
import { DmciError } from "../errors.ts";
import type { ParamInfo } from "../program.ts";
import type { Spec } from "./spec.ts";

/** How a parameter maps from the optimizer's unconstrained value u. */
export type Transform =
  | { readonly kind: "free" }
  | { readonly kind: "positive" }
  | { readonly kind: "bounded"; readonly lower: number; readonly upper: number };

/** One program parameter as the fit sees it. */
export interface FitParam {
  readonly name: string;
  readonly init: number;
  readonly transform: Transform;
  readonly fixed: boolean;
}

/** θ from u for one transform. */
export function toTheta(t: Transform, u: number): number {
  switch (t.kind) {
    case "free":
      return u;
    case "positive":
      return Math.exp(u);
    case "bounded": {
      const s = u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u));
      return t.lower + (t.upper - t.lower) * s;
    }
  }
}

/** dθ/du at u. */
export function dThetaDu(t: Transform, u: number): number {
  switch (t.kind) {
    case "free":
      return 1;
    case "positive":
      return Math.exp(u);
    case "bounded": {
      const s = u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u));
      return (t.upper - t.lower) * s * (1 - s);
    }
  }
}

/** u from θ; θ must lie inside the transform's domain. */
export function toU(t: Transform, theta: number, name: string): number {
  switch (t.kind) {
    case "free":
      return theta;
    case "positive":
      if (!(theta > 0)) {
        throw new DmciError(
          "spec",
          `$.params.${name}.init: a positive parameter needs init > 0, got ${theta}`,
        );
      }
      return Math.log(theta);
    case "bounded": {
      if (!(theta > t.lower && theta < t.upper)) {
        throw new DmciError(
          "spec",
          `$.params.${name}.init: a bounded parameter needs ${t.lower} < init < ${t.upper}, got ${theta}`,
        );
      }
      const p = (theta - t.lower) / (t.upper - t.lower);
      return Math.log(p / (1 - p));
    }
  }
}

/**
 * The spec's settings applied to the program's parameters (in source order). Every
 * name under `params` must be a parameter of the program.
 *
 * @example
 * ```ts
 * // program (define k 0.5) …, spec params {"k": {"transform": "positive"}}
 * // → [{ name: "k", init: 0.5, transform: { kind: "positive" }, fixed: false }]
 * ```
 */
export function fitParams(spec: Pick<Spec, "params">, programParams: readonly ParamInfo[]): FitParam[] {
  const names = new Set(programParams.map((p) => p.name));
  for (const name of Object.keys(spec.params)) {
    if (!names.has(name)) {
      const known = programParams.map((p) => p.name).join(", ") || "none";
      throw new DmciError(
        "spec",
        `$.params.${name}: the program has no parameter '${name}' (its parameters: ${known})`,
      );
    }
  }
  return programParams.map((p) => {
    const s = spec.params[p.name];
    const transform: Transform = s?.transform === "positive"
      ? { kind: "positive" }
      : s?.transform === "bounded"
      ? { kind: "bounded", lower: s.lower!, upper: s.upper! }
      : { kind: "free" };
    return { name: p.name, init: s?.init ?? p.value, transform, fixed: s?.fixed ?? false };
  });
}
