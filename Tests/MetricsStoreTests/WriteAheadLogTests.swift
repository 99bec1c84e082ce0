import Foundation
import XCTest
@testable import MetricsStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class WriteAheadLogTests: XCTestCase {
    private var directory: URL!

    override func setUp() {
        super.setUp()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("wal-tests-\(UUID().uuidString)", isDirectory: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    // MARK: Checksum

    func testCRC32CMatchesPublishedCheckValues() {
        // RFC 3720 appendix B.4 test vectors and the common "123456789" check value.
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    func testCRC32CSliceBy8AgreesWithBitwiseReferenceAndChainsAcrossSplits() {
        var generator = SystemRandomNumberGenerator()
        for length in [1, 7, 8, 9, 63, 64, 65, 1000, 4099] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = bitwiseCRC32C(bytes)
            XCTAssertEqual(CRC32C.checksum(bytes), expected, "length \(length)")
            let split = Int.random(in: 0...length)
            let chained = CRC32C.update(CRC32C.checksum(bytes[..<split]), bytes[split...])
            XCTAssertEqual(chained, expected, "length \(length) split at \(split)")
        }
    }

    // MARK: Round trips

    func testRecordsRoundTripAcrossSeveralSegments() async throws {
        let records = (0..<300).map { payload(number: $0, length: $0 % 97) }
        let wal = try WriteAheadLog(directory: directory, segmentSize: 1024)
        _ = try wal.replay { _ in }
        for record in records { try await wal.append([record]) }
        let segments = wal.segments
        await wal.shutdown()
        XCTAssertGreaterThan(segments.count, 5)
        XCTAssertEqual(segments, Array(0..<segments.count))

        let (replayed, report) = try replayAll(segmentSize: 1024)
        XCTAssertEqual(replayed, records)
        XCTAssertNil(report.corruption)
        XCTAssertEqual(report.recordsRead, records.count)
        XCTAssertEqual(report.segmentsRead, segments.count)
        for segment in segments {
            XCTAssertLessThanOrEqual(fileSize(segment), 1024, "segment \(segment) exceeds segmentSize")
        }
    }

    func testEmptyAndOneMebibyteRecordsRoundTrip() async throws {
        let large = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
        let records: [[UInt8]] = [[], large, [], [42], large]
        let wal = try WriteAheadLog(directory: directory, segmentSize: 64 << 10)
        _ = try wal.replay { _ in }
        try await wal.append(records)
        await wal.shutdown()

        let (replayed, report) = try replayAll(segmentSize: 64 << 10)
        XCTAssertEqual(replayed, records)
        XCTAssertNil(report.corruption)
        // A record larger than a segment gets an oversized segment of its own.
        XCTAssertGreaterThanOrEqual(report.segmentsRead, 2)
    }

    func testConcurrentAppendsFromFiftyTasksAreReplayedExactlyOnceInPerTaskOrder() async throws {
        let wal = try WriteAheadLog(directory: directory, segmentSize: 16 << 10)
        _ = try wal.replay { _ in }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<50 {
                group.addTask {
                    for sequence in 0..<40 {
                        try await wal.append([Array("task \(task) record \(sequence)".utf8)])
                    }
                }
            }
            try await group.waitForAll()
        }
        await wal.shutdown()

        let (replayed, report) = try replayAll(segmentSize: 16 << 10)
        XCTAssertNil(report.corruption)
        XCTAssertEqual(replayed.count, 50 * 40)
        var nextSequence = [Int](repeating: 0, count: 50)
        for record in replayed {
            let words = String(decoding: record, as: UTF8.self).split(separator: " ")
            let task = Int(words[1])!, sequence = Int(words[3])!
            XCTAssertEqual(sequence, nextSequence[task], "task \(task) out of order or duplicated")
            nextSequence[task] = sequence + 1
        }
        XCTAssertEqual(nextSequence, [Int](repeating: 40, count: 50))
    }

    func testReopenedLogContinuesInItsLastSegment() async throws {
        try await writeLog((0..<3).map { payload(number: $0, length: 10) })
        try await writeLog((3..<6).map { payload(number: $0, length: 10) })
        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, (0..<6).map { payload(number: $0, length: 10) })
        XCTAssertEqual(report.segmentsRead, 1)
    }

    // MARK: Torn and corrupted tails

    func testTailCutMidRecordKeepsEarlierRecordsAndReportsTheDrop() async throws {
        let records = (0..<10).map { payload(number: $0, length: 100) }
        try await writeLog(records)
        let lastRecordOffset = WALSegment.headerSize + 9 * 109
        try truncateSegment(0, to: lastRecordOffset + 50)

        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, Array(records.prefix(9)))
        let corruption = try XCTUnwrap(report.corruption)
        XCTAssertEqual(corruption.segment, 0)
        XCTAssertEqual(corruption.offset, lastRecordOffset)
        XCTAssertEqual(corruption.droppedBytes, 50)
        XCTAssertEqual(corruption.deletedSegments, [])
        XCTAssertTrue(corruption.reason.contains("runs past the end"), corruption.reason)
        XCTAssertEqual(fileSize(0), lastRecordOffset, "the torn tail is truncated on disk")
    }

    func testTailCutInsideRecordHeaderIsReportedAsTruncatedHeader() async throws {
        try await writeLog((0..<3).map { payload(number: $0, length: 20) })
        let thirdOffset = WALSegment.headerSize + 2 * 29
        try truncateSegment(0, to: thirdOffset + 4)

        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed.count, 2)
        XCTAssertEqual(report.corruption?.offset, thirdOffset)
        XCTAssertEqual(report.corruption?.droppedBytes, 4)
    }

    func testFlippedByteInLastRecordDropsOnlyThatRecord() async throws {
        let records = (0..<10).map { payload(number: $0, length: 100) }
        try await writeLog(records)
        let lastRecordOffset = WALSegment.headerSize + 9 * 109
        try flipByte(segment: 0, at: fileSize(0) - 1)

        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, Array(records.prefix(9)))
        let corruption = try XCTUnwrap(report.corruption)
        XCTAssertEqual(corruption.segment, 0)
        XCTAssertEqual(corruption.offset, lastRecordOffset)
        XCTAssertEqual(corruption.droppedBytes, 109)
        XCTAssertTrue(corruption.reason.contains("checksum mismatch"), corruption.reason)
    }

    func testFlippedLengthFieldIsCaughtByTheChecksum() async throws {
        try await writeLog((0..<5).map { payload(number: $0, length: 100) })
        let thirdOffset = WALSegment.headerSize + 2 * 109
        try flipByte(segment: 0, at: thirdOffset + 1)  // low byte of the length: 100 -> 155

        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed.count, 2)
        XCTAssertEqual(report.corruption?.offset, thirdOffset)
    }

    func testFlippedByteInFirstSegmentDropsLaterRecordsAndDeletesLaterSegments() async throws {
        let records = (0..<60).map { payload(number: $0, length: 100) }
        let segmentSize = 8 + 10 * 109  // ten records per segment
        try await writeLog(records, segmentSize: segmentSize)
        XCTAssertEqual(try WALSegment.list(in: directory.path), [0, 1, 2, 3, 4, 5])
        let laterBytes = (1...5).reduce(0) { $0 + fileSize($1) }
        let badOffset = WALSegment.headerSize + 4 * 109
        try flipByte(segment: 0, at: badOffset + 50)

        let (replayed, report) = try replayAll(segmentSize: segmentSize)
        XCTAssertEqual(replayed, Array(records.prefix(4)))
        let corruption = try XCTUnwrap(report.corruption)
        XCTAssertEqual(corruption.segment, 0)
        XCTAssertEqual(corruption.offset, badOffset)
        XCTAssertEqual(corruption.deletedSegments, [1, 2, 3, 4, 5])
        XCTAssertEqual(corruption.droppedBytes, 6 * 109 + laterBytes)
        XCTAssertEqual(try WALSegment.list(in: directory.path), [0])
        XCTAssertTrue(corruption.description.contains("00000005"), corruption.description)
    }

    func testAppendingAfterRecoveredCorruptionWorksAndTheNextReplayIsClean() async throws {
        let records = (0..<8).map { payload(number: $0, length: 50) }
        try await writeLog(records)
        try truncateSegment(0, to: fileSize(0) - 10)

        let wal = try WriteAheadLog(directory: directory)
        let first = try wal.replay { _ in }
        XCTAssertEqual(first.recordsRead, 7)
        XCTAssertNotNil(first.corruption)
        let more = (100..<105).map { payload(number: $0, length: 50) }
        try await wal.append(more)
        await wal.shutdown()

        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, Array(records.prefix(7)) + more)
        XCTAssertNil(report.corruption)
    }

    func testAppendBeforeReplayStillCutsTheTornTailFirst() async throws {
        let records = (0..<5).map { payload(number: $0, length: 40) }
        try await writeLog(records)
        try truncateSegment(0, to: fileSize(0) - 3)

        let wal = try WriteAheadLog(directory: directory)
        try await wal.append([[9, 9]])
        await wal.shutdown()
        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, Array(records.prefix(4)) + [[9, 9]])
        XCTAssertNil(report.corruption)
    }

    func testZeroFilledTailIsTrimmedWithoutReportingDamage() async throws {
        let records = (0..<4).map { payload(number: $0, length: 30) }
        try await writeLog(records)
        let end = fileSize(0)
        try truncateSegment(0, to: end + 4096)  // extends with zeros, as the writer fills ahead

        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, records)
        XCTAssertNil(report.corruption)
        XCTAssertEqual(fileSize(0), end, "the zeros are trimmed")
    }

    func testSegmentsAreZeroFilledAheadOfTheirRecordsAndTrimmedOnClose() async throws {
        let wal = try WriteAheadLog(directory: directory)
        _ = try wal.replay { _ in }
        try await wal.append([payload(number: 1, length: 100)])
        XCTAssertEqual(fileSize(0), WALStorage.zeroFillStep, "syncs overwrite zeros instead of growing the file")
        await wal.shutdown()
        XCTAssertEqual(fileSize(0), WALSegment.headerSize + WALFrame.frameSize(payloadCount: 100))
    }

    /// A crash leaves the active segment's zeros behind: nothing acknowledged is lost, the
    /// zeros are not taken for damage, and appends continue right after the last record.
    func testCrashWithAZeroFilledTailLosesNothingAndAppendsContinueAfterTheRecords() async throws {
        let first = (0..<50).map { payload(number: $0, length: 200) }
        let wal = try WriteAheadLog(directory: directory)
        _ = try wal.replay { _ in }
        for record in first { try await wal.append([record]) }
        XCTAssertGreaterThan(fileSize(0), WALSegment.headerSize + 50 * WALFrame.frameSize(payloadCount: 200))
        // The files as a kill -9 would leave them, copied while the log is still open.
        let crashed = FileManager.default.temporaryDirectory.appendingPathComponent("wal-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: crashed) }
        try FileManager.default.copyItem(at: directory, to: crashed)
        await wal.shutdown()

        let reopened = try WriteAheadLog(directory: crashed)
        var replayed: [[UInt8]] = []
        let report = try reopened.replay { replayed.append(Array($0)) }
        XCTAssertEqual(replayed, first)
        XCTAssertNil(report.corruption)
        let second = (50..<60).map { payload(number: $0, length: 200) }
        for record in second { try await reopened.append([record]) }
        await reopened.shutdown()
        var again: [[UInt8]] = []
        XCTAssertNil(try WriteAheadLog(directory: crashed).replay { again.append(Array($0)) }.corruption)
        XCTAssertEqual(again, first + second)
    }

    func testZeroTailInAnOlderSegmentDoesNotHideTheSegmentsAfterIt() async throws {
        let records = (0..<40).map { payload(number: $0, length: 100) }
        try await writeLog(records, segmentSize: 1_024)
        XCTAssertGreaterThan(try WALSegment.list(in: directory.path).count, 2)
        // A crash between switching segments and trimming the previous one.
        try truncateSegment(0, to: fileSize(0) + 2_000)
        let (replayed, report) = try replayAll(segmentSize: 1_024)
        XCTAssertEqual(replayed, records)
        XCTAssertNil(report.corruption)
    }

    func testTornRecordFollowedByZerosIsStillReportedAsDamage() async throws {
        let records = (0..<5).map { payload(number: $0, length: 100) }
        try await writeLog(records)
        let lastRecordOffset = WALSegment.headerSize + 4 * 109
        // The last record's first half reached the disk, the rest reads as zeros.
        try truncateSegment(0, to: lastRecordOffset + 50)
        try truncateSegment(0, to: lastRecordOffset + 4096)
        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, Array(records.prefix(4)))
        XCTAssertEqual(report.corruption?.offset, lastRecordOffset)
    }

    func testDamagedSegmentHeaderDropsTheWholeSegment() async throws {
        let wal = try WriteAheadLog(directory: directory)
        _ = try wal.replay { _ in }
        try await wal.append([[1]])
        _ = try await wal.cut()
        try await wal.append([[2]])
        await wal.shutdown()
        try flipByte(segment: 1, at: 0)

        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, [[1]])
        XCTAssertEqual(report.corruption?.segment, 1)
        XCTAssertEqual(report.corruption?.offset, 0)
        XCTAssertEqual(report.corruption?.droppedBytes, WALSegment.headerSize + 10)
        // The emptied segment stays as the active one and takes new records.
        try await writeLog([[3]])
        XCTAssertEqual(try replayAll().records, [[1], [3]])
    }

    func testMissingSegmentDropsTheSegmentsAfterTheGap() async throws {
        let wal = try WriteAheadLog(directory: directory)
        _ = try wal.replay { _ in }
        for value in 0..<4 {
            try await wal.append([[UInt8(value)]])
            _ = try await wal.cut()
        }
        await wal.shutdown()
        try FileManager.default.removeItem(atPath: WALSegment.path(2, in: directory.path))

        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, [[0], [1]])
        XCTAssertEqual(report.corruption?.segment, 2)
        XCTAssertEqual(report.corruption?.deletedSegments, [3, 4])
        XCTAssertTrue(report.corruption?.reason.contains("missing") ?? false)
        XCTAssertEqual(try WALSegment.list(in: directory.path), [0, 1])
    }

    func testEmptyNewestSegmentLeftByACrashDuringCutIsNotCorruption() async throws {
        try await writeLog([[7]])
        XCTAssertTrue(FileManager.default.createFile(atPath: WALSegment.path(1, in: directory.path), contents: nil))

        let wal = try WriteAheadLog(directory: directory)
        let report = try wal.replay { _ in }
        XCTAssertNil(report.corruption)
        XCTAssertEqual(report.recordsRead, 1)
        try await wal.append([[8]])
        XCTAssertEqual(wal.segments, [0, 1])
        await wal.shutdown()
        XCTAssertEqual(try replayAll().records, [[7], [8]])
    }

    // MARK: Segment management

    func testCutStartsANewSegmentAfterThePreviousAppends() async throws {
        let wal = try WriteAheadLog(directory: directory)
        _ = try wal.replay { _ in }
        try await wal.append([[1]])
        let next = try await wal.cut()
        XCTAssertEqual(next, 1)
        try await wal.append([[2]])
        XCTAssertEqual(wal.segments, [0, 1])
        await wal.shutdown()
        XCTAssertEqual(fileSize(1), WALSegment.headerSize + 10)
        XCTAssertEqual(try replayAll().records, [[1], [2]])
    }

    func testTruncateBeforeDeletesOlderSegmentsOnly() async throws {
        let wal = try WriteAheadLog(directory: directory)
        _ = try wal.replay { _ in }
        for value in 0..<4 {
            try await wal.append([[UInt8(value)]])
            _ = try await wal.cut()
        }
        try await wal.truncate(before: 2)
        XCTAssertEqual(wal.segments, [2, 3, 4])
        do {
            try await wal.truncate(before: 5)
            XCTFail("deleting the active segment must fail")
        } catch {
            guard case .cannotTruncateActiveSegment(requested: 5, active: 4) = error else {
                return XCTFail("unexpected \(error)")
            }
        }
        await wal.shutdown()

        XCTAssertEqual(try WALSegment.list(in: directory.path), [2, 3, 4])
        let (replayed, report) = try replayAll()
        XCTAssertEqual(replayed, [[2], [3]])
        XCTAssertNil(report.corruption)
    }

    // MARK: Errors

    func testAppendAfterCloseFailsWithClosed() async throws {
        let wal = try WriteAheadLog(directory: directory)
        await wal.shutdown()
        do {
            try await wal.append([[1]])
            XCTFail("append after close must fail")
        } catch {
            guard case .closed = error else { return XCTFail("unexpected \(error)") }
        }
    }

    func testCloseFinishesQueuedAppendsAndRejectsLaterOnes() async throws {
        let wal = try WriteAheadLog(directory: directory)
        _ = try wal.replay { _ in }
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for number in 0..<40 {
                group.addTask {
                    do {
                        try await wal.append([[UInt8(number)]])
                        return true
                    } catch {
                        guard case .closed? = error as? WALError else { throw error }
                        return false
                    }
                }
            }
            group.addTask {
                wal.close()
                return false
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        // Every append that returned is on disk; every other one was refused whole.
        let acknowledged = outcomes.filter { $0 }.count
        XCTAssertEqual(try replayAll().records.count, acknowledged)
    }

    func testReplayStopsWhenTheCallbackThrowsAndRepairsNothing() async throws {
        struct Stop: Error {}
        try await writeLog((0..<3).map { payload(number: $0, length: 10) })
        let wal = try WriteAheadLog(directory: directory)
        var seen = 0
        do {
            _ = try wal.replay { _ in
                seen += 1
                if seen == 2 { throw Stop() }
            }
            XCTFail("replay must rethrow")
        } catch {
            guard case let .replayAborted(segment, offset, underlying) = error else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(segment, 0)
            XCTAssertEqual(offset, WALSegment.headerSize + 19)
            XCTAssertTrue(underlying is Stop)
        }
        await wal.shutdown()
        XCTAssertEqual(try replayAll().records.count, 3)
    }

    func testTooSmallSegmentSizeIsRejected() {
        XCTAssertThrowsError(try WriteAheadLog(directory: directory, segmentSize: 10))
    }

    // MARK: Crash

    /// Environment variable that turns `testCrashChildAppendsUntilKilled` into the child
    /// process of `testKillNineLosesNoAcknowledgedRecord`; its value is the WAL directory.
    static let crashChildDirectory = "VIGIL_WAL_CRASH_CHILD_DIR"

    func testKillNineLosesNoAcknowledgedRecord() async throws {
        #if os(Linux)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["MetricsStoreTests.WriteAheadLogTests/testCrashChildAppendsUntilKilled"]
        child.environment = ProcessInfo.processInfo.environment.merging(
            [Self.crashChildDirectory: directory.path]) { $1 }
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
        let acknowledged = AcknowledgementReader(output.fileHandleForReading)

        // Kill at a different point each run: mid-group, mid-cut, between appends.
        let killAfter = Int.random(in: 200...3000)
        let deadline = Date().addingTimeInterval(30)
        while acknowledged.count < killAfter, Date() < deadline, child.isRunning {
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTAssertTrue(child.isRunning, "the child stopped before it was killed")
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        XCTAssertEqual(child.terminationStatus, SIGKILL)
        let numbers = acknowledged.waitForEnd()
        XCTAssertGreaterThanOrEqual(numbers.count, 200, "the child acknowledged too little to test anything")

        var replayed: [Int: [UInt8]] = [:]
        let wal = try WriteAheadLog(directory: directory, segmentSize: 64 << 10)
        let report = try wal.replay { record in
            let number = Int(record.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            XCTAssertNil(replayed[number], "record \(number) replayed twice")
            replayed[number] = Array(record)
        }
        for number in numbers {
            XCTAssertEqual(replayed[number], crashPayload(number), "acknowledged record \(number)")
        }
        // The log stays writable after whatever the kill left behind.
        try await wal.append([[1, 2, 3]])
        await wal.shutdown()
        let second = try replayAll(segmentSize: 64 << 10)
        XCTAssertNil(second.report.corruption)
        XCTAssertEqual(second.report.recordsRead, report.recordsRead + 1)
        print("kill -9: \(numbers.count) acknowledged, \(report)")
        #else
        throw XCTSkip("re-executes the test binary through /proc/self/exe")
        #endif
    }

    /// Not a test on its own: the child process of `testKillNineLosesNoAcknowledgedRecord`.
    /// Sixteen tasks append numbered records and print `ACK <n>` once `append` returned,
    /// until the parent kills the process.
    func testCrashChildAppendsUntilKilled() async throws {
        guard let path = ProcessInfo.processInfo.environment[Self.crashChildDirectory] else {
            throw XCTSkip("runs only as the child process of testKillNineLosesNoAcknowledgedRecord")
        }
        let wal = try WriteAheadLog(directory: URL(fileURLWithPath: path), segmentSize: 64 << 10)
        _ = try wal.replay { _ in }
        let writers = 16
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var number = writer
                    while number < 10_000_000 {
                        try await wal.append([crashPayload(number)])
                        // One write(2) of under PIPE_BUF bytes: lines never interleave.
                        FileHandle.standardOutput.write(Data("ACK \(number)\n".utf8))
                        number += writers
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    // MARK: Helpers

    private func writeLog(_ records: [[UInt8]], segmentSize: Int = 128 << 20) async throws {
        let wal = try WriteAheadLog(directory: directory, segmentSize: segmentSize)
        _ = try wal.replay { _ in }
        for record in records { try await wal.append([record]) }
        await wal.shutdown()
    }

    private func replayAll(segmentSize: Int = 128 << 20) throws -> (records: [[UInt8]], report: WALReplayReport) {
        let wal = try WriteAheadLog(directory: directory, segmentSize: segmentSize)
        var records: [[UInt8]] = []
        let report = try wal.replay { records.append(Array($0)) }
        return (records, report)
    }

    private func payload(number: Int, length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: number &* 131 &+ $0) }
    }

    private func fileSize(_ segment: Int) -> Int {
        WALFile.size(ofPath: WALSegment.path(segment, in: directory.path))
    }

    private func truncateSegment(_ segment: Int, to size: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: WALSegment.path(segment, in: directory.path)))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
    }

    private func flipByte(segment: Int, at offset: Int) throws {
        let url = URL(fileURLWithPath: WALSegment.path(segment, in: directory.path))
        var bytes = try Data(contentsOf: url)
        bytes[offset] ^= 0xFF
        try bytes.write(to: url)
    }

    private func bitwiseCRC32C(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}

/// Record `number` of the crash test: the number (8 bytes, little-endian), then a
/// pattern of a length that varies with it, so records straddle segment boundaries.
private func crashPayload(_ number: Int) -> [UInt8] {
    var bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(number) >> (8 * $0)) }
    bytes += (0..<(number % 997)).map { UInt8(truncatingIfNeeded: number &* 31 &+ $0) }
    return bytes
}

/// Collects the `ACK <n>` lines a child process prints, on a thread of its own.
private final class AcknowledgementReader: @unchecked Sendable {
    private let condition = NSCondition()
    private var numbers: [Int] = []
    private var finished = false

    init(_ handle: FileHandle) {
        Thread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    if line.hasPrefix("ACK "), let number = Int(line.dropFirst(4)) {
                        condition.lock()
                        numbers.append(number)
                        condition.unlock()
                    }
                }
            }
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }.start()
    }

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return numbers.count
    }

    /// Every number read once the child's end of the pipe closed.
    func waitForEnd() -> [Int] {
        condition.lock()
        defer { condition.unlock() }
        while !finished { condition.wait() }
        return numbers
    }
}
