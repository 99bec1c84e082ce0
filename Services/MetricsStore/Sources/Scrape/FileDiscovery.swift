import Foundation
import VigilService
#if canImport(Glibc)
import Glibc
#endif

/// `file_sd_configs`: reads the target groups of the files matching each glob. A file
/// that cannot be read or parsed is logged by the caller and contributes nothing (its
/// previous groups are not kept, unlike Prometheus, which keeps the last good read).
enum FileDiscovery {
    static func groups(_ configs: [FileSDConfig]) -> (groups: [TargetGroup], errors: [String]) {
        var groups: [TargetGroup] = []
        var errors: [String] = []
        for pattern in configs.flatMap(\.files) {
            for path in glob(pattern) {
                do {
                    // JSON is YAML, so one decoder reads both formats.
                    let text = try String(contentsOfFile: path, encoding: .utf8)
                    if text.allSatisfy(\.isWhitespace) { continue }
                    let read = try ConfigFile.parse([TargetGroup].self, yaml: text, file: path)
                    groups += read.map { TargetGroup(targets: $0.targets, labels: $0.labels, source: path) }
                } catch {
                    errors.append("\(error)")
                }
            }
        }
        return (groups, errors)
    }

    static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
