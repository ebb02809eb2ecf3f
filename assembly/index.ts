import { A, B } from "../src/layout";
export function f(x: i32): i32 { return load<i32>(x, A) + B; }
