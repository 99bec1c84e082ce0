import Foundation
#if canImport(Glibc)
import Glibc
#endif

// How data-file blocks reach the disk: direct I/O where the filesystem allows it, buffered
// writes with early writeback where it does not.

/// O_DIRECT from Linux's <fcntl.h> (hidden from Swift behind _GNU_SOURCE); the value is per
/// architecture. Writes with it go from the buffer to the device without a copy into the
/// page cache: on the benchmark machine that copy into freshly allocated page-cache memory
/// was a third of the server's CPU time for large PUTs at concurrency 16 (see BENCHMARKS.md).
let openDirectFlag: Int32 = {
    #if arch(x86_64) || arch(i386)
    return 0o40000
    #elseif arch(arm64) || arch(arm)
    return 0o200000
    #else
    return 0
    #endif
}()

/// Writes `length` bytes at `position`; the file descriptor may or may not be in direct
/// mode. A filesystem that refuses direct I/O (EINVAL, e.g. tmpfs or an unaligned device)
/// switches the descriptor to buffered writes, which then get their writeback started.
func writeBlock(fd: Int32, _ bytes: UnsafeRawBufferPointer, at position: Int64, path: String, syncing: Bool) throws {
    var done = 0
    while done < bytes.count {
        let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(position) + off_t(done))
        if n < 0 {
            let code = errno
            if code == EINTR { continue }
            let flags = fcntl(fd, F_GETFL)
            if code == EINVAL, openDirectFlag != 0, flags >= 0, flags & openDirectFlag != 0,
               fcntl(fd, F_SETFL, flags & ~openDirectFlag) == 0 {
                continue
            }
            throw BlobError.io("cannot write \(path)", code)
        }
        done += n
    }
    // Buffered writes: start writeback of this block now, so the disk works while the rest
    // of the body arrives and the final fsync has little left to flush.
    if syncing, fcntl(fd, F_GETFL) & openDirectFlag == 0 { startWriteback(fd: fd, offset: position, length: bytes.count) }
}

/// Linux's sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE): starts writeback of a
/// range without waiting for it. Glibc declares it only under _GNU_SOURCE, which Swift's
/// Glibc module does not see, so it is looked up by name; where it is missing this does nothing.
private let syncFileRange: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
}()

func startWriteback(fd: Int32, offset: Int64, length: Int) {
    let syncFileRangeWrite: UInt32 = 2
    _ = syncFileRange?(fd, offset, Int64(length), syncFileRangeWrite)
}
