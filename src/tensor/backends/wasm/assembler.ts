// A tiny assembler: flat WebAssembly text (one instruction per line, WAT syntax, no folded
// s-expressions) -> a binary module. It knows only the opcodes our kernels use, so the whole
// path from readable source to machine code stays in this repository: no prebuilt .wasm blob,
// no toolchain download. The module imports one memory (shared when threads use it) as env.memory.
//
// Syntax accepted in a function body (`;;` starts a comment):
//   local.get $x | i32.const 16 | f32x4.mul | v128.load offset=16 | call $name
//   block $done ... end | loop $next ... br_if $next | if ... else ... end
//   i8x16.shuffle 0 1 2 3 16 17 18 19 ... (16 byte-lane indices into the two operands)
// Branch targets are written by label name and resolved to relative depths here.

export type ValType = 'i32' | 'f32' | 'f64' | 'v128'

export interface WasmFunc {
  name: string
  params: [string, ValType][]
  locals: [string, ValType][]
  results?: ValType[]
  body: string
  export?: boolean
}

const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b }

// Plain one-byte opcodes without immediates.
const SIMPLE: Record<string, number> = {
  'drop': 0x1a, 'select': 0x1b, 'return': 0x0f, 'else': 0x05, 'end': 0x0b,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49,
  'i32.gt_s': 0x4a, 'i32.gt_u': 0x4b, 'i32.le_s': 0x4c, 'i32.le_u': 0x4d, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.div_s': 0x6d, 'i32.div_u': 0x6e,
  'i32.rem_u': 0x70, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.xor': 0x73, 'i32.shl': 0x74, 'i32.shr_s': 0x75, 'i32.shr_u': 0x76,
  'f32.eq': 0x5b, 'f32.ne': 0x5c, 'f32.lt': 0x5d, 'f32.gt': 0x5e, 'f32.le': 0x5f, 'f32.ge': 0x60,
  'f32.abs': 0x8b, 'f32.neg': 0x8c, 'f32.sqrt': 0x91,
  'f32.add': 0x92, 'f32.sub': 0x93, 'f32.mul': 0x94, 'f32.div': 0x95, 'f32.min': 0x96, 'f32.max': 0x97,
  'f64.add': 0xa0, 'f64.sub': 0xa1, 'f64.mul': 0xa2, 'f64.div': 0xa3, 'f64.sqrt': 0x9f,
  'f32.convert_i32_u': 0xb3, 'f32.demote_f64': 0xb6, 'f64.promote_f32': 0xbb, 'f32.reinterpret_i32': 0xbe,
}

// Loads and stores: opcode and natural alignment (log2 bytes); the SIMD ones carry the 0xfd prefix.
const MEMORY: Record<string, { op: number[]; align: number }> = {
  'i32.load': { op: [0x28], align: 2 },
  'f32.load': { op: [0x2a], align: 2 },
  'f64.load': { op: [0x2b], align: 3 },
  'i32.store': { op: [0x36], align: 2 },
  'f32.store': { op: [0x38], align: 2 },
  'f64.store': { op: [0x39], align: 3 },
  'v128.load': { op: [0xfd, 0x00], align: 4 },
  'v128.load32_splat': { op: [0xfd, 0x09], align: 2 },
  'v128.load64_splat': { op: [0xfd, 0x0a], align: 3 },
  'v128.store': { op: [0xfd, 0x0b], align: 4 },
}

// SIMD arithmetic: 0xfd prefix + LEB128 sub-opcode.
const SIMD: Record<string, number> = {
  'i32x4.splat': 0x11, 'i32x4.add': 0xae,
  'f32x4.eq': 0x41, 'f32x4.ne': 0x42, 'f32x4.lt': 0x43, 'f32x4.gt': 0x44, 'f32x4.le': 0x45, 'f32x4.ge': 0x46,
  'f32x4.abs': 0xe0, 'f32x4.neg': 0xe1, 'f32x4.sqrt': 0xe3, 'f32x4.div': 0xe7,
  'v128.and': 0x4e, 'v128.or': 0x50, 'v128.xor': 0x51, 'v128.bitselect': 0x52,
  'f32x4.splat': 0x13, 'f32x4.add': 0xe4, 'f32x4.sub': 0xe5, 'f32x4.mul': 0xe6, 'f32x4.min': 0xe8, 'f32x4.max': 0xe9,
  'i32x4.eq': 0x37, 'i32x4.lt_s': 0x39, 'i32x4.bitmask': 0xa4, 'i32x4.shl': 0xab, 'i32x4.shr_u': 0xad, 'i32x4.mul': 0xb5,
  'f32x4.nearest': 0x6a, 'i32x4.trunc_sat_f32x4_s': 0xf8, 'f32x4.convert_i32x4_s': 0xfa,
  'f64x2.promote_low_f32x4': 0x5f, 'f32x4.demote_f64x2_zero': 0x5e, 'f64x2.splat': 0x14,
  'f64x2.add': 0xf0, 'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2, 'f64x2.div': 0xf3, 'f64x2.sqrt': 0xef,
}

// SIMD lane accessors: sub-opcode followed by a one-byte lane index.
const LANE: Record<string, { op: number; lanes: number }> = {
  'f32x4.extract_lane': { op: 0x1f, lanes: 4 },
  'f64x2.extract_lane': { op: 0x21, lanes: 2 },
}

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}

function sleb(n: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = n & 0x7f
    n >>= 7
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return out
    }
    out.push(byte | 0x80)
  }
}

function str(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)]
  return [...uleb(bytes.length), ...bytes]
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()]
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body]
}

