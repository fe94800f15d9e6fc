// TensorFlow.js training steps for bench/train-steps.ts: the same models in tfjs's native
// NHWC layout (same math), softmax cross-entropy, Adam lr 1e-3, one fixed random batch.
// The wasm backend lacks Conv2DBackpropFilter in 4.22, so CNN steps run on the cpu backend.
import * as tf from '@tensorflow/tfjs'

export type TfModelName = 'mlp' | 'cnn2'

function build(name: TfModelName): tf.Sequential {
  const m = tf.sequential()
  if (name === 'mlp') {
    m.add(tf.layers.flatten({ inputShape: [28, 28, 1] }))
    m.add(tf.layers.dense({ units: 256, activation: 'relu' }))
    m.add(tf.layers.dense({ units: 10 }))
  } else {
    m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }))
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }))
    m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }))
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }))
    m.add(tf.layers.flatten())
    m.add(tf.layers.dense({ units: 128, activation: 'relu' }))
    m.add(tf.layers.dense({ units: 10 }))
  }
  return m
}

/** A function running one training step (its loss is read back, so the work is done). */
export async function tfjsStep(name: TfModelName, batch: number, backend: 'wasm' | 'cpu'): Promise<() => void> {
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm')
  await tf.setBackend(backend)
  await tf.ready()
  const model = build(name)
  const optimizer = tf.train.adam(1e-3)
  const x = tf.randomNormal([batch, 28, 28, 1])
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10)
  return () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor) as tf.Scalar, true)
    loss!.dataSync()
    loss!.dispose()
  }
}
