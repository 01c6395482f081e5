//! The two databases a hub runs on: SQLite (one file, the embedded default)
//! and PostgreSQL (several nodes on one server). A closed enum rather than a
//! generic parameter, so `Hub` stays one type and the domain keeps passing
//! `&mut w.tx` or `&mut conn` to the store without knowing which it is.
//!
//! A statement is written once and run on whichever connection it is given
//! through [`on!`](crate::on): the macro expands its body once per backend,
//! so sqlx types it for each. Statements that differ between the two (a date
//! function, `PRAGMA`, the head row of the log) `match` on [`Conn`] and keep
//! both versions side by side.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// Which database a hub stores in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections to the hub's database.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// A transaction on the hub's database; rolled back when dropped uncommitted.
#[derive(Debug)]
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
}

/// A connection taken from the pool; back to it when dropped.
#[derive(Debug)]
pub enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Pg(PoolConnection<Postgres>),
}

/// One connection, borrowed: what a statement runs on.
#[derive(Debug)]
pub enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Pg(&'c mut PgConnection),
}

/// Anything a statement can run on: a pooled connection or a transaction.
pub trait Exec: Send {
    fn conn(&mut self) -> Conn<'_>;
}

impl Exec for Tx {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(tx) => Conn::Sqlite(tx),
            Tx::Pg(tx) => Conn::Pg(tx),
        }
    }
}

impl Exec for Pooled {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(c) => Conn::Sqlite(c),
            Pooled::Pg(c) => Conn::Pg(c),
        }
    }
}

impl Exec for Conn<'_> {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Pg(c) => Conn::Pg(c),
        }
    }
}

impl<E: Exec + ?Sized> Exec for &mut E {
    fn conn(&mut self) -> Conn<'_> {
        (**self).conn()
    }
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Pg(_) => Backend::Postgres,
        }
    }

    pub async fn acquire(&self) -> Result<Pooled, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Pooled::Sqlite(p.acquire().await?),
            Db::Pg(p) => Pooled::Pg(p.acquire().await?),
        })
    }

    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Db::Pg(p) => Tx::Pg(p.begin().await?),
        })
    }

    /// A transaction whose reads all see one moment: several statements
    /// that must agree (a snapshot and its `seq`, a replay and what was
    /// pruned). SQLite's transactions do already; PostgreSQL's are read
    /// committed unless told otherwise (each statement its own moment).
    pub async fn begin_snapshot(&self) -> Result<Tx, sqlx::Error> {
        let mut tx = self.begin().await?;
        if let Tx::Pg(pg) = &mut tx {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut **pg)
                .await?;
        }
        Ok(tx)
    }

    /// Whether every connection of the pool is in use at this moment.
    pub fn all_in_use(&self) -> bool {
        match self {
            Db::Sqlite(p) => p.size() > 0 && p.num_idle() == 0,
            Db::Pg(p) => p.size() > 0 && p.num_idle() == 0,
        }
    }

    /// The SQLite pool, when the hub stores in SQLite.
    pub fn sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Db::Sqlite(p) => Some(p),
            Db::Pg(_) => None,
        }
    }

    /// The PostgreSQL pool, when the hub stores in PostgreSQL.
    pub fn pg(&self) -> Option<&PgPool> {
        match self {
            Db::Sqlite(_) => None,
            Db::Pg(p) => Some(p),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Pg(p) => p.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Pg(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Pg(tx) => tx.rollback().await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Pg(_) => Backend::Postgres,
        }
    }
}

/// Runs `body` with `$x` bound to the connection of `$c` (anything
/// [`Exec`]), once written and compiled for each backend.
#[macro_export]
macro_rules! on {
    ($c:expr, |$x:ident| $body:expr) => {
        match {
            #[allow(unused_imports)]
            use $crate::Exec as _;
            $c.conn()
        } {
            $crate::Conn::Sqlite($x) => $body,
            $crate::Conn::Pg($x) => $body,
        }
    };
}

/// Runs `body` with `$x` bound to the pool of `$db` (a [`Db`]), once
/// written and compiled for each backend.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, |$x:ident| $body:expr) => {
        match &$db {
            $crate::Db::Sqlite($x) => $body,
            $crate::Db::Pg($x) => $body,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One statement through `on!` runs on a pooled connection and inside a
    /// transaction, and what the transaction wrote is read once committed.
    #[tokio::test]
    async fn one_statement_runs_on_a_connection_and_in_a_transaction() {
        // One connection: SQLite's memory database lives per connection.
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let db = Db::Sqlite(pool);
        let mut conn = db.acquire().await.unwrap();
        on!(conn, |c| sqlx::query("CREATE TABLE t (v BIGINT)")
            .execute(c)
            .await
            .map(|_| ()))
        .unwrap();
        drop(conn);
        let mut tx = db.begin().await.unwrap();
        on!(tx, |c| sqlx::query("INSERT INTO t (v) VALUES ($1)")
            .bind(7_i64)
            .execute(c)
            .await
            .map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        let v: i64 = on_pool!(&db, |p| sqlx::query_scalar("SELECT v FROM t")
            .fetch_one(p)
            .await)
        .unwrap();
        assert_eq!(v, 7);
        assert_eq!(db.backend(), Backend::Sqlite);
    }
}
