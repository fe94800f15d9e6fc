// Top-k selection in linear expected time: the mask of one sampling experiment keeps the k
// entries with the largest P' (spec step 3), ties broken by lower index so the mask is a
// deterministic function of P'. Quickselect finds the k-th largest value v on a scratch copy;
// one pass over P' in index order then keeps every entry > v and the first entries == v.
// NOTE: the partition is three-way (< pivot, == pivot, > pivot), so long runs of equal values
// (zero weights give equal scores) cost one pass instead of a quadratic series of splits; after
// 2*log2(n) + 8 rounds without convergence the rest of the range is sorted (introselect), which
// caps the worst case at O(n log n).

/**
 * The k-th largest of `values[0..n)` (k = 1 is the maximum), found on `scratch` (clobbered).
 * @example kthLargest(Float64Array.of(3, 1, 2), 3, 2, new Float64Array(3)) // 2
 */
export function kthLargest(values: ArrayLike<number>, n: number, k: number, scratch: Float64Array): number {
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new Error(`kthLargest: k must be an integer in [1, ${n}], got ${k}`)
  if (scratch.length < n) throw new Error(`kthLargest: scratch has ${scratch.length} slots, needs ${n}`)
  if (values instanceof Float64Array) scratch.set(values.subarray(0, n))
  else for (let i = 0; i < n; i++) scratch[i] = values[i]!
  return quickselect(scratch, n, n - k)
}

/** Leaves a[target] = the target-th smallest (0-based) of a[0..n), the array partly ordered. */
function quickselect(a: Float64Array, n: number, target: number): number {
  let lo = 0
  let hi = n - 1
  let budget = 2 * Math.ceil(Math.log2(n + 1)) + 8
  while (hi > lo) {
    if (budget-- === 0) {
      a.subarray(lo, hi + 1).sort()
      return a[target]!
    }
    const pivot = medianOf3(a[lo]!, a[(lo + hi) >>> 1]!, a[hi]!)
    // Dutch-flag partition of [lo, hi]: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot.
    let lt = lo
    let i = lo
    let gt = hi
    while (i <= gt) {
      const v = a[i]!
      if (v < pivot) {
        a[i] = a[lt]!
        a[lt] = v
        lt++
        i++
      } else if (v > pivot) {
        a[i] = a[gt]!
        a[gt] = v
        gt--
      } else {
        i++
      }
    }
    if (target < lt) hi = lt - 1
    else if (target > gt) lo = gt + 1
    else return pivot
  }
  return a[target]!
}

function medianOf3(x: number, y: number, z: number): number {
  if (x < y) return y < z ? y : x < z ? z : x
  return x < z ? x : y < z ? z : y
}

/**
 * Write the indices of the k largest of `values[0..n)` into `out` from `outStart`, in increasing
 * index order (equal values: lower index first). Returns k. `scratch` needs n slots.
 * (The dynamic prior's large tensors first narrow the candidates; see dynamic-prior-sampling.ts.)
 * @example selectTopK(Float64Array.of(1, 5, 5, 2), 4, 2, scratch, out, 0) // out = [1, 2]
 */
export function selectTopK(values: Float64Array, n: number, k: number, scratch: Float64Array, out: Int32Array, outStart: number): number {
  const v = kthLargest(values, n, k, scratch)
  let greater = 0
  for (let i = 0; i < n; i++) if (values[i]! > v) greater++
  let equalLeft = k - greater
  let w = outStart
  for (let i = 0; i < n; i++) {
    const x = values[i]!
    if (x > v) out[w++] = i
    else if (x === v && equalLeft > 0) {
      out[w++] = i
      equalLeft--
    }
  }
  return k
}

/**
 * The paper's absolute rule I_j = [values_j > threshold]: write the indices that pass into `out`
 * from `outStart` (growing `out` when it is too small) and return the new array and the count.
 * @example selectAbove(Float64Array.of(0.1, 0.6), 2, 0.5, out, 0) // { out, count: 1 }
 */
export function selectAbove(values: Float32Array | Float64Array, n: number, threshold: number, out: Int32Array, outStart: number): { out: Int32Array; count: number } {
  let count = 0
  for (let i = 0; i < n; i++) if (values[i]! > threshold) count++
  if (outStart + count > out.length) {
    const grown = new Int32Array(Math.max(outStart + count, 2 * out.length))
    grown.set(out.subarray(0, outStart))
    out = grown
  }
  let w = outStart
  for (let i = 0; i < n; i++) if (values[i]! > threshold) out[w++] = i
  return { out, count }
}

const HISTOGRAM_BITS = 11
/** Bins of the histogram of {@link kthLargestF32Bits} (and {@link selectTopKF32}). */
export const HISTOGRAM_BINS = 2 ** HISTOGRAM_BITS

/** The k-th largest key of {@link kthLargestF32Bits}, its ties among the k largest, and the optional second rank's bound. */
export interface KthKey {
  /** the bits of the k-th largest value */
  key: number
  /** how many of the keys equal to `key` belong to the k largest */
  need: number
  /**
   * with `boundRank` r in [1, n]: a key <= the r-th largest key, with about r keys (at most one
   * histogram bin more) at or above it; 0 otherwise
   */
  boundKey: number
}

