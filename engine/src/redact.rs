//! Hiding credentials in text a step produces: URL query values and
//! fragments of secret-looking parameters, URL user-info, and header values
//! of secret-looking names. Errors, logs, events, dead-letter reasons and
//! stored step inputs go through here, since a URL such as
//! `…?api_key=…` can surface in any of them (reqwest's errors quote it).

use std::borrow::Cow;

/// What is shown instead of a hidden value.
pub const MASK: &str = "••••••";

/// Name parts that mark a header as carrying a credential.
const SECRET_HEADER_PARTS: [&str; 10] = [
    "key",
    "token",
    "secret",
    "auth",
    "signature",
    "password",
    "passwd",
    "cookie",
    "session",
    "credential",
];

/// Name parts that mark a query (or fragment) parameter as a credential;
/// `sig` and `code` cover signed URLs and OAuth authorization codes.
const SECRET_PARAM_PARTS: [&str; 12] = [
    "key",
    "token",
    "secret",
    "auth",
    "signature",
    "password",
    "passwd",
    "pwd",
    "sig",
    "code",
    "session",
    "credential",
];

fn contains_any(name: &str, parts: &[&str]) -> bool {
    let name = name.to_ascii_lowercase();
    parts.iter().any(|part| name.contains(part))
}

/// Whether a header of this name carries a credential (case-insensitive).
pub fn is_secret_header(name: &str) -> bool {
    contains_any(name, &SECRET_HEADER_PARTS)
}

/// Whether a query parameter of this (possibly percent-encoded) name does.
pub fn is_secret_param(name: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(name.as_bytes())
        .map(|(name, _)| name.into_owned())
        .collect();
    contains_any(&decoded, &SECRET_PARAM_PARTS)
}

/// A URL as it may be shown: user-info and secret parameter values masked.
pub fn url(url: &url::Url) -> String {
    text(url.as_str()).into_owned()
}

/// `text` with the credentials of every URL or query string in it masked;
/// borrowed when there is nothing to hide.
pub fn text(text: &str) -> Cow<'_, str> {
    if !text.contains("://") && !text.contains('=') {
        return Cow::Borrowed(text);
    }
    let masked = params(&user_info(text));
    if masked == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(masked)
    }
}

/// Ends an authority or a parameter value inside running text. `)` and
/// `;` are not among them: a secret may contain them, and masking a little
/// too much is better than showing the rest of a secret.
fn ends_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// Masks `user:password@` after every `://`.
fn user_info(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_len = after
            .find(|c: char| ends_value(c) || matches!(c, '/' | '?' | '#'))
            .unwrap_or(after.len());
        match after[..authority_len].rfind('@') {
            Some(user_end) => {
                out.push_str(MASK);
                rest = &after[user_end..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// Masks the values of secret-looking `name=value` parameters that follow
/// `?`, `&` or `#`.
fn params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(['?', '&', '#']) {
        let (before, after) = rest.split_at(start + 1);
        out.push_str(before);
        let name_len = after
            .find(|c: char| ends_value(c) || matches!(c, '=' | '&' | '#' | '?'))
            .unwrap_or(after.len());
        let (name, tail) = after.split_at(name_len);
        out.push_str(name);
        rest = tail;
        if let Some(value) = tail.strip_prefix('=')
            && is_secret_param(name)
        {
            let value_len = value
                .find(|c: char| ends_value(c) || matches!(c, '&' | '#'))
                .unwrap_or(value.len());
            out.push('=');
            if value_len > 0 {
                out.push_str(MASK);
            }
            rest = &value[value_len..];
        }
    }
    out.push_str(rest);
    out
}

/// Every string in `value`, at any depth, passed through [`text`].
pub fn json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(masked) = text(s) {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(json),
        serde_json::Value::Object(map) => map.values_mut().for_each(json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item8_query_values_of_secret_parameters_are_masked() {
        assert_eq!(
            text("error sending request for url (http://127.0.0.1:9/x?api_key=SUPERSECRET&page=2)"),
            "error sending request for url (http://127.0.0.1:9/x?api_key=••••••&page=2)"
        );
        for (name, hidden) in [
            ("access_token", true),
            ("X-Amz-Signature", true),
            ("sig", true),
            ("code", true),
            ("client_secret", true),
            ("Password", true),
            ("api%5Fkey", true),
            ("page", false),
            ("q", false),
        ] {
            let shown = text(&format!("https://h/p?{name}=abc123#frag")).into_owned();
            assert_eq!(!shown.contains("abc123"), hidden, "{name}: {shown}");
        }
        assert_eq!(
            text("https://app/cb#access_token=abc&state=1"),
            "https://app/cb#access_token=••••••&state=1"
        );
        assert_eq!(
            text("https://h/?token=a)b;c d"),
            "https://h/?token=•••••• d"
        );
        assert_eq!(text("?token="), "?token=");
    }

    #[test]
    fn item8_user_info_in_urls_is_masked() {
        assert_eq!(
            text("postgres://app:hunter2@db:5432/x and http://u@h/"),
            "postgres://••••••@db:5432/x and http://••••••@h/"
        );
        let parsed = url::Url::parse("https://ada:pw@example.com/a?key=1&b=2").unwrap();
        assert_eq!(url(&parsed), "https://••••••@example.com/a?key=••••••&b=2");
        assert!(matches!(text("nothing to hide: a=1"), Cow::Borrowed(_)));
        assert_eq!(text("mail ada@example.com"), "mail ada@example.com");
    }

    #[test]
    fn item8_header_names_that_carry_credentials() {
        for name in [
            "Authorization",
            "X-API-Key",
            "Private-Token",
            "X-Hub-Signature-256",
            "X-Client-Secret",
            "Cookie",
            "X-Password",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in ["Accept", "Content-Type", "X-Request-Id", "User-Agent"] {
            assert!(!is_secret_header(name), "{name}");
        }
    }
}
