/// What `WriteAheadLog.replay` read and, if the log was damaged, what it cut away.
public struct WALReplayReport: Sendable, Equatable, CustomStringConvertible {
    /// Records handed to the replay callback, in log order.
    public var recordsRead = 0
    /// Segments opened, including the one holding the corruption.
    public var segmentsRead = 0
    /// Bytes of valid records read (headers included).
    public var bytesRead = 0
    /// Set when replay found bytes that are not valid records and removed them.
    public var corruption: WALCorruption?

    public init() {}

    public var description: String {
        var text = "replayed \(recordsRead) records (\(bytesRead) bytes) from \(segmentsRead) segments"
        if let corruption { text += "; \(corruption)" }
        return text
    }
}

/// The first bad byte replay met and what repairing the log removed.
///
/// Everything before `offset` in `segment` was replayed; everything from there on was
/// dropped: the rest of that segment (truncated in place) and every later segment
/// (deleted). Records that a crash tore, or that were never acknowledged, end up here;
/// so do acknowledged records after damage in the middle of the log, which is why the
/// service should log this loudly.
public struct WALCorruption: Sendable, Equatable, CustomStringConvertible {
    public var segment: Int
    /// Byte offset within `segment` of the first byte that is not part of a valid
    /// record: the end of the last good record, or 0 if the segment header is bad.
    public var offset: Int
    /// Bytes removed from disk: the truncated tail of `segment` plus the deleted segments.
    public var droppedBytes: Int
    /// Later segments that were deleted, ascending.
    public var deletedSegments: [Int]
    public var reason: String

    public init(segment: Int, offset: Int, droppedBytes: Int, deletedSegments: [Int], reason: String) {
        self.segment = segment
        self.offset = offset
        self.droppedBytes = droppedBytes
        self.deletedSegments = deletedSegments
        self.reason = reason
    }

    public var description: String {
        var text = "corruption in segment \(WALSegment.name(segment)) at offset \(offset): \(reason); dropped \(droppedBytes) bytes"
        if !deletedSegments.isEmpty {
            text += " including later segments \(deletedSegments.map(WALSegment.name).joined(separator: ", "))"
        }
        return text
    }
}
