//! TLS on the LAN: the hub's own key and certificate, its fingerprint, the
//! rustls configuration of `--tls-listen`, and which peers count as local.
//!
//! Invariants:
//! - The key (`tls.key`) is made once, at the first start, with rcgen
//!   (ECDSA P-256), and kept in the data folder at mode 600; the
//!   self-signed certificate (`tls.crt`, mode 600 too) is made from it. A
//!   later start reuses both; a certificate that is missing, unreadable or
//!   not of this key is made again from the key, so the fingerprint stays.
//! - The fingerprint is the SHA-256 of the certificate's public key (its
//!   SubjectPublicKeyInfo, DER), as lowercase hex: what a device pins. It
//!   does not depend on the certificate's names or dates, which nothing
//!   checks (a pinned device compares the key, not a chain).
//! - Over plain HTTP, a request from a peer that is not local that carries a
//!   token or a pairing code is refused `426 tls_required` before any
//!   handler runs ([`require_tls`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use countertop_protocol::ErrorCode;
use rcgen::PublicKeyData;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// The hub's private key, PEM (PKCS#8), mode 600.
pub const KEY_FILE: &str = "tls.key";
/// The hub's self-signed certificate, PEM, mode 600.
pub const CERT_FILE: &str = "tls.crt";

/// The hub's key and certificate, read or made at start.
pub struct Identity {
    pub cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    /// SHA-256 of the certificate's SubjectPublicKeyInfo, lowercase hex.
    pub fingerprint: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Reads `tls.key` and `tls.crt` from `data_dir`, making what is missing.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Identity> {
        let key_path = data_dir.join(KEY_FILE);
        let cert_path = data_dir.join(CERT_FILE);
        keep_private(&key_path)?;
        let key_pair = match std::fs::read_to_string(&key_path) {
            Ok(pem) => rcgen::KeyPair::from_pem(&pem).with_context(|| {
                format!(
                    "{} is not a readable private key; move it away to make a new one \
                     (every device will have to pair again)",
                    key_path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key_pair = rcgen::KeyPair::generate().context("making the TLS key")?;
                // A certificate of another key would not match it.
                let _ = std::fs::remove_file(&cert_path);
                crate::private::write_new(&key_path, &key_pair.serialize_pem())
                    .with_context(|| format!("writing {}", key_path.display()))?;
                key_pair
            }
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", key_path.display()));
            }
        };
        let spki = key_pair.subject_public_key_info();
        let fingerprint = hex(&Sha256::digest(&spki));
        let existing = std::fs::read(&cert_path)
            .ok()
            .and_then(|pem| CertificateDer::from_pem_slice(&pem).ok())
            .filter(|der| spki_fingerprint(der).ok().as_ref() == Some(&fingerprint));
        let cert = match existing {
            Some(der) => der,
            None => {
                let cert = self_signed(&key_pair)?;
                let _ = std::fs::remove_file(&cert_path);
                crate::private::write_new(&cert_path, &cert.pem())
                    .with_context(|| format!("writing {}", cert_path.display()))?;
                cert.der().clone()
            }
        };
        let key = PrivateKeyDer::try_from(key_pair.serialize_der())
            .map_err(|e| anyhow::anyhow!("the TLS key does not encode: {e}"))?;
        Ok(Identity {
            cert,
            key,
            fingerprint,
        })
    }

    /// The rustls configuration `--tls-listen` serves with: HTTP/1.1 only,
    /// as the plain listener.
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())
            .context("the TLS key and certificate")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The certificate: self-signed, named `localhost`, the loopback addresses
/// and this machine's addresses when it is made (names only help a browser
/// that is told to trust it; devices pin the key).
fn self_signed(key_pair: &rcgen::KeyPair) -> anyhow::Result<rcgen::Certificate> {
    let mut names = vec![
        "localhost".to_owned(),
        Ipv4Addr::LOCALHOST.to_string(),
        Ipv6Addr::LOCALHOST.to_string(),
    ];
    if let Ok(interfaces) = if_addrs::get_if_addrs() {
        for interface in interfaces {
            let ip = interface.ip().to_string();
            if !names.contains(&ip) {
                names.push(ip);
            }
        }
    }
    let mut params = rcgen::CertificateParams::new(names).context("the certificate's names")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Countertop hub");
    params
        .self_signed(key_pair)
        .context("signing the TLS certificate")
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo (DER), lowercase hex:
/// the fingerprint a device pins and compares at each handshake.
pub fn spki_fingerprint(cert_der: &[u8]) -> anyhow::Result<String> {
    let der = CertificateDer::from(cert_der);
    let cert = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| anyhow::anyhow!("not a readable certificate: {e}"))?;
    Ok(hex(&Sha256::digest(
        cert.subject_public_key_info().as_ref(),
    )))
}

/// The fingerprint of the hub in `data_dir`, making its key and
/// certificate if it has none yet (`countertop-hub fingerprint`).
pub fn fingerprint(data_dir: &Path) -> anyhow::Result<String> {
    crate::private::create_dir(data_dir)
        .with_context(|| format!("creating the data folder {}", data_dir.display()))?;
    Ok(Identity::load_or_create(data_dir)?.fingerprint)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Puts a looser mode on an existing key back to 600, with a warning: a
/// key others could read may have been copied.
fn keep_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the TLS key was readable by others: set to 600 (move it away to make a new \
                     one; every device would have to pair again)"
                );
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("setting {} to mode 600", path.display()))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Which peers plain HTTP trusts with tokens and pairing codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalPeers {
    /// Every loopback address: 127.0.0.0/8 and `::1` (the default).
    Loopback,
    /// Only these addresses (tests: `127.0.0.1` and `::1`, so that
    /// `127.0.0.2` stands for a device on the LAN).
    Only(Vec<IpAddr>),
}

