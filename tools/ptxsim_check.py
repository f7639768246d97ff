#!/usr/bin/env python3
"""Runs every kernel of kernels/*.ptx in the ptxsim interpreter on small odd-shaped inputs and
compares with the CPU reference semantics (CpuReference.cs), rewritten here in Python.

    python3 tools/ptxsim_check.py        # exit code 0 when every kernel matches

A logic check only (indexing, loops, reductions, routing); ptxas on a GPU machine is the check
of the PTX itself. Launch configurations are the ones CudaBackend uses.
"""
import math
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
import ptxsim  # noqa: E402
from ptxsim import f32  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "kernels")
KERNELS = {}
for fn in sorted(os.listdir(ROOT)):
    if fn.endswith(".ptx"):
        KERNELS.update(ptxsim.parse(open(os.path.join(ROOT, fn)).read()))

FAILURES = []
rng = random.Random(1234)


def rand(n, lo=-1.0, hi=1.0):
    return [f32(rng.uniform(lo, hi)) for _ in range(n)]


def blocks(n, b=256):
    return (n + b - 1) // b


def compare(name, got, want, rel=0.0, abs_of_max=0.0):
    assert len(got) == len(want), (name, len(got), len(want))
    mx = max([abs(w) for w in want if math.isfinite(w)] + [0.0])
    bad = []
    for i, (g, w) in enumerate(zip(got, want)):
        if math.isnan(w) and math.isnan(g):
            continue
        ok = (g == w) if rel == 0 and abs_of_max == 0 else abs(g - w) <= rel * abs(w) + abs_of_max * mx
        if not ok:
            bad.append((i, w, g))
    status = "PASS" if not bad else "FAIL"
    print(f"{status}  {name}" + ("" if not bad else f"  {len(bad)} mismatches, first {bad[:3]}"))
    if bad:
        FAILURES.append(name)


def run(kernel, args, grid, block, mem):
    ptxsim.launch(KERNELS[kernel], args, mem, grid, block)


# ---- elementwise ---------------------------------------------------------------------

def check_axpy():
    for n in (1, 7, 300):
        mem = ptxsim.Memory()
        x, y = rand(n), rand(n)
        px, py = mem.alloc_f32(x), mem.alloc_f32(y)
        run("axpy", [px, py, f32(-0.75), n], blocks(n), 256, mem)
        compare(f"axpy n{n}", mem.read_f32(py, n), [f32(b + f32(-0.75 * a)) for a, b in zip(x, y)])


def check_copy_columns():
    for rows, cols, ss, so, ds, do, acc in [(1, 1, 1, 0, 3, 2, 0), (5, 13, 158, 145, 20, 7, 1), (3, 7, 13, 3, 7, 0, 0)]:
        mem = ptxsim.Memory()
        src, dst = rand(rows * ss), rand(rows * ds)
        ps, pd = mem.alloc_f32(src), mem.alloc_f32(dst)
        run("copy_columns", [ps, pd, ss, so, ds, do, cols, acc, rows * cols], blocks(rows * cols), 256, mem)
        want = list(dst)
        for r in range(rows):
            for j in range(cols):
                s = src[r * ss + so + j]
                want[r * ds + do + j] = f32(want[r * ds + do + j] + s) if acc else s
        compare(f"copy_columns rows{rows} cols{cols} acc{acc}", mem.read_f32(pd, rows * ds), want)


def check_leaky_relu():
    n = 300
    x = rand(n, -2, 2)
    for i in range(0, n, 5):
        x[i] = 0.0
    dy = rand(n)
    mem = ptxsim.Memory()
    px, py, pdy, pdx = mem.alloc_f32(x), mem.alloc_f32([0] * n), mem.alloc_f32(dy), mem.alloc_f32([0] * n)
    run("leaky_relu_forward", [px, py, f32(0.2), n], blocks(n), 256, mem)
    compare("leaky_relu_forward", mem.read_f32(py, n), [v if v > 0 else f32(f32(0.2) * v) for v in x])
    run("leaky_relu_backward", [px, pdy, pdx, f32(0.2), n], blocks(n), 256, mem)
    compare("leaky_relu_backward", mem.read_f32(pdx, n),
            [d if v > 0 else f32(f32(0.2) * d) for v, d in zip(x, dy)])


