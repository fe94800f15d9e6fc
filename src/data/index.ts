// Data: file readers (IDX, MNIST, CIFAR), datasets, per-image transforms and the DataLoader.
export { parseIdx, readIdxFile, IDX_TYPES, type IdxArray, type IdxData, type IdxDtype } from './idx.js'
export { loadMnist, mnistDataDir, MNIST_FILES, type MnistOptions, type Split } from './mnist.js'
export { loadCifar10, loadCifar100, type CifarOptions, type Cifar100Options } from './cifar.js'
export { ImageDataset, type Dataset, type Sample, type ChannelStats, type ImageDatasetInit } from './dataset.js'
export { normalize, randomCrop, randomHorizontalFlip, type ImageTransform } from './transforms.js'
export { DataLoader, type DataLoaderOptions, type Batch } from './dataloader.js'
