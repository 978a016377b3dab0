/**
 * Seeded random numbers, the same on every platform: uniforms from mulberry32 (32-bit
 * integer arithmetic only), standard normals by Box–Muller, and a string hash for seeds.
 * Used for restarts, verify's perturbed seeds, and the synthetic fixture data.
 */

/**
 * A seeded generator (mulberry32) of uniforms in (0, 1), never 0 (Box–Muller takes a log).
 *
 * @example
 * ```ts
 * const u = uniform(1);
 * u() === uniform(1)(); // true
 * ```
 */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return x === 0 ? 0.5 / 4294967296 : x;
  };
}

/**
 * Standard normal draws by the Box–Muller transform of `uniform(seed)`: each pair of
 * uniforms (u₁, u₂) gives √(−2 ln u₁)·cos(2πu₂) and then √(−2 ln u₁)·sin(2πu₂).
 *
 * @example
 * ```ts
 * const z = normal(7);
 * [z(), z()]; // two independent N(0, 1) draws, the same on every run
 * ```
 */
export function normal(seed: number): () => number {
  const u = uniform(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const radius = Math.sqrt(-2 * Math.log(u()));
    const angle = 2 * Math.PI * u();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/**
 * 32-bit FNV-1a hash of a string: a seed from a name.
 *
 * @example
 * ```ts
 * fnv1a("a.scm") === fnv1a("a.scm"); // true
 * ```
 */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
