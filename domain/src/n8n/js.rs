//! The JavaScript n8n expressions are written in, as far as import reads
//! it: literals, paths, calls, the usual operators, `? :`, template
//! literals. Parsed into a small tree that [`super::expression`]
//! translates; anything else (arrow functions, assignments, `new`, regular
//! expressions) is a parse error naming what was found.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Js {
    Number(String),
    Str(String),
    Bool(bool),
    Null,
    Undefined,
    Ident(String),
    /// `a.b`, also `a?.b`.
    Member(Box<Js>, String),
    /// `a[b]`.
    Index(Box<Js>, Box<Js>),
    Call(Box<Js>, Vec<Js>),
    Unary(&'static str, Box<Js>),
    Binary(&'static str, Box<Js>, Box<Js>),
    Conditional(Box<Js>, Box<Js>, Box<Js>),
    Array(Vec<Js>),
    Object(Vec<(String, Js)>),
    /// `` `a ${b} c` ``: text and expressions in turn.
    Template(Vec<TemplatePart>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Text(String),
    Expr(Js),
}

/// Why a piece of JavaScript could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(String),
    Str(String),
    Template(Vec<RawPart>),
    Ident(String),
    Punct(&'static str),
}

#[derive(Clone, Debug, PartialEq)]
enum RawPart {
    Text(String),
    Code(String),
}

const PUNCTUATION: [&str; 31] = [
    "===", "!==", "...", "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+",
    "-", "*", "/", "%", "<", ">", "!", "?", ":", ".", ",", "(", ")", "[", "]", "=",
];
const BRACES: [&str; 2] = ["{", "}"];

fn tokenize(source: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_')
            {
                i += 1;
            }
            tokens.push(Token::Number(chars[start..i].iter().collect()));
        } else if c == '"' || c == '\'' {
            let (text, next) = quoted(&chars, i, c)?;
            tokens.push(Token::Str(text));
            i = next;
        } else if c == '`' {
            let (parts, next) = template(&chars, i)?;
            tokens.push(Token::Template(parts));
            i = next;
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
            let Some(punct) = PUNCTUATION
                .iter()
                .chain(BRACES.iter())
                .find(|p| rest.starts_with(**p))
            else {
                return Err(ParseError(format!("unexpected `{c}`")));
            };
            tokens.push(Token::Punct(punct));
            i += punct.chars().count();
        }
    }
    Ok(tokens)
}

fn quoted(chars: &[char], start: usize, quote: char) -> Result<(String, usize), ParseError> {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            c if c == quote => return Ok((text, i + 1)),
            '\\' => {
                let escaped = chars
                    .get(i + 1)
                    .ok_or_else(|| ParseError("unterminated string".into()))?;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => *other,
                });
                i += 2;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(ParseError("unterminated string".into()))
}

fn template(chars: &[char], start: usize) -> Result<(Vec<RawPart>, usize), ParseError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '`' => {
                if !text.is_empty() {
                    parts.push(RawPart::Text(text));
                }
                return Ok((parts, i + 1));
            }
            '\\' if i + 1 < chars.len() => {
                text.push(chars[i + 1]);
                i += 2;
            }
            '$' if chars.get(i + 1) == Some(&'{') => {
                if !text.is_empty() {
                    parts.push(RawPart::Text(std::mem::take(&mut text)));
                }
                let mut depth = 1;
                let mut j = i + 2;
                while j < chars.len() && depth > 0 {
                    match chars[j] {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if depth > 0 {
                    return Err(ParseError("unterminated `${` in a template literal".into()));
                }
                parts.push(RawPart::Code(chars[i + 2..j - 1].iter().collect()));
                i = j;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(ParseError("unterminated template literal".into()))
}

/// How deep expressions may nest (parentheses, calls, template literals):
/// past it the expression is refused rather than exhausting the stack.
const MAX_DEPTH: usize = 64;

/// Parses one expression.
pub fn parse(source: &str) -> Result<Js, ParseError> {
    parse_at(source, 0)
}

fn parse_at(source: &str, depth: usize) -> Result<Js, ParseError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        depth,
    };
    let expr = parser.expression()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) => Err(ParseError(format!("unexpected {}", describe(token)))),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Punct(p) => format!("`{p}`"),
        Token::Ident(name) => format!("`{name}`"),
        Token::Number(n) => format!("number {n}"),
        Token::Str(_) => "a string".into(),
        Token::Template(_) => "a template literal".into(),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

