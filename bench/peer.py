#!/usr/bin/env python3
"""The bench's peer: what a user writes by hand with PyTorch eager to do gam-native's job.

It loads the same TorchScript files as `gam-native bench`, at the same batch sizes and with the
same acceptance rules, and times each stage (sample, confidence, screen forward, screening with
softmax/argmax/thresholds) and the end-to-end loop (sample, score, screen, keep what passes,
until each target's quota is met). `gam-native bench --peer` writes its config and runs it:

    python3 bench/peer.py CONFIG.json     # prints one JSON object on stdout

With "serve": true in CONFIG it skips the stage figures and answers one end-to-end run per
batch size read from stdin (the bench's paired measurement, docs/performance.md "Rounds and paired ratios").

Fairness: torch's intra-op and inter-op thread counts are set to the engine's (the cgroup CPU
quota), both sides run under no_grad, and the timings on a GPU end with a synchronize.
Runs with Debian's python3-torch 1.13 here and with the wheel's PyTorch on the GPU machine.
"""
import json
import sys
import time

import torch


def quantile(s, q):
    if len(s) == 1:
        return s[0]
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    f = pos - lo
    return s[lo] * (1 - f) + s[hi] * f


def stats(runs):
    s = sorted(runs)
    return {"median": quantile(s, 0.5), "min": s[0], "max": s[-1], "q1": quantile(s, 0.25),
            "q3": quantile(s, 0.75), "runs": runs}


def main():
    cfg = json.load(open(sys.argv[1]))
    threads = int(cfg["threads"])
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass
    dev = torch.device(cfg.get("device", "cpu"))
    cuda = dev.type == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize()

    g = torch.jit.load(cfg["generator"], map_location=dev).eval()
    screen = torch.jit.load(cfg["screen"], map_location=dev).eval()
    L, K, A = int(g.latent_dim), int(g.num_classes), len(g.attr_names)
    attr_names = list(g.attr_names)
    warmup, repeat, min_time = int(cfg["warmup"]), int(cfg["repeat"]), float(cfg["min_time_s"])
    prob_thr = float(cfg["prob_threshold"])
    conf_thr = torch.tensor(cfg["conf_raw_thresholds"], dtype=torch.float32, device=dev)
    temperature = float(cfg.get("temperature", 1.0))
    max_attempts = float(cfg.get("max_attempts", 20))
    figures = []

    def rate(name, n, fn, unit="images/s"):
        for _ in range(warmup):
            fn()
        sync()
        runs = []
        for _ in range(repeat):
            calls = 0
            t0 = time.perf_counter()
            while calls == 0 or time.perf_counter() - t0 < min_time:
                fn()
                calls += 1
            sync()
            runs.append(calls * n / (time.perf_counter() - t0))
        f = {"name": name, "batch": n, "unit": unit}
        f.update(stats(runs))
        figures.append(f)
        print("peer: %-16s batch %5d %10.1f %s" % (name, n, f["median"], unit), file=sys.stderr)

    def keep(x, y, logits, conf):
        # The screen as one writes it in eager PyTorch: softmax, argmax, both thresholds, NaN check.
        p = torch.softmax(logits, dim=1)
        pi = p.gather(1, y.unsqueeze(1)).squeeze(1)
        ok = (torch.isfinite(logits).all(dim=1) & torch.isfinite(conf) & (p.argmax(dim=1) == y)
              & (pi >= prob_thr) & (conf >= conf_thr[y]))
        return ok.nonzero().squeeze(1)

    with torch.no_grad():
        for n in ([] if cfg.get("serve") else cfg["batches"]):
            z = torch.randn(n, L, device=dev)
            y = torch.arange(n, device=dev) % K
            a = torch.zeros(n, A, device=dev)
            x = g.sample(z, y, a)
            logits = screen(x)
            conf = g.confidence(x, y, a)
            zero = torch.zeros(K, device=dev)
            rate("sample", n, lambda: g.sample(z, y, a))
            rate("confidence", n, lambda: g.confidence(x, y, a))
            rate("screen_forward", n, lambda: screen(x))

            def fused():
                p = torch.softmax(logits, dim=1)
                pi = p.gather(1, y.unsqueeze(1)).squeeze(1)
                ok = (torch.isfinite(logits).all(dim=1) & torch.isfinite(conf) & (p.argmax(dim=1) == y)
                      & (pi >= prob_thr) & (conf >= zero[y]))
                return ok.nonzero().squeeze(1)
            rate("fused_screen", n, fused)

        def pipeline_once(n):
            """One end-to-end run at batch n over every target: (accepted, attempts, seconds)."""
            accepted = attempts = 0
            kept = []
            sync()
            t0 = time.perf_counter()
            for t in cfg["targets"]:
                quota, cls = int(t["count"]), int(t["class"])
                col = attr_names.index(t["condition"]) if t.get("condition") in attr_names else -1
                lo, hi = float(t.get("severity_min", 0.5)), float(t.get("severity_max", 1.0))
                limit = int(-(-max_attempts * quota // 1))
                got = made = 0
                while got < quota and made < limit:
                    b = min(n, limit - made)
                    zz = torch.randn(b, L, device=dev) * temperature
                    yy = torch.full((b,), cls, dtype=torch.int64, device=dev)
                    aa = torch.zeros(b, A, device=dev)
                    if col >= 0:
                        aa[:, col] = lo + (hi - lo) * torch.rand(b, device=dev)
                    xx = g.sample(zz, yy, aa)
                    cc = g.confidence(xx, yy, aa)
                    ll = screen(xx)
                    idx = keep(xx, yy, ll, cc)[: quota - got]
                    kept.append(xx.index_select(0, idx).cpu())
                    got += int(idx.numel())
                    made += b
                accepted += got
                attempts += made
            sync()
            return accepted, attempts, time.perf_counter() - t0

        if cfg.get("serve"):
            # Paired mode (`gam-native bench --peer`, pipeline figure): one run per line "N" read
            # from stdin, answered with one JSON line, so that gam-native can time its own run
            # and the peer's back to back and take the ratio of each pair. The first request at a
            # batch size runs the warm-up first.
            warm = set()
            print(json.dumps({"ready": True}), flush=True)
            for line in sys.stdin:
                n = int(line)
                if n not in warm:
                    for _ in range(warmup):
                        pipeline_once(n)
                    warm.add(n)
                acc, att, dt = pipeline_once(n)
                print(json.dumps({"accepted": acc, "attempts": att, "seconds": dt}), flush=True)
            return

        for n in cfg["pipeline_batches"]:
            acc_runs, att_runs, ratio_runs = [], [], []
            for r in range(warmup + repeat):
                accepted, attempts, dt = pipeline_once(n)
                if r >= warmup:
                    acc_runs.append(accepted / dt)
                    att_runs.append(attempts / dt)
                    ratio_runs.append(accepted / max(attempts, 1))
            f = {"name": "pipeline", "batch": n, "unit": "accepted/s"}
            f.update(stats(acc_runs))
            f["extra"] = {"attempts_per_s": stats(att_runs)["median"], "acceptance": stats(ratio_runs)["median"]}
            figures.append(f)
            print("peer: %-16s batch %5d %10.1f accepted/s" % ("pipeline", n, f["median"]), file=sys.stderr)

    json.dump({"torch_version": torch.__version__, "python": sys.version.split()[0],
               "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
               "device": str(dev), "figures": figures}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
