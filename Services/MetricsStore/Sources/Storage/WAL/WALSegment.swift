import Foundation

/// Naming and header of segment files (see FORMAT-wal.md, "Segments").
///
/// A segment is `<directory>/<index>`, the index in decimal zero-padded to 8 digits, so
/// the lexical order is the log order. It starts with an 8-byte header, then records
/// back to back. Segment indices of a log are consecutive; the first one is whatever
/// `truncate(before:)` left.
enum WALSegment {
    /// `"VWAL"`, the format version, three reserved zero bytes.
    static let header: [UInt8] = [0x56, 0x57, 0x41, 0x4C, version, 0, 0, 0]
    static let headerSize = 8
    static let version: UInt8 = 1
    /// The smallest `segmentSize` that fits the header and one empty record.
    static let minimumSize = headerSize + WALFrame.headerSize

    static func name(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    static func path(_ index: Int, in directory: String) -> String {
        directory + "/" + name(index)
    }

    /// The index a file name denotes, or nil for files that are not segments (a
    /// checkpoint directory, a lock file, an editor's backup).
    static func index(fromName name: String) -> Int? {
        guard name.utf8.count >= 8, name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(name)
    }

    /// The segment indices present in `directory`, ascending.
    static func list(in directory: String) throws(WALError) -> [Int] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .io(operation: "list", path: directory, errno: WALFile.errnoCode(of: error))
        }
        return names.compactMap(index(fromName:)).sorted()
    }

    /// Why the first bytes of a segment are not a valid header, or nil if they are.
    static func headerProblem(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count >= headerSize else {
            return "segment header truncated (\(bytes.count) of \(headerSize) bytes)"
        }
        guard bytes[0..<4].elementsEqual(header[0..<4]) else { return "segment header has no VWAL magic" }
        guard bytes[4] == version else { return "unsupported segment version \(bytes[4])" }
        return nil
    }
}
