#!/usr/bin/env python3
"""Code-shape figures for handover's src/: the longest functions, the largest files, the files that start
processes, and the import cycles between modules. Used for issue 15's before/after; run from the
repository root: python3 contrib/code-metrics.py [--top N]

Function length: lines from the line holding `fn` to its closing brace, found by matching braces with
comments, strings, raw strings and char literals skipped. Test code (a `#[cfg(test)]` module, or a
file named tests.rs) is left out of the function table but counted in file length.
Modules: one per .rs file (mod.rs names its folder); an edge A -> B for each `crate::B...` or `super::`
path in A that names module B; cycles are the strongly connected components of more than one module."""
import os, re, sys, subprocess
from collections import defaultdict

TOP = int(sys.argv[sys.argv.index('--top') + 1]) if '--top' in sys.argv else 10
SRC = 'src'

def strip(text):
    """Blank out comments, strings and char literals, keeping newlines, so braces can be matched."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i)); i = j
        elif text.startswith('/*', i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith('/*', j): depth += 1; j += 2
                elif text.startswith('*/', j): depth -= 1; j += 2
                else: j += 1
            out.append(re.sub(r'[^\n]', ' ', text[i:j])); i = j
        elif re.match(r'b?r#*"', text[i:i + 40]) and not (i and (text[i-1].isalnum() or text[i-1] == '_')):
            m = re.match(r'b?r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r'[^\n]', ' ', text[i:j])); i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == '\\' else 1
            j += 1
            out.append(re.sub(r'[^\n]', ' ', text[i:j])); i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^'\\])'", text[i:])
            if m:
                out.append(' ' * m.end()); i += m.end()
            else:
                out.append(c); i += 1
        else:
            out.append(c); i += 1
    return ''.join(out)

def rs_files():
    for root, _, files in os.walk(SRC):
        for f in files:
            if f.endswith('.rs'):
                yield os.path.join(root, f)

def functions(path):
    text = open(path).read()
    s = strip(text)
    lines_before = [0]
    for ch in s:
        lines_before.append(lines_before[-1] + (ch == '\n'))
    # test regions: #[cfg(test)] mod ... { ... }
    test_spans = []
    for m in re.finditer(r'#\[cfg\(test\)\]\s*(#\[[^\]]*\]\s*)*(pub(\([a-z]+\))?\s+)?mod\s+\w+\s*\{', s):
        start = m.end() - 1
        end = match(s, start)
        test_spans.append((m.start(), end))
    res = []
    for m in re.finditer(r'\bfn\s+(\w+)', s):
        # the body's opening brace: first '{' after the signature at depth 0 of parens/angles, before ';'
        j, paren = m.end(), 0
        while j < len(s):
            ch = s[j]
            if ch in '([': paren += 1
            elif ch in ')]': paren -= 1
            elif ch == ';' and paren == 0: j = -1; break
            elif ch == '{' and paren == 0: break
            j += 1
        if j < 0 or j >= len(s): continue
        end = match(s, j)
        in_test = os.path.basename(path) == 'tests.rs' or any(a <= m.start() < b for a, b in test_spans)
        first, last = lines_before[m.start()] + 1, lines_before[end] + 1
        res.append((last - first + 1, path, first, last, m.group(1), in_test))
    return res

def without_tests(s):
    """The text with its #[cfg(test)] modules blanked out: starting a process in a test is not the device's."""
    for m in reversed(list(re.finditer(r'#\[cfg\(test\)\]\s*(#\[[^\]]*\]\s*)*(pub(\([a-z]+\))?\s+)?mod\s+\w+\s*\{', s))):
        end = match(s, m.end() - 1)
        s = s[:m.start()] + re.sub(r'[^\n]', ' ', s[m.start():end + 1]) + s[end + 1:]
    return s

def match(s, open_idx):
    depth = 0
    for k in range(open_idx, len(s)):
        if s[k] == '{': depth += 1
        elif s[k] == '}':
            depth -= 1
            if depth == 0: return k
    return len(s) - 1

def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ('mod', 'lib', 'main'): rel = rel[:-1]
    return '::'.join(rel) or 'crate'

def main():
    files = sorted(rs_files())
    fns = [f for p in files for f in functions(p)]
    prod = sorted((f for f in fns if not f[5]), reverse=True)
    print(f'## Longest production functions (of {len(prod)})')
    for n, p, a, b, name, _ in prod[:TOP]:
        print(f'{n:5}  {p}:{a}-{b}  {name}')
    print(f'functions over 150 lines: {sum(1 for f in prod if f[0] > 150)}; over 100: {sum(1 for f in prod if f[0] > 100)}')
    sizes = sorted(((sum(1 for _ in open(p)), p) for p in files), reverse=True)
    print(f'\n## Largest files (of {len(files)}, {sum(n for n, _ in sizes)} lines)')
    for n, p in sizes[:TOP]:
        print(f'{n:5}  {p}')
    print(f'files over 1,000 lines: {sum(1 for n, _ in sizes if n > 1000)}')
    spawn = re.compile(r'Command::new|duct::cmd|\bcmd!\(|\bcmd\(')
    starters = []
    for p in files:
        if os.path.basename(p) == 'tests.rs':
            continue
        s = without_tests(strip(open(p).read()))
        k = len(spawn.findall(s))
        if k: starters.append((p, k))
    print(f'\n## Files that start processes outside tests: {len(starters)}')
    for p, k in starters:
        print(f'  {p} ({k})')
    mods = {module_of(p): p for p in files}
    edges = defaultdict(set)
    for m, p in mods.items():
        s = strip(open(p).read())
        # expand `use crate::{a, b::c}` groups one level
        for g in re.finditer(r'crate::\{([^}]*)\}', s):
            for part in g.group(1).split(','):
                add_edge(edges, mods, m, part.strip())
        for r in re.finditer(r'crate::((?:\w+::)*\w+)', s):
            add_edge(edges, mods, m, r.group(1))
        if m != 'crate':
            parent = '::'.join(m.split('::')[:-1]) or 'crate'
            for r in re.finditer(r'\bsuper::((?:\w+::)*\w+)', s):
                target = r.group(1) if parent == 'crate' else parent + '::' + r.group(1)
                add_edge(edges, mods, m, target, allow_parent=parent)
    cycles = [c for c in tarjan(list(mods), edges) if len(c) > 1]
    print(f'\n## Import cycles (strongly connected modules): {len(cycles)}')
    for c in cycles:
        print('  ' + ' <-> '.join(sorted(c)))

def add_edge(edges, mods, m, path, allow_parent=None):
    parts = path.split('::')
    for k in range(len(parts), 0, -1):
        cand = '::'.join(parts[:k])
        if cand in mods and cand != m:
            # a child module using its own parent's items (super::) is not a cycle-maker by itself
            edges[m].add(cand)
            return
    if allow_parent and allow_parent in mods and allow_parent != m:
        edges[m].add(allow_parent)

def tarjan(nodes, edges):
    index, low, stack, on, out, i = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)
    def visit(v):
        index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            out.append(comp)
    for v in nodes:
        if v not in index: visit(v)
    return out

main()
