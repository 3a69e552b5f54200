//! The lexer: source text to tokens, each with its byte span.
//!
//! It reads the lexical structure of docs/language.md and nothing more;
//! whether the tokens form a contract is the parser's business.
//!
//! **Invariants:**
//! - lexing is total: any `&str` gives a token list ending in exactly one
//!   [`TokenKind::Eof`], and never panics;
//! - token spans are non-empty (except `Eof`), increasing, disjoint, and
//!   start and end on `char` boundaries of the source;
//! - every problem is reported once, as a diagnostic (`E0002`, `E0004`),
//!   and the lexer carries on: a bad stretch of text becomes one
//!   [`TokenKind::Error`] token (or a [`Token::malformed`] string), which
//!   the parser knows was already reported and so does not report again.
//!
//! Two things are rejected here on purpose, beyond the grammar: Unicode
//! text-direction controls in comments and strings, since they can make
//! source read differently from how it parses ("Trojan Source",
//! CVE-2021-42574), and control characters in strings, since a reason
//! string is shown to users. `/* ... */` is not sotto, but it is skipped
//! as a comment (with an error) so that one block comment yields one
//! diagnostic rather than one per word inside it.

use crate::diagnostic::{Diagnostic, Span};

/// What a token is. Literals carry their value, identifiers their name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A name: `[A-Za-z_][A-Za-z0-9_]*`, not a keyword. (A name with
    /// non-ASCII letters is also an `Ident`, after an `E0002`, so that the
    /// parser reads the structure around it.)
    Ident(String),
    /// A decimal integer literal within `u64`.
    Int(u64),
    /// A `0x` literal of exactly 64 hex digits.
    Bytes32Lit([u8; 32]),
    /// A string literal, escapes resolved.
    Str(String),
    /// `contract`
    Contract,
    /// `party`
    Party,
    /// `state`
    State,
    /// `fn`
    Fn,
    /// `by`
    By,
    /// `let`
    Let,
    /// `if`
    If,
    /// `else`
    Else,
    /// `require`
    Require,
    /// `transfer`
    Transfer,
    /// `from`
    From,
    /// `to`
    To,
    /// `reveal`
    Reveal,
    /// `await`
    Await,
    /// `silent`
    Silent,
    /// `finish`
    Finish,
    /// `true`
    True,
    /// `false`
    False,
    /// `public`
    Public,
    /// `private`
    Private,
    /// `now`
    Now,
    /// `u64`
    U64,
    /// `bool`
    Bool,
    /// `bytes32`
    Bytes32,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `;`
    Semi,
    /// `:`
    Colon,
    /// `=`
    Assign,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `!`
    Bang,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    EqEq,
    /// `!=`
    Ne,
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// Text that is no token (an invalid character, an out-of-range or
    /// malformed literal). Always already reported.
    Error,
    /// The end of the input; always the last token, with an empty span at
    /// the end of the source.
    Eof,
}

/// The keywords, in the order docs/language.md lists them.
pub const KEYWORDS: [&str; 24] = [
    "contract", "party", "state", "fn", "by", "let", "if", "else", "require", "transfer", "from",
    "to", "reveal", "await", "silent", "finish", "true", "false", "public", "private", "now",
    "u64", "bool", "bytes32",
];

/// The punctuation tokens, in the order docs/language.md lists them.
pub const PUNCTUATION: [&str; 22] = [
    "{", "}", "(", ")", ",", ";", ":", "=", "+", "-", "*", "/", "%", "!", "<", ">", "<=", ">=",
    "==", "!=", "&&", "||",
];

impl TokenKind {
    /// The keyword spelled `word`, if it is one.
    pub fn keyword(word: &str) -> Option<TokenKind> {
        Some(match word {
            "contract" => TokenKind::Contract,
            "party" => TokenKind::Party,
            "state" => TokenKind::State,
            "fn" => TokenKind::Fn,
            "by" => TokenKind::By,
            "let" => TokenKind::Let,
            "if" => TokenKind::If,
            "else" => TokenKind::Else,
            "require" => TokenKind::Require,
            "transfer" => TokenKind::Transfer,
            "from" => TokenKind::From,
            "to" => TokenKind::To,
            "reveal" => TokenKind::Reveal,
            "await" => TokenKind::Await,
            "silent" => TokenKind::Silent,
            "finish" => TokenKind::Finish,
            "true" => TokenKind::True,
            "false" => TokenKind::False,
            "public" => TokenKind::Public,
            "private" => TokenKind::Private,
            "now" => TokenKind::Now,
            "u64" => TokenKind::U64,
            "bool" => TokenKind::Bool,
            "bytes32" => TokenKind::Bytes32,
            _ => return None,
        })
    }

