/// Collects the name/value pairs of one sample line (or exemplar) and makes the sorted
/// `Labels` of it. Its buffers are reused from line to line.
struct ScrapedLabelsBuilder {
    private var pairs: [(name: String, value: String)] = []
    /// `le` and `quantile` values already rewritten into OpenMetrics float form.
    private var normalizedFloats: [String: String] = [:]

    init() {
        pairs.reserveCapacity(16)
    }

    mutating func append(name: String, value: String) {
        pairs.append((name, value))
    }

    /// Appends `value` in Prometheus's canonical float form when it parses as one (so
    /// `le="1"` becomes `le="1.0"`), as-is otherwise.
    mutating func appendNormalizingFloat(name: String, value: String, raw: UnsafeBufferPointer<UInt8>) {
        if let cached = normalizedFloats[value] {
            pairs.append((name, cached))
            return
        }
        guard case .value(let number) = ExpositionNumber.parseFloat(raw) else {
            pairs.append((name, value))
            return
        }
        let normalized = ExpositionNumber.openMetricsText(number)
        if normalizedFloats.count >= 1024 { normalizedFloats.removeAll(keepingCapacity: true) }
        normalizedFloats[value] = normalized
        pairs.append((name, normalized))
    }

    /// The label set, sorted by name; labels with an empty value are dropped (after the
    /// duplicate check, so `a="",a="x"` is still a duplicate). Fails with the first name
    /// that occurs twice. Empties the builder either way.
    mutating func build() -> Result<Labels, DuplicateLabelName> {
        defer { pairs.removeAll(keepingCapacity: true) }
        sortPairs()
        var hasEmptyValue = pairs.count > 0 && pairs[0].value.isEmpty
        for index in pairs.indices.dropFirst() {
            if UTF8Bytes.equal(pairs[index - 1].name, pairs[index].name) {
                return .failure(DuplicateLabelName(name: pairs[index].name))
            }
            if pairs[index].value.isEmpty { hasEmptyValue = true }
        }
        if hasEmptyValue {
            pairs.removeAll { $0.value.isEmpty }
        }
        return .success(Labels(sortedPairs: pairs))
    }

    mutating func reset() {
        pairs.removeAll(keepingCapacity: true)
    }

    /// Insertion sort by name bytes: label sets are small and usually come nearly sorted
    /// (`__name__` first, then the target's names in order).
    private mutating func sortPairs() {
        guard pairs.count > 1 else { return }
        for index in 1..<pairs.count {
            var position = index
            guard UTF8Bytes.compare(pairs[position - 1].name, pairs[position].name) > 0 else { continue }
            let moving = pairs[index]
            while position > 0, UTF8Bytes.compare(pairs[position - 1].name, moving.name) > 0 {
                pairs[position] = pairs[position - 1]
                position -= 1
            }
            pairs[position] = moving
        }
    }

    struct DuplicateLabelName: Error {
        let name: String
    }
}
