import Crypto

/// Bytes from hex digits, or nil when `hex` is not an even number of hex digits.
func bytes(fromHex hex: String) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
        guard let v = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
        out.append(v)
        i += 2
    }
    return out
}

extension Digest {
    var hexString: String { Array(self).hexString }
}

extension HashedAuthenticationCode {
    var hexString: String { Array(self).hexString }
}
