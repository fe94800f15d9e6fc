// A new op from scratch: softplus(x) = log(1 + e^x), with d softplus/dx = sigmoid(x).
// It shows the whole contract of docs/03-writing-an-op.md: an OpDef with forward (raw arrays,
// saving what backward needs) and backward (Tensor ops, one gradient per input), run through
// `apply` so it is recorded in the graph, then checked against central differences in float64.
// Run: npx tsx examples/gradcheck-custom-op.ts
import { GradcheckError, Tensor, apply, gradcheck, randn, type OpDef } from 'priorgrad'

const softplus: OpDef = {
  name: 'softplus',
  forward(ctx, [x]) {
    ctx.save(x!)
    // NOTE: log(1 + e^x) = max(x, 0) + log1p(e^-|x|), which never overflows exp for large x.
    const out = x!.data.map((v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))))
    return new Tensor(out, x!.shape)
  },
  backward(ctx, gradOut) {
    const [x] = ctx.saved
    // Runs under noGrad (the engine sees to it), so this builds no graph.
    return [gradOut.mul(x!.sigmoid())]
  },
}

// The same op with a wrong derivative (e^x instead of sigmoid(x)), to see gradcheck fail.
const wrongSoftplus: OpDef = { ...softplus, name: 'softplus-wrong', backward: (ctx, gradOut) => [gradOut.mul(ctx.saved[0]!.exp())] }

const x = randn([3, 4], { dtype: 'float64' }).requiresGrad_()
const y = apply(softplus, [x], {})
console.log(`softplus of a [3,4] tensor: output ${JSON.stringify(y.shape)}, recorded as '${y.node!.opName}'`)

// Composed with other ops, so the check also covers the way gradients flow into it.
// Like PyTorch's, gradcheck throws on a failure, so a passing call is all a test needs.
const good = gradcheck((t) => apply(softplus, [t], {}).mul(t).sum(), [x])
console.log(`gradcheck softplus: ok (max |analytic - numeric| = ${good.maxAbsError.toExponential(2)})`)

try {
  gradcheck((t) => apply(wrongSoftplus, [t], {}).sum(), [x])
  console.log('gradcheck softplus with a wrong backward: ok (unexpected!)')
  process.exit(1)
} catch (err) {
  if (!(err instanceof GradcheckError)) throw err
  console.log('gradcheck softplus with a wrong backward: caught')
  console.log(`  ${err.message}`)
}