    /// How a keyword or punctuation token is spelled; `None` for tokens
    /// with contents (names, literals), `Error` and `Eof`.
    pub fn fixed_text(&self) -> Option<&'static str> {
        Some(match self {
            TokenKind::Contract => "contract",
            TokenKind::Party => "party",
            TokenKind::State => "state",
            TokenKind::Fn => "fn",
            TokenKind::By => "by",
            TokenKind::Let => "let",
            TokenKind::If => "if",
            TokenKind::Else => "else",
            TokenKind::Require => "require",
            TokenKind::Transfer => "transfer",
            TokenKind::From => "from",
            TokenKind::To => "to",
            TokenKind::Reveal => "reveal",
            TokenKind::Await => "await",
            TokenKind::Silent => "silent",
            TokenKind::Finish => "finish",
            TokenKind::True => "true",
            TokenKind::False => "false",
            TokenKind::Public => "public",
            TokenKind::Private => "private",
            TokenKind::Now => "now",
            TokenKind::U64 => "u64",
            TokenKind::Bool => "bool",
            TokenKind::Bytes32 => "bytes32",
            TokenKind::LBrace => "{",
            TokenKind::RBrace => "}",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::Comma => ",",
            TokenKind::Semi => ";",
            TokenKind::Colon => ":",
            TokenKind::Assign => "=",
            TokenKind::Plus => "+",
            TokenKind::Minus => "-",
            TokenKind::Star => "*",
            TokenKind::Slash => "/",
            TokenKind::Percent => "%",
            TokenKind::Bang => "!",
            TokenKind::Lt => "<",
            TokenKind::Le => "<=",
            TokenKind::Gt => ">",
            TokenKind::Ge => ">=",
            TokenKind::EqEq => "==",
            TokenKind::Ne => "!=",
            TokenKind::AndAnd => "&&",
            TokenKind::OrOr => "||",
            TokenKind::Ident(_)
            | TokenKind::Int(_)
            | TokenKind::Bytes32Lit(_)
            | TokenKind::Str(_)
            | TokenKind::Error
            | TokenKind::Eof => return None,
        })
    }

    /// Whether this is a keyword (as opposed to punctuation or contents).
    pub fn is_keyword(&self) -> bool {
        self.fixed_text()
            .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
    }
}

/// A token and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Its bytes in the source.
    pub span: Span,
    /// Set on a string literal that had a problem already reported (it is
    /// unterminated, or holds a bad escape or character); its value is what
    /// could be read. The parser does not report the tokens right after it,
    /// which an unterminated string has usually swallowed.
    pub malformed: bool,
}

/// Splits `source` into tokens (ending with [`TokenKind::Eof`]) and the
/// diagnostics met on the way. Never fails and never panics.
pub fn lex(source: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lexer = Lexer {
        src: source,
        pos: 0,
        tokens: Vec::new(),
        diags: Vec::new(),
    };
    lexer.run();
    (lexer.tokens, lexer.diags)
}

struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next character; always a `char` boundary,
    /// because it only ever advances by whole characters.
    pos: usize,
    tokens: Vec<Token>,
    diags: Vec<Diagnostic>,
}

/// Whether `c` may continue a name or a number. Non-ASCII letters and
/// digits count, so that `héllo` and `12é` are read (and reported) as one
/// bad token rather than several.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (!c.is_ascii() && c.is_alphanumeric())
}

/// Unicode controls that reorder displayed text (bidi embeddings,
/// overrides and isolates, and the implicit marks).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `c` starts some token, so is not part of an invalid run.
fn starts_token(c: char) -> bool {
    is_word_char(c) || "\"{}(),;:=+-*/%!<>&|".contains(c)
}

