//! `countertop-hub`: reads its configuration, sets up tracing and binds; the
//! server itself is `countertop_hub::serve`.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use countertop_hub::{Hub, HubConfig};
use countertop_protocol::Role;

#[derive(Parser)]
#[command(name = "countertop-hub", version, about = "The Countertop hub server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, env = "COUNTERTOP_LISTEN", default_value = "127.0.0.1:3001")]
        listen: SocketAddr,
        /// Also serve HTTPS and WSS here, with the hub's own certificate
        /// (`countertop-hub fingerprint` prints what devices pin).
        #[arg(long, env = "COUNTERTOP_TLS_LISTEN")]
        tls_listen: Option<SocketAddr>,
        /// Data folder: database and signing secret.
        #[arg(long, env = "COUNTERTOP_DATA")]
        data: Option<PathBuf>,
        /// Store in this PostgreSQL database instead of the data folder's
        /// SQLite file (postgres://user:password@host:5432/database): any
        /// number of nodes on one database serve one café (docs/deploy.md).
        #[arg(long, env = "COUNTERTOP_DATABASE", hide_env_values = true)]
        database: Option<String>,
        /// Another browser origin allowed to open /ws (repeatable).
        #[arg(
            long = "allow-origin",
            env = "COUNTERTOP_ALLOW_ORIGINS",
            value_delimiter = ','
        )]
        allow_origin: Vec<String>,
        /// Start an empty hub instead of the demo café.
        #[arg(long)]
        no_demo: bool,
        /// Open connections one address may hold (WebSockets and streams included).
        #[arg(
            long,
            env = "COUNTERTOP_MAX_CONNECTIONS_PER_ADDRESS",
            default_value_t = 256
        )]
        max_connections_per_address: usize,
        /// A second folder every backup is copied to (a USB stick, a
        /// network share), beside `backups/` in the data folder.
        #[arg(long, env = "COUNTERTOP_BACKUP_COPY")]
        backup_copy: Option<PathBuf>,
        /// Take tokens and pairing codes over plain HTTP from other computers
        /// too. Anyone on the network can read them then: only for old
        /// clients that cannot do TLS, on a network the café trusts.
        #[arg(long, env = "COUNTERTOP_INSECURE_LAN_TOKENS")]
        insecure_lan_tokens: bool,
        /// Do not announce the hub on the LAN over mDNS (DNS-SD). A hub that
        /// listens on loopback only never announces.
        #[arg(long, env = "COUNTERTOP_NO_ANNOUNCE")]
        no_announce: bool,
        /// This node's name: the `node` label of /metrics and `node` in
        /// /healthz (letters, digits, '.', '_', '-'; at most 63). Default:
        /// the host name.
        #[arg(long, env = "COUNTERTOP_NODE_NAME", value_parser = countertop_hub::check_node_name)]
        node_name: Option<String>,
        /// An address of this café's hub nodes as devices reach them
        /// (repeatable, at most 16; http:// or https://, scheme://host:port):
        /// pairing tells devices every one, and a device moves to the next
        /// when its node is unreachable. Name every node, this one included.
        #[arg(
            long = "public-url",
            env = "COUNTERTOP_PUBLIC_URLS",
            value_delimiter = ',',
            value_parser = parse_public_url
        )]
        public_url: Vec<String>,
    },
    /// Copy the database into FILE, consistent as of one moment (works
    /// while the hub runs).
    Backup {
        #[arg(long)]
        to: PathBuf,
        #[arg(long, env = "COUNTERTOP_DATA")]
        data: Option<PathBuf>,
    },
    /// Put a backup in place of the database. Stop the hub first; the
    /// current database is moved aside, never overwritten.
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(long, env = "COUNTERTOP_DATA")]
        data: Option<PathBuf>,
    },
    /// Print the SHA-256 fingerprint of the hub's TLS public key (its
    /// SubjectPublicKeyInfo), lowercase hex, making the key and certificate
    /// if there are none yet.
    Fingerprint {
        #[arg(long, env = "COUNTERTOP_DATA")]
        data: Option<PathBuf>,
    },
    /// Print a pairing code as one JSON line (works while the hub runs).
    PairingCode {
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, env = "COUNTERTOP_DATA")]
        data: Option<PathBuf>,
        /// Store in this PostgreSQL database instead of the data folder's
        /// SQLite file (postgres://user:password@host:5432/database): any
        /// number of nodes on one database serve one café (docs/deploy.md).
        #[arg(long, env = "COUNTERTOP_DATABASE", hide_env_values = true)]
        database: Option<String>,
    },
    /// Make a new signing secret (after secret.key was lost or exposed):
    /// every device's token stops working and every device must pair again.
    /// Stop the hub first.
    NewSecret {
        #[arg(long, env = "COUNTERTOP_DATA")]
        data: Option<PathBuf>,
        /// Store in this PostgreSQL database instead of the data folder's
        /// SQLite file (postgres://user:password@host:5432/database): any
        /// number of nodes on one database serve one café (docs/deploy.md).
        #[arg(long, env = "COUNTERTOP_DATABASE", hide_env_values = true)]
        database: Option<String>,
    },
    /// Name a new epoch and keep the events: after the database was restored
    /// from a dump (pg_restore). Stop every node first: every device will
    /// reload its state.
    RenewEpoch {
        #[arg(long, env = "COUNTERTOP_DATA")]
        data: Option<PathBuf>,
        /// Store in this PostgreSQL database instead of the data folder's
        /// SQLite file (postgres://user:password@host:5432/database): any
        /// number of nodes on one database serve one café (docs/deploy.md).
        #[arg(long, env = "COUNTERTOP_DATABASE", hide_env_values = true)]
        database: Option<String>,
    },
    /// Delete the event log and start a new epoch. Stop the hub first:
    /// every device will reload its state.
    WipeEvents {
        #[arg(long, env = "COUNTERTOP_DATA")]
        data: Option<PathBuf>,
        /// Store in this PostgreSQL database instead of the data folder's
        /// SQLite file (postgres://user:password@host:5432/database): any
        /// number of nodes on one database serve one café (docs/deploy.md).
        #[arg(long, env = "COUNTERTOP_DATABASE", hide_env_values = true)]
        database: Option<String>,
    },
}

