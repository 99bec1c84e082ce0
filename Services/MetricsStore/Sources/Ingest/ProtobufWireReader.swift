/// Why protobuf bytes could not be read. Offsets count from the start of the decoded
/// (decompressed) message, so a failing body can be inspected with `protoc --decode_raw`.
enum ProtobufWireError: Error, Equatable, CustomStringConvertible {
    /// The input ends inside a varint, a fixed-width value or a length-delimited field.
    case truncated(offset: Int)
    /// A varint longer than 10 bytes, or a tag longer than 5 bytes or above 2³² − 1.
    case malformedVarint(offset: Int)
    /// Wire types 6 and 7 do not exist.
    case invalidWireType(UInt8, offset: Int)
    case zeroFieldNumber(offset: Int)
    /// A length prefix of 2 GiB or more, which protobuf does not allow.
    case lengthTooLarge(offset: Int)
    /// An end-group tag outside a group, or closing another group than the open one.
    case unmatchedEndGroup(offset: Int)
    case nestedTooDeeply(offset: Int)
    /// A string field (name it) that is not valid UTF-8, which proto3 requires.
    case invalidUTF8(field: String, offset: Int)
    /// A field this decoder hands to the generated code (histograms) did not decode.
    case invalidMessage(field: String, detail: String)

    var description: String {
        switch self {
        case .truncated(let offset): "truncated message: a field at byte \(offset) runs past the end of its message"
        case .malformedVarint(let offset): "malformed varint at byte \(offset)"
        case .invalidWireType(let type, let offset): "invalid wire type \(type) at byte \(offset)"
        case .zeroFieldNumber(let offset): "field number 0 at byte \(offset)"
        case .lengthTooLarge(let offset): "length prefix at byte \(offset) is 2 GiB or more"
        case .unmatchedEndGroup(let offset): "end-group tag at byte \(offset) closes no open group"
        case .nestedTooDeeply(let offset): "groups nested too deeply at byte \(offset)"
        case .invalidUTF8(let field, let offset): "\(field) at byte \(offset) is not valid UTF-8"
        case .invalidMessage(let field, let detail): "\(field): \(detail)"
        }
    }
}

