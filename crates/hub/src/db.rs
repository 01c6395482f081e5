//! The SQLite database: opening it (WAL, migrations) and the demo café.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// The database file inside the data folder.
pub const DB_FILE: &str = "hub.db";

/// Opens `hub.db` in `data_dir`, creating it, in WAL mode, with migrations run.
pub async fn open(data_dir: &Path) -> anyhow::Result<SqlitePool> {
    use anyhow::Context;
    let path = data_dir.join(DB_FILE);
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // WAL with NORMAL survives a killed process; only a power cut can
        // lose the newest commits.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .with_context(|| format!("opening the database {}", path.display()))?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .context("migrating the database")?;
    Ok(pool)
}

/// Settings every hub has; a missing one is written on start.
pub const DEFAULT_SETTINGS: [(&str, &str); 7] = [
    ("is_kiosk_active", "true"),
    ("currency", "KRW"),
    ("cafe_name", "Countertop Café"),
    ("timer_amber_minutes", "5"),
    ("timer_red_minutes", "10"),
    ("offline_ordering", "false"),
    ("language", "en"),
];

pub async fn seed_settings(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    for (key, value) in DEFAULT_SETTINGS {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// The demo café: a dozen items in three categories and three cells. Only
/// seeded into a database that has no menu and no cells yet.
pub async fn seed_demo(pool: &SqlitePool, _now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    seed_settings(pool).await?;
    let items: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM menu_items")
        .fetch_one(pool)
        .await?;
    let cells: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cells")
        .fetch_one(pool)
        .await?;
    let seeded: Option<String> =
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'demo_seeded'")
            .fetch_optional(pool)
            .await?;
    if items > 0 || cells > 0 || seeded.is_some() {
        return Ok(());
    }
    const MENU: [(&str, &str, &str, i64, Option<i64>); 12] = [
        ("americano", "Americano", "Coffee", 4000, None),
        ("latte", "Café Latte", "Coffee", 4500, None),
        ("cappuccino", "Cappuccino", "Coffee", 4500, None),
        ("vanilla-latte", "Vanilla Latte", "Coffee", 5000, None),
        ("flat-white", "Flat White", "Coffee", 5000, None),
        ("espresso", "Espresso", "Coffee", 3500, None),
        ("green-tea", "Green Tea", "Tea", 4000, None),
        ("earl-grey", "Earl Grey", "Tea", 4000, None),
        ("chamomile", "Chamomile", "Tea", 4000, None),
        ("croissant", "Butter Croissant", "Bakery", 3500, Some(20)),
        (
            "blueberry-muffin",
            "Blueberry Muffin",
            "Bakery",
            3800,
            Some(12),
        ),
        ("cheesecake", "Cheesecake", "Bakery", 6000, Some(8)),
    ];
    let mut tx = pool.begin().await?;
    for (position, (id, name, category, price, stock)) in MENU.iter().enumerate() {
        sqlx::query(
            "INSERT INTO menu_items (id, name, category, price, is_sold_out, stock, position)
             VALUES (?, ?, ?, ?, 0, ?, ?)",
        )
        .bind(id)
        .bind(name)
        .bind(category)
        .bind(price)
        .bind(stock)
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
    }
    const CELLS: [(&str, &str, i64); 3] = [
        ("cell-design", "Design Team", 50_000),
        ("cell-engineering", "Engineering", 120_000),
        ("cell-front-desk", "Front Desk", 8_000),
    ];
    for (position, (id, name, balance)) in CELLS.iter().enumerate() {
        sqlx::query("INSERT INTO cells (id, name, balance, position) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(name)
            .bind(balance)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("INSERT INTO meta (key, value) VALUES ('demo_seeded', 'true')")
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
