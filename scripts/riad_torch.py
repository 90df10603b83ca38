#!/usr/bin/env python3
"""riad's companion trainer: the same RIAD model and training in PyTorch, for GPUs.

riad trains on the CPU; at the paper's scale (unet(base: 64), 256x256
images, 300 epochs a category) that takes days. This script trains the
same model with PyTorch on one GPU or on many (torchrun starts one process
per GPU and DistributedDataParallel averages the gradients), and writes
checkpoints riad loads: `load("model.safetensors")` in riad.

What is the same as riad (SPEC section 5): the U-Net (widths
base*(1,2,4,8,8), 4x4 stride-2 convolutions down, transposed convolutions up,
batch norm + ReLU, sigmoid/tanh/none output), the masks (k x k cells, one
permutation cut into n disjoint sets, one k per batch drawn from ks), the
loss (MSGMS + SSIM + L2 with riad's constants), Adam (lr 1e-4, weight decay
1e-5 as an L2 term), the anomaly map (MSGMS per k, mean over k, border-aware
mean filter) and the MVTec AD loader (area/bilinear resize). The random
numbers are PyTorch's, so a run here and a run in riad agree in
distribution, not draw for draw; `step` and `maps` take riad's masks to
compare one step or one map exactly (scripts/test --torch does).

  python scripts/riad_torch.py train DATA/bottle --size 256 --base 64 --epochs 300 --output bottle.safetensors
  torchrun --nproc_per_node=4 scripts/riad_torch.py train DATA/bottle --batch 4 --output bottle.safetensors
  python scripts/riad_torch.py evaluate DATA/bottle --model bottle.safetensors

Needs torch, numpy, pillow and safetensors. It is a tool for users who have
PyTorch; riad itself never needs Python.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- the model


class Down(nn.Module):
    """conv (3x3 at the first level, else 4x4 stride 2) -> BN -> ReLU -> conv 3x3 -> BN -> ReLU."""

    def __init__(self, cin, cout, first):
        super().__init__()
        kernel, stride = (3, 1) if first else (4, 2)
        self.conv1 = nn.Conv2d(cin, cout, kernel, stride, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class Up(nn.Module):
    """Transposed 4x4 stride-2 conv up, [up, skip] concatenated, two conv 3x3 -> BN -> ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.upconv = nn.ConvTranspose2d(cin, cout, 4, 2, 1)
        self.conv1 = nn.Conv2d(2 * cout, cout, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x, skip):
        h = torch.cat([self.upconv(x), skip], 1)
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(h))))))


class UNet(nn.Module):
    """riad's `unet(channels, base, depth, out)`, with the same state_dict names."""

    def __init__(self, channels=3, base=64, depth=5, out="sigmoid"):
        super().__init__()
        if out not in ("sigmoid", "tanh", "none"):
            raise ValueError(f"out must be sigmoid, tanh or none, got {out!r}")
        self.config = {"channels": channels, "base": base, "depth": depth, "out": out}
        widths = [base * min(2 ** i, 8) for i in range(depth)]
        for i in range(depth):
            setattr(self, f"down{i + 1}", Down(channels if i == 0 else widths[i - 1], widths[i], i == 0))
        for j in range(depth - 1):
            i = depth - 1 - j
            setattr(self, f"up{j + 1}", Up(widths[i], widths[i - 1]))
        self.final = nn.Conv2d(widths[0], channels, 3, 1, 1)

    def forward(self, x):
        depth = self.config["depth"]
        skips = []
        for i in range(depth):
            x = getattr(self, f"down{i + 1}")(x)
            skips.append(x)
        x = skips.pop()
        for j in range(depth - 1):
            x = getattr(self, f"up{j + 1}")(x, skips.pop())
        y = self.final(x)
        out = self.config["out"]
        if out == "sigmoid":
            return torch.sigmoid(y)
        if out == "tanh":
            return (torch.tanh(y) + 1) * 0.5
        return y


