/**
 * The core language the expander produces and the compiler consumes: a dozen node
 * kinds, each carrying the span of the source form it came from. Derived forms
 * (let*, cond, case, do, named let, …) never appear here.
 */
import type { Span } from "../errors.ts";
import type { Datum } from "../read/datum.ts";

/** A literal that is not a parameter: number, boolean, string, or the unspecified value. */
export interface ConstNode {
  readonly k: "const";
  readonly value: number | boolean | string | "unspecified";
  readonly span: Span;
}
/** A decimal literal of a model program: parameter number `index`. */
export interface ParamNode {
  readonly k: "param";
  readonly index: number;
  readonly span: Span;
}
/** `(quote datum)`; decimal literals inside are parameters when `params` maps them. */
export interface QuoteNode {
  readonly k: "quote";
  readonly datum: Datum;
  readonly span: Span;
}
/** A variable reference. */
export interface RefNode {
  readonly k: "ref";
  readonly name: string;
  readonly span: Span;
}
/** `(set! name value)`. */
export interface SetNode {
  readonly k: "set";
  readonly name: string;
  readonly value: Node;
  readonly span: Span;
}
/** A top-level `(define name value)`. */
export interface DefineNode {
  readonly k: "define";
  readonly name: string;
  readonly value: Node;
  readonly span: Span;
}
/** `(if test then else)`; a missing else gives the unspecified value. */
export interface IfNode {
  readonly k: "if";
  readonly test: Node;
  readonly then: Node;
  readonly else: Node | null;
  readonly span: Span;
}
/** `(lambda (params … . rest) body)`. `name` is the variable it is bound to, for messages. */
export interface LambdaNode {
  readonly k: "lambda";
  readonly params: readonly string[];
  readonly rest: string | null;
  readonly body: Node;
  readonly name: string | null;
  readonly span: Span;
}
/** `(begin e …)` with at least one expression. */
export interface BeginNode {
  readonly k: "begin";
  readonly body: readonly Node[];
  readonly span: Span;
}
/** Parallel `let`: values evaluated left to right outside the new scope. */
export interface LetNode {
  readonly k: "let";
  readonly names: readonly string[];
  readonly values: readonly Node[];
  readonly body: Node;
  readonly span: Span;
}
/** `letrec*`: names in scope for all values, initialised left to right. */
export interface LetrecNode {
  readonly k: "letrec";
  readonly names: readonly string[];
  readonly values: readonly Node[];
  readonly body: Node;
  readonly span: Span;
}
/** A procedure call. */
export interface CallNode {
  readonly k: "call";
  readonly fn: Node;
  readonly args: readonly Node[];
  readonly span: Span;
}
/** A call of a primitive by name that the user cannot shadow (made by expansions such as `case`). */
export interface PrimCallNode {
  readonly k: "primcall";
  readonly prim: string;
  readonly args: readonly Node[];
  readonly span: Span;
}

/** Any core node. */
export type Node =
  | ConstNode
  | ParamNode
  | QuoteNode
  | RefNode
  | SetNode
  | DefineNode
  | IfNode
  | LambdaNode
  | BeginNode
  | LetNode
  | LetrecNode
  | CallNode
  | PrimCallNode;

/**
 * The direct subnodes of a node, in evaluation order: the one walker of the core
 * language, so a new node kind is taught to every traversal at once.
 *
 * @example
 * ```ts
 * const visit = (n: Node): void => { console.log(n.k); children(n).forEach(visit); };
 * ```
 */
export function children(n: Node): readonly Node[] {
  switch (n.k) {
    case "set":
    case "define":
      return [n.value];
    case "if":
      return n.else ? [n.test, n.then, n.else] : [n.test, n.then];
    case "lambda":
      return [n.body];
    case "begin":
      return n.body;
    case "let":
    case "letrec":
      return [...n.values, n.body];
    case "call":
      return [n.fn, ...n.args];
    case "primcall":
      return n.args;
    case "const":
    case "param":
    case "quote":
    case "ref":
      return [];
  }
}
