#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A series' identifier in the head block, assigned in increasing order as series are
/// created, so postings lists usually grow by appending.
public typealias SeriesRef = UInt64

/// What one `select` did, so tests and query stats can check that it used the index.
public struct SelectStats: Sendable, Equatable {
    /// Label values looked up (known values) or tested against a matcher (scans).
    public var valuesInspected = 0
    /// Postings lists taken from the index, and how many series references they held.
    public var postingsListsRead = 0
    public var postingsRead = 0

    public init() {}
}

/// The head block's in-memory inverted index: label name → label value → postings (the
/// series having that label), with Prometheus's selector semantics (`tsdb/querier.go`,
/// `PostingsForMatchers`).
///
/// Invariants: every postings list is sorted ascending, without duplicates, and non-empty
/// (a value whose list empties is removed, and so is a name left without values); the
/// all-postings list holds every series added and not deleted. Labels with an empty value
/// are not indexed: in Prometheus's data model an empty value is the same as no label, and
/// selection treats a missing label as the value `""`, so results are the same either way.
///
/// Thread safety: a pthread reader-writer lock. Queries (`select`, listings) share it and
/// run in parallel; `add` and `delete` take it exclusively and wait for running queries,
/// which never block on I/O and are short: on a million series, microseconds for lookups,
/// about a millisecond for a regex over a label with a thousand values, tens of
/// milliseconds for one over a label with a million values (a per-series ID). On glibc
/// the lock prefers writers, so a steady stream of queries cannot starve ingestion. A
/// `Mutex` would serialise concurrent queries; copy-on-write snapshots would make an append
/// copy any postings list a query is still holding. Results are always fresh arrays, never
/// storage shared with the index, so that later appends do not copy them under the lock.
public final class MemPostings: @unchecked Sendable {
    private let lock = ReadWriteLock()
    /// Guarded by `lock`.
    private var index: [UTF8Key: [UTF8Key: [SeriesRef]]] = [:]
    /// Guarded by `lock`.
    private var all: [SeriesRef] = []

    public init() {}

    /// Number of series indexed.
    public var seriesCount: Int { lock.read { all.count } }

    // MARK: Writing

    /// Indexes a series. References normally arrive in increasing order (appended in O(1));
    /// an older reference is inserted in place. Adding a reference twice has no effect.
    public func add(_ ref: SeriesRef, _ labels: Labels) {
        lock.write {
            Postings.insert(ref, into: &all)
            for label in labels where !label.value.isEmpty {
                Postings.insert(ref, into: &index[UTF8Key(label.name), default: [:]][UTF8Key(label.value), default: []])
            }
        }
    }

    /// Removes series from every postings list (head truncation). Visits every list:
    /// O(total postings); use `delete(_:affecting:)` when the series' labels are known.
    public func delete(_ refs: Set<SeriesRef>) {
        guard !refs.isEmpty else { return }
        let removals = refs.sorted()
        lock.write {
            Postings.remove(removals, from: &all)
            var emptiedNames: [UTF8Key] = []
            // Walk by index, not `indices`, which would hold a second reference to the
            // storage and make the first mutation copy the whole dictionary.
            var slot = index.startIndex
            while slot != index.endIndex {
                MemPostings.remove(removals, fromValuesOf: &index.values[slot])
                if index.values[slot].isEmpty { emptiedNames.append(index.keys[slot]) }
                index.formIndex(after: &slot)
            }
            for name in emptiedNames { index[name] = nil }
        }
    }

    /// Removes series whose label sets are given, visiting only their postings lists.
    /// Every label set of the removed series must be among `labelSets`.
    public func delete(_ refs: Set<SeriesRef>, affecting labelSets: [Labels]) {
        guard !refs.isEmpty else { return }
        let removals = refs.sorted()
        var affected = Set<Label>()
        for labels in labelSets {
            for label in labels where !label.value.isEmpty { affected.insert(label) }
        }
        lock.write {
            Postings.remove(removals, from: &all)
            for label in affected {
                let name = UTF8Key(label.name)
                let value = UTF8Key(label.value)
                guard index[name]?[value] != nil else { continue }
                Postings.remove(removals, from: &index[name]![value]!)
                guard index[name]![value]!.isEmpty else { continue }
                index[name]![value] = nil
                if index[name]!.isEmpty { index[name] = nil }
            }
        }
    }

