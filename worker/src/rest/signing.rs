//! KIP-507 signing of internal requests (connect-compat §1.5).
//!
//! A worker that sends `POST /connectors/<name>/tasks` or `PUT /connectors/<name>/fence` to the
//! leader signs the raw body bytes with the group's session key and sends two headers:
//! [`SIGNATURE_HEADER`] = base64 (standard alphabet, padded) of the HMAC, and
//! [`ALGORITHM_HEADER`] = the Java name of the MAC (`HmacSHA256`, …). The receiving herder checks
//! them with [`verify`].
//!
//! Algorithms: `HmacSHA1`, `HmacSHA256`, `HmacSHA384` and `HmacSHA512` (names matched ignoring
//! case, as Java's `Mac.getInstance` does).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::RngCore;

use crate::rest::api::HerderError;

/// The header carrying the base64 signature of the request body.
pub const SIGNATURE_HEADER: &str = "X-Connect-Authorization";
/// The header naming the signature algorithm.
pub const ALGORITHM_HEADER: &str = "X-Connect-Request-Signature-Algorithm";

/// Why a key or signature could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// Not one of `HmacSHA1`, `HmacSHA256`, `HmacSHA384`, `HmacSHA512`.
    #[error("Unsupported signature algorithm '{0}'")]
    UnsupportedAlgorithm(String),
    /// A key size under 40 bits (Java's `KeyGenerator` minimum for HMAC keys).
    #[error("Invalid key size {0}: must be at least 40 bits")]
    InvalidKeySize(u32),
}

/// The MAC families this worker implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    fn parse(name: &str) -> Result<Algorithm, SigningError> {
        const ALL: [(&str, Algorithm); 4] = [
            ("HmacSHA1", Algorithm::Sha1),
            ("HmacSHA256", Algorithm::Sha256),
            ("HmacSHA384", Algorithm::Sha384),
            ("HmacSHA512", Algorithm::Sha512),
        ];
        ALL.iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, alg)| *alg)
            .ok_or_else(|| SigningError::UnsupportedAlgorithm(name.to_owned()))
    }

    /// Java's `KeyGenerator` default key size (SunJCE): 64 bytes for HmacSHA1, the digest
    /// size for the SHA-2 family.
    fn default_key_bits(self) -> u32 {
        match self {
            Algorithm::Sha1 => 512,
            Algorithm::Sha256 => 256,
            Algorithm::Sha384 => 384,
            Algorithm::Sha512 => 512,
        }
    }

    /// HMAC of `body` under `key`.
    fn mac(self, key: &[u8], body: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], body: &[u8]) -> Vec<u8> {
            keyed::<M>(key, body).finalize().into_bytes().to_vec()
        }
        match self {
            Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, body),
            Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, body),
            Algorithm::Sha384 => run::<Hmac<sha2::Sha384>>(key, body),
            Algorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, body),
        }
    }

    /// Whether `tag` is the HMAC of `body` under `key`, compared in constant time (the `hmac`
    /// crate's `verify_slice`, which also rejects a tag of the wrong length).
    fn matches(self, key: &[u8], body: &[u8], tag: &[u8]) -> bool {
        fn run<M: Mac + KeyInit>(key: &[u8], body: &[u8], tag: &[u8]) -> bool {
            keyed::<M>(key, body).verify_slice(tag).is_ok()
        }
        match self {
            Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, body, tag),
            Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, body, tag),
            Algorithm::Sha384 => run::<Hmac<sha2::Sha384>>(key, body, tag),
            Algorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, body, tag),
        }
    }
}

/// A MAC keyed with `key` that has absorbed `body`.
fn keyed<M: Mac + KeyInit>(key: &[u8], body: &[u8]) -> M {
    let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac
}

/// The value of [`SIGNATURE_HEADER`] for `body`: base64 (standard, padded) of
/// HMAC-`algorithm`(`key`, `body`).
pub fn sign(key: &[u8], algorithm: &str, body: &[u8]) -> Result<String, SigningError> {
    let mac = Algorithm::parse(algorithm)?.mac(key, body);
    Ok(STANDARD.encode(mac))
}

