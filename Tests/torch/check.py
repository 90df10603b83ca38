#!/usr/bin/env python3
"""The companion trainer (scripts/riad_torch.py) checked against riad.

  check.py step DIR       riad's and the companion's step from the same weights,
                          batch and masks: loss, gradients, updated weights
  check.py maps DIR       riad's and the companion's anomaly maps and metrics of
                          the model the companion trained, with riad's partitions
  check.py statedicts DIR plain PyTorch state_dicts (save_file, no riad metadata;
                          F32 with int64 num_batches_tracked, F16, BF16, F64, a
                          DDP "module." prefix) and the outputs riad must give

Each prints what it compared and exits 1 on the first difference beyond
its tolerance.
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import riad_torch  # noqa: E402

failures = []


def expect(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def strip(tensors, prefix):
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def check_step(d):
    riad_loss = json.load(open(os.path.join(d, "riad-step.json")))["loss"]
    from safetensors import safe_open
    with safe_open(os.path.join(d, "torch-step.safetensors"), "pt") as f:
        torch_loss = float(f.metadata()["loss"])
    expect(abs(riad_loss - torch_loss) <= 1e-4, f"loss: riad {riad_loss:.7f}, PyTorch {torch_loss:.7f}")

    before = load_file(os.path.join(d, "init.safetensors"))
    after_riad = load_file(os.path.join(d, "riad-step.safetensors"))
    after_torch = load_file(os.path.join(d, "torch-step.safetensors"))
    grads_riad = strip(load_file(os.path.join(d, "riad-grads.safetensors")), "grad.")
    grads_torch = strip(load_file(os.path.join(d, "torch-grads.safetensors")), "grad.")

    # Gradients: relative to the largest of each tensor.
    worst = max(float((grads_riad[k] - grads_torch[k]).abs().max() / grads_torch[k].abs().max().clamp_min(1e-12))
                for k in grads_torch if grads_torch[k].abs().max() > 1e-6)
    expect(worst <= 1e-3, f"gradients of {len(grads_torch)} parameters: largest difference {worst:.2e} of the tensor's largest gradient")

    # A convolution's bias right before batch norm has a gradient that is zero
    # in exact arithmetic (batch norm subtracts the mean); both sides round it
    # to noise of either sign, and Adam's first step moves by lr * g / (|g| + eps),
    # up to lr in either direction. Those biases are checked to move by no more
    # than lr; every other tensor must agree within 1e-4.
    noise = {k for k in grads_torch if k.endswith(".bias") and ".conv" in k}
    lr = 1e-3
    worst_w, worst_name = 0.0, ""
    for k, v in after_torch.items():
        if k.endswith("num_batches_tracked") or k in noise:
            continue
        diff = float((after_riad[k] - v.float()).abs().max())
        if diff > worst_w:
            worst_w, worst_name = diff, k
    expect(worst_w <= 1e-4, f"updated weights and running statistics ({len(after_torch) - len(noise)} tensors): largest difference {worst_w:.2e} ({worst_name})")
    moved = max(float((after_riad[k] - before[k]).abs().max()) for k in noise)
    tiny = max(float(grads_torch[k].abs().max()) for k in noise)
    expect(moved <= lr * 1.0001 and tiny < 1e-5,
           f"{len(noise)} conv biases before batch norm: gradients at most {tiny:.1e} (zero in exact arithmetic), moved at most {moved:.2e} (lr {lr})")
    changed = max(float((after_torch[k] - before[k]).abs().max()) for k in grads_torch if k not in noise)
    expect(changed > 5e-4, f"the step changed the weights (by up to {changed:.2e}): the comparison is not of two unchanged models")


def check_maps(d):
    riad_maps = load_file(os.path.join(d, "riad-maps.safetensors"))["maps"]
    torch_maps = load_file(os.path.join(d, "torch-maps.safetensors"))["maps"]
    expect(riad_maps.shape == torch_maps.shape, f"map shapes: riad {list(riad_maps.shape)}, PyTorch {list(torch_maps.shape)}")
    diff = float((riad_maps - torch_maps).abs().max())
    spread = float(torch_maps.max() - torch_maps.min())
    expect(diff <= 1e-4, f"anomaly maps of {riad_maps.shape[0]} test images: largest difference {diff:.2e} (maps span {spread:.3f})")
    # The companion's MVTec loader against riad's (the same PNG files).
    inputs = load_file(os.path.join(d, "maps-inputs.safetensors"))
    mine = riad_torch.load_category(os.path.join(d, "data"), 32)
    diff = float((mine["test"] - inputs["x"]).abs().max())
    expect(diff <= 1e-6 and torch.equal(mine["masks"], inputs["masks"]) and torch.equal(mine["labels"], inputs["labels"]),
           f"the companion reads the category as riad does: images within {diff:.1e}, masks and labels equal")
    riad_m = json.load(open(os.path.join(d, "riad-metrics.json")))
    torch_m = json.load(open(os.path.join(d, "torch-metrics.json")))
    for key in ("image_auroc", "pixel_auroc"):
        expect(abs(riad_m[key] - torch_m[key]) <= 1e-4, f"{key}: riad {riad_m[key]:.6f}, PyTorch {torch_m[key]:.6f}")


def check_statedicts(d):
    """Writes state_dicts as PyTorch users do, and what riad must compute from them."""
    torch.manual_seed(3)
    net = riad_torch.UNet(channels=3, base=4, depth=3)
    # Batch norm statistics away from their initial 0/1, so that loading them matters.
    with torch.no_grad():
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.uniform_(-0.2, 0.2)
            elif name.endswith("running_var"):
                b.uniform_(0.5, 1.5)
            elif name.endswith("num_batches_tracked"):
                b.fill_(17)
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    cases = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "f64": torch.float64}
    expected = {"x": x}
    for tag, dtype in cases.items():
        state = {k: (v if v.dtype == torch.int64 else v.to(dtype)).contiguous() for k, v in net.state_dict().items()}
        save_file(state, os.path.join(d, f"plain-{tag}.safetensors"))
        rounded = riad_torch.UNet(channels=3, base=4, depth=3)
        rounded.load_state_dict({k: v if v.dtype == torch.int64 else v.float() for k, v in state.items()})
        with torch.no_grad():
            expected[f"y_{tag}"] = rounded.eval()(x)
    ddp = {"module." + k: v for k, v in net.state_dict().items()}
    save_file(ddp, os.path.join(d, "plain-ddp.safetensors"))
    tanh = riad_torch.UNet(channels=3, base=4, depth=3, out="tanh")
    tanh.load_state_dict(net.state_dict())
    with torch.no_grad():
        expected["y_tanh"] = tanh.eval()(x)
    save_file(expected, os.path.join(d, "plain-expected.safetensors"))
    dtypes = {k: str(v.dtype) for k, v in load_file(os.path.join(d, "plain-f32.safetensors")).items() if "num_batches" in k}
    expect(set(dtypes.values()) == {"torch.int64"}, f"the plain state_dict holds {len(dtypes)} int64 num_batches_tracked tensors")


if __name__ == "__main__":
    what, d = sys.argv[1], sys.argv[2]
    {"step": check_step, "maps": check_maps, "statedicts": check_statedicts}[what](d)
    sys.exit(1 if failures else 0)
