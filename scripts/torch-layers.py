"""Per-layer speed of the U-Net's convolutions in PyTorch, as `riad bench
--layers` measures riad's: for each conv layer, forward and forward +
backward (input and weight gradient) on random data, best-effort means of 3
after 2 warm-ups, GFLOP/s counted as the direct convolution's multiply-adds.
A measuring tool, not part of riad:
    python3 scripts/torch-layers.py SIZE BASE BATCH"""
import sys, time
import torch
import torch.nn.functional as F

torch.set_num_threads(2)
size, base, batch = (int(a) for a in sys.argv[1:4])

# (name, in channels, out channels, kernel, stride, input side, transposed), in the U-Net's order.
widths = [base, 2 * base, 4 * base, 8 * base, 8 * base]
layers = [("down1.conv1", 3, base, 3, 1, size, False), ("down1.conv2", base, base, 3, 1, size, False)]
side, cin = size, base
for i in range(1, 5):
    layers.append((f"down{i + 1}.conv1", cin, widths[i], 4, 2, side, False)); side //= 2
    layers.append((f"down{i + 1}.conv2", widths[i], widths[i], 3, 1, side, False)); cin = widths[i]
for i, o in enumerate([8 * base, 4 * base, 2 * base, base]):
    layers.append((f"up{i + 1}.upconv", cin, o, 4, 2, side, True)); side *= 2
    layers.append((f"up{i + 1}.conv1", 2 * o, o, 3, 1, side, False))
    layers.append((f"up{i + 1}.conv2", o, o, 3, 1, side, False)); cin = o
layers.append(("final", base, 3, 3, 1, side, False))


def seconds(f, repeats=3):
    t = time.perf_counter()
    for _ in range(repeats):
        f()
    return (time.perf_counter() - t) / repeats


total_forward = total_backward = 0
for name, c, o, k, stride, side, transposed in layers:
    x = torch.rand(batch, c, side, side, requires_grad=True)
    if transposed:
        w = torch.rand(c, o, k, k, requires_grad=True)
        conv = lambda: F.conv_transpose2d(x, w, stride=stride, padding=1)
        macs = batch * c * o * k * k * side * side          # each input pixel meets k² outputs
    else:
        w = torch.rand(o, c, k, k, requires_grad=True)
        conv = lambda: F.conv2d(x, w, stride=stride, padding=1)
        macs = batch * c * o * k * k * (side // stride) ** 2
    g = torch.rand_like(conv())
    for _ in range(2):
        conv().backward(g)
    forward = seconds(conv)
    backward = seconds(lambda: conv().backward(g)) - forward
    total_forward += forward; total_backward += backward
    shape = f"{c}->{o} {'T' if transposed else ''}{k}x{k}/{stride} at {side}^2"
    print(f"{name:14s} {shape:24s} forward {forward * 1e3:7.1f} ms ({2 * macs / forward / 1e9:6.1f} GFLOP/s)"
          f"  backward {backward * 1e3:7.1f} ms ({4 * macs / backward / 1e9:6.1f} GFLOP/s)")
print(f"all conv layers: forward {total_forward * 1e3:.1f} ms, backward {total_backward * 1e3:.1f} ms")
