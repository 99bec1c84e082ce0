/// The file side of the log: which segments exist, which one is being written and
/// where its next record goes.
///
/// Not thread-safe: `WALCommitQueue` makes every call under its storage lock. Invariant
/// between calls: the active segment holds whole records up to `size` and all of them
/// are synced.
final class WALStorage {
    let directory: String
    let segmentSize: Int
    /// Segments on disk, ascending and consecutive once replay has run.
    var segmentIndices: [Int]
    /// Replay has verified the files and cut any damaged tail, so appending after the
    /// last segment's end will not bury new records behind garbage.
    var isRecovered = false

    private struct ActiveSegment {
        let index: Int
        let file: WALFile
        /// Bytes of whole records (and the header) at the start of the file.
        var size: Int
        /// The file's length: zeros, written and synced, follow the records up to here.
        var zeroedEnd: Int
    }

    /// How far ahead of its records a segment is filled with zeros. Overwriting bytes
    /// the file already has lets `fdatasync` flush just the data; growing the file makes
    /// every sync also commit the new length to the filesystem's journal.
    static let zeroFillStep = 4 << 20

    private var active: ActiveSegment?
    /// Reused across groups so a steady stream of appends does not allocate.
    private var encodeBuffer: [UInt8] = []
    /// A failure after which the state of the files is unknown (a failed fsync may have
    /// dropped dirty pages, so retrying it could report success for lost data).
    private var failure: WALError?

    init(directory: String, segmentSize: Int) throws(WALError) {
        self.directory = directory
        self.segmentSize = segmentSize
        self.segmentIndices = try WALSegment.list(in: directory)
    }

    /// Writes `records` in order after the last record and syncs them. A group that does
    /// not fit in the active segment continues in a new one; a record larger than a whole
    /// segment gets a segment of its own, longer than `segmentSize`.
    func append(_ records: [[UInt8]]) throws(WALError) {
        _ = try write(records)
        try syncActive()
    }

    /// Like `append`, but leaves the final sync to the caller: the records are written
    /// (segments they filled on the way are synced) and the caller must sync the returned
    /// segment before calling them durable. This lets one group's fdatasync overlap the
    /// next group's write; a failed sync must be reported through `recordFailure`.
    func write(_ records: [[UInt8]]) throws(WALError) -> Int {
        try prepareForWriting()
        encodeBuffer.removeAll(keepingCapacity: true)
        for record in records {
            let used = (active?.size ?? 0) + encodeBuffer.count
            if used + WALFrame.frameSize(payloadCount: record.count) > segmentSize, used > WALSegment.headerSize {
                try flush()
                try startSegment()
            }
            WALFrame.encode(record, into: &encodeBuffer)
        }
        try flush()
        if encodeBuffer.capacity > 16 << 20 { encodeBuffer = [] }
        return segmentIndices[segmentIndices.count - 1]
    }

    /// A sync made outside (`write`) failed: the files' state is unknown, so the log
    /// takes no more appends.
    func recordFailure(_ error: WALError) {
        if failure == nil { failure = error }
    }

    /// The segment the next `write` starts in (opening or creating it if need be).
    func segmentForNextWrite() throws(WALError) -> (index: Int, path: String) {
        try prepareForWriting()
        let index = segmentIndices[segmentIndices.count - 1]
        return (index, WALSegment.path(index, in: directory))
    }

    /// Closes the active segment and starts the next one; returns its index.
    func cut() throws(WALError) -> Int {
        try prepareForWriting()
        try startSegment()
        return segmentIndices[segmentIndices.count - 1]
    }

    /// Deletes every segment with an index below `index`, oldest first, so a crash
    /// midway leaves a consecutive run of segments.
    func removeSegments(before index: Int) throws(WALError) {
        try prepareForWriting()
        let activeIndex = segmentIndices[segmentIndices.count - 1]
        guard index <= activeIndex else {
            throw .cannotTruncateActiveSegment(requested: index, active: activeIndex)
        }
        let doomed = segmentIndices.prefix { $0 < index }
        guard !doomed.isEmpty else { return }
        for segment in doomed {
            try WALFile.remove(WALSegment.path(segment, in: directory))
            segmentIndices.removeFirst()
        }
        try WALFile.syncDirectory(directory)
    }

