/**
 * The f64 backend's parameter boundary, shared by the untraced run (mod.ts) and the traced one
 * (trace/stage.ts): parameters in as tape leaves or constants, the value and gradients out.
 */
import { DmciError } from "../../errors.ts";
import type { ParamValue, TensorData } from "../backend.ts";
import { checkSize, describe, fmtShape, shapeArg, sizeOf } from "./ops.ts";
import { leaf, Node, SCALAR, tensorConst } from "./tape.ts";

/** Checks a tensor parameter (or data input: `what`) — shape, element count, size limit — and returns its shape. */
export function paramShape(p: TensorData, i: number, max: number, what = "parameter"): number[] {
  const shape = shapeArg(`${what} ${i}`, p.shape);
  checkSize(`${what} ${i}`, shape, max);
  if (!(p.data instanceof Float64Array) || p.data.length !== sizeOf(shape)) {
    throw new DmciError(
      "type",
      `${what} ${i}: shape ${fmtShape(shape)} needs ${sizeOf(shape)} elements, got ${
        p.data instanceof Float64Array ? p.data.length : describe(p.data)
      }`,
    );
  }
  return shape;
}

/** A parameter as a leaf of the active tape (data copied: the caller may reuse its buffer). */
export function paramLeaf(p: ParamValue, i: number, max: number): Node {
  if (typeof p === "number") return leaf(SCALAR, p, null);
  const shape = paramShape(p, i, max);
  return shape.length === 0 ? leaf(SCALAR, p.data[0], null) : leaf(shape, 0, p.data.slice());
}

/** The value of f's result as a number, or the type error the interface prescribes. */
export function scalarValue(y: unknown): number {
  if (typeof y === "number") return y;
  if (y instanceof Node) {
    if (y.data === null) return y.v;
    if (y.data.length === 1) return y.data[0];
  }
  throw new DmciError(
    "type",
    `value-and-gradient: the program's value must be a real scalar, got ${describe(y)}`,
  );
}

/** A parameter as a constant (scalars as plain numbers), for runs without a tape. */
export function paramConst(p: ParamValue, i: number, max: number): unknown {
  if (typeof p === "number") return p;
  const shape = paramShape(p, i, max);
  return shape.length === 0 ? p.data[0] : tensorConst(shape, p.data.slice());
}

/** The gradient of each parameter from its leaf, in the parameter's own form. */
export function leafGrads(leaves: readonly Node[], theta: readonly ParamValue[]): ParamValue[] {
  return leaves.map((l, i): ParamValue => {
    const p = theta[i];
    if (typeof p === "number") return l.g;
    if (l.data === null) return { shape: [], data: Float64Array.of(l.g) };
    return { shape: l.shape.slice(), data: l.gd ?? new Float64Array(l.data.length) };
  });
}

/** Seeds the gradient of a tracked scalar result with 1. */
export function seed(y: Node): void {
  if (y.data === null) y.g = 1;
  else y.gd = Float64Array.of(1);
}

/**
 * A data input of a staged call as a constant node (shape and elements checked). Its elements are
 * not copied: no f64 op writes into a node's data, and a trace keeps no reference to them (guards
 * and auxiliary outputs copy what they keep), so each call reads the caller's buffer as it is then.
 */
export function dataConst(d: TensorData, i: number, max: number): Node {
  return tensorConst(paramShape(d, i, max, "data input"), d.data);
}
