#!/usr/bin/python3
"""Parity of `mutau train` with PyTorch on real data (issue 5).

Recipe: Fashion-MNIST, ResNet-20 (He et al.'s CIFAR ResNet, option-A
shortcuts, width 16), batch 128 (last partial batch dropped), lr 0.1 with a
per-step cosine decay to 0 over 3 epochs, momentum 0.9, weight decay 5e-4 on
every parameter, pad-4 random crop + horizontal flip, per-channel
normalisation by the training set's mean and standard deviation. Both
frameworks run the same recipe for each seed; the script prints each test
top-1 and the means, and one machine-readable line per framework:

    bench parity_fashion_mnist framework=pytorch seeds=2 top1_mean=...

With --delay N both frameworks take step k's gradient at the parameters of
step k - N (at the initial ones before step N), the paper's eq. 1.3 with a
fixed staleness: mutau as `--mode delay --delay N` (N + 1 workers served in
turn), PyTorch by evaluating the gradient on a copy of the parameters N steps
old and applying it to the current ones with torch.optim.SGD. This checks that
what staleness does to accuracy is the method's and not mutau's.
--momentum changes mu in both.

Usage: bench/parity_fashion_mnist.py [--mutau PATH] [--seeds 1,2] [--epochs 3]
       [--threads 2] [--out DIR] [--only pytorch|mutau] [--momentum 0.9] [--delay 0]
       [--limit-train N] [--limit-test N]   (the first N images: a quicker, weaker check)
Long: about ten minutes per run and framework on two cores.
"""
import collections
import argparse
import gzip
import math
import os
import struct
import sys
import time

import numpy as np
import torch
from recipe import DATA, run_mutau
import torch.nn as nn
import torch.nn.functional as F

def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        ndim = magic & 0xFF
        dims = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def find(name):
    for cand in (name, name + ".gz"):
        p = os.path.join(DATA, cand)
        if os.path.exists(p):
            return p
    sys.exit("parity: %s not found in %s (apt-get install dataset-fashion-mnist)" % (name, DATA))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, (cout - cin) // 2

    def forward(self, x):
        out = F.relu(self.b1(self.c1(x)))
        out = self.b2(self.c2(out))
        sc = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.pad:
            sc = F.pad(sc, (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + sc)


class ResNet(nn.Module):
    def __init__(self, depth=20, width=16, classes=10, cin=1):
        super().__init__()
        n = (depth - 2) // 6
        self.conv = nn.Conv2d(cin, width, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        layers, c = [], width
        for stage in range(3):
            cout = width * 2 ** stage
            for i in range(n):
                layers.append(Block(c, cout, 2 if (stage > 0 and i == 0) else 1))
                c = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(c, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.layers(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def augment(batch_u8, rng, pad=4):
    n, h, w = batch_u8.shape
    padded = np.zeros((n, h + 2 * pad, w + 2 * pad), np.uint8)
    padded[:, pad:pad + h, pad:pad + w] = batch_u8
    out = np.empty_like(batch_u8)
    dy = rng.integers(0, 2 * pad + 1, n)
    dx = rng.integers(0, 2 * pad + 1, n)
    flip = rng.integers(0, 2, n)
    for i in range(n):
        img = padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = img[:, ::-1] if flip[i] else img
    return out


def run_pytorch(seed, epochs, threads, limit_train=0, limit_test=0, lr=0.1, batch=128, wd=5e-4,
                mu=0.9, delay=0):
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    xtr = read_idx(find("train-images-idx3-ubyte"))
    ytr = read_idx(find("train-labels-idx1-ubyte")).astype(np.int64)
    xte = read_idx(find("t10k-images-idx3-ubyte"))
    yte = read_idx(find("t10k-labels-idx1-ubyte")).astype(np.int64)
    if limit_train:
        xtr, ytr = xtr[:limit_train], ytr[:limit_train]
    if limit_test:
        xte, yte = xte[:limit_test], yte[:limit_test]
    mean = xtr.mean() / 255.0
    std = (xtr / 255.0).std()
    norm = lambda a: (torch.from_numpy(a.astype(np.float32) / 255.0) - mean) / std
    model = ResNet()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=mu, weight_decay=wd)
    steps = len(xtr) // batch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / (epochs * steps), 1.0))))
    params = list(model.parameters())
    # The last delay + 1 parameter versions; history[0] is theta_{k - delay}
    # (theta_0 before step delay).
    history = collections.deque(maxlen=delay + 1)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        order = rng.permutation(len(xtr))
        for b in range(steps):
            idx = order[b * batch:(b + 1) * batch]
            x = norm(augment(xtr[idx], rng)).unsqueeze(1)
            if delay:
                with torch.no_grad():
                    current = [p.detach().clone() for p in params]
                    history.append(current)
                    for p, old in zip(params, history[0]):
                        p.copy_(old)
            loss = F.cross_entropy(model(x), torch.from_numpy(ytr[idx]))
            opt.zero_grad()
            loss.backward()
            if delay:
                with torch.no_grad():
                    for p, cur in zip(params, current):
                        p.copy_(cur)
            opt.step()
            sched.step()
        print("pytorch seed %d epoch %d loss %.4f (%.0f s)" % (seed, ep + 1, loss.item(),
                                                              time.time() - t0), flush=True)
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xte), 500):
            x = norm(xte[i:i + 500]).unsqueeze(1)
            correct += (model(x).argmax(1).numpy() == yte[i:i + 500]).sum()
    return correct / len(xte)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mutau", default=os.environ.get("MUTAU", "build/mutau"))
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="runs/parity")
    ap.add_argument("--only", choices=["pytorch", "mutau"])
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--limit-test", type=int, default=0)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--delay", type=int, default=0)
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    res = {}
    for fw in ("mutau", "pytorch"):
        if a.only and a.only != fw:
            continue
        accs = []
        for s in seeds:
            acc = (run_mutau(a.mutau, s, a.epochs, a.threads, a.out, a.limit_train, a.limit_test,
                             mu=a.momentum, delay=a.delay)
                   if fw == "mutau" else
                   run_pytorch(s, a.epochs, a.threads, a.limit_train, a.limit_test, mu=a.momentum,
                               delay=a.delay))
            print("%s seed %d: test top-1 %.2f%%" % (fw, s, 100 * acc), flush=True)
            accs.append(acc)
        res[fw] = float(np.mean(accs))
        print("bench parity_fashion_mnist framework=%s seeds=%d limit_train=%d momentum=%g "
              "delay=%d top1_mean=%.4f top1=%s" % (fw, len(seeds), a.limit_train, a.momentum,
                                                   a.delay, res[fw],
                           ",".join("%.4f" % x for x in accs)), flush=True)
    if len(res) == 2:
        gap = 100 * (res["mutau"] - res["pytorch"])
        print("mutau %.2f%% vs pytorch %.2f%%: difference %+.2f points (target: within 1)" % (
            100 * res["mutau"], 100 * res["pytorch"], gap))
        return 0 if abs(gap) <= 1.0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