/** Encode one function body (locals + instructions) from flat WAT text. */
function encodeBody(f: WasmFunc, funcIndex: Map<string, number>): number[] {
  const localIndex = new Map<string, number>()
  for (const [name] of [...f.params, ...f.locals]) localIndex.set(name, localIndex.size)
  const code: number[] = []
  const labels: (string | null)[] = [] // innermost last
  const fail = (line: string, why: string): never => {
    throw new Error(`assemble: function $${f.name}: ${why} in '${line.trim()}'`)
  }
  for (const raw of f.body.split('\n')) {
    const line = raw.replace(/;;.*$/, '').trim()
    if (line === '') continue
    const [op, ...args] = line.split(/\s+/) as [string, ...string[]]
    if (op === 'block' || op === 'loop' || op === 'if') {
      code.push(op === 'block' ? 0x02 : op === 'loop' ? 0x03 : 0x04, 0x40)
      labels.push(args[0]?.startsWith('$') ? args[0] : null)
    } else if (op === 'br' || op === 'br_if') {
      const depth = labels.lastIndexOf(args[0] ?? '')
      if (depth < 0) fail(line, `unknown label ${args[0]}`)
      code.push(op === 'br' ? 0x0c : 0x0d, ...uleb(labels.length - 1 - depth))
    } else if (op === 'local.get' || op === 'local.set' || op === 'local.tee') {
      const idx = localIndex.get((args[0] ?? '').replace(/^\$/, ''))
      if (idx === undefined) fail(line, `unknown local ${args[0]}`)
      code.push(op === 'local.get' ? 0x20 : op === 'local.set' ? 0x21 : 0x22, ...uleb(idx!))
    } else if (op === 'call') {
      const idx = funcIndex.get((args[0] ?? '').replace(/^\$/, ''))
      if (idx === undefined) fail(line, `unknown function ${args[0]}`)
      code.push(0x10, ...uleb(idx!))
    } else if (op === 'i32.const') {
      code.push(0x41, ...sleb(Number(args[0]) | 0))
    } else if (op === 'f64.const') {
      code.push(0x44, ...new Uint8Array(new Float64Array([Number(args[0])]).buffer))
    } else if (op === 'f32.const') {
      const bytes = new Uint8Array(new Float32Array([Number(args[0])]).buffer)
      code.push(0x43, ...bytes)
    } else if (op in LANE) {
      const { op: sub, lanes } = LANE[op]!
      const lane = Number(args[0])
      if (!(Number.isInteger(lane) && lane >= 0 && lane < lanes)) fail(line, `${op} needs a lane index in 0..${lanes - 1}`)
      code.push(0xfd, ...uleb(sub), lane)
    } else if (op === 'i8x16.shuffle') {
      if (args.length !== 16 || args.some((a) => !(Number(a) >= 0 && Number(a) < 32))) fail(line, 'i8x16.shuffle needs 16 lane indices in 0..31')
      code.push(0xfd, ...uleb(0x0d), ...args.map(Number))
    } else if (op === 'v128.const') {
      if (args[0] !== 'i32x4' || args.length !== 5) fail(line, 'only v128.const i32x4 a b c d is supported')
      code.push(0xfd, ...uleb(0x0c), ...new Uint8Array(new Int32Array(args.slice(1).map(Number)).buffer))
    } else if (op === 'memory.fill') {
      code.push(0xfc, ...uleb(11), 0x00)
    } else if (op in MEMORY) {
      const m = MEMORY[op]!
      let offset = 0
      for (const a of args) {
        if (a.startsWith('offset=')) offset = Number(a.slice(7))
        else fail(line, `unexpected immediate ${a}`)
      }
      code.push(...m.op, ...uleb(m.align), ...uleb(offset))
    } else if (op in SIMD) {
      code.push(0xfd, ...uleb(SIMD[op]!))
    } else if (op in SIMPLE) {
      if (op === 'end') {
        if (labels.length === 0) fail(line, 'unmatched end')
        labels.pop()
      }
      code.push(SIMPLE[op]!)
    } else {
      fail(line, `unknown instruction ${op}`)
    }
  }
  if (labels.length !== 0) throw new Error(`assemble: function $${f.name}: ${labels.length} unclosed block(s)`)
  // locals are declared one group per local: simple, and the size cost is negligible
  const locals = vec(f.locals.map(([, t]) => [1, VALTYPE[t]]))
  const body = [...locals, ...code, 0x0b]
  return [...uleb(body.length), ...body]
}

/**
 * Assemble functions into a module that imports its memory as env.memory (`minPages`..`maxPages`),
 * shared (threads) or not (a page that is not cross-origin isolated has no shared memory).
 * @example const bytes = assemble([{ name: 'id', params: [['x', 'i32']], locals: [], results: ['i32'], body: 'local.get $x', export: true }], 1, 1, true)
 */
export function assemble(funcs: WasmFunc[], minPages: number, maxPages: number, shared: boolean): Uint8Array {
  const funcIndex = new Map(funcs.map((f, i) => [f.name, i]))
  const types = funcs.map((f) => [0x60, ...vec(f.params.map(([, t]) => [VALTYPE[t]])), ...vec((f.results ?? []).map((t) => [VALTYPE[t]]))])
  // limits flag: 0x01 = has maximum, 0x03 = has maximum + shared
  const memImport = [...str('env'), ...str('memory'), 0x02, shared ? 0x03 : 0x01, ...uleb(minPages), ...uleb(maxPages)]
  const exports = funcs.filter((f) => f.export).map((f) => [...str(f.name), 0x00, ...uleb(funcIndex.get(f.name)!)])
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...section(1, vec(types)),
    ...section(2, vec([memImport])),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(exports)),
    ...section(10, vec(funcs.map((f) => encodeBody(f, funcIndex)))),
  ]
  return new Uint8Array(bytes)
}
