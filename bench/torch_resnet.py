#!/usr/bin/python3
"""The PyTorch side of bench/resnet.c: the same CIFAR ResNet-n (option A,
3x32x32, batch 128, 100 classes) trained step by step (forward + loss +
backward + torch.optim.SGD's update with momentum 0.9 and weight decay 5e-4,
as mutau's step), channels_last, at a given thread count. Prints one machine-readable line per measurement:
    torch model=resnet20 threads=1 images_per_s=... cpu_images_per_s=...
images_per_s from the best step's wall time, cpu_images_per_s from its CPU
time in this thread (meaningful at one thread). With --serve it reads
requests "DEPTH THREADS BATCH WARMUP STEPS" from stdin, one per line, and
answers each with that line, so that the caller can alternate short runs of
its own and of PyTorch on a busy machine. Run with OPENBLAS_NUM_THREADS=1
(the caller sets it) so that only oneDNN's threads compute.
"""
import argparse
import sys
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
    def __init__(self, depth, classes, width=16):
        super().__init__()
        k = (depth - 2) // 6
        self.conv = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        layers, cin = [], width
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for b in range(k):
                layers.append(Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.blocks(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


_nets = {}


def measure(depth, threads, batch, warmup, steps):
    torch.set_num_threads(threads)
    key = (depth, batch)
    if key not in _nets:
        torch.manual_seed(0)
        net = ResNet(depth, 100).to(memory_format=torch.channels_last).train()
        x = torch.randn(batch, 3, 32, 32).to(memory_format=torch.channels_last)
        y = torch.randint(0, 100, (batch,))
        opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)
        _nets[key] = (net, x, y, opt)
    net, x, y, opt = _nets[key]
    best = best_cpu = None
    for i in range(warmup + steps):
        t0, c0 = time.perf_counter(), time.thread_time()
        for p in net.parameters():
            p.grad = None
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        dt, dc = time.perf_counter() - t0, time.thread_time() - c0
        if i >= warmup:
            best = dt if best is None else min(best, dt)
            best_cpu = dc if best_cpu is None else min(best_cpu, dc)
    print("torch model=resnet%d threads=%d images_per_s=%.1f cpu_images_per_s=%.1f"
          % (depth, threads, batch / best, batch / best_cpu), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, nargs="+", default=[20, 32])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()
    if a.serve:
        print("ready", flush=True)
        for line in sys.stdin:
            f = line.split()
            if len(f) == 5:
                measure(*map(int, f))
            else:
                print("error: expected DEPTH THREADS BATCH WARMUP STEPS", flush=True)
        return
    for depth in a.depth:
        for t in a.threads:
            measure(depth, t, a.batch, a.warmup, a.steps)


if __name__ == "__main__":
    main()
