// Device copies: values a backend keeps where the host cannot read them directly (a GPU.js
// texture), for a tensor whose typed array then serves as the host's side of it.
//
// A tensor always has one typed array (`Tensor.data`), so every op, the optimizer and the
// checkpoint code can name its storage the same way on every backend. A backend whose memory the
// host cannot address (GPU.js on a GPU) attaches its copy to that array here, and then:
// - its kernels read the device copy of an input when there is one, uploading the host array
//   only when there is not, and attach each output to the output array instead of reading it
//   back, so a chain of kernels moves nothing between host and device;
// - the host reads the values on demand: `Tensor.data` first downloads a device copy that is
//   newer than the host array, and drops it, since the caller may write the array (the next
//   kernel uploads it again); `item()`, `toArray()` and printing read without dropping it;
// - a device copy is freed when its array goes back to the backend (tidy() and dispose()),
//   when a kernel writes a new copy over it, or, as a safety net, once the garbage collector
//   frees the array (a FinalizationRegistry in the backend). An upload of a host array made
//   inside a tidy() scope (a batch from the data loader) is freed when the scope ends: the host
//   array still holds the same values, so nothing is lost, and a training loop's batches do not
//   pile up on the device waiting for a garbage collection that a synchronous loop never gives.
// Backends whose memory the host can address (reference, wasm) never attach anything: for them
// every function here is a lookup that finds nothing.
import type { TypedArray } from './dtype.js'

/** A backend's copy of one array's values in its own memory. */
export interface DeviceCopy {
  /** the backend that holds it (errors name it; another backend may not use the copy) */
  readonly backend: string
  /** true when the device copy was written after the host array (reading the host must download) */
  hostStale: boolean
  /** copy the device values into `host` (counted as a download by the backend) */
  download(host: TypedArray): void
  /** free the device memory; the copy must not be used afterwards */
  free(): void
  /** it now belongs to `host` (moveDeviceCopy): the backend's safety net follows it */
  rehome(host: TypedArray): void
}

const copies = new WeakMap<TypedArray, DeviceCopy>()

/** The device copy attached to `host`, if any. */
export function deviceCopyOf(host: TypedArray): DeviceCopy | undefined {
  return copies.get(host)
}

/** Attach `copy` to `host`, freeing the copy it replaces (a kernel wrote the array anew). */
export function attachDeviceCopy(host: TypedArray, copy: DeviceCopy): void {
  const old = copies.get(host)
  if (old !== undefined && old !== copy) old.free()
  copies.set(host, copy)
}

/**
 * Make `host` hold the current values: download a newer device copy into it. With `forWrite`
 * the device copy is then dropped, since the caller may change the host array (the next kernel
 * uploads it again); without, both stay valid.
 */
export function syncHost(host: TypedArray, forWrite: boolean): void {
  const c = copies.get(host)
  if (c === undefined) return
  if (c.hostStale) {
    c.download(host)
    c.hostStale = false
  }
  if (forWrite) {
    copies.delete(host)
    c.free()
  }
}

/** Free the device copy of `host` without reading it back (the array is being given back). */
export function dropDeviceCopy(host: TypedArray): void {
  const c = copies.get(host)
  if (c === undefined) return
  copies.delete(host)
  c.free()
}

// Per open tidy() scope, the uploads made in it (array and the copy the upload attached).
const uploadScopes: [TypedArray, DeviceCopy][][] = []

/** Attach `copy` as an upload of `host` (the two hold the same values), freed when the innermost tidy() scope ends. */
export function attachUpload(host: TypedArray, copy: DeviceCopy): void {
  copy.hostStale = false
  attachDeviceCopy(host, copy)
  uploadScopes[uploadScopes.length - 1]?.push([host, copy])
}

/** tidy() opens a scope of uploads. @internal */
export function openUploadScope(): void {
  uploadScopes.push([])
}

/** tidy() ends one: uploads still unchanged (no kernel wrote their arrays since) are freed. @internal */
export function closeUploadScope(): void {
  for (const [host, copy] of uploadScopes.pop() ?? []) {
    if (copies.get(host) === copy && !copy.hostStale) dropDeviceCopy(host)
  }
}

/** Move the device copy of `from` to `to` (tidy() moving a kept tensor to a host array of its own). */
export function moveDeviceCopy(from: TypedArray, to: TypedArray): void {
  const c = copies.get(from)
  if (c === undefined) return
  copies.delete(from)
  copies.set(to, c)
  c.rehome(to)
}