/**
 * The k-th largest of n non-negative float32 values given as their bit patterns (`keys`, an
 * Int32Array view: the bits of such floats sort like the values), by radix selection: histograms
 * of the bits narrow the range of the k-th largest by up to 11 bits per pass (fewer bins for
 * fewer keys); after the first pass the few keys left in range are copied to `scratch` (n slots)
 * and narrowed there. `boundRank`, if given, also reads a bound for that rank off the first
 * histogram (the lower edge of the bin holding the boundRank-th largest), at no extra pass.
 * `histogram` needs HISTOGRAM_BINS slots; `op` names the caller in errors.
 * @example kthLargestF32Bits(new Int32Array(Float32Array.of(1, 5, 5, 2).buffer), 4, 2, hist, scratch) // { key: bits of 5, need: 1, boundKey: 0 }
 */
export function kthLargestF32Bits(keys: Int32Array, n: number, k: number, histogram: Uint32Array, scratch: Int32Array, op = 'kthLargestF32Bits', boundRank = 0): KthKey {
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new Error(`${op}: k must be an integer in [1, ${n}], got ${k}`)
  let lo = 0x7fffffff
  let hi = 0
  for (let i = 0; i < n; i++) {
    const x = keys[i]!
    if (x < lo) lo = x
    if (x > hi) hi = x
  }
  if (hi >= 0x7f800000 || lo < 0) throw new Error(`${op}: values must be finite and non-negative (found bits 0x${(lo < 0 ? lo >>> 0 : hi).toString(16)})`)
  // ~n bins (at least 16, at most HISTOGRAM_BINS): filling and scanning the bins costs no more than the keys
  const bits = Math.min(HISTOGRAM_BITS, Math.max(4, 32 - Math.clz32(n)))
  const wantBound = boundRank >= 1 && boundRank <= n
  // (all keys equal: no histogram, and the bound is that key)
  let boundKey = wantBound && lo === hi ? lo : 0
  // invariant: the k-th largest key is in [lo, hi], and it is the need-th largest of the keys there
  let need = k
  let src = keys
  let m = n
  while (hi > lo) {
    const shift = Math.max(0, 32 - Math.clz32(hi - lo) - bits)
    const top = (hi - lo) >>> shift
    histogram.fill(0, 0, top + 1)
    for (let i = 0; i < m; i++) {
      const x = src[i]!
      if (x >= lo && x <= hi) histogram[(x - lo) >>> shift]!++
    }
    if (src === keys && wantBound) {
      let b = top + 1
      let above = 0
      while (above < boundRank) above += histogram[--b]!
      boundKey = lo + (b << shift)
    }
    let b = top + 1
    let above = 0
    while (above + histogram[--b]! < need) above += histogram[b]!
    need -= above
    lo += b << shift
    hi = Math.min(hi, lo + 2 ** shift - 1)
    if (src === keys && hi > lo) {
      // keep only the keys still in range
      let c = 0
      for (let i = 0; i < m; i++) {
        const x = keys[i]!
        if (x >= lo && x <= hi) scratch[c++] = x
      }
      src = scratch
      m = c
    }
  }
  return { key: lo, need, boundKey }
}

/**
 * {@link selectTopK} for non-negative float32 values (no -0, no NaN): the k-th largest by
 * {@link kthLargestF32Bits} (radix selection, instead of a quickselect), then one pass writes the
 * positions of the k largest to `out` from `outStart` in increasing order, ties to the lower
 * position; returns k. `histogram` needs HISTOGRAM_BINS slots, `scratch` n.
 * @example selectTopKF32(Float32Array.of(1, 5, 5, 2), 4, 2, out, 0, new Uint32Array(HISTOGRAM_BINS), new Int32Array(4)) // out = [1, 2]
 */
export function selectTopKF32(values: Float32Array, n: number, k: number, out: Int32Array, outStart: number, histogram: Uint32Array, scratch: Int32Array): number {
  // (non-negative floats have bit patterns below 2^31: an Int32Array view keeps them small integers)
  const keys = new Int32Array(values.buffer, values.byteOffset, n)
  return keepTopK(keys, n, kthLargestF32Bits(keys, n, k, histogram, scratch, 'selectTopKF32'), out, outStart)
}

/**
 * Given the k-th largest of {@link kthLargestF32Bits}, write the k largest of the n keys to `out`
 * from `outStart` in increasing position, ties to the lower position: each as its position i, or
 * as `labels[i]` when given. Returns k.
 * @example keepTopK(keys, n, kthLargestF32Bits(keys, n, k, hist, scratch), out, 0, entries)
 */
export function keepTopK(keys: Int32Array, n: number, kth: KthKey, out: Int32Array, outStart: number, labels?: Int32Array): number {
  const lo = kth.key
  let need = kth.need
  // keys > lo are all in; of the keys == lo, the first `need`
  let w = outStart
  if (labels) {
    for (let i = 0; i < n; i++) {
      const x = keys[i]!
      if (x > lo || (x === lo && need-- > 0)) out[w++] = labels[i]!
    }
  } else {
    for (let i = 0; i < n; i++) {
      const x = keys[i]!
      if (x > lo || (x === lo && need-- > 0)) out[w++] = i
    }
  }
  return w - outStart
}
