//! The pairing link a manager's screen shows as a QR code, which a new
//! device scans or pastes: the hub's address, the fingerprint of its key
//! and a one-time code, so the device pins the key before it sends the code.
//!
//! `countertop://pair?hub=https%3A%2F%2F192.168.1.20%3A3443&fp=<64 hex>&code=123456`

use reqwest::Url;

use crate::pin::Fingerprint;

/// The longest link read; a real one is under 200 characters.
const MAX_LINK_LEN: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingLink {
    /// The hub over TLS, as `https://host:port`.
    pub hub: String,
    pub fingerprint: Fingerprint,
    /// The six-digit one-time pairing code.
    pub code: String,
}

impl PairingLink {
    pub fn to_uri(&self) -> String {
        let mut url = Url::parse("countertop://pair").expect("a constant URL");
        url.query_pairs_mut()
            .append_pair("hub", &self.hub)
            .append_pair("fp", &self.fingerprint.to_string())
            .append_pair("code", &self.code);
        url.to_string()
    }

    /// Reads a pasted or scanned link, saying what is wrong with a bad one.
    pub fn parse(text: &str) -> Result<PairingLink, String> {
        let text = text.trim();
        if text.len() > MAX_LINK_LEN {
            return Err("this is not a Countertop pairing link (too long)".into());
        }
        let url = Url::parse(text)
            .ok()
            .filter(|u| u.scheme() == "countertop" && u.host_str() == Some("pair"))
            .ok_or("this is not a Countertop pairing link")?;
        let (mut hub, mut fp, mut code) = (None, None, None);
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "hub" => hub = Some(value.into_owned()),
                "fp" => fp = Some(value.into_owned()),
                "code" => code = Some(value.into_owned()),
                _ => {}
            }
        }
        let hub = hub.ok_or("the pairing link has no hub address")?;
        let hub_url = Url::parse(&hub)
            .ok()
            .filter(|u| {
                u.scheme() == "https"
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && u.username().is_empty()
                    && u.password().is_none()
                    && u.query().is_none()
                    && u.fragment().is_none()
            })
            .ok_or("the pairing link's hub address is not https://host:port")?;
        let fingerprint = fp
            .ok_or("the pairing link has no fingerprint")?
            .parse::<Fingerprint>()?;
        let code = code.ok_or("the pairing link has no code")?;
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the pairing link's code is not six digits".into());
        }
        Ok(PairingLink {
            hub: hub_url.as_str().trim_end_matches('/').to_owned(),
            fingerprint,
            code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> PairingLink {
        PairingLink {
            hub: "https://192.168.1.20:3443".into(),
            fingerprint: "0f".repeat(32).parse().unwrap(),
            code: "012345".into(),
        }
    }

    #[test]
    fn a_link_reads_back_as_written() {
        let uri = link().to_uri();
        assert!(uri.starts_with("countertop://pair?hub=https%3A%2F%2F192.168.1.20%3A3443&fp=0f0f"));
        assert_eq!(PairingLink::parse(&format!("  {uri}\n")).unwrap(), link());
    }

    #[test]
    fn a_bad_link_says_what_is_wrong() {
        let fp = "0f".repeat(32);
        let cases = [
            ("https://example.com", "not a Countertop pairing link"),
            ("countertop://other?x=1", "not a Countertop pairing link"),
            (
                &*format!("countertop://pair?fp={fp}&code=123456"),
                "no hub address",
            ),
            (
                &*format!("countertop://pair?hub=http%3A%2F%2F10.0.0.1%3A3001&fp={fp}&code=123456"),
                "not https://host:port",
            ),
            (
                "countertop://pair?hub=https%3A%2F%2F10.0.0.1%3A3443&fp=abc&code=123456",
                "64 hex digits",
            ),
            (
                &*format!("countertop://pair?hub=https%3A%2F%2F10.0.0.1%3A3443&fp={fp}&code=12345"),
                "six digits",
            ),
            (
                &*format!("countertop://pair?hub=https%3A%2F%2F10.0.0.1%3A3443&fp={fp}"),
                "no code",
            ),
            (
                &*format!("countertop://pair?hub=https%3A%2F%2Fme%40evil%3A3443&fp={fp}&code=123456"),
                "not https://host:port",
            ),
            (
                &*format!("countertop://pair?hub=https%3A%2F%2F10.0.0.1%3A3443%2F%3Fx%3D1&fp={fp}&code=123456"),
                "not https://host:port",
            ),
            (&*"x".repeat(600), "too long"),
        ];
        for (text, expected) in cases {
            let error = PairingLink::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
