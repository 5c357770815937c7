//! The parser: tokens from [`crate::lexer`] → [`ast`] statements, via the LALRPOP
//! grammar in `grammar/vela.lalrpop`.
//!
//! Every LALRPOP error becomes a [`CompileError`] with a human message:
//! `unexpected ')'`, `unexpected newline`, `unexpected '}', expected expression`,
//! `unexpected end of input`. [`is_incomplete`] tells the REPL when more input could
//! complete the program.

use crate::ast::{self, BinOp, Expr, ExprKind, Span, Stmt, StmtKind};
use crate::diagnostics::CompileError;
use crate::lexer::{self, Tok};
use lalrpop_util::ParseError;

lalrpop_util::lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        unused_imports,
        unused_parens,
        dead_code
    )]
    vela
);

/// The message prefix of errors at the end of the input.
pub const UNEXPECTED_EOF: &str = "unexpected end of input";

/// How many times a `//` read as floor division is re-read as a comment after a parse
/// error on its line (see [`crate::lexer`]).
const MAX_COMMENT_RETRIES: usize = 1_000;

/// Bytes of source all those retries may lex and parse again in total: each retry
/// reads the whole input, so without this bound a long input with many retries
/// takes time quadratic in its length to fail (the fuzzer found a 15 KB one taking
/// 1.5 billion instructions), and compiling is not under the VM's limits.
const RETRY_BUDGET: usize = 1 << 22;

/// The deepest syntax tree accepted (a chain like `1 + 1 + ... + 1` or `- - - x`
/// nests without brackets). Deeper is the error `nesting too deep`, so that later
/// recursive passes over the tree stay within the stack.
pub const MAX_TREE_DEPTH: usize = 2_000;

/// Parses a whole program (a script or one REPL entry).
pub fn parse(source: &str) -> Result<Vec<ast::Stmt>, CompileError> {
    let stmts = parse_unchecked(source)?;
    match too_deep(&stmts) {
        None => Ok(stmts),
        Some(span) => {
            dismantle(stmts);
            Err(CompileError::new("nesting too deep", span))
        }
    }
}

fn parse_unchecked(source: &str) -> Result<Vec<ast::Stmt>, CompileError> {
    let mut comment_at: Vec<usize> = Vec::new();
    loop {
        let out = lexer::tokenize(source, &comment_at);
        let result = parse_tokens(out.tokens, out.error);
        let Err(error) = result else {
            return result;
        };
        // A `//` read as floor division earlier on the failing line was probably a
        // comment: `print(x) // shows x`. Retry with it read as one.
        let retry = out
            .floor_div_offsets
            .iter()
            .rev()
            .copied()
            .find(|&at| at < error.span.start && same_line(source, at, error.span.start));
        match retry {
            Some(at)
                if comment_at.len() < MAX_COMMENT_RETRIES
                    && (comment_at.len() + 1).saturating_mul(source.len()) <= RETRY_BUDGET =>
            {
                comment_at.push(at)
            }
            _ => return Err(error),
        }
    }
}

/// Whether nothing but spaces, tabs and a line's text lie between the two offsets
/// (the end of input counts as the end of the last non-blank line).
fn same_line(source: &str, from: usize, to: usize) -> bool {
    let to = to.min(source.len());
    let Some(between) = source.get(from..to) else {
        return false;
    };
    if to == source.len() {
        !between.trim_end().contains('\n')
    } else {
        !between.contains('\n')
    }
}

fn parse_tokens(
    tokens: Vec<lexer::Spanned>,
    lex_error: Option<CompileError>,
) -> Result<Vec<Stmt>, CompileError> {
    let stream = tokens.into_iter().map(Ok).chain(lex_error.map(Err));
    vela::ProgramParser::new()
        .parse(stream)
        .map_err(convert_error)
}

/// Whether the error means the input stopped in the middle of something (an open
/// bracket, a string, a block comment, a trailing operator): the REPL then asks for
/// another line.
pub fn is_incomplete(err: &CompileError) -> bool {
    err.message.starts_with(UNEXPECTED_EOF)
        || err.message == "unterminated string"
        || err.message == "unterminated block comment"
}

