//! Pairing by the six digits a person types, without trusting the hub's
//! certificate beforehand: SPAKE2 over the code (RustCrypto `spake2`,
//! Ed25519), with both confirmations bound to the certificate fingerprint
//! each side knows (docs/protocol.md, "Pairing by a typed code").
//!
//! The device talks to the hub over `https://` accepting any key at first
//! ([`Trust::FirstContact`]) and records the key its handshake saw. The hub
//! answers with one offer per open code, each with a confirmation made
//! under the key SPAKE2 gives with that code over the hub's own
//! fingerprint. An offer verifies only if the device typed that code AND
//! saw the hub's own key: a relay that shows its own certificate makes
//! every offer fail. The device then pins the key it saw for its finish,
//! whose confirmation covers that key too, and pins it for good once the
//! hub answers with a token.
//!
//! A wrong code and a relay look the same from here: no offer verifies.
//! Neither can be told apart without the code, which is the point, so the
//! error says both ([`PakeError::NotConfirmed`]).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use countertop_protocol::{Paired, PakeFinish, PakeOffers, PakeStart};
use hmac::{Hmac, Mac};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use reqwest::Method;
use sha2::Sha256;
use spake2::{Ed25519Group, Identity, Password, Spake2};

use crate::error::LinkError;
use crate::link::HttpHub;
use crate::pin::{Fingerprint, Trust};

/// The SPAKE2 identities and the confirmations' labels (the hub's are the
/// same, in `crates/hub/src/auth/pake.rs`).
const DEVICE_IDENTITY: &[u8] = b"countertop device";
const HUB_IDENTITY: &[u8] = b"countertop hub";
const HUB_CONFIRM: &[u8] = b"countertop hub confirm";
const DEVICE_CONFIRM: &[u8] = b"countertop device confirm";
/// A hub offers one code per start (its newest open one,
/// `crates/hub/src/auth/pake.rs`). A device answered more refuses them all:
/// each offer it tried would be one guess at its code for whoever made the
/// offers, and a machine in the middle gets one guess per attempt, no more.
const MAX_OFFERS: usize = 1;
/// The longest base64 field read from an offer.
const MAX_FIELD_LEN: usize = 88;

/// Why pairing by a typed code failed, told so that a person can act.
#[derive(Debug, thiserror::Error)]
pub enum PakeError {
    /// What was typed is not six digits.
    #[error("a pairing code is six digits")]
    NotACode,
    /// The address is not an `https://` one.
    #[error("pairing by a code needs the hub's https:// address")]
    NeedsHttps,
    /// The hub has no open code at all to offer: the code is wrong, used
    /// or expired.
    #[error("this code is wrong, used or expired")]
    WrongCode,
    /// The hub offered codes, but none verifies with this code and the
    /// certificate this device saw: a wrong, used or expired code, or a
    /// machine between this device and the hub showing its own
    /// certificate. The two cannot be told apart.
    #[error(
        "this code is wrong, used or expired; a code made before the newest open one pairs by \
         its pairing link (QR code) instead (or a machine between this device and the hub is \
         showing another certificate)"
    )]
    NotConfirmed,
    /// The hub's confirmation verified, but the hub did not take this
    /// device's: the pairing took over a minute, or the code was used
    /// meanwhile. Starting again may work.
    #[error("the hub did not confirm this device: {0}")]
    Refused(String),
    /// `429`: too many attempts from here, or on the hub.
    #[error("too many tries, wait a minute")]
    TooManyTries,
    /// The address does not answer.
    #[error("no hub answers at this address")]
    NoHub,
    /// Anything else the hub or the link said.
    #[error(transparent)]
    Link(LinkError),
}

impl PakeError {
    /// The stable snake_case code of this failure.
    pub fn code(&self) -> &'static str {
        match self {
            PakeError::NotACode => "not_a_code",
            PakeError::NeedsHttps => "needs_https",
            PakeError::WrongCode => "wrong_code",
            PakeError::NotConfirmed => "not_confirmed",
            PakeError::Refused(_) => "pairing_failed",
            PakeError::TooManyTries => "rate_limited",
            PakeError::NoHub => "network",
            PakeError::Link(_) => "link",
        }
    }
}

fn link_error(e: LinkError) -> PakeError {
    match e {
        LinkError::Network(_) | LinkError::Timeout => PakeError::NoHub,
        LinkError::Hub { status: 429, .. } => PakeError::TooManyTries,
        other => PakeError::Link(other),
    }
}

