/**
 * Reading an LLM's reply into a candidate program: SEARCH/REPLACE blocks applied to the parent
 * text as shown in the prompt, or else a full rewrite in a fenced ```scheme block (or a bare
 * program); `<think>` sections are skipped. The result passes the proposers' checks (wellformed.ts: the reader, unbound names,
 * arity, size). Every failure is an error value whose message names the place: a reply line for
 * a block that is malformed or does not apply, the reader's `line:col` in the candidate for a
 * program that does not read or check, each with the offending line quoted.
 */
import { DmciError } from "../../errors.ts";
import type { TaskInfo } from "../types.ts";
import { DIFF_MARKERS } from "./llm_prompt.ts";
import { checkProgram, describeError } from "./wellformed.ts";

/** The file name errors give for the reply itself. */
export const REPLY_FILE = "reply";
/** The file name errors give for the candidate program the reply makes. */
export const CANDIDATE_FILE = "candidate.scm";

/** One SEARCH/REPLACE block of a reply. */
export interface DiffBlock {
  readonly search: string;
  readonly replace: string;
  /** 1-based line of the reply where the block starts. */
  readonly line: number;
}

/** A reply read into a program text, with how it was made. */
export interface ReadReply {
  readonly text: string;
  /** `llm rewrite` or `llm diff (N blocks)`. */
  readonly edit: string;
}

/**
 * Reads a reply into a checked candidate program, or an error naming the place at fault.
 *
 * @param reply the model's message
 * @param base the parent text the prompt showed (what SEARCH blocks must match)
 *
 * @example
 * ```ts
 * const task = { inputs: ["x"], allowedPrimitives: ["*", "+"], maxComplexity: 20 };
 * readReply("```scheme\n(* 2.0 x)\n```", "(* 1.0 x)", task); // { text: "(* 2.0 x)\n", edit: "llm rewrite" }
 * readReply("```scheme\n(* 2.0 x\n```", "(* 1.0 x)", task).error; // "candidate.scm:1:1: …"
 * ```
 */
export function readReply(
  reply: string,
  base: string,
  task: Pick<TaskInfo, "inputs" | "allowedPrimitives" | "maxComplexity">,
): ReadReply | { error: string } {
  let made: ReadReply;
  try {
    made = programOf(withoutThinking(reply.replace(/\r\n?/g, "\n")), base.replace(/\r\n?/g, "\n"));
  } catch (e) {
    return { error: describeError(e) + quote(reply, e) };
  }
  if (made.text.trim() === base.trim()) {
    return { error: `${REPLY_FILE}:1:1: the reply leaves the parent program unchanged` };
  }
  try {
    checkProgram(made.text, CANDIDATE_FILE, task);
  } catch (e) {
    return { error: describeError(e) + quote(made.text, e) };
  }
  return made;
}

/**
 * The reply without the `<think>…</think>` sections some reasoning models put in their content
 * (their drafts are not the answer), each replaced by as many newlines so reply lines keep their numbers.
 */
export function withoutThinking(reply: string): string {
  return reply.replace(/<think>[\s\S]*?(<\/think>|$)/g, (m) => "\n".repeat(m.split("\n").length - 1));
}

/** The candidate text of a reply: its diff applied, else its program block. Throws located errors. */
function programOf(reply: string, base: string): ReadReply {
  const blocks = diffBlocks(reply);
  if (blocks.length > 0) {
    const n = blocks.length;
    return { text: applyDiff(base, blocks), edit: `llm diff (${n} block${n === 1 ? "" : "s"})` };
  }
  const code = programBlock(reply);
  if (code === null) {
    throw at(1, "the reply holds neither a ```scheme block nor SEARCH/REPLACE blocks");
  }
  return { text: code, edit: "llm rewrite" };
}

/**
 * The SEARCH/REPLACE blocks of a reply, in order (none when it has no SEARCH marker).
 * Throws a located error for a block that is not closed.
 */
export function diffBlocks(reply: string): DiffBlock[] {
  const lines = reply.split("\n");
  const blocks: DiffBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    if (!isSearchMarker(lines[i])) {
      i++;
      continue;
    }
    const start = i + 1;
    let j = i + 1;
    while (j < lines.length && !isDivider(lines[j])) j++;
    if (j === lines.length) throw at(start, `the SEARCH block has no ${DIFF_MARKERS.divider} line`);
    let k = j + 1;
    while (k < lines.length && !isReplaceMarker(lines[k])) k++;
    if (k === lines.length) throw at(start, `the SEARCH block is not closed by ${DIFF_MARKERS.replace}`);
    blocks.push({
      search: lines.slice(i + 1, j).join("\n"),
      replace: lines.slice(j + 1, k).join("\n"),
      line: start,
    });
    i = k + 1;
  }
  return blocks;
}

