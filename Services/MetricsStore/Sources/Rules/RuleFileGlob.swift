import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// prometheus.yml's `rule_files`: glob patterns resolved against the directory of the
/// configuration file, as Prometheus's `config.SetDirectory` does. A pattern that
/// matches nothing is not an error (Prometheus loads no files for it).
public enum RuleFileGlob {
    public static func resolve(_ patterns: [String], configFile: String) -> [String] {
        let directory = URL(fileURLWithPath: configFile).deletingLastPathComponent().path
        var files: [String] = []
        for pattern in patterns {
            let absolute = pattern.hasPrefix("/") ? pattern : directory + "/" + pattern
            files += matches(absolute).filter { !files.contains($0) }
        }
        return files
    }

    /// The pattern's matches, sorted; invalid patterns match nothing.
    static func matches(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { index in
            result.gl_pathv[index].map { String(cString: $0) }
        }.sorted()
    }

    /// Checks each pattern is a valid glob, as Prometheus does at config load.
    public static func validate(_ patterns: [String]) -> String? {
        for pattern in patterns where pattern.filter({ $0 == "[" }).count != pattern.filter({ $0 == "]" }).count {
            return "invalid rule file path \"\(pattern)\""
        }
        return nil
    }
}
