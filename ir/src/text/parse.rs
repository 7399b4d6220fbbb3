//! The parser: a hand-written lexer and recursive-descent parser for the grammar in `docs/ir.md`.
//!
//! It never panics, whatever the input; every error carries the 1-based line and column (in
//! characters) of the offending token. It checks syntax and name resolution only: the result may
//! still be an invalid program (a forward reference written by index, a wrong shape), which is
//! `validate`'s to report.

use std::collections::HashMap;

use crate::program::{
    is_identifier, Node, Op, ParamData, Program, ReduceKind, Rounding, TableHandle, TableRef,
    Value, ValueDef, ValueId, Visibility,
};
use crate::types::{ElemType, TensorType};

/// A syntax or name-resolution error at `line:col`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `%name` or `%123`.
    Value(String),
    /// `@name` or `@123`.
    Table(String),
    Int(i128),
    /// `#0x…`.
    Hex(u64),
    Str(String),
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Lt,
    Gt,
    Comma,
    Colon,
    Eq,
    Arrow,
    Newline,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Value(s) => format!("`%{s}`"),
            Tok::Table(s) => format!("`@{s}`"),
            Tok::Int(n) => format!("`{n}`"),
            Tok::Hex(n) => format!("`#{n:#x}`"),
            Tok::Str(s) => format!("{s:?}"),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Arrow => "`->`".into(),
            Tok::Newline => "end of line".into(),
            Tok::Eof => "end of input".into(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Pos {
    line: usize,
    col: usize,
}

fn err(pos: Pos, message: impl Into<String>) -> ParseError {
    ParseError { line: pos.line, col: pos.col, message: message.into() }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn lex(src: &str) -> Result<Vec<(Tok, Pos)>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, col };
        let start = i;
        let single = match c {
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '<' => Some(Tok::Lt),
            '>' => Some(Tok::Gt),
            ',' => Some(Tok::Comma),
            ':' => Some(Tok::Colon),
            '=' => Some(Tok::Eq),
            _ => None,
        };
        if let Some(t) = single {
            toks.push((t, pos));
            i += 1;
        } else if c == '\n' {
            toks.push((Tok::Newline, pos));
            i += 1;
            line += 1;
            col = 1;
            continue;
        } else if c == ' ' || c == '\t' || c == '\r' {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '-' && chars.get(i + 1) == Some(&'>') {
            toks.push((Tok::Arrow, pos));
            i += 2;
        } else if c == '-' || c.is_ascii_digit() {
            let negative = c == '-';
            if negative {
                i += 1;
            }
            if !chars.get(i).is_some_and(char::is_ascii_digit) {
                return Err(err(pos, "expected a digit after `-`"));
            }
            let mut n: i128 = 0;
            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(i128::from(d)))
                    .filter(|&n| n <= i128::from(u64::MAX))
                    .ok_or_else(|| err(pos, "number too large"))?;
                i += 1;
            }
            if chars.get(i).is_some_and(|&c| is_name_char(c)) {
                return Err(err(pos, "malformed number"));
            }
            toks.push((Tok::Int(if negative { -n } else { n }), pos));
        } else if c == '#' {
            if chars.get(i + 1) != Some(&'0') || chars.get(i + 2) != Some(&'x') {
                return Err(err(pos, "expected a table id `#0x…`"));
            }
            i += 3;
            let mut n: u64 = 0;
            let digits_start = i;
            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(16)) {
                n = n
                    .checked_mul(16)
                    .and_then(|n| n.checked_add(u64::from(d)))
                    .ok_or_else(|| err(pos, "table id too large"))?;
                i += 1;
            }
            if i == digits_start || chars.get(i).is_some_and(|&c| is_name_char(c)) {
                return Err(err(pos, "malformed table id"));
            }
            toks.push((Tok::Hex(n), pos));
        } else if c == '%' || c == '@' {
            i += 1;
            let name_start = i;
            while chars.get(i).is_some_and(|&c| is_name_char(c)) {
                i += 1;
            }
            if i == name_start {
                return Err(err(pos, format!("expected a name after `{c}`")));
            }
            let name: String = chars[name_start..i].iter().collect();
            toks.push((if c == '%' { Tok::Value(name) } else { Tok::Table(name) }, pos));
        } else if c.is_ascii_alphabetic() || c == '_' {
            while chars.get(i).is_some_and(|&c| is_name_char(c)) {
                i += 1;
            }
            toks.push((Tok::Ident(chars[start..i].iter().collect()), pos));
        } else if c == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                let Some(&c) = chars.get(i) else {
                    return Err(err(pos, "unterminated string"));
                };
                i += 1;
                match c {
                    '"' => break,
                    '\n' => return Err(err(pos, "unterminated string")),
                    '\\' => {
                        let e = chars.get(i).copied();
                        i += 1;
                        match e {
                            Some('n') => s.push('\n'),
                            Some('r') => s.push('\r'),
                            Some('t') => s.push('\t'),
                            Some('0') => s.push('\0'),
                            Some('\\') => s.push('\\'),
                            Some('"') => s.push('"'),
                            Some('\'') => s.push('\''),
                            Some('u') if chars.get(i) == Some(&'{') => {
                                i += 1;
                                let mut n: u32 = 0;
                                let digits_start = i;
                                while let Some(d) = chars.get(i).and_then(|c| c.to_digit(16)) {
                                    n = n
                                        .checked_mul(16)
                                        .and_then(|n| n.checked_add(d))
                                        .ok_or_else(|| err(pos, "bad \\u escape"))?;
                                    i += 1;
                                }
                                if i == digits_start || chars.get(i) != Some(&'}') {
                                    return Err(err(pos, "bad \\u escape"));
                                }
                                i += 1;
                                s.push(
                                    char::from_u32(n).ok_or_else(|| err(pos, "bad \\u escape"))?,
                                );
                            }
                            _ => return Err(err(pos, "unknown escape in string")),
                        }
                    }
                    c => s.push(c),
                }
            }
            toks.push((Tok::Str(s), pos));
        } else {
            return Err(err(pos, format!("unexpected character {c:?}")));
        }
        col += i - start;
    }
    toks.push((Tok::Eof, Pos { line, col }));
    Ok(toks)
}