/// A fresh random session key for `algorithm`, of `size_bits` (rounded up to whole bytes) or
/// Java's default size for that algorithm: 512 bits for HmacSHA1 and HmacSHA512, 384 for
/// HmacSHA384, 256 for HmacSHA256.
pub fn generate_key(algorithm: &str, size_bits: Option<u32>) -> Result<Vec<u8>, SigningError> {
    let algorithm = Algorithm::parse(algorithm)?;
    let bits = match size_bits {
        None => algorithm.default_key_bits(),
        Some(bits) if bits < 40 => return Err(SigningError::InvalidKeySize(bits)),
        Some(bits) => bits,
    };
    let mut key = vec![0u8; bits.div_ceil(8) as usize];
    rand::rngs::OsRng.fill_bytes(&mut key);
    Ok(key)
}

/// Checks the signature headers of an internal request against the session key, with Connect's
/// answers: no signature (either header missing) → 400; an algorithm outside
/// `configured_algorithms` (`inter.worker.verification.algorithms`, compared exactly) → 400; an
/// algorithm this worker cannot compute or a signature that is not base64 → 400; no session key
/// read yet (`key` is `None`) → 503; a signature that does not match → 403. The comparison is
/// constant-time.
pub fn verify(
    key: Option<&[u8]>,
    configured_algorithms: &[String],
    algorithm_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<(), HerderError> {
    let (Some(algorithm), Some(signature)) = (algorithm_header, signature_header) else {
        return Err(HerderError::BadRequest(
            "Internal request missing required signature".to_owned(),
        ));
    };
    if !configured_algorithms.iter().any(|a| a == algorithm) {
        return Err(HerderError::BadRequest(format!(
            "This worker does not support the '{algorithm}' key signing algorithm used by other \
             workers. This worker is currently configured to use: [{}]. Check that all workers' \
             configuration files permit the same set of signature algorithms, and correct any \
             misconfigured worker and restart it.",
            configured_algorithms.join(", ")
        )));
    }
    let parsed = Algorithm::parse(algorithm).map_err(|e| HerderError::BadRequest(e.to_string()))?;
    let given = LENIENT
        .decode(signature.trim())
        .map_err(|e| HerderError::BadRequest(format!("Invalid internal request signature: {e}")))?;
    let Some(key) = key else {
        return Err(HerderError::Unavailable(
            "This worker has not read a session key from the config topic yet and cannot \
             verify internal requests; try again later"
                .to_owned(),
        ));
    };
    if parsed.matches(key, body, &given) {
        Ok(())
    } else {
        Err(HerderError::Forbidden(
            "Internal request contained invalid signature.".to_owned(),
        ))
    }
}

/// Java's basic base64 decoder accepts input with or without `=` padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mac_hex(algorithm: &str, key: &[u8], data: &[u8]) -> String {
        let signature = sign(key, algorithm, data).unwrap();
        hex(&STANDARD.decode(signature).unwrap())
    }

    const JEFE: &[u8] = b"Jefe";
    const WANT: &[u8] = b"what do ya want for nothing?";

    #[test]
    fn known_vectors() {
        // RFC 4231 test case 2.
        assert_eq!(
            mac_hex("HmacSHA256", JEFE, WANT),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            sign(JEFE, "HmacSHA256", WANT).unwrap(),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
        assert_eq!(
            mac_hex("HmacSHA512", JEFE, WANT),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        assert_eq!(
            mac_hex("HmacSHA384", JEFE, WANT),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
             8e2240ca5e69e2c78b3239ecfab21649"
        );
        // RFC 2202 test case 2.
        assert_eq!(
            mac_hex("HmacSHA1", JEFE, WANT),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        // RFC 4231 test case 1: a 20-byte key of 0x0b, data "Hi There".
        assert_eq!(
            mac_hex("HmacSHA256", &[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Algorithm names ignore case, as in Java.
        assert_eq!(
            sign(JEFE, "hmacsha256", WANT).unwrap(),
            sign(JEFE, "HmacSHA256", WANT).unwrap()
        );
        assert_eq!(
            sign(JEFE, "HmacMD5", WANT),
            Err(SigningError::UnsupportedAlgorithm("HmacMD5".into()))
        );
    }

    #[test]
    fn generated_keys() {
        let len = |alg: &str, bits| generate_key(alg, bits).unwrap().len();
        assert_eq!(len("HmacSHA256", None), 32);
        assert_eq!(len("HmacSHA1", None), 64);
        assert_eq!(len("HmacSHA384", None), 48);
        assert_eq!(len("HmacSHA512", None), 64);
        assert_eq!(len("HmacSHA256", Some(128)), 16);
        assert_eq!(len("HmacSHA256", Some(41)), 6);
        assert_eq!(
            generate_key("HmacSHA256", Some(39)),
            Err(SigningError::InvalidKeySize(39))
        );
        assert!(generate_key("AES", None).is_err());
        let (a, b) = (
            generate_key("HmacSHA256", None).unwrap(),
            generate_key("HmacSHA256", None).unwrap(),
        );
        assert_ne!(a, b);
    }

    #[test]
    fn verification_outcomes() {
        let key = generate_key("HmacSHA256", None).unwrap();
        let body = br#"[{"config":"value"},{"config":"other_value"}]"#;
        let sig = sign(&key, "HmacSHA256", body).unwrap();
        let algs = vec!["HmacSHA256".to_owned()];
        let check = |key: Option<&[u8]>, alg: Option<&str>, sig: Option<&str>, body: &[u8]| {
            verify(key, &algs, alg, sig, body)
        };
        let status = |r: Result<(), HerderError>| match r.unwrap_err() {
            HerderError::BadRequest(_) => 400,
            HerderError::Forbidden(_) => 403,
            HerderError::Unavailable(_) => 503,
            other => panic!("unexpected {other:?}"),
        };
        let ok = Some("HmacSHA256");
        check(Some(&key), ok, Some(&sig), body).unwrap();
        // Unpadded base64 is accepted, as Java's decoder does.
        check(Some(&key), ok, Some(sig.trim_end_matches('=')), body).unwrap();

        assert_eq!(status(check(Some(&key), ok, None, body)), 400);
        assert_eq!(status(check(Some(&key), None, Some(&sig), body)), 400);
        assert_eq!(status(check(None, None, None, body)), 400);
        // Not in the configured list (the comparison is exact, as Java's `List.contains`).
        let msg = check(Some(&key), Some("HmacSHA512"), Some(&sig), body).unwrap_err();
        assert!(msg.to_string().contains("'HmacSHA512'"), "{msg}");
        assert!(msg.to_string().contains("[HmacSHA256]"), "{msg}");
        assert_eq!(
            status(check(Some(&key), Some("hmacsha256"), Some(&sig), body)),
            400
        );
        // In the list but not computable here.
        let odd = vec!["HmacMD5".to_owned()];
        let r = verify(Some(&key), &odd, Some("HmacMD5"), Some(&sig), body);
        assert!(matches!(r, Err(HerderError::BadRequest(_))));
        assert_eq!(
            status(check(Some(&key), ok, Some("not base64!"), body)),
            400
        );

        assert_eq!(status(check(None, ok, Some(&sig), body)), 503);

        assert_eq!(status(check(Some(&key), ok, Some(&sig), b"[]")), 403);
        let other_key = generate_key("HmacSHA256", None).unwrap();
        assert_eq!(status(check(Some(&other_key), ok, Some(&sig), body)), 403);
        let short = STANDARD.encode([1u8, 2, 3]);
        assert_eq!(status(check(Some(&key), ok, Some(&short), body)), 403);
        // Several verification algorithms: any listed one is accepted.
        let both = vec!["HmacSHA512".to_owned(), "HmacSHA256".to_owned()];
        let sig512 = sign(&key, "HmacSHA512", body).unwrap();
        verify(Some(&key), &both, Some("HmacSHA512"), Some(&sig512), body).unwrap();
        verify(Some(&key), &both, ok, Some(&sig), body).unwrap();
    }
}
