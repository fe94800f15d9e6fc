// Minimal typings for the parts of the WebAssembly JS API we use. The project compiles with
// lib ES2022 only (no DOM lib), which declares no WebAssembly global, so we type it here.

/** A WebAssembly.Memory: its bytes and growth by 64 KiB pages. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike
  /** add pages; returns the old size in pages */
  grow(deltaPages: number): number
}

/** An opaque compiled module (structured-cloneable to workers). */
export interface WasmModule {
  readonly __wasmModule?: never
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>
}

interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory
  Module: new (bytes: Uint8Array) => WasmModule
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance
}

export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
