// Decoding of `DecimalChunk` data. Chunk bytes come from files that may be damaged, so
// every field is checked and arithmetic wraps instead of trapping: corrupt data is a
// `ChunkError`, never a crash or an unbounded allocation.

enum DecimalChunkDecoder {
    /// 10^0 … 10^22, each exactly representable as a Double.
    static let powersOfTen: [Double] = (0...DecimalChunk.maxScale).map { exponent in
        var power = 1.0
        for _ in 0..<exponent { power *= 10 }
        return power
    }

    /// The whole chunk's samples.
    static func decode(_ bytes: [UInt8]) throws(ChunkError) -> [Head.Sample] {
        var samples: [Head.Sample] = []
        try decode(bytes, from: .min, through: .max, into: &samples)
        return samples
    }

    /// A chunk read up to its values: header, exceptions and every timestamp, with the
    /// reader positioned at the packed values.
    struct Timed {
        var flags: UInt8
        var scale: Int
        var first: Int64
        var step: Int64
        var exceptions: [(index: Int, bits: UInt64)]
        var timestamps: [Int64]
        var reader: BitReader
    }

    /// Reads and checks everything but the values: enough for the sample count and time
    /// bounds, which is all a block read needs before a query asks for samples.
    static func decodeTimestamps(_ bytes: [UInt8]) throws(ChunkError) -> Timed {
        var reader = BitReader(bytes: bytes)
        let count = try readUvarint(&reader)
        guard count >= 1, count <= UInt64(DecimalChunk.maxSampleCount) else {
            throw .invalidField("sample count \(count) outside 1…\(DecimalChunk.maxSampleCount)", bitOffset: 0)
        }
        let n = Int(count)
        var timestamps = [Int64](repeating: 0, count: n)
        timestamps[0] = try readVarint(&reader)
        var firstDelta: Int64 = 0
        if n > 1 { firstDelta = try readVarint(&reader) }

        let flagsOffset = reader.bitPosition
        let flags = try reader.readByte()
        guard flags & ~DecimalChunkFlags.known == 0 else {
            throw .invalidField("unknown flags \(flags)", bitOffset: flagsOffset)
        }
        let scale = Int(try reader.readByte())
        guard scale <= DecimalChunk.maxScale else {
            throw .invalidField("scale 10^\(scale) above 10^\(DecimalChunk.maxScale)", bitOffset: flagsOffset + 8)
        }
        let first = try readVarint(&reader)
        let step = Int64(bitPattern: try readUvarint(&reader))
        let exceptionsOffset = reader.bitPosition
        let exceptionCount = try readUvarint(&reader)
        guard exceptionCount <= count else {
            throw .invalidField("\(exceptionCount) exceptions in \(count) samples", bitOffset: exceptionsOffset)
        }
        var exceptions: [(index: Int, bits: UInt64)] = []
        var index = 0
        for i in 0..<Int(exceptionCount) {
            let gap = try readUvarint(&reader)
            guard gap < count, (i == 0 || gap > 0), UInt64(index) + gap < count else {
                throw .invalidField("exception index out of order or past the samples", bitOffset: reader.bitPosition)
            }
            index += Int(gap)
            exceptions.append((index, try reader.readBits(64)))
        }

        if n > 1 { timestamps[1] = timestamps[0] &+ firstDelta }
        if flags & DecimalChunkFlags.irregularTimestamps != 0 {
            var delta = firstDelta
            try readPacked(n - 2, from: &reader) { i, zigzagged in
                delta = delta &+ DecimalChunk.unzigzag(zigzagged)
                timestamps[i + 2] = timestamps[i + 1] &+ delta
            }
        } else {
            for i in stride(from: 2, to: n, by: 1) { timestamps[i] = timestamps[i - 1] &+ firstDelta }
        }
        return Timed(flags: flags, scale: scale, first: first, step: step, exceptions: exceptions,
                     timestamps: timestamps, reader: reader)
    }

    /// Decodes and checks every sample, appending those in `[mint, maxt]` to `out`; returns
    /// the sample count and the first and last timestamps.
    @discardableResult
    static func decode(_ bytes: [UInt8], from mint: Int64, through maxt: Int64,
                       into out: inout [Head.Sample]) throws(ChunkError) -> (count: Int, minTime: Int64, maxTime: Int64) {
        var chunk = try decodeTimestamps(bytes)
        let timestamps = chunk.timestamps, exceptions = chunk.exceptions
        let n = timestamps.count
        let power = powersOfTen[chunk.scale]
        var nextException = 0
        // Appends sample `i` with integer `k` if it is in the window.
        func emit(_ i: Int, _ k: Int64) {
            let t = timestamps[i]
            var value = Double(k) / power
            if nextException < exceptions.count, exceptions[nextException].index == i {
                value = Double(bitPattern: exceptions[nextException].bits)
                nextException += 1
            }
            if t >= mint && t <= maxt { out.append(Head.Sample(t, value)) }
        }
        emit(0, chunk.first)
        if chunk.step != 0 {
            let signed = chunk.flags & DecimalChunkFlags.signedSteps != 0
            let step = chunk.step
            var k = chunk.first
            try readPacked(n - 1, from: &chunk.reader) { i, packed in
                let multiple = signed ? DecimalChunk.unzigzag(packed) : Int64(bitPattern: packed)
                k = k &+ multiple &* step
                emit(i + 1, k)
            }
        } else {
            for i in 1..<n { emit(i, chunk.first) }
        }

        let padding = chunk.reader.remainingBits
        guard padding < 8, try chunk.reader.readBits(padding) == 0 else { throw .trailingData(bitCount: padding) }
        return (n, timestamps[0], timestamps[n - 1])
    }

    /// Reads `count` numbers packed in groups (see `DecimalChunk.writePacked`).
    private static func readPacked(_ count: Int, from reader: inout BitReader,
                                   _ body: (Int, UInt64) -> Void) throws(ChunkError) {
        var start = 0
        while start < count {
            let offset = reader.bitPosition
            let width = Int(try reader.readBits(DecimalChunkFlags.widthBits))
            guard width <= 64 else { throw .invalidField("packed width \(width) above 64", bitOffset: offset) }
            let sparse = try reader.readBit()
            let end = min(start + DecimalChunk.groupSize, count)
            if sparse {
                let present = try reader.readBits(end - start)
                for i in start..<end {
                    let isSet = present >> UInt64(end - 1 - i) & 1 == 1
                    body(i, isSet ? try reader.readBits(width) : 0)
                }
            } else {
                for i in start..<end { body(i, try reader.readBits(width)) }
            }
            start = end
        }
    }

    private static func readUvarint(_ reader: inout BitReader) throws(ChunkError) -> UInt64 {
        let start = reader.bitPosition
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try reader.readByte()
            guard shift < 64, shift < 63 || byte <= 1 else { throw .varintOverflow(bitOffset: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    private static func readVarint(_ reader: inout BitReader) throws(ChunkError) -> Int64 {
        DecimalChunk.unzigzag(try readUvarint(&reader))
    }
}
