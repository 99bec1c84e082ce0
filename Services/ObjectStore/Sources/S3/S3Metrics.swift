import Metrics

/// The S3 operation a request asks for, by S3's own operation names; used to label the
/// request metrics (the same names Garage uses for its `api_endpoint` label).
enum S3Operation {
    static func name(of request: S3Request) -> String {
        guard request.bucket != nil else { return "ListBuckets" }
        guard request.key != nil else {
            switch request.method {
            case "PUT": return "CreateBucket"
            case "DELETE": return "DeleteBucket"
            case "HEAD": return "HeadBucket"
            case "POST": return request.has("delete") ? "DeleteObjects" : "PostObject"
            default:
                if request.has("location") { return "GetBucketLocation" }
                if request.has("uploads") { return "ListMultipartUploads" }
                return request.query("list-type") == "2" ? "ListObjectsV2" : "ListObjects"
            }
        }
        let copy = request.headers["x-amz-copy-source"] != nil
        switch request.method {
        case "GET": return request.has("uploadId") ? "ListParts" : "GetObject"
        case "HEAD": return "HeadObject"
        case "PUT":
            if request.has("partNumber") { return copy ? "UploadPartCopy" : "UploadPart" }
            return copy ? "CopyObject" : "PutObject"
        case "DELETE": return request.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject"
        case "POST": return request.has("uploads") ? "CreateMultipartUpload" : "CompleteMultipartUpload"
        default: return "Unknown"
        }
    }
}

/// Request counters and durations of the S3 API, exported on the admin port's /metrics
/// with Garage's metric names.
struct S3Metrics: Sendable {
    func record(operation: String, status: Int, seconds: Double) {
        Counter(label: "api_s3_request_counter", dimensions: [("api_endpoint", operation)]).increment()
        if status >= 400 {
            Counter(label: "api_s3_error_counter", dimensions: [("api_endpoint", operation), ("status_code", String(status))]).increment()
        }
        Metrics.Timer(label: "api_s3_request_duration", dimensions: [("api_endpoint", operation)])
            .recordNanoseconds(Int64(seconds * 1e9))
    }
}
