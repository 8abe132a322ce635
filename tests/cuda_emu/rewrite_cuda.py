#!/usr/bin/env python3
"""Rewrites a .cu file into C++ for the CUDA emulator (tests/cuda_emu).

The two CUDA constructs that are not C++:
  kernel<<<grid, block[, smem[, stream]]>>>(args)   (template kernels and
  launches over several lines included) becomes
    ::emu::launch(::emu::Site{"kernel", __FILE__, __LINE__},
                  ::emu::config(grid, block, smem, stream),
                  [](auto&&... emu_a) { kernel(emu_a...); }, args)
  __shared__ T name[dims];  becomes
    static T name[dims]; ::emu::detail::shared_fresh(&name, sizeof(name), "name");
  (one block runs at a time, so a static is the block's shared memory; the
  call refills it with 0xFF bytes when a new block first reaches it), and
  extern __shared__ T name[];  a pointer to the launch's dynamic buffer.
Line numbers are kept and a #line directive names the original file, so
compiler messages, ASan reports and __LINE__ point into the real source.
Everything else is left to the force-included cuda_emu/device.h.

Usage: rewrite_cuda.py IN.cu OUT.cpp
"""
import os
import re
import sys


def code_mask(text):
    """mask[i] is True where text[i] is code (not a comment, string or char literal)."""
    mask = [True] * len(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j += 1
        else:
            i += 1
            continue
        for k in range(i, min(j, n)):
            mask[k] = False
        i = j
    return mask


def fail(path, text, pos, message):
    line = text.count("\n", 0, pos) + 1
    sys.exit(f"{path}:{line}: rewrite_cuda.py: {message}")


def matching_paren(text, mask, open_pos, path):
    depth = 0
    for i in range(open_pos, len(text)):
        if not mask[i]:
            continue
        if text[i] in "([{":
            depth += 1
        elif text[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    fail(path, text, open_pos, "unbalanced parentheses after a kernel launch")


def rewrite_launches(text, path):
    mask = code_mask(text)
    starts = [m.start() for m in re.finditer(r"<<<", text) if mask[m.start()]]
    for lt in reversed(starts):
        # The kernel expression before <<<: identifier, optionally with template arguments.
        j = lt - 1
        while j >= 0 and text[j].isspace():
            j -= 1
        if text[j] == ">":
            depth = 0
            while j >= 0:
                if text[j] == ">":
                    depth += 1
                elif text[j] == "<":
                    depth -= 1
                    if depth == 0:
                        break
                j -= 1
            j -= 1
            while j >= 0 and text[j].isspace():
                j -= 1
        end_name = j + 1
        while j >= 0 and (text[j].isalnum() or text[j] in "_:"):
            j -= 1
        start = j + 1
        if start == end_name:
            fail(path, text, lt, "no kernel name before <<<")
        name = text[start:lt].rstrip()
        gt = text.find(">>>", lt + 3)
        while gt >= 0 and not mask[gt]:
            gt = text.find(">>>", gt + 3)
        if gt < 0:
            fail(path, text, lt, "<<< without >>>")
        config = text[lt + 3:gt]
        p = gt + 3
        while p < len(text) and text[p].isspace():
            p += 1
        if p >= len(text) or text[p] != "(":
            fail(path, text, gt, "expected '(' after >>>")
        close = matching_paren(text, mask, p, path)
        args = text[p + 1:close]
        label = " ".join(name.split())
        new = (f'::emu::launch(::emu::Site{{"{label}", __FILE__, __LINE__}}, ::emu::config({config}), '
               f"[](auto&&... emu_a) {{ {name}(emu_a...); }}" + (f", {args})" if args.strip() else ")"))
        old = text[start:close + 1]
        new += "\n" * (old.count("\n") - new.count("\n"))
        text = text[:start] + new + text[close + 1:]
    return text


SHARED = re.compile(r"\b(extern\s+)?__shared__\b([^;{}]*);")
DECLARATOR = re.compile(r"^(.*?)\b(\w+)\s*((?:\[[^\]]*\]\s*)*)$", re.S)


def rewrite_shared(text, path):
    mask = code_mask(text)
    out, last = [], 0
    for m in SHARED.finditer(text):
        if not mask[m.start()]:
            continue
        decl = m.group(2).strip()
        d = DECLARATOR.match(decl)
        if not d or not d.group(1).strip() or "," in re.sub(r"\([^)]*\)|\[[^\]]*\]", "", decl) or "=" in decl:
            fail(path, text, m.start(), f"unsupported __shared__ declaration: {m.group(0)!r}")
        prefix, name, dims = d.group(1), d.group(2), d.group(3)
        if m.group(1):  # extern __shared__ T name[];
            elem = re.sub(r"__align__\s*\([^)]*\)", "", prefix).strip()
            new = f"{elem}* const {name} = static_cast<{elem}*>(::emu::detail::dynamic_shared());"
        else:
            new = (f"static {prefix}{name}{dims}; "
                   f'::emu::detail::shared_fresh(&{name}, sizeof({name}), "{name}");')
        new += "\n" * (m.group(0).count("\n") - new.count("\n"))
        out.append(text[last:m.start()])
        out.append(new)
        last = m.end()
    out.append(text[last:])
    text = "".join(out)
    mask = code_mask(text)
    for m in re.finditer(r"\b__shared__\b", text):
        if mask[m.start()]:
            fail(path, text, m.start(), "__shared__ left over (not a declaration this script understands)")
    return text


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        text = f.read()
    text = rewrite_shared(rewrite_launches(text, src), src)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f'#line 1 "{os.path.abspath(src)}"\n')
        f.write(text)
    os.replace(tmp, dst)


if __name__ == "__main__":
    main()
