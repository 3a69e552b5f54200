//! The parser: tokens to a [`Contract`] tree, by recursive descent, with
//! precedence climbing for expressions (the grammar of docs/language.md).
//!
//! **Invariants:**
//! - parsing is total: any `&str` gives a tree and a list of diagnostics,
//!   and never panics;
//! - it terminates in time linear in the input: every loop consumes a
//!   token or leaves, and no recursion goes deeper than [`MAX_DEPTH`]
//!   levels (deeper text is `E0007`), so the trees it builds are at most
//!   that deep and every later pass may recurse over them;
//! - one mistake gives one diagnostic. Three rules keep cascades away:
//!   nothing is reported at or right after a token the lexer already
//!   reported; nothing is reported twice at one token; and an end of file
//!   inside open delimiters is one `E0006`, not an error per construct
//!   left open;
//! - a tree that parsed without diagnostics prints (see
//!   [`printer`]) to text that parses back to the same
//!   tree, spans aside.
//!
//! Recovery: a statement or field that cannot be read is skipped up to
//! the next `;` (consumed), a `}` or an item keyword, with any `{ ... }`
//! inside skipped whole; it becomes [`StmtKind::Error`] (a field is
//! dropped). A missing `;` is reported and the statement kept when the
//! next token starts a statement or a new line. An expression that cannot
//! be read becomes [`ExprKind::Error`] and its statement goes on.

use crate::diagnostic::{Diagnostic, Span};
use crate::syntax::ast::{
    BinOp, Block, Contract, Expr, ExprKind, Field, Function, Ident, Param, Stmt, StmtKind, Type,
    UnOp, Visibility,
};
use crate::syntax::lexer::{self, Token, TokenKind};
use crate::syntax::printer;

/// How deeply blocks and expressions may nest, together: a function body
/// is one level, each block, operator and parenthesis inside it one more.
/// Deeper text is error `E0007`. Real contracts stay far below; the limit
/// exists so that hostile input cannot exhaust the stack of the parser or
/// of any pass that walks the tree.
pub const MAX_DEPTH: usize = 128;

/// Parses a contract. Always returns a tree, with error nodes where the
/// text could not be read, and every diagnostic found, in source order.
pub fn parse(source: &str) -> (Contract, Vec<Diagnostic>) {
    let (tokens, diags) = lexer::lex(source);
    let mut p = Parser {
        src: source,
        tokens,
        pos: 0,
        diags,
        reported_at: None,
        open: Vec::new(),
        unclosed: None,
        depth: 0,
        bail: false,
        deep_reported: false,
    };
    let contract = p.file();
    p.report_unclosed();
    let mut diags = p.diags;
    diags.sort_by_key(|d| d.primary.0.start);
    (contract, diags)
}

/// A diagnostic has been reported (or deliberately not, see
/// [`Parser::suppressed`]); the caller recovers.
struct Reported;

type PResult<T> = Result<T, Reported>;

static EOF: Token = Token {
    kind: TokenKind::Eof,
    span: 0..0,
    malformed: false,
};

struct Parser<'a> {
    src: &'a str,
    /// Ends with `Eof`; `pos` never moves past it.
    tokens: Vec<Token>,
    pos: usize,
    diags: Vec<Diagnostic>,
    /// Token index of the last `E0001`, so that one spot is reported once.
    reported_at: Option<usize>,
    /// Opening delimiters not yet closed, outermost first.
    open: Vec<(Span, &'static str)>,
    /// The delimiters open when the parser first reached the end of file.
    unclosed: Option<Vec<(Span, &'static str)>>,
    /// Current nesting of blocks and expressions (see [`MAX_DEPTH`]).
    depth: usize,
    /// Set when an expression went too deep: every expression function
    /// returns at once and the enclosing statement or field skips ahead.
    bail: bool,
    /// Whether `E0007` was reported in the current item (once per item).
    deep_reported: bool,
}

/// The binding power of each binary operator; higher binds tighter.
fn binop(kind: &TokenKind) -> Option<(BinOp, u8)> {
    Some(match kind {
        TokenKind::OrOr => (BinOp::Or, 1),
        TokenKind::AndAnd => (BinOp::And, 2),
        TokenKind::EqEq => (BinOp::Eq, CMP),
        TokenKind::Ne => (BinOp::Ne, CMP),
        TokenKind::Lt => (BinOp::Lt, CMP),
        TokenKind::Le => (BinOp::Le, CMP),
        TokenKind::Gt => (BinOp::Gt, CMP),
        TokenKind::Ge => (BinOp::Ge, CMP),
        TokenKind::Plus => (BinOp::Add, 4),
        TokenKind::Minus => (BinOp::Sub, 4),
        TokenKind::Star => (BinOp::Mul, 5),
        TokenKind::Slash => (BinOp::Div, 5),
        TokenKind::Percent => (BinOp::Rem, 5),
        _ => return None,
    })
}

/// The binding power of comparisons, which do not chain.
const CMP: u8 = 3;

fn is_item_keyword(kind: &TokenKind) -> bool {
    matches!(kind, TokenKind::Party | TokenKind::State | TokenKind::Fn)
}

/// Where skipping inside a function header stops: at what goes on with
/// the header, or at what starts something else. (Not at `party`: in a
/// header it is a type.)
fn ends_header_skip(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::By
            | TokenKind::LBrace
            | TokenKind::RBrace
            | TokenKind::RParen
            | TokenKind::Semi
            | TokenKind::Eof
            | TokenKind::Fn
            | TokenKind::State
    )
}

