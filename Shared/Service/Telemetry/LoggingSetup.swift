import Logging

public enum LoggingSetup {
    /// Logs to stderr at the given level ("debug", "info", "warn", "error"), once per process.
    public static func bootstrap(level: String) {
        let parsed: Logger.Level
        switch level.lowercased() {
        case "trace": parsed = .trace
        case "debug": parsed = .debug
        case "warn", "warning": parsed = .warning
        case "error": parsed = .error
        default: parsed = .info
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
    }
}
