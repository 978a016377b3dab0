/**
 * Loop rerolling of a lowered scalar trace: a run of entries that repeats with period P (the
 * same op codes, rules and test outcomes at each body position, every slot operand moving by a
 * fixed stride per iteration) is found and kept as one loop — its body, its repetition count,
 * each operand as `base + stride·k` (a slot), a literal (a constant equal in every iteration),
 * or a column of a per-iteration constant table (data values, observed guard values). A loop
 * reads and writes exactly the slots, in exactly the order, of the entries it stands for, so
 * the generated code's values and gradients stay bit-identical; only the code is shorter, so
 * V8 optimises it (on-stack replacement inside the first call) and it compiles in
 * microseconds. Recurrences, filters and per-row likelihoods, the traces that dominate model
 * programs, are such loops.
 */

/** How one operand of a loop body entry is read. */
export type LoopOperand =
  | { readonly kind: "slot"; readonly base: number; readonly stride: number }
  /** The same constant in every iteration: the operand code (−(k+1)) of iteration 0. */
  | { readonly kind: "const"; readonly operand: number }
  /** A constant that varies by iteration: column `column` of the loop's table. */
  | { readonly kind: "table"; readonly column: number; readonly plain: boolean }
  | { readonly kind: "none" };

/** A run of entries [start, end) generated as straight-line code. */
export interface StraightRegion {
  readonly kind: "straight";
  readonly start: number;
  readonly end: number;
}

/** Entries [start, start + period·reps) as `reps` iterations of a body of `period` entries. */
export interface LoopRegion {
  readonly kind: "loop";
  readonly start: number;
  readonly period: number;
  readonly reps: number;
  /** Per body position: operands a, b and the result slot. */
  readonly a: readonly LoopOperand[];
  readonly b: readonly LoopOperand[];
  readonly out: readonly LoopOperand[];
  /** Per-iteration constants, row-major: iteration k's column c at k·columns + c. */
  readonly table: Float64Array;
  readonly columns: number;
}

/** A region of a lowered trace. */
export type Region = StraightRegion | LoopRegion;

/** What the rerolling needs of a lowered trace (see replay_scalar.ts). */
export interface RerollInput {
  readonly ops: number;
  readonly code: Int32Array;
  readonly out: Int32Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly K: Float64Array;
  /** A number identifying each entry's op exactly (code, rule, test and outcome). */
  readonly sig: Int32Array;
  /** Which operands an entry with this code has. */
  readonly usesB: (code: number) => boolean;
  readonly hasOut: (code: number) => boolean;
}

/** Longest loop body considered (entries). */
export const MAX_PERIOD = 256;
/** Fewest iterations, and fewest entries, a loop must cover to be kept. */
const MIN_REPS = 3, MIN_ENTRIES = 24;
/** Candidate periods tried at one position (successive later entries with the same op). */
const CANDIDATES = 4;

/**
 * The trace's regions, in order, covering every entry once.
 *
 * @example
 * ```ts
 * rerolled(input).filter((r) => r.kind === "loop").length; // loops found
 * ```
 */
export function rerolled(L: RerollInput): Region[] {
  const n = L.ops, sig = L.sig;
  const next = new Int32Array(n).fill(-1), last = new Map<number, number>();
  for (let i = n - 1; i >= 0; i--) {
    next[i] = last.get(sig[i]) ?? -1;
    last.set(sig[i], i);
  }
  const regions: Region[] = [];
  let straight = 0, i = 0;
  while (i < n) {
    let loop: LoopRegion | null = null;
    for (let j = next[i], c = 0; loop === null && j >= 0 && j - i <= MAX_PERIOD && c < CANDIDATES; c++) {
      const P = j - i;
      if (i + MIN_REPS * P > n) break;
      loop = matchLoop(L, i, P);
      j = next[j];
    }
    if (loop === null) {
      i++;
      continue;
    }
    if (straight < i) regions.push({ kind: "straight", start: straight, end: i });
    regions.push(loop);
    i += loop.period * loop.reps;
    straight = i;
  }
  if (straight < n) regions.push({ kind: "straight", start: straight, end: n });
  return regions;
}

