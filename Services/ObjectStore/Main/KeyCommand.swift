import ArgumentParser
import ObjectStore

/// `object-store key …`, printing what Garage prints (scripts grep "Key ID:" and "Secret key:").
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Access key operations.",
        subcommands: [Create.self, List.self, Info.self, Allow.self, Deny.self, Delete.self, Import.self])

    static func printKey(_ key: AdminModels.KeyInfo) {
        print("Key name: \(key.name)")
        print("Key ID: \(key.accessKeyId)")
        print("Secret key: \(key.secretAccessKey ?? "(redacted)")")
        print("Can create buckets: \(key.permissions.createBucket ?? false)")
        print("")
        print("Key-specific bucket aliases:")
        print("")
        print("Authorized buckets:")
        for bucket in key.buckets {
            let flags = (bucket.permissions.read == true ? "R" : " ") + (bucket.permissions.write == true ? "W" : " ") + (bucket.permissions.owner == true ? "O" : " ")
            print("  \(flags)  \(bucket.globalAliases.joined(separator: ","))")
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an access key.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String = "Unnamed key"

        func run() async throws {
            let key = try await global.client().call("POST", "/v1/key", body: AdminModels.CreateKeyRequest(name: name), as: AdminModels.KeyInfo.self)
            KeyCommand.printKey(key)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import an access key with a known id and secret.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .customLong("name")]) var name: String = "Imported key"
        @Flag(help: "Confirm (accepted for compatibility with Garage).") var yes = false
        @Argument var keyID: String
        @Argument var secret: String

        func run() async throws {
            let key = try await global.client().call("POST", "/v1/key/import",
                                                     body: AdminModels.ImportKeyRequest(accessKeyId: keyID, secretAccessKey: secret, name: name),
                                                     as: AdminModels.KeyInfo.self)
            KeyCommand.printKey(key)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List access keys.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let keys = try await global.client().call("GET", "/v1/key", as: [AdminModels.KeyListItem].self)
            print("List of keys:")
            for key in keys { print("  \(key.id)\t\(key.name)") }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an access key.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .customLong("show-secret")) var showSecret = false
        @Argument var key: String

        func run() async throws { KeyCommand.printKey(try await global.client().key(key, showSecret: showSecret)) }
    }

    struct Allow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Allow a key to create buckets.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .customLong("create-bucket")) var createBucket = false
        @Argument var key: String

        func validate() throws { guard createBucket else { throw ValidationError("Nothing to allow: give --create-bucket") } }

        func run() async throws {
            let client = try global.client()
            let info = try await client.key(key)
            KeyCommand.printKey(try await client.call("POST", "/v1/key", query: ["id": info.accessKeyId],
                                                      body: AdminModels.UpdateKeyRequest(allow: .init(createBucket: true)), as: AdminModels.KeyInfo.self))
        }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a key from creating buckets.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .customLong("create-bucket")) var createBucket = false
        @Argument var key: String

        func validate() throws { guard createBucket else { throw ValidationError("Nothing to deny: give --create-bucket") } }

        func run() async throws {
            let client = try global.client()
            let info = try await client.key(key)
            KeyCommand.printKey(try await client.call("POST", "/v1/key", query: ["id": info.accessKeyId],
                                                      body: AdminModels.UpdateKeyRequest(deny: .init(createBucket: true)), as: AdminModels.KeyInfo.self))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an access key.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Confirm the deletion.") var yes = false
        @Argument var key: String

        func run() async throws {
            let client = try global.client()
            let info = try await client.key(key)
            guard yes else {
                print("About to delete key \(info.accessKeyId). Add --yes to confirm.")
                throw ExitCode(1)
            }
            _ = try await client.call("DELETE", "/v1/key", query: ["id": info.accessKeyId], as: [String: String].self)
            print("Access key \(info.accessKeyId) has been deleted.")
        }
    }
}
