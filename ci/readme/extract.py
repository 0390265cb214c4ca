#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Extracts README.md's fenced ```sh, ```c and ```cmake blocks, each exactly
as written, for ci/stages/readme.sh.

Usage: extract.py README.md OUTDIR

Writes OUTDIR/NN.<sh|c|cmake> per block (NN counts from 01 in file order)
and OUTDIR/blocks.tsv with one line per block: NN, language, the README line
of its opening fence, and the skip reason ('-' when it runs). A block is
skipped when the line right before its fence is
    <!-- readme-stage: skip: <reason> -->
with a non-empty reason. A marker anywhere else, a fence left open or a
block in another language that looks like code (```bash, ```shell, ```C)
is an error, so that nothing is left untested by a typo."""
import re
import sys

LANGS = {"sh": "sh", "c": "c", "cmake": "cmake"}
SUSPECT = {"bash", "shell", "console", "C", "h", "cpp", "make", "CMake"}
MARK = re.compile(r"^<!-- readme-stage: skip: (\S.*?) -->$")


def main(readme, outdir):
    lines = open(readme, encoding="utf-8").read().split("\n")
    blocks, errors = [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("<!-- readme-stage") and not MARK.match(line):
            errors.append(f"{readme}:{i + 1}: malformed marker: {line}")
        if MARK.match(line) and not (
            i + 1 < len(lines) and lines[i + 1].startswith("```")
        ):
            errors.append(f"{readme}:{i + 1}: a marker not right before a fence")
        if not line.startswith("```"):
            i += 1
            continue
        lang = line[3:].strip()
        start = i
        i += 1
        body = []
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            errors.append(f"{readme}:{start + 1}: fence never closed")
            break
        i += 1
        if lang in SUSPECT:
            errors.append(f"{readme}:{start + 1}: ```{lang}: use sh, c or cmake")
        if lang not in LANGS:
            continue
        mark = MARK.match(lines[start - 1]) if start > 0 else None
        skip = mark.group(1) if mark else "-"
        blocks.append((LANGS[lang], start + 1, skip, "\n".join(body) + "\n"))
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    with open(f"{outdir}/blocks.tsv", "w", encoding="utf-8") as tsv:
        for n, (lang, line, skip, text) in enumerate(blocks, 1):
            with open(f"{outdir}/{n:02d}.{lang}", "w", encoding="utf-8") as f:
                f.write(text)
            tsv.write(f"{n:02d}\t{lang}\t{line}\t{skip}\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: extract.py README.md OUTDIR")
    sys.exit(main(sys.argv[1], sys.argv[2]))
