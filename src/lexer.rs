//! The lexer: source text → tokens with byte-offset spans, for the LALRPOP parser.
//!
//! Besides splitting text into tokens it makes the layout decisions of the language
//! (spec §1):
//! - **Newlines.** A line break becomes a [`Tok::Newline`] unless the innermost open
//!   bracket is `(`, `[`, a map literal's `{` or an interpolation `${`; or the previous
//!   token is a binary operator, `,`, `=`, a compound assignment, `(`, `[`, `{`, `->`,
//!   `..` or `..=`; or the next token (after blank lines and comments) is `else` or
//!   `catch`. Runs of line breaks give one token.
//! - **Braces.** `{` opens a map literal ([`Tok::MapOpen`]) when the previous token
//!   leaves us in expression position (an operator, `(`, `[`, `,`, `:`, `=`, `return`,
//!   `in`, `..`, `..=`, the start of an interpolation or another map); otherwise it opens
//!   a block ([`Tok::LBrace`]). The first `{` after `->` always opens a block.
//! - **`//`** is both the floor-division operator and the line-comment marker. It is
//!   the operator only when the previous token ends an operand (a name, a literal, `)`,
//!   `]`, a map's `}`) on the same line; anywhere else it starts a comment. The parser
//!   retries with such an operator read as a comment when the line then fails to parse
//!   (see [`crate::parser`]), so `print(x) // shows x` works.
//! - **Interpolation.** `"a ${e} b"` lexes as `StrStart("a ")`, the tokens of `e`,
//!   `StrEnd(" b")`; more `${}` give `StrMid` pieces. A plain string is `Str`.
//!
//! Nesting of brackets (of any kind) deeper than [`MAX_NESTING`] is the error
//! `nesting too deep`. The lexer never recurses.

use crate::ast::Span;
use crate::diagnostics::CompileError;
use std::fmt;

/// The deepest bracket nesting accepted.
pub const MAX_NESTING: usize = 256;

/// A token with its byte span, as LALRPOP wants it.
pub type Spanned = (usize, Tok, usize);

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    Int(i64),
    Float(f64),
    /// A string without interpolation.
    Str(String),
    /// The text of an interpolated string before its first `${`.
    StrStart(String),
    /// The text between a `}` and the next `${`.
    StrMid(String),
    /// The text between the last `}` and the closing `"`.
    StrEnd(String),
    // keywords
    Let,
    State,
    Fn,
    Return,
    If,
    Else,
    While,
    For,
    In,
    Break,
    Continue,
    True,
    False,
    Nil,
    Try,
    Catch,
    // operators
    Plus,
    Minus,
    Star,
    Slash,
    SlashSlash,
    Percent,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    Assign,
    PlusEq,
    MinusEq,
    StarEq,
    SlashEq,
    SlashSlashEq,
    PercentEq,
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `{` opening a block.
    LBrace,
    /// `{` opening a map literal.
    MapOpen,
    /// `}` closing either.
    RBrace,
    Comma,
    Colon,
    Semi,
    Dot,
    DotDot,
    DotDotEq,
    Arrow,
    /// A line break that ends a statement.
    Newline,
}