def counter_uniform(seed, i):
    m = 0xFFFFFFFF
    x = (i * 0x9E3779B9 + (seed & m)) & m
    x ^= ((seed >> 32) * 0x85EBCA6B) & m
    x ^= x >> 16
    x = (x * 0x7FEB352D) & m
    x ^= x >> 15
    x = (x * 0x846CA68B) & m
    x ^= x >> 16
    return f32((x >> 8) * (1.0 / 16777216.0))


def check_dropout():
    for n, p, seed in [(13, 0.5, 7), (300, 0.3, 0x123456789ABCDEF0), (5, 1.0, 3), (9, 0.0, 1)]:
        x = rand(n)
        mem = ptxsim.Memory()
        px, py, pm = mem.alloc_f32(x), mem.alloc_f32([0] * n), mem.alloc_f32([0] * n)
        keep = 0.0 if p >= 1 else f32(1.0 / f32(1.0 - p))
        run("dropout_forward", [px, py, pm, seed, f32(p), keep, n], blocks(n), 256, mem)
        mask = [keep if counter_uniform(seed, i) >= f32(p) else 0.0 for i in range(n)]
        compare(f"dropout_forward mask n{n} p{p}", mem.read_f32(pm, n), mask)
        compare(f"dropout_forward y n{n} p{p}", mem.read_f32(py, n), [f32(a * b) for a, b in zip(x, mask)])
        pdx = mem.alloc_f32([0] * n)
        run("dropout_backward", [px, pm, pdx, n], blocks(n), 256, mem)
        compare(f"dropout_backward n{n}", mem.read_f32(pdx, n), [f32(a * b) for a, b in zip(x, mask)])


