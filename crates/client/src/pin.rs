//! Which hub a device trusts. The hub signs its own certificate, so no
//! certificate authority can vouch for it: a device pins the SHA-256 of the
//! certificate's public key (as `countertop-hub fingerprint` prints it) when
//! it pairs, and every TLS handshake after that must show the same key, as
//! Syncthing pins its devices' IDs.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// SHA-256 of a certificate's SubjectPublicKeyInfo. Shown and parsed as 64
/// lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate's public key.
    pub fn of_certificate(cert_der: &[u8]) -> Result<Fingerprint, String> {
        let der = CertificateDer::from(cert_der);
        let cert = webpki::EndEntityCert::try_from(&der)
            .map_err(|e| format!("not a readable certificate: {e}"))?;
        Ok(Fingerprint(
            Sha256::digest(cert.subject_public_key_info().as_ref()).into(),
        ))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 8 hex digits, grouped for reading aloud ("3f2a 9c01").
    pub fn short(&self) -> String {
        let hex = self.to_string();
        format!("{} {}", &hex[..4], &hex[4..8])
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    /// 64 hex digits, either case; spaces and colons between them are
    /// allowed (as people copy fingerprints).
    fn from_str(text: &str) -> Result<Fingerprint, String> {
        let digits: Vec<u8> = text
            .bytes()
            .filter(|b| !matches!(b, b' ' | b':'))
            .take(65)
            .collect();
        if digits.len() != 64 {
            return Err("a hub fingerprint is 64 hex digits".into());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| "not hex")?;
            *byte = u8::from_str_radix(pair, 16)
                .map_err(|_| "a hub fingerprint is 64 hex digits".to_owned())?;
        }
        Ok(Fingerprint(bytes))
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fingerprint, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a device expects of the hub's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Exactly this key, refused otherwise.
    Pinned(Fingerprint),
    /// Any key, recorded: only for the first contact of a pairing that then
    /// proves the key some other way (the PAKE binds it to the code).
    FirstContact,
}

/// The key the last handshake showed, and the last one refused.
#[derive(Debug, Default)]
struct Seen {
    last: Option<Fingerprint>,
    refused: Option<Fingerprint>,
}

/// The TLS side of a device's link: a rustls client configuration whose
/// verifier checks the pin, and what its handshakes saw.
#[derive(Clone)]
pub struct PinnedTls {
    trust: Trust,
    config: Arc<rustls::ClientConfig>,
    seen: Arc<Mutex<Seen>>,
}

impl fmt::Debug for PinnedTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedTls")
            .field("trust", &self.trust)
            .finish()
    }
}

impl PinnedTls {
    pub fn new(trust: Trust) -> PinnedTls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let verifier = Arc::new(PinVerifier {
            trust,
            seen: seen.clone(),
            provider: provider.clone(),
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        PinnedTls {
            trust,
            config: Arc::new(config),
            seen,
        }
    }

    pub fn trust(&self) -> Trust {
        self.trust
    }

    pub fn config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }

    /// The key the last successful or refused handshake showed.
    pub fn last_seen(&self) -> Option<Fingerprint> {
        self.seen.lock().map(|s| s.last).unwrap_or(None)
    }

    /// The other key a handshake was refused for, once: a failed request
    /// asks this to tell "not your hub" from a network fault.
    pub fn take_refused(&self) -> Option<Fingerprint> {
        self.seen.lock().ok().and_then(|mut s| s.refused.take())
    }
}

#[derive(Debug)]
struct PinVerifier {
    trust: Trust,
    seen: Arc<Mutex<Seen>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let shown = Fingerprint::of_certificate(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.last = Some(shown);
        match self.trust {
            Trust::Pinned(expected) if expected != shown => {
                seen.refused = Some(shown);
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ))
            }
            _ => {
                // The hub is ours again: an old refusal must not turn a
                // later timeout into "not your hub".
                seen.refused = None;
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_back_as_written_and_refuse_anything_else() {
        let fp: Fingerprint = "AB:cd".repeat(16).replace(':', "").parse().unwrap();
        assert_eq!(fp.to_string(), "abcd".repeat(16));
        assert_eq!(fp.short(), "abcd abcd");
        let spaced = "abcd ".repeat(16);
        assert_eq!(spaced.parse::<Fingerprint>().unwrap(), fp);
        assert!("abcd".repeat(15).parse::<Fingerprint>().is_err());
        assert!("abcd".repeat(17).parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
        assert!("é".repeat(32).parse::<Fingerprint>().is_err());
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fp);
    }
}