class Inpainter(nn.Module):
    """sum_i (1 - M_i) * net(x * M_i): one module, so that DistributedDataParallel
    sees one forward per backward however many masks there are. In training
    mode each masked copy is its own pass (its own batch statistics), as in riad."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, masks):
        if self.training:
            return sum((1 - m) * self.net(x * m) for m in masks.unsqueeze(1))
        b = x.shape[0]
        out = self.net(torch.cat([x * m for m in masks.unsqueeze(1)], 0))
        return sum((1 - m) * out[i * b:(i + 1) * b] for i, m in enumerate(masks.unsqueeze(1)))


# ---------------------------------------------------------------- masks


def make_masks(height, width, k, n, generator, device="cpu"):
    """[n,1,H,W] of 0/1: the k x k cells (clipped at the borders) in one random
    order, cut into n contiguous sets; mask i is 0 on set i (riad's Masks.make)."""
    gh, gw = -(-height // k), -(-width // k)
    cells = gh * gw
    perm = torch.randperm(cells, generator=generator)
    sets = torch.empty(cells, dtype=torch.long)
    sets[perm] = torch.arange(cells) * n // cells
    grid = sets.view(gh, gw).repeat_interleave(k, 0).repeat_interleave(k, 1)[:height, :width]
    masks = (grid.unsqueeze(0) != torch.arange(n).view(n, 1, 1)).float()
    return masks.unsqueeze(1).to(device)


# ---------------------------------------------------------------- losses and maps

GMS_C = 0.0026


def _prewitt(device, dtype):
    hx = torch.tensor([[1.0, 0.0, -1.0]] * 3) / 3
    return torch.stack([hx, hx.t()]).unsqueeze(1).to(device=device, dtype=dtype)


def gradient_magnitude(x):
    gray = x.mean(1, keepdim=True)
    g = F.conv2d(gray, _prewitt(x.device, x.dtype), padding=1)
    return (g.square().sum(1, keepdim=True) + 1e-12).sqrt()


def gms(a, b):
    ga, gb = gradient_magnitude(a), gradient_magnitude(b)
    return (2 * ga * gb + GMS_C) / (ga.square() + gb.square() + GMS_C)


def msgms(a, b, scales=4):
    """1 - the mean over scales (2x2 average pooling between them) of GMS,
    each scale bilinearly upsampled (half-pixel centres) to the input size."""
    size = a.shape[-2:]
    total = 0
    for s in range(scales):
        if s > 0:
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        m = gms(a, b)
        if s > 0:
            m = F.interpolate(m, size=size, mode="bilinear", align_corners=False)
        total = total + m
    return 1 - total / scales


def ssim_map(a, b, window=11, sigma=1.5):
    """SSIM per channel with a Gaussian window, zero padding, C1 = 0.01^2, C2 = 0.03^2."""
    n, c, h, w = a.shape
    x = torch.arange(window, dtype=torch.float32) - window // 2
    g = torch.exp(-x * x / (2 * sigma * sigma))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).view(1, 1, window, window).to(device=a.device, dtype=a.dtype)
    stats = torch.cat([a, b, a * a, b * b, a * b], 0).reshape(5 * n * c, 1, h, w)
    f = F.conv2d(stats, kernel, padding=window // 2).view(5, n, c, h, w)
    mu_a, mu_b, aa, bb, ab = f
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    num = (2 * mu_a * mu_b + c1) * (2 * (ab - mu_a * mu_b) + c2)
    den = (mu_a.square() + mu_b.square() + c1) * (aa - mu_a.square() + bb - mu_b.square() + c2)
    return num / den


def riad_loss(x, r):
    """mean(MSGMS) + mean(1 - SSIM) + mean((x - r)^2)."""
    return msgms(x, r).mean() + (1 - ssim_map(x, r)).mean() + (x - r).square().mean()


def smooth_size(side):
    """21 at 256 pixels, scaled with the side to the nearest odd number >= 3 (ties to even, as riad)."""
    s = round(21 * side / 256)
    if s % 2 == 0:
        s += 1
    return max(3, s)


def mean_filter(m, size):
    """The mean over the window's pixels that lie inside the image."""
    return F.avg_pool2d(m, size, stride=1, padding=size // 2, count_include_pad=False)


@torch.no_grad()
def anomaly_map(inpainter, x, partitions, smooth=None):
    """The RIAD map [N,1,H,W]: MSGMS between x and each partition's composed
    inpainting, averaged, then mean-filtered. `partitions` is a list of
    [n,1,H,W] masks (riad's partitions() gives the ones riad draws)."""
    was = inpainter.training
    inpainter.eval()
    total = sum(msgms(x, inpainter(x, m)) for m in partitions) / len(partitions)
    inpainter.train(was)
    size = smooth or smooth_size(x.shape[-2])
    return total if size <= 1 else mean_filter(total, size)


def draw_partitions(height, width, ks, n, draws, generator, device):
    return [make_masks(height, width, k, n, generator, device) for k in ks for _ in range(draws)]


# ---------------------------------------------------------------- metrics


def auroc(scores, labels):
    """Area under the ROC curve by the rank-sum formula, ties counted half."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel() > 0.5
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    rank_of = np.empty(len(s))
    rank_of[order] = ranks
    return float((rank_of[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


# ---------------------------------------------------------------- data


def _area_taps(n, out):
    """[out, n] weights: area averaging when shrinking, bilinear with
    half-pixel centres when enlarging (riad's ImageOps.resize)."""
    m = np.zeros((out, n), dtype=np.float64)
    scale = n / out
    for o in range(out):
        if out < n:
            a, b = o * scale, (o + 1) * scale
            i = int(a)
            while i < b and i < n:
                cover = min(b, i + 1) - max(a, i)
                if cover > 1e-12:
                    m[o, i] += cover / scale
                i += 1
        else:
            src = max((o + 0.5) * scale - 0.5, 0)
            i0 = min(int(src), n - 1)
            i1 = min(i0 + 1, n - 1)
            frac = src - i0
            m[o, i0] += 1 - frac
            m[o, i1] += frac
    return m.astype(np.float32)


def load_image(path, size, gray):
    """[C,size,size] in [0,1]: alpha dropped, gray replicated to 3 channels
    (or colour reduced to luma when gray), resized like riad."""
    from PIL import Image
    with Image.open(path) as im:
        if im.mode == "P":
            im = im.convert("RGBA")
        a = np.asarray(im)
    scale = 65535.0 if a.dtype == np.uint16 or a.max(initial=0) > 255 else 255.0
    a = a.astype(np.float32) / scale
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    if a.shape[0] in (2, 4):
        a = a[:-1]
    if gray and a.shape[0] == 3:
        a = (0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2])[None]
    elif not gray and a.shape[0] == 1:
        a = np.repeat(a, 3, 0)
    h, w = a.shape[1:]
    if (h, w) != (size, size):
        ry, rx = _area_taps(h, size), _area_taps(w, size)
        a = np.einsum("yh,chw,xw->cyx", ry, a, rx)
    return a.astype(np.float32)


def load_mask(path, size):
    from PIL import Image
    with Image.open(path) as im:
        a = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    h, w = a.shape
    ys = np.minimum(h - 1, ((np.arange(size) + 0.5) * h / size).astype(int))
    xs = np.minimum(w - 1, ((np.arange(size) + 0.5) * w / size).astype(int))
    return (a[ys][:, xs] > 0.5).astype(np.float32)[None]


def _pngs(folder):
    if not os.path.isdir(folder):
        sys.exit(f"riad_torch: '{folder}' is missing (expected the MVTec AD layout: train/good, test/<defect>, ground_truth/<defect>)")
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(".png"))
    if not files:
        sys.exit(f"riad_torch: '{folder}' holds no PNG images")
    return files


def load_category(path, size, gray=False, test=True):
    """An MVTec AD category folder, as riad's mvtec(path, size) reads it."""
    train_dir = os.path.join(path, "train", "good")
    train = np.stack([load_image(os.path.join(train_dir, f), size, gray) for f in _pngs(train_dir)])
    data = {"train": torch.from_numpy(train)}
    if not test:
        return data
    root = os.path.join(path, "test")
    defects = sorted((d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))),
                     key=lambda d: "" if d == "good" else d)
    images, masks, labels = [], [], []
    for d in defects:
        for f in _pngs(os.path.join(root, d)):
            images.append(load_image(os.path.join(root, d, f), size, gray))
            if d == "good":
                masks.append(np.zeros((1, size, size), np.float32))
                labels.append(0.0)
            else:
                stem = os.path.splitext(f)[0]
                masks.append(load_mask(os.path.join(path, "ground_truth", d, f"{stem}_mask.png"), size))
                labels.append(1.0)
    data.update(test=torch.from_numpy(np.stack(images)), masks=torch.from_numpy(np.stack(masks)),
                labels=torch.tensor(labels))
    return data


