//! Which database the suite's hubs store in. By default each test hub keeps
//! a SQLite file in its data folder; with `COUNTERTOP_TEST_BACKEND=postgres`
//! every one gets a fresh PostgreSQL database of its own on the server at
//! `COUNTERTOP_TEST_POSTGRES` (a URL where the tests may create databases),
//! so the same tests and assertions run on both.
//!
//! A data folder's database is created on first use and its URL written in
//! the folder (`TEST_DATABASE_FILE`), so a hub restarted on the folder finds
//! the same café. Creating one takes about 20 ms; the hub migrates it as it
//! opens (about 50 ms), so no template database is kept.

use std::path::Path;
use std::sync::Once;

use countertop_hub::HubConfig;

/// The file in a test hub's data folder that names its PostgreSQL database.
pub const TEST_DATABASE_FILE: &str = "test-database.url";

/// Databases the suite creates are named `PREFIX<pid>_<random>`: a later run
/// drops those whose test process has ended.
const PREFIX: &str = "countertop_test_";

/// True when the suite runs on PostgreSQL (`COUNTERTOP_TEST_BACKEND=postgres`).
pub fn on_postgres() -> bool {
    match std::env::var("COUNTERTOP_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("COUNTERTOP_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// For a test that only makes sense on SQLite (it opens hub.db, checks the
/// file's mode, damages it, backs it up or restores it, reads SQLite's own
/// tables): true on PostgreSQL, after saying why the test returns early.
pub fn sqlite_only(why: &str) -> bool {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL, SQLite only: {why}");
        true
    } else {
        false
    }
}

/// The config of a test hub on `dir`: backups off (they have tests of their
/// own) and, on PostgreSQL, the folder's own database.
pub fn config(dir: &Path) -> HubConfig {
    let mut config = HubConfig::new(dir);
    config.backup.enabled = false;
    config.database = database(dir);
    config
}

/// The PostgreSQL database of data folder `dir`, created on first use and
/// remembered in the folder; `None` on SQLite.
pub fn database(dir: &Path) -> Option<String> {
    if !on_postgres() {
        return None;
    }
    let remembered = dir.join(TEST_DATABASE_FILE);
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return Some(url.trim().to_owned());
    }
    let url = fresh_database();
    std::fs::create_dir_all(dir).expect("the data folder");
    std::fs::write(&remembered, &url).expect("the test database's URL written in the folder");
    Some(url)
}

/// The database of data folder `dir` opened as the hub opens it, for a
/// test that changes what is stored while no hub runs (as an older hub
/// left it). Close it before a hub starts on the folder.
pub async fn open_store(dir: &Path) -> countertop_hub::Db {
    match database(dir) {
        Some(url) => countertop_hub::Db::Pg(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .expect("the test database opens"),
        ),
        None => {
            countertop_hub::check_folder(dir).unwrap();
            countertop_hub::open_database(dir).await.unwrap()
        }
    }
}

/// The environment a `countertop-hub` child process on `dir` needs to store
/// where the suite's hubs do (`COUNTERTOP_DATABASE` on PostgreSQL).
pub fn hub_env(dir: &Path) -> Vec<(&'static str, String)> {
    database(dir)
        .map(|url| vec![("COUNTERTOP_DATABASE", url)])
        .unwrap_or_default()
}

/// SQL for the text at `path` (`"orderId"`, `"updatedBy.id"`) in the JSON
/// column `column`, as each backend writes it. Always text: on PostgreSQL
/// `->>` answers text, so a number is compared as `'5'` on both.
pub fn json_text(column: &str, path: &str) -> String {
    if on_postgres() {
        let keys: Vec<String> = path.split('.').map(|k| format!("'{k}'")).collect();
        format!("({column}::jsonb #>> ARRAY[{}])", keys.join(", "))
    } else {
        format!("CAST(json_extract({column}, '$.{path}') AS TEXT)")
    }
}

/// The server the suite may create databases on.
fn server_url() -> reqwest::Url {
    let url = std::env::var("COUNTERTOP_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "COUNTERTOP_TEST_BACKEND=postgres needs COUNTERTOP_TEST_POSTGRES, the URL of a \
             PostgreSQL server where the tests may create databases \
             (e.g. postgres://countertop@127.0.0.1:55432/postgres; ./dev.sh test starts one)"
        )
    });
    reqwest::Url::parse(&url)
        .unwrap_or_else(|e| panic!("COUNTERTOP_TEST_POSTGRES is not a URL ({e})"))
}

/// `CREATE DATABASE` of a fresh name on `COUNTERTOP_TEST_POSTGRES`; its
/// URL. Dropped by a later run once this test process has ended. Runs on a
/// thread of its own with its own runtime: callers may be sync (a child
/// process's environment) or inside any test's runtime, and a connection
/// must not outlive the runtime it was made on.
pub fn fresh_database() -> String {
    let server = server_url();
    let name = format!(
        "{PREFIX}{}_{}",
        std::process::id(),
        countertop_hub::random_id(10)
    );
    let admin = server.to_string();
    let create = name.clone();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("connecting to COUNTERTOP_TEST_POSTGRES: {e}"));
                static STALE: Once = Once::new();
                let mut first = false;
                STALE.call_once(|| first = true);
                if first {
                    drop_stale(&mut conn).await;
                }
                sqlx::query(&format!("CREATE DATABASE \"{create}\""))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {create}: {e}"));
                conn.close().await.ok();
            })
    })
    .join()
    .expect("the test database is created");
    let mut url = server;
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Drops the databases earlier runs left behind: those whose test process
/// (the pid in the name) is gone from this machine. `DROP DATABASE` without
/// FORCE refuses one still in use, so a live hub's is never touched.
async fn drop_stale(conn: &mut sqlx::PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(PREFIX)
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name[PREFIX.len()..].split('_').next().unwrap_or("");
        let alive = pid.parse::<u32>().is_ok_and(|pid| {
            pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
        });
        if !alive {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .execute(&mut *conn)
                .await;
        }
    }
}