/// Tokens that can only start a statement: a `;` may be missing before one.
fn starts_statement(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Let
            | TokenKind::If
            | TokenKind::Require
            | TokenKind::Transfer
            | TokenKind::Await
            | TokenKind::Finish
    )
}

/// An expression and the height of its tree (a leaf is 0).
type WithHeight = (Expr, usize);

fn error_expr(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Error,
        span,
    }
}

impl Parser<'_> {
    // --- Tokens ------------------------------------------------------------

    fn tok(&self) -> &Token {
        self.tokens.get(self.pos).unwrap_or(&EOF)
    }

    fn kind(&self) -> &TokenKind {
        &self.tok().kind
    }

    fn at(&self, kind: &TokenKind) -> bool {
        self.kind() == kind
    }

    fn at_eof(&self) -> bool {
        matches!(self.kind(), TokenKind::Eof)
    }

    fn span(&self) -> Span {
        self.tok().span.clone()
    }

    /// The end of the last consumed token (0 before the first).
    fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.span.end)
    }

    fn span_from(&self, start: usize) -> Span {
        start..self.prev_end().max(start)
    }

    /// Consumes the current token (never `Eof`) and returns its span.
    fn bump(&mut self) -> Span {
        let span = self.span();
        if !self.at_eof() {
            self.pos += 1;
        }
        span
    }

    fn eat(&mut self, kind: &TokenKind) -> Option<Span> {
        self.at(kind).then(|| self.bump())
    }

    // --- Reporting ---------------------------------------------------------

    /// Whether an `E0001` here would only repeat something already said.
    fn suppressed(&mut self) -> bool {
        let tok = self.tok();
        let prev_bad = self
            .pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .is_some_and(|t| t.malformed || t.kind == TokenKind::Error);
        if matches!(tok.kind, TokenKind::Eof) && !self.open.is_empty() {
            // The file ends inside delimiters: one E0006 says it all.
            self.note_eof();
            return true;
        }
        self.bail
            || self.reported_at == Some(self.pos)
            || tok.malformed
            || tok.kind == TokenKind::Error
            || prev_bad
    }

    /// Records which delimiters are open at the end of file, for `E0006`.
    fn note_eof(&mut self) {
        if self.unclosed.is_none() && !self.open.is_empty() {
            self.unclosed = Some(self.open.clone());
        }
    }

    /// Reports `expected {expected}, found {the current token}` (E0001).
    fn unexpected(&mut self, expected: &str) -> Reported {
        self.unexpected_with(expected, None)
    }

    fn unexpected_with(&mut self, expected: &str, hint: Option<String>) -> Reported {
        if self.suppressed() {
            return Reported;
        }
        self.reported_at = Some(self.pos);
        let tok = self.tok().clone();
        let mut d = Diagnostic::error(
            "E0001",
            format!("expected {expected}, found {}", self.describe(&tok)),
            tok.span.clone(),
            format!("expected {expected}"),
        );
        if let Some(hint) = hint {
            d = d.with_hint(hint);
        } else if let Some(kw) = tok.kind.fixed_text().filter(|_| tok.kind.is_keyword()) {
            // A keyword where a name belongs, followed by what follows a
            // name: most likely meant as one.
            let next = self.tokens.get(self.pos + 1).map(|t| &t.kind);
            let used_as_name = matches!(
                next,
                Some(
                    TokenKind::Colon
                        | TokenKind::Assign
                        | TokenKind::Comma
                        | TokenKind::Semi
                        | TokenKind::RParen
                )
            );
            if expected.contains("name") && used_as_name {
                d = d.with_hint(format!("`{kw}` is a keyword; choose another name"));
            }
        }
        self.diags.push(d);
        Reported
    }

    /// How a token is named in a message.
    fn describe(&self, tok: &Token) -> String {
        match &tok.kind {
            TokenKind::Eof => "end of file".into(),
            TokenKind::Str(_) => "a string".into(),
            TokenKind::Ident(name) => format!("`{}`", lexer::shorten(name)),
            kind if kind.is_keyword() => {
                format!("keyword `{}`", kind.fixed_text().unwrap_or(""))
            }
            _ => format!(
                "`{}`",
                lexer::shorten(self.src.get(tok.span.clone()).unwrap_or(""))
            ),
        }
    }

    /// Expects `kind` (described as `what` in an error).
    fn expect(&mut self, kind: &TokenKind, what: &str) -> PResult<Span> {
        match self.eat(kind) {
            Some(span) => Ok(span),
            None => Err(self.unexpected(what)),
        }
    }

    /// Expects the `;` that ends a statement or declaration (`expected`
    /// names the alternatives). A missing `;` before a token that starts a
    /// statement, closes the block, or sits on a later line is reported
    /// and the statement kept; otherwise the caller recovers.
    fn semi(&mut self, expected: &str) -> PResult<()> {
        if self.eat(&TokenKind::Semi).is_some() {
            return Ok(());
        }
        let prev_end = self.prev_end();
        let next = self.span();
        let new_line = self
            .src
            .get(prev_end..next.start)
            .is_some_and(|gap| gap.contains('\n'));
        let resumable = new_line
            || starts_statement(self.kind())
            || is_item_keyword(self.kind())
            || matches!(self.kind(), TokenKind::RBrace | TokenKind::Eof);
        let before = self.diags.len();
        self.unexpected(expected);
        if self.diags.len() > before {
            let prev = self
                .pos
                .checked_sub(1)
                .and_then(|i| self.tokens.get(i))
                .map(|t| (t.span.clone(), self.describe(t)));
            if let (Some(d), Some((span, what))) = (self.diags.last_mut(), prev) {
                d.labels.push((span, "add `;` after this".into()));
                d.hint = Some(format!("add `;` after {what}"));
            }
        }
        if resumable { Ok(()) } else { Err(Reported) }
    }

    /// Reports `E0007` once per item and starts unwinding.
    fn too_deep(&mut self, span: Span) {
        if !self.deep_reported {
            self.deep_reported = true;
            self.diags.push(
                Diagnostic::error(
                    "E0007",
                    "nesting too deep",
                    span,
                    format!("more than {MAX_DEPTH} nested blocks and expressions"),
                )
                .with_hint("name parts of the expression with `let`, or split the function"),
            );
        }
    }

    /// Enters one level of nesting; `false` (after `E0007`) when too deep.
    fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            let span = self.span();
            self.too_deep(span);
            self.bail = true;
            return false;
        }
        self.depth += 1;
        true
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn report_unclosed(&mut self) {
        let Some(unclosed) = self.unclosed.take() else {
            return;
        };
        let Some((_, innermost)) = unclosed.last() else {
            return;
        };
        let end = self.src.len();
        let closers: Vec<&str> = unclosed
            .iter()
            .rev()
            .map(|(_, opener)| if *opener == "{" { "}" } else { ")" })
            .collect();
        let (message, hint) = if closers.len() == 1 {
            (
                "unclosed delimiter",
                format!("close it with `{}`", closers.concat()),
            )
        } else {
            (
                "unclosed delimiters",
                format!("close them with `{}`, in this order", closers.concat()),
            )
        };
        let mut d = Diagnostic::error(
            "E0006",
            message,
            end..end,
            format!("the file ends here, with `{innermost}` open"),
        )
        .with_hint(hint);
        // Innermost first, and not without bound: the outer ones add
        // little once there are several.
        for (span, opener) in unclosed.iter().rev().take(4) {
            d = d.with_label(span.clone(), format!("this `{opener}` is not closed"));
        }
        self.diags.push(d);
    }

    // --- Recovery ----------------------------------------------------------

    /// Skips what is left of a statement or field: past the next `;`, or
    /// up to a `}` or an item keyword, taking any `{ ... }` whole (it ends
    /// the statement, as an `if` block does).
    fn recover_stmt(&mut self) {
        self.bail = false;
        let mut braces = 0usize;
        loop {
            match self.kind() {
                TokenKind::Eof => {
                    self.note_eof();
                    return;
                }
                k if is_item_keyword(k) => return,
                TokenKind::Semi if braces == 0 => {
                    self.bump();
                    return;
                }
                TokenKind::RBrace if braces == 0 => return,
                TokenKind::RBrace => {
                    braces -= 1;
                    self.bump();
                    // A `{ ... }` group ends the statement, unless an
                    // `else` continues it.
                    if braces == 0 && !self.at(&TokenKind::Else) {
                        return;
                    }
                }
                TokenKind::LBrace => {
                    braces += 1;
                    self.bump();
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// Skips to the next item keyword (or the end of file).
    fn recover_item(&mut self) {
        self.bail = false;
        while !self.at_eof() && !is_item_keyword(self.kind()) {
            self.bump();
        }
    }

    /// Skips a `{ ... }` too deep to parse, braces balanced, without
    /// recursion.
    fn skip_block(&mut self) {
        let mut braces = 0usize;
        loop {
            match self.kind() {
                TokenKind::Eof => {
                    self.note_eof();
                    return;
                }
                TokenKind::LBrace => braces += 1,
                TokenKind::RBrace => {
                    braces = braces.saturating_sub(1);
                    if braces == 0 {
                        self.bump();
                        return;
                    }
                }
                _ => {}
            }
            self.bump();
        }
    }

    // --- Items -------------------------------------------------------------

    fn file(&mut self) -> Contract {
        let name = self.header();
        let mut contract = Contract {
            name,
            parties: Vec::new(),
            fields: Vec::new(),
            functions: Vec::new(),
        };
        loop {
            self.deep_reported = false;
            let before = self.pos;
            match self.kind() {
                TokenKind::Eof => break,
                TokenKind::Party => self.parties(&mut contract.parties),
                TokenKind::State => self.state(&mut contract.fields),
                TokenKind::Fn => contract.functions.push(self.function()),
                TokenKind::Error => {
                    self.bump();
                }
                TokenKind::Contract => {
                    self.unexpected_with(
                        "`party`, `state` or `fn`",
                        Some("a file has one `contract NAME;` header, at the top".into()),
                    );
                    self.bump();
                    self.recover_item();
                }
                _ => {
                    self.unexpected("`party`, `state` or `fn`");
                    self.bump();
                    self.recover_item();
                }
            }
            if self.pos == before {
                debug_assert!(false, "no progress at the item level");
                self.bump();
            }
        }
        contract
    }

    /// `contract NAME;`, or `E0005` and an empty name.
    fn header(&mut self) -> Ident {
        let missing = |span: Span| Ident {
            name: String::new(),
            span,
        };
        if self.eat(&TokenKind::Contract).is_none() {
            let span = self.span();
            self.diags.push(
                Diagnostic::error(
                    "E0005",
                    "missing `contract NAME;` header",
                    span.clone(),
                    "expected `contract NAME;` before this",
                )
                .with_hint(
                    "start the file with the contract's name, for example `contract escrow;`",
                ),
            );
            // What stands in place of the header (a misspelt `contract`,
            // say) is part of this one mistake.
            self.reported_at = Some(self.pos);
            if !is_item_keyword(self.kind()) {
                self.recover_item();
            }
            return missing(span.start..span.start);
        }
        let name = match self.ident("the contract name") {
            Ok(name) => name,
            Err(Reported) => {
                let span = self.span();
                self.recover_item_list();
                return missing(span);
            }
        };
        if self.semi("`;`").is_err() {
            self.recover_item_list();
        }
        name
    }

    /// Recovery inside `party ...;` and the header: past the `;`, or up
    /// to the next item keyword.
    fn recover_item_list(&mut self) {
        self.bail = false;
        while !self.at_eof() && !is_item_keyword(self.kind()) {
            let semi = self.at(&TokenKind::Semi);
            self.bump();
            if semi {
                return;
            }
        }
    }

    fn ident(&mut self, what: &str) -> PResult<Ident> {
        if let TokenKind::Ident(name) = self.kind() {
            let name = name.clone();
            let span = self.bump();
            return Ok(Ident { name, span });
        }
        Err(self.unexpected(what))
    }

    /// `party a, b;`
    fn parties(&mut self, parties: &mut Vec<Ident>) {
        self.bump();
        let result = (|| {
            loop {
                parties.push(self.ident("a party name")?);
                if self.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
            self.semi("`,` or `;`")
        })();
        if result.is_err() {
            self.recover_item_list();
        }
    }

    /// `state { field* }`
    fn state(&mut self, fields: &mut Vec<Field>) {
        self.bump();
        let Ok(open) = self.expect(&TokenKind::LBrace, "`{`") else {
            self.recover_item();
            return;
        };
        self.braced(&open, |p| match p.field() {
            Ok(field) => fields.push(field),
            Err(Reported) => p.recover_stmt(),
        });
    }

    /// The body of a `{ ... }` whose `{` is `open` (already consumed): one
    /// `element` after another up to the matching `}`. It stops early,
    /// reporting the missing `}`, at an item keyword or the end of input;
    /// stray error tokens are skipped. Always makes progress.
    fn braced(&mut self, open: &Span, mut element: impl FnMut(&mut Self)) {
        self.open.push((open.clone(), "{"));
        loop {
            let before = self.pos;
            match self.kind() {
                TokenKind::RBrace => {
                    self.bump();
                    break;
                }
                TokenKind::Eof => {
                    self.note_eof();
                    break;
                }
                k if is_item_keyword(k) => {
                    self.unclosed_block(open);
                    break;
                }
                TokenKind::Error => {
                    self.bump();
                }
                _ => element(self),
            }
            if self.pos == before {
                debug_assert!(false, "no progress in a braced body");
                self.bump();
            }
        }
        self.open.pop();
    }

    /// A block meets an item keyword: its `}` is missing.
    fn unclosed_block(&mut self, open: &Span) {
        let before = self.diags.len();
        let kw = self.kind().fixed_text().unwrap_or("");
        self.unexpected_with("`}`", Some(format!("add `}}` before `{kw}`")));
        if self.diags.len() > before
            && let Some(d) = self.diags.last_mut()
        {
            d.labels
                .push((open.clone(), "this `{` is not closed".into()));
        }
    }

    /// `name: [public | private(owner)] type [= init];`
    fn field(&mut self) -> PResult<Field> {
        let name = self.ident("a field name or `}`")?;
        self.expect(&TokenKind::Colon, "`:`")?;
        let visibility = if self.eat(&TokenKind::Public).is_some() {
            Visibility::Public
        } else if self.eat(&TokenKind::Private).is_some() {
            if !self.at(&TokenKind::LParen) {
                return Err(self
                    .unexpected_with("`(`", Some("name the owner: `private(PARTY) u64`".into())));
            }
            self.bump();
            let owner = self.ident("the owning party's name")?;
            self.expect(&TokenKind::RParen, "`)`")?;
            Visibility::Private(owner)
        } else {
            Visibility::Public
        };
        let ty = self.ty()?;
        let init = if self.eat(&TokenKind::Assign).is_some() {
            Some(self.expr())
        } else {
            None
        };
        let expected = if init.is_some() { "`;`" } else { "`=` or `;`" };
        self.semi(expected)?;
        if self.bail {
            return Err(Reported);
        }
        Ok(Field {
            span: self.span_from(name.span.start),
            name,
            visibility,
            ty,
            init,
        })
    }

    fn ty(&mut self) -> PResult<(Type, Span)> {
        let ty = match self.kind() {
            TokenKind::U64 => Type::U64,
            TokenKind::Bool => Type::Bool,
            TokenKind::Bytes32 => Type::Bytes32,
            TokenKind::Party => Type::Party,
            _ => {
                return Err(self.unexpected_with(
                    "a type",
                    Some("the types are `u64`, `bool`, `bytes32` and `party`".into()),
                ));
            }
        };
        Ok((ty, self.bump()))
    }

    /// `fn name(params) by caller { body }`
    fn function(&mut self) -> Function {
        let start = self.bump().start;
        let missing = |span: Span| Ident {
            name: String::new(),
            span,
        };
        let mut name = missing(self.span());
        let mut params = Vec::new();
        let mut caller = missing(self.span());
        let header = (|| {
            name = self.ident("a function name")?;
            self.params(&mut params)?;
            if !self.at(&TokenKind::By) {
                return Err(self.unexpected_with(
                    "`by`",
                    Some("name the party that may call it: `by PARTY`".into()),
                ));
            }
            self.bump();
            caller = self.ident("the calling party's name")?;
            if !self.at(&TokenKind::LBrace) {
                return Err(self.unexpected("`{`"));
            }
            Ok(())
        })();
        if header.is_err() {
            // Skip to the body, so its statements are still checked.
            self.bail = false;
            while !matches!(
                self.kind(),
                TokenKind::LBrace | TokenKind::Eof | TokenKind::Fn | TokenKind::State
            ) {
                self.bump();
            }
        }
        let body = if self.at(&TokenKind::LBrace) {
            self.block()
        } else {
            let at = self.prev_end();
            Block {
                stmts: Vec::new(),
                span: at..at,
            }
        };
        Function {
            name,
            params,
            caller,
            body,
            span: self.span_from(start),
        }
    }

    /// `( [param ("," param)* ","?] )`. A bad parameter is skipped up to
    /// the next `,` or `)` (parentheses balanced), or to a `by` or `{`, so
    /// the rest of the header is still read.
    fn params(&mut self, params: &mut Vec<Param>) -> PResult<()> {
        let open = self.expect(&TokenKind::LParen, "`(`")?;
        self.open.push((open.clone(), "("));
        let result = self.param_list(params, &open);
        self.open.pop();
        result
    }

    fn param_list(&mut self, params: &mut Vec<Param>, open: &Span) -> PResult<()> {
        loop {
            if self.eat(&TokenKind::RParen).is_some() {
                return Ok(());
            }
            if self.at(&TokenKind::By) || self.at(&TokenKind::LBrace) {
                // The header goes on: the `)` is what is missing.
                self.unclosed_list("a parameter name or `)`", open);
                return Ok(());
            }
            // Progress: the loop head consumed `)`, and a parameter that
            // fails at its first token has that token skipped below
            // (unless it is a `,`, which is consumed).
            if let Ok(p) = self.param() {
                params.push(p);
                if self.eat(&TokenKind::Comma).is_some() || self.at(&TokenKind::RParen) {
                    continue;
                }
                if self.at(&TokenKind::By) || self.at(&TokenKind::LBrace) {
                    self.unclosed_list("`,` or `)`", open);
                    return Ok(());
                }
                self.unexpected("`,` or `)`");
            }
            // Skip the rest of this parameter, parentheses balanced.
            let mut parens = 0usize;
            loop {
                match self.kind() {
                    TokenKind::LParen => parens += 1,
                    TokenKind::RParen if parens > 0 => parens -= 1,
                    TokenKind::Comma | TokenKind::RParen if parens == 0 => break,
                    k if ends_header_skip(k) => break,
                    _ => {}
                }
                self.bump();
            }
            match self.kind() {
                TokenKind::Comma => {
                    self.bump();
                }
                TokenKind::RParen => {}
                // Already reported; the header goes on from here.
                TokenKind::By | TokenKind::LBrace => return Ok(()),
                _ => return Err(Reported),
            }
        }
    }

    /// A parameter list meets `by` or `{`: its `)` is missing.
    fn unclosed_list(&mut self, expected: &str, open: &Span) {
        let before = self.diags.len();
        self.unexpected_with(expected, Some("close the parameter list with `)`".into()));
        if self.diags.len() > before
            && let Some(d) = self.diags.last_mut()
        {
            d.labels
                .push((open.clone(), "this `(` is not closed".into()));
        }
    }

    /// `name: [private] type`
    fn param(&mut self) -> PResult<Param> {
        let name = self.ident("a parameter name or `)`")?;
        self.expect(&TokenKind::Colon, "`:`")?;
        let private = self.eat(&TokenKind::Private).is_some();
        if private && self.at(&TokenKind::LParen) {
            self.unexpected_with(
                "a type",
                Some("a parameter is private to its caller: write `private u64`".into()),
            );
            // Read past `(owner)`: the parameter is otherwise fine.
            self.bump();
            if matches!(self.kind(), TokenKind::Ident(_)) {
                self.bump();
            }
            if self.eat(&TokenKind::RParen).is_none() {
                return Err(Reported);
            }
        }
        let ty = self.ty()?;
        Ok(Param { name, private, ty })
    }

    // --- Statements --------------------------------------------------------

    /// `{ stmt* }`; the caller has checked that the current token is `{`.
    fn block(&mut self) -> Block {
        let open = self.span();
        if !self.enter() {
            // Too deep: skip the whole block without recursing into it.
            self.bail = false;
            self.skip_block();
            return Block {
                stmts: Vec::new(),
                span: self.span_from(open.start),
            };
        }
        self.bump();
        let mut stmts = Vec::new();
        self.braced(&open, |p| stmts.push(p.stmt()));
        self.leave();
        Block {
            stmts,
            span: self.span_from(open.start),
        }
    }

    fn stmt(&mut self) -> Stmt {
        let start = self.span().start;
        let kind = match self.kind() {
            TokenKind::Let => self.let_stmt(),
            TokenKind::Ident(_) => self.assign(),
            TokenKind::If => self.if_stmt().map(|s| s.kind),
            TokenKind::Require => self.require(),
            TokenKind::Transfer => self.transfer(),
            TokenKind::Await => self.await_stmt(),
            TokenKind::Finish => {
                self.bump();
                self.semi("`;`").map(|()| StmtKind::Finish)
            }
            TokenKind::Semi => {
                let after_block = self
                    .pos
                    .checked_sub(1)
                    .and_then(|i| self.tokens.get(i))
                    .is_some_and(|t| t.kind == TokenKind::RBrace);
                let hint = after_block
                    .then(|| "remove this `;`: a block ends the statement before it".to_owned());
                Err(self.unexpected_with("a statement", hint))
            }
            TokenKind::Else => Err(self.unexpected_with(
                "a statement",
                Some("an `else` follows the `}` of an `if` block directly".into()),
            )),
            _ => Err(self.unexpected("a statement")),
        };
        let kind = match kind {
            Ok(kind) if !self.bail => kind,
            _ => {
                self.recover_stmt();
                StmtKind::Error
            }
        };
        Stmt {
            kind,
            span: self.span_from(start),
        }
    }

    fn let_stmt(&mut self) -> PResult<StmtKind> {
        self.bump();
        let name = self.ident("a name")?;
        let ty = if self.eat(&TokenKind::Colon).is_some() {
            Some(self.ty()?)
        } else {
            None
        };
        let expected = if ty.is_some() { "`=`" } else { "`:` or `=`" };
        self.expect(&TokenKind::Assign, expected)?;
        let value = self.expr();
        self.semi("`;`")?;
        Ok(StmtKind::Let { name, ty, value })
    }

    fn assign(&mut self) -> PResult<StmtKind> {
        let target = self.ident("a name")?;
        if !self.at(&TokenKind::Assign) {
            let hint = match self.kind() {
                TokenKind::EqEq => Some("to assign, write `=`".to_owned()),
                TokenKind::LParen => {
                    Some("a call is not a statement: assign its value to a name".to_owned())
                }
                _ => None,
            };
            return Err(self.unexpected_with("`=`", hint));
        }
        self.bump();
        let value = self.expr();
        self.semi("`;`")?;
        Ok(StmtKind::Assign { target, value })
    }

    /// `if cond block [else (block | if ...)]`, as a whole statement (an
    /// `else if` nests one inside a block).
    fn if_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump().start;
        let cond = self.expr();
        if !self.at(&TokenKind::LBrace) {
            let hint = self
                .at(&TokenKind::Assign)
                .then(|| "to compare, write `==`".to_owned());
            return Err(self.unexpected_with("`{`", hint));
        }
        let then = self.block();
        let otherwise = if self.eat(&TokenKind::Else).is_some() {
            match self.kind() {
                TokenKind::LBrace => Some(self.block()),
                TokenKind::If => {
                    // Each `else if` nests one level deeper in the tree.
                    if !self.enter() {
                        return Err(Reported);
                    }
                    let nested = self.if_stmt();
                    self.leave();
                    let nested = nested?;
                    Some(Block {
                        span: nested.span.clone(),
                        stmts: vec![nested],
                    })
                }
                _ => return Err(self.unexpected("`{` or `if`")),
            }
        } else {
            None
        };
        Ok(Stmt {
            kind: StmtKind::If {
                cond,
                then,
                otherwise,
            },
            span: self.span_from(start),
        })
    }

    fn require(&mut self) -> PResult<StmtKind> {
        self.bump();
        let cond = self.expr();
        if !self.at(&TokenKind::Comma) {
            let hint = match self.kind() {
                TokenKind::Assign => Some("to compare, write `==`".to_owned()),
                TokenKind::Semi => Some("give a reason: `require COND, \"reason\";`".to_owned()),
                _ => None,
            };
            return Err(self.unexpected_with("`,`", hint));
        }
        self.bump();
        let TokenKind::Str(reason) = self.kind() else {
            return Err(self.unexpected("a reason string"));
        };
        let reason = (reason.clone(), self.bump());
        self.semi("`;`")?;
        Ok(StmtKind::Require { cond, reason })
    }

    fn transfer(&mut self) -> PResult<StmtKind> {
        self.bump();
        let amount = self.expr();
        self.expect(&TokenKind::From, "`from`")?;
        let from = self.ident("the paying party's name")?;
        self.expect(&TokenKind::To, "`to`")?;
        let to = self.ident("the paid party's name")?;
        self.semi("`;`")?;
        Ok(StmtKind::Transfer { amount, from, to })
    }

    fn await_stmt(&mut self) -> PResult<StmtKind> {
        self.bump();
        let party = self.ident("a party name")?;
        let silent = if self.eat(&TokenKind::Silent).is_some() {
            if !self.at(&TokenKind::LBrace) {
                return Err(self.unexpected_with(
                    "`{`",
                    Some("write what moves if the party stays silent: `silent { ... }`".into()),
                ));
            }
            Some(self.block())
        } else {
            self.semi("`silent` or `;`")?;
            None
        };
        Ok(StmtKind::Await { party, silent })
    }

    // --- Expressions -------------------------------------------------------

    fn expr(&mut self) -> Expr {
        self.binary(0).0
    }

    /// Precedence climbing: operators binding at least `min` are taken
    /// here, left-associatively; comparisons take one operator at most.
    fn binary(&mut self, min: u8) -> WithHeight {
        let (mut lhs, mut height) = self.unary();
        // Whether `lhs` is a comparison made at this level (for E0003),
        // and whether its chain was reported.
        let mut compared = false;
        let mut chain_reported = false;
        while !self.bail {
            let Some((op, power)) = binop(self.kind()) else {
                break;
            };
            if power < min {
                break;
            }
            let op_span = self.bump();
            let (rhs, rhs_height) = self.binary(power + 1);
            height = 1 + height.max(rhs_height);
            if power == CMP && (compared || chain_reported) {
                if !chain_reported {
                    self.chained_comparison(&lhs, op, &op_span, &rhs);
                    chain_reported = true;
                }
                // The chain is one error node; the rest of it is read and
                // dropped.
                lhs = error_expr(lhs.span.start..rhs.span.end);
                compared = false;
                continue;
            }
            let span = lhs.span.start..rhs.span.end;
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            };
            if self.depth + height > MAX_DEPTH {
                self.too_deep(op_span);
                self.bail = true;
                return (error_expr(lhs.span), 0);
            }
            compared = power == CMP;
            chain_reported = false;
        }
        (lhs, height)
    }

    /// E0003 for `first op next`, where `first` is already a comparison.
    fn chained_comparison(&mut self, first: &Expr, op: BinOp, op_span: &Span, next: &Expr) {
        let mut d = Diagnostic::error(
            "E0003",
            "comparisons do not chain",
            op_span.clone(),
            "a second comparison",
        )
        .with_label(first.span.clone(), "already a comparison");
        if let ExprKind::Binary(_, _, middle) = &first.kind
            && !contains_error(first)
            && !contains_error(next)
        {
            let second = Expr {
                kind: ExprKind::Binary(op, middle.clone(), Box::new(next.clone())),
                span: 0..0,
            };
            let both = Expr {
                kind: ExprKind::Binary(BinOp::And, Box::new(first.clone()), Box::new(second)),
                span: 0..0,
            };
            d = d.with_hint(format!("split into `{}`", printer::print_expr(&both)));
        }
        self.diags.push(d);
    }

    fn unary(&mut self) -> WithHeight {
        let op = match self.kind() {
            TokenKind::Bang => UnOp::Not,
            TokenKind::Minus => UnOp::Neg,
            _ => return self.primary(),
        };
        let start = self.span().start;
        if self.bail || !self.enter() {
            return (error_expr(self.span()), 0);
        }
        self.bump();
        let (operand, height) = self.unary();
        self.leave();
        let span = start..operand.span.end;
        (
            Expr {
                kind: ExprKind::Unary(op, Box::new(operand)),
                span,
            },
            height + 1,
        )
    }

    fn primary(&mut self) -> WithHeight {
        let span = self.span();
        if self.bail {
            return (error_expr(span), 0);
        }
        let leaf = |kind| {
            (
                Expr {
                    kind,
                    span: span.clone(),
                },
                0,
            )
        };
        let kind = match self.kind() {
            TokenKind::Int(v) => ExprKind::Int(*v),
            TokenKind::Bytes32Lit(b) => ExprKind::Bytes32(*b),
            TokenKind::True => ExprKind::Bool(true),
            TokenKind::False => ExprKind::Bool(false),
            TokenKind::Now => ExprKind::Now,
            // Already reported by the lexer.
            TokenKind::Error => ExprKind::Error,
            TokenKind::Ident(name) => {
                let name = name.clone();
                self.bump();
                if self.at(&TokenKind::LParen) {
                    return self.call(Ident { name, span });
                }
                return leaf(ExprKind::Name(name));
            }
            TokenKind::Reveal => return self.reveal(),
            TokenKind::LParen => return self.paren(),
            TokenKind::Str(_) => {
                self.unexpected_with(
                    "an expression",
                    Some("strings appear only as `require` reasons".into()),
                );
                ExprKind::Error
            }
            _ => {
                // Not consumed: it is most likely what follows the
                // missing expression (`;`, `)`, `{`), and the statement
                // goes on from it.
                self.unexpected("an expression");
                return leaf(ExprKind::Error);
            }
        };
        self.bump();
        leaf(kind)
    }

    /// `name(args)`; the name is consumed and the current token is `(`.
    fn call(&mut self, name: Ident) -> WithHeight {
        let start = name.span.start;
        if !self.enter() {
            return (error_expr(self.span()), 0);
        }
        let open = self.bump();
        self.open.push((open, "("));
        let mut args = Vec::new();
        let mut height = 0;
        let mut closed = true;
        if self.eat(&TokenKind::RParen).is_none() {
            loop {
                let (arg, h) = self.binary(0);
                args.push(arg);
                height = height.max(h);
                if self.bail || self.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
            closed = self.expect(&TokenKind::RParen, "`,` or `)`").is_ok();
        }
        self.open.pop();
        self.leave();
        let span = self.span_from(start);
        if !closed {
            return (error_expr(span), 0);
        }
        (
            Expr {
                kind: ExprKind::Call(name, args),
                span,
            },
            height + 1,
        )
    }

    /// `reveal(name)`
    fn reveal(&mut self) -> WithHeight {
        let start = self.bump().start;
        let name = (|| {
            self.expect(&TokenKind::LParen, "`(`")?;
            let name = self.ident("the name of a private value")?;
            self.expect(&TokenKind::RParen, "`)`")?;
            Ok(name)
        })();
        let span = self.span_from(start);
        let kind = match name {
            Ok(name) => ExprKind::Reveal(name),
            Err(Reported) => ExprKind::Error,
        };
        (Expr { kind, span }, 0)
    }

    /// `( expr )`; the span takes in the parentheses.
    fn paren(&mut self) -> WithHeight {
        let open = self.span();
        if !self.enter() {
            return (error_expr(open), 0);
        }
        self.bump();
        self.open.push((open.clone(), "("));
        let (mut inner, height) = self.binary(0);
        if self.eat(&TokenKind::RParen).is_some() {
            inner.span = open.start..self.prev_end();
        } else {
            let before = self.diags.len();
            self.unexpected("`)`");
            if self.diags.len() > before
                && let Some(d) = self.diags.last_mut()
            {
                d.labels.push((open.clone(), "to close this `(`".into()));
            }
        }
        self.open.pop();
        self.leave();
        (inner, height)
    }
}

fn contains_error(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Error => true,
        ExprKind::Binary(_, a, b) => contains_error(a) || contains_error(b),
        ExprKind::Unary(_, a) => contains_error(a),
        ExprKind::Call(_, args) => args.iter().any(contains_error),
        _ => false,
    }
}