/** Slot operand of entry e (a, b or out), or null when it is a constant or absent. */
function slotOf(L: RerollInput, e: number, which: 0 | 1 | 2): number | null {
  const c = L.code[e];
  if (which === 2) return L.hasOut(c) ? L.out[e] : null;
  if (which === 1 && !L.usesB(c)) return null;
  const p = which === 0 ? L.a[e] : L.b[e];
  return p >= 0 ? p : null;
}

/** The constant operand code of entry e (a or b), or 0 when it is a slot or absent. */
function constOf(L: RerollInput, e: number, which: 0 | 1): number {
  if (which === 1 && !L.usesB(L.code[e])) return 0;
  const p = which === 0 ? L.a[e] : L.b[e];
  return p < 0 ? p : 0;
}

/** The loop of period P starting at i, if at least MIN_REPS iterations match. */
function matchLoop(L: RerollInput, i: number, P: number): LoopRegion | null {
  const { sig } = L, n = L.ops;
  for (let j = 0; j < P; j++) {
    if (sig[i + j] !== sig[i + P + j] || sig[i + j] !== sig[i + 2 * P + j]) return null;
  }
  // Strides from iterations 0 and 1, checked on 2.
  const stride = new Int32Array(3 * P), isSlot = new Uint8Array(3 * P);
  for (let j = 0; j < P; j++) {
    for (const w of [0, 1, 2] as const) {
      const s0 = slotOf(L, i + j, w);
      if (s0 === null) continue;
      const s1 = slotOf(L, i + P + j, w)!, s2 = slotOf(L, i + 2 * P + j, w)!;
      if (s2 - s1 !== s1 - s0) return null;
      isSlot[3 * j + w] = 1;
      stride[3 * j + w] = s1 - s0;
    }
  }
  const matches = (k: number): boolean => {
    const e0 = i + k * P;
    for (let j = 0; j < P; j++) {
      const e = e0 + j;
      if (sig[e] !== sig[i + j]) return false;
      for (const w of [0, 1, 2] as const) {
        if (isSlot[3 * j + w] === 0) continue;
        if (slotOf(L, e, w) !== slotOf(L, i + j, w)! + k * stride[3 * j + w]) return false;
      }
    }
    return true;
  };
  if (!matches(1) || !matches(2)) return null;
  let reps = 3;
  while (i + (reps + 1) * P <= n && matches(reps)) reps++;
  if (reps * P < MIN_ENTRIES) return null;
  // Constants: the same in every iteration (Object.is), or a table column.
  const operands: LoopOperand[][] = [[], [], []];
  const columnsOf: number[][] = [];
  let columns = 0;
  for (let j = 0; j < P; j++) {
    for (const w of [0, 1, 2] as const) {
      if (isSlot[3 * j + w] === 1) {
        operands[w].push({ kind: "slot", base: slotOf(L, i + j, w)!, stride: stride[3 * j + w] });
        continue;
      }
      const c0 = w === 2 ? 0 : constOf(L, i + j, w);
      if (c0 === 0) {
        operands[w].push({ kind: "none" });
        continue;
      }
      const v0 = L.K[-c0 - 1];
      let same = true, plain = true;
      for (let k = 0; k < reps; k++) {
        const v = L.K[-constOf(L, i + k * P + j, w as 0 | 1) - 1];
        if (!Object.is(v, v0)) same = false;
        if (!Number.isFinite(v) || v === 0) plain = false;
      }
      if (same) operands[w].push({ kind: "const", operand: c0 });
      else {
        operands[w].push({ kind: "table", column: columns, plain });
        columnsOf.push([j, w]);
        columns++;
      }
    }
  }
  const table = new Float64Array(reps * columns);
  for (let k = 0; k < reps; k++) {
    for (let c = 0; c < columns; c++) {
      const [j, w] = columnsOf[c];
      table[k * columns + c] = L.K[-constOf(L, i + k * P + j, w as 0 | 1) - 1];
    }
  }
  return {
    kind: "loop",
    start: i,
    period: P,
    reps,
    a: operands[0],
    b: operands[1],
    out: operands[2],
    table,
    columns,
  };
}
