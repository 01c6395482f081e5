#!/usr/bin/env python3
"""Module dependencies of a crate's src/, from `crate::` paths (tests and
comments left out); prints each module's edges and any cycle."""
import re, sys, pathlib

root = pathlib.Path(sys.argv[1])
edges = {}
for f in sorted(root.rglob('*.rs')):
    rel = f.relative_to(root).with_suffix('')
    parts = [p for p in rel.parts if p != 'mod']
    top = parts[0] if parts else 'lib'
    top = 'lib' if top in ('lib', 'main') and f.name == 'lib.rs' else top
    if f.name == 'command_names.rs':
        continue  # include!d, not a module
    text = f.read_text().split('#[cfg(test)]')[0]
    text = '\n'.join(l.split('//')[0] for l in text.splitlines())
    used = set(re.findall(r'crate::(\w+)', text))
    for group in re.findall(r'crate::\{([^}]*)\}', text):
        used |= {g.strip().split('::')[0] for g in group.split(',') if g.strip()}
    if top == 'main':
        used |= {'lib'} if 'countertop_app::' in text else set()
    known = {p.relative_to(root).parts[0].removesuffix('.rs') for p in root.iterdir()}
    if top == 'lib':
        # the crate root names its modules without `crate::`
        used |= set(re.findall(r'\b(\w+)::', text))
    lib_items = set(re.findall(r'pub (?:fn|static|const|struct|enum) (\w+)',
                               (root / 'lib.rs').read_text()))
    used = {('lib' if u in lib_items else u) for u in used}
    used = {u for u in used if (u in known or u == 'lib') and u != top and u != 'command_names'}
    edges.setdefault(top, set()).update(used)
for m in sorted(edges):
    print(f"{m} -> {', '.join(sorted(edges[m])) or '(none)'}")
# cycles: Tarjan's strongly connected components
index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        scc = []
        while True:
            w = stack.pop(); on.discard(w); scc.append(w)
            if w == v: break
        sccs.append(scc)
for v in list(edges):
    if v not in index: visit(v)
cycles = [sorted(s) for s in sccs if len(s) > 1]
print('cycles:', cycles if cycles else 'none')
print('order (uses before users):', ' < '.join(m for s in sccs for m in s))
sys.exit(1 if cycles else 0)
