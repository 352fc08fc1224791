//! The operator's mail server for alert e-mails: its URL (kept out of
//! `Debug` and logs, as it may hold a password) and the SMTP settings the
//! alert channels send with.

use super::Config;

impl Config {
    /// The operator's mail server for alert e-mails, when configured.
    pub fn mailer(&self) -> Option<domain::alerts::Mailer> {
        let url = &self.smtp_url.as_ref()?.0;
        let mut fields = serde_json::Map::new();
        let security = url
            .query_pairs()
            .find(|(k, _)| k == "security")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| {
                if url.scheme() == "smtps" {
                    "tls"
                } else {
                    "starttls"
                }
                .into()
            });
        fields.insert("host".into(), url.host_str().unwrap_or_default().into());
        if let Some(port) = url.port() {
            fields.insert("port".into(), port.to_string().into());
        }
        fields.insert("security".into(), security.into());
        if !url.username().is_empty() {
            fields.insert("username".into(), percent_decode(url.username()).into());
            fields.insert(
                "password".into(),
                percent_decode(url.password().unwrap_or_default()).into(),
            );
        }
        if let Some(from) = &self.smtp_from {
            fields.insert("from".into(), from.trim().into());
        }
        Some(domain::alerts::Mailer {
            server: engine::credentials::Credential {
                kind: "smtp".into(),
                fields,
            },
        })
    }
}

/// The alert mail server's URL; never shown (it may hold a password).
#[derive(Clone)]
pub struct SmtpUrl(pub url::Url);

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

pub(super) fn parse_smtp_url(text: &str) -> Result<SmtpUrl, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none_or(str::is_empty) {
        return Err("smtp://user:password@host:587 or smtps://user:password@host:465".into());
    }
    if let Some((_, security)) = url.query_pairs().find(|(k, _)| k == "security")
        && !matches!(security.as_ref(), "starttls" | "tls" | "none")
    {
        return Err("security= must be starttls, tls or none".into());
    }
    Ok(SmtpUrl(url))
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
