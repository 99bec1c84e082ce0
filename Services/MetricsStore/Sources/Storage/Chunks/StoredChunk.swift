/// A chunk as blocks hold it: Prometheus's XOR encoding or Vigil's decimal one. Readers
/// of blocks go through this type, so they need not care which encoding a block used.
public enum StoredChunk: Sendable {
    case xor(XORChunk)
    case decimal(DecimalChunk)

    /// Decodes chunk data given its encoding byte from a chunk file, its checksum verified;
    /// nil for an encoding this build does not know.
    public init?(encoding: UInt8, bytes: [UInt8]) throws(ChunkError) {
        switch encoding {
        case XORChunk.encoding: self = .xor(try XORChunk(bytes: bytes))
        case DecimalChunk.encoding: self = .decimal(try DecimalChunk(checksummedBytes: bytes))
        default: return nil
        }
    }

    public var encoding: UInt8 {
        switch self {
        case .xor: XORChunk.encoding
        case .decimal: DecimalChunk.encoding
        }
    }

    /// The chunk data as a chunk file stores it (after the encoding byte).
    public var bytes: [UInt8] {
        switch self {
        case .xor(let chunk): chunk.bytes
        case .decimal(let chunk): chunk.bytes
        }
    }

    public var count: Int {
        switch self {
        case .xor(let chunk): chunk.count
        case .decimal(let chunk): chunk.count
        }
    }

    public var minTime: Int64 {
        switch self {
        case .xor(let chunk): chunk.minTime
        case .decimal(let chunk): chunk.minTime
        }
    }

    public var maxTime: Int64 {
        switch self {
        case .xor(let chunk): chunk.maxTime
        case .decimal(let chunk): chunk.maxTime
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// Appends the samples in `[mint, maxt]` to `out`; false once a sample after `maxt`
    /// exists, so later chunks of the series need not be read.
    public func appendSamples(from mint: Int64, through maxt: Int64, to out: inout [Head.Sample]) throws(ChunkError) -> Bool {
        switch self {
        case .xor(let chunk): try chunk.appendSamples(from: mint, through: maxt, to: &out)
        case .decimal(let chunk): try chunk.appendSamples(from: mint, through: maxt, to: &out)
        }
    }

    /// Every sample, in time order.
    public func samples() throws(ChunkError) -> [Head.Sample] {
        var out: [Head.Sample] = []
        out.reserveCapacity(count)
        _ = try appendSamples(from: .min, through: .max, to: &out)
        return out
    }
}