# ---------------------------------------------------------------- checkpoints

OPTIMIZER = "optimizer."


def state_for_riad(net):
    """The model's state_dict as F32 tensors (num_batches_tracked kept: riad ignores it)."""
    return {k: (v if v.dtype == torch.int64 else v.float()).detach().to("cpu").contiguous()
            for k, v in net.state_dict().items()}


def save_checkpoint(path, net, optimizer=None, extra=None):
    """A riad checkpoint (config in __metadata__); with an optimizer, its Adam
    moments and settings under riad's names, so riad's load_training reads it."""
    from safetensors.torch import save_file
    tensors = state_for_riad(net)
    meta = {"format": "riad", "model": "unet", "config": json.dumps(net.config)}
    if optimizer is not None:
        names = {id(p): n for n, p in net.named_parameters()}
        group = optimizer.param_groups[0]
        order = [names[id(p)] for p in group["params"]]
        step = 0
        for name, p in zip(order, group["params"]):
            state = optimizer.state.get(p, {})
            for buf in ("exp_avg", "exp_avg_sq"):
                tensors[f"{OPTIMIZER}{buf}.{name}"] = state[buf].detach().float().cpu().contiguous() if buf in state else torch.zeros_like(p, device="cpu")
            if "step" in state:
                step = int(state["step"])
        meta["optimizer"] = json.dumps({"kind": "adam", "lr": group["lr"], "betas": list(group["betas"]), "eps": group["eps"],
                                        "weight_decay": group["weight_decay"], "step": step, "params": order})
    meta.update(extra or {})
    tmp = f"{path}.tmp-{os.getpid()}"
    save_file(tensors, tmp, metadata=meta)
    os.replace(tmp, path)


