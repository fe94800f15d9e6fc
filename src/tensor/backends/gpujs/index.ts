// Registers the gpujs backend with the registry: 'gpujs' (mode from PRIORGRAD_GPUJS_MODE,
// else GPU.js's own choice) and one explicit name per mode ('gpujs-webasm', 'gpujs-headlessgl', ...).
// Nothing is constructed here; the registry makes an instance on first use.
import { registerBackend } from '../registry.js'
import { GpujsBackend } from './gpujs-backend.js'
import { GPUJS_MODES, type GpujsMode } from './modes.js'

export { GpujsBackend, type GpujsBackendOptions, type GpujsStats } from './gpujs-backend.js'
export { modeOfKernelClass, classifyGlRenderer, type GpujsMode, type GpujsRunMode } from './modes.js'

/**
 * Make 'gpujs' and 'gpujs-<mode>' selectable with setBackend / PRIORGRAD_BACKEND.
 * @example registerGpujsBackend(); setBackend('gpujs-webasm')
 */
export function registerGpujsBackend(): void {
  registerBackend('gpujs', () => new GpujsBackend())
  for (const mode of GPUJS_MODES) {
    // webgpu kernels are asynchronous in GPU.js, so they cannot serve the synchronous Backend.
    if (mode === 'auto' || mode === 'webgpu') continue
    registerBackend(`gpujs-${mode}`, () => new GpujsBackend({ mode, name: `gpujs-${mode}` }))
  }
}

/** What probing GPU.js found, for choosing a backend automatically. */
export interface GpujsProbe {
  mode: string
  hardwareGpu: boolean
  reason: string
}

let probed: GpujsProbe | null = null

/**
 * Probe GPU.js once (auto mode: a GL context if one can be made, else WebAssembly) and report
 * whether it would run on a hardware GPU. Software GL (llvmpipe, SwiftShader), WebAssembly and
 * cpu all answer false: they are slower than the CPU backend and must not be auto-selected.
 * @example if (gpujsIsHardwareAccelerated()) setBackend('gpujs')
 */
export function gpujsIsHardwareAccelerated(): boolean {
  return probeGpujs().hardwareGpu
}

/** The cached probe behind gpujsIsHardwareAccelerated(), with its reason. @example probeGpujs().reason */
export function probeGpujs(mode: GpujsMode = 'auto'): GpujsProbe {
  if (probed && mode === 'auto') return probed
  let result: GpujsProbe
  try {
    const b = new GpujsBackend({ mode })
    const info = b.info()
    b.dispose()
    result = { mode: String(info.details?.['gpujsMode']), hardwareGpu: info.hardwareGpu, reason: String(info.details?.['reason']) }
  } catch (e) {
    result = { mode: 'none', hardwareGpu: false, reason: (e as Error).message }
  }
  if (mode === 'auto') probed = result
  return result
}
