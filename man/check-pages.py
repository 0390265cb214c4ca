#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks the man pages against the public headers (run by ci/stages/man.sh).

usage: check-pages.py MANDIR INCLUDEDIR PROTOS OUTDIR

PROTOS lists the public functions, one `name (types);` line each, as
`gcc -aux-info` printed them for the installed headers. The checks:
- every public function appears in the SYNOPSIS of some page, and every
  hipc_ function a page names (.Fn, .Fo, .Nm) is public;
- each SYNOPSIS prototype is the header's: OUTDIR/synopsis_<page>.c
  redeclares them after #include <hipc/hipc.h>, which the stage compiles
  (a conflicting type is an error);
- every hipc_/HIPC_ identifier a page mentions exists in the headers;
- every error code is in hipc_error(3), and every code a module's header
  mentions is in that module's page;
- every section 3 page has the sections a C programmer looks for, and
  every function of its SYNOPSIS is in its NAME (so `man FUNCTION` works);
- each example program (a literal block with main) is written to
  OUTDIR/example_<page>_<n>.c, for the stage to compile and link.
Prints one line per problem and exits 1 if there was any.
"""
import glob
import os
import re
import shlex
import sys

SECTIONS_3 = ["NAME", "SYNOPSIS", "DESCRIPTION", "RETURN VALUES", "EXAMPLES",
              "ERRORS", "SEE ALSO"]
# Module header -> its page: codes the header mentions must be in the page.
MODULE_PAGES = {"shm.h": "hipc_shm.3", "pipe.h": "hipc_pipe.3",
                "frame.h": "hipc_frame.3", "chan.h": "hipc_chan.3",
                "inspect.h": "hipc_inspect.3", "error.h": "hipc_error.3",
                "process.h": "hipc_process.3", "fifo.h": "hipc_fifo.3",
                "state.h": "hipc_state.3", "bcast.h": "hipc_bcast.3",
                "testing.h": "hipc_testing.3"}
# Words a page may use that are not identifiers in a header.
NOT_IDENTIFIERS = {"HIPC_E_UNKNOWN"}

problems = []


def problem(msg):
    problems.append(msg)
    print("man: " + msg)


def unescape(line):
    """Roff escapes that occur in the pages' literal blocks."""
    return (line.replace("\\e", "\\").replace("\\&", "")
            .replace("\\(dq", '"').replace("\\-", "-"))


def macro_args(line):
    """Arguments of a macro line, honouring roff double quotes."""
    try:
        return shlex.split(line[1:].replace("\\(dq", "'"), posix=True)
    except ValueError:
        return line[1:].split()


class Page:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.lines = open(path, encoding="utf-8").read().split("\n")
        self.sections = []
        self.names = []       # .Nm in NAME
        self.synopsis = []    # (type, name, [args]) from SYNOPSIS
        self.named = set()    # hipc_ functions named with .Fn/.Fo anywhere
        self.xrefs = set()    # (name, section) of every .Xr
        self.examples = []
        self.parse()

    def parse(self):
        section, ftype, fo, in_lit, lit = None, "", None, False, []
        for raw in self.lines:
            if in_lit:
                if raw.startswith(".Ed"):
                    in_lit = False
                    text = "\n".join(unescape(x) for x in lit) + "\n"
                    if re.search(r"\bmain\s*\(", text):
                        self.examples.append(text)
                else:
                    lit.append(raw)
                continue
            if raw.startswith(".Bd") and "-literal" in raw:
                in_lit, lit = True, []
                continue
            if not raw.startswith("."):
                continue
            args = macro_args(raw)
            if not args:
                continue
            mac, rest = args[0], args[1:]
            if mac == "Sh":
                section = " ".join(rest)
                self.sections.append(section)
            elif mac == "Xr" and len(rest) >= 2:
                self.xrefs.add((rest[0], rest[1]))
            elif mac == "Nm" and section == "NAME" and rest:
                self.names.append(rest[0])
            elif mac == "Ft":
                ftype = " ".join(rest)
            elif mac == "Fn" and rest:
                self.named.add(rest[0])
                if section == "SYNOPSIS":
                    self.synopsis.append((ftype, rest[0], rest[1:]))
            elif mac == "Fo" and rest:
                self.named.add(rest[0])
                fo = (ftype, rest[0], [])
            elif mac == "Fa" and fo is not None:
                fo[2].append(" ".join(rest))
            elif mac == "Fc" and fo is not None:
                if section == "SYNOPSIS":
                    self.synopsis.append(fo)
                fo = None

    def text(self):
        return "\n".join(self.lines)


def public_functions(protos_path):
    funcs = {}
    for line in open(protos_path, encoding="utf-8"):
        m = re.search(r"\b(hipc_\w+) \(", line)
        if m:
            funcs[m.group(1)] = line.strip()
    return funcs