impl LocalPeers {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match self {
            LocalPeers::Loopback => ip.is_loopback(),
            LocalPeers::Only(list) => list.iter().any(|a| a.to_canonical() == ip),
        }
    }
}

/// How a request reached the hub: over `--tls-listen` or plain HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secure(pub bool);

/// The plain listener's gate: a request from a peer that is not local
/// that carries a token (an `Authorization` header, a `token` in the
/// query), a pairing code (`/api/devices/pair`) or opens Socket.IO (whose
/// handshake always carries a token) is answered `426 tls_required`, and
/// nothing else happens, whether or not the hub serves TLS too (a hub on
/// the LAN without `--tls-listen` then serves its public pages only, unless
/// `--insecure-lan-tokens` says otherwise). A request without a peer
/// address (the router called in-process) is not from the network and
/// passes.
pub async fn require_tls(
    axum::extract::State(hub): axum::extract::State<crate::Hub>,
    req: Request,
    next: Next,
) -> Response {
    let secure =
        req.extensions().get::<Secure>().is_none_or(|s| s.0) || hub.config.insecure_lan_tokens;
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(ip) if !secure && !hub.config.local_peers.contains(ip) && carries_secret(&req) => {
            tracing::info!(%ip, path = %req.uri().path(), "refused over plain HTTP: TLS required");
            AppError::new(
                StatusCode::UPGRADE_REQUIRED,
                ErrorCode::TlsRequired,
                "this request carries a token or a pairing code: send it over HTTPS \
                 (the hub's --tls-listen address, port 3443 for the app's hub)",
            )
            .into_response()
        }
        _ => next.run(req).await,
    }
}

/// Whether a request carries a token or a pairing code, or opens a
/// transport that always does.
fn carries_secret(req: &Request) -> bool {
    let path = req.uri().path();
    if req
        .headers()
        .contains_key(axum::http::header::AUTHORIZATION)
    {
        return true;
    }
    let query = req.uri().query().unwrap_or("");
    if form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k.eq_ignore_ascii_case("token")) {
        return true;
    }
    let path = path.trim_end_matches('/');
    path.eq_ignore_ascii_case("/api/devices/pair")
        || path.eq_ignore_ascii_case("/api/devices/refresh")
        || path == "/socket.io"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_peers_are_the_loopback_by_default_and_only_the_named_in_tests() {
        let two: IpAddr = "127.0.0.2".parse().unwrap();
        let lan: IpAddr = "192.168.1.9".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(LocalPeers::Loopback.contains(two));
        assert!(LocalPeers::Loopback.contains(mapped));
        assert!(!LocalPeers::Loopback.contains(lan));
        let only = LocalPeers::Only(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
        assert!(only.contains(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(only.contains(mapped));
        assert!(!only.contains(two));
    }

    #[test]
    fn the_fingerprint_is_of_the_public_key_and_survives_a_new_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let first = Identity::load_or_create(dir.path()).unwrap();
        assert_eq!(first.fingerprint.len(), 64);
        assert_eq!(spki_fingerprint(&first.cert).unwrap(), first.fingerprint);
        std::fs::remove_file(dir.path().join(CERT_FILE)).unwrap();
        let again = Identity::load_or_create(dir.path()).unwrap();
        assert_eq!(again.fingerprint, first.fingerprint);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let key = dir.path().join(KEY_FILE);
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
            let kept = Identity::load_or_create(dir.path()).unwrap();
            assert_eq!(kept.fingerprint, first.fingerprint);
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        let fresh = Identity::load_or_create(dir.path()).unwrap();
        assert_ne!(fresh.fingerprint, first.fingerprint);
        assert_eq!(spki_fingerprint(&fresh.cert).unwrap(), fresh.fingerprint);
    }
}