/// Parses the text form into a [`Program`] (not validated: run [`crate::validate`] on it).
pub fn parse(src: &str) -> Result<Program, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser { toks, at: 0, values: HashMap::new(), tables: HashMap::new() };
    p.program()
}

/// An attribute after a node's operands: `key=value` or a bare flag.
enum AttrVal {
    Flag,
    Int(i128),
    List(Vec<i128>),
    Ident(String),
}

struct Parser {
    toks: Vec<(Tok, Pos)>,
    at: usize,
    values: HashMap<String, ValueId>,
    tables: HashMap<String, TableHandle>,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.at).map_or(&Tok::Eof, |t| &t.0)
    }

    fn pos(&self) -> Pos {
        self.toks.get(self.at).or(self.toks.last()).map_or(Pos { line: 1, col: 1 }, |t| t.1)
    }

    fn bump(&mut self) -> (Tok, Pos) {
        let t = self.toks.get(self.at).cloned().unwrap_or((Tok::Eof, self.pos()));
        if self.at < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn unexpected<T>(&self, what: &str) -> Result<T, ParseError> {
        Err(err(self.pos(), format!("expected {what}, found {}", self.peek().describe())))
    }

    fn expect(&mut self, tok: Tok) -> Result<Pos, ParseError> {
        if *self.peek() == tok {
            Ok(self.bump().1)
        } else {
            self.unexpected(&tok.describe())
        }
    }

    fn keyword(&mut self, kw: &str) -> Result<(), ParseError> {
        match self.peek() {
            Tok::Ident(s) if s == kw => {
                self.bump();
                Ok(())
            }
            _ => self.unexpected(&format!("`{kw}`")),
        }
    }

    fn skip_newlines(&mut self) {
        while *self.peek() == Tok::Newline {
            self.bump();
        }
    }

    /// The end of a statement: one or more newlines.
    fn end_of_line(&mut self) -> Result<(), ParseError> {
        self.expect(Tok::Newline)?;
        self.skip_newlines();
        Ok(())
    }

    fn ident(&mut self, what: &str) -> Result<(String, Pos), ParseError> {
        match self.peek().clone() {
            Tok::Ident(s) => Ok((s, self.bump().1)),
            _ => self.unexpected(what),
        }
    }

    fn program(&mut self) -> Result<Program, ParseError> {
        self.skip_newlines();
        self.keyword("program")?;
        let (name, pos) = self.ident("a program name")?;
        if !is_identifier(&name) {
            return Err(err(pos, format!("program name `{name}` is not an identifier")));
        }
        let mut prog = Program::new(name);
        self.expect(Tok::LBrace)?;
        self.end_of_line()?;
        loop {
            let pos = self.pos();
            match self.peek().clone() {
                Tok::RBrace => {
                    self.bump();
                    break;
                }
                Tok::Ident(kw) if kw == "table" => self.table(&mut prog)?,
                Tok::Ident(kw) if kw == "input" => self.input(&mut prog)?,
                Tok::Ident(kw) if kw == "param" || kw == "const" => self.data_value(&mut prog)?,
                Tok::Ident(kw) if kw == "output" => {
                    self.bump();
                    let v = self.value_ref()?;
                    prog.outputs.push(v);
                }
                Tok::Value(_) => self.node(&mut prog)?,
                _ => {
                    return Err(err(
                        pos,
                        format!(
                            "expected a statement (table, input, param, const, a node, output) \
                             or `}}`, found {}",
                            self.peek().describe()
                        ),
                    ))
                }
            }
            self.end_of_line()?;
        }
        self.skip_newlines();
        if *self.peek() != Tok::Eof {
            return self.unexpected("end of input after the program");
        }
        Ok(prog)
    }

    fn table(&mut self, prog: &mut Program) -> Result<(), ParseError> {
        self.keyword("table")?;
        let pos = self.pos();
        let Tok::Table(name) = self.peek().clone() else { return self.unexpected("`@name`") };
        self.bump();
        if !is_identifier(&name) {
            return Err(err(pos, format!("table name `@{name}` is not an identifier")));
        }
        let handle = TableHandle(prog.tables.len() as u32);
        if self.tables.insert(name.clone(), handle).is_some() {
            return Err(err(pos, format!("table `@{name}` is already declared")));
        }
        self.expect(Tok::Eq)?;
        let pos = self.pos();
        let Tok::Hex(id) = *self.peek() else { return self.unexpected("a table id `#0x…`") };
        self.bump();
        let id = u32::try_from(id).map_err(|_| err(pos, "table id exceeds 32 bits"))?;
        self.expect(Tok::LParen)?;
        let mut inputs = vec![self.elem()?];
        while *self.peek() == Tok::Comma {
            self.bump();
            inputs.push(self.elem()?);
        }
        self.expect(Tok::RParen)?;
        self.expect(Tok::Arrow)?;
        let output = self.elem()?;
        prog.tables.push(TableRef { name, id, inputs, output });
        Ok(())
    }

    /// A value being defined: a fresh name, or the index it will get.
    fn def_name(&mut self, prog: &Program) -> Result<Option<String>, ParseError> {
        let pos = self.pos();
        let Tok::Value(name) = self.peek().clone() else { return self.unexpected("`%name`") };
        self.bump();
        let index = prog.values.len();
        if name.chars().all(|c| c.is_ascii_digit()) {
            // Unnamed values are numbered by position, so that `%7` always means value 7.
            if name.parse::<usize>().ok() != Some(index) {
                return Err(err(
                    pos,
                    format!("unnamed value `%{name}` must be numbered by its position, `%{index}`"),
                ));
            }
            return Ok(None);
        }
        if !is_identifier(&name) {
            return Err(err(pos, format!("`%{name}` is not a valid value name")));
        }
        if self.values.insert(name.clone(), ValueId(index as u32)).is_some() {
            return Err(err(pos, format!("value `%{name}` is already defined")));
        }
        Ok(Some(name))
    }

    /// A reference to a value: a name defined above, or an index (which may be anything: a
    /// forward or out-of-range index is `validate`'s to report).
    fn value_ref(&mut self) -> Result<ValueId, ParseError> {
        let pos = self.pos();
        let Tok::Value(name) = self.peek().clone() else { return self.unexpected("`%value`") };
        self.bump();
        if name.chars().all(|c| c.is_ascii_digit()) {
            return name
                .parse::<u32>()
                .map(ValueId)
                .map_err(|_| err(pos, format!("value index `%{name}` is too large")));
        }
        self.values
            .get(&name)
            .copied()
            .ok_or_else(|| err(pos, format!("undefined value `%{name}`")))
    }

    fn input(&mut self, prog: &mut Program) -> Result<(), ParseError> {
        self.keyword("input")?;
        let visibility = match self.peek() {
            Tok::Ident(s) if s == "public" => Visibility::Public,
            Tok::Ident(s) if s == "private" => Visibility::Private,
            _ => return self.unexpected("`public` or `private`"),
        };
        self.bump();
        let name = self.def_name(prog)?;
        self.expect(Tok::Colon)?;
        let ty = self.tensor_type()?;
        prog.values.push(Value { name, ty, def: ValueDef::Input { visibility } });
        Ok(())
    }

    fn data_value(&mut self, prog: &mut Program) -> Result<(), ParseError> {
        let (kw, _) = self.ident("`param` or `const`")?;
        let name = self.def_name(prog)?;
        self.expect(Tok::Colon)?;
        let ty = self.tensor_type()?;
        self.expect(Tok::Eq)?;
        let def = match (kw.as_str(), self.peek()) {
            ("param", Tok::Ident(w)) if w == "weights" => {
                self.bump();
                self.expect(Tok::LParen)?;
                let Tok::Str(key) = self.peek().clone() else {
                    return self.unexpected("a string");
                };
                self.bump();
                self.expect(Tok::RParen)?;
                ValueDef::Param { data: ParamData::External { key } }
            }
            ("param", _) => ValueDef::Param { data: ParamData::Inline(self.data()?) },
            _ => ValueDef::Const { data: self.data()? },
        };
        prog.values.push(Value { name, ty, def });
        Ok(())
    }

    fn data(&mut self) -> Result<Vec<i64>, ParseError> {
        self.int_list("data")?
            .into_iter()
            .map(|(n, pos)| i64::try_from(n).map_err(|_| err(pos, "datum outside i64")))
            .collect()
    }

    fn int_list(&mut self, what: &str) -> Result<Vec<(i128, Pos)>, ParseError> {
        if *self.peek() != Tok::LBracket {
            return self.unexpected(&format!("`[` starting {what}"));
        }
        self.bump();
        let mut out = Vec::new();
        if *self.peek() == Tok::RBracket {
            self.bump();
            return Ok(out);
        }
        loop {
            let pos = self.pos();
            let Tok::Int(n) = *self.peek() else { return self.unexpected("an integer") };
            self.bump();
            out.push((n, pos));
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RBracket => {
                    self.bump();
                    return Ok(out);
                }
                _ => return self.unexpected("`,` or `]`"),
            }
        }
    }

    fn usize_list(&mut self, what: &str) -> Result<Vec<usize>, ParseError> {
        self.int_list(what)?.into_iter().map(|(n, pos)| to_usize(n, pos)).collect()
    }

    fn small(&mut self, what: &str) -> Result<u8, ParseError> {
        let pos = self.pos();
        let Tok::Int(n) = *self.peek() else { return self.unexpected(what) };
        self.bump();
        u8::try_from(n).map_err(|_| err(pos, format!("{what} must be 0 to 255")))
    }

    fn elem(&mut self) -> Result<ElemType, ParseError> {
        let (name, pos) = self.ident("an element type")?;
        match name.as_str() {
            "fix" => {
                self.expect(Tok::Lt)?;
                let bits = self.small("a width")?;
                self.expect(Tok::Comma)?;
                let frac = self.small("a number of fractional bits")?;
                self.expect(Tok::Gt)?;
                Ok(ElemType::Fix { bits, frac })
            }
            "bf16" => Ok(ElemType::Bf16),
            "f8e4m3" => Ok(ElemType::F8E4M3),
            _ => {
                let bits = name
                    .strip_prefix('i')
                    .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
                    .and_then(|d| d.parse::<u8>().ok());
                match bits {
                    Some(bits) => Ok(ElemType::Int { bits }),
                    None => Err(err(
                        pos,
                        format!(
                            "unknown element type `{name}` (expected i<bits>, fix<B,F>, bf16 or \
                             f8e4m3)"
                        ),
                    )),
                }
            }
        }
    }

    fn tensor_type(&mut self) -> Result<TensorType, ParseError> {
        let elem = self.elem()?;
        let shape = self.usize_list("a shape")?;
        Ok(TensorType { elem, shape })
    }

    fn node(&mut self, prog: &mut Program) -> Result<(), ParseError> {
        let name = self.def_name(prog)?;
        self.expect(Tok::Colon)?;
        let ty = self.tensor_type()?;
        self.expect(Tok::Eq)?;
        let (op_name, op_pos) = self.ident("an op")?;
        let table = if op_name == "lookup" {
            let pos = self.pos();
            let Tok::Table(t) = self.peek().clone() else { return self.unexpected("`@table`") };
            self.bump();
            Some(if t.chars().all(|c| c.is_ascii_digit()) {
                t.parse::<u32>()
                    .map(TableHandle)
                    .map_err(|_| err(pos, format!("table index `@{t}` is too large")))?
            } else {
                *self.tables.get(&t).ok_or_else(|| err(pos, format!("undeclared table `@{t}`")))?
            })
        } else {
            None
        };
        let mut operands = Vec::new();
        if matches!(self.peek(), Tok::Value(_)) {
            operands.push(self.value_ref()?);
            while *self.peek() == Tok::Comma {
                self.bump();
                operands.push(self.value_ref()?);
            }
        }
        let mut attrs = Attrs::parse(self)?;
        let op = match op_name.as_str() {
            "matmul" => Op::MatMul,
            "add" => Op::Add,
            "sub" => Op::Sub,
            "mul" => Op::Mul,
            "neg" => Op::Neg,
            "reduce_sum" | "reduce_max" => Op::Reduce {
                kind: if op_name == "reduce_sum" { ReduceKind::Sum } else { ReduceKind::Max },
                axes: attrs.list("axes")?,
                keep_dims: attrs.flag("keep_dims")?,
            },
            "broadcast" => Op::Broadcast { shape: ty.shape.clone() },
            "reshape" => Op::Reshape { shape: ty.shape.clone() },
            "transpose" => Op::Transpose { perm: attrs.list("perm")? },
            "slice" => Op::Slice {
                axis: attrs.int("axis")?,
                start: attrs.int("start")?,
                end: attrs.int("end")?,
                step: attrs.int("step")?,
            },
            "concat" => Op::Concat { axis: attrs.int("axis")? },
            "gather" => Op::Gather { axis: attrs.int("axis")? },
            "im2col" => Op::Im2Col {
                kernel: attrs.pair("kernel")?,
                stride: attrs.pair("stride")?,
                pad: attrs.pair("pad")?,
            },
            "rescale" | "affine" => {
                let shift = attrs.int("shift")?;
                let shift = u8::try_from(shift)
                    .map_err(|_| err(attrs.at, format!("shift {shift} must be 0 to 255")))?;
                let rounding = match attrs.ident("round")?.as_str() {
                    "floor" => Rounding::Floor,
                    "nearest" => Rounding::Nearest,
                    other => {
                        return Err(err(
                            attrs.at,
                            format!("unknown rounding `{other}` (expected floor or nearest)"),
                        ))
                    }
                };
                let saturate = attrs.flag("saturate")?;
                if op_name == "rescale" {
                    Op::Rescale { shift, rounding, saturate, to: ty.elem }
                } else {
                    Op::Affine { shift, rounding, saturate, to: ty.elem }
                }
            }
            "cast" => Op::Cast { to: ty.elem },
            "lookup" => match table {
                Some(table) => Op::Lookup { table },
                None => return Err(err(op_pos, "lookup needs a table")),
            },
            other => return Err(err(op_pos, format!("unknown op `{other}`"))),
        };
        attrs.finish()?;
        prog.values.push(Value { name, ty, def: ValueDef::Node(Node { op, operands }) });
        Ok(())
    }
}

