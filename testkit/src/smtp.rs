//! A real SMTP server on 127.0.0.1 speaking enough of RFC 5321 for a
//! client to deliver mail (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA), that
//! records each message. Recipients containing `reject` are refused with
//! 550, and credentials other than the expected ones with 535.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// A message as the server received it.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// `user:password` from AUTH, if the client authenticated.
    pub login: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, as sent after DATA.
    pub data: String,
}

#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpServer {
    /// Accepts `user`/`password` when AUTH is used.
    pub async fn start(user: &str, password: &str) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("SMTP test server binds");
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let expected = format!("{user}:{password}");
        let shared = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, shared.clone(), expected.clone()));
            }
        });
        SmtpServer { port, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

fn decode_base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.trim().bytes().filter(|b| *b != b'=') {
        let Some(value) = ALPHABET.iter().position(|c| *c == byte) else {
            continue;
        };
        bits = (bits << 6) | value as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn session(stream: TcpStream, mails: Arc<Mutex<Vec<Mail>>>, expected: String) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut mail = Mail::default();
    let mut login = None;
    let reply = |text: &str| format!("{text}\r\n");
    if write
        .write_all(reply("220 localhost ESMTP test").as_bytes())
        .await
        .is_err()
    {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            "250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME".to_owned()
        } else if upper.starts_with("AUTH PLAIN") {
            let encoded = line[10..].trim().to_owned();
            let encoded = if encoded.is_empty() {
                let _ = write.write_all(reply("334 ").as_bytes()).await;
                lines.next_line().await.ok().flatten().unwrap_or_default()
            } else {
                encoded
            };
            let parts: Vec<String> = decode_base64(&encoded)
                .split('\0')
                .map(str::to_owned)
                .collect();
            let given = format!(
                "{}:{}",
                parts.get(1).cloned().unwrap_or_default(),
                parts.get(2).cloned().unwrap_or_default()
            );
            if given == expected {
                login = Some(given);
                "235 2.7.0 Authentication successful".to_owned()
            } else {
                "535 5.7.8 Authentication credentials invalid".to_owned()
            }
        } else if upper.starts_with("AUTH LOGIN") {
            let _ = write.write_all(reply("334 VXNlcm5hbWU6").as_bytes()).await;
            let user = decode_base64(&lines.next_line().await.ok().flatten().unwrap_or_default());
            let _ = write.write_all(reply("334 UGFzc3dvcmQ6").as_bytes()).await;
            let password =
                decode_base64(&lines.next_line().await.ok().flatten().unwrap_or_default());
            let given = format!("{user}:{password}");
            if given == expected {
                login = Some(given);
                "235 2.7.0 Authentication successful".to_owned()
            } else {
                "535 5.7.8 Authentication credentials invalid".to_owned()
            }
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                login: login.clone(),
                from: address(&line[10..]),
                ..Mail::default()
            };
            "250 2.1.0 OK".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            let to = address(&line[8..]);
            if to.contains("reject") {
                "550 5.1.1 No such user".to_owned()
            } else {
                mail.to.push(to);
                "250 2.1.5 OK".to_owned()
            }
        } else if upper == "DATA" {
            let _ = write
                .write_all(reply("354 End data with <CR><LF>.<CR><LF>").as_bytes())
                .await;
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
                data.push_str("\r\n");
            }
            mail.data = data;
            mails.lock().unwrap().push(std::mem::take(&mut mail));
            "250 2.0.0 OK queued as 1".to_owned()
        } else if upper == "QUIT" {
            let _ = write.write_all(reply("221 2.0.0 Bye").as_bytes()).await;
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 OK".to_owned()
        } else {
            "502 5.5.2 Command not recognised".to_owned()
        };
        if write.write_all(reply(&answer).as_bytes()).await.is_err() {
            return;
        }
    }
}

/// `<a@x> SIZE=…` → `a@x`.
fn address(text: &str) -> String {
    let text = text.trim();
    match (text.find('<'), text.find('>')) {
        (Some(start), Some(end)) if end > start => text[start + 1..end].to_owned(),
        _ => text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}
