#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The few system calls block persistence needs, each mapped to `BlockError.io`.
/// Blocks are written once and read whole, so plain blocking calls suffice; callers on an
/// event loop must hop to a thread of their own first.
enum BlockFileIO {
    /// An open file being written sequentially; `finish()` fsyncs and closes it. Not shared
    /// between threads.
    final class Output {
        let path: String
        private var descriptor: Int32

        init(creating path: String) throws(BlockError) {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw .io(operation: "create", path: path, errno: errno) }
            self.path = path
            self.descriptor = descriptor
        }

        func append(_ bytes: [UInt8]) throws(BlockError) {
            let failure: Int32? = bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    offset += written
                }
                return nil
            }
            if let failure { throw .io(operation: "write", path: path, errno: failure) }
        }

        func finish() throws(BlockError) {
            guard descriptor >= 0 else { return }
            defer {
                close(descriptor)
                descriptor = -1
            }
            guard fsync(descriptor) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
        }

        /// Closes without fsync if `finish()` was not reached (an error path).
        deinit {
            if descriptor >= 0 { close(descriptor) }
        }
    }

    /// Creates `path` with `bytes` as its whole content and fsyncs it.
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws(BlockError) {
        let output = try Output(creating: path)
        try output.append(bytes)
        try output.finish()
    }

    static func readFile(_ path: String) throws(BlockError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        let failure: Int32? = bytes.withUnsafeMutableBytes { buffer in
            while offset < size {
                let got = read(descriptor, buffer.baseAddress! + offset, size - offset)
                if got < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if got == 0 { break }
                offset += got
            }
            return nil
        }
        if let failure { throw .io(operation: "read", path: path, errno: failure) }
        return Array(bytes[0..<offset])
    }

    static func makeDirectory(_ path: String) throws(BlockError) {
        guard mkdir(path, 0o755) == 0 else { throw .io(operation: "mkdir", path: path, errno: errno) }
    }

    /// fsync on a directory makes the entries created or renamed in it durable.
    static func syncDirectory(_ path: String) throws(BlockError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
    }

    static func move(_ from: String, to: String) throws(BlockError) {
        guard rename(from, to) == 0 else { throw .io(operation: "rename", path: from, errno: errno) }
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Removes `path` and everything below it; a missing path is not an error.
    static func removeTree(_ path: String) throws(BlockError) {
        guard exists(path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw .io(operation: "remove", path: path, errno: EIO)
        }
    }

    /// Names in a directory, sorted.
    static func listDirectory(_ path: String) throws(BlockError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw .io(operation: "list", path: path, errno: ENOENT)
        }
    }
}