    private static func remove(_ removals: [SeriesRef], fromValuesOf values: inout [UTF8Key: [SeriesRef]]) {
        var emptied: [UTF8Key] = []
        var slot = values.startIndex
        while slot != values.endIndex {
            Postings.remove(removals, from: &values.values[slot])
            if values.values[slot].isEmpty { emptied.append(values.keys[slot]) }
            values.formIndex(after: &slot)
        }
        for value in emptied { values[value] = nil }
    }

    // MARK: Reading

    /// The series with label `name` equal to `value` (empty for an empty value).
    public func postings(name: String, value: String) -> [SeriesRef] {
        lock.read { Postings.copy(index[UTF8Key(name)]?[UTF8Key(value)] ?? []) }
    }

    /// Every indexed series, ascending.
    public func allPostings() -> [SeriesRef] {
        lock.read { Postings.copy(all) }
    }

    /// Label names in use, sorted by bytes.
    public func labelNames() -> [String] {
        let names = lock.read { index.keys.map(\.string) }
        return names.sorted { UTF8Bytes.compare($0, $1) < 0 }
    }

    /// Values in use for `name`, sorted by bytes.
    public func labelValues(_ name: String) -> [String] {
        let values = lock.read { index[UTF8Key(name)]?.keys.map(\.string) ?? [] }
        return values.sorted { UTF8Bytes.compare($0, $1) < 0 }
    }

    /// Visits every label name with its values and their postings counts, under the read
    /// lock (the visitor must not call back into the index).
    func forEachLabel(_ visit: (_ name: String, _ values: [(value: String, count: Int)]) -> Void) {
        lock.read {
            for (name, values) in index {
                visit(name.string, values.map { ($0.key.string, $0.value.count) })
            }
        }
    }

    // MARK: Selecting

    /// The series selected by all `matchers` (ANDed), ascending.
    public func select(_ matchers: [LabelMatcher]) -> [SeriesRef] {
        var stats = SelectStats()
        return select(matchers, stats: &stats)
    }

    /// `select`, also counting the work done into `stats`.
    ///
    /// Semantics (Prometheus's `PostingsForMatchers`): a series is selected when every
    /// matcher accepts the series' value for its label, a missing label counting as `""`.
    /// Hence:
    /// - a matcher rejecting `""` (`job="api"`, `job=~"a.+"`, `job!=""`) intersects with the
    ///   union of the postings of the values it accepts;
    /// - a matcher accepting `""` (`job=""`, `job!="api"`, `job=~".*"`, `job=~"x|"`,
    ///   `job!~"a.+"`) subtracts the postings of the values it rejects, so it keeps series
    ///   without the label;
    /// - with nothing to intersect, the base is all postings; no matchers select nothing.
    ///
    /// Only the values of a matcher's own label are scanned, never all series; matchers with
    /// a known finite value set (`=`, `!=`, `=~"a|b"`, `!~"a|b"`) look values up without
    /// scanning. Lookups run first so that an empty intersection skips the scans.
    public func select(_ matchers: [LabelMatcher], stats: inout SelectStats) -> [SeriesRef] {
        guard !matchers.isEmpty, !matchers.contains(where: \.acceptsNothing) else { return [] }
        let relevant = matchers.filter { !$0.acceptsEverything }  // `=~".*"` constrains nothing
        let intersecting = relevant.filter { !$0.matchesEmpty }
            .sorted { ($0.acceptedValues != nil ? 0 : 1) < ($1.acceptedValues != nil ? 0 : 1) }
        let subtracting = relevant.filter(\.matchesEmpty)
        return lock.read { () -> [SeriesRef] in
            var result: [SeriesRef]?
            var resultIsShared = false  // still the index's own storage
            for matcher in intersecting {
                let lists = acceptedPostings(matcher, &stats)
                let list = Postings.union(lists)
                if list.isEmpty { return [] }
                if let current = result {
                    result = Postings.intersect(current, list)
                    resultIsShared = false
                } else {
                    result = list
                    resultIsShared = lists.count == 1
                }
                if result!.isEmpty { return [] }
            }
            if result == nil { resultIsShared = true }
            var base = result ?? all
            var removals: [[SeriesRef]] = []
            for matcher in subtracting where !base.isEmpty {
                removals += rejectedPostings(matcher, &stats)
            }
            if !removals.isEmpty {
                let kept = Postings.subtract(base, removals)
                if kept.count != base.count { resultIsShared = false }
                base = kept
            }
            return resultIsShared ? Postings.copy(base) : base
        }
    }

