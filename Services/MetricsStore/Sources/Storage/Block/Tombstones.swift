// The block's `tombstones` file, Prometheus's tsdb/docs/format/tombstones.md:
//
//   magic 0x0130BA30 <4b> | version 1 <1b> | (series ref <uvarint> | mint <varint> | maxt <varint>)… | CRC32C <4b>
//
// The CRC covers only the tombstone entries, not the version byte (as Prometheus's
// `tombstones.ReadTombstones` computes it), so an empty file is 9 bytes ending in 0x00000000.

/// A deleted time range of one series (both ends inclusive).
public struct Tombstone: Sendable, Equatable {
    public var series: SeriesRef
    public var minTime: Int64
    public var maxTime: Int64
}

enum TombstonesFile {
    static let name = "tombstones"
    static let magic: UInt32 = 0x0130_BA30
    static let version: UInt8 = 1

    static func encode(_ stones: [Tombstone]) -> [UInt8] {
        var out = BlockEncoder()
        out.putBE32(magic)
        out.putByte(version)
        let start = out.count
        for stone in stones {
            out.putUvarint(stone.series)
            out.putVarint(stone.minTime)
            out.putVarint(stone.maxTime)
        }
        out.putCRC32C(from: start)
        return out.bytes
    }

    static func decode(_ bytes: [UInt8], file: String) throws(BlockError) -> [Tombstone] {
        guard bytes.count >= 9 else { throw .corrupt(file: file, offset: 0, reason: "shorter than header and checksum") }
        var decoder = BlockDecoder(bytes, file: file, to: bytes.count - 4)
        let found = try decoder.be32()
        guard found == magic else { throw .badMagic(file: file, found: found, expected: magic) }
        let version = try decoder.byte()
        guard version == Self.version else { throw .unsupportedVersion(file: file, version: Int(version)) }
        try verifyCRC32C(bytes, file: file, from: decoder.position, crcOffset: bytes.count - 4)
        var stones: [Tombstone] = []
        while decoder.remaining > 0 {
            stones.append(Tombstone(series: try decoder.uvarint(), minTime: try decoder.varint(), maxTime: try decoder.varint()))
        }
        return stones
    }
}
