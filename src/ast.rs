//! The abstract syntax tree the parser builds and the compiler consumes.
//!
//! Every node carries a [`Span`] of byte offsets into the source, so the compiler can
//! point compile errors at the right place and build the line table.

/// Byte range `start..end` in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogicOp {
    And,
    Or,
}

/// A type annotation as written: `Int`, `List<Int>`, `void`. Only the outer name is
/// checked; the compiler rejects unknown names.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeAnn {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// A key in a map literal: a bare name is that name as a String.
#[derive(Clone, Debug, PartialEq)]
pub enum MapKey {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// A piece of an interpolated string `"a ${b} c"`.
#[derive(Clone, Debug, PartialEq)]
pub enum InterpPart {
    Lit(String),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// An interpolated string: literal pieces and expressions, in order.
    Interp(Vec<InterpPart>),
    Name(String),
    List(Vec<Expr>),
    Map(Vec<(MapKey, Expr)>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Logic(LogicOp, Box<Expr>, Box<Expr>),
    Call(Box<Expr>, Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
    /// `m.name`, the same as `m["name"]`.
    Field(Box<Expr>, String),
    /// An anonymous function `fn (a, b) { ... }`.
    Func(Box<FnDecl>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: Option<TypeAnn>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    /// `None` for an anonymous function.
    pub name: Option<String>,
    pub params: Vec<Param>,
    pub ret: Option<TypeAnn>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `let x: T = e` (mutable: false) or `state x: T = e` (mutable: true).
    Let {
        mutable: bool,
        name: String,
        name_span: Span,
        ty: Option<TypeAnn>,
        init: Expr,
    },
    Fn(FnDecl),
    /// `target = value`, or `target op= value` when `op` is set. The parser only
    /// builds this for a Name, Index or Field target.
    Assign {
        target: Expr,
        op: Option<BinOp>,
        value: Expr,
    },
    Expr(Expr),
    Block(Vec<Stmt>),
    If {
        cond: Expr,
        then: Vec<Stmt>,
        /// `else { }` holds a Block statement, `else if` an If statement.
        otherwise: Option<Box<Stmt>>,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
    },
    /// `for var in start..end` or `start..=end`.
    ForRange {
        var: String,
        var_span: Span,
        start: Expr,
        end: Expr,
        inclusive: bool,
        body: Vec<Stmt>,
    },
    /// `for var in iterable` (list, map keys, string characters).
    ForIn {
        var: String,
        var_span: Span,
        iter: Expr,
        body: Vec<Stmt>,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    Try {
        body: Vec<Stmt>,
        var: String,
        var_span: Span,
        handler: Vec<Stmt>,
    },
}
