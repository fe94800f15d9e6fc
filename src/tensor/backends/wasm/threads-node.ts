// The WASM backend's threads in Node: worker_threads evaluating THREAD_BODY (./threads.ts), as
// many as the machine's cores, or PRIORGRAD_THREADS. Workers are unref()ed (a process exits
// normally with the pool alive) and terminated by the backend's dispose().
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { THREAD_BODY, type WasmThreading } from './threads.js'

const source = `const { workerData } = require('node:worker_threads')\n${THREAD_BODY}`

/**
 * Node's threading: worker_threads; the default thread count is env PRIORGRAD_THREADS, else
 * os.availableParallelism().
 * @example new WasmBackend({ threading: nodeThreading() })
 */
export function nodeThreading(): WasmThreading {
  return {
    defaultThreads: () => {
      const env = Number(process.env['PRIORGRAD_THREADS'])
      return env >= 1 ? env : availableParallelism()
    },
    spawn: (init) => {
      const w = new Worker(source, { eval: true, workerData: init })
      w.unref()
      return w
    },
  }
}
