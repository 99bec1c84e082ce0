#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The process's resident memory, read from /proc (Linux); used by memory limits and by
/// benchmarks that report peak RSS.
public enum ProcessMemory {
    /// Hands memory that was freed back to the kernel. glibc keeps freed memory in its
    /// per-thread arenas; after a large short-lived allocation (a block cut) that would
    /// stay in the RSS for good.
    public static func returnFreedMemory() {
        #if canImport(Glibc)
        // malloc.h is not in Glibc's module map; look the function up instead.
        typealias MallocTrim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        }
        #endif
    }

    /// Current resident set size in bytes, or nil where /proc is unavailable.
    public static func residentBytes() -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// User plus system CPU time of a process in seconds, from /proc/<pid>/stat.
    public static func cpuSeconds(pid: Int32? = nil) -> Double? {
        let path = pid.map { "/proc/\($0)/stat" } ?? "/proc/self/stat"
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name, utime and stime are the 12th and 13th fields (clock ticks).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Current resident set size (VmRSS) in bytes of another process, or nil.
    public static func residentBytes(pid: Int32) -> Int? {
        statusField("VmRSS:", pid: pid)
    }

    /// Peak resident set size (VmHWM) in bytes of a process, or nil.
    public static func peakResidentBytes(pid: Int32? = nil) -> Int? {
        statusField("VmHWM:", pid: pid)
    }

    private static func statusField(_ field: String, pid: Int32?) -> Int? {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        guard let status = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }
}
