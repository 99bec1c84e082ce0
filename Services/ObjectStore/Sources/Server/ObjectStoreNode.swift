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
        let removed = try await blobs.sweep(keeping: try await metadata.referencedBlobs())
        if removed > 0 { logger.info("removed \(removed) data files left over from an interrupted write") }
        let membershipBox = LockedValue<ClusterMembership?>(nil)
        let layout = LayoutManager(metadata: metadata, rpcPublicAddr: config.rpcPublicAddr, replicationFactor: config.replicationFactor) {
            guard let membership = membershipBox.withLock({ $0 }) else { return [] }
            return Array(await membership.knownNodeIDs.dropFirst())
        }
        let nodeID = try await layout.nodeID()
        metadata.clock.setNode(nodeID)
        let data = ObjectDataStore(blobs: blobs)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        var cluster: ReplicatedObjects?
        var rpcClient: RPCClient?
        if let rpcBind = config.rpcBindAddr, let secret = config.rpcSecret {
            let rpc = RPCClient(secret: secret)
            rpcClient = rpc
            let rpcAddress = try HostPort(parsing: rpcBind)
            let wildcard = ["::", "0.0.0.0", ""].contains(rpcAddress.host)
            if config.rpcPublicAddr == nil, wildcard {
                logger.warning("rpc_public_addr is not set and rpc_bind_addr \(rpcBind) is a wildcard: other nodes learn this node's address only from `node connect` or bootstrap_peers")
            }
            // A wildcard bind address is no address to give peers: gossip then carries none.
            let membership = ClusterMembership(nodeID: nodeID, address: config.rpcPublicAddr ?? (wildcard ? nil : rpcBind),
                                               replicationFactor: config.replicationFactor, metadata: metadata,
                                               layoutManager: layout, rpc: rpc, logger: logger)
            membershipBox.withLock { $0 = membership }
            try await membership.load(bootstrapPeers: config.bootstrapPeers)
            let repair = PartitionRepair(membership: membership, metadata: metadata, data: data, rpc: rpc, logger: logger)
            await membership.onPeerCameBack { _ in Task { await repair.trigger() } }
            metadata.onCatalogChange { Task { await membership.pushCatalog() } }
            let resync = DataResync(membership: membership, metadata: metadata, data: data, rpc: rpc, logger: logger)
            cluster = ReplicatedObjects(membership: membership, metadata: metadata, data: data, rpc: rpc,
                                        consistency: config.consistencyMode, resync: resync, logger: logger)
            let rpcApp = Application(router: RPCServer(membership: membership, metadata: metadata, data: data, secret: secret).router(),
                                     configuration: .init(address: .hostname(rpcAddress.host, port: rpcAddress.port), serverName: nil),
                                     logger: logger)
            let interval = Duration.milliseconds(config.antiEntropyIntervalMsec)
            let scrubInterval = Duration.milliseconds(config.scrubIntervalMsec)
            services += [.init(service: rpcApp), .init(service: BackgroundLoop { await membership.run() }),
                         .init(service: BackgroundLoop { await repair.run(interval: interval) }),
                         .init(service: BackgroundLoop { await resync.run() }),
                         .init(service: BackgroundLoop { await resync.scrub(every: scrubInterval) })]
            logger.info("cluster RPC on \(rpcAddress), \(config.bootstrapPeers.count) bootstrap peer(s)")
        } else if config.replicationFactor > 1 {
            logger.warning("replication_factor \(config.replicationFactor) is configured but rpc_bind_addr or rpc_secret is not: this node cannot join a cluster")
        }

        let s3Address = try HostPort(parsing: config.s3BindAddr)
        let s3 = S3API(metadata: metadata, data: data, region: config.s3Region, rootDomain: config.s3RootDomain,
                       maxConcurrentUploads: maxConcurrentUploads, cluster: cluster, logger: logger)
        let s3App = Application(
            responder: s3,
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
            configuration: .init(address: .hostname(s3Address.host, port: s3Address.port), serverName: nil),
            logger: logger)

        let adminAddress = try HostPort(parsing: config.adminBindAddr)
        let router = Router()
        AdminAPI(metadata: metadata, layout: layout, adminToken: config.adminToken, metricsToken: config.metricsToken,
                 metrics: metrics, membership: membershipBox.withLock { $0 }).addRoutes(to: router)
        let adminApp = Application(router: router, configuration: .init(address: .hostname(adminAddress.host, port: adminAddress.port)),
                                   logger: logger)
        logger.info("object store node \(nodeID.prefix(16)) serving S3 on \(s3Address), admin on \(adminAddress)")
        services = [.init(service: s3App), .init(service: adminApp)] + services
        let group = ServiceGroup(configuration: .init(services: services,
                                                      gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                                                      logger: logger))
        try await group.run()
        await rpcClient?.shutdown()
        metadata.close()
        await blobs.shutdown()
    }
}