/// Binary operators by precedence, loosest first.
const LEVELS: [&[&str]; 6] = [
    &["||", "??"],
    &["&&"],
    &["===", "!==", "==", "!="],
    &["<", "<=", ">", ">="],
    &["+", "-"],
    &["*", "/", "%"],
];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, punct: &str) -> bool {
        if matches!(self.peek(), Some(Token::Punct(p)) if *p == punct) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, punct: &str) -> Result<(), ParseError> {
        if self.eat(punct) {
            return Ok(());
        }
        Err(ParseError(match self.peek() {
            Some(token) => format!("expected `{punct}`, found {}", describe(token)),
            None => format!("expected `{punct}` at the end"),
        }))
    }

    fn expression(&mut self) -> Result<Js, ParseError> {
        self.nested(Self::conditional)
    }

    fn conditional(&mut self) -> Result<Js, ParseError> {
        let test = self.binary(0)?;
        if self.eat("?") {
            let yes = self.expression()?;
            self.expect(":")?;
            let no = self.expression()?;
            return Ok(Js::Conditional(Box::new(test), Box::new(yes), Box::new(no)));
        }
        if let Some(Token::Punct(p)) = self.peek()
            && matches!(*p, "=" | "=>" | "++" | "--")
        {
            return Err(ParseError(format!(
                "`{p}` (assignments and functions) cannot be imported"
            )));
        }
        Ok(test)
    }

    fn binary(&mut self, level: usize) -> Result<Js, ParseError> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            let op = match self.peek() {
                Some(Token::Punct(p)) if LEVELS[level].contains(p) => *p,
                _ => return Ok(left),
            };
            self.at += 1;
            let right = self.binary(level + 1)?;
            left = Js::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Js, ParseError> {
        for op in ["!", "-", "+"] {
            if self.eat(op) {
                // Counted as nesting: `!!!!…` recurses as deep as it is long.
                return Ok(Js::Unary(op, Box::new(self.nested(Self::unary)?)));
            }
        }
        if let Some(Token::Ident(word)) = self.peek()
            && matches!(
                word.as_str(),
                "typeof" | "new" | "delete" | "void" | "await" | "function"
            )
        {
            return Err(ParseError(format!("`{word}` cannot be imported")));
        }
        self.postfix()
    }

    fn nested(
        &mut self,
        parse: fn(&mut Parser) -> Result<Js, ParseError>,
    ) -> Result<Js, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError(format!(
                "the expression nests more than {MAX_DEPTH} levels deep"
            )));
        }
        self.depth += 1;
        let parsed = parse(self);
        self.depth -= 1;
        parsed
    }

    fn postfix(&mut self) -> Result<Js, ParseError> {
        let mut expr = self.primary()?;
        loop {
            if self.eat(".") || self.eat("?.") {
                match self.tokens.get(self.at).cloned() {
                    Some(Token::Ident(name)) => {
                        self.at += 1;
                        expr = Js::Member(Box::new(expr), name);
                    }
                    _ => return Err(ParseError("expected a name after `.`".into())),
                }
            } else if self.eat("[") {
                let index = self.expression()?;
                self.expect("]")?;
                expr = Js::Index(Box::new(expr), Box::new(index));
            } else if self.eat("(") {
                let mut args = Vec::new();
                if !self.eat(")") {
                    loop {
                        args.push(self.expression()?);
                        if self.eat(")") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                expr = Js::Call(Box::new(expr), args);
            } else {
                return Ok(expr);
            }
        }
    }

    fn primary(&mut self) -> Result<Js, ParseError> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| ParseError("the expression ends too early".into()))?;
        self.at += 1;
        Ok(match token {
            Token::Number(n) => Js::Number(n),
            Token::Str(s) => Js::Str(s),
            Token::Template(parts) => Js::Template(
                parts
                    .into_iter()
                    .map(|part| match part {
                        RawPart::Text(text) => Ok(TemplatePart::Text(text)),
                        RawPart::Code(code) => {
                            parse_at(&code, self.depth + 1).map(TemplatePart::Expr)
                        }
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Token::Ident(word) => match word.as_str() {
                "true" => Js::Bool(true),
                "false" => Js::Bool(false),
                "null" => Js::Null,
                "undefined" => Js::Undefined,
                _ => {
                    if matches!(self.peek(), Some(Token::Punct("=>"))) {
                        return Err(ParseError("arrow functions cannot be imported".into()));
                    }
                    Js::Ident(word)
                }
            },
            Token::Punct("(") => {
                let inner = self.expression()?;
                if matches!(self.peek(), Some(Token::Punct(","))) {
                    return Err(ParseError("arrow functions cannot be imported".into()));
                }
                self.expect(")")?;
                if matches!(self.peek(), Some(Token::Punct("=>"))) {
                    return Err(ParseError("arrow functions cannot be imported".into()));
                }
                inner
            }
            Token::Punct("[") => {
                let mut items = Vec::new();
                if !self.eat("]") {
                    loop {
                        items.push(self.expression()?);
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Js::Array(items)
            }
            Token::Punct("{") => {
                let mut entries = Vec::new();
                if !self.eat("}") {
                    loop {
                        let key = match self.tokens.get(self.at).cloned() {
                            Some(Token::Ident(name)) | Some(Token::Str(name)) => name,
                            _ => {
                                return Err(ParseError(
                                    "expected a key in an object literal".into(),
                                ));
                            }
                        };
                        self.at += 1;
                        self.expect(":")?;
                        entries.push((key, self.expression()?));
                        if self.eat("}") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Js::Object(entries)
            }
            other => return Err(ParseError(format!("unexpected {}", describe(&other)))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_calls_and_operators_parse() {
        let parsed =
            parse("$('Get user').item.json.email.toLowerCase() === 'a' && !$json.x").unwrap();
        let Js::Binary("&&", left, right) = parsed else {
            panic!("{parsed:?}")
        };
        assert!(matches!(*left, Js::Binary("===", _, _)));
        assert!(matches!(*right, Js::Unary("!", _)));
        assert_eq!(
            parse("`Hi ${$json.name}!`").unwrap(),
            Js::Template(vec![
                TemplatePart::Text("Hi ".into()),
                TemplatePart::Expr(Js::Member(
                    Box::new(Js::Ident("$json".into())),
                    "name".into()
                )),
                TemplatePart::Text("!".into()),
            ])
        );
        assert!(matches!(parse("a ? b : c").unwrap(), Js::Conditional(..)));
        assert!(matches!(parse("1 + 2 * 3").unwrap(), Js::Binary("+", _, _)));
    }

    #[test]
    fn code_beyond_expressions_is_refused_by_name() {
        for (source, says) in [
            ("$json.items.map(i => i.id)", "arrow functions"),
            ("x = 1", "assignments"),
            ("new Date()", "`new`"),
            ("typeof x", "`typeof`"),
            ("'open", "unterminated string"),
            ("a #", "unexpected `#`"),
        ] {
            let error = parse(source).unwrap_err();
            assert!(error.0.contains(says), "{source}: {error}");
        }
        // However deep the input nests, the parser refuses before the
        // stack runs out.
        let template = (0..1_000).fold("x".to_owned(), |inner, _| format!("`${{{inner}}}`"));
        for source in ["(".repeat(100_000), "!".repeat(100_000), template] {
            let error = parse(&source).unwrap_err();
            assert!(error.0.contains("nests more than 64 levels"), "{error}");
        }
    }
}