def load_model(path, out=None, device="cpu"):
    """A U-Net from a riad checkpoint or a plain PyTorch state_dict (config inferred)."""
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys() if not k.startswith(OPTIMIZER)}
    if "config" in meta:
        config = json.loads(meta["config"])
    else:
        first = tensors["down1.conv1.weight"]
        depth = 1
        while f"down{depth + 1}.conv1.weight" in tensors:
            depth += 1
        config = {"channels": first.shape[1], "base": first.shape[0], "depth": depth, "out": "sigmoid"}
    if out:
        config["out"] = out
    net = UNet(**config)
    own = net.state_dict()
    for k in own:  # riad's checkpoints have no num_batches_tracked
        if k.endswith("num_batches_tracked") and k not in tensors:
            tensors[k] = own[k]
    net.load_state_dict({k: v.to(own[k].dtype) for k, v in tensors.items()})
    return net.to(device), meta


def load_optimizer_state(path, net, optimizer):
    """Adam's moments and step count from a checkpoint written with its optimizer."""
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
        if "optimizer" not in meta:
            return 0
        settings = json.loads(meta["optimizer"])
        params = dict(net.named_parameters())
        for name in settings["params"]:
            p = params[name]
            optimizer.state[p] = {
                "step": torch.tensor(float(settings["step"])),
                "exp_avg": f.get_tensor(f"{OPTIMIZER}exp_avg.{name}").to(p.device),
                "exp_avg_sq": f.get_tensor(f"{OPTIMIZER}exp_avg_sq.{name}").to(p.device),
            }
    return json.loads(meta.get("companion", "{}")).get("epochs", 0)


# ---------------------------------------------------------------- commands


