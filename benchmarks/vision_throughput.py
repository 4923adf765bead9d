"""Training and inference throughput of the vision backbones per input size, on this machine.

The numbers behind the input-size defaults of the image and video learners
(``max_side`` on CPU, ``max_side_cuda`` on a GPU): images per second for an
SGD step (batch 32, forward + backward) and for inference, per backbone and
side. Run it on the device that will train (CUDA is used when present).

Usage::

    .venv/bin/python -m benchmarks.vision_throughput --threads 1
"""
from __future__ import annotations

import argparse
import sys
import time

from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import RESULTS


def throughput(net, batch, train: bool, steps: int = 3) -> float:
    import torch

    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    net.train(train)
    for i in range(steps + 1):
        if i == 1:
            if batch.is_cuda:
                torch.cuda.synchronize()
            tic = time.perf_counter()
        if train:
            loss = net(batch).float().square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        else:
            with torch.no_grad():
                net(batch)
    if batch.is_cuda:
        torch.cuda.synchronize()
    return len(batch) * steps / (time.perf_counter() - tic)


def main(argv=None) -> int:
    import torch

    from autodl_solver.domains.core.torch_utils import device
    from autodl_solver.domains.vision.vision_backbones import build_image_backbone, build_video_backbone

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--sides", nargs="+", type=int, default=[32, 64, 128])
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = device()
    info = machine_info()
    lines = ["# Vision backbone throughput", "",
             f"Command: `python -m benchmarks.vision_throughput {' '.join(sys.argv[1:] if argv is None else argv)}`  ",
             f"Machine: {info['cpu']}, device {dev}, GPU {info['gpu'] or 'none'}, torch threads "
             f"{torch.get_num_threads()}, CPUs used {info['cpus_used']}; commit {info['git_commit']}; {info['date']}",
             "", "| backbone | input | train images/s | inference images/s |", "|---|---|---|---|"]
    for arch in ("resnet18", "efficientnet_lite0"):
        net = build_image_backbone(arch, 3)[0].to(dev)
        for side in args.sides:
            x = torch.randn(32, 3, side, side, device=dev)
            lines.append(f"| {arch} | 3x{side}x{side} | {throughput(net, x, True):.0f} | "
                         f"{throughput(net, x, False):.0f} |")
            print(lines[-1], flush=True)
    for arch in ("mc3_18", "r3d_18", "r2plus1d_18"):
        net = build_video_backbone(arch, 3)[0].to(dev)
        for side in args.sides[:2]:
            x = torch.randn(16, 3, 4, side, side, device=dev)
            lines.append(f"| {arch} | 3x4x{side}x{side} (clips) | {throughput(net, x, True):.1f} | "
                         f"{throughput(net, x, False):.1f} |")
            print(lines[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "cuda" if dev.type == "cuda" else "cpu"
    (RESULTS / f"vision_throughput_{suffix}.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
