/// What the storage layer refuses, in domain terms. The S3 and admin layers map these to
/// their own error codes and statuses (see `S3Error.init(_:)`).
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case noSuchBucket(String)
    case bucketAlreadyExists(String)
    case bucketAlreadyOwnedByYou(String)
    case bucketNotEmpty(String)
    case invalidBucketName(String)
    case noSuchKey(bucket: String, key: String)
    case noSuchUpload(String)
    case invalidPart(Int, String)
    case invalidPartOrder
    case entityTooSmall(part: Int, size: Int64)
    case noSuchAccessKey(String)
    case ambiguousAccessKey(String)
    case corruptData(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .noSuchBucket(let name): "The specified bucket \(name) does not exist"
        case .bucketAlreadyExists(let name): "The requested bucket name \(name) is not available"
        case .bucketAlreadyOwnedByYou(let name): "Your previous request to create the named bucket \(name) succeeded and you already own it"
        case .bucketNotEmpty(let name): "The bucket \(name) you tried to delete is not empty"
        case .invalidBucketName(let name): "The specified bucket name \(name) is not valid"
        case .noSuchKey(_, let key): "The specified key \(key) does not exist"
        case .noSuchUpload(let id): "The specified multipart upload \(id) does not exist"
        case .invalidPart(let number, let why): "Part \(number): \(why)"
        case .invalidPartOrder: "The list of parts was not in ascending order; parts must be ordered by part number"
        case .entityTooSmall(let part, let size): "Part \(part) is \(size) bytes; every part but the last must be at least 5 MiB"
        case .noSuchAccessKey(let id): "No access key matches \(id)"
        case .ambiguousAccessKey(let pattern): "More than one access key matches \(pattern); give the full id"
        case .corruptData(let what): "Stored data failed its checksum: \(what)"
        case .invalidArgument(let what): what
        }
    }
}
