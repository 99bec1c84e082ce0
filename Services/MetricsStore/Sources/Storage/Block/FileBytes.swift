#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes of a block file, memory-mapped: the kernel pages them in when a query
/// touches them and may drop them under memory pressure, so blocks on disk do not count
/// against the process's resident memory the way copies in arrays would. Blocks are
/// immutable once written, and a deleted file stays mapped until the last reader goes.
public struct FileBytes: RandomAccessCollection, Sendable {
    private let region: Region
    public let startIndex = 0
    public let endIndex: Int

    /// Owns a mapping (or, for bytes built in memory, an allocation) and releases it.
    private final class Region: @unchecked Sendable {
        let base: UnsafeRawPointer?
        let count: Int
        let release: (UnsafeRawPointer?, Int) -> Void

        init(base: UnsafeRawPointer?, count: Int, release: @escaping (UnsafeRawPointer?, Int) -> Void) {
            self.base = base
            self.count = count
            self.release = release
        }

        deinit { release(base, count) }
    }

    /// Maps the whole file at `path`.
    public init(mapping path: String) throws(BlockError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        let size = Int(info.st_size)
        guard size > 0 else {
            region = Region(base: nil, count: 0) { _, _ in }
            endIndex = 0
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapped != MAP_FAILED else {
            throw .io(operation: "mmap", path: path, errno: errno)
        }
        region = Region(base: UnsafeRawPointer(mapped), count: size) { base, count in
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        }
        endIndex = size
    }

    /// Bytes already in memory (tests, and files written and read back at once).
    public init(_ bytes: [UInt8]) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(1, bytes.count), alignment: 8)
        copy.copyBytes(from: bytes)
        region = Region(base: UnsafeRawPointer(copy.baseAddress), count: bytes.count) { base, _ in
            UnsafeMutableRawPointer(mutating: base)?.deallocate()
        }
        endIndex = bytes.count
    }

    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < endIndex, "FileBytes index out of range")
        return region.base!.load(fromByteOffset: position, as: UInt8.self)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: region.base, count: endIndex))
    }

    /// A copy of `range`, for data that must outlive the mapping's reader (chunks).
    public func copy(_ range: Range<Int>) -> [UInt8] {
        withUnsafeBytes { Array($0[range]) }
    }
}
