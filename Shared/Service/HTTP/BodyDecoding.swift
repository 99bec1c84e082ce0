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
        var input = body
        do {
            return try input.decompress(with: .gzip(), maxSize: limit)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .tooLarge(limit: limit)
        } catch {
            throw .badGzip("\(error)")
        }
    }

    public static func gzip(_ body: ByteBuffer) -> ByteBuffer {
        var input = body
        // Compressing into a buffer sized by deflateBound cannot fail.
        return (try? input.compress(with: .gzip())) ?? body
    }
}