fn convert_error(e: ParseError<usize, Tok, CompileError>) -> CompileError {
    match e {
        ParseError::User { error } => error,
        ParseError::InvalidToken { location } => {
            CompileError::new("invalid token", Span::new(location, location))
        }
        ParseError::UnrecognizedEof { location, expected } => CompileError::new(
            format!("{UNEXPECTED_EOF}{}", expected_hint(&expected)),
            Span::new(location, location),
        ),
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => CompileError::new(
            format!("unexpected {tok}{}", expected_hint(&expected)),
            Span::new(l, r),
        ),
        ParseError::ExtraToken { token: (l, tok, r) } => {
            CompileError::new(format!("unexpected {tok}"), Span::new(l, r))
        }
    }
}

/// `, expected expression` / `, expected '}' or ','` when that is short and helpful.
fn expected_hint(expected: &[String]) -> String {
    let names: Vec<&str> = expected.iter().map(|s| s.trim_matches('"')).collect();
    let has = |n: &str| names.contains(&n);
    if has("Ident") && has("Int") && !has("+") && !has("=") {
        return ", expected expression".to_string();
    }
    if names.is_empty() || names.len() > 3 {
        return String::new();
    }
    let shown: Vec<String> = names.iter().map(|n| describe_terminal(n)).collect();
    format!(", expected {}", shown.join(" or "))
}

fn describe_terminal(name: &str) -> String {
    match name {
        "Ident" => "a name".to_string(),
        "Int" | "Float" => "a number".to_string(),
        "Str" | "StrStart" => "a string".to_string(),
        "StrMid" | "StrEnd" => "'}'".to_string(),
        "Newline" => "newline".to_string(),
        "map{" => "'{'".to_string(),
        other => format!("'{other}'"),
    }
}

// ---------------------------------------------------------------- tree depth

enum Node<'a> {
    S(&'a Stmt),
    E(&'a Expr),
}

fn push_stmt_children<'a>(s: &'a Stmt, out: &mut Vec<Node<'a>>) {
    let block = |b: &'a [Stmt], out: &mut Vec<Node<'a>>| out.extend(b.iter().map(Node::S));
    match &s.kind {
        StmtKind::Let { init, .. } => out.push(Node::E(init)),
        StmtKind::Fn(f) => block(&f.body, out),
        StmtKind::Assign { target, value, .. } => {
            out.push(Node::E(target));
            out.push(Node::E(value));
        }
        StmtKind::Expr(e) => out.push(Node::E(e)),
        StmtKind::Block(b) => block(b, out),
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            out.push(Node::E(cond));
            block(then, out);
            out.extend(otherwise.as_deref().map(Node::S));
        }
        StmtKind::While { cond, body } => {
            out.push(Node::E(cond));
            block(body, out);
        }
        StmtKind::ForRange {
            start, end, body, ..
        } => {
            out.push(Node::E(start));
            out.push(Node::E(end));
            block(body, out);
        }
        StmtKind::ForIn { iter, body, .. } => {
            out.push(Node::E(iter));
            block(body, out);
        }
        StmtKind::Return(e) => out.extend(e.as_ref().map(Node::E)),
        StmtKind::Try { body, handler, .. } => {
            block(body, out);
            block(handler, out);
        }
        StmtKind::Break | StmtKind::Continue => {}
    }
}

