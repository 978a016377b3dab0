/**
 * The program database: on each island a MAP-Elites grid whose cells are (complexity bin ×
 * behaviour bin) and hold the best-scoring program that fell in them; periodic migration of each
 * island's best to the next island (a ring); sampling of parents (elitist, tournament, or
 * uniform over the island's elites) and inspirations; deduplication by the program's shape with
 * constants abstracted; the Pareto front of complexity against score over every accepted program.
 * Plain data in and out (it serialises to JSON for checkpoints); it evaluates nothing.
 */
import type { ScoredProgram } from "./types.ts";

/** An accepted program as the database keeps it. */
export interface Entry extends ScoredProgram {
  /** The behaviour descriptor (distinct primitives called). */
  readonly behaviour: number;
  /** The history index (1-based) of its evaluation. */
  readonly n: number;
}

/** The grid's shape. */
export interface GridShape {
  readonly islands: number;
  readonly complexityBins: number;
  readonly behaviourBins: number;
  readonly maxComplexity: number;
}

/** The database as JSON (checkpoints). */
export interface DatabaseSnapshot {
  readonly entries: Entry[];
  /** Per island, cell key → entry id. */
  readonly grids: [string, string][][];
  readonly shapes: [string, string][];
}

/** A sampled parent and its inspirations. */
export interface Sample {
  readonly parent: Entry;
  readonly inspirations: Entry[];
}

/**
 * The database.
 *
 * @example
 * ```ts
 * const db = new Database({ islands: 2, complexityBins: 8, behaviourBins: 6, maxComplexity: 60 });
 * db.add(entry, 0); // true when it took a cell of island 0
 * db.best()?.score;
 * ```
 */
export class Database {
  private readonly entries = new Map<string, Entry>();
  private readonly grids: Map<string, string>[];
  /** Shape key → id of the first candidate of that shape (accepted or not). */
  private readonly shapes = new Map<string, string>();

  constructor(readonly shape: GridShape) {
    this.grids = Array.from({ length: shape.islands }, () => new Map());
  }

  /** The grid cell of a program: complexity bin and behaviour bin. */
  cellOf(e: Pick<Entry, "complexity" | "behaviour">): string {
    const s = this.shape;
    const c = Math.min(
      s.complexityBins - 1,
      Math.floor((e.complexity / (s.maxComplexity + 1)) * s.complexityBins),
    );
    const b = Math.min(s.behaviourBins - 1, Math.max(0, e.behaviour - 1));
    return `${c},${b}`;
  }

  /** The id of the first candidate of this shape, if there was one. */
  firstOfShape(shapeKey: string): string | null {
    return this.shapes.get(shapeKey) ?? null;
  }

  /** Notes that candidate `id` has this shape (the first one of a shape is kept). */
  noteShape(shapeKey: string, id: string): void {
    if (!this.shapes.has(shapeKey)) this.shapes.set(shapeKey, id);
  }

  /** Adds an accepted program to an island's grid; true when it took (or won) its cell. */
  add(e: Entry, island: number): boolean {
    if (e.score === null) return false;
    if (!this.entries.has(e.id)) this.entries.set(e.id, e);
    const grid = this.grids[island];
    const cell = this.cellOf(e);
    const held = grid.get(cell);
    if (held !== undefined && this.entries.get(held)!.score! <= e.score) return false;
    grid.set(cell, e.id);
    return true;
  }

  /** The elites of an island, in cell order (deterministic). */
  elites(island: number): Entry[] {
    return [...this.grids[island].entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, id]) => this.entries.get(id)!);
  }

  /** Every accepted program, in order of evaluation. */
  all(): Entry[] {
    return [...this.entries.values()].sort((a, b) => a.n - b.n);
  }

  /** The best accepted program (lowest score; the earlier on ties). */
  best(): Entry | null {
    let best: Entry | null = null;
    for (const e of this.entries.values()) {
      if (best === null || e.score! < best.score! || (e.score === best.score && e.n < best.n)) best = e;
    }
    return best;
  }

  /** The worst score among all islands' elites (null when empty). */
  worstElite(): number | null {
    const scores = this.grids.flatMap((_, i) => this.elites(i).map((e) => e.score!));
    return scores.length ? Math.max(...scores) : null;
  }

  /**
   * A parent from `island` and up to `k` inspirations: half the time the island's best
   * (elitism), a fifth a tournament of three, else a uniform draw; inspirations are the island's
   * best others and one elite of another island.
   */
  sample(island: number, rand: () => number, k = 3): Sample | null {
    let elites = this.elites(island);
    if (elites.length === 0) elites = this.all();
    if (elites.length === 0) return null;
    const byScore = [...elites].sort((a, b) => a.score! - b.score! || a.n - b.n);
    const r = rand();
    let parent: Entry;
    if (r < 0.5) parent = byScore[0];
    else if (r < 0.7) {
      const picks = [0, 1, 2].map(() => elites[Math.floor(rand() * elites.length)]);
      parent = picks.reduce((a, b) => (b.score! < a.score! ? b : a));
    } else parent = elites[Math.floor(rand() * elites.length)];
    const inspirations = byScore.filter((e) => e.id !== parent.id).slice(0, Math.max(0, k - 1));
    const others = this.grids.flatMap((_, i) => (i === island ? [] : this.elites(i)))
      .filter((e) => e.id !== parent.id && !inspirations.includes(e));
    if (others.length) inspirations.push(others[Math.floor(rand() * others.length)]);
    return { parent, inspirations };
  }

  /** Copies each island's best into the next island (a ring). */
  migrate(): void {
    const bests = this.grids.map((_, i) =>
      this.elites(i).reduce<Entry | null>((a, e) => (a === null || e.score! < a.score! ? e : a), null)
    );
    bests.forEach((b, i) => {
      if (b) this.add(b, (i + 1) % this.grids.length);
    });
  }

  /** The Pareto front of (complexity, score): each program no simpler one beats or equals. */
  pareto(): Entry[] {
    const sorted = this.all().sort((a, b) => a.complexity - b.complexity || a.score! - b.score! || a.n - b.n);
    const front: Entry[] = [];
    for (const e of sorted) {
      if (front.length === 0 || e.score! < front[front.length - 1].score!) {
        if (front.length && front[front.length - 1].complexity === e.complexity) continue;
        front.push(e);
      }
    }
    return front;
  }

  /** The database as JSON. */
  snapshot(): DatabaseSnapshot {
    return {
      entries: this.all(),
      grids: this.grids.map((g) => [...g.entries()]),
      shapes: [...this.shapes.entries()],
    };
  }

  /** A database from its snapshot. */
  static restore(shape: GridShape, s: DatabaseSnapshot): Database {
    const db = new Database(shape);
    for (const e of s.entries) db.entries.set(e.id, e);
    s.grids.forEach((g, i) => g.forEach(([cell, id]) => db.grids[i].set(cell, id)));
    for (const [k, id] of s.shapes) db.shapes.set(k, id);
    return db;
  }
}
