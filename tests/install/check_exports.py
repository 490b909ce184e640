#!/usr/bin/env python3
"""The ABI of libstore.so is exactly the public headers (ctest: install_exports).

    check_exports.py INCLUDE_DIR LIBSTORE_SO

Reads every include/libstore/*.h, collects the functions and variables
declared at file scope (outside typedefs, struct and enum bodies), and
compares them with the dynamic symbols libstore.so defines
(`nm -D --defined-only`). It fails, naming each symbol, when
  - a declared function or variable is not exported (a definition that did
    not see its LS_EXTERN declaration is compiled hidden: a server author's
    link fails), or is declared without LS_EXTERN;
  - the library exports a symbol no public header declares (an internal
    function leaked into the ABI, where a server could come to depend on it).
Symbols the toolchain adds (reserved names starting with "__" or "_Z", and
_init/_fini/_edata/_end/__bss_start) are not part of the ABI and ignored.
"""
import os
import re
import subprocess
import sys

TOOLCHAIN = {"_init", "_fini", "_edata", "_end", "__bss_start"}


def strip_source(text):
    """The header without comments, preprocessor lines and string literals."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    # preprocessor lines, with their continuations
    text = re.sub(r"^[ \t]*#([^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    return text


def top_level_statements(text):
    """File-scope statements: the text split at ';' outside braces. A struct
    or enum body becomes "{}" inside its statement; a function body (a brace
    block right after ')') ends its statement, as an inline definition does."""
    out, cur, depth, body = [], [], 0, False
    for ch in text:
        if ch == "{":
            if depth == 0:
                body = "".join(cur).rstrip().endswith(")")
                cur.append("{}")
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)   # the '}' closing extern "C" has no '{' left
            if depth == 0 and body:
                out.append("".join(cur))
                cur = []
        elif depth > 0:
            continue
        elif ch == ";":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    return out


def declarations(path):
    """(name, has_LS_EXTERN) for each function or variable declared at file
    scope in the header at path (typedefs, struct and enum definitions and
    static inline functions declare no symbol)."""
    text = strip_source(open(path, encoding="utf-8").read())
    # extern "C" { ... } (for C++) is no scope of its own
    text = re.sub(r'extern\s*""\s*\{', " ", text)
    found = []
    for st in top_level_statements(text):
        st = " ".join(st.split())
        tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", st)
        if not tokens or "{}" in st or tokens[0] in ("typedef", "static"):
            continue
        if "(" in st:   # a function: the name before the parameter list
            m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", st)
        else:           # a variable: the last name, before any array bounds
            m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\]\s*)*$", st)
        if not m or not re.search(r"[A-Za-z_]", st[: m.start()]):
            continue    # no type before the name: not a declaration
        found.append((m.group(1), "LS_EXTERN" in tokens))
    return found


def exported(so):
    out = subprocess.run(["nm", "-D", "--defined-only", so], check=True, capture_output=True,
                         text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        name = parts[2].split("@")[0]
        if name in TOOLCHAIN or name.startswith("__") or name.startswith("_Z"):
            continue
        names.add(name)
    return names


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    incdir, so = sys.argv[1], sys.argv[2]
    declared, problems = {}, []
    headers = sorted(f for f in os.listdir(incdir) if f.endswith(".h"))
    for h in headers:
        for name, extern in declarations(os.path.join(incdir, h)):
            declared[name] = h
            if not extern:
                problems.append("%s: %s is declared without LS_EXTERN" % (h, name))
    if len(declared) < 10:
        problems.append("only %d declarations found in %s: is the parser broken?" % (len(declared), incdir))
    syms = exported(so)
    for name in sorted(set(declared) - syms):
        problems.append("%s: %s is declared public but libstore.so does not export it" % (declared[name], name))
    for name in sorted(syms - set(declared)):
        problems.append("libstore.so exports %s, which no public header declares" % name)
    for p in problems:
        print("FAIL: " + p)
    print("%d public declarations in %d headers, %d symbols exported, %d problems"
          % (len(declared), len(headers), len(syms), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
