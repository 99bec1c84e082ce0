import GRPCCore
import OTLP

/// The OTLP/gRPC receiver: the Export RPC of the trace, metrics and logs services.
/// Refused data gets RESOURCE_EXHAUSTED (UNAVAILABLE while stopping) so OTLP exporters
/// retry; dropped invalid items come back as a partial success.
public struct OTLPGRPCReceiver: Sendable {
    public let traces: ReceiverIntake<ExportTraceServiceRequest>?
    public let metrics: ReceiverIntake<ExportMetricsServiceRequest>?
    public let logs: ReceiverIntake<ExportLogsServiceRequest>?

    public init(traces: ReceiverIntake<ExportTraceServiceRequest>?, metrics: ReceiverIntake<ExportMetricsServiceRequest>?,
                logs: ReceiverIntake<ExportLogsServiceRequest>?) {
        self.traces = traces
        self.metrics = metrics
        self.logs = logs
    }

    public var services: [any RegistrableRPCService] {
        var services: [any RegistrableRPCService] = []
        if let traces { services.append(TraceExport(intake: traces)) }
        if let metrics { services.append(MetricsExport(intake: metrics)) }
        if let logs { services.append(LogsExport(intake: logs)) }
        return services
    }

    static func rpcError(_ error: PipelineError) -> RPCError {
        RPCError(code: error == .shuttingDown ? .unavailable : .resourceExhausted, message: error.description)
    }

    struct TraceExport: TraceService.SimpleServiceProtocol {
        let intake: ReceiverIntake<ExportTraceServiceRequest>
        func export(request: ExportTraceServiceRequest, context: ServerContext) async throws -> ExportTraceServiceResponse {
            let outcome: ReceiverIntake<ExportTraceServiceRequest>.Outcome
            do throws(PipelineError) { outcome = try await intake.accept(request) } catch { throw rpcError(error) }
            return .with { r in
                if outcome.rejected > 0 { r.partialSuccess = .with { $0.rejectedSpans = Int64(outcome.rejected); $0.errorMessage = outcome.message } }
            }
        }
    }

    struct MetricsExport: MetricsService.SimpleServiceProtocol {
        let intake: ReceiverIntake<ExportMetricsServiceRequest>
        func export(request: ExportMetricsServiceRequest, context: ServerContext) async throws -> ExportMetricsServiceResponse {
            let outcome: ReceiverIntake<ExportMetricsServiceRequest>.Outcome
            do throws(PipelineError) { outcome = try await intake.accept(request) } catch { throw rpcError(error) }
            return .with { r in
                if outcome.rejected > 0 { r.partialSuccess = .with { $0.rejectedDataPoints = Int64(outcome.rejected); $0.errorMessage = outcome.message } }
            }
        }
    }

    struct LogsExport: LogsService.SimpleServiceProtocol {
        let intake: ReceiverIntake<ExportLogsServiceRequest>
        func export(request: ExportLogsServiceRequest, context: ServerContext) async throws -> ExportLogsServiceResponse {
            let outcome: ReceiverIntake<ExportLogsServiceRequest>.Outcome
            do throws(PipelineError) { outcome = try await intake.accept(request) } catch { throw rpcError(error) }
            return .with { r in
                if outcome.rejected > 0 { r.partialSuccess = .with { $0.rejectedLogRecords = Int64(outcome.rejected); $0.errorMessage = outcome.message } }
            }
        }
    }
}
