//! Reading a description: literal values (e-mail addresses, phone
//! numbers, #channels, URLs, quoted text, amounts) are lifted out first so
//! that splitting never cuts through them, then the rest is cut into
//! clauses at sentence ends, commas and connectives, and words are reduced
//! to a canonical form so that "ping", "notify" and "post" meet.

use std::sync::LazyLock;

use regex::Regex;

/// A literal value found in the description.
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    pub kind: LiteralKind,
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralKind {
    Email,
    Phone,
    Channel,
    Url,
    Quoted,
}

impl LiteralKind {
    pub fn name(self) -> &'static str {
        match self {
            LiteralKind::Email => "email",
            LiteralKind::Phone => "phone",
            LiteralKind::Channel => "channel",
            LiteralKind::Url => "url",
            LiteralKind::Quoted => "quoted",
        }
    }
}

/// The description with its literals replaced by `§<index>` markers.
pub struct Lifted {
    pub text: String,
    pub literals: Vec<Literal>,
}

static LITERALS: LazyLock<Vec<(LiteralKind, Regex)>> = LazyLock::new(|| {
    let re = |pattern: &str| Regex::new(pattern).expect("literal pattern");
    vec![
        // Quoted first: a message may itself contain an address or a URL.
        (
            LiteralKind::Quoted,
            re(r#""([^"]{1,500})"|“([^”]{1,500})”|(?:^|\s)'([^']{1,500})'(?:$|[\s.,!?;:])"#),
        ),
        (
            LiteralKind::Url,
            re(r#"https?://[^\s,;"'<>)]+[^\s,;"'<>).!?]"#),
        ),
        (
            LiteralKind::Email,
            re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
        ),
        (LiteralKind::Phone, re(r"\+\d[\d\s().-]{6,18}\d")),
        (
            LiteralKind::Channel,
            re(r"(?:^|\s)(#[A-Za-z0-9][A-Za-z0-9_-]*)"),
        ),
    ]
});

/// Lifts the literals out of `prompt` (earlier kinds first: a quoted
/// message may itself hold an address or a URL).
pub fn lift(prompt: &str) -> Lifted {
    // `§` marks lifted literals: one the user typed is just a letter.
    let mut text = prompt.replace('§', "S");
    let mut literals = Vec::new();
    for (kind, pattern) in LITERALS.iter() {
        let mut out = String::with_capacity(text.len() + 16);
        let mut last = 0;
        for captures in pattern.captures_iter(&text) {
            // The value is the first group that matched, or all of it.
            let value = captures
                .iter()
                .skip(1)
                .flatten()
                .next()
                .or_else(|| captures.get(0))
                .expect("a match");
            let mut span = value.range();
            if *kind == LiteralKind::Quoted {
                // The quotes go with the value.
                let before = text[..span.start]
                    .chars()
                    .next_back()
                    .map_or(0, char::len_utf8);
                let after = text[span.end..].chars().next().map_or(0, char::len_utf8);
                span = span.start - before..span.end + after;
            }
            out.push_str(&text[last..span.start]);
            out.push_str(&format!(" §{} ", literals.len()));
            literals.push(Literal {
                kind: *kind,
                value: value.as_str().trim().to_owned(),
            });
            last = span.end;
        }
        out.push_str(&text[last..]);
        text = out;
    }
    Lifted {
        text: text.to_lowercase(),
        literals,
    }
}

impl Lifted {
    /// A piece of the lifted text with its literals written back, so that
    /// it can be read again on its own.
    pub fn restore(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (i, literal) in self.literals.iter().enumerate().rev() {
            let value = match literal.kind {
                LiteralKind::Quoted => format!("\"{}\"", literal.value),
                _ => literal.value.clone(),
            };
            out = out.replace(&format!("§{i}"), &value);
        }
        out
    }
}

/// The literal markers in a piece of lifted text, in order.
pub fn markers(text: &str) -> Vec<usize> {
    static MARKER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"§(\d+)").expect("marker"));
    MARKER
        .captures_iter(text)
        .filter_map(|c| c[1].parse().ok())
        .collect()
}

/// Cuts lifted text into clauses: at sentence ends, commas, semicolons
/// and the connectives people chain steps with.
pub fn clauses(text: &str) -> Vec<String> {
    static SPLIT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?:[.;!?:]\s+|[.;!?]$|,\s*|\s+(?:and then|then|and also|also|and|after that|afterwards|next|finally|plus|&)\s+|\s+-+\s+)",
        )
        .expect("split")
    });
    let mut out: Vec<String> = Vec::new();
    for piece in SPLIT.split(text) {
        let piece = piece.trim().trim_matches(|c: char| c == '.' || c == ',');
        let piece = strip_leading(piece);
        if piece.is_empty() {
            continue;
        }
        // A list of literals ("a@x.com, b@x.com") belongs to the clause before.
        let only_literals = words(piece).iter().all(|w| matches!(*w, "or" | "and"));
        match out.last_mut() {
            Some(previous) if only_literals => {
                previous.push(' ');
                previous.push_str(piece);
            }
            _ => out.push(piece.to_owned()),
        }
    }
    out
}

