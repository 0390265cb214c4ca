#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Describes hipc's public API from an installed prefix, for ci/stages/api.sh.

Writes three files into OUT:
  symbols.txt      the defined global symbols of libhipc.a (nm), hipc__*
                   (internal, shared between the library's own objects)
                   left out, each as "name func|data";
  functions.txt    every hipc_* function the installed headers declare, with
                   its type as the compiler spells it;
  layout-ARCH.txt  size, alignment and every field's offset, size and type of
                   each public struct, the size of each public typedef and
                   enum, the value of each enum constant and of each object-like
                   HIPC_* macro (HIPC_VERSION* left out: it moves with every
                   release), printed by a C program generated from the headers
                   and run on this machine (CC and HIPC_API_RUN choose
                   another architecture's compiler and emulator).
The declarations are read from clang's JSON AST of the installed headers.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

# Moves with every release by design; RELEASES and CMake record it.
SKIPPED_MACROS = re.compile(r"^HIPC_VERSION(_MAJOR|_MINOR|_PATCH|_STRING)?$")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("api.py: %s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def headers(inc):
    d = os.path.join(inc, "hipc")
    return sorted(f for f in os.listdir(d) if f.endswith(".h"))


def includes(inc):
    lines = ["#include <hipc/%s>" % h for h in headers(inc)]
    return "\n".join(lines + ["#include <stddef.h>", "#include <stdio.h>", ""])


def symbols(lib):
    out = set()
    for line in run(["nm", "-g", "--defined-only", "-P", lib]).splitlines():
        parts = line.split()
        if len(parts) < 2 or line.endswith(":") or parts[0].startswith("hipc__"):
            continue
        out.add("%s %s" % (parts[0], "func" if parts[1] in "TtWi" else "data"))
    return sorted(out)


def ast(cc_args, inc, src):
    cmd = ["clang", "-x", "c", "-std=c11", "-fsyntax-only", "-Xclang",
           "-ast-dump=json", "-I", inc] + cc_args + [src]
    return json.loads(run(cmd))


def fields(rec, prefix=""):
    """(member path, type) of each field; the members of a struct or union
    declared in place follow it (flattened when it has no name)."""
    out = []
    inline = None  # the last struct or union declared in place
    for n in rec.get("inner", []):
        if n["kind"] == "RecordDecl" and not n.get("name"):
            inline = n
        elif n["kind"] == "FieldDecl":
            name = n.get("name")
            # A type declared in place is named by where it is: drop that.
            typ = re.sub(r"(\w+::)?\((unnamed|anonymous)( \w+)? at [^)]*\)", r"(\2\3)",
                         n["type"]["qualType"])
            if n.get("isBitfield"):
                out.append((prefix + (name or "?"), None))
                continue
            if name:
                out.append((prefix + name, typ))
            if inline is not None and re.search(r"\((unnamed|anonymous)\b", typ):
                out += fields(inline, prefix + (name + "." if name else ""))
                inline = None
    return out


def declarations(tree):
    structs, typedefs, enums, funcs = [], [], [], []
    for n in tree.get("inner", []):
        name = n.get("name", "")
        kind = n["kind"]
        if kind == "RecordDecl" and name.startswith("hipc_") and n.get("completeDefinition"):
            structs.append(("%s %s" % (n.get("tagUsed", "struct"), name), fields(n)))
        elif kind == "TypedefDecl" and name.startswith("hipc_"):
            typedefs.append(name)
        elif kind == "EnumDecl":
            consts = [c["name"] for c in n.get("inner", []) if c["kind"] == "EnumConstantDecl"]
            if name.startswith("hipc_") or any(c.startswith("HIPC_") for c in consts):
                enums.append((name, consts))
        elif kind == "FunctionDecl" and name.startswith("hipc_"):
            funcs.append("%s: %s" % (name, n["type"]["qualType"]))
    return structs, typedefs, enums, sorted(set(funcs))


def macros(cc, cc_args, inc, src):
    out = run([cc, "-std=c11", "-dM", "-E", "-I", inc] + cc_args + [src])
    found = []
    for line in out.splitlines():
        m = re.match(r"#define (HIPC_\w+) (.+)$", line)
        if m and not SKIPPED_MACROS.match(m.group(1)):
            found.append((m.group(1), m.group(2).lstrip().startswith('"')))
    return sorted(found)


def compiles(cc, cc_args, inc, body, tmp):
    path = os.path.join(tmp, "probe.c")
    with open(path, "w") as f:
        f.write(includes(inc) + "void probe(void);\nvoid probe(void)\n{\n" + body + "}\n")
    r = subprocess.run([cc, "-std=c11", "-fsyntax-only", "-I", inc] + cc_args + [path],
                       capture_output=True)
    return r.returncode == 0


def macro_line(name, is_str):
    if is_str:
        return '    printf("macro %%s \\"%%s\\"\\n", "%s", %s);\n' % (name, name)
    return '    SHOW_INT("macro", "%s", %s);\n' % (name, name)


def program(inc, structs, typedefs, enums, macro_list):
    c = [includes(inc), """
#define TYPE_NAME(x) _Generic((x), int: "int", unsigned: "unsigned", \\
    long: "long", unsigned long: "unsigned long", long long: "long long", \\
    unsigned long long: "unsigned long long", default: "other")
#define SHOW_INT(what, name, x) \\
    ((x) < 0 ? printf("%s %s %lld %s\\n", what, name, (long long)(x), TYPE_NAME(x)) \\
             : printf("%s %s %llu %s\\n", what, name, (unsigned long long)(x), TYPE_NAME(x)))
int main(void)
{
"""]
    for tag, members in structs:
        c.append('    printf("%s size %%zu align %%zu\\n", sizeof(%s), _Alignof(%s));\n'
                 % (tag, tag, tag))
        for path, typ in members:
            if typ is None:
                c.append('    printf("  %s bit-field\\n");\n' % path)
                continue
            c.append('    printf("  %s offset %%zu size %%zu type %s\\n", offsetof(%s, %s), '
                     'sizeof(((%s *)0)->%s));\n' % (path, typ.replace('"', ""), tag, path, tag, path))
    for t in typedefs:
        c.append('    printf("typedef %s size %%zu\\n", sizeof(%s));\n' % (t, t))
    for name, consts in enums:
        if name:
            c.append('    printf("enum %s size %%zu\\n", sizeof(enum %s));\n' % (name, name))
        else:
            c.append('    printf("enum (anonymous)\\n");\n')
        for k in consts:
            c.append('    SHOW_INT("  enumerator", "%s", %s);\n' % (k, k))
    for name, is_str in macro_list:
        c.append(macro_line(name, is_str))
    c.append("    return 0;\n}\n")
    return "".join(c)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: api.py PREFIX OUT ARCH")
    prefix, out, arch = sys.argv[1:]
    cc = os.environ.get("CC", "cc")
    # Extra flags for headers that need them (0.2's needed _DEFAULT_SOURCE).
    flags = os.environ.get("HIPC_API_CFLAGS", "").split()
    inc = os.path.join(prefix, "include")
    libs = [os.path.join(d, f) for d, _, fs in os.walk(prefix) for f in fs if f == "libhipc.a"]
    if len(libs) != 1:
        sys.exit("api.py: expected one libhipc.a under %s, found %d" % (prefix, len(libs)))
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "all.c")
        with open(src, "w") as f:
            f.write(includes(inc))
        structs, typedefs, enums, funcs = declarations(ast(flags, inc, src))
        found = macros(cc, flags, inc, src)
        # Object-like macros that are not values (attributes, keywords) are
        # not part of the record; each is tried on its own only if needed.
        body = "".join("    (void)(%s);\n" % n for n, _ in found)
        if not compiles(cc, flags, inc, body, tmp):
            found = [(n, s) for n, s in found if compiles(cc, flags, inc, "    (void)(%s);\n" % n, tmp)]
        prog = os.path.join(tmp, "layout.c")
        with open(prog, "w") as f:
            f.write(program(inc, structs, typedefs, enums, found))
        exe = os.path.join(tmp, "layout")
        run([cc, "-std=c11", "-Wall", "-Werror", "-I", inc] + flags + [prog, "-o", exe])
        # HIPC_API_RUN runs another architecture's program (qemu-user).
        layout = run(shlex.split(os.environ.get("HIPC_API_RUN", "")) + [exe])
    with open(os.path.join(out, "symbols.txt"), "w") as f:
        f.write("\n".join(symbols(libs[0])) + "\n")
    with open(os.path.join(out, "functions.txt"), "w") as f:
        f.write("\n".join(funcs) + "\n")
    with open(os.path.join(out, "layout-%s.txt" % arch), "w") as f:
        f.write(layout)


if __name__ == "__main__":
    main()
