#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a write-ahead-log operation failed. Corruption found during replay is not an
/// error: it is repaired and described in `WALReplayReport.corruption`.
public enum WALError: Error, CustomStringConvertible {
    /// A system call failed; `path` is the file or directory it was about.
    case io(operation: String, path: String, errno: Int32)
    /// `segmentSize` must leave room for the segment header and at least one record header.
    case invalidSegmentSize(Int)
    /// A record longer than `WALFrame.maxPayloadSize`; nothing of the call was written.
    case recordTooLarge(size: Int, limit: Int)
    /// `truncate(before:)` may not delete the segment being written to.
    case cannotTruncateActiveSegment(requested: Int, active: Int)
    /// The log was closed; the operation did nothing.
    case closed
    /// An earlier write or fsync failed in a way that leaves the file's state unknown, so
    /// the log refuses further writes. Restart the process: replay repairs the tail.
    indirect case unusable(cause: WALError)
    /// The replay callback threw; replay stopped at that record and repaired nothing.
    case replayAborted(segment: Int, offset: Int, underlying: any Error)

    public var description: String {
        switch self {
        case let .io(operation, path, code):
            return "WAL \(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
        case let .invalidSegmentSize(size):
            return "WAL segment size \(size) is too small (minimum \(WALSegment.minimumSize) bytes)"
        case let .recordTooLarge(size, limit):
            return "WAL record of \(size) bytes exceeds the limit of \(limit) bytes"
        case let .cannotTruncateActiveSegment(requested, active):
            return "WAL truncate(before: \(requested)) would delete the active segment \(active); cut() first"
        case .closed:
            return "WAL is closed"
        case let .unusable(cause):
            return "WAL is unusable after an earlier failure (\(cause)); restart to replay and repair it"
        case let .replayAborted(segment, offset, underlying):
            return "WAL replay stopped by the record at segment \(segment) offset \(offset): \(underlying)"
        }
    }
}
