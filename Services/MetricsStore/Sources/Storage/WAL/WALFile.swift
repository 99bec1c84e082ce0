import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A thin wrapper over one open file descriptor: positional reads and writes that retry
/// on EINTR and short counts, durable sync, and errors that name the path.
struct WALFile {
    let descriptor: Int32
    let path: String

    static func openForReading(_ path: String) throws(WALError) -> WALFile {
        try open(path, flags: O_RDONLY | O_CLOEXEC, operation: "open")
    }

    static func openForWriting(_ path: String) throws(WALError) -> WALFile {
        try open(path, flags: O_WRONLY | O_CLOEXEC, operation: "open")
    }

    /// Creates `path`, failing if it already exists: a new segment never reuses a name.
    static func create(_ path: String) throws(WALError) -> WALFile {
        try open(path, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, operation: "create")
    }

    private static func open(_ path: String, flags: Int32, operation: String) throws(WALError) -> WALFile {
        while true {
            #if canImport(Darwin)
            let fd = Darwin.open(path, flags, 0o644)
            #else
            let fd = Glibc.open(path, flags, 0o644)
            #endif
            if fd >= 0 { return WALFile(descriptor: fd, path: path) }
            if errno != EINTR { throw .io(operation: operation, path: path, errno: errno) }
        }
    }

    func size() throws(WALError) -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: Int) throws(WALError) {
        let code = bytes.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if n > 0 {
                    done += n
                } else if n < 0 && errno != EINTR {
                    return errno
                }
            }
            return 0
        }
        if code != 0 { throw .io(operation: "write", path: path, errno: code) }
    }

    /// Reads file bytes from `offset` into `buffer[range]`, stopping early only at the end
    /// of the file; returns how many bytes it read.
    func read(into buffer: inout [UInt8], _ range: Range<Int>, at offset: Int) throws(WALError) -> Int {
        var code: Int32 = 0
        let done = buffer.withUnsafeMutableBytes { bytes in
            var done = 0
            while done < range.count {
                let n = pread(descriptor, bytes.baseAddress! + range.lowerBound + done, range.count - done, off_t(offset + done))
                if n > 0 {
                    done += n
                } else if n == 0 {
                    break
                } else if errno != EINTR {
                    code = errno
                    break
                }
            }
            return done
        }
        if code != 0 { throw .io(operation: "read", path: path, errno: code) }
        return done
    }

    /// Makes everything written so far survive power loss. On Linux `fdatasync` also
    /// persists the new file size, which is all an append changes; on Darwin only
    /// F_FULLFSYNC flushes the drive's cache.
    func sync() throws(WALError) {
        #if canImport(Darwin)
        if fcntl(descriptor, F_FULLFSYNC) == 0 { return }
        guard fsync(descriptor) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
        #else
        guard fdatasync(descriptor) == 0 else { throw .io(operation: "fdatasync", path: path, errno: errno) }
        #endif
    }

    func truncate(to size: Int) throws(WALError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else {
            throw .io(operation: "truncate", path: path, errno: errno)
        }
    }

    func close() {
        #if canImport(Darwin)
        _ = Darwin.close(descriptor)
        #else
        _ = Glibc.close(descriptor)
        #endif
    }

    /// Persists the directory entries below `path`: a created or deleted segment is only
    /// durable once its directory is synced.
    static func syncDirectory(_ path: String) throws(WALError) {
        let directory = try open(path, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC, operation: "open directory")
        defer { directory.close() }
        guard fsync(directory.descriptor) == 0 else {
            throw .io(operation: "fsync directory", path: path, errno: errno)
        }
    }

    /// The size of the file at `path`, or 0 if it is gone.
    static func size(ofPath path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// The errno behind a Foundation (`FileManager`) error, or EIO if it has none.
    static func errnoCode(of error: any Error) -> Int32 {
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return Int32(error.code) }
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return Int32(underlying.code)
        }
        return EIO
    }

    static func remove(_ path: String) throws(WALError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw .io(operation: "delete", path: path, errno: errno) }
    }
}
