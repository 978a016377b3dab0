/**
 * The El Niño models as programs: a parameter block (fixtures/enso/ar1_noise.scm, ar2_noise.scm,
 * or, for the latent VAR of any dimension, written here) in front of the Kalman filter library
 * fixtures/enso/kalman.scm, and a final call. Also the data a model reads, as program inputs.
 * This module builds text and inputs only; it runs nothing.
 */
import { DmciError } from "../../errors.ts";
import { normal } from "../../random.ts";
import type { Inputs } from "../../program.ts";
import type { PreparedData } from "./data.ts";

/** The model ids of the benchmark. */
export const MODEL_IDS = ["ar1+noise", "ar2+noise", "latent-var"] as const;
/** A model id. */
export type ModelId = (typeof MODEL_IDS)[number];

/** The latent VAR's default state dimension, and the largest the command accepts. */
export const DEFAULT_DIM = 20;
export const MAX_DIM = 64;

const FIXTURES = new URL("../../../fixtures/enso/", import.meta.url);

/** Which data a model is fitted to. */
export type DataKind = "nino12" | "pacific";

/** A model: its id, data, and program text without the final call. */
export interface EnsoModel {
  readonly id: ModelId;
  readonly data: DataKind;
  /** The file name errors and reports name (the head's file, or a generated name). */
  readonly file: string;
  /** The parameter block followed by the filter library. */
  readonly text: string;
  /** One line for reports. */
  readonly description: string;
}

/** What the program's last expression computes. */
export type FinalCall = "loglik" | "predictions";

const FINAL: Record<FinalCall, string> = {
  loglik: "(kalman-loglik A C Q R (tensor->list observations) (tensor->list observed))",
  predictions: "(kalman-predictions A C Q R (tensor->list observations) (tensor->list observed))",
};

/**
 * The full program text: the model's block and library, then the call that gives its value.
 *
 * @example
 * ```ts
 * const text = programText(await loadModel("ar1+noise"), "loglik");
 * ```
 */
export function programText(model: EnsoModel, final: FinalCall): string {
  return `${model.text}\n${FINAL[final]}\n`;
}

async function fixture(name: string): Promise<string> {
  return await Deno.readTextFile(new URL(name, FIXTURES));
}

/** A decimal literal (always with a point, so the program reads it as a parameter). */
function decimal(x: number): string {
  const s = x.toFixed(4);
  return s === "-0.0000" ? "0.0000" : s;
}

/** Rows of decimals, `perLine` to a line, for a quoted list. */
function decimalLines(xs: readonly number[], perLine: number): string {
  const lines: string[] = [];
  for (let i = 0; i < xs.length; i += perLine) {
    lines.push("    " + xs.slice(i, i + perLine).map(decimal).join(" "));
  }
  return lines.join("\n");
}

/**
 * The parameter block of the latent VAR(1) of state dimension `n` observed through a full C on
 * `p` series: U (n², giving A), C (p·n) and the log observation-noise variances (p). Starting
 * values from a seeded generator: U = I + 0.1·N(0, 1), C = 0.1·N(0, 1), log r = log ½.
 *
 * @example
 * ```ts
 * latentVarBlock(2, 7, 0).includes("(define n 2)"); // true
 * ```
 */