    /// Closes the active segment, trimming its zero-filled tail; the next write reopens
    /// the last segment.
    func close() {
        if let segment = active, segment.zeroedEnd > segment.size, failure == nil {
            do {
                try segment.file.truncate(to: segment.size)
                try segment.file.sync()
            } catch {
                // Appending after the zeros would hide the new records behind them: let
                // the next write replay (which trims the tail) before it reopens.
                isRecovered = false
            }
        }
        active?.file.close()
        active = nil
    }

    // MARK: Writing

    private func prepareForWriting() throws(WALError) {
        if let failure { throw .unusable(cause: failure) }
        if !isRecovered {
            // Appending before replay() still must not write after a torn tail.
            _ = try replay { _ in }
        }
        if active == nil { try openLastSegment() }
    }

    private func openLastSegment() throws(WALError) {
        guard let last = segmentIndices.last else {
            try startSegment()
            return
        }
        let file = try WALFile.openForWriting(WALSegment.path(last, in: directory))
        var size: Int
        do {
            size = try file.size()
            if size == 0 {
                // Created just before a crash, header never written: replay accepts that.
                try file.write(WALSegment.header, at: 0)
                try file.sync()
                size = WALSegment.headerSize
            }
        } catch {
            file.close()
            throw error
        }
        active = ActiveSegment(index: last, file: file, size: size, zeroedEnd: size)
    }

    /// Creates segment `last + 1` with its header, synced file and directory, and makes
    /// it active. Any failure here leaves the log unusable: a half-created segment would
    /// otherwise be appended to.
    private func startSegment() throws(WALError) {
        let index = (segmentIndices.last ?? -1) + 1
        do {
            if let previous = active {
                if previous.zeroedEnd > previous.size { try previous.file.truncate(to: previous.size) }
                try previous.file.sync()
                previous.file.close()
                active = nil
            }
            let file = try WALFile.create(WALSegment.path(index, in: directory))
            segmentIndices.append(index)
            active = ActiveSegment(index: index, file: file, size: 0, zeroedEnd: 0)
            try file.write(WALSegment.header, at: 0)
            try file.sync()
            try WALFile.syncDirectory(directory)
            active?.size = WALSegment.headerSize
            active?.zeroedEnd = WALSegment.headerSize
        } catch {
            failure = error
            throw error
        }
    }

    /// Writes the encoded group to the active segment.
    private func flush() throws(WALError) {
        guard !encodeBuffer.isEmpty, let segment = active else { return }
        let needed = segment.size + encodeBuffer.count
        if needed > segment.zeroedEnd { try zeroFill(through: needed) }
        do {
            try segment.file.write(encodeBuffer, at: segment.size)
        } catch {
            // Cut off a partial write (ENOSPC halfway) so the next group starts at a
            // record boundary; if even that fails, nothing more may be appended.
            do { try segment.file.truncate(to: segment.size) } catch { failure = error }
            throw error
        }
        active?.size += encodeBuffer.count
        encodeBuffer.removeAll(keepingCapacity: true)
    }

    /// Extends the active segment with synced zeros to at least `needed` bytes: one step
    /// ahead, but not past the segment size unless one record needs more.
    private func zeroFill(through needed: Int) throws(WALError) {
        guard let segment = active else { return }
        let stepped = (needed + Self.zeroFillStep - 1) / Self.zeroFillStep * Self.zeroFillStep
        let target = max(needed, min(stepped, segmentSize))
        let zeros = [UInt8](repeating: 0, count: min(1 << 20, target - segment.zeroedEnd))
        var offset = segment.zeroedEnd
        do {
            while offset < target {
                let piece = min(zeros.count, target - offset)
                try segment.file.write(piece == zeros.count ? zeros : Array(zeros[..<piece]), at: offset)
                offset += piece
            }
            try segment.file.sync()
        } catch {
            // The zeros are not records; cut back to the records and give up the log only
            // if even that fails.
            do { try segment.file.truncate(to: segment.size) } catch { failure = error }
            active?.zeroedEnd = segment.size
            throw error
        }
        active?.zeroedEnd = target
    }

    func syncActive() throws(WALError) {
        guard let segment = active else { return }
        do {
            try segment.file.sync()
        } catch {
            failure = error
            throw error
        }
    }
}