/// Drops filler at the start of a clause ("and", "then", "pls").
fn strip_leading(mut piece: &str) -> &str {
    const FILLER: &[&str] = &[
        "and ",
        "then ",
        "also ",
        "please ",
        "pls ",
        "plz ",
        "just ",
        "so ",
        "i want to ",
        "i'd like to ",
        "i want ",
        "can you ",
        "could you ",
        "we should ",
        "i need to ",
        "automatically ",
        "immediately ",
        "right away ",
    ];
    loop {
        let before = piece;
        for filler in FILLER {
            if let Some(rest) = piece.strip_prefix(filler) {
                piece = rest.trim_start();
            }
        }
        if before == piece {
            return piece;
        }
    }
}

/// The words of lifted text: letters, digits and `_`, markers dropped.
pub fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '\'' | '§')))
        .map(|w| w.trim_matches(|c| c == '-' || c == '\''))
        .filter(|w| !w.is_empty() && !w.starts_with('§'))
        .collect()
}

/// A word's canonical form: synonyms of what steps do and act on meet
/// in one word, plurals in their singular. Provider names and synonyms
/// come from the catalogue, not from here.
pub fn canon(word: &str) -> &str {
    let word = word.trim_end_matches("'s");
    match word {
        "send" | "sends" | "sent" | "post" | "posts" | "posted" | "notify" | "notifies"
        | "ping" | "alert" | "tell" | "announce" | "share" | "drop" | "shoot" | "write"
        | "deliver" | "broadcast" | "dm" | "let" => "send",
        "add" | "adds" | "added" | "subscribe" | "subscribes" | "subscribed" | "enroll"
        | "enrol" | "put" | "insert" | "sync" | "push" | "upsert" | "join" | "joined" | "joins" => {
            "add"
        }
        "create" | "creates" | "created" | "open" | "opens" | "opened" | "file" | "raise"
        | "make" | "log" | "new" | "start" | "register" | "signs" | "sign" | "signed"
        | "signup" | "registers" | "registered" => "create",
        "tag" | "tags" | "tagged" | "label" | "labels" | "labeled" | "labelled" => "tag",
        "comment" | "comments" | "commented" | "reply" | "replies" | "respond" => "comment",
        "update" | "updates" | "updated" | "edit" | "edits" | "edited" | "change" | "changes"
        | "changed" | "modify" | "modified" => "update",
        "delete" | "deletes" | "deleted" | "remove" | "removes" | "removed" | "cancel"
        | "cancels" | "cancelled" | "canceled" => "delete",
        "list" | "lists" | "fetch" | "get" | "retrieve" | "find" | "look" | "load" | "grab"
        | "read" | "collect" | "gather" => "list",
        "text" | "texts" | "sms" | "txt" => "sms",
        "email" | "emails" | "e-mail" | "mail" | "emailed" | "mails" => "email",
        "ticket" | "tickets" | "bug" | "bugs" | "issue" | "issues" | "task" | "tasks" => "issue",
        "message" | "messages" | "notification" | "notifications" | "note" | "alert's"
        | "announcement" | "msg" => "message",
        "member" | "members" | "subscriber" | "subscribers" | "contact" | "contacts"
        | "audience" | "newsletter" | "mailing" => "member",
        "customer" | "customers" | "client" | "clients" | "user" | "users" | "buyer" | "buyers"
        | "signup's" => "customer",
        "payment" | "payments" | "charge" | "charges" | "charged" | "pay" | "pays" | "paid"
        | "purchase" | "purchases" | "bill" | "billed" => "payment",
        "refund" | "refunds" | "refunded" => "refund",
        "succeed" | "succeeds" | "succeeded" | "successful" | "success" | "goes" | "completes"
        | "completed" | "received" | "receives" | "comes" | "through" => "succeeded",
        "fail" | "fails" | "failed" | "failing" | "failure" | "declined" | "declines"
        | "bounced" => "failed",
        "invoice" | "invoices" => "invoice",
        "pr" | "prs" => "pull",
        "react" | "reacts" | "reacted" | "reaction" | "reactions" => "reaction",
        "call" | "calls" | "hit" | "invoke" | "forward" | "request" | "requests" => "request",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_survive_splitting() {
        let lifted = lift(
            "Post \"Deploy done, all good\" to #ops and email bob@example.com, then call https://127.0.0.1:9/x.",
        );
        let kinds: Vec<_> = lifted
            .literals
            .iter()
            .map(|l| (l.kind, l.value.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (LiteralKind::Quoted, "Deploy done, all good"),
                (LiteralKind::Url, "https://127.0.0.1:9/x"),
                (LiteralKind::Email, "bob@example.com"),
                (LiteralKind::Channel, "#ops"),
            ]
        );
        let parts = clauses(&lifted.text);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(markers(&parts[0]), vec![0, 3]);
    }

    #[test]
    fn phones_and_apostrophes() {
        let lifted = lift("text the customer's phone at +1 415 555 0100 when it's done");
        assert_eq!(lifted.literals.len(), 1);
        assert_eq!(lifted.literals[0].kind, LiteralKind::Phone);
        assert_eq!(lifted.literals[0].value, "+1 415 555 0100");
    }
}