impl Tok {
    /// The fixed text of a punctuation or keyword token.
    fn text(&self) -> Option<&'static str> {
        use Tok::*;
        Some(match self {
            Let => "let",
            State => "state",
            Fn => "fn",
            Return => "return",
            If => "if",
            Else => "else",
            While => "while",
            For => "for",
            In => "in",
            Break => "break",
            Continue => "continue",
            True => "true",
            False => "false",
            Nil => "nil",
            Try => "try",
            Catch => "catch",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            SlashSlash => "//",
            Percent => "%",
            EqEq => "==",
            NotEq => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            AndAnd => "&&",
            OrOr => "||",
            Bang => "!",
            Assign => "=",
            PlusEq => "+=",
            MinusEq => "-=",
            StarEq => "*=",
            SlashEq => "/=",
            SlashSlashEq => "//=",
            PercentEq => "%=",
            LParen => "(",
            RParen => ")",
            LBracket => "[",
            RBracket => "]",
            LBrace | MapOpen => "{",
            RBrace => "}",
            Comma => ",",
            Colon => ":",
            Semi => ";",
            Dot => ".",
            DotDot => "..",
            DotDotEq => "..=",
            Arrow => "->",
            _ => return None,
        })
    }

    /// Tokens that begin a statement and cannot continue an expression.
    fn starts_statement(&self) -> bool {
        matches!(
            self,
            Tok::Let
                | Tok::State
                | Tok::Fn
                | Tok::If
                | Tok::While
                | Tok::For
                | Tok::Return
                | Tok::Break
                | Tok::Continue
                | Tok::Try
                | Tok::Ident(_)
        )
    }

    fn is_binary_op(&self) -> bool {
        use Tok::*;
        matches!(
            self,
            Plus | Minus
                | Star
                | Slash
                | SlashSlash
                | Percent
                | EqEq
                | NotEq
                | Lt
                | Le
                | Gt
                | Ge
                | AndAnd
                | OrOr
        )
    }

    fn is_compound_assign(&self) -> bool {
        use Tok::*;
        matches!(
            self,
            PlusEq | MinusEq | StarEq | SlashEq | SlashSlashEq | PercentEq
        )
    }

    /// After this token a line break does not end the statement.
    fn continues_line(&self) -> bool {
        use Tok::*;
        self.is_binary_op()
            || self.is_compound_assign()
            || matches!(
                self,
                Comma
                    | Assign
                    | LParen
                    | LBracket
                    | LBrace
                    | MapOpen
                    | Arrow
                    | DotDot
                    | DotDotEq
                    | StrStart(_)
                    | StrMid(_)
            )
    }

    /// After this token a `{` opens a map literal.
    fn expects_operand(&self) -> bool {
        use Tok::*;
        self.is_binary_op()
            || self.is_compound_assign()
            || matches!(
                self,
                Bang | LParen
                    | LBracket
                    | Comma
                    | Colon
                    | Assign
                    | Return
                    | In
                    | DotDot
                    | DotDotEq
                    | StrStart(_)
                    | StrMid(_)
                    | MapOpen
            )
    }

    /// This token can be the last token of an operand (`//` after it is division).
    /// A `}` counts only when it closes a map; the lexer handles that case itself.
    fn ends_operand(&self) -> bool {
        use Tok::*;
        matches!(
            self,
            Ident(_)
                | Int(_)
                | Float(_)
                | Str(_)
                | StrEnd(_)
                | True
                | False
                | Nil
                | RParen
                | RBracket
        )
    }
}

impl fmt::Display for Tok {
    /// How a token is named in an error message: `')'`, `newline`, `identifier 'x'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "identifier '{s}'"),
            Tok::Int(n) => write!(f, "number {n}"),
            Tok::Float(x) => write!(f, "number {x:?}"),
            Tok::Str(_) | Tok::StrStart(_) => f.write_str("string"),
            Tok::StrMid(_) | Tok::StrEnd(_) => f.write_str("'}'"),
            Tok::Newline => f.write_str("newline"),
            other => write!(f, "'{}'", other.text().unwrap_or("?")),
        }
    }
}

/// What an open bracket is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Open {
    Paren,
    Bracket,
    Block,
    Map,
    /// `${` inside a string; holds the offset of the string's opening quote.
    Interp(usize),
}

/// Everything the lexer produced: the tokens up to the first error, the error if any,
/// and the offsets of the `//` tokens read as floor division (see the module doc).
#[derive(Debug)]
pub struct LexOutput {
    pub tokens: Vec<Spanned>,
    pub error: Option<CompileError>,
    pub floor_div_offsets: Vec<usize>,
}

/// Lexes a whole source text; the first error stops it.
pub fn lex(source: &str) -> Result<Vec<Spanned>, CompileError> {
    let out = tokenize(source, &[]);
    match out.error {
        Some(e) => Err(e),
        None => Ok(out.tokens),
    }
}

/// Lexes a source text, reading the `//` at each offset in `comment_at` as a comment
/// even where it would be floor division. Stops at the first error.
pub fn tokenize(source: &str, comment_at: &[usize]) -> LexOutput {
    let mut lx = Lexer {
        src: source,
        bytes: source.as_bytes(),
        pos: 0,
        toks: Vec::new(),
        stack: Vec::new(),
        pending_newline: None,
        prev_continues: true,
        prev_expects_operand: false,
        prev_ends_operand: false,
        in_ret_type: false,
        prev_block_close: false,
        comment_at,
        floor_divs: Vec::new(),
    };
    let error = lx.run().err();
    LexOutput {
        tokens: lx.toks,
        error,
        floor_div_offsets: lx.floor_divs,
    }
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    toks: Vec<Spanned>,
    stack: Vec<Open>,
    /// Offset of a line break not yet emitted as a Newline (it is dropped if the next
    /// token is `else` or `catch`).
    pending_newline: Option<usize>,
    prev_continues: bool,
    prev_expects_operand: bool,
    prev_ends_operand: bool,
    /// Between `->` and the next `{` (a return type).
    in_ret_type: bool,
    /// The previous token closed a block: a statement may follow on the same line
    /// (`if c { return 0 } return 1`).
    prev_block_close: bool,
    comment_at: &'a [usize],
    floor_divs: Vec<usize>,
}

