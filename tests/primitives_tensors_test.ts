/**
 * Values and gradients of the tensor and linear-algebra primitives on the f64 and tfjs backends
 * (cases in tests/primitives_cases.ts): every value case runs with its decimal literals as
 * constants and as tracked parameters; every gradient case is checked against float64
 * central differences.
 */
import { GRAD_CASES, VALUE_CASES } from "./primitives_cases.ts";
import { registerPrimitiveTests } from "./primitives_harness.ts";

registerPrimitiveTests("primitives_tensors_test.ts", VALUE_CASES, GRAD_CASES);