/// At most this many `--public-url`s (the list every pairing answer carries).
const MAX_PUBLIC_URLS: usize = 16;
/// The longest `--public-url`.
const MAX_PUBLIC_URL_CHARS: usize = 200;

/// A hub node's address as devices reach it: `http://` or `https://`, a
/// host and maybe a port, nothing else; given back without a final `/`.
fn parse_public_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.len() > MAX_PUBLIC_URL_CHARS {
        return Err(format!(
            "a public URL has at most {MAX_PUBLIC_URL_CHARS} characters"
        ));
    }
    let shape = || format!("expected http://HOST[:PORT] or https://HOST[:PORT], got {text:?}");
    // `Uri` drops a fragment without a word: refuse it first.
    if text.contains('#') {
        return Err(shape());
    }
    let uri: axum::http::Uri = text.parse().map_err(|_| shape())?;
    let scheme = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") => "http",
        Some(s) if s.eq_ignore_ascii_case("https") => "https",
        _ => return Err(shape()),
    };
    let authority = uri.authority().ok_or_else(shape)?;
    let rest_is_empty = matches!(uri.path(), "" | "/") && uri.query().is_none();
    if authority.as_str().contains('@') || authority.host().is_empty() || !rest_is_empty {
        return Err(shape());
    }
    Ok(format!("{scheme}://{authority}"))
}

/// The `--public-url`s once each, in the order given, at most
/// [`MAX_PUBLIC_URLS`].
fn public_urls(given: Vec<String>) -> anyhow::Result<Vec<String>> {
    let mut urls: Vec<String> = Vec::new();
    for url in given {
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    if urls.len() > MAX_PUBLIC_URLS {
        anyhow::bail!(
            "{} --public-url given; a café names at most {MAX_PUBLIC_URLS} hub nodes",
            urls.len()
        );
    }
    Ok(urls)
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role \"{s}\" (kiosk, barista, display, manager)"))
}

