import VigilTestSupport
import ArgumentParser

/// Which sample values the benchmark sends. Both servers get the same values in a run;
/// the workload decides how compressible they are, hence bytes per sample on disk.
enum Workload: String, ExpressibleByArgument, CaseIterable {
    /// Series modelled on a real node_exporter's (see `ExporterSeries`): mostly constant,
    /// counters that grow by integer or two-decimal amounts, gauges of a few digits.
    case exporter
    /// The earlier mix, kept as the worst case: a third of the series take a new
    /// non-round value (tenths, which binary floats cannot hold exactly) every scrape.
    case randomFloats = "random-floats"

    /// One value generator per series; `next()` gives its samples in time order.
    func makeSeries(id: Int) -> any SeriesValues {
        switch self {
        case .exporter: return ExporterSeries(id: id)
        case .randomFloats: return RandomFloatSeries(id: id)
        }
    }
}

protocol SeriesValues {
    mutating func next() -> Double
}

/// The earlier workload: a third counters growing by a few events per scrape, a third
/// gauges that change now and then, a third gauges stepping by 0.1 every scrape.
struct RandomFloatSeries: SeriesValues {
    let id: Int
    var sample = 0

    mutating func next() -> Double {
        defer { sample += 1 }
        let i = sample
        switch id % 3 {
        case 0: return Double(i * (id % 7 + 1) + i / 4 * (id % 5))
        case 1: return Double(1000 + id + i / 40 * 3)
        default: return Double((id * 7 + i) % 1000) / 10
        }
    }
}

/// A series like one of node_exporter's. The kinds and their shares come from scraping
/// Debian's prometheus-node-exporter 1.5.0 41 times at 15 s on the benchmark machine and
/// classifying its 507 series with scripts/classify-exporter-series.py (BENCHMARKS.md, "The exporter workload"):
///
/// | kind            | share | changes in | values |
/// |-----------------|-------|------------|--------|
/// | constant        | 67 %  | —          | 0/1 flags, small counts, sizes |
/// | integer gauge   | 13 %  | 74 % of scrapes | byte counts, ~8 significant digits |
/// | float gauge     | 11 %  | 91 %       | durations in whole nanoseconds (9 decimals) |
/// | float counter   | 5 %   | 65 %       | CPU seconds, two decimals |
/// | integer counter | 4 %   | 94 %       | events and bytes, increments 1…10⁶ |
///
/// Values are drawn from a generator seeded by the series id, so every run and both
/// servers see the same numbers.
struct ExporterSeries: SeriesValues {
    enum Kind: CaseIterable {
        case constant, integerGauge, floatGauge, floatCounter, integerCounter

        /// Shares in thousandths, in the order of `allCases`.
        static let permille = [673, 130, 110, 49, 38]

        /// Kinds spread evenly over ids (not in blocks), so every sender and request
        /// carries the same mix.
        static func of(id: Int) -> Kind {
            var slot = (id &* 379) % 1000
            for (kind, share) in zip(allCases, permille) {
                if slot < share { return kind }
                slot -= share
            }
            return .constant
        }

        /// The probability that a scrape sees a new value (measured, see the table).
        var changeRate: Double {
            switch self {
            case .constant: return 0
            case .integerGauge: return 0.74
            case .floatGauge: return 0.91
            case .floatCounter: return 0.65
            case .integerCounter: return 0.94
            }
        }
    }

    let kind: Kind
    private var random: SplitMix64
    /// Integer state: the gauge's or counter's value in its unit (bytes, nanoseconds,
    /// hundredths of a second, events).
    private var units: Int64
    /// Per series: the size of its steps (a byte gauge moves in pages, a counter of
    /// bytes in thousands, one of events in ones).
    private let scale: Int64

    init(id: Int) {
        kind = Kind.of(id: id)
        random = SplitMix64(seed: UInt64(id) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        switch kind {
        case .constant:
            // node_exporter's constants: many 0/1 flags and info series, small counts
            // (CPUs, MTU-like settings), and sizes.
            let pick = random.below(10)
            units = pick < 4 ? Int64(pick % 2) : pick < 7 ? Int64(1 + random.below(1500)) : Int64(random.below(1 << 20)) * 4096
            scale = 1
        case .integerGauge:
            units = Int64(1_000_000 + random.below(500_000_000))
            scale = random.below(2) == 0 ? 8 : 4096
            units -= units % scale
        case .floatGauge:
            units = Int64(10_000 + random.below(5_000_000))
            scale = units
        case .floatCounter:
            units = Int64(random.below(2_000_000))
            scale = [1, 10, 100, 1000][Int(random.below(4))]
        case .integerCounter:
            units = Int64(random.below(100_000_000))
            scale = [1, 30, 1000, 1_000_000][Int(random.below(4))]
        }
    }

    mutating func next() -> Double {
        if kind != .constant, random.unit() < kind.changeRate { step() }
        switch kind {
        case .constant, .integerGauge, .integerCounter: return Double(units)
        // Division of two exact integers rounds once, to the double nearest the decimal
        // an exporter prints (e.g. 7138.93), which is what a scrape parses.
        case .floatGauge: return Double(units) / 1e9
        case .floatCounter: return Double(units) / 100
        }
    }

    private mutating func step() {
        switch kind {
        case .constant:
            break
        case .integerGauge:
            // A random walk of up to ±64 steps of its granularity.
            let delta = Int64(random.below(129)) - 64
            units = max(scale, units + delta * scale)
        case .floatGauge:
            // A fresh duration around its typical one (0.5× … 1.5×).
            units = max(1, scale / 2 + Int64(random.below(UInt64(scale))))
        case .floatCounter:
            units += 1 + Int64(random.below(UInt64(2 * scale)))
        case .integerCounter:
            units += 1 + Int64(random.below(UInt64(2 * scale)))
        }
    }
}
