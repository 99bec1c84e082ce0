extension WALStorage {
    /// Reads every segment in order, hands each valid record to `body`, and repairs the
    /// log at the first bad byte: later segments are deleted, then the damaged segment is
    /// truncated to its last good record, so appends continue right after it.
    ///
    /// Deleting the later segments before truncating keeps repair restartable: a crash
    /// in between leaves the damage in place, and the next replay finds it again.
    func replay(_ body: (ArraySlice<UInt8>) throws -> Void) throws(WALError) -> WALReplayReport {
        close()
        segmentIndices = try WALSegment.list(in: directory)
        var report = WALReplayReport()
        for (position, index) in segmentIndices.enumerated() {
            if position > 0, index != segmentIndices[position - 1] + 1 {
                let missing = segmentIndices[position - 1] + 1
                report.corruption = try dropSegments(
                    from: position, reporting: missing, reason: "segment \(WALSegment.name(missing)) is missing")
                break
            }
            report.segmentsRead += 1
            let outcome = try replaySegment(index, isLast: position == segmentIndices.count - 1, into: &report, body)
            if case let .corrupt(offset, fileSize, reason) = outcome {
                report.corruption = try repair(
                    segmentAt: position, offset: offset, fileSize: fileSize, reason: reason)
                break
            }
        }
        isRecovered = true
        return report
    }

    private enum SegmentOutcome {
        case clean
        case corrupt(offset: Int, fileSize: Int, reason: String)
    }

    private func replaySegment(
        _ index: Int, isLast: Bool, into report: inout WALReplayReport, _ body: (ArraySlice<UInt8>) throws -> Void
    ) throws(WALError) -> SegmentOutcome {
        let file = try WALFile.openForReading(WALSegment.path(index, in: directory))
        defer { file.close() }
        var reader = try WALSegmentReader(file: file)
        // A crash between creating the newest segment and writing its header leaves an
        // empty file; nothing in it was ever acknowledged, so it is not damage.
        if isLast, reader.fileSize == 0 { return .clean }
        while true {
            switch try reader.next() {
            case let .record(offset, payload):
                do {
                    try body(payload)
                } catch {
                    throw .replayAborted(segment: index, offset: offset, underlying: error)
                }
                report.recordsRead += 1
                report.bytesRead += WALFrame.frameSize(payloadCount: payload.count)
            case .end:
                return .clean
            case let .zeroTail(offset):
                // Not damage: the writer's zero-filled space, left by a crash before it was
                // trimmed. Trimmed here, so the file again ends after its last record.
                let writable = try WALFile.openForWriting(WALSegment.path(index, in: directory))
                defer { writable.close() }
                try writable.truncate(to: offset)
                try writable.sync()
                return .clean
            case let .corrupt(offset, reason):
                return .corrupt(offset: offset, fileSize: reader.fileSize, reason: reason)
            }
        }
    }

    private func repair(segmentAt position: Int, offset: Int, fileSize: Int, reason: String) throws(WALError) -> WALCorruption {
        let index = segmentIndices[position]
        var corruption = try dropSegments(from: position + 1, reporting: index, reason: reason)
        let file = try WALFile.openForWriting(WALSegment.path(index, in: directory))
        defer { file.close() }
        try file.truncate(to: offset)
        try file.sync()
        corruption.offset = offset
        corruption.droppedBytes += fileSize - offset
        return corruption
    }

    /// Deletes `segmentIndices[position...]`, newest first, and describes the loss as
    /// corruption starting at offset 0 of `segment`.
    private func dropSegments(from position: Int, reporting segment: Int, reason: String) throws(WALError) -> WALCorruption {
        let doomed = Array(segmentIndices[position...])
        var dropped = 0
        for index in doomed.reversed() {
            let path = WALSegment.path(index, in: directory)
            dropped += WALFile.size(ofPath: path)
            try WALFile.remove(path)
        }
        if !doomed.isEmpty { try WALFile.syncDirectory(directory) }
        segmentIndices.removeLast(doomed.count)
        return WALCorruption(segment: segment, offset: 0, droppedBytes: dropped, deletedSegments: doomed, reason: reason)
    }
}