    /// Postings lists of the values `matcher` accepts. Caller holds the lock.
    private func acceptedPostings(_ matcher: LabelMatcher, _ stats: inout SelectStats) -> [[SeriesRef]] {
        guard let values = index[UTF8Key(matcher.name)] else { return [] }
        if let accepted = matcher.acceptedValues {
            return lookUp(accepted, in: values, &stats)
        }
        return scan(values, &stats) { matcher.matches($0) }
    }

    /// Postings lists of the values `matcher` rejects. Caller holds the lock.
    private func rejectedPostings(_ matcher: LabelMatcher, _ stats: inout SelectStats) -> [[SeriesRef]] {
        guard let values = index[UTF8Key(matcher.name)] else { return [] }
        if let rejected = matcher.rejectedValues {
            return lookUp(rejected, in: values, &stats)
        }
        return scan(values, &stats) { !matcher.matches($0) }
    }

    private func lookUp(_ wanted: [String], in values: [UTF8Key: [SeriesRef]], _ stats: inout SelectStats) -> [[SeriesRef]] {
        var lists: [[SeriesRef]] = []
        for value in wanted {
            stats.valuesInspected += 1
            guard let list = values[UTF8Key(value)] else { continue }
            lists.append(list)
            stats.postingsListsRead += 1
            stats.postingsRead += list.count
        }
        return lists
    }

    private func scan(_ values: [UTF8Key: [SeriesRef]], _ stats: inout SelectStats, where include: (String) -> Bool) -> [[SeriesRef]] {
        var lists: [[SeriesRef]] = []
        stats.valuesInspected += values.count
        for (value, list) in values where include(value.string) {
            lists.append(list)
            stats.postingsListsRead += 1
            stats.postingsRead += list.count
        }
        return lists
    }
}

// MARK: - Sorted-list algebra

/// Operations on postings lists: sorted ascending, no duplicates. Each picks a linear merge
/// for lists of similar length and galloping (exponential then binary search in the longer
/// list) when one is much shorter, so `{rare="x", common="y"}` costs O(rare · log common).
public enum Postings {
    /// Above this length ratio the shorter list gallops through the longer.
    static let gallopRatio = 32

    public static func intersect(_ lhs: [SeriesRef], _ rhs: [SeriesRef]) -> [SeriesRef] {
        let (short, long) = lhs.count <= rhs.count ? (lhs, rhs) : (rhs, lhs)
        guard let shortFirst = short.first, let longLast = long.last, shortFirst <= longLast else { return [] }
        var result: [SeriesRef] = []
        result.reserveCapacity(short.count)
        short.withUnsafeBufferPointer { a in
            long.withUnsafeBufferPointer { b in
                var j = 0
                if b.count > gallopRatio * a.count {
                    for value in a {
                        j = gallop(b, from: j, to: value)
                        if j == b.count { break }
                        if b[j] == value { result.append(value) }
                    }
                    return
                }
                var i = 0
                while i < a.count && j < b.count {
                    let x = a[i], y = b[j]
                    if x == y {
                        result.append(x)
                        i += 1
                        j += 1
                    } else if x < y {
                        i += 1
                    } else {
                        j += 1
                    }
                }
            }
        }
        return result
    }

    public static func union(_ lhs: [SeriesRef], _ rhs: [SeriesRef]) -> [SeriesRef] {
        if lhs.isEmpty { return rhs }
        if rhs.isEmpty { return lhs }
        var result: [SeriesRef] = []
        result.reserveCapacity(lhs.count + rhs.count)
        lhs.withUnsafeBufferPointer { a in
            rhs.withUnsafeBufferPointer { b in
                var i = 0
                var j = 0
                while i < a.count && j < b.count {
                    let x = a[i], y = b[j]
                    if x <= y {
                        result.append(x)
                        i += 1
                        if x == y { j += 1 }
                    } else {
                        result.append(y)
                        j += 1
                    }
                }
                result.append(contentsOf: a[i...])
                result.append(contentsOf: b[j...])
            }
        }
        return result
    }

    /// Union of many lists. Concatenates and sorts: Swift's sort finds the sorted runs, so
    /// this costs O(n log k) for k lists, then drops duplicates.
    public static func union(_ lists: [[SeriesRef]]) -> [SeriesRef] {
        switch lists.count {
        case 0: return []
        case 1: return lists[0]
        case 2: return union(lists[0], lists[1])
        default:
            var result: [SeriesRef] = []
            result.reserveCapacity(lists.reduce(0) { $0 + $1.count })
            for list in lists { result += list }
            result.sort()
            return deduplicated(result)
        }
    }

