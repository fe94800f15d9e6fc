// All layers, one import.
export { Linear, type LayerOptions, type LinearOptions } from './linear.js'
export { Conv2d, type Conv2dOptions, type Size2 } from './conv.js'
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pooling.js'
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './batchnorm.js'
export { ReLU, Sigmoid, Tanh, Flatten, Identity, Dropout, type DropoutOptions } from './activation.js'
export { Sequential, ModuleList } from './container.js'
