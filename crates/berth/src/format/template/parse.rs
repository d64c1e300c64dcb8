//! Builds the tree of a Go template from its tokens, with Go's grammar and parse-time checks.

use super::funcs::is_function;
use super::lex::{Tok, Token};
use crate::format::FormatError;

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Action(Pipe),
    If(Control),
    With(Control),
    Range(Control),
    Break,
    Continue,
}

/// `if`, `with` and `range`: a pipeline, a body, and what `{{else}}` holds.
#[derive(Debug, Clone)]
pub(super) struct Control {
    pub pipe: Pipe,
    pub body: Vec<Node>,
    pub otherwise: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(super) struct Pipe {
    pub line: usize,
    /// Variables declared (`:=`) or assigned (`=`) from the pipeline's value.
    pub decl: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub(super) struct Cmd {
    pub operands: Vec<Operand>,
}

#[derive(Debug, Clone)]
pub(super) enum Operand {
    Dot,
    Nil,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Field(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Paren(Box<Pipe>, Vec<String>),
}

pub(super) fn parse(tokens: Vec<Token>) -> Result<Vec<Node>, FormatError> {
    let mut p = Parser {
        tokens,
        pos: 0,
        range_depth: 0,
        vars: vec!["$".to_string()],
    };
    let (nodes, stop) = p.list()?;
    match stop {
        Stop::Eof => Ok(nodes),
        Stop::End => Err(p.err("unexpected {{end}}")),
        Stop::Else => Err(p.err("unexpected {{else}}")),
    }
}

enum Stop {
    Eof,
    End,
    /// `{{else` was consumed; what follows is `}}` or `if`/`with`.
    Else,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    If,
    With,
    Range,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    range_depth: usize,
    /// Variables in scope, for Go's "undefined variable" parse error.
    vars: Vec<String>,
}

impl Parser {
    fn line(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .map_or(1, |t| t.line)
    }

    fn err(&self, msg: impl Into<String>) -> FormatError {
        FormatError::Parse {
            line: self.line(),
            msg: msg.into(),
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok> {
        self.tokens.get(self.pos + ahead).map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).map(|t| t.tok.clone());
        self.pos += 1;
        t
    }

    fn expect_close(&mut self, what: &str) -> Result<(), FormatError> {
        match self.next() {
            Some(Tok::Close) => Ok(()),
            _ => Err(self.err(format!("unexpected token in {what}"))),
        }
    }

    fn keyword(&self) -> Option<&str> {
        match self.peek_at(1) {
            Some(Tok::Ident(w)) if self.peek() == Some(&Tok::Open) => Some(w.as_str()),
            _ => None,
        }
    }

    fn list(&mut self) -> Result<(Vec<Node>, Stop), FormatError> {
        let mut nodes = Vec::new();
        loop {
            let Some(tok) = self.peek().cloned() else {
                return Ok((nodes, Stop::Eof));
            };
            if let Tok::Text(t) = tok {
                self.pos += 1;
                nodes.push(Node::Text(t));
                continue;
            }
            let keyword = self.keyword().map(str::to_string);
            self.pos += 1; // the `{{`
            match keyword.as_deref() {
                Some("end") => {
                    self.pos += 1;
                    self.expect_close("end")?;
                    return Ok((nodes, Stop::End));
                }
                Some("else") => {
                    self.pos += 1;
                    return Ok((nodes, Stop::Else));
                }
                Some("if") => {
                    self.pos += 1;
                    nodes.push(Node::If(self.control(Kind::If)?));
                }
                Some("with") => {
                    self.pos += 1;
                    nodes.push(Node::With(self.control(Kind::With)?));
                }
                Some("range") => {
                    self.pos += 1;
                    nodes.push(Node::Range(self.control(Kind::Range)?));
                }
                Some(word @ ("break" | "continue")) => {
                    if self.range_depth == 0 {
                        return Err(self.err(format!("{{{{{word}}}}} outside {{{{range}}}}")));
                    }
                    let node = if word == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    };
                    self.pos += 1;
                    self.expect_close(word)?;
                    nodes.push(node);
                }
                Some(word @ ("define" | "template" | "block")) => {
                    return Err(self.err(format!("{{{{{word}}}}} is not supported")));
                }
                _ => {
                    let pipe = self.pipeline(false, None)?;
                    self.expect_close("command")?;
                    nodes.push(Node::Action(pipe));
                }
            }
        }
    }

    /// Parses after the keyword through the matching `{{end}}`.
    fn control(&mut self, kind: Kind) -> Result<Control, FormatError> {
        let scope = self.vars.len();
        let pipe = self.pipeline(kind == Kind::Range, Some(kind))?;
        self.expect_close("control")?;
        if kind == Kind::Range {
            self.range_depth += 1;
        }
        let (body, stop) = self.list()?;
        if kind == Kind::Range {
            self.range_depth -= 1;
        }
        let otherwise = match stop {
            Stop::Eof => return Err(self.err("unexpected EOF")),
            Stop::End => Vec::new(),
            Stop::Else => self.else_branch(kind)?,
        };
        self.vars.truncate(scope);
        Ok(Control {
            pipe,
            body,
            otherwise,
        })
    }

    fn else_branch(&mut self, kind: Kind) -> Result<Vec<Node>, FormatError> {
        // `{{else if ...}}` is `{{else}}{{if ...}}...{{end}}` sharing the outer `{{end}}`.
        let chained = match (kind, self.peek()) {
            (Kind::If, Some(Tok::Ident(w))) if w == "if" => Some(Kind::If),
            (Kind::With, Some(Tok::Ident(w))) if w == "with" => Some(Kind::With),
            _ => None,
        };
        if let Some(inner) = chained {
            self.pos += 1;
            let control = self.control(inner)?;
            return Ok(vec![match inner {
                Kind::If => Node::If(control),
                _ => Node::With(control),
            }]);
        }
        self.expect_close("else")?;
        let (otherwise, stop) = self.list()?;
        match stop {
            Stop::End => Ok(otherwise),
            Stop::Else => Err(self.err("expected end; found {{else}}")),
            Stop::Eof => Err(self.err("unexpected EOF")),
        }
    }

    fn pipeline(&mut self, is_range: bool, ctx: Option<Kind>) -> Result<Pipe, FormatError> {
        let line = self.line();
        let mut decl = Vec::new();
        let mut assign = false;
        if let Some(Tok::Var(name, fields)) = self.peek().cloned() {
            if fields.is_empty() {
                match self.peek_at(1) {
                    Some(Tok::Declare) => {
                        decl.push(name);
                        self.pos += 2;
                    }
                    Some(Tok::Assign) => {
                        if !self.vars.contains(&name) {
                            return Err(self.err(format!("undefined variable {name:?}")));
                        }
                        decl.push(name);
                        assign = true;
                        self.pos += 2;
                    }
                    Some(Tok::Comma) if is_range => {
                        if let (Some(Tok::Var(second, f2)), Some(Tok::Declare)) =
                            (self.peek_at(2).cloned(), self.peek_at(3))
                        {
                            if !f2.is_empty() {
                                return Err(self.err("too many declarations in range"));
                            }
                            decl.push(name);
                            decl.push(second);
                            self.pos += 4;
                        } else {
                            return Err(self.err("range can only initialize variables"));
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut cmds = Vec::new();
        loop {
            let cmd = self.command()?;
            if !cmds.is_empty() {
                if let Some(first) = cmd.operands.first() {
                    if !matches!(
                        first,
                        Operand::Func(_)
                            | Operand::Field(_)
                            | Operand::Var(..)
                            | Operand::Paren(..)
                    ) {
                        return Err(self.err(format!(
                            "non executable command in pipeline stage {}",
                            cmds.len() + 1
                        )));
                    }
                }
            }
            cmds.push(cmd);
            if self.peek() == Some(&Tok::Pipe) {
                self.pos += 1;
            } else {
                break;
            }
        }
        if !assign {
            self.vars.extend(decl.iter().cloned());
        }
        let _ = ctx;
        Ok(Pipe {
            line,
            decl,
            assign,
            cmds,
        })
    }

    fn command(&mut self) -> Result<Cmd, FormatError> {
        let mut operands = Vec::new();
        loop {
            let op = match self.peek().cloned() {
                None | Some(Tok::Close) | Some(Tok::Pipe) | Some(Tok::RParen) => break,
                Some(Tok::Dot) => Operand::Dot,
                Some(Tok::Nil) => Operand::Nil,
                Some(Tok::Bool(b)) => Operand::Bool(b),
                Some(Tok::Num(n)) => Operand::Num(n),
                Some(Tok::Str(s)) => Operand::Str(s),
                Some(Tok::Field(f)) => Operand::Field(f),
                Some(Tok::Var(name, f)) => {
                    if !self.vars.contains(&name) {
                        return Err(self.err(format!("undefined variable {name:?}")));
                    }
                    Operand::Var(name, f)
                }
                Some(Tok::Ident(name)) => {
                    if !is_function(&name) {
                        return Err(self.err(format!("function {name:?} not defined")));
                    }
                    Operand::Func(name)
                }
                Some(Tok::LParen) => {
                    self.pos += 1;
                    let pipe = self.pipeline(false, None)?;
                    if self.peek() != Some(&Tok::RParen) {
                        return Err(self.err("unclosed left paren"));
                    }
                    let fields = match self.peek_at(1) {
                        Some(Tok::ChainField(f)) => {
                            let f = f.clone();
                            self.pos += 1;
                            f
                        }
                        _ => Vec::new(),
                    };
                    Operand::Paren(Box::new(pipe), fields)
                }
                Some(other) => return Err(self.err(format!("unexpected {other:?} in operand"))),
            };
            self.pos += 1;
            operands.push(op);
        }
        match operands.first() {
            None => Err(self.err("missing value for command")),
            Some(Operand::Nil) if operands.len() == 1 => Err(self.err("nil is not a command")),
            _ => Ok(Cmd { operands }),
        }
    }
}
