/// The metadata tables (see Services/ObjectStore/FORMAT.md). `migrate` creates them on first start and
/// brings an older database up to date; `user_version` records the schema version.
///
/// Version 2 added what cluster mode needs: a version on every replicated row (objects,
/// keys, buckets, grants) and tombstone tables for deleted objects and catalog rows.
/// Version 3 added `ended_uploads`: multipart uploads completed or aborted, so that a
/// replica that missed the end neither keeps nor brings back the upload.
enum MetadataSchema {
    static let version = 3

    static func migrate(_ db: SQLiteConnection) throws {
        let current = try db.query("PRAGMA user_version").first?[0].int ?? 0
        if current < 1 { try createVersion1(db) }
        if current < 2 { try upgradeToVersion2(db) }
        if current < 3 { try upgradeToVersion3(db) }
    }

    static func upgradeToVersion3(_ db: SQLiteConnection) throws {
        try db.execute("""
            BEGIN;
            CREATE TABLE IF NOT EXISTS ended_uploads(
                id TEXT PRIMARY KEY, bucket TEXT NOT NULL, ended INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS ended_uploads_by_time ON ended_uploads(ended);
            PRAGMA user_version = 3;
            COMMIT;
            """)
    }

    static func upgradeToVersion2(_ db: SQLiteConnection) throws {
        try db.execute("""
            BEGIN;
            ALTER TABLE objects ADD COLUMN version TEXT NOT NULL DEFAULT '';
            ALTER TABLE keys ADD COLUMN version TEXT NOT NULL DEFAULT '';
            ALTER TABLE buckets ADD COLUMN version TEXT NOT NULL DEFAULT '';
            ALTER TABLE grants ADD COLUMN version TEXT NOT NULL DEFAULT '';
            CREATE TABLE IF NOT EXISTS object_tombstones(
                bucket TEXT NOT NULL, key TEXT NOT NULL, version TEXT NOT NULL,
                PRIMARY KEY(bucket, key)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS catalog_tombstones(
                kind TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
                PRIMARY KEY(kind, name)) WITHOUT ROWID;
            PRAGMA user_version = 2;
            COMMIT;
            """)
    }

    static func createVersion1(_ db: SQLiteConnection) throws {
        try db.execute("""
            CREATE TABLE IF NOT EXISTS keys(
                id TEXT PRIMARY KEY, secret TEXT NOT NULL, name TEXT NOT NULL,
                create_bucket INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS buckets(
                name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS grants(
                bucket TEXT NOT NULL REFERENCES buckets(name) ON DELETE CASCADE,
                key_id TEXT NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
                read INTEGER NOT NULL, write INTEGER NOT NULL, owner INTEGER NOT NULL,
                PRIMARY KEY(bucket, key_id));
            CREATE TABLE IF NOT EXISTS objects(
                bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
                last_modified INTEGER NOT NULL, headers TEXT NOT NULL, checksum TEXT,
                inline BLOB, inline_crc INTEGER, segments TEXT, part_sizes TEXT,
                PRIMARY KEY(bucket, key)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS uploads(
                id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, initiated INTEGER NOT NULL,
                headers TEXT NOT NULL, checksum_algorithm TEXT);
            CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads(bucket, key, initiated);
            CREATE TABLE IF NOT EXISTS parts(
                upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE, number INTEGER NOT NULL,
                size INTEGER NOT NULL, etag TEXT NOT NULL, last_modified INTEGER NOT NULL,
                segment TEXT NOT NULL, checksum TEXT, PRIMARY KEY(upload_id, number)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY, value TEXT NOT NULL);
            PRAGMA user_version = 1;
            """)
    }
}
