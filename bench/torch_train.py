# PyTorch training-step timings for bench/train-steps.ts: the same models, batch, loss
# and optimizer as priorgrad's bench (mlp, cnn2, vgg11 with BatchNorm, resnet18), float32, CPU.
# ResNet-18 is the fixture generator's definition (tools/fixtures/gen_models.py), whose parameter
# inventory the test suite checks against priorgrad's resnet18.
# Usage: /usr/bin/python3 bench/torch_train.py THREADS BUDGET_SECONDS  -> JSON lines on stdout.
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools', 'fixtures'))
from gen_models import BasicBlock, ResNetLike  # noqa: E402 (its import sets 1 thread; set below)

threads = int(sys.argv[1])
budget = float(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn2():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def vgg11():
    layers, c = [], 3
    for v in [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M']:
        if v == 'M':
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
            c = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))


def resnet18():
    return ResNetLike(BasicBlock, [2, 2, 2, 2], 3, 10)


cases = [('mlp', mlp, 32, (1, 28, 28)), ('mlp', mlp, 256, (1, 28, 28)), ('cnn2', cnn2, 32, (1, 28, 28)),
         ('vgg11', vgg11, 32, (3, 32, 32)), ('resnet18', resnet18, 32, (3, 32, 32))]
for name, make, batch, shape in cases:
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    step()
    step()
    ts = []
    start = time.perf_counter()
    while len(ts) < 300 and (len(ts) < 3 or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        step()
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    print(json.dumps({'case': f'{name} b={batch}', 'threads': threads, 'medianMs': ts[len(ts) // 2], 'minMs': ts[0], 'maxMs': ts[-1], 'reps': len(ts)}), flush=True)