fn err(message: impl Into<String>, start: usize, end: usize) -> CompileError {
    CompileError::new(message, Span::new(start, end))
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn emit(&mut self, tok: Tok, start: usize, end: usize) {
        let after_block = std::mem::take(&mut self.prev_block_close);
        if after_block && self.pending_newline.is_none() && tok.starts_statement() {
            self.toks.push((start, Tok::Newline, start));
        }
        if let Some(nl) = self.pending_newline.take() {
            if !matches!(tok, Tok::Else | Tok::Catch) {
                self.toks.push((nl, Tok::Newline, nl + 1));
            }
        }
        self.prev_continues = tok.continues_line();
        self.prev_expects_operand = tok.expects_operand();
        self.prev_ends_operand = tok.ends_operand();
        self.toks.push((start, tok, end));
    }

    fn line_break(&mut self, at: usize) {
        if matches!(
            self.stack.last(),
            Some(Open::Paren | Open::Bracket | Open::Map | Open::Interp(_))
        ) || self.prev_continues
            || self.in_ret_type
        {
            return;
        }
        if self.pending_newline.is_none() {
            self.pending_newline = Some(at);
        }
    }

    fn open(&mut self, kind: Open, at: usize, len: usize) -> Result<(), CompileError> {
        if self.stack.len() >= MAX_NESTING {
            return Err(err("nesting too deep", at, at + len));
        }
        self.stack.push(kind);
        Ok(())
    }

    fn run(&mut self) -> Result<(), CompileError> {
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let c = self.bytes[start];
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.line_break(start);
                    self.pos += 1;
                }
                b'/' if self.peek(1) == b'*' => self.block_comment()?,
                b'/' if self.peek(1) == b'/' => {
                    let division = self.prev_ends_operand
                        && self.pending_newline.is_none()
                        && !self.in_ret_type
                        && !self.comment_at.contains(&start)
                        && self.operand_follows(start + 2);
                    if division {
                        self.floor_divs.push(start);
                        if self.peek(2) == b'=' {
                            self.pos += 3;
                            self.emit(Tok::SlashSlashEq, start, start + 3);
                        } else {
                            self.pos += 2;
                            self.emit(Tok::SlashSlash, start, start + 2);
                        }
                    } else {
                        while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                            self.pos += 1;
                        }
                    }
                }
                b'0'..=b'9' => self.number()?,
                b'"' => {
                    self.pos += 1;
                    self.string_body(start, start, true)?;
                }
                b'A'..=b'Z' | b'a'..=b'z' | b'_' => self.word(),
                b'(' => {
                    self.open(Open::Paren, start, 1)?;
                    self.pos += 1;
                    self.emit(Tok::LParen, start, start + 1);
                }
                b'[' => {
                    self.open(Open::Bracket, start, 1)?;
                    self.pos += 1;
                    self.emit(Tok::LBracket, start, start + 1);
                }
                b'{' => {
                    let is_map = !self.in_ret_type
                        && self.pending_newline.is_none()
                        && self.prev_expects_operand;
                    self.in_ret_type = false;
                    let (kind, tok) = if is_map {
                        (Open::Map, Tok::MapOpen)
                    } else {
                        (Open::Block, Tok::LBrace)
                    };
                    self.open(kind, start, 1)?;
                    self.pos += 1;
                    self.emit(tok, start, start + 1);
                }
                b'}' => match self.stack.last().copied() {
                    Some(Open::Interp(quote)) => {
                        self.stack.pop();
                        self.pos += 1;
                        self.string_body(start, quote, false)?;
                    }
                    Some(Open::Map) => {
                        self.stack.pop();
                        self.pos += 1;
                        self.emit(Tok::RBrace, start, start + 1);
                        self.prev_ends_operand = true;
                    }
                    top => {
                        if top == Some(Open::Block) {
                            self.stack.pop();
                        }
                        self.pos += 1;
                        self.emit(Tok::RBrace, start, start + 1);
                        self.prev_block_close = top == Some(Open::Block);
                    }
                },
                b')' => self.close(Open::Paren, Tok::RParen),
                b']' => self.close(Open::Bracket, Tok::RBracket),
                _ => self.punct()?,
            }
        }
        if let Some(nl) = self.pending_newline.take() {
            self.toks.push((nl, Tok::Newline, nl + 1));
        }
        Ok(())
    }

    /// Whether the rest of the line from `at` could continue `a // ...` as floor
    /// division: something that can start an operand, and not two words in a row
    /// (`// shows the value` is prose, never code).
    fn operand_follows(&self, at: usize) -> bool {
        let rest = self.src.get(at..).unwrap_or("");
        let line = rest.split('\n').next().unwrap_or("");
        if line.starts_with('=') {
            return true; // `//=`
        }
        let text = line.trim_start();
        let Some(c) = text.chars().next() else {
            return false;
        };
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if is_word(c) {
            let after = text.trim_start_matches(|c: char| is_word(c) || c == '.');
            let next = after.trim_start();
            return !(next.len() < after.len() && next.starts_with(is_word));
        }
        matches!(c, '"' | '(' | '[' | '{' | '-' | '!')
    }

    fn close(&mut self, kind: Open, tok: Tok) {
        // A mismatched closer is left on the stack; the parser rejects the token.
        if self.stack.last() == Some(&kind) {
            self.stack.pop();
        }
        let start = self.pos;
        self.pos += 1;
        self.emit(tok, start, start + 1);
    }

    fn punct(&mut self) -> Result<(), CompileError> {
        use Tok::*;
        let start = self.pos;
        let (c1, c2) = (self.peek(1), self.peek(2));
        let (tok, len) = match (self.bytes[start], c1) {
            (b'+', b'=') => (PlusEq, 2),
            (b'+', _) => (Plus, 1),
            (b'-', b'=') => (MinusEq, 2),
            (b'-', b'>') => (Arrow, 2),
            (b'-', _) => (Minus, 1),
            (b'*', b'=') => (StarEq, 2),
            (b'*', _) => (Star, 1),
            (b'/', b'=') => (SlashEq, 2),
            (b'/', _) => (Slash, 1),
            (b'%', b'=') => (PercentEq, 2),
            (b'%', _) => (Percent, 1),
            (b'=', b'=') => (EqEq, 2),
            (b'=', _) => (Assign, 1),
            (b'!', b'=') => (NotEq, 2),
            (b'!', _) => (Bang, 1),
            (b'<', b'=') => (Le, 2),
            (b'<', _) => (Lt, 1),
            (b'>', b'=') => (Ge, 2),
            (b'>', _) => (Gt, 1),
            (b'&', b'&') => (AndAnd, 2),
            (b'|', b'|') => (OrOr, 2),
            (b',', _) => (Comma, 1),
            (b':', _) => (Colon, 1),
            (b';', _) => (Semi, 1),
            (b'.', b'.') if c2 == b'=' => (DotDotEq, 3),
            (b'.', b'.') => (DotDot, 2),
            (b'.', _) => (Dot, 1),
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or('?');
                return Err(err(
                    format!("unexpected character '{ch}'"),
                    start,
                    start + ch.len_utf8(),
                ));
            }
        };
        self.pos += len;
        if tok == Arrow {
            self.emit(tok, start, start + len);
            self.in_ret_type = true;
            return Ok(());
        }
        if tok == Semi {
            // `;` ends the statement itself; a line break right after adds nothing.
            self.emit(tok, start, start + len);
            self.prev_continues = true;
            return Ok(());
        }
        self.emit(tok, start, start + len);
        Ok(())
    }

    fn word(&mut self) {
        let start = self.pos;
        while self.pos < self.bytes.len()
            && (self.bytes[self.pos].is_ascii_alphanumeric() || self.bytes[self.pos] == b'_')
        {
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        let tok = match text {
            "let" => Tok::Let,
            "state" => Tok::State,
            "fn" => Tok::Fn,
            "return" => Tok::Return,
            "if" => Tok::If,
            "else" => Tok::Else,
            "while" => Tok::While,
            "for" => Tok::For,
            "in" => Tok::In,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "true" => Tok::True,
            "false" => Tok::False,
            "nil" => Tok::Nil,
            "try" => Tok::Try,
            "catch" => Tok::Catch,
            _ => Tok::Ident(text.to_string()),
        };
        self.emit(tok, start, self.pos);
    }

    fn block_comment(&mut self) -> Result<(), CompileError> {
        let start = self.pos;
        self.pos += 2;
        loop {
            match self.bytes.get(self.pos) {
                None => return Err(err("unterminated block comment", start, start + 2)),
                Some(b'*') if self.peek(1) == b'/' => {
                    self.pos += 2;
                    return Ok(());
                }
                Some(b'\n') => {
                    self.line_break(self.pos);
                    self.pos += 1;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Consumes digits (in `radix`) and underscores; returns the digits without
    /// underscores. Underscores must stand between digits.
    fn digits(&mut self, radix: u32, lit_start: usize) -> Result<String, CompileError> {
        let run_start = self.pos;
        let mut out = String::new();
        while let Some(&b) = self.bytes.get(self.pos) {
            if b == b'_' {
                let prev_digit = self.pos > run_start && self.bytes[self.pos - 1] != b'_';
                let next_digit = (self.peek(1) as char).is_digit(radix);
                if !prev_digit || !next_digit {
                    return Err(self.bad_number(lit_start));
                }
            } else if (b as char).is_digit(radix) {
                out.push(b as char);
            } else {
                break;
            }
            self.pos += 1;
        }
        Ok(out)
    }

    /// `invalid numeric literal` spanning the literal and any letters glued to it.
    fn bad_number(&mut self, lit_start: usize) -> CompileError {
        while self.pos < self.bytes.len()
            && (self.bytes[self.pos].is_ascii_alphanumeric() || self.bytes[self.pos] == b'_')
        {
            self.pos += 1;
        }
        err("invalid numeric literal", lit_start, self.pos)
    }

    fn number(&mut self) -> Result<(), CompileError> {
        let start = self.pos;
        let radix = match (self.peek(0), self.peek(1)) {
            (b'0', b'x' | b'X') => 16,
            (b'0', b'b' | b'B') => 2,
            _ => 10,
        };
        let tok = if radix != 10 {
            self.pos += 2;
            let digits = self.digits(radix, start)?;
            if digits.is_empty() {
                return Err(self.bad_number(start));
            }
            self.check_number_end(start)?;
            match i64::from_str_radix(&digits, radix) {
                Ok(n) => Tok::Int(n),
                Err(_) => return Err(err("integer literal too large", start, self.pos)),
            }
        } else {
            let mut text = self.digits(10, start)?;
            let mut is_float = false;
            if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
                self.pos += 1;
                text.push('.');
                text.push_str(&self.digits(10, start)?);
                is_float = true;
            }
            if matches!(self.peek(0), b'e' | b'E') {
                let sign = matches!(self.peek(1), b'+' | b'-');
                let first = if sign { self.peek(2) } else { self.peek(1) };
                if first.is_ascii_digit() {
                    text.push('e');
                    if sign {
                        text.push(self.peek(1) as char);
                        self.pos += 1;
                    }
                    self.pos += 1;
                    text.push_str(&self.digits(10, start)?);
                    is_float = true;
                }
            }
            self.check_number_end(start)?;
            if is_float {
                match text.parse::<f64>() {
                    Ok(x) => Tok::Float(x),
                    Err(_) => return Err(err("invalid numeric literal", start, self.pos)),
                }
            } else {
                match text.parse::<i64>() {
                    Ok(n) => Tok::Int(n),
                    Err(_) => return Err(err("integer literal too large", start, self.pos)),
                }
            }
        };
        self.emit(tok, start, self.pos);
        Ok(())
    }

    fn check_number_end(&mut self, start: usize) -> Result<(), CompileError> {
        let b = self.peek(0);
        if b.is_ascii_alphanumeric() || b == b'_' {
            return Err(self.bad_number(start));
        }
        Ok(())
    }

    /// Lexes string text from `self.pos` up to the closing `"` or the next `${`.
    /// `tok_start` is where the token starts (the `"` or the `}` of an interpolation);
    /// `quote` is the string's opening quote, for the unterminated-string error.
    fn string_body(
        &mut self,
        tok_start: usize,
        quote: usize,
        first: bool,
    ) -> Result<(), CompileError> {
        let mut text = String::new();
        loop {
            let Some(ch) = self.src[self.pos..].chars().next() else {
                return Err(err("unterminated string", quote, quote + 1));
            };
            match ch {
                '"' => {
                    self.pos += 1;
                    let tok = if first {
                        Tok::Str(text)
                    } else {
                        Tok::StrEnd(text)
                    };
                    self.emit(tok, tok_start, self.pos);
                    return Ok(());
                }
                '$' if self.peek(1) == b'{' => {
                    let at = self.pos;
                    self.open(Open::Interp(quote), at, 2)?;
                    self.pos += 2;
                    let tok = if first {
                        Tok::StrStart(text)
                    } else {
                        Tok::StrMid(text)
                    };
                    self.emit(tok, tok_start, self.pos);
                    return Ok(());
                }
                '\\' => text.push(self.escape(quote)?),
                _ => {
                    text.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }

    fn escape(&mut self, quote: usize) -> Result<char, CompileError> {
        let start = self.pos;
        self.pos += 1;
        let Some(ch) = self.src[self.pos..].chars().next() else {
            return Err(err("unterminated string", quote, quote + 1));
        };
        self.pos += ch.len_utf8();
        let simple = match ch {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            '0' => Some('\0'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            '$' => Some('$'),
            _ => None,
        };
        if let Some(c) = simple {
            return Ok(c);
        }
        if ch != 'u' {
            return Err(err(
                format!("unknown escape sequence '\\{ch}'"),
                start,
                self.pos,
            ));
        }
        // \u{XXXX}
        let bad = |end: usize| err("invalid unicode escape", start, end);
        if self.peek(0) != b'{' {
            return Err(bad(self.pos));
        }
        self.pos += 1;
        let digits_start = self.pos;
        while self.peek(0).is_ascii_hexdigit() {
            self.pos += 1;
        }
        let digits = &self.src[digits_start..self.pos];
        if self.peek(0) != b'}' {
            return Err(bad(self.pos));
        }
        self.pos += 1;
        if digits.is_empty() || digits.len() > 6 {
            return Err(bad(self.pos));
        }
        u32::from_str_radix(digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| bad(self.pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Tok::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src)
            .unwrap_or_else(|e| panic!("lex error {e:?} in {src:?}"))
            .into_iter()
            .map(|(_, t, _)| t)
            .collect()
    }

    fn lex_err(src: &str) -> CompileError {
        match lex(src) {
            Ok(t) => panic!("expected an error for {src:?}, got {t:?}"),
            Err(e) => e,
        }
    }

    fn id(s: &str) -> Tok {
        Ident(s.to_string())
    }

    #[test]
    fn keywords_and_identifiers() {
        assert_eq!(
            toks("let state fn return if else while for in break continue true false nil try catch x_1 _y"),
            vec![
                Let, State, Fn, Return, If, Else, While, For, In, Break, Continue, True, False,
                Nil, Try, Catch, id("x_1"), id("_y")
            ]
        );
    }

    #[test]
    fn operators() {
        assert_eq!(
            toks("a + - * / a // b % == != < <= > >= && || ! = += -= *= /= a //= %= ( ) [ ] , : ; . .. ..= ->"),
            vec![
                id("a"), Plus, Minus, Star, Slash, id("a"), SlashSlash, id("b"), Percent, EqEq, NotEq, Lt, Le, Gt,
                Ge, AndAnd, OrOr, Bang, Assign, PlusEq, MinusEq, StarEq, SlashEq, id("a"), SlashSlashEq,
                PercentEq, LParen, RParen, LBracket, RBracket, Comma, Colon, Semi, Dot, DotDot,
                DotDotEq, Arrow
            ]
        );
        // `>>` is two `>` (closing nested generic types).
        assert_eq!(toks(">>"), vec![Gt, Gt]);
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("42 1_000_000 0xff 0b1010 0XFF"),
            vec![Int(42), Int(1_000_000), Int(255), Int(10), Int(255)]
        );
        assert_eq!(
            toks("1.5 0.25 1e9 2.5e-3 1_000.5 1E+2"),
            vec![
                Float(1.5),
                Float(0.25),
                Float(1e9),
                Float(2.5e-3),
                Float(1000.5),
                Float(100.0)
            ]
        );
        assert_eq!(toks("9223372036854775807"), vec![Int(i64::MAX)]);
        assert_eq!(toks("x.0"), vec![id("x"), Dot, Int(0)]);
        assert_eq!(toks("1..5"), vec![Int(1), DotDot, Int(5)]);
    }

    #[test]
    fn dot_forms_are_not_floats() {
        assert_eq!(toks("1."), vec![Int(1), Dot]);
        assert_eq!(toks(".5"), vec![Dot, Int(5)]);
    }

    #[test]
    fn integer_overflow_is_an_error() {
        let e = lex_err("x = 9223372036854775808");
        assert_eq!(e.message, "integer literal too large");
        assert_eq!(e.span, Span::new(4, 23));
        assert_eq!(
            lex_err("0xffffffffffffffff").message,
            "integer literal too large"
        );
    }

    #[test]
    fn bad_numbers() {
        for src in ["1_", "1__0", "0x", "12ab", "0b102", "1e5x"] {
            assert_eq!(lex_err(src).message, "invalid numeric literal", "{src}");
        }
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            toks(r#""a\n\t\r\0\\\"\$\u{1F600}b""#),
            vec![Str("a\n\t\r\0\\\"$\u{1F600}b".into())]
        );
        assert_eq!(toks(r#""\${x}""#), vec![Str("${x}".into())]);
        assert_eq!(toks(r#""a $ b""#), vec![Str("a $ b".into())]);
        assert_eq!(toks("\"é\""), vec![Str("é".into())]);
    }

    #[test]
    fn unknown_escape_error_and_span() {
        let src = r#"print("a\q")"#;
        let e = lex_err(src);
        assert_eq!(e.message, r"unknown escape sequence '\q'");
        assert_eq!(e.span, Span::new(8, 10));
        assert_eq!(&src[e.span.start..e.span.end], r"\q");
    }

    #[test]
    fn bad_unicode_escapes() {
        for src in [r#""\u{D800}""#, r#""\u{110000}""#, r#""\u{}""#, r#""\u12""#] {
            assert_eq!(lex_err(src).message, "invalid unicode escape", "{src}");
        }
    }

    #[test]
    fn unterminated_things() {
        let e = lex_err("x = \"abc");
        assert_eq!(e.message, "unterminated string");
        assert_eq!(e.span, Span::new(4, 5));
        assert_eq!(lex_err("\"a ${x} b").message, "unterminated string");
        let e = lex_err("x /* abc");
        assert_eq!(e.message, "unterminated block comment");
        assert_eq!(e.span, Span::new(2, 4));
    }

    #[test]
    fn unexpected_character() {
        let e = lex_err("x @ y");
        assert_eq!(e.message, "unexpected character '@'");
        assert_eq!(e.span, Span::new(2, 3));
        assert_eq!(lex_err("é").message, "unexpected character 'é'");
    }

    #[test]
    fn comments() {
        assert_eq!(
            toks("a; // c\nb /* x */ c"),
            vec![id("a"), Semi, id("b"), id("c")]
        );
        assert_eq!(toks("// only\n/* c */"), vec![]);
        // The block comment's line break ends the statement.
        assert_eq!(toks("a /*\n*/ b"), vec![id("a"), Newline, id("b")]);
    }

    #[test]
    fn floor_division_versus_comment() {
        assert_eq!(toks("7 // 2"), vec![Int(7), SlashSlash, Int(2)]);
        assert_eq!(
            toks("f(x) // 2"),
            vec![id("f"), LParen, id("x"), RParen, SlashSlash, Int(2)]
        );
        assert_eq!(toks("x //= 2"), vec![id("x"), SlashSlashEq, Int(2)]);
        assert_eq!(toks("x = // c\n 2"), vec![id("x"), Assign, Int(2)]);
        assert_eq!(toks("{ // c\n}"), vec![LBrace, RBrace]);
        let out = tokenize("a // b", &[2]);
        assert_eq!(out.tokens.len(), 1);
        // What follows decides in the ambiguous case.
        assert_eq!(toks("a // two words"), vec![id("a")]);
        assert_eq!(toks("a //"), vec![id("a")]);
        assert_eq!(
            toks("a // b +\n c"),
            vec![id("a"), SlashSlash, id("b"), Plus, id("c")]
        );
        assert_eq!(toks("a // -> 3"), vec![id("a"), SlashSlash, Arrow, Int(3)]);
        assert_eq!(toks("a // : b"), vec![id("a")]);
        assert_eq!(
            toks("a // (b) c"),
            vec![id("a"), SlashSlash, LParen, id("b"), RParen, id("c")]
        );
        assert_eq!(toks("a // 2.5 x"), vec![id("a")]);
        assert_eq!(
            toks("a // b\n"),
            vec![id("a"), SlashSlash, id("b"), Newline]
        );
    }

    #[test]
    fn newline_rule() {
        // Plain statements, runs collapsed, leading ones dropped.
        assert_eq!(
            toks("\n\na\n\n\nb\n"),
            vec![id("a"), Newline, id("b"), Newline]
        );
        // Trailing operators continue the line (`a //` at the end of a line is an empty
        // comment, not floor division).
        for op in [
            "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "=", "+=", ",",
            "->", "..",
        ] {
            let src = format!("a {op}\nb");
            let t = toks(&src);
            assert!(!t.contains(&Newline), "{src:?}: {t:?}");
        }
        // Inside parens, brackets, maps, interpolation.
        assert!(!toks("f(a\n,\nb\n)").contains(&Newline));
        assert!(!toks("[1\n2\n]").contains(&Newline));
        assert!(!toks("x = {a: 1\n, b: 2\n}").contains(&Newline));
        assert!(!toks("\"${a\n+ b\n}\"").contains(&Newline));
        // But inside a block that is inside parens they count.
        assert_eq!(
            toks("f(fn () {\na\nb\n})"),
            vec![
                id("f"),
                LParen,
                Fn,
                LParen,
                RParen,
                LBrace,
                id("a"),
                Newline,
                id("b"),
                Newline,
                RBrace,
                RParen
            ]
        );
        // `.` and `:` and `)` do not continue.
        assert_eq!(toks("a.\nb"), vec![id("a"), Dot, Newline, id("b")]);
        assert_eq!(toks("a)\nb"), vec![id("a"), RParen, Newline, id("b")]);
    }

    #[test]
    fn newline_before_else_and_catch() {
        assert_eq!(
            toks("if a {\n}\nelse {\n}"),
            vec![If, id("a"), LBrace, RBrace, Else, LBrace, RBrace]
        );
        assert_eq!(
            toks("if a {\n} else {\n}"),
            vec![If, id("a"), LBrace, RBrace, Else, LBrace, RBrace]
        );
        assert_eq!(
            toks("try {\n}\n\n// c\n/* d */\ncatch e {\n}"),
            vec![Try, LBrace, RBrace, Catch, id("e"), LBrace, RBrace]
        );
    }

    #[test]
    fn braces_block_versus_map() {
        let cases: &[(&str, Vec<Tok>)] = &[
            ("if x {", vec![If, id("x"), LBrace]),
            ("} else {", vec![RBrace, Else, LBrace]),
            ("try {", vec![Try, LBrace]),
            ("catch e {", vec![Catch, id("e"), LBrace]),
            ("{", vec![LBrace]),
            ("a\n{", vec![id("a"), Newline, LBrace]),
            ("a; {", vec![id("a"), Semi, LBrace]),
            ("let m = {", vec![Let, id("m"), Assign, MapOpen]),
            ("f({", vec![id("f"), LParen, MapOpen]),
            ("return {", vec![Return, MapOpen]),
            ("[{", vec![LBracket, MapOpen]),
            ("[1, {", vec![LBracket, Int(1), Comma, MapOpen]),
            ("{a: {", vec![LBrace, id("a"), Colon, MapOpen]),
            ("for k in {", vec![For, id("k"), In, MapOpen]),
            ("x == {", vec![id("x"), EqEq, MapOpen]),
            ("!{", vec![Bang, MapOpen]),
            ("m +=\n{", vec![id("m"), PlusEq, MapOpen]),
        ];
        for (src, want) in cases {
            assert_eq!(&toks(src), want, "{src:?}");
        }
        assert_eq!(
            toks("fn f() -> Int {"),
            vec![Fn, id("f"), LParen, RParen, Arrow, id("Int"), LBrace]
        );
        assert_eq!(
            toks("fn f() -> List<Int> {"),
            vec![
                Fn,
                id("f"),
                LParen,
                RParen,
                Arrow,
                id("List"),
                Lt,
                id("Int"),
                Gt,
                LBrace
            ]
        );
        assert_eq!(
            toks("let m = {a: 1}\n{"),
            vec![
                Let,
                id("m"),
                Assign,
                MapOpen,
                id("a"),
                Colon,
                Int(1),
                RBrace,
                Newline,
                LBrace
            ]
        );
    }

    #[test]
    fn interpolation() {
        let s = |x: &str| x.to_string();
        assert_eq!(
            toks(r#""x = ${x + 1} and ${f("a${y}")}!""#),
            vec![
                StrStart(s("x = ")),
                id("x"),
                Plus,
                Int(1),
                StrMid(s(" and ")),
                id("f"),
                LParen,
                StrStart(s("a")),
                id("y"),
                StrEnd(s("")),
                RParen,
                StrEnd(s("!")),
            ]
        );
        // Maps inside interpolation.
        assert_eq!(
            toks(r#""${ {a: 1} }""#),
            vec![
                StrStart(s("")),
                MapOpen,
                id("a"),
                Colon,
                Int(1),
                RBrace,
                StrEnd(s(""))
            ]
        );
        let spans: Vec<(usize, usize)> = lex(r#""a${b}c""#)
            .unwrap()
            .into_iter()
            .map(|(l, _, r)| (l, r))
            .collect();
        assert_eq!(spans, vec![(0, 4), (4, 5), (5, 8)]);
    }

    #[test]
    fn spans_are_byte_offsets() {
        let t = lex("let é = 1").err().map(|e| e.span);
        assert_eq!(t, Some(Span::new(4, 6)));
        let t = lex("\"é\" + x").unwrap();
        assert_eq!(t[0].0..t[0].2, 0..4);
        assert_eq!(t[2].0..t[2].2, 7..8);
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let src = "(".repeat(100_000);
        let start = std::time::Instant::now();
        let e = lex_err(&src);
        assert_eq!(e.message, "nesting too deep");
        assert_eq!(e.span, Span::new(MAX_NESTING, MAX_NESTING + 1));
        assert!(start.elapsed().as_secs() < 2);
        // 256 levels are fine.
        let ok = format!("{}{}", "[".repeat(256), "]".repeat(256));
        assert!(lex(&ok).is_ok());
        let mixed = "{(\"${[".repeat(70);
        assert_eq!(lex_err(&mixed).message, "nesting too deep");
    }
}
