#!/usr/bin/python3
"""Worst-case stack of a firmware image from GCC's call graph (-fcallgraph-info=su).

    stack.py --root Reset_Handler --calls ws__emit=on_event --calls ws__alloc= FILE.ci...

Each function's frame comes from the .ci nodes ("N bytes (static)", the same figure
-fstack-usage writes to .su); calls from the edges. A call through a pointer
(GCC's "__indirect_call") reaches what --calls CALLER=TARGET[+TARGET...] says: the
image's callbacks (the event handler, the RNG), or nothing (CALLER=) for a pointer the
image never sets (no allocator). A reachable pointer call not named fails the script, so
a new callback cannot go uncounted. The worst path is the deepest chain of calls
in which no function appears twice, so a callback that calls back into the library,
which calls the callback again (an error raised inside the handler), is counted once:
the figure is exact only when the library does not nest callbacks deeper than that,
and the program says which cycles it cut. A frame that is not static (alloca, VLA)
makes the result unbounded, and the script fails. Prints the path and the total.
"""
import argparse
import re
import sys

NODE = re.compile(r'node: \{ title: "([^"]*)" label: "([^"]*)"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--calls", action="append", default=[])
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()

    frame, name_of, calls = {}, {}, {}
    for fn in a.files:
        with open(fn) as f:
            text = f.read()
        for title, label in NODE.findall(text):
            parts = label.split("\\n")
            name_of[title] = parts[0]
            m = re.match(r"(\d+) bytes \((\w+(?:,\w+)?)\)", parts[-1])
            if m:
                if m.group(2) != "static":
                    sys.exit("stack.py: %s has a %s frame: no static bound" % (parts[0], m.group(2)))
                frame[title] = int(m.group(1))
        for src, dst in EDGE.findall(text):
            calls.setdefault(src, set()).add(dst)

    # An external function is one title in the file that defines it and another
    # ("name") in the callers: join them by name.
    by_name = {}
    for t in frame:
        by_name.setdefault(name_of.get(t, t), t)
    indirect = {}
    for spec in a.calls:
        caller, _, tgts = spec.partition("=")
        names = [n for n in tgts.split("+") if n]
        missing = [n for n in names if n not in by_name]
        if missing:
            sys.exit("stack.py: no frame for the indirect targets %s" % missing)
        indirect[caller] = [by_name[n] for n in names]

    def targets(t):
        out = set()
        for d in calls.get(t, ()):
            if d == "__indirect_call":
                caller = name_of.get(t, t)
                if caller not in indirect:
                    sys.exit("stack.py: %s calls through a pointer: say what with --calls" % caller)
                out.update(indirect[caller])
            elif d in frame:
                out.add(d)
            elif name_of.get(d, d) in by_name:
                out.add(by_name[name_of.get(d, d)])
            else:
                unknown.add(name_of.get(d, d))
        return sorted(out)

    unknown, cut = set(), set()
    root = by_name.get(a.root)
    if root is None:
        sys.exit("stack.py: root %s not found" % a.root)

    sys.setrecursionlimit(10000)
    on_path = set()

    def deepest(t):
        on_path.add(t)
        best, best_path = 0, []
        for d in targets(t):
            if d in on_path:
                cut.add((name_of.get(t, t), name_of.get(d, d)))
                continue
            s, p = deepest(d)
            if s > best:
                best, best_path = s, p
        on_path.discard(t)
        return frame[t] + best, [t] + best_path

    total, path = deepest(root)
    print("worst-case stack from %s: %d bytes" % (a.root, total))
    for t in path:
        print("  %6d  %s" % (frame[t], name_of.get(t, t)))
    if cut:
        print("  (calls back onto the path, counted once: %s)" %
              ", ".join("%s->%s" % c for c in sorted(cut)))
    if unknown:
        print("  (no frame known, counted as 0: %s)" % ", ".join(sorted(unknown)))
    print("stack-bytes %d" % total)


if __name__ == "__main__":
    main()
