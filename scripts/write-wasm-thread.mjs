// Part of `npm run build`: writes dist/wasm-thread.js, the Web Worker script a page serves for the
// WebAssembly backend's helper threads (its text is wasmThreadScript(), from the built files), so
// an installed package ships it as 'priorgrad/wasm-thread.js'. Plain JavaScript: the build needs
// no tsx. Written to a temporary file and renamed, so a crash leaves no half file.
import { renameSync, writeFileSync } from 'node:fs'

const { wasmThreadScript } = await import('../dist/tensor/backends/wasm/threads-browser.js')
const target = new URL('../dist/wasm-thread.js', import.meta.url)
const temp = new URL(`../dist/wasm-thread.js.${process.pid}.tmp`, import.meta.url)
writeFileSync(temp, wasmThreadScript())
renameSync(temp, target)