/// Pairs with the hub at `hub` (`https://host:port`) by the six digits of
/// a pairing code: the device's token, and the fingerprint to pin from now
/// on. `timeout` bounds each request.
pub async fn pair_by_code(
    hub: &str,
    code: &str,
    timeout: Duration,
) -> Result<(Paired, Fingerprint), PakeError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PakeError::NotACode);
    }
    if !hub.trim().starts_with("https://") {
        return Err(PakeError::NeedsHttps);
    }
    let first =
        HttpHub::pinned(hub, None, timeout, Some(Trust::FirstContact)).map_err(link_error)?;
    // SPAKE2's state is used up by one try: each offer is tried on the same
    // state, made again from one seed.
    let seed: [u8; 32] = rand::thread_rng().gen();
    let start = || {
        Spake2::<Ed25519Group>::start_a_with_rng(
            &Password::new(code.as_bytes()),
            &Identity::new(DEVICE_IDENTITY),
            &Identity::new(HUB_IDENTITY),
            ChaCha20Rng::from_seed(seed),
        )
    };
    let (_, msg_a) = start();
    let answer = first
        .call(
            Method::POST,
            "/api/devices/pake/start",
            Some(&PakeStart {
                msg: BASE64.encode(&msg_a),
            }),
        )
        .await
        .map_err(link_error)?;
    let offers: PakeOffers = serde_json::from_value(answer)
        .map_err(|e| PakeError::Link(LinkError::Protocol(format!("pake/start: {e}"))))?;
    let seen = first
        .tls()
        .and_then(|tls| tls.last_seen())
        .ok_or_else(|| PakeError::Link(LinkError::Protocol("no TLS handshake seen".into())))?;
    if offers.offers.is_empty() {
        return Err(PakeError::WrongCode);
    }
    if offers.offers.len() > MAX_OFFERS {
        return Err(PakeError::Link(LinkError::Protocol(format!(
            "pake/start: {} offers, where a hub makes {MAX_OFFERS}: not trying them",
            offers.offers.len()
        ))));
    }
    let mut verified = None;
    for offer in &offers.offers {
        let (Some(msg_b), Some(hub_confirm)) = (decode(&offer.msg), decode(&offer.confirm)) else {
            continue;
        };
        let Ok(key) = start().0.finish(&msg_b) else {
            continue;
        };
        let ok = confirm_mac(&key, HUB_CONFIRM, seen.as_bytes(), &msg_a, &msg_b)
            .verify_slice(&hub_confirm)
            .is_ok();
        if ok {
            verified = Some((key, msg_b));
            break;
        }
    }
    let Some((key, msg_b)) = verified else {
        return Err(PakeError::NotConfirmed);
    };
    // From here on only the key the confirmation covered is accepted: a
    // new connection for the finish cannot be taken over by another.
    let pinned =
        HttpHub::pinned(hub, None, timeout, Some(Trust::Pinned(seen))).map_err(link_error)?;
    let device_confirm = confirm_mac(&key, DEVICE_CONFIRM, seen.as_bytes(), &msg_a, &msg_b)
        .finalize()
        .into_bytes();
    let answer = pinned
        .call(
            Method::POST,
            "/api/devices/pake/finish",
            Some(&PakeFinish {
                session: offers.session,
                confirm: BASE64.encode(device_confirm),
            }),
        )
        .await
        .map_err(|e| match e {
            LinkError::Unauthorized => {
                PakeError::Refused("the pairing expired or its code was used; start again".into())
            }
            LinkError::NotYourHub { .. } => PakeError::NotConfirmed,
            other => link_error(other),
        })?;
    let paired: Paired = serde_json::from_value(answer)
        .map_err(|e| PakeError::Link(LinkError::Protocol(format!("pake/finish: {e}"))))?;
    Ok((paired, seen))
}

fn decode(text: &str) -> Option<Vec<u8>> {
    if text.len() > MAX_FIELD_LEN {
        return None;
    }
    BASE64.decode(text).ok()
}

/// `HMAC-SHA256(key, label || fingerprint || msg_a || msg_b)`.
fn confirm_mac(
    key: &[u8],
    label: &[u8],
    fingerprint: &[u8],
    msg_a: &[u8],
    msg_b: &[u8],
) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(label);
    mac.update(fingerprint);
    mac.update(msg_a);
    mac.update(msg_b);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn what_is_not_six_digits_or_not_https_is_refused_before_any_request() {
        let t = Duration::from_secs(1);
        for code in ["12345", "1234567", "12a456", ""] {
            assert!(matches!(
                pair_by_code("https://127.0.0.1:9", code, t).await,
                Err(PakeError::NotACode)
            ));
        }
        assert!(matches!(
            pair_by_code("http://127.0.0.1:9", "123456", t).await,
            Err(PakeError::NeedsHttps)
        ));
    }

    #[test]
    fn one_seed_makes_the_same_message_every_time() {
        let seed = [9u8; 32];
        let start = || {
            Spake2::<Ed25519Group>::start_a_with_rng(
                &Password::new(b"123456"),
                &Identity::new(DEVICE_IDENTITY),
                &Identity::new(HUB_IDENTITY),
                ChaCha20Rng::from_seed(seed),
            )
        };
        assert_eq!(start().1, start().1);
        let (hub, msg_b) = Spake2::<Ed25519Group>::start_b(
            &Password::new(b"123456"),
            &Identity::new(DEVICE_IDENTITY),
            &Identity::new(HUB_IDENTITY),
        );
        let hub_key = hub.finish(&start().1).unwrap();
        assert_eq!(start().0.finish(&msg_b).unwrap(), hub_key);
        assert_eq!(start().0.finish(&msg_b).unwrap(), hub_key);
    }
}