function isSearchMarker(line: string): boolean {
  return /^\s*<{5,}\s*SEARCH\s*$/.test(line);
}

function isDivider(line: string): boolean {
  return /^\s*={5,}\s*$/.test(line);
}

function isReplaceMarker(line: string): boolean {
  return /^\s*>{5,}\s*REPLACE\s*$/.test(line);
}

/**
 * Applies SEARCH/REPLACE blocks in order. A SEARCH text must occur exactly once in the text
 * so far: as written, or else line by line ignoring leading and trailing blanks. Throws a
 * located error (the block's reply line) for one that matches nowhere or more than once.
 *
 * @example
 * ```ts
 * applyDiff("(+ 1.0\n   x)", [{ search: "(+ 1.0", replace: "(* 2.0", line: 1 }]); // "(* 2.0\n   x)"
 * ```
 */
export function applyDiff(base: string, blocks: readonly DiffBlock[]): string {
  let text = base;
  blocks.forEach((b, n) => {
    const which = `SEARCH/REPLACE block ${n + 1}`;
    if (b.search.trim() === "") throw at(b.line, `${which} has an empty SEARCH part`);
    const exact = occurrences(text, b.search);
    if (exact.length === 1) {
      text = text.slice(0, exact[0]) + b.replace + text.slice(exact[0] + b.search.length);
      return;
    }
    if (exact.length > 1) {
      throw at(
        b.line,
        `${which} does not apply: its SEARCH text occurs ${exact.length} times; make it unique`,
      );
    }
    const loose = looseMatches(text, b.search);
    if (loose.length !== 1) {
      const first = JSON.stringify(b.search.trim().split("\n")[0]);
      const why = loose.length === 0
        ? `its SEARCH text (first line ${first}) is not in the parent program`
        : `its SEARCH text occurs ${loose.length} times; make it unique`;
      throw at(b.line, `${which} does not apply: ${why}`);
    }
    const lines = text.split("\n");
    const [from, to] = loose[0];
    text = [...lines.slice(0, from), b.replace, ...lines.slice(to)].join("\n");
  });
  return text;
}

function occurrences(text: string, part: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) out.push(i);
  return out;
}

/** Line ranges [from, to) of `text` equal to the lines of `part` up to leading and trailing blanks. */
function looseMatches(text: string, part: string): [number, number][] {
  const lines = text.split("\n").map((l) => l.trim());
  const want = part.trim().split("\n").map((l) => l.trim());
  const out: [number, number][] = [];
  for (let i = 0; i + want.length <= lines.length; i++) {
    if (want.every((w, j) => lines[i + j] === w)) out.push([i, i + want.length]);
  }
  return out;
}

/**
 * The program of a full rewrite: the last fenced block tagged scheme (or scm, lisp, racket),
 * else the last untagged fenced block, else the whole reply when it starts like a program;
 * null when there is none. Throws a located error for a block that is never closed.
 */
export function programBlock(reply: string): string | null {
  const lines = reply.split("\n");
  let tagged: string | null = null;
  let untagged: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*(`{3,}|~{3,})\s*([\w+-]*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    let j = i + 1;
    while (j < lines.length && lines[j].trim() !== fence) j++;
    if (j === lines.length) {
      throw at(i + 1, `the ${fence}${open[2]} block opened here is not closed (was the reply cut off?)`);
    }
    const body = lines.slice(i + 1, j).join("\n") + "\n";
    const tag = open[2].toLowerCase();
    if (["scheme", "scm", "lisp", "racket"].includes(tag)) tagged = body;
    else if (tag === "") untagged = body;
    i = j;
  }
  if (tagged !== null || untagged !== null) return tagged ?? untagged;
  const trimmed = reply.trim();
  return trimmed.startsWith("(") || trimmed.startsWith(";") ? trimmed + "\n" : null;
}

function at(line: number, message: string): DmciError {
  return new DmciError("syntax", message, { file: REPLY_FILE, line, col: 1 });
}

/** The line an error points at, with a caret under its column (empty when it has no position). */
function quote(text: string, e: unknown): string {
  if (!(e instanceof DmciError) || !e.span) return "";
  const line = text.replace(/\r\n?/g, "\n").split("\n")[e.span.line - 1];
  if (line === undefined) return "";
  const gutter = `${e.span.line} | `;
  return `\n    ${gutter}${line}\n    ${" ".repeat(gutter.length + e.span.col - 1)}^`;
}
