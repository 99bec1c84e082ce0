import CFastCRC32
import Crypto

/// CRC-32 (IEEE 802.3, the polynomial of zlib and of S3's `x-amz-checksum-crc32`): the
/// values of zlib's `crc32`, by carry-less multiplication where the CPU has it (CFastCRC32,
/// ~10x zlib 1.2's speed with AVX-512). Data files store these CRCs: the values never change.
public struct CRC32: Sendable {
    public private(set) var value: UInt32 = 0
    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        value = fastcrc32_update(value, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }
}

/// CRC-32C (Castagnoli), used by `x-amz-checksum-crc32c`; slicing-by-8 tables.
public struct CRC32C: Sendable {
    private var crc: UInt32 = 0xFFFF_FFFF
    public init() {}

    public var value: UInt32 { crc ^ 0xFFFF_FFFF }

    static let tables: [[UInt32]] = {
        var tables = Array(repeating: Array(repeating: UInt32(0), count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            tables[0][i] = c
        }
        for i in 0..<256 {
            for t in 1..<8 { tables[t][i] = (tables[t - 1][i] >> 8) ^ tables[0][Int(tables[t - 1][i] & 0xFF)] }
        }
        return tables
    }()

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        let t = Self.tables
        var c = crc
        var i = 0
        let n = bytes.count
        t[0].withUnsafeBufferPointer { t0 in
        t[1].withUnsafeBufferPointer { t1 in
        t[2].withUnsafeBufferPointer { t2 in
        t[3].withUnsafeBufferPointer { t3 in
        t[4].withUnsafeBufferPointer { t4 in
        t[5].withUnsafeBufferPointer { t5 in
        t[6].withUnsafeBufferPointer { t6 in
        t[7].withUnsafeBufferPointer { t7 in
            while i + 8 <= n {
                let lo = c ^ (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
                c = t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)] ^ t4[Int(lo >> 24)]
                    ^ t3[Int(bytes[i + 4])] ^ t2[Int(bytes[i + 5])] ^ t1[Int(bytes[i + 6])] ^ t0[Int(bytes[i + 7])]
                i += 8
            }
            while i < n {
                c = t0[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }}}}}}}}
        crc = c
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }
}

/// The checksum algorithms S3 lets a client attach to an upload (`x-amz-checksum-*` header
/// or trailer, `x-amz-sdk-checksum-algorithm`).
public enum ChecksumAlgorithm: String, Sendable, CaseIterable, Codable {
    case crc32 = "CRC32"
    case crc32c = "CRC32C"
    case sha1 = "SHA1"
    case sha256 = "SHA256"

    /// The header (and trailer) name carrying this checksum.
    public var headerName: String { "x-amz-checksum-\(rawValue.lowercased())" }

    public init?(headerName: String) {
        guard let algorithm = Self.allCases.first(where: { $0.headerName == headerName.lowercased() }) else { return nil }
        self = algorithm
    }
}

/// An incremental hasher for one `ChecksumAlgorithm`; `base64Digest` is the S3 wire form.
public struct ChecksumHasher: Sendable {
    public let algorithm: ChecksumAlgorithm
    private var crc32 = CRC32()
    private var crc32c = CRC32C()
    private var sha1 = Insecure.SHA1()
    private var sha256 = SHA256()

    public init(_ algorithm: ChecksumAlgorithm) { self.algorithm = algorithm }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch algorithm {
        case .crc32: crc32.update(bytes)
        case .crc32c: crc32c.update(bytes)
        case .sha1: sha1.update(bufferPointer: bytes)
        case .sha256: sha256.update(bufferPointer: bytes)
        }
    }

    public func digest() -> [UInt8] {
        switch algorithm {
        case .crc32: return bigEndian(crc32.value)
        case .crc32c: return bigEndian(crc32c.value)
        case .sha1: return Array(sha1.finalize())
        case .sha256: return Array(sha256.finalize())
        }
    }

    public func base64Digest() -> String { Base64.encode(digest()) }

    private func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
}

/// Hex and Base64 helpers for digests.
public enum Base64 {
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Data(bytes).base64EncodedString()
    }

    public static func decode(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text).map { Array($0) }
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex, the form of ETags and SigV4 digests.
    public var hexString: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import Foundation
