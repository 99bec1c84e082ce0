import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import VigilService

/// One object-store node assembled from its configuration: metadata database and data
/// directory opened (files left by a crash swept), the S3 API on `s3_api.api_bind_addr`
/// and the admin API on `admin.api_bind_addr`, served until SIGTERM/SIGINT.
public final class ObjectStoreNode: Sendable {
    public let config: ObjectStoreConfig
    public let metadata: MetadataStore
    public let blobs: BlobStore
    let metrics: SelfMetrics
    let logger: Logger
    let maxConcurrentUploads: Int

    public init(config: ObjectStoreConfig, maxConcurrentUploads: Int = 256, metrics: SelfMetrics = SelfMetrics(),
                logger: Logger = Logger(label: "vigil.object-store")) throws {
        self.config = config
        self.maxConcurrentUploads = maxConcurrentUploads
        self.metrics = metrics
        self.logger = logger
        metadata = try MetadataStore(directory: config.metadataDir, fsync: config.metadataFsync)
        blobs = try BlobStore(directory: config.dataDir, fsync: config.dataFsync)
    }

    public func run(handleSignals: Bool = true) async throws {
        if config.replicationFactor > 1 {
            logger.warning("replication_factor \(config.replicationFactor) is configured but this build runs a single node: every object has one copy")
        }
        let removed = try await blobs.sweep(keeping: try await metadata.referencedBlobs())
        if removed > 0 { logger.info("removed \(removed) data files left over from an interrupted write") }
        let layout = LayoutManager(metadata: metadata, rpcPublicAddr: config.rpcPublicAddr)
        let nodeID = try await layout.nodeID()

        let s3Address = try HostPort(parsing: config.s3BindAddr)
        let s3 = S3API(metadata: metadata, data: ObjectDataStore(blobs: blobs), region: config.s3Region,
                       rootDomain: config.s3RootDomain, maxConcurrentUploads: maxConcurrentUploads, logger: logger)
        let s3App = Application(
            responder: s3,
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
            configuration: .init(address: .hostname(s3Address.host, port: s3Address.port), serverName: nil),
            logger: logger)

        let adminAddress = try HostPort(parsing: config.adminBindAddr)
        let router = Router()
        AdminAPI(metadata: metadata, layout: layout, adminToken: config.adminToken, metricsToken: config.metricsToken,
                 metrics: metrics).addRoutes(to: router)
        let adminApp = Application(router: router, configuration: .init(address: .hostname(adminAddress.host, port: adminAddress.port)),
                                   logger: logger)
        logger.info("object store node \(nodeID.prefix(16)) serving S3 on \(s3Address), admin on \(adminAddress)")
        let group = ServiceGroup(configuration: .init(services: [.init(service: s3App), .init(service: adminApp)],
                                                      gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                                                      logger: logger))
        try await group.run()
        metadata.close()
        await blobs.shutdown()
    }
}
