// Where data moves: the cumulative counters every backend keeps, read with backendStats().
// An upload is one host array copied into the backend's own memory for a kernel (WebAssembly
// memory, a GPU.js texture or GPU.js's WebAssembly heap); a download is one result copied back
// into a host array. A kernel that reads and writes host arrays in place (the reference loops,
// GPU.js's cpu mode, the JavaScript pooling paths) moves nothing and counts only as a call.
// The counters make the cost of the backend seam visible: on GPU.js results stay on the device
// (../device-copy.ts), so only host arrays without a device copy go up and only what the host
// reads comes down; on wasm only host arrays move, since tensors made inside tidy() and weights
// moved with Module.to() live in its memory.

/** Cumulative counters of one backend since it was made; see `backendStats()`. */
export interface BackendStats {
  /** host arrays copied into the backend's memory */
  uploads: number
  /** results copied back into host arrays */
  downloads: number
  uploadBytes: number
  downloadBytes: number
  /** calls of the backend's primitives (elementwise, matmul, conv2d, ...), whatever ran them, fallbacks included */
  kernelCalls: number
  /** blocks of the backend's own memory that tensors hold (tidy() scopes, Module.to() weights); 0 on backends without one */
  liveBuffers: number
}

/**
 * What moved between two readings of backendStats(): `after - before`, field by field.
 * @example const before = backendStats(); step(); statsSince(before, backendStats()).uploads
 */
export function statsSince(before: BackendStats, after: BackendStats): BackendStats {
  const d = { ...after }
  for (const k of Object.keys(d) as (keyof BackendStats)[]) d[k] -= before[k]
  return d
}

/**
 * The counters a backend updates as it runs; `snapshot()` is what `counters()` returns.
 * @example const c = new Counters(); c.kernel(); c.upload(x); c.snapshot().uploads // 1
 */
export class Counters {
  private readonly s: BackendStats = { uploads: 0, downloads: 0, uploadBytes: 0, downloadBytes: 0, kernelCalls: 0, liveBuffers: 0 }

  /** One kernel call. */
  kernel(): void {
    this.s.kernelCalls++
  }

  /** Host arrays copied in (a null, e.g. a missing bias, is skipped). */
  upload(...arrays: (ArrayBufferView | null)[]): void {
    for (const a of arrays) {
      if (a === null) continue
      this.s.uploads++
      this.s.uploadBytes += a.byteLength
    }
  }

  /** Results copied out into host arrays. */
  download(...arrays: ArrayBufferView[]): void {
    for (const a of arrays) {
      this.s.downloads++
      this.s.downloadBytes += a.byteLength
    }
  }

  /** A copy of the counters. */
  snapshot(): BackendStats {
    return { ...this.s }
  }
}