export function latentVarBlock(n: number, p: number, seed: number): string {
  const z = normal(seed);
  const u = Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0) + 0.1 * z());
  const c = Array.from({ length: p * n }, () => 0.1 * z());
  const logR = new Array(p).fill(Math.log(0.5));
  return `; Latent VAR(1) of state dimension ${n} on ${p} standardised series (model id \`latent-var\`),
; written by lib/domains/enso/models.ts:
;   x_{t+1} = A x_t + w_t, w ~ N(0, I);   y_t = C x_t + v_t, v ~ N(0, diag(exp(log-r))).
; Q = I: the latent state's scale is not identifiable from C x (C absorbs it), so it is fixed.
; A is stable for every θ by a contraction map (Ansley & Kohn 1986 for a VAR(1)): with any U and
; L the Cholesky factor of I + U Uᵀ, P = L⁻¹U has ‖P‖₂ < 1 (P Pᵀ = I − L⁻¹L⁻ᵀ), and
; A = U L⁻¹ = L P L⁻¹ is similar to it, so its spectral radius is below 1; every stable A with
; Q = I is reached, by exactly one U, and then P∞ = L Lᵀ = I + U Uᵀ.
; fixtures/enso/kalman.scm follows this block.
(define n ${n})
(define p ${p})
(define u-entries '(          ; U, ${n}×${n}, row by row
${decimalLines(u, n)}))
(define c-entries '(          ; C, ${p}×${n}, row by row
${decimalLines(c, n)}))
(define log-r '(              ; log observation-noise variances, one per series
${decimalLines(logR, p)}))

(define U (reshape (tensor u-entries) (list n n)))
(define L (cholesky (+ (eye n) (matmul U (transpose U)))))
(define A (transpose (solve (transpose L) (transpose U))))   ; U L⁻¹, as (L⁻ᵀ Uᵀ)ᵀ
(define C (reshape (tensor c-entries) (list p n)))
(define Q (eye n))
(define R (diag (exp (tensor log-r))))
`;
}

/**
 * A model by id: `dim` is the latent VAR's state dimension (ignored by the AR models), `series`
 * its number of observed series, `seed` its starting values.
 *
 * @example
 * ```ts
 * const m = await loadModel("latent-var", { dim: 5 });
 * m.file; // "latent-var-5.scm"
 * ```
 */
export async function loadModel(
  id: string,
  options: { dim?: number; series?: number; seed?: number } = {},
): Promise<EnsoModel> {
  const library = await fixture("kalman.scm");
  switch (id) {
    case "ar1+noise":
      return {
        id,
        data: "nino12",
        file: "fixtures/enso/ar1_noise.scm",
        text: (await fixture("ar1_noise.scm")) + library,
        description: "AR(1) + observation noise on Niño 1+2 SST anomalies (3 parameters)",
      };
    case "ar2+noise":
      return {
        id,
        data: "nino12",
        file: "fixtures/enso/ar2_noise.scm",
        text: (await fixture("ar2_noise.scm")) + library,
        description: "AR(2) + observation noise on Niño 1+2 SST anomalies (4 parameters)",
      };
    case "latent-var": {
      const n = options.dim ?? DEFAULT_DIM;
      const p = options.series ?? 7;
      if (!Number.isInteger(n) || n < 1 || n > MAX_DIM) {
        throw new DmciError("spec", `--dim: expected an integer from 1 to ${MAX_DIM}, got '${options.dim}'`);
      }
      return {
        id,
        data: "pacific",
        file: `latent-var-${n}.scm`,
        text: latentVarBlock(n, p, options.seed ?? 0) + library,
        description: `latent VAR(1), state dimension ${n}, full A and C on ${p} Pacific indices ` +
          `(${n * n + p * n + p} parameters)`,
      };
    }
    default:
      throw new DmciError("spec", `unknown model '${id}'; expected one of ${MODEL_IDS.join(", ")}`);
  }
}

/**
 * The program inputs for rows [from, to) of the data: `observations` (missing cells as 0) and
 * `observed` (1 where a cell is present, 0 where missing), each a T×p tensor.
 *
 * @example
 * ```ts
 * const inputs = modelInputs(data, 0, data.trainEnd); // the training months
 * ```
 */
export function modelInputs(data: PreparedData, from: number, to: number): Inputs {
  const rows = data.rows.slice(from, to);
  const p = data.names.length;
  const shape = [rows.length, p];
  return {
    observations: {
      shape,
      data: Float64Array.from(rows.flatMap((r) => r.map((v) => Number.isNaN(v) ? 0 : v))),
    },
    observed: { shape, data: Float64Array.from(rows.flatMap((r) => r.map((v) => Number.isNaN(v) ? 0 : 1))) },
  };
}
