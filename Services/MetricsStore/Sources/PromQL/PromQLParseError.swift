/// A PromQL syntax or type error, printed as Prometheus prints it:
/// `1:5: parse error: unexpected end of input` (line and column are 1-based; the column
/// counts bytes, as upstream's `PositionRange.StartPosInput` does).
public struct PromQLParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var positionRange: PromQLPositionRange
    /// The message without position, e.g. `unexpected end of input`.
    public var message: String
    public var query: String

    public init(positionRange: PromQLPositionRange, message: String, query: String) {
        self.positionRange = positionRange
        self.message = message
        self.query = query
    }

    /// `line:column` of the error's start.
    public var position: String {
        let bytes = Array(query.utf8)
        let pos = min(positionRange.start, bytes.count)
        var line = 1
        var lastLineBreak = -1
        for i in 0..<pos where bytes[i] == 0x0A {
            line += 1
            lastLineBreak = i
        }
        return "\(line):\(pos - lastLineBreak)"
    }

    public var description: String { "\(position): parse error: \(message)" }
}
