import CompressNIO
import NIOCore

/// Why a request body could not be read; each maps to the status an upstream gives.
public enum BodyError: Error, CustomStringConvertible, Equatable {
    case tooLarge(limit: Int)
    case badGzip(String)
    case unsupportedEncoding(String)

    public var description: String {
        switch self {
        case .tooLarge(let limit): return "request body is larger than the \(limit)-byte limit"
        case .badGzip(let detail): return "request body is not valid gzip: \(detail)"
        case .unsupportedEncoding(let name): return "unsupported Content-Encoding \"\(name)\" (supported: gzip, identity)"
        }
    }
}

public enum BodyDecoding {
    /// Undoes a `Content-Encoding` of gzip (or none), never inflating past `limit` bytes so
    /// that a small gzip bomb cannot take the process's memory.
    public static func decode(_ body: ByteBuffer, contentEncoding: String?, limit: Int) throws(BodyError) -> ByteBuffer {
        let encoding = contentEncoding?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        switch encoding {
        case "", "identity":
            return body
        case "gzip", "x-gzip":
            return try gunzip(body, limit: limit)
        default:
            throw .unsupportedEncoding(encoding)
        }
    }

    public static func gunzip(_ body: ByteBuffer, limit: Int) throws(BodyError) -> ByteBuffer {
        // A gzip member is a 10-byte header, the deflate data and an 8-byte trailer.
        guard body.readableBytes >= 18 else { throw .badGzip("\(body.readableBytes) bytes is too short for a gzip stream") }
        var input = body
        let output: ByteBuffer
        do {
            output = try input.decompress(with: .gzip(), maxSize: limit)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .tooLarge(limit: limit)
        } catch {
            throw .badGzip("\(error)")
        }
        // zlib stops quietly at the end of a truncated stream; the trailer's ISIZE (length
        // mod 2^32, little-endian) tells a complete stream from a cut one.
        let trailer = body.getBytes(at: body.readerIndex + body.readableBytes - 4, length: 4) ?? []
        let declared = trailer.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard declared == UInt32(truncatingIfNeeded: output.readableBytes) else {
            throw .badGzip("stream is truncated or corrupt (trailer says \(declared) bytes, inflated \(output.readableBytes))")
        }
        return output
    }

    public static func gzip(_ body: ByteBuffer) -> ByteBuffer {
        var input = body
        // Compressing into a buffer sized by deflateBound cannot fail.
        return (try? input.compress(with: .gzip())) ?? body
    }
}
