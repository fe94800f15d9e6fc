// `npm run bench`: every benchmark in one run, so the ratios compare like with like on a
// noisy machine: kernels (SGEMM, conv) against TensorFlow.js and PyTorch, full training
// steps, the regularizer's cost as a fraction of a step, GPU.js modes, memory, and a
// summary of the targets (issues 5 and 16). `npm run bench -- --quick` shortens every section.
import { benchKernels, printKernelTable } from './kernels.js'
import { benchTrainSteps, printStepRows, priorgradStep } from './train-steps.js'
import { measureCnn2Memory } from './memory.js'
import { benchPenaltyInStep, benchRegularizer, DEFAULT_VARIANT } from './regularizer.js'
import { benchGpujs } from './gpujs.js'
import { time } from './timing.js'
import { getBackendInfo } from '../src/index.js'

const quick = process.argv.includes('--quick')
const skip = new Set(process.argv.filter((a) => a.startsWith('--skip=')).flatMap((a) => a.slice(7).split(',')))
const info = getBackendInfo()
console.log(`priorgrad bench on ${process.platform} ${process.arch}, Node ${process.version} (flags: ${process.execArgv.filter((a) => a.startsWith('--') && !a.startsWith('--import') && !a.startsWith('--require')).join(' ') || 'none'}); default backend: ${info.name} (${info.description}; ${info.reason})`)

const kernels = skip.has('kernels') ? [] : await benchKernels({ sizes: quick ? [128, 512] : [128, 256, 512, 1024], budgetSeconds: quick ? 0.5 : 1, print: false })
if (kernels.length) printKernelTable(kernels)

const steps = skip.has('steps') ? [] : await benchTrainSteps({ budgetSeconds: quick ? 1 : 3, peers: !skip.has('peers') })
if (steps.length) printStepRows(steps)

if (!skip.has('regularizer')) {
  console.log('')
  const reg = benchRegularizer({ quick, print: true })
  const stepMs = (model: 'cnn2' | 'resnet18'): number => {
    const found = steps.find((r) => r.peer === 'priorgrad' && r.case === `${model} b=32`)?.timing?.medianMs
    if (found !== undefined) return found
    const { step } = priorgradStep({ model, batch: 32 })
    return time(step, 1, 3).medianMs
  }
  for (const r of reg) {
    const s = stepMs(r.model as 'cnn2' | 'resnet18')
    const target = r.model === 'cnn2' && r.variant === DEFAULT_VARIANT ? ' (the default options: target < 10%)' : ''
    console.log(`${r.model} ${r.variant}: penalty + backward ${r.totalMs.toFixed(1)} ms, step ${s.toFixed(1)} ms -> ${((100 * r.totalMs) / s).toFixed(1)}% of a step${target}`)
  }
  for (const v of quick ? [DEFAULT_VARIANT] : ['exact', 'expected', 'both']) {
    const inStep = benchPenaltyInStep(quick ? 15 : 40, true, v)
    console.log(`cnn2, in training (${v}): the penalty adds ${inStep.marginalMs.toFixed(1)} ms -> ${((100 * inStep.marginalMs) / inStep.plainMs).toFixed(1)}% of a step${v === DEFAULT_VARIANT ? ' (the default options: target < 10%)' : ''}`)
  }
}

if (!skip.has('gpujs')) await benchGpujs({ print: true, browser: !quick })

const memorySteps = quick ? 200 : 1000
const mem = skip.has('memory') ? null : measureCnn2Memory(memorySteps)
if (mem) {
  console.log(`\ncnn2 b=32, ${memorySteps} steps: resident MB every 50 steps ${mem.samplesMb.map((m) => m.toFixed(0)).join(' ')}; peak ${mem.peakMb.toFixed(0)} MB (target < 500, flat)`)
  console.log(`  WebAssembly.Memory MB every 50 steps ${mem.wasmMemoryMb.map((m) => m.toFixed(0)).join(' ') || 'n/a'}; liveBuffers after a step ${[...new Set(mem.liveBuffers)].join(', ')} (target: flat; the weights and optimizer state hold some, a step's scope none)`)
}

// The targets (issues 5 and 16), from the numbers above.
const median = (peer: string, c: string): number | undefined => steps.find((r) => r.peer === peer && r.case === c)?.timing?.medianMs
const gemm512 = kernels.find((r) => r.peer === 'priorgrad' && r.case.includes('512') && r.gflops !== null && r.threads.includes('2'))?.gflops
  ?? kernels.find((r) => r.peer === 'priorgrad' && r.case.includes('512') && r.gflops !== null)?.gflops
console.log('\nTargets against PyTorch 2-thread (issue 16; measured in this run):')
const ratio = (c: string): string => {
  const ours = median('priorgrad', c)
  const torch = median('pytorch 2t', c)
  return ours !== undefined && torch !== undefined ? `${(ours / torch).toFixed(2)}x PyTorch 2-thread (${ours.toFixed(1)} vs ${torch.toFixed(1)} ms)` : 'n/a (not measured in this run)'
}
for (const [c, target] of [['cnn2 b=32', 1.3], ['mlp b=32', 1.3], ['vgg11 b=32', 3], ['resnet18 b=32', 3]] as const) {
  console.log(`  ${`${c} step:`.padEnd(20)} ${ratio(c)}  [target <= ${target}x]`)
}
console.log(`  SGEMM 512: ${gemm512 !== undefined && gemm512 !== null ? gemm512.toFixed(1) + ' GFLOP/s' : 'n/a'}  [target >= 20]`)
if (mem) {
  const first = mem.samplesMb[0] ?? 0
  const last = mem.samplesMb[mem.samplesMb.length - 1] ?? 0
  console.log(`  cnn2 peak RSS: ${mem.peakMb.toFixed(0)} MB, ${first.toFixed(0)} -> ${last.toFixed(0)} MB from step 50 to ${memorySteps}  [target < 500 MB, flat]`)
}
process.exit(0)
