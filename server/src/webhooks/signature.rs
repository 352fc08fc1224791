//! Webhook signatures, checked over the raw body before anything is parsed,
//! in constant time: Stripe, GitHub, Slack and generic HMAC. A valid
//! signature yields what it covers, so that replays can be recognised.

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::webhooks::Signature;
use http::HeaderMap;
use ring::hmac;
use sha2::{Digest, Sha256};

/// How far a signed timestamp may be from now (Stripe and Slack).
pub const TOLERANCE_SECS: i64 = 300;

/// Why a request's signature was refused (logged; never the secret).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    MissingHeader(String),
    Malformed(&'static str),
    Stale,
    Mismatch,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::MissingHeader(name) => write!(f, "the {name} header is missing"),
            Refusal::Malformed(what) => write!(f, "the signature header is malformed: {what}"),
            Refusal::Stale => write!(
                f,
                "the signed timestamp is more than {TOLERANCE_SECS} s away from now"
            ),
            Refusal::Mismatch => f.write_str("the signature does not match"),
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, Refusal> {
    headers
        .get(name)
        .ok_or_else(|| Refusal::MissingHeader(name.to_owned()))?
        .to_str()
        .map_err(|_| Refusal::Malformed("not text"))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The signed timestamp, if it is within the tolerance of `now`.
fn fresh(timestamp: &str, now: i64) -> Result<i64, Refusal> {
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Refusal::Malformed("timestamp"))?;
    if (now - at).abs() > TOLERANCE_SECS {
        Err(Refusal::Stale)
    } else {
        Ok(at)
    }
}

/// What a valid signature covers.
#[derive(Debug, PartialEq, Eq)]
pub struct Signed {
    /// Hex SHA-256 of the signed message: equal for a resent delivery
    /// however its headers were rewritten (other case, extra `v1=`).
    pub digest: String,
    /// The signed timestamp (Stripe, Slack), after which the message is
    /// refused as stale anyway; GitHub and generic HMAC sign none.
    pub timestamp: Option<i64>,
}

impl Signed {
    fn of(scheme: &str, message: &[u8], timestamp: Option<i64>) -> Signed {
        let digest = Sha256::new()
            .chain_update(scheme.as_bytes())
            .chain_update([0])
            .chain_update(message)
            .finalize();
        Signed {
            digest: digest.iter().map(|b| format!("{b:02x}")).collect(),
            timestamp,
        }
    }
}

/// `Ok` with what was signed when `valid`.
fn signed(
    valid: bool,
    scheme: &str,
    message: &[u8],
    timestamp: Option<i64>,
) -> Result<Signed, Refusal> {
    if valid {
        Ok(Signed::of(scheme, message, timestamp))
    } else {
        Err(Refusal::Mismatch)
    }
}

/// Verifies `signature` (raw bytes) over `message` in constant time.
fn verify(algorithm: hmac::Algorithm, secret: &str, message: &[u8], signature: &[u8]) -> bool {
    hmac::verify(
        &hmac::Key::new(algorithm, secret.as_bytes()),
        message,
        signature,
    )
    .is_ok()
}

/// Checks a request against the workflow's signature settings; `now` in
/// Unix seconds, `url` the full URL the sender called (Twilio signs it).
pub fn check(
    config: &Signature,
    headers: &HeaderMap,
    body: &[u8],
    url: &str,
    now: i64,
) -> Result<Signed, Refusal> {
    match config.scheme.as_str() {
        "linear" => {
            let hex = header(headers, "linear-signature")?.trim();
            let signature = decode_hex(hex).ok_or(Refusal::Malformed("not hex"))?;
            let valid = verify(hmac::HMAC_SHA256, &config.secret, body, &signature);
            signed(valid, "linear", body, None)
        }
        "twilio" => {
            // Base64 HMAC-SHA1 of the URL followed by each form parameter's
            // name and value, sorted by name.
            let value = header(headers, "x-twilio-signature")?;
            let signature = STANDARD
                .decode(value.trim())
                .map_err(|_| Refusal::Malformed("not base64"))?;
            let mut params: Vec<(String, String)> =
                form_urlencoded::parse(body).into_owned().collect();
            params.sort();
            let mut message = url.as_bytes().to_vec();
            for (name, value) in params {
                message.extend_from_slice(name.as_bytes());
                message.extend_from_slice(value.as_bytes());
            }
            let valid = verify(
                hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                &config.secret,
                &message,
                &signature,
            );
            signed(valid, "twilio", &message, None)
        }
        "stripe" => {
            let value = header(headers, "stripe-signature")?;
            let mut timestamp = None;
            let mut candidates = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) => timestamp = Some(t),
                    Some(("v1", v)) => candidates.push(v),
                    _ => {}
                }
            }
            let timestamp = timestamp.ok_or(Refusal::Malformed("no t="))?;
            if candidates.is_empty() {
                return Err(Refusal::Malformed("no v1="));
            }
            let at = fresh(timestamp, now)?;
            let message = [timestamp.as_bytes(), b".", body].concat();
            // Several v1 signatures are allowed (while a secret is rolled).
            let matched = candidates
                .iter()
                .filter_map(|c| decode_hex(c))
                .any(|candidate| verify(hmac::HMAC_SHA256, &config.secret, &message, &candidate));
            signed(matched, "stripe", &message, Some(at))
        }
        "github" => {
            let value = header(headers, "x-hub-signature-256")?;
            let hex = value
                .strip_prefix("sha256=")
                .ok_or(Refusal::Malformed("expected sha256="))?;
            let signature = decode_hex(hex).ok_or(Refusal::Malformed("not hex"))?;
            let valid = verify(hmac::HMAC_SHA256, &config.secret, body, &signature);
            signed(valid, "github", body, None)
        }
        "slack" => {
            let timestamp = header(headers, "x-slack-request-timestamp")?;
            let value = header(headers, "x-slack-signature")?;
            let at = fresh(timestamp, now)?;
            let hex = value
                .strip_prefix("v0=")
                .ok_or(Refusal::Malformed("expected v0="))?;
            let signature = decode_hex(hex).ok_or(Refusal::Malformed("not hex"))?;
            let message = [b"v0:", timestamp.as_bytes(), b":", body].concat();
            let valid = verify(hmac::HMAC_SHA256, &config.secret, &message, &signature);
            signed(valid, "slack", &message, Some(at))
        }
        _ => {
            let name = config
                .header
                .as_deref()
                .unwrap_or("x-signature")
                .to_ascii_lowercase();
            let value = header(headers, &name)?;
            let encoded = value
                .trim()
                .strip_prefix(config.prefix.as_str())
                .ok_or(Refusal::Malformed("the prefix is missing"))?;
            let signature = match config.encoding.as_str() {
                "base64" => STANDARD
                    .decode(encoded)
                    .map_err(|_| Refusal::Malformed("not base64"))?,
                _ => decode_hex(encoded).ok_or(Refusal::Malformed("not hex"))?,
            };
            let algorithm = if config.algorithm == "sha1" {
                hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY
            } else {
                hmac::HMAC_SHA256
            };
            let valid = verify(algorithm, &config.secret, body, &signature);
            signed(valid, "hmac", body, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::hmac::{Hmac, Mac};
    use sha1::Sha1;
    use sha2::Sha256;

    /// The check's verdict without what was signed.
    fn check(
        config: &Signature,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<(), Refusal> {
        super::check(config, headers, body, "", now).map(drop)
    }

    fn config(scheme: &str, secret: &str) -> Signature {
        Signature {
            scheme: scheme.into(),
            secret: secret.into(),
            header: None,
            algorithm: "sha256".into(),
            prefix: String::new(),
            encoding: "hex".into(),
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    /// An HMAC computed with another implementation than the one under test.
    fn sha256_hex(secret: &str, message: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(message);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn github_documentation_example() {
        // From GitHub's "Validating webhook deliveries".
        let signed = headers(&[(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        let secret = config("github", "It's a Secret to Everybody");
        assert_eq!(check(&secret, &signed, b"Hello, World!", 0), Ok(()));
        assert_eq!(
            check(&secret, &signed, b"Hello, World?", 0),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            check(&config("github", "wrong"), &signed, b"Hello, World!", 0),
            Err(Refusal::Mismatch)
        );
        assert!(matches!(
            check(&secret, &HeaderMap::new(), b"Hello, World!", 0),
            Err(Refusal::MissingHeader(_))
        ));
    }

    #[test]
    fn slack_documentation_example() {
        // From Slack's "Verifying requests from Slack".
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let signed = headers(&[
            ("x-slack-request-timestamp", "1531420618"),
            (
                "x-slack-signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            ),
        ]);
        let secret = config("slack", "8f742231b10e8888abcd99yyyzzz85a5");
        assert_eq!(check(&secret, &signed, body, 1531420618 + 10), Ok(()));
        assert_eq!(
            check(&secret, &signed, body, 1531420618 + TOLERANCE_SECS + 1),
            Err(Refusal::Stale)
        );
        assert_eq!(
            check(&secret, &signed, &body[1..], 1531420618),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn stripe_signatures_with_several_v1_and_a_tolerance() {
        let secret = "whsec_test_secret";
        let body = br#"{"id":"evt_1","type":"customer.created"}"#;
        let timestamp = 1_700_000_000;
        let good = sha256_hex(
            secret,
            format!("{timestamp}.{}", std::str::from_utf8(body).unwrap()).as_bytes(),
        );
        let value = format!("t={timestamp},v1={},v1={good},v0=ignored", "00".repeat(32));
        let signed = headers(&[("stripe-signature", &value)]);
        let config = config("stripe", secret);
        assert_eq!(
            check(&config, &signed, body, timestamp + 299),
            Ok(()),
            "any v1 may match"
        );
        assert_eq!(
            check(&config, &signed, body, timestamp + 301),
            Err(Refusal::Stale)
        );
        assert_eq!(
            check(&config, &signed, b"{}", timestamp),
            Err(Refusal::Mismatch)
        );
        let unsigned = headers(&[("stripe-signature", &format!("t={timestamp}"))]);
        assert_eq!(
            check(&config, &unsigned, body, timestamp),
            Err(Refusal::Malformed("no v1="))
        );
    }

    #[test]
    fn item13_a_resent_delivery_has_the_same_digest_however_its_headers_read() {
        let github = config("github", "s");
        let body = b"{}";
        let hex = sha256_hex("s", body);
        let sent = |value: String| {
            super::check(
                &github,
                &headers(&[("x-hub-signature-256", &value)]),
                body,
                "",
                0,
            )
            .unwrap()
        };
        let first = sent(format!("sha256={hex}"));
        assert_eq!(first, sent(format!("sha256={}", hex.to_uppercase())));
        assert_eq!(first.timestamp, None);

        let stripe = config("stripe", "s");
        let at = |t: i64| {
            let good = sha256_hex("s", format!("{t}.{{}}").as_bytes());
            let value = format!("t={t},v1={good}");
            super::check(
                &stripe,
                &headers(&[("stripe-signature", &value)]),
                body,
                "",
                t,
            )
            .unwrap()
        };
        let (once, again) = (at(1_700_000_000), at(1_700_000_000));
        assert_eq!(once, again);
        assert_eq!(once.timestamp, Some(1_700_000_000));
        assert_ne!(
            once.digest,
            at(1_700_000_001).digest,
            "a new timestamp is a new delivery"
        );
        assert_ne!(once.digest, first.digest);
    }

    #[test]
    fn generic_hmac_in_hex_and_base64_with_sha1_or_sha256() {
        let body = b"{\"order\":42}";
        let hex = sha256_hex("s3cret", body);
        let mut sha1 = Hmac::<Sha1>::new_from_slice(b"s3cret").unwrap();
        sha1.update(body);
        let sha1_b64 = STANDARD.encode(sha1.finalize().into_bytes());

        let mut config = config("hmac", "s3cret");
        config.header = Some("X-Shop-Signature".into());
        config.prefix = "sha256=".into();
        assert_eq!(
            check(
                &config,
                &headers(&[("x-shop-signature", &format!("sha256={hex}"))]),
                body,
                0
            ),
            Ok(())
        );
        assert_eq!(
            check(&config, &headers(&[("x-shop-signature", &hex)]), body, 0),
            Err(Refusal::Malformed("the prefix is missing"))
        );
        config.prefix = String::new();
        config.algorithm = "sha1".into();
        config.encoding = "base64".into();
        assert_eq!(
            check(
                &config,
                &headers(&[("x-shop-signature", &sha1_b64)]),
                body,
                0
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &config,
                &headers(&[("x-shop-signature", &sha1_b64)]),
                b"{}",
                0
            ),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn twilio_documentation_example() {
        // Twilio's security guide: the URL, then each parameter sorted by name.
        let body = b"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let signed = headers(&[("x-twilio-signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")]);
        let twilio = config("twilio", "12345");
        assert!(super::check(&twilio, &signed, body, url, 0).is_ok());
        assert_eq!(
            super::check(&twilio, &signed, body, "https://mycompany.com/other", 0).map(drop),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            super::check(&twilio, &signed, &body[1..], url, 0).map(drop),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn linear_signs_the_body_in_hex() {
        let body = br#"{"action":"create","type":"Issue"}"#;
        let signed = headers(&[(
            "linear-signature",
            "a7bba58b65016c49731160ce8b989d0ca1f59132af4325a869c25a5740179f91",
        )]);
        let linear = config("linear", "lin_wh_secret");
        assert_eq!(check(&linear, &signed, body, 0), Ok(()));
        assert_eq!(check(&linear, &signed, b"{}", 0), Err(Refusal::Mismatch));
        assert!(matches!(
            check(&linear, &HeaderMap::new(), body, 0),
            Err(Refusal::MissingHeader(_))
        ));
    }
}
