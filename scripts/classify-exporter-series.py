#!/usr/bin/env python3
"""Scrapes a Prometheus exporter repeatedly and classifies its series the way the
ingest benchmark's exporter workload models them (Benchmarks/RemoteWriteIngest/Workload.swift):
constant, integer gauge, float gauge, integer counter, float counter; with how often each
kind changes between scrapes and how precise its values are.

    prometheus-node-exporter --web.listen-address=127.0.0.1:29100 &
    scripts/classify-exporter-series.py http://127.0.0.1:29100/metrics --scrapes 41 --interval 15
"""
import argparse
import collections
import math
import time
import urllib.request
from decimal import Decimal


def scrape(url):
    types, values = {}, {}
    with urllib.request.urlopen(url, timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith('# TYPE'):
                _, _, name, kind = line.split(None, 3)
                types[name] = kind
            elif line and not line.startswith('#'):
                key, value = line.rsplit(' ', 1)
                values[key] = value
    return types, values


def family(key, types):
    """The metric family and its histogram/summary suffix ('' for plain series)."""
    name = key.split('{', 1)[0]
    for suffix in ('_bucket', '_sum', '_count'):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) in ('histogram', 'summary'):
            return name[:-len(suffix)], suffix
    return name, ''


def significant_digits(text):
    d = Decimal(text)
    return 0 if not d.is_finite() or d == 0 else len(d.normalize().as_tuple().digits)


def decimals(text):
    exponent = Decimal(text).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def classify(types, series, scrapes):
    kinds = collections.defaultdict(list)
    for key, texts in series.items():
        if len(texts) != scrapes:
            continue  # appeared or vanished midway
        name, suffix = family(key, types)
        kind = types.get(name, 'untyped')
        numbers = [float(t) for t in texts]
        changes = sum(1 for a, b in zip(numbers, numbers[1:]) if a != b)
        integral = all(math.isfinite(x) and x == math.floor(x) for x in numbers)
        cumulative = kind == 'counter' or (kind in ('histogram', 'summary') and suffix)
        if changes == 0:
            label = 'constant'
        elif cumulative:
            label = 'integer counter' if integral else 'float counter'
        else:
            label = 'integer gauge' if integral else 'float gauge'
        steps = [b - a for a, b in zip(numbers, numbers[1:]) if b != a]
        kinds[label].append((key, changes / (scrapes - 1), texts, steps))
    return kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('url')
    parser.add_argument('--scrapes', type=int, default=41)
    parser.add_argument('--interval', type=float, default=15)
    args = parser.parse_args()
    types, series = {}, collections.OrderedDict()
    for index in range(args.scrapes):
        if index:
            time.sleep(args.interval)
        scraped_types, values = scrape(args.url)
        types.update(scraped_types)
        for key, value in values.items():
            series.setdefault(key, []).append(value)
    kinds = classify(types, series, args.scrapes)
    total = sum(len(v) for v in kinds.values())
    print(f'{args.scrapes} scrapes {args.interval:g} s apart; {total} series present in all of them')
    for label, members in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        change = sum(m[1] for m in members) / len(members)
        digits = sorted(max(significant_digits(t) for t in m[2]) for m in members)
        line = (f'{label:16s} {len(members):5d} ({100 * len(members) / total:4.1f}%)  new value in {100 * change:5.1f}% of scrapes;'
                f' significant digits median {digits[len(digits) // 2]}')
        if label.startswith('float'):
            places = collections.Counter(max(decimals(t) for t in m[2]) for m in members)
            line += '; decimals ' + ', '.join(f'{k}: {v} series' for k, v in sorted(places.items()))
        if label.endswith('counter'):
            steps = sorted(s for m in members for s in m[3])
            line += f'; increments median {steps[len(steps) // 2]:g}, p90 {steps[int(len(steps) * 0.9)]:g}'
        print(line)
        for key, _, texts, _ in members[:3]:
            print('    e.g.', key[:80], texts[-3:])


if __name__ == '__main__':
    main()