    /// The elements of `lhs` that are not in `rhs`.
    public static func subtract(_ lhs: [SeriesRef], _ rhs: [SeriesRef]) -> [SeriesRef] {
        guard let lhsFirst = lhs.first, let lhsLast = lhs.last, let rhsFirst = rhs.first, let rhsLast = rhs.last,
              rhsFirst <= lhsLast, lhsFirst <= rhsLast else { return lhs }
        var result: [SeriesRef] = []
        result.reserveCapacity(lhs.count)
        lhs.withUnsafeBufferPointer { a in
            rhs.withUnsafeBufferPointer { b in
                if b.count > gallopRatio * a.count {  // few kept candidates: look each up
                    var j = 0
                    for value in a {
                        j = gallop(b, from: j, to: value)
                        if j == b.count || b[j] != value { result.append(value) }
                    }
                    return
                }
                if a.count > gallopRatio * b.count {  // few removals: copy the runs between them
                    var i = 0
                    for value in b {
                        let next = gallop(a, from: i, to: value)
                        result.append(contentsOf: a[i..<next])
                        i = next
                        if i < a.count && a[i] == value { i += 1 }
                    }
                    result.append(contentsOf: a[i...])
                    return
                }
                var i = 0
                var j = 0
                while i < a.count {
                    let x = a[i]
                    while j < b.count && b[j] < x { j += 1 }
                    if j == b.count || b[j] != x { result.append(x) }
                    i += 1
                }
            }
        }
        return result
    }

    /// `lhs` without the elements of any of `lists`.
    public static func subtract(_ lhs: [SeriesRef], _ lists: [[SeriesRef]]) -> [SeriesRef] {
        if lists.count <= 4 {
            return lists.reduce(lhs) { subtract($0, $1) }
        }
        return subtract(lhs, union(lists))
    }

    /// Index of the first element ≥ `target` at or after `start`.
    @inline(__always)
    static func gallop(_ list: UnsafeBufferPointer<SeriesRef>, from start: Int, to target: SeriesRef) -> Int {
        guard start < list.count, list[start] < target else { return start }
        var low = start  // list[low] < target
        var step = 1
        var high = start + 1
        while high < list.count && list[high] < target {
            low = high
            step <<= 1
            high = low + step
        }
        high = min(high, list.count)
        var lower = low + 1
        while lower < high {
            let mid = (lower + high) / 2
            if list[mid] < target { lower = mid + 1 } else { high = mid }
        }
        return lower
    }

    /// Inserts keeping order; O(1) for the usual newest reference.
    static func insert(_ ref: SeriesRef, into list: inout [SeriesRef]) {
        guard let last = list.last, ref <= last else {
            list.append(ref)
            return
        }
        let position = list.withUnsafeBufferPointer { gallop($0, from: 0, to: ref) }
        if list[position] != ref { list.insert(ref, at: position) }
    }

    /// Removes the (sorted) `removals` from `list` in place; does not write when none is
    /// present.
    static func remove(_ removals: [SeriesRef], from list: inout [SeriesRef]) {
        guard let first = list.first, let last = list.last, let low = removals.first, let high = removals.last,
              low <= last, first <= high else { return }
        let kept = subtract(list, removals)
        if kept.count != list.count { list = kept }
    }

    /// A copy with its own storage, so the index's list is not shared with the caller.
    static func copy(_ list: [SeriesRef]) -> [SeriesRef] {
        list.withUnsafeBufferPointer { Array($0) }
    }

    private static func deduplicated(_ sorted: [SeriesRef]) -> [SeriesRef] {
        var result = sorted
        var write = 0
        for read in result.indices where read == 0 || result[read] != result[write - 1] {
            result[write] = result[read]
            write += 1
        }
        result.removeSubrange(write...)
        return result
    }
}

// MARK: - Lock

/// A pthread reader-writer lock, writer-preferring on glibc.
final class ReadWriteLock: @unchecked Sendable {
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        rwlock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        let status = pthread_rwlock_init(rwlock, &attributes)
        precondition(status == 0, "pthread_rwlock_init failed: \(status)")
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    func read<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_rwlock_rdlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        return try body()
    }

    func write<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_rwlock_wrlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        return try body()
    }
}
