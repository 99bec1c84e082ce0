extension Head {
    /// `series` in the order of their labels (Prometheus's `labels.Compare`), as `select`
    /// promises. Series refs often already come in that order (series created from sorted
    /// requests), so that is checked first; otherwise positions are sorted rather than the
    /// (labels, samples) pairs, which keeps the sort from retaining and releasing them at
    /// every move.
    static func sortedByLabels(_ series: [(labels: Labels, samples: [Sample])]) -> [(labels: Labels, samples: [Sample])] {
        series.withUnsafeBufferPointer { buffer in
            var sorted = true
            for index in buffer.indices.dropFirst() where Labels.compare(buffer[index - 1].labels, buffer[index].labels) > 0 {
                sorted = false
                break
            }
            if sorted { return series }
            var order = Array(buffer.indices)
            order.sort { Labels.compare(buffer[$0].labels, buffer[$1].labels) < 0 }
            return order.map { buffer[$0] }
        }
    }
}
