#!/usr/bin/env -S node --single-threaded-gc
// The `priorgrad` command (package.json "bin"). In a checkout of the repository it runs the
// TypeScript CLI through tsx's loader in this same process (no child process, so Ctrl-C reaches
// the training loop directly), so it always runs the current sources; an installed package has no
// src/, only the JavaScript that `npm run build` compiled to dist/ (prepack builds it).
// NOTE: --single-threaded-gc (also in package.json's start, priorgrad and bench scripts): the
// WASM worker pool takes every core, and V8's parallel garbage-collector threads then take cores
// from it in the middle of a step. Measured on 2 cores: 6,000 MNIST images with the dynamic
// prior 34.0-36.0 s -> 28.4-29.9 s, without a regularizer 26.1-28.2 s -> 25.4-27.6 s.
import { existsSync } from 'node:fs'

let cli
if (existsSync(new URL('../src/experiments/cli.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api')
  register()
  cli = await import('../src/experiments/cli.ts')
} else {
  cli = await import('../dist/experiments/cli.js')
}
process.exitCode = await cli.main(process.argv.slice(2))
