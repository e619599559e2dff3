"""The parity recipe of `mutau train` (issue 5), shared by the Fashion-MNIST
benchmarks: ResNet-20, batch 128 (last partial batch dropped), lr 0.1 with a
per-step cosine decay to 0, weight decay 5e-4 on every parameter, pad-4 crop +
flip, on Debian's dataset-fashion-mnist.
"""
import json
import os
import subprocess

DATA = "/usr/share/datasets/fashion-mnist"


def run_mutau(path, seed, epochs, threads, out, limit_train=0, limit_test=0, mu=0.9, delay=0,
              workers=1, name=None, precision="fp32"):
    """Trains the recipe with `mutau train` into out/name and returns the test
    top-1. delay > 0: delay mode, N + 1 workers served in turn (one compute
    thread of `threads`); else workers > 1: that many asynchronous worker
    threads of `threads` threads each. precision: fp32 or bf16."""
    d = os.path.join(out, name or "mutau-seed%d" % seed)
    cmd = [path, "train", "--data", DATA, "--model", "resnet20", "--batch", "128", "--lr", "0.1",
           "--schedule", "cosine", "--lr-final", "0", "--epochs", str(epochs), "--momentum",
           str(mu), "--weight-decay", "5e-4", "--wd-bn-bias", "yes", "--seed", str(seed),
           "--threads", str(threads), "--eval-every", "0", "--progress", "plain", "--out", d,
           "--force", "--limit-train", str(limit_train), "--limit-test", str(limit_test),
           "--precision", precision]
    if delay:
        cmd += ["--workers", str(delay + 1), "--mode", "delay", "--delay", str(delay)]
    elif workers > 1:
        cmd += ["--workers", str(workers), "--mode", "async"]
    subprocess.run(cmd, check=True)
    with open(os.path.join(d, "final.json")) as f:
        return json.load(f)["final"]["top1"]
