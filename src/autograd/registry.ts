// The op registry: every differentiable primitive, by name. The gradcheck suite
// enumerates it, so an op added without a test case makes the suite fail.
import type { OpDef } from './op.js'
import { unaryOps } from './elementwise.js'
import * as ops from './ops/index.js'

/**
 * Every differentiable primitive by name; the gradcheck suite enumerates it, so a new op needs a test case.
 * @example [...opRegistry.keys()].includes('matmul')
 */
export const opRegistry: ReadonlyMap<string, OpDef<any>> = new Map<string, OpDef<any>>(
  [...Object.values(unaryOps), ...Object.values(ops as Record<string, OpDef<any>>)].map((op) => [op.name, op]),
)
