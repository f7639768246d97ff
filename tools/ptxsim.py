#!/usr/bin/env python3
"""A slow interpreter for the subset of PTX that kernels/*.ptx use, for machines without a GPU.

It is not ptxas and proves nothing about what the driver accepts; it runs the kernels' logic
(indexing, loops, branches, warp shuffles, block barriers, atomics) on small inputs so that
tools/ptxsim_check.py can compare them with the CPU reference semantics. f32 arithmetic is
done in double and rounded to float; ex2/lg2 "approx" are computed exactly and rounded.
"""
import math
import re
import struct

F32 = struct.Struct("<f")
F64 = struct.Struct("<d")
U32 = struct.Struct("<I")


def f32(x):
    """Rounds a Python float to the nearest float32 (inf on overflow)."""
    try:
        return F32.unpack(F32.pack(x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def bits_of_f32(x):
    return U32.unpack(F32.pack(x))[0]


def f32_of_bits(b):
    return F32.unpack(U32.pack(b & 0xFFFFFFFF))[0]


def parse_float_literal(tok):
    if tok.startswith("0f"):
        return f32_of_bits(int(tok[2:], 16))
    if tok.startswith("0d"):
        return F64.unpack(struct.pack("<Q", int(tok[2:], 16)))[0]
    return None


class Memory:
    """Global memory: one flat bytearray, buffers handed out at 256-byte aligned addresses."""

    def __init__(self):
        self.data = bytearray(256)

    def alloc_f32(self, values):
        addr = (len(self.data) + 255) // 256 * 256
        self.data.extend(b"\0" * (addr - len(self.data)))
        for v in values:
            self.data.extend(F32.pack(v))
        self.data.extend(b"\0" * 256)  # a little slack so off-by-one reads show as zeros, not crashes
        return addr

    def read_f32(self, addr, n):
        return [F32.unpack_from(self.data, addr + 4 * i)[0] for i in range(n)]


class Entry:
    def __init__(self, name, params, lines):
        self.name = name
        self.params = params  # [(type, name)]
        self.lines = lines
        self.labels = {}
        self.shared = {}  # name -> (offset, size)
        self.code = []
        offset = 0
        for line in lines:
            m = re.match(r"^(\w+):$", line)
            if m:
                self.labels[m.group(1)] = len(self.code)
                continue
            m = re.match(r"^\.shared\s+\.align\s+(\d+)\s+\.(\w+)\s+(\w+)\[(\d+)\];$", line)
            if m:
                size = int(m.group(4)) * (8 if m.group(2) in ("f64", "u64", "b64") else 4)
                self.shared[m.group(3)] = (offset, size)
                offset += size
                continue
            if line.startswith(".reg"):
                continue
            self.code.append(line.rstrip(";"))
        self.shared_size = offset


def parse(ptx):
    text = re.sub(r"//[^\n]*", "", ptx)
    entries = {}
    for m in re.finditer(r"\.visible\s+\.entry\s+(\w+)\s*\(([^)]*)\)\s*\{", text):
        params = re.findall(r"\.param\s+\.(\w+)\s+(\w+)", m.group(2))
        start = m.end()
        depth, i = 1, start
        while depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        body = [l.strip() for l in text[start:i - 1].split("\n") if l.strip()]
        entries[m.group(1)] = Entry(m.group(1), params, body)
    return entries


class Thread:
    def __init__(self, entry, params, mem, shared, tid, ctaid, ntid, nctaid):
        self.e = entry
        self.params = params
        self.mem = mem
        self.shared = shared
        self.r = {"%tid.x": tid, "%ctaid.x": ctaid, "%ntid.x": ntid, "%nctaid.x": nctaid}
        self.pc = 0
        self.done = False

    def val(self, tok, kind):
        tok = tok.strip()
        if tok.startswith("%"):
            return self.r.get(tok, 0)
        fl = parse_float_literal(tok)
        if fl is not None:
            return fl
        if tok in self.e.shared:
            return self.e.shared[tok][0]
        v = int(tok, 0)
        return v

    def run(self):
        """A generator: yields ('bar',) at barriers and ('shfl', value, lane_arg) at shuffles."""
        code = self.e.code
        while self.pc < len(code):
            line = code[self.pc]
            self.pc += 1
            pred = re.match(r"^@(!?)(%p\d+)\s+(.*)$", line)
            if pred:
                truth = bool(self.r.get(pred.group(2), False))
                if pred.group(1) == "!":
                    truth = not truth
                if not truth:
                    continue
                line = pred.group(3)
            op, _, rest = line.partition(" ")
            ops = [o.strip() for o in rest.split(",")] if rest else []
            parts = op.split(".")
            name = parts[0]
            t = parts[-1]
            if name == "ret":
                break
            if name == "bra":
                self.pc = self.e.labels[ops[0]]
                continue
            if name == "bar":
                yield ("bar",)
                continue
            if name == "shfl":
                value = self.r.get(ops[1], 0)
                lane_arg = self.val(ops[2], "b32")
                result = yield ("shfl", value, lane_arg)
                self.r[ops[0]] = result
                continue
            self.execute(name, parts, t, ops)
        self.done = True

    def addr(self, tok):
        m = re.match(r"^\[(%?\w+)(?:\+(\d+))?\]$", tok)
        base = m.group(1)
        off = int(m.group(2) or 0)
        if base.startswith("%"):
            return self.r[base] + off
        return base, off

    def load(self, space, t, tok):
        a = self.addr(tok)
        if space == "param":
            return self.params[a[0]]
        buf = self.mem.data if space == "global" else self.shared
        if t == "f32":
            return F32.unpack_from(buf, a)[0]
        if t == "f64":
            return F64.unpack_from(buf, a)[0]
        if t in ("u32", "s32", "b32"):
            return U32.unpack_from(buf, a)[0]
        raise NotImplementedError(t)

    def store(self, space, t, tok, v):
        a = self.addr(tok)
        buf = self.mem.data if space == "global" else self.shared
        if t == "f32":
            F32.pack_into(buf, a, f32(v))
        elif t == "f64":
            F64.pack_into(buf, a, v)
        else:
            raise NotImplementedError(t)

    def execute(self, name, parts, t, ops):
        r = self.r
        v = lambda i: self.val(ops[i], t)
        if name == "ld":
            r[ops[0]] = self.load(parts[1], t, ops[1])
        elif name == "st":
            self.store(parts[1], t, ops[0], v(1))
        elif name == "red":
            a = self.addr(ops[0])
            F32.pack_into(self.mem.data, a, f32(F32.unpack_from(self.mem.data, a)[0] + v(1)))
        elif name == "mov":
            x = v(1)
            if t == "b32" and isinstance(x, float):
                x = bits_of_f32(x)
            elif t == "b32" and ops[0].startswith("%f"):
                x = f32_of_bits(x)
            elif t in ("u32", "b32", "s32") and isinstance(x, int):
                x &= 0xFFFFFFFF
            r[ops[0]] = x
        elif name == "cvta":
            r[ops[0]] = v(1)
        elif name == "cvt":
            dst, src = [p for p in parts[1:] if p in ("f32", "f64", "u32", "s32", "u64")]
            x = v(1)
            if dst == "f64":
                r[ops[0]] = float(x)
            elif dst == "f32":
                r[ops[0]] = f32(float(x))
            elif dst == "u32":
                r[ops[0]] = int(x) & 0xFFFFFFFF
            elif dst == "s32":  # rzi
                r[ops[0]] = int(math.trunc(x)) & 0xFFFFFFFF
        elif name == "setp":
            cmp = parts[1]
            a, b = v(1), v(2)
            if t == "s32":
                a, b = s32(a), s32(b)
            elif t in ("u32", "u64") and isinstance(b, int):
                a, b = a & mask(t), b & mask(t)
            res = {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[cmp]
            if isinstance(a, float) and (math.isnan(a) or math.isnan(b)):
                res = cmp == "ne" and False
            r[ops[0]] = res
        elif name == "selp":
            r[ops[0]] = v(1) if r[ops[3]] else v(2)
        elif name in ("and", "or", "xor") and t == "pred":
            a, b = r[ops[1]], r[ops[2]]
            r[ops[0]] = (a and b) if name == "and" else (a or b)
        elif t in ("f32", "f64"):
            rnd = f32 if t == "f32" else (lambda x: x)
            if name == "add":
                r[ops[0]] = rnd(v(1) + v(2))
            elif name == "sub":
                r[ops[0]] = rnd(v(1) - v(2))
            elif name == "mul":
                r[ops[0]] = rnd(v(1) * v(2))
            elif name == "div":
                b = v(2)
                r[ops[0]] = rnd(v(1) / b) if b != 0 else math.copysign(math.inf, v(1))
            elif name == "neg":
                r[ops[0]] = -v(1)
            elif name == "sqrt":
                r[ops[0]] = math.sqrt(v(1))
            elif name == "ex2":
                x = v(1)
                r[ops[0]] = f32(2.0 ** x) if x < 1024 else math.inf
            elif name == "lg2":
                x = v(1)
                r[ops[0]] = f32(math.log2(x)) if x > 0 else (-math.inf if x == 0 else math.nan)
            else:
                raise NotImplementedError(name + "." + t)
        else:
            m = mask(t)
            if name == "add":
                r[ops[0]] = (v(1) + v(2)) & m
            elif name == "sub":
                r[ops[0]] = (v(1) - v(2)) & m
            elif name == "mul":
                if "wide" in parts:
                    a, b = v(1), v(2)
                    if t == "s32":
                        a, b = s32(a), s32(b)
                    r[ops[0]] = (a * b) & 0xFFFFFFFFFFFFFFFF
                else:
                    r[ops[0]] = (v(1) * v(2)) & m
            elif name == "mad":
                r[ops[0]] = (v(1) * v(2) + v(3)) & m
            elif name == "div":
                r[ops[0]] = (v(1) & m) // (v(2) & m)
            elif name == "rem":
                r[ops[0]] = (v(1) & m) % (v(2) & m)
            elif name == "min":
                r[ops[0]] = min(v(1) & m, v(2) & m)
            elif name == "shr":
                r[ops[0]] = (v(1) & m) >> v(2)
            elif name == "xor":
                r[ops[0]] = (v(1) ^ v(2)) & m
            else:
                raise NotImplementedError(name + "." + t)


def mask(t):
    return 0xFFFFFFFFFFFFFFFF if t.endswith("64") else 0xFFFFFFFF


def s32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def launch(entry, args, mem, grid, block):
    """Runs entry over grid x block threads; args are Python values in parameter order."""
    params = {name: val for (_, name), val in zip(entry.params, args)}
    assert len(args) == len(entry.params), f"{entry.name}: {len(args)} args for {len(entry.params)} params"
    for ctaid in range(grid):
        shared = bytearray(max(entry.shared_size, 8))
        threads = [Thread(entry, params, mem, shared, tid, ctaid, block, grid) for tid in range(block)]
        gens = [th.run() for th in threads]
        pending = [None] * block  # what each thread yielded last
        for i, g in enumerate(gens):
            pending[i] = step(g, None)
        while any(p is not None for p in pending):
            kinds = {p[0] for p in pending if p is not None}
            if kinds == {"bar"}:
                live = [i for i in range(block) if pending[i] is not None]
                # PTX requires every thread of the block at the barrier
                assert all(pending[i] is not None for i in range(block)), f"{entry.name}: barrier with exited threads"
                for i in live:
                    pending[i] = step(gens[i], None)
            elif kinds == {"shfl"}:
                for w in range(0, block, 32):
                    lanes = list(range(w, min(w + 32, block)))
                    assert all(pending[i] is not None and pending[i][0] == "shfl" for i in lanes), \
                        f"{entry.name}: shuffle with lanes missing"
                    values = [pending[i][1] for i in lanes]
                    results = []
                    for li, i in enumerate(lanes):
                        src = li ^ pending[i][2]
                        results.append(values[src] if src < len(lanes) else values[li])
                    for li, i in enumerate(lanes):
                        pending[i] = step(gens[i], results[li])
            else:
                raise AssertionError(f"{entry.name}: threads diverged across sync points: {kinds}")


def step(gen, value):
    try:
        return gen.send(value) if value is not None else next(gen)
    except StopIteration:
        return None
