import S3
import Crypto
import Foundation
import NIOCore

/// Decodes an `aws-chunked` body (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
/// and sigv4-streaming-trailers.html): `hex-size[;chunk-signature=sig]\r\n data \r\n`
/// repeated, a zero-size chunk, then optional trailer lines `name:value\r\n` (with an
/// `x-amz-trailer-signature` when signed) and a final `\r\n`.
///
/// Fed incrementally; decoded data is returned as soon as it arrives. When chunks are
/// signed, each chunk's signature is checked against the chain seeded by the request
/// signature when the chunk ends, so a forged chunk fails the request before anything
/// is committed.
public struct AWSChunkedDecoder: Sendable {
    public struct Signing: Sendable {
        public var key: SymmetricKey
        public var scope: SigV4.Scope
        public var amzDate: String
        public var seedSignature: String
    }

    enum State: Equatable {
        case header
        case data(remaining: Int)
        case dataEnd
        case trailer
        case done
    }

    let signing: Signing?
    let maxLineLength = 4096
    private var state = State.header
    private var line: [UInt8] = []
    private var previousSignature: String
    private var chunkSignature: String?
    private var chunkHash = SHA256()
    /// Trailer headers received, by lower-case name.
    public private(set) var trailers: [String: String] = [:]
    private var trailerLines: [String] = []

    public init(signing: Signing?) {
        self.signing = signing
        previousSignature = signing?.seedSignature ?? ""
    }

    public var isComplete: Bool { state == .done }

    static func malformed(_ message: String) -> S3Error {
        S3Error("IncompleteBody", "The aws-chunked request body is malformed: \(message)", status: .badRequest)
    }

    /// Decodes what `input` holds and returns the data bytes in it.
    public mutating func feed(_ input: ByteBuffer) throws -> [ByteBuffer] {
        var input = input
        var output: [ByteBuffer] = []
        while input.readableBytes > 0 {
            switch state {
            case .data(let remaining):
                let n = min(remaining, input.readableBytes)
                let slice = input.readSlice(length: n)!
                if signing != nil { slice.withUnsafeReadableBytes { chunkHash.update(bufferPointer: $0) } }
                output.append(slice)
                state = remaining - n == 0 ? .dataEnd : .data(remaining: remaining - n)
            case .done:
                throw Self.malformed("data after the final chunk")
            default:
                guard let byte = input.readInteger(as: UInt8.self) else { break }
                if byte == UInt8(ascii: "\n") {
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    let text = String(decoding: line, as: UTF8.self)
                    line.removeAll(keepingCapacity: true)
                    try endOfLine(text)
                } else {
                    line.append(byte)
                    if line.count > maxLineLength { throw Self.malformed("line too long") }
                }
            }
        }
        return output
    }

    private mutating func endOfLine(_ text: String) throws {
        switch state {
        case .header:
            let parts = text.split(separator: ";", maxSplits: 1)
            guard let sizeText = parts.first, let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw Self.malformed("bad chunk header \"\(text.prefix(80))\"")
            }
            if signing != nil {
                guard parts.count == 2, parts[1].hasPrefix("chunk-signature=") else {
                    throw Self.malformed("chunk header without chunk-signature")
                }
                chunkSignature = String(parts[1].dropFirst("chunk-signature=".count))
                chunkHash = SHA256()
            }
            if size == 0 {
                try verifyChunk()
                state = .trailer
            } else {
                state = .data(remaining: size)
            }
        case .dataEnd:
            guard text.isEmpty else { throw Self.malformed("chunk data longer than its declared size") }
            try verifyChunk()
            state = .header
        case .trailer:
            if text.isEmpty {
                try verifyTrailer()
                state = .done
                return
            }
            guard let colon = text.firstIndex(of: ":") else { throw Self.malformed("bad trailer line \"\(text.prefix(80))\"") }
            let name = text[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            trailers[name] = value
            if name != "x-amz-trailer-signature" { trailerLines.append("\(name):\(value)") }
        case .data, .done:
            break
        }
    }

    private mutating func verifyChunk() throws {
        guard let signing, let claimed = chunkSignature else { return }
        let stringToSign = [
            "AWS4-HMAC-SHA256-PAYLOAD", signing.amzDate, signing.scope.string, previousSignature,
            SigV4.emptySHA256, chunkHash.finalize().hexString,
        ].joined(separator: "\n")
        let expected = SigV4.signature(key: signing.key, stringToSign: stringToSign)
        guard SigV4.constantTimeEquals(expected, claimed.lowercased()) else { throw S3Error.signatureDoesNotMatch }
        previousSignature = expected
        chunkSignature = nil
    }

    private func verifyTrailer() throws {
        guard let signing else { return }
        guard let claimed = trailers["x-amz-trailer-signature"] else {
            if trailerLines.isEmpty { return }
            throw S3Error.signatureDoesNotMatch
        }
        let canonical = trailerLines.map { $0 + "\n" }.joined()
        let stringToSign = [
            "AWS4-HMAC-SHA256-TRAILER", signing.amzDate, signing.scope.string, previousSignature, SigV4.sha256Hex(canonical),
        ].joined(separator: "\n")
        let expected = SigV4.signature(key: signing.key, stringToSign: stringToSign)
        guard SigV4.constantTimeEquals(expected, claimed.lowercased()) else { throw S3Error.signatureDoesNotMatch }
    }
}