/// `c` as a reader can see it in a message: itself, or an escape for
/// invisible characters.
fn visible(c: char) -> String {
    if c.is_control() || is_bidi_control(c) || c.is_whitespace() {
        format!("U+{:04X}", u32::from(c))
    } else {
        c.to_string()
    }
}

/// A lookalike of a sotto token, and what to write instead.
fn lookalike(c: char) -> Option<&'static str> {
    Some(match c {
        '≤' => "<=",
        '≥' => ">=",
        '≠' => "!=",
        '−' | '–' => "-",
        '“' | '”' | '„' => "\"",
        '×' => "*",
        '÷' => "/",
        _ => return None,
    })
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn text(&self, span: &Span) -> &str {
        self.src.get(span.clone()).unwrap_or("")
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: start..self.pos,
            malformed: false,
        });
    }

    fn run(&mut self) {
        loop {
            self.skip_trivia();
            let start = self.pos;
            let Some(c) = self.peek() else {
                self.tokens.push(Token {
                    kind: TokenKind::Eof,
                    span: self.src.len()..self.src.len(),
                    malformed: false,
                });
                return;
            };
            match c {
                '0'..='9' => self.number(),
                c if is_word_char(c) => self.word(),
                '"' => self.string(),
                '&' | '|' => {
                    self.bump();
                    if self.peek() == Some(c) {
                        self.bump();
                        let kind = if c == '&' {
                            TokenKind::AndAnd
                        } else {
                            TokenKind::OrOr
                        };
                        self.push(kind, start);
                    } else {
                        self.diags.push(
                            Diagnostic::error(
                                "E0002",
                                format!("invalid character `{c}`"),
                                start..self.pos,
                                "not a sotto operator",
                            )
                            .with_hint(format!("did you mean `{c}{c}`?")),
                        );
                        self.push(TokenKind::Error, start);
                    }
                }
                _ if starts_token(c) => self.punctuation(c),
                _ => self.invalid_run(),
            }
        }
    }

    /// Skips whitespace and comments, reporting block comments and text
    /// direction controls inside comments.
    fn skip_trivia(&mut self) {
        loop {
            match (self.peek(), self.peek2()) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    let start = self.pos;
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                    self.check_bidi(start..self.pos, "comment");
                }
                (Some('/'), Some('*')) => self.block_comment(),
                _ => return,
            }
        }
    }

    fn block_comment(&mut self) {
        let start = self.pos;
        self.bump();
        self.bump();
        let mut closed = false;
        while let Some(c) = self.bump() {
            if c == '*' && self.peek() == Some('/') {
                self.bump();
                closed = true;
                break;
            }
        }
        let label = if closed {
            "block comment"
        } else {
            "this block comment is never closed"
        };
        self.diags.push(
            Diagnostic::error(
                "E0002",
                "sotto has no block comments",
                start..start + 2,
                label,
            )
            .with_hint("write `//` at the start of each comment line"),
        );
        self.check_bidi(start..self.pos, "comment");
    }

    /// Reports the first text direction control inside a comment or string.
    fn check_bidi(&mut self, span: Span, what: &str) {
        let found = self
            .text(&span)
            .char_indices()
            .find(|&(_, c)| is_bidi_control(c));
        if let Some((offset, c)) = found {
            let at = span.start + offset;
            self.diags
                .push(bidi_diagnostic(c, at..at + c.len_utf8(), what));
        }
    }

    fn word(&mut self) {
        let start = self.pos;
        while self.peek().is_some_and(is_word_char) {
            self.bump();
        }
        let span = start..self.pos;
        let text = self.text(&span).to_owned();
        if let Some((offset, c)) = text.char_indices().find(|&(_, c)| !c.is_ascii()) {
            let at = start + offset;
            self.diags.push(
                Diagnostic::error(
                    "E0002",
                    format!("invalid character `{c}` in a name"),
                    at..at + c.len_utf8(),
                    "not an ASCII letter, digit or `_`",
                )
                .with_hint("names are ASCII: letters, digits and `_`"),
            );
        }
        let kind = TokenKind::keyword(&text).unwrap_or(TokenKind::Ident(text));
        self.push(kind, start);
    }

    fn number(&mut self) {
        let start = self.pos;
        if self.rest().starts_with("0x") {
            self.bump();
            self.bump();
            while self.peek().is_some_and(is_word_char) {
                self.bump();
            }
            self.bytes32(start);
            return;
        }
        let mut value: Option<u64> = Some(0);
        while let Some(c) = self.peek() {
            if let Some(d) = c.to_digit(10) {
                value = value
                    .and_then(|v| v.checked_mul(10))
                    .and_then(|v| v.checked_add(u64::from(d)));
            } else if c != '_' {
                break;
            }
            self.bump();
        }
        if self.peek().is_some_and(is_word_char) {
            // Digits glued to letters (`12ab`, `0X12`): one bad literal.
            while self.peek().is_some_and(is_word_char) {
                self.bump();
            }
            let span = start..self.pos;
            let text = self.text(&span).to_owned();
            self.diags.push(
                Diagnostic::error(
                    "E0004",
                    format!("invalid integer literal `{}`", shorten(&text)),
                    span,
                    "an integer is decimal digits, optionally separated by `_`",
                )
                .with_hint("put a space or an operator between a number and a name"),
            );
            self.push(TokenKind::Error, start);
            return;
        }
        match value {
            Some(v) => self.push(TokenKind::Int(v), start),
            None => {
                self.diags.push(Diagnostic::error(
                    "E0004",
                    "integer literal out of range",
                    start..self.pos,
                    "larger than u64::MAX (18446744073709551615)",
                ));
                self.push(TokenKind::Error, start);
            }
        }
    }

    /// Finishes a `0x` literal whose characters have been consumed.
    fn bytes32(&mut self, start: usize) {
        let span = start..self.pos;
        let digits = self.text(&span).get(2..).unwrap_or("").to_owned();
        let problem = if let Some(c) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            Some(format!("`{}` is not a hex digit", visible(c)))
        } else if digits.len() != 64 {
            Some(format!(
                "{} hex digits; a bytes32 literal has exactly 64",
                digits.len()
            ))
        } else {
            None
        };
        if let Some(label) = problem {
            self.diags.push(Diagnostic::error(
                "E0004",
                "malformed bytes32 literal",
                span,
                label,
            ));
            self.push(TokenKind::Error, start);
            return;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
            let hex = |b: u8| char::from(b).to_digit(16).unwrap_or(0);
            // Both digits are hex (checked above), so each is below 16 and
            // the pair fits in a byte.
            *byte = u8::try_from(hex(pair[0]) * 16 + hex(pair[1])).unwrap_or(0);
        }
        self.push(TokenKind::Bytes32Lit(bytes), start);
    }

    fn string(&mut self) {
        let start = self.pos;
        self.bump();
        let mut value = String::new();
        let mut malformed = false;
        loop {
            let at = self.pos;
            let line_end = matches!(
                (self.peek(), self.peek2()),
                (None | Some('\n'), _) | (Some('\r'), Some('\n'))
            );
            if line_end {
                self.diags.push(
                    Diagnostic::error(
                        "E0002",
                        "unterminated string",
                        start..at,
                        "this string is not closed on its line",
                    )
                    .with_hint(
                        "close it with `\"`; a string cannot span lines (write `\\n` for a line break)",
                    ),
                );
                malformed = true;
                break;
            }
            let Some(c) = self.bump() else { break };
            match c {
                '"' => break,
                '\\' => match self.peek() {
                    Some(e @ ('"' | '\\' | 'n')) => {
                        self.bump();
                        value.push(if e == 'n' { '\n' } else { e });
                    }
                    // An escape at the end of the line: the next turn
                    // reports the unterminated string.
                    None | Some('\n') => {}
                    Some(e) => {
                        self.bump();
                        self.diags.push(
                            Diagnostic::error(
                                "E0002",
                                format!("unknown escape `\\{}` in a string", visible(e)),
                                at..self.pos,
                                "not an escape",
                            )
                            .with_hint("the escapes are `\\\"`, `\\\\` and `\\n`"),
                        );
                        malformed = true;
                    }
                },
                c if is_bidi_control(c) => {
                    self.diags.push(bidi_diagnostic(c, at..self.pos, "string"));
                    malformed = true;
                }
                c if c.is_control() && c != '\t' => {
                    self.diags.push(
                        Diagnostic::error(
                            "E0002",
                            format!("control character {} in a string", visible(c)),
                            at..self.pos,
                            "invisible, or moves the cursor when shown",
                        )
                        .with_hint("remove it; write `\\n` for a line break"),
                    );
                    malformed = true;
                }
                c => value.push(c),
            }
        }
        self.tokens.push(Token {
            kind: TokenKind::Str(value),
            span: start..self.pos,
            malformed,
        });
    }

    fn punctuation(&mut self, c: char) {
        let start = self.pos;
        self.bump();
        let followed_by_eq = self.peek() == Some('=');
        let kind = match c {
            '{' => TokenKind::LBrace,
            '}' => TokenKind::RBrace,
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            ',' => TokenKind::Comma,
            ';' => TokenKind::Semi,
            ':' => TokenKind::Colon,
            '+' => TokenKind::Plus,
            '-' => TokenKind::Minus,
            '*' => TokenKind::Star,
            '/' => TokenKind::Slash,
            '%' => TokenKind::Percent,
            '=' if followed_by_eq => TokenKind::EqEq,
            '=' => TokenKind::Assign,
            '!' if followed_by_eq => TokenKind::Ne,
            '!' => TokenKind::Bang,
            '<' if followed_by_eq => TokenKind::Le,
            '<' => TokenKind::Lt,
            '>' if followed_by_eq => TokenKind::Ge,
            '>' => TokenKind::Gt,
            // `starts_token` admits only the characters above, `"`, `&`,
            // `|` and word characters, all of which `run` handles first.
            _ => TokenKind::Error,
        };
        if matches!(
            kind,
            TokenKind::EqEq | TokenKind::Ne | TokenKind::Le | TokenKind::Ge
        ) {
            self.bump();
        }
        debug_assert!(kind != TokenKind::Error, "unhandled punctuation {c:?}");
        self.push(kind, start);
    }

    /// A run of characters that start no token: one diagnostic, one token.
    fn invalid_run(&mut self) {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && !starts_token(c))
        {
            self.bump();
        }
        let span = start..self.pos;
        let run: Vec<char> = self.text(&span).chars().collect();
        let shown: String = run.iter().take(8).map(|&c| visible(c)).collect();
        let mut d = if run.len() == 1 {
            Diagnostic::error(
                "E0002",
                format!("invalid character `{shown}`"),
                span,
                "not part of the sotto language",
            )
        } else {
            let more = if run.len() > 8 { "…" } else { "" };
            Diagnostic::error(
                "E0002",
                format!("invalid characters `{shown}{more}`"),
                span,
                "not part of the sotto language",
            )
        };
        if let [c] = run.as_slice() {
            if let Some(instead) = lookalike(*c) {
                d = d.with_hint(format!("write `{instead}`"));
            } else if is_bidi_control(*c) {
                d = d.with_hint("remove it: it changes how the text around it is displayed");
            }
        }
        self.diags.push(d);
        self.push(TokenKind::Error, start);
    }
}

