#!/usr/bin/python3
"""PyTorch's memory for the plain CIFAR ResNet-n at a given width (option A
shortcuts, 3x32x32, 100 classes), beside `mutau bench --memory`: the process's
peak resident size after a few training steps (forward, loss, backward, SGD
with momentum) at the given batch, channels_last, and the resident size before
the model was built. Prints one line:
    torch_memory model=resnet32 width=96 batch=128 base_rss_bytes=... peak_rss_bytes=...
"""
import argparse
import resource

import torch
import torch.nn.functional as F

from torch_resnet import ResNet  # the same network as the speed benchmark's


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=32)
    ap.add_argument("--width", type=int, default=96)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    base = rss_bytes()
    model = ResNet(a.depth, 100, a.width).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(a.batch, 3, 32, 32).to(memory_format=torch.channels_last)
    y = torch.randint(0, 100, (a.batch,))
    for _ in range(a.steps):
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"torch_memory model=resnet{a.depth} width={a.width} batch={a.batch} "
          f"base_rss_bytes={base} peak_rss_bytes={peak}", flush=True)


if __name__ == "__main__":
    main()