/// The per-user data folder: `$XDG_DATA_HOME/countertop/hub`.
fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("countertop/hub"));
    }
    let home =
        std::env::var_os("HOME").context("neither XDG_DATA_HOME nor HOME is set; pass --data")?;
    Ok(PathBuf::from(home).join(".local/share/countertop/hub"))
}

fn data_dir(data: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    data.map_or_else(default_data_dir, Ok)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: the journal (the packaged service)
        // and log files get plain text. NO_COLOR turns them off anywhere.
        .with_ansi(
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            listen,
            tls_listen,
            data,
            database,
            allow_origin,
            no_demo,
            max_connections_per_address,
            backup_copy,
            insecure_lan_tokens,
            no_announce,
            node_name,
            public_url,
        } => {
            let mut config = HubConfig::new(data_dir(data)?);
            config.public_urls = public_urls(public_url)?;
            config.allowed_origins = allow_origin;
            config.demo = !no_demo;
            config.max_connections_per_address = max_connections_per_address.max(1);
            config.backup.copy_to = backup_copy;
            config.announce = !no_announce;
            config.insecure_lan_tokens = insecure_lan_tokens;
            config.database = database;
            if let Some(node_name) = node_name {
                config.node_name = node_name;
            }
            let hub = Hub::open(config).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            let tls_listener = match tls_listen {
                Some(tls_addr) => Some(
                    tokio::net::TcpListener::bind(tls_addr)
                        .await
                        .with_context(|| format!("binding {tls_addr} (--tls-listen)"))?,
                ),
                None => None,
            };
            if !addr.ip().is_loopback() && tls_listener.is_none() && !insecure_lan_tokens {
                tracing::warn!(
                    %addr,
                    "listening beyond this computer without --tls-listen: other computers get the \
                     public pages only; their tokens and pairing codes are refused (426) until \
                     the hub serves TLS (add --tls-listen 0.0.0.0:3443)"
                );
            }
            if insecure_lan_tokens {
                tracing::warn!("--insecure-lan-tokens: tokens and pairing codes are taken in plain HTTP from any computer; anyone on the network can read them");
            }
            let store = match &hub.config.database {
                Some(url) => countertop_hub::describe_postgres(url),
                None => "SQLite".to_owned(),
            };
            tracing::info!(%addr, node = %hub.config.node_name, data = %hub.config.data_dir.display(), %store, epoch = hub.log.epoch(), seq = hub.log.seq(), "hub ready");
            // One line on stdout that scripts and tests wait for.
            let mut out = std::io::stdout();
            writeln!(out, "listening on {addr}")?;
            if let Some(tls_listener) = &tls_listener {
                let tls_addr = tls_listener.local_addr()?;
                tracing::info!(%tls_addr, fingerprint = %hub.tls.fingerprint, "serving TLS");
                writeln!(out, "listening (tls) on {tls_addr}")?;
            }
            out.flush()?;
            countertop_hub::serve_with_tls(listener, tls_listener, hub, shutdown_signal()).await?;
            tracing::info!("hub stopped");
        }
        Command::Fingerprint { data } => {
            println!("{}", countertop_hub::tls_fingerprint(&data_dir(data)?)?);
        }
        Command::PairingCode {
            role,
            name,
            data,
            database,
        } => {
            let code =
                countertop_hub::pairing_code(&data_dir(data)?, database.as_deref(), role, name)
                    .await?;
            println!("{}", serde_json::to_string(&code)?);
        }
        Command::NewSecret { data, database } => {
            let revoked = countertop_hub::new_secret(&data_dir(data)?, database.as_deref()).await?;
            println!("{}", serde_json::json!({ "devicesToPairAgain": revoked }));
        }
        Command::Backup { to, data } => {
            let bytes = countertop_hub::backup_to(&data_dir(data)?, &to).await?;
            println!(
                "{}",
                serde_json::json!({ "file": to.display().to_string(), "bytes": bytes })
            );
        }
        Command::Restore { from, data } => {
            let restored = countertop_hub::restore_from(&data_dir(data)?, &from).await?;
            println!("{}", serde_json::to_string(&restored)?);
        }
        Command::RenewEpoch { data, database } => {
            let epoch = countertop_hub::renew_epoch(&data_dir(data)?, database.as_deref()).await?;
            println!("{}", serde_json::json!({ "epoch": epoch }));
        }
        Command::WipeEvents { data, database } => {
            let epoch = countertop_hub::wipe_events(&data_dir(data)?, database.as_deref()).await?;
            println!("{}", serde_json::json!({ "epoch": epoch }));
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: closing connections");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_is_an_http_or_https_address_and_nothing_more() {
        assert_eq!(
            parse_public_url(" https://hub-2.cafe.lan:3443/ ").unwrap(),
            "https://hub-2.cafe.lan:3443"
        );
        assert_eq!(
            parse_public_url("HTTP://127.0.0.1:3001").unwrap(),
            "http://127.0.0.1:3001"
        );
        assert_eq!(
            parse_public_url("https://[::1]:3443").unwrap(),
            "https://[::1]:3443"
        );
        for bad in [
            "",
            "hub.lan:3001",
            "ftp://hub.lan",
            "ws://hub.lan:3001",
            "https://user:pw@hub.lan",
            "https://hub.lan/api",
            "https://hub.lan?x=1",
            "https://hub.lan/#top",
            "https://",
        ] {
            let error = parse_public_url(bad).unwrap_err();
            assert!(error.contains("expected http"), "{bad:?}: {error}");
        }
        let long = format!("https://{}.lan", "a".repeat(MAX_PUBLIC_URL_CHARS));
        assert!(parse_public_url(&long)
            .unwrap_err()
            .contains("at most 200 characters"));
    }

    #[test]
    fn at_most_sixteen_public_urls_each_once() {
        let urls = |n: usize| -> Vec<String> {
            (0..n).map(|i| format!("https://10.0.0.{i}:3443")).collect()
        };
        let mut twice = urls(16);
        twice.extend(urls(16));
        assert_eq!(public_urls(twice).unwrap(), urls(16));
        let error = public_urls(urls(17)).unwrap_err().to_string();
        assert!(error.contains("at most 16"), "{error}");
    }

    #[test]
    fn serve_takes_several_public_urls() {
        let cli = Cli::try_parse_from([
            "countertop-hub",
            "serve",
            "--public-url",
            "https://10.0.0.1:3443",
            "--public-url",
            "https://10.0.0.2:3443",
        ])
        .unwrap();
        let Command::Serve { public_url, .. } = cli.command else {
            panic!("not serve");
        };
        assert_eq!(
            public_url,
            ["https://10.0.0.1:3443", "https://10.0.0.2:3443"]
        );
        // As COUNTERTOP_PUBLIC_URLS has them: one value, comma-separated.
        let cli = Cli::try_parse_from([
            "countertop-hub",
            "serve",
            "--public-url",
            "https://10.0.0.1:3443,https://10.0.0.2:3443/",
        ])
        .unwrap();
        let Command::Serve { public_url, .. } = cli.command else {
            panic!("not serve");
        };
        assert_eq!(
            public_url,
            ["https://10.0.0.1:3443", "https://10.0.0.2:3443"]
        );
        assert!(
            Cli::try_parse_from(["countertop-hub", "serve", "--public-url", "hub.lan"]).is_err()
        );
    }

    #[test]
    fn serve_takes_a_node_name_and_refuses_one_that_is_not() {
        let cli =
            Cli::try_parse_from(["countertop-hub", "serve", "--node-name", "hub-2.cafe"]).unwrap();
        let Command::Serve { node_name, .. } = cli.command else {
            panic!("not serve");
        };
        assert_eq!(node_name.as_deref(), Some("hub-2.cafe"));
        for bad in ["", "two words", "a\"b"] {
            let parsed = Cli::try_parse_from(["countertop-hub", "serve", "--node-name", bad]);
            assert!(parsed.is_err(), "{bad:?}");
        }
    }
}
