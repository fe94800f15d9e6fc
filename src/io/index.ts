// Public entry point of the io module: safetensors checkpoints and crash-safe file writes.
export * from './safetensors.js'
// processAlive stays internal (the checkpoint staging cleanup uses it); the rest is public.
export { appendLine, fsyncDirectory, writeFileAtomic, writeJsonAtomic, type AppendLineOptions } from './atomic.js'
