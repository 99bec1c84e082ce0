import Crypto
import Foundation

/// Authentication of node-to-node requests: every request carries the time and an
/// HMAC-SHA256, keyed with `rpc_secret`, of its method, path, query and that time. A node
/// answers 403 to a request whose signature does not verify or whose time is more than
/// `maxSkew` from its own, so only holders of the cluster secret can call the RPC API.
///
/// The signature does not cover bodies: data bodies are checked against the CRC-32 of
/// every block carried in their signed-for metadata, and the channel is plain HTTP, so
/// the RPC port belongs on a private network (as Garage's, which it replaces).
public struct RPCAuthentication: Sendable {
    public static let timeHeader = "x-vigil-rpc-time"
    public static let signatureHeader = "x-vigil-rpc-signature"
    public static let maxSkew: Int64 = 300

    let key: SymmetricKey

    /// `secret` is the configuration's 64 hex digits.
    public init(secret: String) {
        key = SymmetricKey(data: bytes(fromHex: secret) ?? Array(secret.utf8))
    }

    /// The two headers to add to a request.
    public func headers(method: String, path: String, query: String, now: Date = Date()) -> [(String, String)] {
        let time = String(Int64(now.timeIntervalSince1970))
        return [(Self.timeHeader, time), (Self.signatureHeader, signature(method: method, path: path, query: query, time: time))]
    }

    func signature(method: String, path: String, query: String, time: String) -> String {
        let message = "\(method)\n\(path)\n\(query)\n\(time)"
        return Array(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)).hexString
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case missing
        case clockSkew(Int64)
        case badSignature

        public var description: String {
            switch self {
            case .missing: "RPC request without \(RPCAuthentication.signatureHeader); only cluster nodes may call this port"
            case .clockSkew(let seconds): "RPC request time is \(seconds) s away from this node's clock (at most \(RPCAuthentication.maxSkew) allowed)"
            case .badSignature: "RPC signature does not verify: the caller's rpc_secret differs from this node's"
            }
        }
    }

    /// Checks a received request's headers.
    public func verify(method: String, path: String, query: String, time: String?, signature: String?,
                       now: Date = Date()) throws(Failure) {
        guard let time, let signature, let seconds = Int64(time) else { throw .missing }
        let skew = seconds - Int64(now.timeIntervalSince1970)
        guard abs(skew) <= Self.maxSkew else { throw .clockSkew(skew) }
        let expected = self.signature(method: method, path: path, query: query, time: time)
        // Constant-time comparison: no early exit on the first differing byte.
        guard expected.utf8.count == signature.utf8.count,
              zip(expected.utf8, signature.utf8).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { throw .badSignature }
    }
}
