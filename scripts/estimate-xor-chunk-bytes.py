#!/usr/bin/env python3
"""Estimates bytes per sample of Prometheus XOR chunks (the head's and the blocks' format)
for the ingest benchmark's exporter workload, per kind of series and for several chunk
sizes, by counting the bits the encoding spends on each sample. An estimate: the series
are drawn like Benchmarks/RemoteWriteIngest/Workload.swift draws them, with Python's
generator; the per-chunk framing is the chunk file's (length, encoding byte, CRC32) plus
about 6 bytes of chunk meta in the index. The index's series and postings are not counted.

    scripts/estimate-xor-chunk-bytes.py
"""
import struct, random
def bits_of(d): return struct.unpack('<Q', struct.pack('<d', d))[0]
def clz(x): return 64 - x.bit_length()
def ctz(x): return (x & -x).bit_length() - 1
def chunk_bytes(ts, vs):
    bits = 16
    # first: varint ts + 64-bit value
    t0 = ts[0]; z = (t0 << 1) ^ (t0 >> 63); n = 1
    while z >= 0x80: z >>= 7; n += 1
    bits += 8*n + 64
    prev_t, prev_d, prev_v, lead, trail = ts[0], 0, bits_of(vs[0]), None, None
    for i in range(1, len(ts)):
        d = ts[i] - prev_t
        if i == 1:
            z = d; n = 1
            while z >= 0x80: z >>= 7; n += 1
            bits += 8*n
        else:
            dod = d - prev_d
            bits += 1 if dod == 0 else 16 if -8191 <= dod <= 8192 else 20 if -65535 <= dod <= 65536 else 24 if -524287 <= dod <= 524288 else 68
        v = bits_of(vs[i]); x = v ^ prev_v
        if x == 0: bits += 1
        else:
            l, t = min(clz(x), 31), ctz(x)
            if lead is not None and l >= lead and t >= trail: bits += 2 + 64 - lead - trail
            else: lead, trail = l, t; bits += 13 + 64 - l - t
        prev_t, prev_d, prev_v = ts[i], d, v
    data = (bits + 7) // 8
    return data + 1 + 1 + 4 + 6   # length varint, encoding, crc, index meta
def series_values(kind, rnd, n):
    if kind == 'const':
        p = rnd.randrange(10)
        u = p % 2 if p < 4 else 1 + rnd.randrange(1500) if p < 7 else rnd.randrange(1 << 20) * 4096
        return [float(u)] * n
    out = []
    if kind == 'igauge':
        scale = 8 if rnd.randrange(2) == 0 else 4096; u = 1_000_000 + rnd.randrange(500_000_000); u -= u % scale; rate = .74
    elif kind == 'fgauge': u = 10_000 + rnd.randrange(5_000_000); scale = u; rate = .91
    elif kind == 'fcounter': u = rnd.randrange(2_000_000); scale = [1, 10, 100, 1000][rnd.randrange(4)]; rate = .65
    else: u = rnd.randrange(100_000_000); scale = [1, 30, 1000, 1_000_000][rnd.randrange(4)]; rate = .94
    for _ in range(n):
        if rnd.random() < rate:
            if kind == 'igauge': u = max(scale, u + (rnd.randrange(129) - 64) * scale)
            elif kind == 'fgauge': u = max(1, scale // 2 + rnd.randrange(scale))
            else: u += 1 + rnd.randrange(2 * scale)
        out.append(u / 1e9 if kind == 'fgauge' else u / 100 if kind == 'fcounter' else float(u))
    return out
mix = [('const', 673), ('igauge', 130), ('fgauge', 110), ('fcounter', 49), ('icounter', 38)]
rnd = random.Random(1)
N = 480  # one 2-hour block at 15 s
for per_chunk in (120, 240, 480):
    total = {}; 
    for kind, share in mix:
        b = 0
        for s in range(share):
            vs = series_values(kind, rnd, N); ts = [1_700_000_000_000 + 15000 * i for i in range(N)]
            for c in range(0, N, per_chunk): b += chunk_bytes(ts[c:c+per_chunk], vs[c:c+per_chunk])
        total[kind] = b / (share * N)
    avg = sum(total[k] * s for k, s in mix) / 1000
    print(per_chunk, 'samples/chunk: %.3f bytes/sample (chunks + chunk meta)' % avg, {k: round(v, 2) for k, v in total.items()})
