import Foundation
import NIOCore
import ObjectStore
import ObjectStoreBenchSupport

/// `object-store-bench --hashing-only`: the CPU cost of what the node computes over every
/// byte of a large PUT, without network or disk: the ETag's MD5 of one body alone, of 16
/// bodies at once through `MultiBufferMD5` (in 512 KiB batches, as uploads submit them),
/// and the CRC-32 of each 1 MiB block.
enum HashingThroughput {
    static let bodySize = 64 << 20
    static let batchSize = 512 << 10

    static func report() async {
        let body = ByteBuffer(bytes: (0..<bodySize).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        let engine = MultiBufferMD5()
        defer { engine.shutdown() }
        say("MD5 engine: \(engine.laneWidth) lanes")

        let (oneSeconds, oneCPU) = await measure { _ = await md5(of: body, engine: engine) }
        say(String(format: "MD5, 1 body of 64 MiB: %.0f MB/s (%.1f ms of CPU per 16 MiB)",
                   Double(bodySize) / oneSeconds / 1e6, oneCPU / 4 * 1e3))

        let (manySeconds, manyCPU) = await measure {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<16 { group.addTask { _ = await md5(of: body, engine: engine) } }
            }
        }
        say(String(format: "MD5, 16 bodies of 64 MiB at once: %.0f MB/s in total (%.1f ms of CPU per 16 MiB)",
                   16 * Double(bodySize) / manySeconds / 1e6, manyCPU / 64 * 1e3))

        var crcs: [UInt32] = []
        let (crcSeconds, _) = await measure {
            body.withUnsafeReadableBytes { bytes in
                for start in stride(from: 0, to: bytes.count, by: 1 << 20) {
                    var crc = CRC32()
                    crc.update(UnsafeRawBufferPointer(rebasing: bytes[start..<min(start + (1 << 20), bytes.count)]))
                    crcs.append(crc.value)
                }
            }
        }
        say(String(format: "CRC-32 per 1 MiB block: %.0f MB/s (%d blocks)", Double(bodySize) / crcSeconds / 1e6, crcs.count))
    }

    /// The body's MD5 the way an upload computes it: batches submitted one behind the other.
    static func md5(of body: ByteBuffer, engine: MultiBufferMD5) async -> [UInt8] {
        let stream = MD5Stream()
        var job: MD5Job?
        for start in stride(from: 0, to: body.readableBytes, by: batchSize) {
            let batch = body.getSlice(at: start, length: min(batchSize, body.readableBytes - start))!
            if let job { await engine.wait(for: job) }
            job = engine.submit([batch], to: stream)
        }
        if let job { await engine.wait(for: job) }
        return stream.finalize()
    }

    /// Wall-clock seconds and CPU seconds of this process.
    static func measure(_ body: () async -> Void) async -> (Double, Double) {
        let cpuBefore = BenchNodeProcess.ownCPUSeconds(), start = Date()
        await body()
        return (Date().timeIntervalSince(start), BenchNodeProcess.ownCPUSeconds() - cpuBefore)
    }
}
