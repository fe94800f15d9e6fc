// The paper's MLP (784-256-10) trained with Adam on a subset of MNIST, then evaluated on a
// subset of the test set. Everything random is seeded: the init (Generator 0), the subset and
// the data order (DataLoader seed), so two runs print the same numbers.
// Run: npx tsx examples/mnist-mlp.ts   (EXAMPLE_SMALL=1: 1,000 training images, 1 epoch)
import { Adam, DataLoader, F, Generator, loadMnist, mlp, noGrad } from 'priorgrad'

const small = process.env['EXAMPLE_SMALL'] === '1'
const trainSize = small ? 1000 : 10000
const testSize = small ? 500 : 2000
const epochs = small ? 1 : 3

const fullTrain = loadMnist({ split: 'train' })
const train = fullTrain.subset(trainSize, new Generator('subset/train')).normalized()
// The test set is normalised with the training set's statistics, as it should be.
const test = loadMnist({ split: 'test' }).subset(testSize, new Generator('subset/test')).normalized(train.channelStats())

const model = mlp({ generator: new Generator(0) })
const optimizer = new Adam(model.parameters(), { lr: 1e-3 })
const loader = new DataLoader(train, { batchSize: 32, shuffle: true, seed: 0 })
console.log(`mlp: ${model.numParameters()} parameters; ${train.length} training and ${test.length} test images`)

for (let epoch = 0; epoch < epochs; epoch++) {
  let sum = 0
  let batches = 0
  model.train()
  for (const { x, y } of loader.epochBatches(epoch)) {
    const loss = F.crossEntropy(model.forward(x), y)
    optimizer.zeroGrad()
    loss.backward()
    optimizer.step()
    sum += loss.item()
    batches++
  }
  console.log(`epoch ${epoch}  mean training loss ${(sum / batches).toFixed(4)}`)
}

model.eval()
let correct = 0
for (const { x, y } of new DataLoader(test, { batchSize: 500 }).epochBatches(0)) {
  correct += noGrad(() => model.forward(x).argmax(1).eq(y).sum().item())
}
console.log(`test accuracy ${((100 * correct) / test.length).toFixed(2)}% (${correct}/${test.length})`)
