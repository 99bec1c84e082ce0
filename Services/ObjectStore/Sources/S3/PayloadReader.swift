import Crypto
import Foundation
import NIOCore

/// What a fully read and verified request body came to.
public struct PayloadSummary: Sendable {
    public var size: Int64
    public var md5: [UInt8]
    /// "ALGORITHM:base64" of the x-amz-checksum-* the client sent (header or trailer).
    public var checksum: String?
    public var checksumAlgorithm: ChecksumAlgorithm?
    public var checksumValue: String?

    public var etag: String { md5.hexString }
}

/// Reads an S3 request body as data: undoes aws-chunked framing (checking chunk
/// signatures), and at the end checks everything the client vouched for: the payload
/// SHA-256, Content-MD5, x-amz-checksum-* (header or trailer) and the declared length.
/// `next()` returns nil only once all of those checks have passed.
public struct PayloadReader<Body: AsyncSequence & Sendable> where Body.Element == ByteBuffer {
    var iterator: Body.AsyncIterator
    var chunked: AWSChunkedDecoder?
    var pending: [ByteBuffer] = []
    let expectedSHA256: String?
    var digests: PipelinedDigests
    let checksumFromHeader: String?
    let checksumTrailerName: String?
    let contentMD5: [UInt8]?
    let declaredLength: Int64?
    var size: Int64 = 0
    var finished: PayloadSummary?

    public init(body: Body, headers: [String: String], auth: Authentication?, checksumAlgorithm: ChecksumAlgorithm? = nil) throws {
        iterator = body.makeAsyncIterator()
        let payload = auth?.payload ?? .unsigned
        switch payload {
        case .streamingSigned:
            chunked = AWSChunkedDecoder(signing: auth.map {
                .init(key: $0.signingKey, scope: $0.scope, amzDate: $0.amzDate, seedSignature: $0.seedSignature)
            })
        case .streamingUnsignedTrailer:
            chunked = AWSChunkedDecoder(signing: nil)
        default:
            break
        }
        var digests = ClientDigests()
        if case .sha256(let hex) = payload {
            expectedSHA256 = hex
            digests.sha256 = SHA256()
        } else {
            expectedSHA256 = nil
        }
        if let md5Header = headers["content-md5"] {
            guard let digest = Base64.decode(md5Header), digest.count == 16 else {
                throw S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", status: .badRequest)
            }
            contentMD5 = digest
        } else {
            contentMD5 = nil
        }
        let lengthHeader = chunked != nil ? headers["x-amz-decoded-content-length"] : headers["content-length"]
        declaredLength = lengthHeader.flatMap { Int64($0) }
        var algorithm: ChecksumAlgorithm?
        var fromHeader: String?
        var trailerName: String?
        for candidate in ChecksumAlgorithm.allCases where headers[candidate.headerName] != nil {
            algorithm = candidate
            fromHeader = headers[candidate.headerName]
        }
        if let trailer = headers["x-amz-trailer"]?.lowercased().trimmingCharacters(in: .whitespaces), !trailer.isEmpty {
            guard let candidate = ChecksumAlgorithm(headerName: trailer) else {
                throw S3Error.invalidArgument("x-amz-trailer \(trailer) is not a supported checksum")
            }
            guard chunked != nil else { throw S3Error.invalidRequest("x-amz-trailer needs an aws-chunked (STREAMING-*-TRAILER) body") }
            algorithm = candidate
            trailerName = trailer
        }
        if algorithm == nil, let requested = checksumAlgorithm { algorithm = requested }
        digests.checksum = algorithm.map(ChecksumHasher.init)
        self.digests = PipelinedDigests(digests, declaredLength: declaredLength)
        checksumFromHeader = fromHeader
        checksumTrailerName = trailerName
    }

    /// The next piece of data, or nil at the end once the body has been verified.
    public mutating func next() async throws -> ByteBuffer? {
        while true {
            if !pending.isEmpty { return await account(pending.removeFirst()) }
            guard finished == nil else { return nil }
            guard let raw = try await iterator.next() else {
                finished = try verify(await digests.finish())
                return nil
            }
            if chunked != nil {
                pending = try chunked!.feed(raw)
            } else {
                return await account(raw)
            }
        }
    }

    private mutating func account(_ buffer: ByteBuffer) async -> ByteBuffer {
        await digests.add(buffer)
        size += Int64(buffer.readableBytes)
        return buffer
    }

    /// The summary, available after `next()` returned nil.
    public var summary: PayloadSummary? { finished }

    private func verify(_ digests: PayloadDigests) throws -> PayloadSummary {
        if let chunked, !chunked.isComplete {
            throw S3Error("IncompleteBody", "The request body ended before the final aws-chunked chunk", status: .badRequest)
        }
        if let declaredLength, declaredLength != size {
            throw S3Error("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header (\(declaredLength) declared, \(size) received)", status: .badRequest)
        }
        if let expectedSHA256, let sha256 = digests.client.sha256, sha256.finalize().hexString != expectedSHA256 {
            throw S3Error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", status: .badRequest)
        }
        let md5Digest = digests.md5
        if let contentMD5, contentMD5 != md5Digest { throw S3Error.badDigest }
        var summary = PayloadSummary(size: size, md5: md5Digest)
        if let checksum = digests.client.checksum {
            let computed = checksum.base64Digest()
            var claimed = checksumFromHeader
            if let name = checksumTrailerName {
                guard let value = chunked?.trailers[name] else {
                    throw S3Error.invalidRequest("The trailer \(name) announced in x-amz-trailer was not sent")
                }
                claimed = value
            }
            if let claimed, claimed != computed {
                throw S3Error("BadDigest", "The \(checksum.algorithm.rawValue) you specified did not match the calculated checksum.", status: .badRequest)
            }
            summary.checksumAlgorithm = checksum.algorithm
            summary.checksumValue = computed
            summary.checksum = "\(checksum.algorithm.rawValue):\(computed)"
        }
        return summary
    }
}
