// Element types. float32 is the default (training), float64 is for gradcheck and
// reference numbers, int32 holds labels and indices (it can never require grad).

/** The element type of a tensor; only float tensors can require grad. */
export type DType = 'float32' | 'float64' | 'int32'
/** The storage of a tensor, one array type per DType. */
export type TypedArray = Float32Array | Float64Array | Int32Array

const ctors = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const

/** Whether `name` is a dtype's name. @example isDType('float32') // true */
export function isDType(name: string): name is DType {
  return Object.hasOwn(ctors, name)
}

// Inside a tidy() scope (./tidy.ts), arrays come from the active backend's own memory when it
// has some; tidy() installs the allocator that asks it, and removes it when the last scope ends.
// `zero` false skips zeroing a reused block (for an output a kernel writes in full).
type ResidentAllocator = (dtype: DType, length: number, zero: boolean) => TypedArray | null
let residentAllocator: ResidentAllocator | null = null

/** Install (or with null remove) the allocator tidy() uses; returns the previous one. @internal */
export function setResidentAllocator(f: ResidentAllocator | null): ResidentAllocator | null {
  const previous = residentAllocator
  residentAllocator = f
  return previous
}

/**
 * A new zero-filled array of the dtype for a tensor: in the backend's memory inside tidy()
 * (when the backend has its own), else on the host.
 */
export function allocate(dtype: DType, length: number): TypedArray {
  return residentAllocator?.(dtype, length, true) ?? allocateHost(dtype, length)
}

/**
 * An array for a backend kernel's output, which every kernel writes in full (see backend.ts):
 * like allocate(), but a block of the backend's memory is not zeroed first (zeroing the
 * activations of a ResNet-18 step costs ~10% of the step). On the host it is zero, as always.
 */
export function allocateOutput(dtype: DType, length: number): TypedArray {
  return residentAllocator?.(dtype, length, false) ?? allocateHost(dtype, length)
}

/** A new zero-filled host array of the dtype, for state that outlives a tidy() scope (e.g. a regularizer's snapshot). */
export function allocateHost(dtype: DType, length: number): TypedArray {
  return new ctors[dtype](length)
}

/** The dtype of an existing typed array. */
export function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32'
  if (data instanceof Float64Array) return 'float64'
  if (data instanceof Int32Array) return 'int32'
  throw new Error(`dtypeOf: unsupported array type ${(data as object).constructor?.name}`)
}

export function isFloat(dtype: DType): boolean {
  return dtype !== 'int32'
}

/** Result dtype of a binary op, as PyTorch promotes: int32 < float32 < float64. */
export function promote(a: DType, b: DType): DType {
  if (a === 'float64' || b === 'float64') return 'float64'
  if (a === 'float32' || b === 'float32') return 'float32'
  return 'int32'
}

export function assertDType(value: string): DType {
  if (value === 'float32' || value === 'float64' || value === 'int32') return value
  throw new Error(`dtype: expected 'float32', 'float64' or 'int32', got '${value}'`)
}
