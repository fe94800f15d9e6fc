// Which GPU.js mode really runs, and whether it is a hardware GPU.
// GPU.js degrades silently: without an X display headless-gl falls back to WebAssembly, and a
// kernel that fails to compile falls back to its CPU kernel. So the mode is read from the
// kernel class that GPU.js chose, never from the mode that was asked for; and a GL context is
// a hardware GPU only when its renderer string is known and is not a software rasterizer.
import * as gpujs from 'gpu.js'

/** A mode the gpujs backend can be asked for; 'auto' is GPU.js's own choice (GL first, then WebAssembly). */
export type GpujsMode = 'auto' | 'headlessgl' | 'webgl2' | 'webgl' | 'webgpu' | 'webasm' | 'cpu'

/** The modes a backend can end up running, named after GPU.js's kernel classes. */
export type GpujsRunMode = Exclude<GpujsMode, 'auto'> | 'unknown'

export const GPUJS_MODES: readonly GpujsMode[] = ['auto', 'headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu']

// Compared by identity, not by name, so a minified bundle reports the same modes.
const KERNEL_MODES: Array<[unknown, GpujsRunMode]> = [
  [gpujs.HeadlessGLKernel, 'headlessgl'],
  [gpujs.WebGL2Kernel, 'webgl2'],
  [gpujs.WebGLKernel, 'webgl'],
  [(gpujs as unknown as Record<string, unknown>)['WebGPUKernel'], 'webgpu'],
  [gpujs.WebAssemblyKernel, 'webasm'],
  [gpujs.CPUKernel, 'cpu'],
]

/** The mode of a GPU.js kernel class (`gpu.Kernel`, or `kernel.kernel.constructor` after a run). */
export function modeOfKernelClass(kernelClass: unknown): GpujsRunMode {
  for (const [cls, mode] of KERNEL_MODES) if (cls !== undefined && cls === kernelClass) return mode
  return 'unknown'
}

/** True for the modes that draw through a GL context (texture limits apply, a renderer string exists). */
export function isGlMode(mode: GpujsRunMode): boolean {
  return mode === 'headlessgl' || mode === 'webgl2' || mode === 'webgl'
}

/** The GPU.js constructor mode for a requested mode: 'auto' maps to GPU.js's 'gpu' (never webgpu, never cpu first). */
export function gpuConstructorMode(mode: GpujsMode): string {
  return mode === 'auto' ? 'gpu' : mode
}

/** PRIORGRAD_GPUJS_MODE, validated; 'auto' when unset or when there is no `process` (a browser). */
export function modeFromEnv(): GpujsMode {
  const env = typeof process !== 'undefined' ? process.env?.['PRIORGRAD_GPUJS_MODE'] : undefined
  if (!env) return 'auto'
  if (!(GPUJS_MODES as readonly string[]).includes(env)) {
    throw new Error(`gpujs backend: PRIORGRAD_GPUJS_MODE='${env}' is not one of ${GPUJS_MODES.join(', ')}`)
  }
  return env as GpujsMode
}

const SOFTWARE_RENDERER = /llvmpipe|softpipe|lavapipe|swiftshader|swrast|software|basic render/i

/** What the GL context says about the device that draws, and whether that is a hardware GPU. */
export interface RendererInfo {
  renderer: string
  hardwareGpu: boolean
  reason: string
}

interface GlLike {
  RENDERER: number
  getParameter(p: number): unknown
  getExtension(name: string): unknown
}

/**
 * Classify a GL context. The unmasked renderer (WEBGL_debug_renderer_info) names the real
 * device in browsers; headless-gl only says 'ANGLE', so in Node the GL driver loaded into the
 * process decides (Linux), else the presence of a DRM render node. Unknown means not a GPU.
 */
export function classifyGlRenderer(context: unknown): RendererInfo {
  const gl = context as GlLike | null
  if (!gl || typeof gl.getParameter !== 'function') {
    return { renderer: 'unknown', hardwareGpu: false, reason: 'no GL context to query' }
  }
  let renderer = String(gl.getParameter(gl.RENDERER) ?? '')
  const dbg = gl.getExtension('WEBGL_debug_renderer_info') as { UNMASKED_RENDERER_WEBGL: number } | null
  if (dbg) renderer = String(gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) ?? renderer)
  if (SOFTWARE_RENDERER.test(renderer)) {
    return { renderer, hardwareGpu: false, reason: `software rasterizer (GL RENDERER '${renderer}')` }
  }
  if (dbg && renderer !== '') return { renderer, hardwareGpu: true, reason: `unmasked GL RENDERER '${renderer}'` }
  const node = nodeGpuEvidence()
  if (node !== null) {
    return node.gpu
      ? { renderer, hardwareGpu: true, reason: `GL RENDERER '${renderer}' and ${node.why}` }
      : { renderer, hardwareGpu: false, reason: `GL RENDERER '${renderer}' is opaque and ${node.why}` }
  }
  return { renderer, hardwareGpu: false, reason: `GL RENDERER '${renderer}' does not name the device` }
}

// In Node, headless-gl draws through the system libGL. On Linux the GL driver it loaded shows
// in /proc/self/maps: Mesa's swrast_dri.so is llvmpipe (always the case under Xvfb), while
// radeonsi/iris/nouveau/... or NVIDIA's libraries are a GPU. Without that, a DRM render node
// (/dev/dri/renderD*) is the weaker evidence.
function nodeGpuEvidence(): { gpu: boolean; why: string } | null {
  if (typeof process === 'undefined') return null
  // NOTE: getBuiltinModule (Node >= 20.16) keeps 'fs' out of the browser bundle's imports.
  const getBuiltin = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule
  if (typeof getBuiltin !== 'function') return null
  const fs = getBuiltin.call(process, 'fs') as typeof import('fs')
  if (process.env['LIBGL_ALWAYS_SOFTWARE']) return { gpu: false, why: 'LIBGL_ALWAYS_SOFTWARE is set' }
  const drivers = loadedGlDrivers(fs)
  const hardware = drivers.filter((d) => !/^(swrast|kms_swrast|softpipe|llvmpipe|zink)$/.test(d))
  if (hardware.length > 0) return { gpu: true, why: `the loaded GL driver is ${hardware.join(', ')}` }
  if (drivers.length > 0) return { gpu: false, why: `the loaded GL driver is Mesa ${drivers.join(', ')}_dri.so (software rendering, llvmpipe)` }
  let nodes: string[] = []
  try {
    nodes = fs.readdirSync('/dev/dri').filter((f) => f.startsWith('renderD'))
  } catch {
    nodes = []
  }
  return nodes.length > 0
    ? { gpu: true, why: `a DRM render node exists (/dev/dri/${nodes[0]})` }
    : { gpu: false, why: 'there is no DRM render node (/dev/dri/renderD*), so Mesa renders in software (llvmpipe)' }
}

// Mesa DRI drivers (e.g. 'swrast', 'radeonsi') and 'nvidia' mapped into this process; [] if unknown.
function loadedGlDrivers(fs: typeof import('fs')): string[] {
  let maps = ''
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8')
  } catch {
    return []
  }
  const found = new Set<string>()
  for (const m of maps.matchAll(/\/dri\/(\w+)_dri\.so/g)) found.add(m[1]!)
  if (/libnvidia-glcore|libGLX_nvidia/.test(maps)) found.add('nvidia')
  return [...found]
}
