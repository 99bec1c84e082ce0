import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The benchmark's lean sender: one thread and one keep-alive HTTP/1.1 connection per
/// sender, writing pre-rendered requests (request line, headers and body in one buffer)
/// and reading just enough of each answer to know its status. Client and servers share
/// the machine's cores, so every cycle the client spends is one neither server gets; this
/// keeps the client's share to a write and a read per request.
final class RawHTTPSender: @unchecked Sendable {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    init(host: String, port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError(message: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw BenchError(message: "connect to \(host):\(port): errno \(errno)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// A remote-write POST of `body` (snappy-compressed protobuf), ready to send.
    static func render(body: [UInt8], host: String, port: Int) -> [UInt8] {
        let head = "POST /api/v1/write HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: metrics-store-bench\r\n"
            + "Content-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\n"
            + "X-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// Sends one rendered request and returns the answer's status and (short) body.
    func send(_ request: [UInt8]) throws -> (status: Int, body: String) {
        try request.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                guard n > 0 else { throw BenchError(message: "write: errno \(errno)") }
                offset += n
            }
        }
        return try readResponse()
    }

    private func readResponse() throws -> (status: Int, body: String) {
        var filled = 0
        var headerEnd: Int?
        while headerEnd == nil {
            filled += try readMore(at: filled)
            headerEnd = Self.find([13, 10, 13, 10], in: buffer, upTo: filled)
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self).lowercased()
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.count >= 12, let status = Int(statusLine.dropFirst(9).prefix(3)) else {
            throw BenchError(message: "unreadable answer: \(head.prefix(80))")
        }
        let bodyStart = headerEnd! + 4
        var length = 0
        for line in lines where line.hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        if lines.contains(where: { $0.hasPrefix("transfer-encoding:") && $0.hasSuffix("chunked") }) {
            while Self.find(Array("0\r\n\r\n".utf8), in: buffer, upTo: filled) == nil { filled += try readMore(at: filled) }
            return (status, String(decoding: buffer[bodyStart..<filled], as: UTF8.self))
        }
        while filled < bodyStart + length { filled += try readMore(at: filled) }
        return (status, String(decoding: buffer[bodyStart..<bodyStart + length], as: UTF8.self))
    }

    private func readMore(at offset: Int) throws -> Int {
        if offset == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, $0.count - offset) }
        guard n > 0 else { throw BenchError(message: n == 0 ? "server closed the connection" : "read: errno \(errno)") }
        return n
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], upTo end: Int) -> Int? {
        guard end >= needle.count else { return nil }
        for start in 0...(end - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return start }
        }
        return nil
    }
}

/// Lets `parties` threads wait for each other, any number of times; once broken (a
/// party failed) it no longer waits, so the others finish instead of hanging.
final class ThreadBarrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let parties: Int
    private var arrived = 0
    private var generation = 0
    private var broken = false

    init(parties: Int) { self.parties = parties }

    func arrive() {
        condition.lock()
        defer { condition.unlock() }
        let mine = generation
        arrived += 1
        if arrived == parties {
            arrived = 0
            generation += 1
            condition.broadcast()
            return
        }
        while generation == mine && !broken { condition.wait() }
    }

    func breakBarrier() {
        condition.lock()
        defer { condition.unlock() }
        broken = true
        condition.broadcast()
    }
}
