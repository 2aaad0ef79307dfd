#!/usr/bin/env python3
"""Checks the ptxas report of every kernel of libdeepkern_cuda against ptxas_budget.txt.

Budget lines: `kernel | registers | spill bytes | static shared bytes`, where kernel is the start
of the demangled name without `void ` and `(anonymous namespace)::` (the longest match wins); the
budget holds for every architecture built.

usage: check_ptxas_budget.py BUDGET_FILE OBJECT_DIR

OBJECT_DIR holds the <object>.ptxas.txt files that ptxas_log.sh saved during the build (nvcc
-Xptxas -v). Every kernel entry compiled for every architecture must have a budget line
(matched by the demangled-name prefix) and stay within it: registers, spill stores + loads
(bytes), static shared memory (bytes). A kernel without a line, a budget line that matches no
kernel, or a kernel over its budget fails the test and prints the table.
"""
import pathlib
import re
import subprocess
import sys


def demangle(names):
    try:
        out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=True).stdout
        return out.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return names


def short(demangled):
    """'void (anonymous namespace)::gemm_mma<1, 64>(args)' -> 'gemm_mma<1, 64>(args)'."""
    if demangled.startswith("void "):
        demangled = demangled[5:]
    return demangled.replace("(anonymous namespace)::", "")


def parse_reports(obj_dir):
    kernels = {}  # (mangled, arch) -> dict
    entry = re.compile(r"Compiling entry function '(\S+)' for '(sm_\d+)'")
    spill = re.compile(r"(\d+) bytes spill stores, (\d+) bytes spill loads")
    used = re.compile(r"Used (\d+) registers(?:.*?, (\d+) bytes smem)?")
    files = sorted(pathlib.Path(obj_dir).rglob("*.ptxas.txt"))
    for f in files:
        current = None
        for line in f.read_text().splitlines():
            m = entry.search(line)
            if m:
                current = (m.group(1), m.group(2))
                kernels[current] = {"regs": 0, "spill": 0, "smem": 0}
                continue
            if current is None:
                continue
            m = spill.search(line)
            if m:
                kernels[current]["spill"] = int(m.group(1)) + int(m.group(2))
            m = used.search(line)
            if m:
                kernels[current]["regs"] = int(m.group(1))
                kernels[current]["smem"] = int(m.group(2) or 0)
    return files, kernels


def main():
    budget_file, obj_dir = sys.argv[1], sys.argv[2]
    budget = []  # (prefix, regs, spill, smem)
    for line in pathlib.Path(budget_file).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split("|")
        if len(parts) != 4:
            print(f"bad budget line: {line}")
            return 1
        budget.append((parts[0].strip(), int(parts[1]), int(parts[2]), int(parts[3])))
    files, kernels = parse_reports(obj_dir)
    if not kernels:
        print(f"no ptxas reports (*.ptxas.txt) under {obj_dir}: was libdeepkern_cuda built with ptxas_log.sh?")
        return 1
    keys = sorted(kernels)
    names = demangle([k[0] for k in keys])
    failures, used_budget = [], set()
    print(f"{'kernel':70} {'arch':6} {'regs':>5} {'spill':>6} {'smem':>6}  budget(regs/spill/smem)")
    for (mangled, arch), full in zip(keys, names):
        k = kernels[(mangled, arch)]
        name = short(full)
        matches = [b for b in budget if name.startswith(b[0])]
        line = max(matches, key=lambda b: len(b[0])) if matches else None
        b = f"{line[1]}/{line[2]}/{line[3]}" if line else "NONE"
        print(f"{name[:70]:70} {arch:6} {k['regs']:5} {k['spill']:6} {k['smem']:6}  {b}")
        if line is None:
            failures.append(f"{name} ({arch}) has no line in {budget_file}")
            continue
        used_budget.add(line[0])
        if k["regs"] > line[1] or k["spill"] > line[2] or k["smem"] > line[3]:
            failures.append(f"{name} ({arch}): {k['regs']} registers, {k['spill']} spill bytes, {k['smem']} smem bytes "
                            f"exceed the budget {b}")
    for b in budget:
        if b[0] not in used_budget:
            failures.append(f"budget line '{b[0]}' matches no kernel (stale?)")
    print(f"{len(kernels)} kernel builds from {len(files)} objects")
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
