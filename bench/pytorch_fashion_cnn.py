#!/usr/bin/env python3
"""The PyTorch twin of deepkern's default CNN training step (org.deepkern.nn.Models.cnn): the same
layers, batch, loss and optimizer (Adam, lr 1e-3), one training step (forward, backward, update)
on a random batch of 28x28 images, median of the timed steps after one warm-up step.

    /usr/bin/python3 bench/pytorch_fashion_cnn.py --threads 2 --batch 64 --steps 20

Debian's python3-torch (CPU) runs it. bench/compare_pytorch.sh runs it next to deepkern's
`bench` command so that both figures come from one run.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn


def cnn():
    # Models.cnn: conv 3x3 (32, pad 1) + BN + ReLU + maxpool 2, conv 3x3 (64, pad 1) + BN + ReLU +
    # maxpool 2, flatten, 3136 -> 128, ReLU, dropout 0.25, 128 -> 10
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 256),
                         nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--model", choices=["cnn", "mlp"], default="cnn")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net = cnn() if a.model == "cnn" else mlp()
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(a.batch, 1, 28, 28) * 2 - 1
    y = torch.arange(a.batch) % 10
    times = []
    for i in range(a.steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        if i > 0:
            times.append((time.perf_counter() - t0) * 1e3)
    ms = statistics.median(times)
    print(f"pytorch {torch.__version__}: {a.model}, batch {a.batch}, threads {torch.get_num_threads()}")
    print(f"{'pytorch':<8} {ms:12.1f} {a.batch / (ms / 1e3):14.0f}")


if __name__ == "__main__":
    main()