fn to_usize(n: i128, pos: Pos) -> Result<usize, ParseError> {
    usize::try_from(n).map_err(|_| err(pos, format!("{n} is not a size (0 or more)")))
}

/// A node's attributes, consumed by name; leftovers are errors.
struct Attrs {
    items: Vec<(String, AttrVal, Pos)>,
    /// Where the attributes start (for errors about missing ones).
    at: Pos,
}

impl Attrs {
    fn parse(p: &mut Parser) -> Result<Attrs, ParseError> {
        let at = p.pos();
        let mut items: Vec<(String, AttrVal, Pos)> = Vec::new();
        while let Tok::Ident(key) = p.peek().clone() {
            let pos = p.bump().1;
            if items.iter().any(|(k, _, _)| *k == key) {
                return Err(err(pos, format!("attribute `{key}` given twice")));
            }
            let val = if *p.peek() == Tok::Eq {
                p.bump();
                match p.peek().clone() {
                    Tok::Int(n) => {
                        p.bump();
                        AttrVal::Int(n)
                    }
                    Tok::Ident(s) => {
                        p.bump();
                        AttrVal::Ident(s)
                    }
                    Tok::LBracket => {
                        AttrVal::List(p.int_list("a list")?.into_iter().map(|x| x.0).collect())
                    }
                    _ => return p.unexpected("an attribute value"),
                }
            } else {
                AttrVal::Flag
            };
            items.push((key, val, pos));
        }
        Ok(Attrs { items, at })
    }

