// The system SQLite (Debian's libsqlite3-dev), used by the object store's metadata store.
#include <sqlite3.h>