def setup_distributed(device_arg):
    """One process per GPU under torchrun (WORLD_SIZE > 1), else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_arg == "auto":
        device_arg = "cuda" if torch.cuda.is_available() else "cpu"
    if device_arg == "cuda":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device(device_arg)
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return world, rank, device


def cmd_train(a):
    world, rank, device = setup_distributed(a.device)
    torch.manual_seed(a.seed)
    data = load_category(a.data, a.size, a.gray, test=False)["train"]
    channels = data.shape[1]
    if a.resume or a.init:
        net, _ = load_model(a.resume or a.init, device=device)
    else:
        net = UNet(channels, a.base, a.depth, a.out).to(device)
    if a.sync_bn and world > 1:
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    inpainter = Inpainter(net).to(device)
    model = inpainter
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        model = DistributedDataParallel(inpainter, device_ids=[device.index] if device.type == "cuda" else None)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, betas=(0.9, 0.999), weight_decay=a.weight_decay)
    first_epoch = load_optimizer_state(a.resume, net, opt) if a.resume else 0
    n_images = data.shape[0]
    per_rank = -(-n_images // world)
    steps = -(-per_rank // a.batch)
    data = data.to(device)
    # Each epoch's generator (order, k, masks) is seeded alike on every rank:
    # the ranks draw the same k and masks and take disjoint slices of the order.
    start = time.time()
    for epoch in range(a.epochs):
        epoch_gen = torch.Generator().manual_seed(a.seed * 1_000_003 + epoch + first_epoch)
        order = torch.randperm(n_images, generator=epoch_gen)
        order = torch.cat([order, order[:per_rank * world - n_images]])[rank::world]  # equal shares
        total, t0 = 0.0, time.time()
        for s in range(steps):
            idx = order[s * a.batch:(s + 1) * a.batch]
            if len(idx) == 0:
                break
            x = data[idx.to(device)]
            k = a.ks[int(torch.randint(len(a.ks), (1,), generator=epoch_gen))]
            masks = make_masks(x.shape[2], x.shape[3], k, a.n, epoch_gen, device)
            loss = riad_loss(x, model(x, masks))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
        done = first_epoch + epoch + 1
        if rank == 0:
            print(f"epoch {done}/{first_epoch + a.epochs}  loss {total / steps:.4f}  {time.time() - t0:.1f}s"
                  f"  ({world} process{'es' if world > 1 else ''}, {device.type})", flush=True)
            if a.save_every and done % a.save_every == 0 and a.output:
                save_checkpoint(a.output, net, opt, {"companion": json.dumps({"epochs": done})})
    if rank == 0 and a.output:
        save_checkpoint(a.output, net, opt, {"companion": json.dumps({"epochs": first_epoch + a.epochs})})
        print(f"wrote {a.output} ({time.time() - start:.1f}s); in riad: net = load(\"{a.output}\")", flush=True)
    if world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()


def cmd_step(a):
    """One training step from given weights, images and masks (riad's, through
    save_tensors), written as a checkpoint with the loss in its metadata."""
    from safetensors.torch import load_file
    net, _ = load_model(a.init)
    inputs = load_file(a.inputs)
    x, masks = inputs["x"], inputs["masks"]
    inpainter = Inpainter(net).train()
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, betas=(0.9, 0.999), weight_decay=a.weight_decay)
    loss = riad_loss(x, inpainter(x, masks))
    opt.zero_grad()
    loss.backward()
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in net.named_parameters()}
    opt.step()
    save_checkpoint(a.output, net, extra={"loss": repr(loss.item())})
    if a.grads:
        from safetensors.torch import save_file
        save_file(grads, a.grads)
    print(json.dumps({"loss": loss.item()}))


def cmd_maps(a):
    """Anomaly maps of given images with given partitions (m0, m1, ... in order)."""
    from safetensors.torch import load_file, save_file
    net, _ = load_model(a.model)
    inputs = load_file(a.inputs)
    x = inputs["x"]
    partitions = []
    while f"m{len(partitions)}" in inputs:
        partitions.append(inputs[f"m{len(partitions)}"])
    maps = anomaly_map(Inpainter(net), x, partitions, a.smooth)
    out = {"maps": maps.contiguous()}
    result = {}
    if "labels" in inputs and "masks" in inputs:
        scores = maps.flatten(1).max(1).values
        result = {"image_auroc": auroc(scores, inputs["labels"]), "pixel_auroc": auroc(maps.flatten(), inputs["masks"].flatten())}
    save_file(out, a.output)
    print(json.dumps(result))


def cmd_evaluate(a):
    """Image and pixel AUROC of a category with maps drawn here (PyTorch's generator)."""
    _, _, device = setup_distributed(a.device)
    net, _ = load_model(a.model, device=device)
    size = a.size
    data = load_category(a.data, size, net.config["channels"] == 1)
    g = torch.Generator().manual_seed(a.seed)
    inpainter = Inpainter(net)
    maps = []
    for s in range(0, data["test"].shape[0], a.batch):
        x = data["test"][s:s + a.batch].to(device)
        parts = draw_partitions(size, size, a.ks, a.n, 1, g, device)
        maps.append(anomaly_map(inpainter, x, parts).cpu())
    maps = torch.cat(maps)
    scores = maps.flatten(1).max(1).values
    print(json.dumps({"image_auroc": auroc(scores, data["labels"]), "pixel_auroc": auroc(maps.flatten(), data["masks"].flatten()),
                      "images": int(maps.shape[0])}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train on an MVTec AD category folder (one GPU, or many under torchrun)")
    t.add_argument("data", help="a category folder with train/good/*.png")
    t.add_argument("--size", type=int, default=256)
    t.add_argument("--gray", action="store_true", help="one channel (luma) instead of three")
    t.add_argument("--base", type=int, default=64)
    t.add_argument("--depth", type=int, default=5)
    t.add_argument("--out", default="sigmoid", choices=["sigmoid", "tanh", "none"], help="output activation")
    t.add_argument("--epochs", type=int, default=300)
    t.add_argument("--batch", type=int, default=4, help="images per step and per process")
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--weight-decay", type=float, default=1e-5)
    t.add_argument("--ks", type=int, nargs="+", default=[2, 4, 8, 16])
    t.add_argument("--n", type=int, default=3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--init", help="start from these weights (a riad checkpoint)")
    t.add_argument("--resume", help="continue a checkpoint this script wrote (weights, Adam's moments, epochs)")
    t.add_argument("--output", help="the checkpoint to write (riad's load reads it); the --resume file, else model.safetensors")
    t.add_argument("--save-every", type=int, default=0, help="also write the checkpoint every this many epochs")
    t.add_argument("--sync-bn", action="store_true", help="batch statistics over all processes (SyncBatchNorm)")
    t.add_argument("--device", default="auto", help="auto (cuda when there is one), cuda or cpu")
    t.set_defaults(run=cmd_train)

    s = sub.add_parser("step", help="one training step from riad's weights, images and masks (for the equivalence test)")
    s.add_argument("--init", required=True)
    s.add_argument("--inputs", required=True, help="safetensors with x [N,C,H,W] and masks [n,1,H,W]")
    s.add_argument("--lr", type=float, default=1e-4)
    s.add_argument("--weight-decay", type=float, default=1e-5)
    s.add_argument("--output", required=True)
    s.add_argument("--grads", help="also write the gradients here")
    s.set_defaults(run=cmd_step)

    m = sub.add_parser("maps", help="anomaly maps with riad's partitions (for the equivalence test)")
    m.add_argument("--model", required=True)
    m.add_argument("--inputs", required=True, help="safetensors with x and partitions m0, m1, ... (and optional labels, masks)")
    m.add_argument("--smooth", type=int)
    m.add_argument("--output", required=True)
    m.set_defaults(run=cmd_maps)

    e = sub.add_parser("evaluate", help="image and pixel AUROC of a category")
    e.add_argument("data")
    e.add_argument("--model", required=True)
    e.add_argument("--size", type=int, default=256)
    e.add_argument("--ks", type=int, nargs="+", default=[2, 4, 8, 16])
    e.add_argument("--n", type=int, default=3)
    e.add_argument("--batch", type=int, default=8)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default="auto")
    e.set_defaults(run=cmd_evaluate)

    a = p.parse_args(argv)
    if a.command == "train" and not a.output:
        a.output = a.resume or "model.safetensors"
    a.run(a)


if __name__ == "__main__":
    main()