    fn take(&mut self, key: &str) -> Option<(AttrVal, Pos)> {
        let i = self.items.iter().position(|(k, _, _)| k == key)?;
        let (_, v, pos) = self.items.remove(i);
        Some((v, pos))
    }

    fn missing(&self, key: &str, what: &str) -> ParseError {
        err(self.at, format!("missing attribute `{key}={what}`"))
    }

    fn int(&mut self, key: &str) -> Result<usize, ParseError> {
        match self.take(key) {
            Some((AttrVal::Int(n), pos)) => to_usize(n, pos),
            Some((_, pos)) => Err(err(pos, format!("attribute `{key}` takes an integer"))),
            None => Err(self.missing(key, "<integer>")),
        }
    }

    fn list(&mut self, key: &str) -> Result<Vec<usize>, ParseError> {
        match self.take(key) {
            Some((AttrVal::List(l), pos)) => l.into_iter().map(|n| to_usize(n, pos)).collect(),
            Some((_, pos)) => Err(err(pos, format!("attribute `{key}` takes a list `[…]`"))),
            None => Err(self.missing(key, "[…]")),
        }
    }

    fn pair(&mut self, key: &str) -> Result<[usize; 2], ParseError> {
        let pos = self.items.iter().find(|(k, _, _)| k == key).map_or(self.at, |x| x.2);
        match self.list(key)?.as_slice() {
            &[a, b] => Ok([a, b]),
            _ => Err(err(pos, format!("attribute `{key}` takes two sizes `[h,w]`"))),
        }
    }

    fn ident(&mut self, key: &str) -> Result<String, ParseError> {
        match self.take(key) {
            Some((AttrVal::Ident(s), _)) => Ok(s),
            Some((_, pos)) => Err(err(pos, format!("attribute `{key}` takes a word"))),
            None => Err(self.missing(key, "<word>")),
        }
    }

    fn flag(&mut self, key: &str) -> Result<bool, ParseError> {
        match self.take(key) {
            Some((AttrVal::Flag, _)) => Ok(true),
            Some((_, pos)) => Err(err(pos, format!("`{key}` is a flag and takes no value"))),
            None => Ok(false),
        }
    }

    fn finish(self) -> Result<(), ParseError> {
        match self.items.first() {
            Some((k, _, pos)) => Err(err(*pos, format!("unknown attribute `{k}`"))),
            None => Ok(()),
        }
    }
}
