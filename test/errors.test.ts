// Bad input: every error names the op and what was wrong (shapes, dims, values).
import { describe, expect, it } from 'vitest'
import * as pg from '../src/index.js'
import { F, tensor, zeros, ones } from '../src/index.js'

const binaries = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'gt', 'lt', 'ge', 'le'] as const

describe('shape mismatches', () => {
  it.each(binaries)('%s names itself and both shapes', (op) => {
    const f = (pg as unknown as Record<string, (a: pg.Tensor, b: pg.Tensor) => pg.Tensor>)[op]!
    expect(() => f(ones([2, 3]), ones([4]))).toThrow(new RegExp(`^${op}: shapes \\[2,3\\] and \\[4\\] cannot be broadcast: dim -1 has sizes 3 and 4`))
  })

  it('where names itself', () => {
    expect(() => pg.where(ones([2]), ones([3]), ones([2]))).toThrow(/^where: shapes \[2\] and \[3\] cannot be broadcast/)
  })

  it('weightedSquareSum names both shapes and dtypes', () => {
    expect(() => F.weightedSquareSum(ones([2, 3]), ones([3, 2]))).toThrow('weightedSquareSum: weights must match x ([2,3] float32), got [3,2] float32')
    expect(() => F.weightedSquareSum(ones([2]), ones([2], { dtype: 'float64' }))).toThrow('weightedSquareSum: weights must match x ([2] float32), got [2] float64')
  })

  it('weightedSquareSumAt names the index, the weights and an index out of range', () => {
    const idx = tensor([0, 3], { dtype: 'int32' })
    expect(() => F.weightedSquareSumAt(ones([3]), ones([2]), ones([2]))).toThrow('weightedSquareSumAt: index must be a 1-D int32 tensor, got [2] float32')
    expect(() => F.weightedSquareSumAt(ones([3]), idx, ones([3]))).toThrow("weightedSquareSumAt: weights must be 1-D with one value per index (2) in x's dtype float32, got [3] float32")
    expect(() => F.weightedSquareSumAt(ones([3]), idx, ones([2]))).toThrow('weightedSquareSumAt: index 3 at position 1 is out of range for x with 3 entries (shape [3])')
  })

  it('matmul reports both shapes and the inner dimensions', () => {
    expect(() => zeros([32, 784]).matmul(zeros([128, 10]))).toThrow('matmul: cannot multiply [32,784] by [128,10]: inner dimensions 784 and 128 differ')
    expect(() => zeros([2, 3, 4]).matmul(zeros([5, 4, 2]))).toThrow(/^matmul: shapes \[2\] and \[5\] cannot be broadcast/)
  })

  it('reshape, expand, cat, stack, narrow, gather, permute', () => {
    expect(() => zeros([2, 3]).reshape(4, 2)).toThrow('reshape: cannot view shape [2,3] (6 elements) as [4,2]')
    expect(() => zeros([2, 3]).expand(2, 4)).toThrow(/^expand: cannot expand shape \[2,3\] to \[2,4\]/)
    expect(() => pg.cat([zeros([2, 3]), zeros([3, 3])], 1)).toThrow('cat: tensor 1 has shape [3,3], expected [2,3] except in dim 1')
    expect(() => pg.stack([zeros([2]), zeros([3])])).toThrow('stack: tensor 1 has shape [3], expected [2]')
    expect(() => zeros([3, 5]).narrow(1, 4, 2)).toThrow('narrow: start 4 and length 2 do not fit dim 1 of size 5')
    expect(() => zeros([3, 4]).gather(1, tensor([[5]], { dtype: 'int32' }))).toThrow(/^gather: index 5 at position 0 is out of range for dim 1 of size 4/)
    expect(() => zeros([3, 4]).gather(1, tensor([[1]]))).toThrow('gather: index must be an int32 tensor, got float32')
    expect(() => zeros([2, 3]).permute(0, 0)).toThrow(/^permute: dims \[0,0\] must be a permutation/)
    expect(() => zeros([4, 5]).indexSelect(0, tensor([4], { dtype: 'int32' }))).toThrow(/^indexSelect: index 4 at position 0 is out of range for dim 0 of size 4/)
  })
})

describe('invalid dims', () => {
  it('sum, softmax, transpose, unsqueeze name the dim and the valid range', () => {
    expect(() => zeros([2, 3]).sum(2)).toThrow('sum: dim 2 is out of range for a tensor with 2 dims (expected -2..1)')
    expect(() => zeros([2, 3]).softmax(-3)).toThrow(/^softmax: dim -3 is out of range/)
    expect(() => zeros([2, 3]).transpose(0, 5)).toThrow(/^transpose: dim 5 is out of range/)
    expect(() => zeros([2, 3]).unsqueeze(4)).toThrow(/^unsqueeze: dim 4 is out of range for a tensor with 3 dims/)
    expect(() => zeros([2, 3]).sum([1, -1])).toThrow('sum: dims [1,-1] repeat a dim')
  })
})

