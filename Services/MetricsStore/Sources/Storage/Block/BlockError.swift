#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why writing or reading a persisted block failed. Reading never returns data that did
/// not pass its checksum: a damaged block is one of these errors instead.
public enum BlockError: Error, Equatable, CustomStringConvertible {
    /// A system call failed; `path` is the file or directory it was about.
    case io(operation: String, path: String, errno: Int32)
    /// The writer's input breaks a block invariant (series order, chunk order, ...).
    case invalidInput(String)
    /// A file does not start with the magic number of its kind.
    case badMagic(file: String, found: UInt32, expected: UInt32)
    /// A file's format version is not one this reader understands.
    case unsupportedVersion(file: String, version: Int)
    /// A checksum did not match: the bytes at `offset` of `file` are damaged.
    case checksumMismatch(file: String, offset: Int, stored: UInt32, computed: UInt32)
    /// A structure is cut short, points outside its file or is otherwise malformed.
    case corrupt(file: String, offset: Int, reason: String)
    /// `meta.json` is missing fields or not valid JSON.
    case invalidMeta(path: String, reason: String)
    /// A series, chunk or symbol reference that the block does not contain.
    case unknownReference(kind: String, ref: UInt64)

    public var description: String {
        switch self {
        case let .io(operation, path, code):
            return "block \(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
        case let .invalidInput(reason):
            return "cannot write block: \(reason)"
        case let .badMagic(file, found, expected):
            return "\(file): bad magic 0x\(String(found, radix: 16)), expected 0x\(String(expected, radix: 16))"
        case let .unsupportedVersion(file, version):
            return "\(file): unsupported format version \(version)"
        case let .checksumMismatch(file, offset, stored, computed):
            return "\(file): checksum mismatch at offset \(offset) (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))"
        case let .corrupt(file, offset, reason):
            return "\(file): corrupt at offset \(offset): \(reason)"
        case let .invalidMeta(path, reason):
            return "\(path): invalid block meta: \(reason)"
        case let .unknownReference(kind, ref):
            return "unknown \(kind) reference \(ref)"
        }
    }
}
