#!/usr/bin/env node
// The `priorgrad` command (package.json "bin"): loads the TypeScript CLI through tsx's loader in
// this same process (no child process, so Ctrl-C reaches the training loop directly).
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/experiments/cli.ts')
process.exitCode = await main(process.argv.slice(2))