describe('convolution and pooling', () => {
  it('a kernel larger than the padded input', () => {
    expect(() => F.conv2d(zeros([1, 1, 2, 2]), zeros([1, 1, 5, 5]), null, { padding: 1 })).toThrow(
      'conv2d: kernel 5x5 is larger than the padded input 4x4 (input [1,1,2,2], padding 1,1)',
    )
    expect(() => F.maxPool2d(zeros([1, 1, 2, 2]), 3)).toThrow(/^maxPool2d: kernel 3x3 is larger than the padded input 2x2/)
  })

  it('channel mismatch, wrong rank, bad stride', () => {
    expect(() => F.conv2d(zeros([1, 3, 8, 8]), zeros([4, 2, 3, 3]))).toThrow('conv2d: input [1,3,8,8] has 3 channels but weight [4,2,3,3] expects 2')
    expect(() => F.conv2d(zeros([3, 8, 8]), zeros([4, 3, 3, 3]))).toThrow('conv2d: input must have 4 dims, got shape [3,8,8]')
    expect(() => F.conv2d(zeros([1, 3, 8, 8]), zeros([4, 3, 3, 3]), null, { stride: 0 })).toThrow('conv2d: stride must be an integer >= 1, got 0')
    expect(() => F.conv2d(zeros([1, 3, 8, 8]), zeros([4, 3, 3, 3]), zeros([3]))).toThrow(/^conv2d: bias must be float32 of shape \[4\], got float32 \[3\]/)
  })
})

describe('backward misuse', () => {
  it('backward on a non-scalar without a gradient', () => {
    const x = ones([2, 2], { requiresGrad: true })
    expect(() => x.mul(2).backward()).toThrow(/^backward: a gradient can be created implicitly only for a one-element output, this one has shape \[2,2\]/)
  })
  it('backward on a tensor that needs no grad, or with a wrong-shaped gradient', () => {
    expect(() => ones([1]).backward()).toThrow(/^backward: this tensor does not require grad/)
    const y = ones([2], { requiresGrad: true }).mul(2)
    expect(() => y.backward(ones([3]))).toThrow('backward: gradient shape [3] does not match output shape [2]')
  })
})

describe('dtypes', () => {
  const i = tensor([1, 2], { dtype: 'int32' })
  it.each(['exp', 'log', 'sqrt', 'sigmoid', 'tanh', 'reciprocal'] as const)('%s on int32 throws', (op) => {
    expect(() => (i as unknown as Record<string, () => pg.Tensor>)[op]!.call(i)).toThrow(`${op}: expected a float tensor, got int32 of shape [2] (convert with .float())`)
  })
  it('matmul, softmax, mean, div on int32 throw', () => {
    expect(() => i.reshape(1, 2).matmul(i.reshape(2, 1))).toThrow(/^matmul: expected a float tensor, got int32/)
    expect(() => i.softmax(0)).toThrow(/^logsumexp: expected a float tensor, got int32/)
    expect(() => i.mean()).toThrow(/^mean: expected a float tensor/)
    expect(() => i.div(2)).toThrow(/^div: expected a float tensor/)
  })
  it('int32 arithmetic that stays integral is allowed', () => {
    expect(Array.from(i.add(1).data)).toEqual([2, 3])
    expect(i.add(1).dtype).toBe('int32')
    expect(i.add(0.5).dtype).toBe('float32')
  })
})

describe('losses', () => {
  it('crossEntropy with an out-of-range class names the index', () => {
    expect(() => F.crossEntropy(zeros([3, 4]), tensor([0, 4, 1], { dtype: 'int32' }))).toThrow(
      'crossEntropy: target 4 at index 1 is out of range for 4 classes (expected 0..3)',
    )
    expect(() => F.crossEntropy(zeros([3, 4]), tensor([0, -1, 1], { dtype: 'int32' }))).toThrow(/target -1 at index 1/)
    expect(() => F.crossEntropy(zeros([3, 4]), tensor([0, 1, 1]))).toThrow('crossEntropy: targets must be int32 class indices, got float32')
    expect(() => F.crossEntropy(zeros([3, 4]), tensor([0, 1], { dtype: 'int32' }))).toThrow(/^crossEntropy: targets shape \[2\] does not match batch 3/)
  })
  it('crossEntropy is numerically stable for huge logits', () => {
    const l = F.crossEntropy(tensor([[1000, 0], [-1000, 1000]]), tensor([0, 1], { dtype: 'int32' }))
    expect(Math.abs(l.item())).toBe(0) // exactly zero loss, no NaN or Infinity
  })
})

describe('tensor()', () => {
  it('ragged or non-numeric data', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/^tensor: ragged nested array at depth 1: expected 2 entries, got 1/)
    expect(() => tensor(['a' as unknown as number])).toThrow(/^tensor: expected numbers, got string/)
    expect(() => pg.zeros([2, -1])).toThrow('zeros: invalid shape [2,-1]: sizes must be non-negative integers, got -1 at position 1')
  })
})