fn bidi_diagnostic(c: char, span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(
        "E0002",
        format!("text direction control {} in a {what}", visible(c)),
        span,
        "reorders how the text around it is displayed",
    )
    .with_hint("remove it: it can make the source read differently from how it parses")
}

/// `text`, cut to a length that fits in a message.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 24;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> (Vec<TokenKind>, Vec<&'static str>) {
        let (tokens, diags) = lex(src);
        (
            tokens.into_iter().map(|t| t.kind).collect(),
            diags.iter().map(|d| d.code).collect(),
        )
    }

    #[test]
    fn u64_max_and_one_beyond() {
        assert_eq!(
            kinds("18446744073709551615"),
            (vec![TokenKind::Int(u64::MAX), TokenKind::Eof], vec![])
        );
        assert_eq!(
            kinds("18446744073709551616"),
            (vec![TokenKind::Error, TokenKind::Eof], vec!["E0004"])
        );
        assert_eq!(
            kinds("99999999999999999999999999999"),
            (vec![TokenKind::Error, TokenKind::Eof], vec!["E0004"])
        );
    }

    #[test]
    fn underscore_separators() {
        assert_eq!(
            kinds("1_000 18_446_744_073_709_551_615 1__0_"),
            (
                vec![
                    TokenKind::Int(1000),
                    TokenKind::Int(u64::MAX),
                    TokenKind::Int(10),
                    TokenKind::Eof
                ],
                vec![]
            )
        );
        // A leading `_` makes a name, not a number.
        assert_eq!(
            kinds("_1"),
            (vec![TokenKind::Ident("_1".into()), TokenKind::Eof], vec![])
        );
    }

    #[test]
    fn digits_glued_to_letters_are_one_bad_literal() {
        assert_eq!(
            kinds("12ab + 0X12"),
            (
                vec![
                    TokenKind::Error,
                    TokenKind::Plus,
                    TokenKind::Error,
                    TokenKind::Eof
                ],
                vec!["E0004", "E0004"]
            )
        );
    }

    #[test]
    fn bytes32_needs_exactly_64_hex_digits() {
        let hex = |n: usize| format!("0x{}", "aB".repeat(n).get(..n).unwrap_or(""));
        let (tokens, diags) = kinds(&hex(64));
        assert_eq!(
            tokens,
            vec![TokenKind::Bytes32Lit([0xab; 32]), TokenKind::Eof]
        );
        assert!(diags.is_empty());
        for n in [0, 1, 63, 65, 128] {
            assert_eq!(
                kinds(&hex(n)),
                (vec![TokenKind::Error, TokenKind::Eof], vec!["E0004"]),
                "{n} digits"
            );
        }
        let bad_digit = format!("0x{}g", "0".repeat(63));
        assert_eq!(
            kinds(&bad_digit),
            (vec![TokenKind::Error, TokenKind::Eof], vec!["E0004"])
        );
        // Underscores are not allowed inside hex.
        let underscore = format!("0x{}_{}", "0".repeat(32), "0".repeat(32));
        assert_eq!(
            kinds(&underscore),
            (vec![TokenKind::Error, TokenKind::Eof], vec!["E0004"])
        );
    }

    #[test]
    fn bytes32_value_is_big_endian_hex() {
        let src = format!(
            "0x{}",
            (0..32u8).map(|b| format!("{b:02X}")).collect::<String>()
        );
        let mut expected = [0u8; 32];
        for (i, b) in expected.iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap();
        }
        assert_eq!(
            kinds(&src),
            (
                vec![TokenKind::Bytes32Lit(expected), TokenKind::Eof],
                vec![]
            )
        );
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            kinds(r#""a \"b\" \\ c\n""#),
            (
                vec![TokenKind::Str("a \"b\" \\ c\n".into()), TokenKind::Eof],
                vec![]
            )
        );
        let (tokens, diags) = lex(r#""tab\t""#);
        assert_eq!(tokens[0].kind, TokenKind::Str("tab".into()));
        assert!(tokens[0].malformed);
        assert_eq!(diags.len(), 1);
    }

    #[test]
    fn unterminated_string_stops_at_the_line_end() {
        let (tokens, diags) = lex("\"oops;\nx");
        assert_eq!(tokens[0].kind, TokenKind::Str("oops;".into()));
        assert_eq!(tokens[0].span, 0..6);
        assert!(tokens[0].malformed);
        assert_eq!(tokens[1].kind, TokenKind::Ident("x".into()));
        assert_eq!(diags.iter().map(|d| d.code).collect::<Vec<_>>(), ["E0002"]);
        // At the end of the input, and with a trailing backslash.
        for src in ["\"abc", "\"abc\\", "\"abc\\\n", "\"abc\r\n"] {
            let (tokens, diags) = lex(src);
            assert!(tokens[0].malformed, "{src:?}");
            assert_eq!(diags.len(), 1, "{src:?}");
            assert_eq!(tokens.last().map(|t| &t.kind), Some(&TokenKind::Eof));
        }
    }

    #[test]
    fn comments_at_end_of_file() {
        assert_eq!(
            kinds("x // done"),
            (vec![TokenKind::Ident("x".into()), TokenKind::Eof], vec![])
        );
        assert_eq!(kinds("//"), (vec![TokenKind::Eof], vec![]));
        assert_eq!(
            kinds("x //"),
            (vec![TokenKind::Ident("x".into()), TokenKind::Eof], vec![])
        );
        assert_eq!(
            kinds("x // a\r\n"),
            (vec![TokenKind::Ident("x".into()), TokenKind::Eof], vec![])
        );
        // A lone `/` at the end is division.
        assert_eq!(kinds("/"), (vec![TokenKind::Slash, TokenKind::Eof], vec![]));
    }

    #[test]
    fn block_comments_are_reported_once_and_skipped() {
        assert_eq!(
            kinds("a /* b c ; */ d"),
            (
                vec![
                    TokenKind::Ident("a".into()),
                    TokenKind::Ident("d".into()),
                    TokenKind::Eof
                ],
                vec!["E0002"]
            )
        );
        assert_eq!(
            kinds("a /* b"),
            (
                vec![TokenKind::Ident("a".into()), TokenKind::Eof],
                vec!["E0002"]
            )
        );
    }

    #[test]
    fn non_ascii_names_are_rejected_but_read_whole() {
        let (tokens, diags) = lex("héllo = 1");
        assert_eq!(tokens[0].kind, TokenKind::Ident("héllo".into()));
        assert_eq!(tokens[0].span, 0..6);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "E0002");
        // The span is the offending character, on char boundaries.
        assert_eq!(diags[0].primary.0, 1..3);
        let (tokens, diags) = lex("数 x");
        assert_eq!(tokens[0].kind, TokenKind::Ident("数".into()));
        assert_eq!(tokens[1].kind, TokenKind::Ident("x".into()));
        assert_eq!(diags.len(), 1);
    }

    #[test]
    fn invalid_characters_group_into_one_error() {
        assert_eq!(
            kinds("a $@# b"),
            (
                vec![
                    TokenKind::Ident("a".into()),
                    TokenKind::Error,
                    TokenKind::Ident("b".into()),
                    TokenKind::Eof
                ],
                vec!["E0002"]
            )
        );
        assert_eq!(
            kinds("a & b | c"),
            (
                vec![
                    TokenKind::Ident("a".into()),
                    TokenKind::Error,
                    TokenKind::Ident("b".into()),
                    TokenKind::Error,
                    TokenKind::Ident("c".into()),
                    TokenKind::Eof
                ],
                vec!["E0002", "E0002"]
            )
        );
        let (_, diags) = lex("a ≤ b");
        assert_eq!(diags[0].hint.as_deref(), Some("write `<=`"));
    }

    #[test]
    fn text_direction_controls_are_rejected_everywhere() {
        for src in [
            "// a \u{202E} b\nx",
            "\"a \u{2066} b\"",
            "x \u{202E} y",
            "/* \u{200F} */",
        ] {
            let (_, diags) = lex(src);
            assert_eq!(
                diags.iter().filter(|d| d.message.contains("U+")).count(),
                1,
                "{src:?}: {diags:?}"
            );
        }
    }

    #[test]
    fn operators_take_the_longest_match() {
        let (tokens, diags) = kinds("<= < >= > == = != ! && || -");
        assert!(diags.is_empty());
        assert_eq!(
            tokens,
            [
                TokenKind::Le,
                TokenKind::Lt,
                TokenKind::Ge,
                TokenKind::Gt,
                TokenKind::EqEq,
                TokenKind::Assign,
                TokenKind::Ne,
                TokenKind::Bang,
                TokenKind::AndAnd,
                TokenKind::OrOr,
                TokenKind::Minus,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn every_keyword_and_punctuation_round_trips() {
        for word in KEYWORDS.iter().chain(PUNCTUATION.iter()) {
            let (tokens, diags) = lex(word);
            assert!(diags.is_empty(), "{word}");
            assert_eq!(tokens.len(), 2, "{word}");
            assert_eq!(tokens[0].kind.fixed_text(), Some(*word));
            assert_eq!(tokens[0].kind.is_keyword(), KEYWORDS.contains(word));
        }
    }

    #[test]
    fn spans_are_on_char_boundaries_and_increasing() {
        let src = "é\"ü\\ü\" 数12 ≤ 0xé /*ü";
        let (tokens, _) = lex(src);
        let mut end = 0;
        for t in &tokens {
            assert!(t.span.start >= end && t.span.start <= t.span.end);
            assert!(src.is_char_boundary(t.span.start) && src.is_char_boundary(t.span.end));
            end = t.span.end;
        }
    }
}
