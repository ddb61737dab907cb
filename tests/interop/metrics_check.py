#!/usr/bin/env python3
"""metrics_check.py - checks a Prometheus text exposition (format 0.0.4) as a
scraper would read it, and prints the value of each series asked for.

usage: metrics_check.py FILE [SERIES...]

FILE holds the scrape (body only). Every sample line must be NAME[{LABELS}]
VALUE with a float value, every family must be contiguous and announced by
one # TYPE line before its samples, and no series may appear twice. Each
SERIES argument (e.g. 'sluice_up{role="client"}') is printed as
"SERIES VALUE"; a missing one fails. Exit 0 valid, 1 not.
"""
import re
import sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def main():
    text = open(sys.argv[1]).read()
    typed, done, seen, values = {}, set(), set(), {}
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            name = line.split()[2]
            if name in typed:
                print("line %d: family %s typed twice" % (n, name))
                return 1
            typed[name] = line.split()[3]
            continue
        m = LINE.match(line)
        if not m:
            print("line %d: not a sample: %r" % (n, line))
            return 1
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        float(value)
        if name not in typed:
            print("line %d: %s has no # TYPE" % (n, name))
            return 1
        if name != current:
            if name in done:
                print("line %d: family %s is not contiguous" % (n, name))
                return 1
            if current:
                done.add(current)
            current = name
        if name + labels in seen:
            print("line %d: series %s%s twice" % (n, name, labels))
            return 1
        seen.add(name + labels)
        values[name + labels] = value
    for want in sys.argv[2:]:
        if want not in values:
            print("missing series: %s" % want)
            return 1
        print(want, values[want])
    print("%d series in %d families" % (len(seen), len(typed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