fn push_expr_children<'a>(e: &'a Expr, out: &mut Vec<Node<'a>>) {
    match &e.kind {
        ExprKind::Interp(parts) => out.extend(parts.iter().filter_map(|p| match p {
            ast::InterpPart::Expr(e) => Some(Node::E(e)),
            ast::InterpPart::Lit(_) => None,
        })),
        ExprKind::List(items) => out.extend(items.iter().map(Node::E)),
        ExprKind::Map(entries) => out.extend(entries.iter().map(|(_, v)| Node::E(v))),
        ExprKind::Unary(_, a) | ExprKind::Field(a, _) => out.push(Node::E(a)),
        ExprKind::Binary(_, a, b) | ExprKind::Logic(_, a, b) | ExprKind::Index(a, b) => {
            out.push(Node::E(a));
            out.push(Node::E(b));
        }
        ExprKind::Call(f, args) => {
            out.push(Node::E(f));
            out.extend(args.iter().map(Node::E));
        }
        ExprKind::Func(f) => out.extend(f.body.iter().map(Node::S)),
        ExprKind::Nil
        | ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Name(_) => {}
    }
}

/// The span of a node nested deeper than [`MAX_TREE_DEPTH`], if any (no recursion).
fn too_deep(stmts: &[Stmt]) -> Option<Span> {
    let mut stack: Vec<(Node, usize)> = stmts.iter().map(|s| (Node::S(s), 1)).collect();
    let mut children = Vec::new();
    while let Some((node, depth)) = stack.pop() {
        let span = match node {
            Node::S(s) => {
                push_stmt_children(s, &mut children);
                s.span
            }
            Node::E(e) => {
                push_expr_children(e, &mut children);
                e.span
            }
        };
        if depth > MAX_TREE_DEPTH {
            return Some(span);
        }
        stack.extend(children.drain(..).map(|c| (c, depth + 1)));
    }
    None
}

/// Drops a (possibly very deep) tree without recursion.
fn dismantle(stmts: Vec<Stmt>) {
    fn nil() -> Expr {
        expr(ExprKind::Nil, 0, 0)
    }
    let mut stmt_stack = stmts;
    let mut expr_stack: Vec<Expr> = Vec::new();
    loop {
        if let Some(mut s) = stmt_stack.pop() {
            match &mut s.kind {
                StmtKind::Let { init, .. } => expr_stack.push(std::mem::replace(init, nil())),
                StmtKind::Fn(f) => stmt_stack.append(&mut f.body),
                StmtKind::Assign { target, value, .. } => {
                    expr_stack.push(std::mem::replace(target, nil()));
                    expr_stack.push(std::mem::replace(value, nil()));
                }
                StmtKind::Expr(e) => expr_stack.push(std::mem::replace(e, nil())),
                StmtKind::Block(b) => stmt_stack.append(b),
                StmtKind::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    expr_stack.push(std::mem::replace(cond, nil()));
                    stmt_stack.append(then);
                    stmt_stack.extend(otherwise.take().map(|b| *b));
                }
                StmtKind::While { cond, body } => {
                    expr_stack.push(std::mem::replace(cond, nil()));
                    stmt_stack.append(body);
                }
                StmtKind::ForRange {
                    start, end, body, ..
                } => {
                    expr_stack.push(std::mem::replace(start, nil()));
                    expr_stack.push(std::mem::replace(end, nil()));
                    stmt_stack.append(body);
                }
                StmtKind::ForIn { iter, body, .. } => {
                    expr_stack.push(std::mem::replace(iter, nil()));
                    stmt_stack.append(body);
                }
                StmtKind::Return(e) => expr_stack.extend(e.take()),
                StmtKind::Try { body, handler, .. } => {
                    stmt_stack.append(body);
                    stmt_stack.append(handler);
                }
                StmtKind::Break | StmtKind::Continue => {}
            }
        } else if let Some(e) = expr_stack.pop() {
            match e.kind {
                ExprKind::Interp(parts) => {
                    expr_stack.extend(parts.into_iter().filter_map(|p| match p {
                        ast::InterpPart::Expr(e) => Some(e),
                        ast::InterpPart::Lit(_) => None,
                    }))
                }
                ExprKind::List(items) => expr_stack.extend(items),
                ExprKind::Map(entries) => expr_stack.extend(entries.into_iter().map(|(_, v)| v)),
                ExprKind::Unary(_, a) | ExprKind::Field(a, _) => expr_stack.push(*a),
                ExprKind::Binary(_, a, b) | ExprKind::Logic(_, a, b) | ExprKind::Index(a, b) => {
                    expr_stack.push(*a);
                    expr_stack.push(*b);
                }
                ExprKind::Call(f, args) => {
                    expr_stack.push(*f);
                    expr_stack.extend(args);
                }
                ExprKind::Func(f) => stmt_stack.extend(f.body),
                _ => {}
            }
        } else {
            break;
        }
    }
}

