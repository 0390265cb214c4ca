#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Worst stack depth of hipc's public entry points, for ci/stages/size.sh.

Usage: stack_depth.py NM ARCHIVE CI_DIR REPORT
Reads the gcc -fcallgraph-info=su graphs (*.ci) under CI_DIR: each node
defined in a file carries its frame size, each edge is a call. The depth of
a function is its frame plus the deepest callee inside the library; calls
into libc and through function pointers count as 0 and are listed in
REPORT with every entry point's deepest chain. Prints the worst depth.
Exits 1 on recursion or a frame of dynamic size (no bound can be given).
"""
import glob
import os
import re
import subprocess
import sys

NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
FRAME = re.compile(r'\\n(\d+) bytes \(([a-z, ]+)\)')


def load_graphs(ci_dir):
    """{(file, name): frame}, {(file, name): [callee names]}, qualifiers."""
    frames, calls, quals = {}, {}, {}
    for path in sorted(glob.glob(os.path.join(ci_dir, '**', '*.ci'), recursive=True)):
        unit = os.path.basename(path)
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        for name, label in NODE.findall(text):
            m = FRAME.search(label)
            if m:
                frames[(unit, name)] = int(m.group(1))
                quals[(unit, name)] = m.group(2)
                calls.setdefault((unit, name), [])
        for src, dst in EDGE.findall(text):
            if (unit, src) in frames:
                calls[(unit, src)].append(dst)
    return frames, calls, quals


def global_symbols(nm, archive):
    """{name: unit} for functions the archive defines globally."""
    out = subprocess.run([nm, '--defined-only', '-A', archive], check=True,
                         capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        # "libhipc.a:shm.c.o:0000000000000000 T hipc_shm_create"
        m = re.match(r'.*:(\S+)\.o:\s*\S*\s+T\s+(\S+)$', line)
        if m:
            found[m.group(2)] = m.group(1) + '.ci'
    return found


def main():
    nm, archive, ci_dir, report = sys.argv[1:5]
    frames, calls, quals = load_graphs(ci_dir)
    globals_ = global_symbols(nm, archive)
    memo, outside, problems = {}, set(), []

    def resolve(unit, name):
        if (unit, name) in frames:
            return (unit, name)
        if name in globals_ and (globals_[name], name) in frames:
            return (globals_[name], name)
        return None

    def depth(key, path):
        if key in memo:
            return memo[key]
        if key in path:
            problems.append('recursion: ' + ' -> '.join(k[1] for k in path + [key]))
            return 0, [key]
        if 'dynamic' in quals[key] and 'bounded' not in quals[key]:
            problems.append('unbounded dynamic frame: %s' % key[1])
        best, chain = 0, []
        for callee in calls[key]:
            target = resolve(key[0], callee)
            if target is None:
                outside.add(callee)
                continue
            d, c = depth(target, path + [key])
            if d > best:
                best, chain = d, c
        memo[key] = (frames[key] + best, [key] + chain)
        return memo[key]

    public = sorted(n for n in globals_ if n.startswith('hipc_') and not
                    re.match(r'hipc_(_|sys_|fault_)', n))
    rows = []
    for name in public:
        key = resolve(globals_[name], name)
        if key is None:
            problems.append('no call graph for %s' % name)
            continue
        d, chain = depth(key, [])
        # Static functions are titled "/path/file.c:name"; the name will do.
        rows.append((d, name, ' -> '.join('%s(%d)' % (k[1].rsplit(':', 1)[-1], frames[k])
                                          for k in chain)))
    rows.sort(reverse=True)
    with open(report, 'w', encoding='utf-8') as f:
        f.write('# bytes  entry point  deepest chain (frame bytes)\n')
        for d, name, chain in rows:
            f.write('%6d  %s  %s\n' % (d, name, chain))
        f.write('\n# calls leaving the library (counted as 0):\n%s\n'
                % ' '.join(sorted(outside)))
        for p in problems:
            f.write('PROBLEM: %s\n' % p)
    for p in problems:
        print('stack_depth: %s' % p, file=sys.stderr)
    print(rows[0][0] if rows else 0)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
