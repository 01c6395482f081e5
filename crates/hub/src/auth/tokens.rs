//! The signing secret and the tokens it signs: HS256 JWTs, the algorithm
//! pinned on verification, checked against the paired devices.

use std::path::Path;

use chrono::{Duration, Utc};
use countertop_protocol::{Claims, Paired};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use sha2::Sha256;

use super::{random_id, DeviceError, DeviceRecord};
use crate::error::AppError;
use crate::store;
use crate::Hub;

/// Device tokens last a year.
pub const TOKEN_LIFETIME_DAYS: i64 = 365;
/// The longest token the hub will look at.
const MAX_TOKEN_LEN: usize = 4096;

/// The signing secret's file in the data folder.
pub const SECRET_FILE: &str = "secret.key";

/// The signing secret, made on first start and kept beside the database.
/// It also keys the hash under which pairing codes are stored.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    codes: Hmac<Sha256>,
}

impl Keys {
    /// Loads `secret.key` from the data folder, creating it (mode 600) if absent.
    /// (`db::check_folder` has refused a folder that holds a hub but lost it.)
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Keys> {
        use anyhow::Context;
        let path = data_dir.join(SECRET_FILE);
        let secret = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let hex = new_secret();
                crate::private::write_new(&path, &hex)
                    .with_context(|| format!("creating the signing secret {}", path.display()))?;
                hex
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("reading the signing secret {}", path.display()))
            }
        };
        anyhow::ensure!(
            secret.len() >= 32,
            "the signing secret in {} is too short",
            path.display()
        );
        Ok(Keys::from_secret(secret.as_bytes()))
    }

    /// Replaces the signing secret (mode 600): every token signed with the
    /// old one stops working.
    pub fn replace(data_dir: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let path = data_dir.join(SECRET_FILE);
        let fresh = data_dir.join("secret.key.new");
        let _ = std::fs::remove_file(&fresh);
        crate::private::write_new(&fresh, &new_secret())
            .with_context(|| format!("writing {}", fresh.display()))?;
        std::fs::rename(&fresh, &path).with_context(|| format!("replacing {}", path.display()))
    }

    pub fn from_secret(secret: &[u8]) -> Keys {
        let codes =
            <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            codes,
        }
    }

    /// How a pairing code is stored: HMAC-SHA256 under the secret, in hex,
    /// so that a copy of the database (or its WAL) does not give codes away.
    pub fn code_hash(&self, code: &str) -> String {
        let mut mac = self.codes.clone();
        mac.update(b"pairing-code:");
        mac.update(code.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn mint(&self, claims: &Claims) -> Result<String, DeviceError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| DeviceError::Internal(format!("could not sign a token: {e}")))
    }

    /// Verifies signature (HS256 only), expiry and the required claims.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "jti"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Hub {
    /// Checks a token: signature, expiry and that its device is still paired.
    pub fn authenticate(&self, token: &str) -> Result<DeviceRecord, AppError> {
        let invalid = || AppError::unauthorized("the device token is invalid, expired or revoked");
        let claims = self.keys.verify(token).ok_or_else(invalid)?;
        if self.devices.is_token_revoked(&claims.jti) {
            return Err(invalid());
        }
        let device = self.devices.get(&claims.sub).ok_or_else(invalid)?;
        if device.role != claims.role {
            return Err(invalid());
        }
        Ok(device)
    }

    pub(crate) fn mint_token(&self, device: &DeviceRecord) -> Result<Paired, DeviceError> {
        let now = Utc::now();
        let exp = now + Duration::days(TOKEN_LIFETIME_DAYS);
        let claims = Claims {
            sub: device.id.clone(),
            role: device.role,
            name: device.name.clone(),
            iat: now.timestamp(),
            exp: exp.timestamp(),
            jti: random_id(16),
        };
        Ok(Paired {
            device_id: device.id.clone(),
            role: device.role,
            name: device.name.clone(),
            token: self.keys.mint(&claims)?,
            expires_at: exp,
        })
    }

    /// A new token for `device`; `old`, the token it called with, stops
    /// working.
    pub(crate) async fn refresh_token(
        &self,
        device: &DeviceRecord,
        old: Option<String>,
    ) -> Result<Paired, DeviceError> {
        let old = old
            .and_then(|token| self.keys.verify(&token))
            .ok_or(DeviceError::NoToken)?;
        let paired = self.mint_token(device)?;
        store::devices::revoke_token(self.pool(), &old.jti, old.exp.saturating_mul(1000)).await?;
        self.devices.revoke_token(old.jti, old.exp);
        tracing::info!(device = %device.id, "device token refreshed; the old one is revoked");
        Ok(paired)
    }
}

#[cfg(test)]
mod tests {
    use countertop_protocol::Role;

    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "dev_1".into(),
            role: Role::Kiosk,
            name: "Kiosk".into(),
            iat: 0,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn tokens_verify_only_with_their_secret_and_algorithm() {
        let keys = Keys::from_secret(b"0123456789abcdef0123456789abcdef");
        let future = Utc::now().timestamp() + 3600;
        let token = keys.mint(&claims(future)).unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, "dev_1");

        let other = Keys::from_secret(b"fedcba9876543210fedcba9876543210");
        assert!(other.verify(&token).is_none(), "forged");

        let past = Utc::now().timestamp() - 10;
        assert!(
            keys.verify(&keys.mint(&claims(past)).unwrap()).is_none(),
            "expired"
        );

        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims(future),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(keys.verify(&hs512).is_none(), "algorithm is pinned");
        assert!(keys.verify("not.a.token").is_none());
    }

    #[test]
    fn codes_are_stored_as_a_keyed_hash() {
        let keys = Keys::from_secret(b"0123456789abcdef0123456789abcdef");
        let other = Keys::from_secret(b"fedcba9876543210fedcba9876543210");
        let hash = keys.code_hash("123456");
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("123456"));
        assert_eq!(hash, keys.code_hash("123456"));
        assert_ne!(hash, other.code_hash("123456"));
    }
}
