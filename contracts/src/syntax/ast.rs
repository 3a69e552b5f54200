//! The syntax tree of a sotto contract, as the parser produces it.
//!
//! Every node carries the [`Span`] of the source it came from, so later
//! passes can point at it. The tree is what the author wrote, nothing
//! resolved: names are strings, types are as spelled. Where the parser met
//! an error it still builds the tree around it (a missing expression becomes
//! [`ExprKind::Error`]), so the checker can report further errors.

use crate::diagnostic::Span;

/// A name with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A whole contract file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// `contract NAME;`
    pub name: Ident,
    /// Declared parties, in order (from every `party` item).
    pub parties: Vec<Ident>,
    /// State fields, in order (from every `state` block).
    pub fields: Vec<Field>,
    /// Functions, in order.
    pub functions: Vec<Function>,
}

/// A value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// `u64`
    U64,
    /// `bool`
    Bool,
    /// `bytes32`
    Bytes32,
    /// `party`
    Party,
}

/// Who may see a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Everyone in the channel (the default).
    Public,
    /// Only the named party; others hold a commitment.
    Private(Ident),
}

/// A state field: `name: [public | private(owner)] type [= init];`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: Ident,
    /// Who may see it.
    pub visibility: Visibility,
    /// Its type, and where the type was written.
    pub ty: (Type, Span),
    /// The initial value, if given.
    pub init: Option<Expr>,
    /// The whole declaration.
    pub span: Span,
}

/// A function parameter: `name: [private] type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Its name.
    pub name: Ident,
    /// Whether it is private to the caller.
    pub private: bool,
    /// Its type, and where the type was written.
    pub ty: (Type, Span),
}

/// `fn name(params) by party { body }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its name.
    pub name: Ident,
    /// Parameters, in order.
    pub params: Vec<Param>,
    /// The party allowed to call it.
    pub caller: Ident,
    /// The body.
    pub body: Block,
    /// The whole function.
    pub span: Span,
}

/// `{ stmt* }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The statements, in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// What kind.
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
}

/// The kinds of statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtKind {
    /// `let name [: type] = value;`
    Let {
        /// The new local.
        name: Ident,
        /// Its declared type, if written.
        ty: Option<(Type, Span)>,
        /// Its value.
        value: Expr,
    },
    /// `target = value;` (a field or a local).
    Assign {
        /// What is assigned to.
        target: Ident,
        /// The new value.
        value: Expr,
    },
    /// `if cond { .. } [else { .. } | else if ..]`
    If {
        /// The condition.
        cond: Expr,
        /// Taken when true.
        then: Block,
        /// Taken when false (an `else if` is a block holding one `If`).
        otherwise: Option<Block>,
    },
    /// `require cond, "reason";`
    Require {
        /// Must hold.
        cond: Expr,
        /// Told to the counterparty and the user when it does not.
        reason: (String, Span),
    },
    /// `transfer amount from a to b;`
    Transfer {
        /// How much.
        amount: Expr,
        /// Paid by.
        from: Ident,
        /// Paid to.
        to: Ident,
    },
    /// `await party [silent { .. }];`
    Await {
        /// Who moves next.
        party: Ident,
        /// What moves if they stay silent.
        silent: Option<Block>,
    },
    /// `finish;`
    Finish,
    /// A statement the parser could not read (already reported).
    Error,
}

/// An expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// What kind.
    pub kind: ExprKind,
    /// The whole expression.
    pub span: Span,
}

/// Binary operators, by precedence group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `!`
    Not,
    /// `-` (only meaningful on a literal; the checker rejects it elsewhere,
    /// since `u64` has no negatives)
    Neg,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// An integer literal.
    Int(u64),
    /// A `bytes32` literal.
    Bytes32([u8; 32]),
    /// `true` or `false`.
    Bool(bool),
    /// `now`: the time agreed in the update.
    Now,
    /// A field, local, parameter or party name.
    Name(String),
    /// `lhs op rhs`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `op operand`
    Unary(UnOp, Box<Expr>),
    /// A builtin call: `sha256(..)`, `keccak256(..)`, `balance(p)`, `min`, `max`.
    Call(Ident, Vec<Expr>),
    /// `reveal(name)`
    Reveal(Ident),
    /// An expression the parser could not read (already reported).
    Error,
}
