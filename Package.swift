// swift-tools-version:6.1
import PackageDescription

// Vigil: one library target per service (its logic, tested) plus a thin executable,
// and the small shared modules under Shared/. See ARCHITECTURE.md for the layout.
let package = Package(
    name: "vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "collector", targets: ["CollectorMain"]),
        .executable(name: "collector-bench", targets: ["CollectorThroughput"]),
        .executable(name: "metrics-store", targets: ["MetricsStoreMain"]),
        .executable(name: "metrics-store-bench", targets: ["RemoteWriteIngest"]),
        .executable(name: "metrics-store-promql-bench", targets: ["PromQLQueries"]),
        .executable(name: "object-store", targets: ["ObjectStoreMain"]),
        .executable(name: "object-store-bench", targets: ["ObjectStoreThroughput"]),
        .executable(name: "object-store-cluster-bench", targets: ["ObjectStoreClusterBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // MARK: Shared

        // Google's snappy (Debian's libsnappy-dev) compresses; decoding is Swift's own.
        .systemLibrary(name: "CSnappy", path: "Shared/CSnappy"),
        .target(
            name: "Snappy",
            dependencies: ["CSnappy"],
            path: "Shared/Snappy"
        ),
        .target(
            name: "S3",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/S3"
        ),
        .target(
            name: "OTLP",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            path: "Shared/OTLP"
        ),
        .target(
            name: "PrometheusRemoteWrite",
            dependencies: [
                "OTLP", "Snappy",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Shared/PrometheusRemoteWrite"
        ),
        .target(
            name: "VigilService",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Shared/Service"
        ),

        // MARK: Collector

        .target(
            name: "Collector",
            dependencies: [
                "OTLP", "PrometheusRemoteWrite", "Snappy", "VigilService",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Services/Collector/Sources"
        ),
        .executableTarget(
            name: "CollectorMain",
            dependencies: [
                "Collector",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Collector/Main"
        ),
        .executableTarget(
            name: "CollectorThroughput",
            dependencies: [
                "OTLP", "VigilService",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/CollectorThroughput"
        ),

        // MARK: Metrics store

        .target(
            name: "MetricsStore",
            dependencies: [
                "OTLP", "PrometheusRemoteWrite", "Snappy", "VigilService",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/MetricsStore/Sources"
        ),
        .executableTarget(
            name: "MetricsStoreMain",
            dependencies: [
                "MetricsStore", "VigilService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/MetricsStore/Main"
        ),

        .executableTarget(
            name: "RemoteWriteIngest",
            dependencies: [
                "PrometheusRemoteWrite", "Snappy", "VigilService", "VigilTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/RemoteWriteIngest"
        ),

        .executableTarget(
            name: "PromQLQueries",
            dependencies: [
                "MetricsStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/PromQLQueries"
        ),

        // MARK: Object store

        // System SQLite and zlib (Debian's libsqlite3-dev, zlib1g-dev) for metadata and CRC-32.
        .systemLibrary(name: "CObjectStoreSQLite", path: "Services/ObjectStore/CObjectStoreSQLite"),
        .systemLibrary(name: "CObjectStoreZlib", path: "Services/ObjectStore/CZlib"),
        .target(name: "CMultiBufferMD5", path: "Services/ObjectStore/CMultiBufferMD5"),
        .target(name: "CFastCRC32", dependencies: ["CObjectStoreZlib"], path: "Services/ObjectStore/CFastCRC32"),
        .target(
            name: "ObjectStore",
            dependencies: [
                "VigilService", "S3", "CObjectStoreSQLite", "CObjectStoreZlib", "CMultiBufferMD5", "CFastCRC32",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/ObjectStore/Sources"
        ),
        .executableTarget(
            name: "ObjectStoreMain",
            dependencies: [
                "ObjectStore", "VigilService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/ObjectStore/Main"
        ),
        .target(
            name: "ObjectStoreBenchSupport",
            dependencies: [
                "ObjectStore", "S3",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Benchmarks/ObjectStoreBenchSupport"
        ),
        .executableTarget(
            name: "ObjectStoreThroughput",
            dependencies: [
                "ObjectStore",
                "ObjectStoreBenchSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ObjectStoreThroughput"
        ),
        .executableTarget(
            name: "ObjectStoreClusterBench",
            dependencies: [
                "ObjectStore",
                "ObjectStoreBenchSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ObjectStoreCluster"
        ),

        // MARK: Tests

        // Seeded random numbers and free ports for tests and benchmark workloads.
        .target(
            name: "VigilTestSupport",
            path: "Tests/Support"
        ),

        .testTarget(
            name: "SharedTests",
            dependencies: ["OTLP", "PrometheusRemoteWrite", "Snappy", "VigilService", "VigilTestSupport"],
            path: "Tests/SharedTests"
        ),
        .testTarget(
            name: "CollectorTests",
            dependencies: [
                "Collector", "OTLP", "PrometheusRemoteWrite",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/CollectorTests"
        ),
        .testTarget(
            name: "MetricsStoreTests",
            dependencies: [
                "MetricsStore", "PrometheusRemoteWrite", "Snappy", "VigilTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/MetricsStoreTests"
        ),
        .testTarget(
            name: "ObjectStoreTests",
            dependencies: [
                "ObjectStore", "S3", "CMultiBufferMD5", "CObjectStoreZlib", "VigilTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ObjectStoreTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
