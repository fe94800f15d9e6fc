// Public entry point of the io module: safetensors checkpoints and crash-safe file writes.
export * from './safetensors.js'
export * from './atomic.js'
