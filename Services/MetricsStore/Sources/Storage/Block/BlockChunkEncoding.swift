/// How a block stores its float chunks (`--storage.tsdb.block-chunk-encoding`).
public enum BlockChunkEncoding: String, Sendable, CaseIterable {
    /// Prometheus's XOR chunks only, as the head cut them: blocks that Prometheus and its
    /// tools (promtool tsdb dump, Thanos) read.
    case xor
    /// Decimal chunks of up to `decimalChunkSamples` samples wherever the values are
    /// decimals and that is smaller; XOR chunks elsewhere. About half the bytes of XOR
    /// for exporter data, but only Vigil reads these chunks.
    case decimal

    /// A 2-hour block of 15 s samples (480) fits one chunk; bounds what a query decodes.
    static let decimalChunkSamples = 1024
    /// What each chunk costs besides its data: the chunk record's length, encoding byte
    /// and CRC, and its entry in the index.
    static let perChunkOverhead = 12

    /// `chunks` (one series, time order, not overlapping) in this encoding.
    func encode(_ chunks: [StoredChunk]) -> [StoredChunk] {
        switch self {
        case .xor: Self.asXOR(chunks)
        case .decimal: Self.asDecimal(chunks)
        }
    }

    private static func asXOR(_ chunks: [StoredChunk]) -> [StoredChunk] {
        guard chunks.contains(where: { if case .decimal = $0 { true } else { false } }) else { return chunks }
        var builder = ChunkSequenceBuilder()
        for chunk in chunks {
            switch chunk {
            case .xor(let xor):
                builder.append(whole: xor)
            case .decimal(let decimal):
                // Validated when read or made; a failure here would be a bug, not bad data.
                for sample in (try? decimal.samples()) ?? [] {
                    builder.append(timestamp: sample.timestamp, value: sample.value)
                }
            }
        }
        return builder.finish().map { .xor($0) }
    }

    /// Runs of consecutive XOR chunks are merged into one decimal chunk when it is
    /// smaller than they are together; chunks already decimal are kept.
    private static func asDecimal(_ chunks: [StoredChunk]) -> [StoredChunk] {
        var out: [StoredChunk] = []
        var run: [XORChunk] = []
        var runSamples = 0
        func flush() {
            defer { run = []; runSamples = 0 }
            guard !run.isEmpty else { return }
            var samples: [Head.Sample] = []
            samples.reserveCapacity(runSamples)
            for chunk in run {
                guard (try? chunk.appendSamples(from: .min, through: .max, to: &samples)) != nil else {
                    out.append(contentsOf: run.map { .xor($0) })
                    return
                }
            }
            let xorSize = run.reduce(0) { $0 + $1.bytes.count + perChunkOverhead }
            if let decimal = DecimalChunk.encode(samples), decimal.bytes.count + perChunkOverhead < xorSize {
                out.append(.decimal(decimal))
            } else {
                out.append(contentsOf: run.map { .xor($0) })
            }
        }
        for chunk in chunks {
            switch chunk {
            case .xor(let xor):
                if runSamples + xor.count > decimalChunkSamples { flush() }
                run.append(xor)
                runSamples += xor.count
            case .decimal:
                flush()
                out.append(chunk)
            }
        }
        flush()
        return out
    }
}
