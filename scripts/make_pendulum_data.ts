/**
 * Writes fixtures/search/pendulum.csv, the synthetic data of the bundled symbolic-regression
 * search (fixtures/specs/pendulum-search.json): a damped pendulum θ'' = −ω0²·sin θ − 2γ·θ', whose
 * nonlinearity (sin θ) sits inside the integration loop (RK4, 100 steps per sample), sampled at
 * t = 0, 0.1, …, 20 with Gaussian noise. No closed form is exact, so a search can only
 * approximate it. Deterministic: mulberry32 noise seeded 7 (lib/random.ts); `--check` verifies.
 *
 * True values: θ(0) = 0.15, θ'(0) = 0, ω0 = 2, γ = 0.04, σ = 0.0005.
 */
import { normal } from "../lib/random.ts";

const OMEGA0 = 2, GAMMA = 0.04, THETA0 = 0.15, SIGMA = 0.0005;
const ROWS = 201, DT = 0.1, SUBSTEPS = 100;

/** θ'' of the damped pendulum. */
function accel(theta: number, v: number): number {
  return -OMEGA0 * OMEGA0 * Math.sin(theta) - 2 * GAMMA * v;
}

/** One RK4 step of (θ, θ') by h. */
function rk4(theta: number, v: number, h: number): [number, number] {
  const k1 = [v, accel(theta, v)];
  const k2 = [v + (h / 2) * k1[1], accel(theta + (h / 2) * k1[0], v + (h / 2) * k1[1])];
  const k3 = [v + (h / 2) * k2[1], accel(theta + (h / 2) * k2[0], v + (h / 2) * k2[1])];
  const k4 = [v + h * k3[1], accel(theta + h * k3[0], v + h * k3[1])];
  return [
    theta + (h / 6) * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
    v + (h / 6) * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]),
  ];
}

/** The CSV text. */
export function pendulumCsv(): string {
  const noise = normal(7);
  const lines = ["t,angle"];
  let theta = THETA0, v = 0;
  for (let i = 0; i < ROWS; i++) {
    lines.push(`${(i * DT).toFixed(1)},${(theta + SIGMA * noise()).toFixed(6)}`);
    for (let s = 0; s < SUBSTEPS; s++) [theta, v] = rk4(theta, v, DT / SUBSTEPS);
  }
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const path = new URL("../fixtures/search/pendulum.csv", import.meta.url);
  const text = pendulumCsv();
  if (Deno.args.includes("--check")) {
    const same = Deno.readTextFileSync(path) === text;
    console.log(same ? "pendulum.csv is up to date" : "pendulum.csv differs from the script's output");
    Deno.exit(same ? 0 : 1);
  }
  Deno.writeTextFileSync(path, text);
  console.log(`wrote ${path.pathname}`);
}