def check_bias():
    for outer, ch, inner in [(1, 1, 1), (3, 5, 7), (2, 37, 13), (4, 3, 1)]:
        n = outer * ch * inner
        y, bias = rand(n), rand(ch)
        mem = ptxsim.Memory()
        py, pb = mem.alloc_f32(y), mem.alloc_f32(bias)
        run("add_bias", [py, pb, ch, inner, n], blocks(n), 256, mem)
        compare(f"add_bias {outer}x{ch}x{inner}", mem.read_f32(py, n),
                [f32(y[i] + bias[(i // inner) % ch]) for i in range(n)])
        for acc in (0, 1):
            db0 = rand(ch)
            pd = mem.alloc_f32(db0)
            run("bias_gradient", [py, pd, outer, ch, inner, acc], ch, 256, mem)
            y2 = mem.read_f32(py, n)
            want = []
            for c in range(ch):
                s = sum(y2[(o * ch + c) * inner + i] for o in range(outer) for i in range(inner))
                want.append(f32(db0[c] + f32(s)) if acc else f32(s))
            compare(f"bias_gradient {outer}x{ch}x{inner} acc{acc}", mem.read_f32(pd, ch), want, 1e-6, 1e-7)


def check_adam():
    n = 37
    p, g, m0, v0 = rand(n), rand(n, -0.1, 0.1), rand(n, -0.01, 0.01), rand(n, 0, 1e-4)
    lr, b1, b2, eps, wd, t = f32(1e-3), f32(0.9), f32(0.999), f32(1e-8), f32(5e-4), 1000
    mem = ptxsim.Memory()
    pp, pg, pm, pv = mem.alloc_f32(p), mem.alloc_f32(g), mem.alloc_f32(m0), mem.alloc_f32(v0)
    c1, c2 = 1 - b1 ** t, 1 - b2 ** t
    run("adam_update", [pp, pg, pm, pv, b1, f32(1 - b1), b2, f32(1 - b2), lr, eps, wd, c1, c2, n], blocks(n), 256, mem)
    wm, wv, wp = [], [], []
    for i in range(n):
        gg = g[i] + wd * p[i]
        m = f32(f32(b1 * m0[i]) + f32(1 - b1) * gg)
        v = f32(f32(b2 * v0[i]) + f32(1 - b2) * gg * gg)
        wm.append(m)
        wv.append(v)
        wp.append(f32(p[i] - lr * (m / c1) / (math.sqrt(v / c2) + eps)))
    compare("adam m", mem.read_f32(pm, n), wm)
    compare("adam v", mem.read_f32(pv, n), wv)
    compare("adam param", mem.read_f32(pp, n), wp)


# ---- pooling and LRN -----------------------------------------------------------------

def check_max_pool():
    for planes, h, w, k, s in [(1, 3, 3, 3, 2), (2, 13, 13, 3, 2), (3, 7, 7, 2, 2), (2, 8, 8, 3, 1)]:
        oh, ow = (h - k) // s + 1, (w - k) // s + 1
        x = [round(v * 4) / 4 for v in rand(planes * h * w, -2, 2)]
        dy = rand(planes * oh * ow)
        mem = ptxsim.Memory()
        px, py = mem.alloc_f32(x), mem.alloc_f32([0] * (planes * oh * ow))
        n_out = planes * oh * ow
        run("max_pool_forward", [px, py, h, w, oh, ow, k, s, n_out], blocks(n_out), 256, mem)
        want_y = []
        for p in range(planes):
            for a in range(oh):
                for b in range(ow):
                    best = -math.inf
                    for kh in range(k):
                        for kw in range(k):
                            v = x[(p * h + a * s + kh) * w + b * s + kw]
                            if v > best:
                                best = v
                    want_y.append(best)
        compare(f"max_pool_forward {planes}x{h}x{w} k{k}s{s}", mem.read_f32(py, n_out), want_y)
        pdy, pdx = mem.alloc_f32(dy), mem.alloc_f32([9.0] * (planes * h * w))
        n_in = planes * h * w
        run("max_pool_backward", [px, py, pdy, pdx, h, w, oh, ow, k, s, n_in], blocks(n_in), 256, mem)
        want_dx = [0.0] * n_in
        for p in range(planes):
            for a in range(oh):
                for b in range(ow):
                    o = (p * oh + a) * ow + b
                    arg = None
                    for kh in range(k):
                        for kw in range(k):
                            i = (p * h + a * s + kh) * w + b * s + kw
                            if arg is None and x[i] == want_y[o]:
                                arg = i
                    want_dx[arg] = f32(want_dx[arg] + dy[o])
        compare(f"max_pool_backward {planes}x{h}x{w} k{k}s{s}", mem.read_f32(pdx, n_in), want_dx)


def check_lrn():
    for (size, alpha, beta, kk), (b, c, hw) in [((5, 0.5, 0.75, 2.0), (2, 7, 5)), ((4, 0.3, 0.75, 1.0), (1, 9, 3)),
                                                 ((1, 1.0, 0.5, 1.0), (1, 3, 2))]:
        n = b * c * hw
        x, dy = rand(n, -3, 3), rand(n)
        before, after = size // 2, (size - 1) // 2
        aos = f32(f32(alpha) / size)
        scale, y = [0.0] * n, [0.0] * n
        for bb in range(b):
            for ch in range(c):
                for i in range(hw):
                    s = sum(x[(bb * c + cc) * hw + i] ** 2 for cc in range(max(0, ch - before), min(c - 1, ch + after) + 1))
                    at = (bb * c + ch) * hw + i
                    scale[at] = f32(f32(kk) + aos * s)
                    y[at] = f32(x[at] * scale[at] ** -f32(beta))
        mem = ptxsim.Memory()
        px, py, ps = mem.alloc_f32(x), mem.alloc_f32([0] * n), mem.alloc_f32([0] * n)
        run("lrn_forward", [px, py, ps, c, hw, before, after, aos, f32(beta), f32(kk), n], blocks(n), 256, mem)
        compare(f"lrn_forward scale size{size}", mem.read_f32(ps, n), scale)
        compare(f"lrn_forward y size{size}", mem.read_f32(py, n), y, 1e-6, 1e-7)
        coef = 2.0 * f32(alpha) * f32(beta) / size
        dx = [0.0] * n
        for bb in range(b):
            for ch in range(c):
                for i in range(hw):
                    at = (bb * c + ch) * hw + i
                    s = 0.0
                    for j in range(max(0, ch - after), min(c - 1, ch + before) + 1):
                        aj = (bb * c + j) * hw + i
                        s += dy[aj] * y[aj] / scale[aj]
                    dx[at] = f32(dy[at] * scale[at] ** -f32(beta) - coef * x[at] * s)
        pdy, pdx = mem.alloc_f32(dy), mem.alloc_f32([0] * n)
        py2, ps2 = mem.alloc_f32(y), mem.alloc_f32(scale)
        run("lrn_backward", [px, py2, ps2, pdy, pdx, c, hw, before, after, f32(beta), coef, n], blocks(n), 256, mem)
        compare(f"lrn_backward size{size}", mem.read_f32(pdx, n), dx, 1e-5, 1e-6)


# ---- the fused loss ------------------------------------------------------------------

def check_loss():
    cases = [
        (5, 10, 1, [(0, 10, 0, 1.0)], 1.0, 80.0, 2 * 7, 0.5, True, True),
        (3, 20, 3, [(0, 7, 1, 1.0), (7, 1, 0, 0.25), (8, 12, 2, 2.0)], 0.7, 80.0, 0, 0.0, True, False),
        (2, 40, 1, [(3, 37, 0, 1.0)], 1.0, 1.0, 9, 1.0, False, False),
    ]
    for batch, total, lcols, heads, cscale, lscale, img, pscale, want_dl, want_dp in cases:
        m = len(heads)
        logits = [f32(v * lscale) for v in rand(batch * total)]
        labels = [0.0] * (batch * lcols)
        for off, cls, col, w in heads:
            for nn in range(batch):
                labels[nn * lcols + col] = float(rng.randrange(cls))
        pred, targ = rand(batch * img), rand(batch * img)
        mem = ptxsim.Memory()
        pl, plab = mem.alloc_f32(logits), mem.alloc_f32(labels)
        pdl = mem.alloc_f32([0] * (batch * total)) if want_dl else 0
        pt = mem.alloc_f32([0] * (2 * m + 2))
        for f, (off, cls, col, w) in enumerate(heads):
            run("loss_softmax_head", [pl, plab, pdl, pt, total, lcols, off, cls, col, f, m + 1, m + 2 + f,
                                      f32(1.0 / batch), f32(cscale * w), f32(f32(cscale * w) / batch)], batch, 32, mem)
        if img:
            pp, ptg = mem.alloc_f32(pred), mem.alloc_f32(targ)
            pdp = mem.alloc_f32([0] * (batch * img)) if want_dp else 0
            n = batch * img
            run("loss_euclidean", [pp, ptg, pdp, pt, m, m + 1, float(f32(pscale)), float(batch), n],
                min(blocks(n), 1024), 256, mem)
        # the CPU reference
        terms = [0.0] * (2 * m + 2)
        dl = [0.0] * (batch * total)
        total_loss = 0.0
        for f, (off, cls, col, w) in enumerate(heads):
            ce, correct = 0.0, 0
            for nn in range(batch):
                row = nn * total + off
                lab = int(labels[nn * lcols + col])
                z = logits[row:row + cls]
                mx = max(z)
                arg = z.index(mx)
                den = sum(math.exp(v - mx) for v in z)
                ce += math.log(den) - (z[lab] - mx)
                correct += arg == lab
                g = f32(f32(cscale * w) / batch)
                for k in range(cls):
                    dl[row + k] = f32(g * (math.exp(z[k] - mx) / den - (k == lab)))
            ce /= batch
            terms[f] = f32(ce)
            terms[m + 2 + f] = float(correct)
            total_loss += f32(cscale * w) * ce
        e = 0.0
        dp = [0.0] * (batch * img)
        for i in range(batch * img):
            d = pred[i] - targ[i]
            e += d * d
            dp[i] = f32(f32(pscale) * d / batch)
        e /= 2.0 * batch
        terms[m] = f32(e)
        terms[m + 1] = f32(total_loss + f32(pscale) * e)
        tag = f"loss batch{batch} heads{m}"
        compare(tag + " lossTerms", mem.read_f32(pt, 2 * m + 2), terms, 1e-5, 1e-6)
        if want_dl:
            compare(tag + " dLogits", mem.read_f32(pdl, batch * total), dl, 1e-5, 1e-6)
        if img and want_dp:
            compare(tag + " dPrediction", mem.read_f32(pdp, batch * img), dp)


if __name__ == "__main__":
    for check in (check_axpy, check_copy_columns, check_leaky_relu, check_dropout, check_bias, check_adam,
                  check_max_pool, check_lrn, check_loss):
        check()
    print(f"{len(FAILURES)} failures" + (f": {FAILURES}" if FAILURES else ""))
    sys.exit(1 if FAILURES else 0)