def header_words(incdir):
    words, codes_by_header = set(), {}
    for h in glob.glob(os.path.join(incdir, "hipc", "*.h")):
        text = open(h, encoding="utf-8").read()
        words |= set(re.findall(r"\b(?:hipc|HIPC)_\w+", text))
        codes_by_header[os.path.basename(h)] = set(
            re.findall(r"\bHIPC_E_[A-Z_]*[A-Z]\b", text))
        if os.path.basename(h) == "error.h":
            # X(E_NAME, ...) rows expand to HIPC_E_NAME.
            rows = set(re.findall(r"\bX\((E_\w+),", text))
            words |= {"HIPC_" + r for r in rows}
            codes_by_header["error.h"] |= {"HIPC_" + r for r in rows}
            words.add("HIPC_OK")
    return words, codes_by_header


def check_pages(pages, funcs, words, codes_by_header, outdir):
    page_names = {os.path.splitext(p.name)[0] for p in pages}
    page_names |= {n.upper() for n in page_names}
    page_files = {p.name for p in pages}
    in_synopsis = {}
    for p in pages:
        for _, fn, _ in p.synopsis:
            in_synopsis.setdefault(fn, p.name)
    for fn in sorted(funcs):
        if fn not in in_synopsis:
            problem(f"{fn} is public (include/hipc) but in no page's SYNOPSIS")
    for p in pages:
        for name, sec in sorted(p.xrefs):
            if name.startswith("hipc") and f"{name}.{sec}" not in page_files:
                problem(f"{p.name} refers to {name}({sec}), which is no page")
        for fn in sorted(p.named | set(p.names)):
            if re.fullmatch(r"hipc_\w+", fn) and fn not in funcs \
                    and fn not in page_names:
                problem(f"{p.name} names {fn}(), which no header declares")
        used = set(re.findall(r"\b(?:hipc|HIPC)_\w+", p.text()))
        for w in sorted(used):
            if w.endswith("_") or w in words or w in funcs \
                    or w in page_names or w in NOT_IDENTIFIERS:
                continue
            problem(f"{p.name} mentions {w}, which no public header has")
        if p.name.endswith(".3"):
            check_page3(p)
        write_synopsis(p, outdir)
        for i, ex in enumerate(p.examples):
            base = os.path.splitext(p.name)[0]
            with open(os.path.join(outdir, f"example_{base}_{i}.c"), "w",
                      encoding="utf-8") as f:
                f.write(ex)
    codes = codes_by_header.get("error.h", set())
    by_name = {p.name: p for p in pages}
    for header, page in MODULE_PAGES.items():
        if page not in by_name:
            problem(f"{page} is missing (the page of hipc/{header})")
            continue
        text = by_name[page].text()
        need = codes if header == "error.h" else codes_by_header.get(
            header, set())
        for c in sorted(need):
            if not re.search(r"\b" + c + r"\b", text):
                problem(f"{page} does not mention {c}"
                        f" (hipc/{header} does)")


def check_page3(p):
    for s in SECTIONS_3:
        if s not in p.sections:
            problem(f"{p.name} has no {s} section")
    for _, fn, _ in p.synopsis:
        if fn not in p.names:
            problem(f"{p.name}: {fn} is in SYNOPSIS but not in NAME")


def write_synopsis(p, outdir):
    base = os.path.splitext(p.name)[0]
    with open(os.path.join(outdir, f"synopsis_{base}.c"), "w",
              encoding="utf-8") as f:
        f.write(f"/* SYNOPSIS of {p.name}, redeclared after the headers */\n")
        f.write("#include <hipc/hipc.h>\n")
        # A header the umbrella leaves out (hipc/testing.h) is the page's.
        for inc in re.findall(r"^\.In (hipc/[a-z_]+\.h)", p.text(), re.M):
            f.write(f"#include <{inc}>\n")
        for ftype, fn, args in p.synopsis:
            sep = "" if ftype.endswith("*") else " "
            f.write(f"#line 1 \"{p.name}: {fn}\"\n")
            f.write(f"{ftype}{sep}{fn}({', '.join(args) or 'void'});\n")


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    mandir, incdir, protos, outdir = sys.argv[1:]
    pages = [Page(x) for x in sorted(glob.glob(os.path.join(mandir, "*.[13]")))]
    funcs = public_functions(protos)
    if not funcs:
        problem(f"no public function found in {protos}")
    words, codes_by_header = header_words(incdir)
    check_pages(pages, funcs, words, codes_by_header, outdir)
    nsyn = sum(len(p.synopsis) for p in pages)
    nex = sum(len(p.examples) for p in pages)
    print(f"man: {len(pages)} pages, {len(funcs)} public functions, "
          f"{nsyn} SYNOPSIS prototypes, {nex} example programs")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