/// A forward-only reader of protobuf wire format over borrowed bytes, for the hand-written
/// remote-write decoder. It follows SwiftProtobuf's binary decoder in what it accepts: a
/// known field with another wire type than declared is skipped like an unknown field, and
/// skipped fields are still checked to be well-formed.
/// Wire format: https://protobuf.dev/programming-guides/encoding/
struct ProtobufWireReader {
    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    /// Nesting limit for groups (and messages), SwiftProtobuf's default.
    static let maxDepth = 100

    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int
    /// Message nesting of this reader, counted against `maxDepth`.
    let depth: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.position = 0
        self.end = bytes.count
        self.depth = 1
    }

    private init(bytes: UnsafeRawBufferPointer, range: Range<Int>, depth: Int) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
        self.depth = depth
    }

    /// A reader of an embedded message's bytes (a range from `lengthDelimited()`).
    func reader(for range: Range<Int>) -> ProtobufWireReader {
        ProtobufWireReader(bytes: bytes, range: range, depth: depth + 1)
    }

    var atEnd: Bool { position >= end }

    /// The next field's number and wire type, or nil at the end of the message.
    @inline(__always)
    mutating func nextTag() throws(ProtobufWireError) -> (field: Int, wireType: WireType)? {
        guard position < end else { return nil }
        let start = position
        let first = bytes[position]
        let raw: UInt64
        if first < 0x80 {
            position += 1
            raw = UInt64(first)
        } else {
            raw = try varint()
            guard position - start <= 5, raw <= UInt64(UInt32.max) else { throw .malformedVarint(offset: start) }
        }
        guard let wireType = WireType(rawValue: UInt8(raw & 7)) else {
            throw .invalidWireType(UInt8(raw & 7), offset: start)
        }
        let field = Int(raw >> 3)
        guard field != 0 else { throw .zeroFieldNumber(offset: start) }
        if wireType == .endGroup { throw .unmatchedEndGroup(offset: start) }
        return (field, wireType)
    }

    /// Moves past the next byte if it is the one-byte tag `tag`; a fast path for fields
    /// in their usual order. `tag` must be a valid tag (non-zero field, wire type 0…5).
    @inline(__always)
    mutating func skipTag(_ tag: UInt8) -> Bool {
        guard position < end, bytes[position] == tag else { return false }
        position += 1
        return true
    }

    /// A base-128 varint of at most 10 bytes; bits beyond 64 are dropped, as SwiftProtobuf
    /// and Go's decoder do.
    @inline(__always)
    mutating func varint() throws(ProtobufWireError) -> UInt64 {
        guard position < end else { throw .truncated(offset: position) }
        let start = position
        var byte = bytes[position]
        position += 1
        if byte < 0x80 { return UInt64(byte) }
        var value = UInt64(byte & 0x7F)
        var shift: UInt64 = 7
        while true {
            guard position < end, shift <= 63 else { throw .malformedVarint(offset: start) }
            byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) &<< shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    @inline(__always)
    mutating func fixed64() throws(ProtobufWireError) -> UInt64 {
        guard end - position >= 8 else { throw .truncated(offset: position) }
        defer { position += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// The byte range of a length-delimited field's body; the reader moves past it.
    @inline(__always)
    mutating func lengthDelimited() throws(ProtobufWireError) -> Range<Int> {
        let start = position
        let length = try varint()
        guard length < 0x7FFF_FFFF else { throw .lengthTooLarge(offset: start) }
        guard Int(length) <= end - position else { throw .truncated(offset: start) }
        defer { position += Int(length) }
        return position..<position + Int(length)
    }

    /// Moves past the body of a field whose tag was just read, checking it is well-formed.
    mutating func skip(_ wireType: WireType, field: Int) throws(ProtobufWireError) {
        try skip(wireType, field: field, depth: depth)
    }

    private mutating func skip(_ wireType: WireType, field: Int, depth: Int) throws(ProtobufWireError) {
        switch wireType {
        case .varint:
            _ = try varint()
        case .fixed64:
            guard end - position >= 8 else { throw .truncated(offset: position) }
            position += 8
        case .fixed32:
            guard end - position >= 4 else { throw .truncated(offset: position) }
            position += 4
        case .lengthDelimited:
            _ = try lengthDelimited()
        case .startGroup:
            guard depth < Self.maxDepth else { throw .nestedTooDeeply(offset: position) }
            while true {
                guard position < end else { throw .truncated(offset: position) }
                let tagStart = position
                let raw = try varint()
                guard raw <= UInt64(UInt32.max) else { throw .malformedVarint(offset: tagStart) }
                guard let inner = WireType(rawValue: UInt8(raw & 7)) else {
                    throw .invalidWireType(UInt8(raw & 7), offset: tagStart)
                }
                let innerField = Int(raw >> 3)
                guard innerField != 0 else { throw .zeroFieldNumber(offset: tagStart) }
                if inner == .endGroup {
                    guard innerField == field else { throw .unmatchedEndGroup(offset: tagStart) }
                    return
                }
                try skip(inner, field: innerField, depth: depth + 1)
            }
        case .endGroup:
            throw .unmatchedEndGroup(offset: position)
        }
    }

    /// A string field's bytes, checked to be UTF-8 as proto3 requires of `string` fields.
    @inline(__always)
    mutating func string(_ field: String) throws(ProtobufWireError) -> Range<Int> {
        let range = try lengthDelimited()
        guard UTF8Check.isValid(UnsafeRawBufferPointer(rebasing: bytes[range])) else {
            throw .invalidUTF8(field: field, offset: range.lowerBound)
        }
        return range
    }
}

/// UTF-8 validation with an ASCII fast path; the slow path is the standard library's
/// UTF-8 parser, which is what SwiftProtobuf validates string fields with.
enum UTF8Check {
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 {
                return isValidSlow(bytes)
            }
            index += 8
        }
        while index < count {
            if bytes[index] >= 0x80 { return isValidSlow(bytes) }
            index += 1
        }
        return true
    }

    private static func isValidSlow(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .error: return false
            case .emptyInput: return true
            }
        }
    }
}
