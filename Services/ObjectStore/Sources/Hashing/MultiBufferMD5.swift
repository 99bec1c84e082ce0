import CMultiBufferMD5
import Foundation
import NIOCore

/// Hashes the bodies of concurrent uploads together: each body's pending blocks take one
/// SIMD lane of the CMultiBufferMD5 engine (16 lanes with AVX-512), and one thread steps
/// all lanes in lockstep. A lockstep step costs about the same whatever the number of busy
/// lanes, so the engine steps only while it holds a job from every open stream (one that
/// has submitted and is not finalized, up to the lane width), or while an owner waits for
/// its job; otherwise jobs wait, even half-hashed, for the others to arrive. A lone stream
/// therefore runs at once, at scalar speed.
///
/// Each stream has at most one job outstanding; its owner calls `wait(for:)` before the
/// next `submit` or `finalize`.
public final class MultiBufferMD5: @unchecked Sendable {
    /// The process's engine, like NIO's thread-pool singleton: one hashing thread shared by
    /// all uploads, so that their bodies can share its lanes.
    public static let shared = MultiBufferMD5()

    /// Lanes stepped together (the SIMD width of this CPU; 1 without AVX2 or AVX-512).
    public let laneWidth: Int
    /// Blocks per step at most, so that jobs arriving meanwhile join within ~40 µs.
    static let maxStepBlocks = 256

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var pending: [MD5Job] = []
    private var openStreams = 0
    private var urgentJobs = 0
    private var stopping = false
    private var thread: Thread?

    public init() {
        laneWidth = Int(mbmd5_lane_width())
    }

    /// Hands `buffers` (the stream's next bytes) to the engine; the stream's owner must
    /// `wait(for:)` the job before using the stream again.
    public func submit(_ buffers: [ByteBuffer], to stream: MD5Stream) -> MD5Job {
        let (runs, stitches, storage) = stream.cutBlocks(of: buffers)
        let job = MD5Job(stream: stream, runs: runs, stitches: stitches, storage: storage)
        condition.lock()
        defer { condition.unlock() }
        if stream.engine == nil {
            stream.engine = self
            openStreams += 1
        }
        if job.isEmpty {
            job.finished = true
            return job
        }
        startThreadIfNeeded()
        pending.append(job)
        condition.signal()
        return job
    }

    /// Returns once `job` is hashed; asks the engine to start now if it was holding the job
    /// back for other streams' jobs.
    public func wait(for job: MD5Job) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if job.finished {
                condition.unlock()
                continuation.resume()
                return
            }
            job.waiter = continuation
            if !job.urgent {
                job.urgent = true
                urgentJobs += 1
                condition.signal()
            }
            condition.unlock()
        }
    }

    /// Called once per submitted stream when it is finalized or dropped.
    func streamClosed() {
        condition.lock()
        openStreams -= 1
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread once the jobs submitted so far are hashed (for engines made by tests).
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func startThreadIfNeeded() {
        guard thread == nil else { return }
        let thread = Thread { [self] in run() }
        thread.name = "md5-lanes"
        self.thread = thread
        thread.start()
    }

    private func run() {
        var lanes: [MD5Job] = []
        while true {
            condition.lock()
            while !(stopping || shouldStep(busyLanes: lanes.count)) { condition.wait() }
            if stopping, pending.isEmpty, lanes.isEmpty {
                thread = nil
                condition.unlock()
                return
            }
            let admitted = min(laneWidth - lanes.count, pending.count)
            lanes += pending.prefix(admitted)
            pending.removeFirst(admitted)
            condition.unlock()

            step(lanes)
            let done = lanes.filter { $0.blocksLeftInRun == 0 }
            guard !done.isEmpty else { continue }
            lanes.removeAll { $0.blocksLeftInRun == 0 }
            finish(done)
        }
    }

    /// Whether to step now: the jobs at hand (in lanes or waiting) come from every open
    /// stream, up to the lane width, or an owner is waiting for its job. Stepping with a few
    /// lanes while more jobs are on their way would cost a full step for a fraction of one.
    private func shouldStep(busyLanes: Int) -> Bool {
        let jobs = busyLanes + pending.count
        guard jobs > 0 else { return false }
        return urgentJobs > 0 || jobs >= min(openStreams, laneWidth)
    }

    /// Hashes as many blocks as every lane has left in its current run (at most
    /// `maxStepBlocks`).
    private func step(_ lanes: [MD5Job]) {
        let blocks = lanes.reduce(Self.maxStepBlocks) { min($0, $1.blocksLeftInRun) }
        var states = lanes.map { Optional($0.stream.state) }
        var starts = lanes.map { Optional($0.cursor) }
        mbmd5_update(&states, &starts, lanes.count, blocks)
        for job in lanes { job.advance(by: blocks) }
    }

    private func finish(_ jobs: [MD5Job]) {
        var waiters: [CheckedContinuation<Void, Never>] = []
        condition.lock()
        for job in jobs {
            job.finished = true
            if job.urgent { urgentJobs -= 1 }
            if let waiter = job.waiter { waiters.append(waiter) }
            job.waiter = nil
        }
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }
}
