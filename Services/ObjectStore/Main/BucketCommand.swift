import ArgumentParser
import ObjectStore

/// `object-store bucket …`, with Garage's arguments and messages.
struct BucketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bucket", abstract: "Bucket operations.",
        subcommands: [Create.self, Delete.self, List.self, Info.self, Allow.self, Deny.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a bucket.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            _ = try await global.client().call("POST", "/v1/bucket", body: AdminModels.CreateBucketRequest(globalAlias: name),
                                               as: AdminModels.BucketInfo.self)
            print("Bucket \(name) was created.")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an empty bucket.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Confirm the deletion.") var yes = false
        @Argument var name: String

        func run() async throws {
            let client = try global.client()
            let bucket = try await client.bucket(name)
            guard yes else {
                print("About to delete bucket \(bucket.id). Add --yes to confirm.")
                throw ExitCode(1)
            }
            _ = try await client.call("DELETE", "/v1/bucket", query: ["id": bucket.id], as: [String: String].self)
            print("Bucket \(name) was deleted.")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List buckets.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let buckets = try await global.client().call("GET", "/v1/bucket", as: [AdminModels.BucketListItem].self)
            print("List of buckets:")
            for bucket in buckets { print("  \(bucket.globalAliases.joined(separator: ","))\t\(bucket.id)") }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a bucket's details and the keys allowed on it.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let bucket = try await global.client().bucket(name)
            print("Bucket: \(bucket.id)")
            print("")
            print("Size: \(bucket.bytes) B")
            print("Objects: \(bucket.objects)")
            print("Unfinished multipart uploads: \(bucket.unfinishedUploads)")
            print("")
            print("Global alias: \(bucket.globalAliases.joined(separator: ", "))")
            print("")
            print("Authorized keys:")
            for key in bucket.keys {
                let flags = (key.permissions.read == true ? "R" : " ") + (key.permissions.write == true ? "W" : " ") + (key.permissions.owner == true ? "O" : " ")
                print("  \(flags)  \(key.accessKeyId)  \(key.name)")
            }
        }
    }

    struct PermissionFlags: ParsableArguments {
        @Flag(help: "Read permission.") var read = false
        @Flag(help: "Write permission.") var write = false
        @Flag(help: "Owner permission (delete the bucket).") var owner = false
        @Option(help: "Access key id, id prefix or name.") var key: String

        var permissions: AdminModels.Permissions { .init(read: read, write: write, owner: owner) }

        func validate() throws {
            guard read || write || owner else { throw ValidationError("Give at least one of --read, --write, --owner") }
        }
    }

    static func change(_ global: GlobalOptions, bucket name: String, flags: PermissionFlags, allow: Bool) async throws {
        let client = try global.client()
        let bucket = try await client.bucket(name)
        let key = try await client.key(flags.key)
        let info = try await client.call("POST", allow ? "/v1/bucket/allow" : "/v1/bucket/deny",
                                         body: AdminModels.BucketKeyPermissionRequest(bucketId: bucket.id, accessKeyId: key.accessKeyId, permissions: flags.permissions),
                                         as: AdminModels.BucketInfo.self)
        let now = info.keys.first { $0.accessKeyId == key.accessKeyId }?.permissions ?? .init(read: false, write: false, owner: false)
        print("New permissions for \(key.accessKeyId) on \(name): read \(now.read ?? false), write \(now.write ?? false), owner \(now.owner ?? false).")
    }

    struct Allow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Allow a key to read, write or own a bucket.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var flags: PermissionFlags
        @Argument var bucket: String

        func run() async throws { try await BucketCommand.change(global, bucket: bucket, flags: flags, allow: true) }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take permissions on a bucket away from a key.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var flags: PermissionFlags
        @Argument var bucket: String

        func run() async throws { try await BucketCommand.change(global, bucket: bucket, flags: flags, allow: false) }
    }
}
