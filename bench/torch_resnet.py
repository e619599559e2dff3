#!/usr/bin/python3
"""The PyTorch side of bench/resnet.c: the same CIFAR ResNet-n (option A,
3x32x32, batch 128, 100 classes) trained step by step (forward + loss +
backward, gradients ready, no optimizer), channels_last, at a given thread
count. Prints one machine-readable line per measurement:
    torch model=resnet20 threads=1 images_per_s=...
Run with OPENBLAS_NUM_THREADS=1 (the caller sets it) so that only oneDNN's
threads compute.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if (stride != 1 or cin != cout) else None
        self.stride = stride

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        s = x
        if self.pad is not None:
            s = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(y + s)


class ResNet(nn.Module):
    def __init__(self, depth, classes):
        super().__init__()
        k = (depth - 2) // 6
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for stage, cout in enumerate((16, 32, 64)):
            for b in range(k):
                layers.append(Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.blocks(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, nargs="+", default=[20, 32])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    torch.manual_seed(0)
    for depth in a.depth:
        for t in a.threads:
            torch.set_num_threads(t)
            net = ResNet(depth, 100).to(memory_format=torch.channels_last).train()
            x = torch.randn(a.batch, 3, 32, 32).to(memory_format=torch.channels_last)
            y = torch.randint(0, 100, (a.batch,))
            best = None
            for i in range(a.warmup + a.steps):
                t0 = time.perf_counter()
                for p in net.parameters():
                    p.grad = None
                loss = F.cross_entropy(net(x), y)
                loss.backward()
                dt = time.perf_counter() - t0
                if i >= a.warmup:
                    best = dt if best is None else min(best, dt)
            # the median-free "best step" is less sensitive to other processes
            print("torch model=resnet%d threads=%d images_per_s=%.1f" % (depth, t, a.batch / best),
                  flush=True)


if __name__ == "__main__":
    main()
