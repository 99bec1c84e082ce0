/// One page of a bucket listing with S3's prefix/delimiter semantics: keys under `prefix`
/// after `marker`, with keys that contain `delimiter` after the prefix rolled up into
/// common prefixes; each common prefix counts once towards `maxKeys`.
public struct BucketListing: Sendable {
    public var objects: [ObjectSummary] = []
    public var commonPrefixes: [String] = []
    public var isTruncated = false
    /// The last key or common prefix returned: where the next page starts.
    public var nextMarker: String?

    /// Builds a page by reading the bucket in key order through `fetch(from, exclusive, limit)`.
    public static func build(prefix: String, delimiter: String?, marker: String?, maxKeys: Int,
                             fetch: (String, Bool, Int) async throws -> [ObjectSummary]) async throws -> BucketListing {
        var listing = BucketListing()
        let delimiter = delimiter.flatMap { $0.isEmpty ? nil : $0 }
        var from = marker ?? ""
        var exclusive = marker != nil
        if from.utf8.lexicographicallyPrecedes(prefix.utf8) {
            from = prefix
            exclusive = false
        }
        // A marker that is itself a common prefix (the last page ended on one) skips its keys.
        var lastPrefix = marker
        let batchSize = 1000
        var count = 0
        while true {
            let batch = try await fetch(from, exclusive, batchSize)
            if batch.isEmpty { return listing }
            var jumped = false
            for object in batch {
                guard object.key.hasPrefix(prefix) else { return listing }
                if let delimiter, let range = object.key.dropFirst(prefix.count).range(of: delimiter) {
                    let common = String(object.key[..<range.upperBound])
                    if common == lastPrefix { continue }
                    if count == maxKeys { listing.isTruncated = true; return listing }
                    listing.commonPrefixes.append(common)
                    listing.nextMarker = common
                    lastPrefix = common
                    count += 1
                    // Jump past every key under this prefix when its last byte can be incremented.
                    if let last = common.utf8.last, last < 0x7F {
                        from = String(decoding: Array(common.utf8.dropLast()) + [last + 1], as: UTF8.self)
                        exclusive = false
                        jumped = true
                        break
                    }
                    continue
                }
                if count == maxKeys { listing.isTruncated = true; return listing }
                listing.objects.append(object)
                listing.nextMarker = object.key
                count += 1
            }
            if !jumped {
                if batch.count < batchSize { return listing }
                from = batch.last!.key
                exclusive = true
            }
        }
    }
}
