"""The numerical-core issue's measure for the PyTorch reference: the best of
20 passes of net(x) and backward(mean(y)) for UNet(base=16) on [8, 3, 64, 64],
as `riad bench --forward-backward` measures riad. A measuring tool, not part
of riad: python3 scripts/torch-forward-backward.py PATH/TO/torch_riad.py"""
import importlib.util, json, os, sys, time
import torch

spec = importlib.util.spec_from_file_location("torch_riad", sys.argv[1])
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
torch.manual_seed(0)
net = reference.UNet(3, 16)
x = torch.rand(8, 3, 64, 64)
for _ in range(2):
    net(x).mean().backward()
best = float("inf")
for _ in range(20):
    t = time.perf_counter()
    net(x).mean().backward()
    best = min(best, time.perf_counter() - t)
print(json.dumps({"impl": "torch", "size": 64, "base": 16, "batch": 8,
                  "forward_backward_ms": round(best * 1000, 1), "threads": torch.get_num_threads()}))