// ---------------------------------------------------------------- grammar helpers

pub(crate) fn expr(kind: ExprKind, l: usize, r: usize) -> Expr {
    Expr {
        kind,
        span: Span::new(l, r),
    }
}

pub(crate) fn stmt(kind: StmtKind, l: usize, r: usize) -> Stmt {
    Stmt {
        kind,
        span: Span::new(l, r),
    }
}

/// A binary node spanning both operands.
pub(crate) fn binary(
    l: Expr,
    r: Expr,
    make: impl FnOnce(Box<Expr>, Box<Expr>) -> ExprKind,
) -> Expr {
    let span = l.span.to(r.span);
    Expr {
        kind: make(Box::new(l), Box::new(r)),
        span,
    }
}

/// An assignment statement, if the target can be assigned to.
pub(crate) fn assign(
    target: Expr,
    op: Option<BinOp>,
    value: Expr,
    l: usize,
    r: usize,
) -> Result<Stmt, ParseError<usize, Tok, CompileError>> {
    match target.kind {
        ExprKind::Name(_) | ExprKind::Index(..) | ExprKind::Field(..) => {
            Ok(stmt(StmtKind::Assign { target, op, value }, l, r))
        }
        _ => Err(ParseError::User {
            error: CompileError::new("invalid assignment target", target.span),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{InterpPart, LogicOp, UnOp};

    fn parse_ok(src: &str) -> Vec<Stmt> {
        parse(src).unwrap_or_else(|e| panic!("parse error {e:?} in {src:?}"))
    }

    fn parse_err(src: &str) -> CompileError {
        match parse(src) {
            Ok(s) => panic!("expected an error for {src:?}, got {s:?}"),
            Err(e) => e,
        }
    }

    /// The single expression statement of `src`.
    fn one_expr(src: &str) -> Expr {
        let stmts = parse_ok(src);
        assert_eq!(stmts.len(), 1, "{src:?}: {stmts:?}");
        match stmts.into_iter().next().map(|s| s.kind) {
            Some(StmtKind::Expr(e)) => e,
            other => panic!("not an expression statement: {other:?}"),
        }
    }

    /// A compact S-expression form of an expression, to check shapes.
    fn sx(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Nil => "nil".into(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Int(n) => n.to_string(),
            ExprKind::Float(x) => format!("{x:?}"),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::Interp(parts) => {
                let p: Vec<String> = parts
                    .iter()
                    .map(|p| match p {
                        InterpPart::Lit(s) => format!("{s:?}"),
                        InterpPart::Expr(e) => sx(e),
                    })
                    .collect();
                format!("(interp {})", p.join(" "))
            }
            ExprKind::Name(n) => n.clone(),
            ExprKind::List(items) => {
                let p: Vec<String> = items.iter().map(sx).collect();
                format!("[{}]", p.join(" "))
            }
            ExprKind::Map(entries) => {
                let p: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{k:?}={}", sx(v)))
                    .collect();
                format!("{{{}}}", p.join(" "))
            }
            ExprKind::Unary(op, a) => {
                let o = if *op == UnOp::Neg { "-" } else { "!" };
                format!("({o} {})", sx(a))
            }
            ExprKind::Binary(op, a, b) => format!("({} {} {})", op.symbol(), sx(a), sx(b)),
            ExprKind::Logic(op, a, b) => {
                let o = if *op == LogicOp::And { "&&" } else { "||" };
                format!("({o} {} {})", sx(a), sx(b))
            }
            ExprKind::Call(f, args) => {
                let p: Vec<String> = args.iter().map(sx).collect();
                format!("(call {} {})", sx(f), p.join(" "))
            }
            ExprKind::Index(a, i) => format!("(index {} {})", sx(a), sx(i)),
            ExprKind::Field(a, n) => format!("(field {} {n})", sx(a)),
            ExprKind::Func(f) => format!("(fn {})", f.params.len()),
        }
    }

    fn shape(src: &str) -> String {
        sx(&one_expr(src))
    }

    #[test]
    fn precedence() {
        assert_eq!(shape("1 + 2 * 3"), "(+ 1 (* 2 3))");
        assert_eq!(shape("1 - 2 - 3"), "(- (- 1 2) 3)");
        assert_eq!(shape("a // b % c / d"), "(/ (% (// a b) c) d)");
        assert_eq!(shape("-a.b(c)[d]"), "(- (index (call (field a b) c) d))");
        assert_eq!(
            shape("a || b && c == d < e + f * g"),
            "(|| a (&& b (== c (< d (+ e (* f g))))))"
        );
        assert_eq!(shape("!a == b"), "(== (! a) b)");
        assert_eq!(shape("a == b != c"), "(!= (== a b) c)");
        assert_eq!(shape("(1 + 2) * 3"), "(* (+ 1 2) 3)");
        assert_eq!(shape("- -x"), "(- (- x))");
        assert_eq!(shape("(a < b) < c"), "(< (< a b) c)");
        assert_eq!(shape("a < b == c > d"), "(== (< a b) (> c d))");
        assert_eq!(shape("a || b || c"), "(|| (|| a b) c)");
    }

    #[test]
    fn chained_comparison_is_an_error() {
        let src = "x = a < b < c";
        let e = parse_err(src);
        assert_eq!(e.message, "comparison operators cannot be chained");
        assert_eq!(e.span, Span::new(10, 11));
        assert_eq!(
            parse_err("a <= b >= c").message,
            "comparison operators cannot be chained"
        );
    }

    #[test]
    fn literals_and_collections() {
        assert_eq!(
            shape("[1, 2.5, \"s\", true, false, nil]"),
            "[1 2.5 \"s\" true false nil]"
        );
        assert_eq!(shape("[\n1,\n2,\n]"), "[1 2]");
        assert_eq!(shape("[]"), "[]");
        assert_eq!(
            shape("f({name: 1, \"any key\": 2, 3: 4, true: 5, false: 6, -1: 7,})"),
            "(call f {Str(\"name\")=1 Str(\"any key\")=2 Int(3)=4 Bool(true)=5 Bool(false)=6 Int(-1)=7})"
        );
        let stmts = parse_ok("let m = {}\nlet n = {\n  a: 1,\n  b: {c: 2}\n}\n");
        assert_eq!(stmts.len(), 2);
        match &stmts[1].kind {
            StmtKind::Let { init, .. } => {
                assert_eq!(sx(init), "{Str(\"a\")=1 Str(\"b\")={Str(\"c\")=2}}")
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(shape("[{a: 1}, {b: 2}]"), "[{Str(\"a\")=1} {Str(\"b\")=2}]");
        assert_eq!(shape("f(\n  a,\n  b,\n)"), "(call f a b)");
    }

    #[test]
    fn interpolation() {
        assert_eq!(
            shape(r#""x = ${x + 1} and ${f("a${y}")}""#),
            r#"(interp "x = " (+ x 1) " and " (call f (interp "a" y)))"#
        );
        assert_eq!(shape(r#""${a}${b}""#), "(interp a b)");
        assert_eq!(
            shape("\"${ {k: 1}.k }\""),
            "(interp (field {Str(\"k\")=1} k))"
        );
        assert_eq!(shape("\"${a +\n b}\""), "(interp (+ a b))");
        assert_eq!(
            parse_err("\"${}\"").message,
            "unexpected '}', expected expression"
        );
    }

    #[test]
    fn anonymous_functions() {
        let e = one_expr("fn (a, b: Int,) -> List<Int> {\n return a\n}");
        match e.kind {
            ExprKind::Func(f) => {
                assert_eq!(f.name, None);
                assert_eq!(f.params.len(), 2);
                assert_eq!(
                    f.params[1].ty.as_ref().map(|t| t.name.as_str()),
                    Some("Int")
                );
                assert_eq!(f.ret.as_ref().map(|t| t.name.as_str()), Some("List"));
                assert_eq!(f.body.len(), 1);
                assert_eq!(f.span, e.span);
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(shape("map(xs, fn (x) { x * 2 })"), "(call map xs (fn 1))");
        assert_eq!(shape("fn () {}()"), "(call (fn 0) )");
    }

    #[test]
    fn statements() {
        let src = "let x = 1\nlet y: Int = 2; state z = 3\nfn f(a, b: Int) -> Int { return a }\n\
                   x = 1\nx += 1\nx //= 2\na[i] -= 1\nm.k *= 2\nf(1)\n{ let q = 1 }\n\
                   while true { break; continue }\nreturn\nreturn 1 + 2\n";
        let kinds: Vec<String> = parse_ok(src)
            .iter()
            .map(|s| {
                format!("{:?}", s.kind)
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "Let", "Let", "Let", "Fn", "Assign", "Assign", "Assign", "Assign", "Assign",
                "Expr", "Block", "While", "Return", "Return"
            ]
        );
        let stmts = parse_ok("state s: Map<String, List<Int>> = {}");
        match &stmts[0].kind {
            StmtKind::Let {
                mutable,
                name,
                name_span,
                ty,
                ..
            } => {
                assert!(*mutable);
                assert_eq!(name, "s");
                assert_eq!(*name_span, Span::new(6, 7));
                let ty = ty.as_ref().map(|t| (t.name.as_str(), t.span));
                assert_eq!(ty, Some(("Map", Span::new(9, 31))));
            }
            k => panic!("{k:?}"),
        }
        match &parse_ok("x //= 2")[0].kind {
            StmtKind::Assign { op, .. } => assert_eq!(*op, Some(BinOp::FloorDiv)),
            k => panic!("{k:?}"),
        }
        assert_eq!(
            parse_err("let x").message,
            "unexpected end of input, expected '=' or ':'"
        );
    }

    #[test]
    fn if_else_chains_and_try() {
        for src in [
            "if a { x } else if b { y } else { z }",
            "if a {\n x\n}\nelse if b {\n y\n}\nelse {\n z\n}",
            "if a {\n x\n}\n\n// comment\nelse if b { y } else { z }",
        ] {
            let stmts = parse_ok(src);
            assert_eq!(stmts.len(), 1, "{src}");
            let StmtKind::If {
                otherwise: Some(o), ..
            } = &stmts[0].kind
            else {
                panic!("{stmts:?}")
            };
            let StmtKind::If {
                otherwise: Some(o2),
                ..
            } = &o.kind
            else {
                panic!("{o:?}")
            };
            assert!(matches!(o2.kind, StmtKind::Block(_)));
        }
        let stmts = parse_ok("try {\n error(\"x\")\n}\ncatch e {\n print(e.message)\n}\n");
        assert_eq!(stmts.len(), 1);
        assert!(matches!(&stmts[0].kind, StmtKind::Try { var, .. } if var == "e"));
        let stmts = parse_ok("try { a } catch e { b }");
        assert_eq!(stmts[0].span, Span::new(0, 23));
    }

    #[test]
    fn for_loops() {
        let stmts = parse_ok("for i in 0..n - 1 { }\nfor i in 1..=10 {}\nfor x in xs { print(x) }\nfor k in {a: 1} {}");
        match &stmts[0].kind {
            StmtKind::ForRange {
                var,
                var_span,
                start,
                end,
                inclusive,
                ..
            } => {
                assert_eq!(var, "i");
                assert_eq!(*var_span, Span::new(4, 5));
                assert_eq!(sx(start), "0");
                assert_eq!(sx(end), "(- n 1)");
                assert!(!inclusive);
            }
            k => panic!("{k:?}"),
        }
        assert!(matches!(
            &stmts[1].kind,
            StmtKind::ForRange {
                inclusive: true,
                ..
            }
        ));
        assert!(matches!(&stmts[2].kind, StmtKind::ForIn { .. }));
        match &stmts[3].kind {
            StmtKind::ForIn { iter, .. } => assert_eq!(sx(iter), "{Str(\"a\")=1}"),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn separators_and_blank_lines() {
        assert_eq!(parse_ok("").len(), 0);
        assert_eq!(parse_ok("\n\n;;\n").len(), 0);
        assert_eq!(parse_ok("\n\na\n\n;b;;\nc\n\n").len(), 3);
        let stmts = parse_ok("{\n\n a\n\n b;\n}\nfn f() {;}\n");
        assert!(matches!(&stmts[0].kind, StmtKind::Block(b) if b.len() == 2));
        assert_eq!(parse_err("a b").message, "unexpected identifier 'b'");
    }

    #[test]
    fn newline_continuation() {
        assert_eq!(shape("a +\n  b *\n  c"), "(+ a (* b c))");
        assert_eq!(shape("f(a,\n  b)"), "(call f a b)");
        assert_eq!(shape("(a\n + b)"), "(+ a b)");
        assert_eq!(shape("[a\n , b]"), "[a b]");
        let stmts = parse_ok("let x =\n  1\nlet y = 2");
        assert_eq!(stmts.len(), 2);
        // A line ending without an operator ends the statement.
        assert_eq!(parse_ok("a\n-b").len(), 2);
        let e = parse_err("x = 1 +");
        assert!(is_incomplete(&e), "{e:?}");
    }

    #[test]
    fn assignment_targets() {
        let e = parse_err("a + b = 3");
        assert_eq!(e.message, "invalid assignment target");
        assert_eq!(e.span, Span::new(0, 5));
        assert_eq!(parse_err("f() += 1").message, "invalid assignment target");
        assert_eq!(parse_err("1 = 1").span, Span::new(0, 1));
    }

    #[test]
    fn spans() {
        let src = "let x = foo(a, b) + c[1]\nbar.baz";
        let stmts = parse_ok(src);
        assert_eq!(stmts[0].span, Span::new(0, 24));
        let StmtKind::Let { init, .. } = &stmts[0].kind else {
            panic!()
        };
        assert_eq!(init.span, Span::new(8, 24));
        let ExprKind::Binary(_, l, r) = &init.kind else {
            panic!()
        };
        assert_eq!(&src[l.span.start..l.span.end], "foo(a, b)");
        assert_eq!(&src[r.span.start..r.span.end], "c[1]");
        assert_eq!(stmts[1].span, Span::new(25, 32));
        let stmts = parse_ok("fn f(a: Int) {\n}");
        let StmtKind::Fn(f) = &stmts[0].kind else {
            panic!()
        };
        assert_eq!(f.span, Span::new(0, 16));
        assert_eq!(f.params[0].span, Span::new(5, 11));
        assert_eq!(stmts[0].span, Span::new(0, 16));
        assert_eq!(one_expr("(a + b)").span, Span::new(0, 7));
        assert_eq!(one_expr("-x").span, Span::new(0, 2));
        assert_eq!(one_expr("\"a${b}c\"").span, Span::new(0, 8));
    }

    #[test]
    fn error_messages_and_positions() {
        let e = parse_err("let a = 1\nprint(a +)\n");
        assert_eq!(e.message, "unexpected ')', expected expression");
        assert_eq!(e.span, Span::new(19, 20));
        let e = parse_err("if x {\n");
        assert!(e.message.starts_with("unexpected end of input"), "{e:?}");
        assert!(is_incomplete(&e));
        let e = parse_err("f(1 2)");
        assert_eq!(e.message, "unexpected number 2");
        assert_eq!(e.span, Span::new(4, 5));
        let e = parse_err("let = 2");
        assert_eq!(e.message, "unexpected '=', expected a name");
        let e = parse_err("x = )");
        assert_eq!(e.message, "unexpected ')', expected expression");
        let e = parse_err("if x\n{ }");
        assert!(e.message.starts_with("unexpected newline"), "{e:?}");
        assert_eq!(e.span, Span::new(4, 5));
        // Lex errors come through with their own message and span.
        let e = parse_err("print(\"a\\q\")");
        assert_eq!(e.message, "unknown escape sequence '\\q'");
        assert_eq!(e.span, Span::new(8, 10));
        assert!(!is_incomplete(&e));
        assert!(is_incomplete(&parse_err("print(\"abc")));
        assert!(is_incomplete(&parse_err("/* abc")));
        assert!(is_incomplete(&parse_err("f(1,")));
        assert!(is_incomplete(&parse_err("\"${a")));
        assert!(!is_incomplete(&parse_err("f(1))")));
        // A parse error before a lex error is reported first.
        assert_eq!(
            parse_err("x = ) @").message,
            "unexpected ')', expected expression"
        );
    }

    #[test]
    fn floor_division_and_comments() {
        assert_eq!(shape("7 // 2"), "(// 7 2)");
        assert_eq!(shape("f(a // b)"), "(call f (// a b))");
        // A trailing comment after an expression: re-read as a comment.
        assert_eq!(shape("print(x) // shows the value of x"), "(call print x)");
        assert_eq!(shape("a // b // halve it, twice"), "(// a b)");
        assert_eq!(shape("print(x) // don't"), "(call print x)");
        assert_eq!(parse_ok("let q = a // b // floor\nprint(q)").len(), 2);
        assert_eq!(parse_ok("// c\nx = 1 // one thing\n// d").len(), 1);
        assert_eq!(shape("f(x) // -> 3"), "(call f x)");
        assert_eq!(parse_ok("x = 1 // (see below)\ny = 2").len(), 2);
    }

    #[test]
    fn deep_nesting() {
        let src = "(".repeat(100_000);
        let start = std::time::Instant::now();
        let e = parse_err(&src);
        assert_eq!(e.message, "nesting too deep");
        assert!(start.elapsed().as_secs() < 2);
        let ok = format!("x = {}1{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(parse_ok(&ok).len(), 1);
        // Deep trees without brackets are refused too, without overflowing the stack.
        for src in [
            format!("x = {}1", "-".repeat(100_000)),
            format!("x = 1{}", " + 1".repeat(100_000)),
            format!("if a {{}}{}", " else if a {}".repeat(100_000)),
        ] {
            assert_eq!(parse_err(&src).message, "nesting too deep");
        }
        assert_eq!(parse_ok(&format!("x = 1{}", " + 1".repeat(1_000))).len(), 1);
    }

    #[test]
    fn realistic_script() {
        let src = r#"
// Fibonacci and friends
fn fib(n: Int) -> Int {
    if n < 2 { return n }
    return fib(n - 1) + fib(n - 2)
}

fn make_counter() -> Fn
{
    state count = 0
    return fn () -> Int {
        count += 1
        return count
    }
}

let xs: List<Int> = [1, 2, 3,]
state total = 0
for x in xs { total += x }
for i in 0..len(xs) - 1 {
    print("i = ${i}, x = ${xs[i]}, half = ${xs[i] // 2}")
}
let m = {name: "Ann", "age": 30, 1: true}
m.name = "Bob"; m["age"] += 1
if total > 5 && m.name == "Bob" {
    print("big")
}
else if total == 0 { print("zero") } else {
    print("small")
}
try {
    error("boom")
} catch e {
    print(e.message, e.line)
}
let long = 1 +
    2 *
    3
print(long) // 7
while total > 0 { total -= 1; if total == 2 { break } }
"#;
        let stmts = parse_ok(src);
        assert_eq!(stmts.len(), 14, "{stmts:#?}");
    }
}
