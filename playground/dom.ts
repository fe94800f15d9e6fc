// The few DOM and Worker globals the playground uses, typed here: the project's tsconfig has no
// DOM lib (the library must not lean on browser types), so, as test/browser/entry-page.ts does,
// the page declares only what it touches. Anything not listed here is not used by the page.

/** An event as the page reads it (the fields it uses, all optional but `type`). */
export interface Ev {
  type: string
  target?: unknown
  preventDefault(): void
  data?: unknown
  message?: string
  violatedDirective?: string
  blockedURI?: string
}

/** An element: the properties and methods the page uses. */
export interface El {
  id: string
  textContent: string | null
  innerHTML: string
  className: string
  hidden: boolean
  title: string
  readonly parentElement: El | null
  readonly classList: { add(...c: string[]): void; remove(...c: string[]): void; toggle(c: string, force?: boolean): boolean }
  readonly dataset: Record<string, string | undefined>
  /** CSSOM: `el.style.width = '10px'` is allowed under `style-src 'self'`; a style="" attribute is not. */
  readonly style: Record<string, string>
  addEventListener(type: string, f: (e: Ev) => void): void
  appendChild<T extends El>(child: T): T
  replaceChildren(...children: El[]): void
  setAttribute(name: string, value: string): void
  querySelector<T extends El = El>(selector: string): T | null
}

/** <input>, <select>, <button>: a value and a disabled flag. */
export interface Field extends El {
  value: string
  disabled: boolean
  readonly options?: ArrayLike<Field>
}

/** The 2-D canvas context, only what heatmaps need. */
export interface Ctx2d {
  createImageData(w: number, h: number): { readonly data: Uint8ClampedArray; width: number; height: number }
  putImageData(img: { data: Uint8ClampedArray; width: number; height: number }, x: number, y: number): void
}

/** A WebGL context, only what the renderer check needs. */
export interface GlContext {
  readonly RENDERER: number
  getParameter(p: number): unknown
  getExtension(name: string): unknown
}

/** <canvas> */
export interface Canvas extends El {
  width: number
  height: number
  getContext(kind: '2d'): Ctx2d | null
}

/** The document. */
export interface Doc {
  getElementById<T extends El = El>(id: string): T | null
  createElement<T extends El = El>(tag: string): T
  addEventListener(type: string, f: (e: Ev) => void): void
}

/** A dedicated worker as seen from the page. */
export interface WorkerHandle {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void
  addEventListener(type: 'message' | 'error' | 'messageerror', f: (e: Ev) => void): void
  terminate(): void
}

/** The page's window. */
export interface PageWindow {
  document: Doc
  crossOriginIsolated: boolean
  navigator: { hardwareConcurrency: number; userAgent: string }
  Worker: new (url: string, options: { type: 'module' | 'classic'; name?: string }) => WorkerHandle
  requestAnimationFrame(f: () => void): number
  __playground?: unknown
}

/** A dedicated worker's global scope, as seen from inside it. */
export interface WorkerScope {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void
  addEventListener(type: 'message' | 'securitypolicyviolation', f: (e: Ev) => void): void
  crossOriginIsolated: boolean
  navigator: { hardwareConcurrency: number; userAgent: string }
  location: { href: string }
  /** Absent in browsers without OffscreenCanvas (then GPU.js has no GL in a worker). */
  OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: 'webgl2'): GlContext | null }
}
