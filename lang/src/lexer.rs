//! The lexer: source text to tokens with byte spans, built on logos.
//!
//! Lexical errors never stop lexing. Each becomes a diagnostic, and the token stream handed to the
//! parser gets a stand-in (a malformed number becomes `0`, an unterminated string becomes `""`) or
//! nothing (a stray character), so one bad character yields one diagnostic, not a cascade of
//! syntax errors after it.

use std::fmt;

use logos::{FilterResult, Logos};

use crate::diagnostic::{codes, Diagnostic};
use crate::span::{FileId, Span};

/// What went wrong while lexing one token.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LexError {
    /// A character that starts no token.
    #[default]
    UnexpectedChar,
    UnterminatedString,
    /// A backslash escape other than `\\` and `\"`; the offset is from the token's start.
    InvalidEscape {
        offset: usize,
    },
    /// Digits glued to letters, a second `.`, an exponent without digits, ...
    MalformedNumber,
    /// An integer above `u64::MAX` or a float that rounds to infinity.
    NumberOutOfRange,
    UnterminatedComment,
}

/// A number literal's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(u64),
    Float(f64),
}

/// The reserved words, each lexed as its own token (see [`Token`]); `docs/language.md` lists them.
pub const KEYWORDS: &[&str] = &[
    "import", "const", "type", "lookup", "model", "fn", "let", "param", "return", "if", "else",
    "load", "random", "fix", "i8", "i16", "i32", "bf16", "f8e4m3", "int",
];

/// The tokens of `.atl`. Whitespace and comments are skipped.
#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Token {
    #[token("/*", block_comment)]
    BlockComment,

    #[token("import")]
    Import,
    #[token("const")]
    Const,
    #[token("type")]
    Type,
    #[token("lookup")]
    Lookup,
    #[token("model")]
    Model,
    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("param")]
    Param,
    #[token("return")]
    Return,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("load")]
    Load,
    #[token("random")]
    Random,
    #[token("fix")]
    Fix,
    #[token("i8")]
    I8,
    #[token("i16")]
    I16,
    #[token("i32")]
    I32,
    #[token("bf16")]
    Bf16,
    #[token("f8e4m3")]
    F8E4M3,
    /// The kind of a `fn`'s compile-time integer parameters (`axis: int = -1`).
    #[token("int")]
    Int,

    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    /// `T[..]`: a shape left to the argument or value (generic `fn`s, `let` annotations).
    #[token("..")]
    DotDot,
    /// Not part of the grammar: lexed so that a Rust habit gets "expected …, found `;`" and a hint.
    #[token(";")]
    Semi,
    #[token("->")]
    Arrow,
    #[token("=")]
    Assign,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("@")]
    At,
    #[token("==")]
    EqEq,
    #[token("!=")]
    Ne,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),

    /// Everything that starts with a digit is lexed as one "number-like" run (digits, letters,
    /// `_`, `.digit`, and a sign right after an exponent `e`) and then validated, so `12ab`,
    /// `1.2.3` and `1e` are one malformed-number error rather than a number followed by junk.
    #[regex(r"[0-9]([0-9A-Za-z_]|[eE][+-])*(\.[0-9]([0-9A-Za-z_]|[eE][+-])*)*", number)]
    Number(Number),

    #[regex(r#""([^"\\\n]|\\[^\n])*""#, string)]
    Str(String),

    /// A string that reaches the end of the line (or file) without its closing quote.
    #[regex(r#""([^"\\\n]|\\[^\n])*"#, unterminated_string)]
    UnterminatedStr,
}

fn block_comment(lex: &mut logos::Lexer<'_, Token>) -> FilterResult<(), LexError> {
    // Block comments do not nest: the first `*/` closes the comment.
    match lex.remainder().find("*/") {
        Some(end) => {
            lex.bump(end + 2);
            FilterResult::Skip
        }
        None => {
            lex.bump(lex.remainder().len());
            FilterResult::Error(LexError::UnterminatedComment)
        }
    }
}

fn unterminated_string(_: &mut logos::Lexer<'_, Token>) -> FilterResult<(), LexError> {
    FilterResult::Error(LexError::UnterminatedString)
}

fn number(lex: &mut logos::Lexer<'_, Token>) -> Result<Number, LexError> {
    parse_number(lex.slice())
}

/// Validates a number-like run: `123`, `1_000`, `1.5`, `2e-3`, `1.5E+10`. Underscores may separate
/// digits anywhere after the first digit.
pub(crate) fn parse_number(text: &str) -> Result<Number, LexError> {
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    let bytes = digits.as_bytes();
    let mut i = 0;
    let int_digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !int_digits(&mut i) {
        return Err(LexError::MalformedNumber);
    }
    let mut is_float = false;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        if !int_digits(&mut i) {
            return Err(LexError::MalformedNumber);
        }
        is_float = true;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        if !int_digits(&mut i) {
            return Err(LexError::MalformedNumber);
        }
        is_float = true;
    }
    if i != bytes.len() {
        return Err(LexError::MalformedNumber);
    }
    if is_float {
        match digits.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Number::Float(v)),
            _ => Err(LexError::NumberOutOfRange),
        }
    } else {
        digits.parse::<u64>().map(Number::Int).map_err(|_| LexError::NumberOutOfRange)
    }
}

fn string(lex: &mut logos::Lexer<'_, Token>) -> Result<String, LexError> {
    let slice = lex.slice();
    let inner = &slice[1..slice.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '\\')) => out.push('\\'),
            Some((_, '"')) => out.push('"'),
            // +1 for the opening quote.
            _ => return Err(LexError::InvalidEscape { offset: i + 1 }),
        }
    }
    Ok(out)
}

impl Token {
    /// How the token reads in a message: keywords and punctuation in backticks, literals by kind.
    pub fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("identifier `{name}`"),
            Token::Number(Number::Int(v)) => format!("integer `{v}`"),
            Token::Number(Number::Float(v)) => format!("number `{v:?}`"),
            Token::Str(s) => format!("string {s:?}"),
            Token::BlockComment | Token::UnterminatedStr => "invalid token".to_string(),
            other => format!("`{other}`"),
        }
    }
}

impl fmt::Display for Token {
    /// The token's source text (for literals, a canonical spelling of it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Token::BlockComment => "/*",
            Token::Import => "import",
            Token::Const => "const",
            Token::Type => "type",
            Token::Lookup => "lookup",
            Token::Model => "model",
            Token::Fn => "fn",
            Token::Let => "let",
            Token::Param => "param",
            Token::Return => "return",
            Token::If => "if",
            Token::Else => "else",
            Token::Load => "load",
            Token::Random => "random",
            Token::Fix => "fix",
            Token::I8 => "i8",
            Token::I16 => "i16",
            Token::I32 => "i32",
            Token::Bf16 => "bf16",
            Token::F8E4M3 => "f8e4m3",
            Token::Int => "int",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::Comma => ",",
            Token::Colon => ":",
            Token::Dot => ".",
            Token::DotDot => "..",
            Token::Semi => ";",
            Token::Arrow => "->",
            Token::Assign => "=",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Slash => "/",
            Token::At => "@",
            Token::EqEq => "==",
            Token::Ne => "!=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::Ident(name) => return f.write_str(name),
            Token::Number(Number::Int(v)) => return write!(f, "{v}"),
            Token::Number(Number::Float(v)) => return write!(f, "{v:?}"),
            Token::Str(s) => return write!(f, "{s:?}"),
            Token::UnterminatedStr => "\"",
        };
        f.write_str(s)
    }
}

/// A token with its byte range, as the parser consumes it.
pub type Spanned = (usize, Token, usize);

/// Lexes a whole file. Always returns a token stream; lexical errors come back as diagnostics.
pub fn lex(file: FileId, source: &str) -> (Vec<Spanned>, Vec<Diagnostic>) {
    let mut tokens = Vec::new();
    let mut diagnostics = Vec::new();
    let mut lexer = Token::lexer(source);
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        let span = Span::new(file, range.start, range.end);
        match result {
            Ok(token) => tokens.push((range.start, token, range.end)),
            Err(error) => {
                diagnostics.push(lex_diagnostic(&error, span, lexer.slice()));
                // Stand-ins keep the parser on track after a bad literal.
                let stand_in = match error {
                    LexError::MalformedNumber | LexError::NumberOutOfRange => {
                        Some(Token::Number(Number::Int(0)))
                    }
                    LexError::UnterminatedString | LexError::InvalidEscape { .. } => {
                        Some(Token::Str(String::new()))
                    }
                    LexError::UnexpectedChar | LexError::UnterminatedComment => None,
                };
                if let Some(token) = stand_in {
                    tokens.push((range.start, token, range.end));
                }
            }
        }
    }
    (tokens, diagnostics)
}

fn lex_diagnostic(error: &LexError, span: Span, text: &str) -> Diagnostic {
    match error {
        LexError::UnexpectedChar => {
            let found = text.chars().next().map_or_else(String::new, |c| format!("{c:?}"));
            Diagnostic::error(
                codes::UNEXPECTED_CHAR,
                format!("expected a token, found the character {found}"),
            )
            .with_primary(span, "not valid in .atl source")
            .with_help(
                "tokens are identifiers, numbers, strings, keywords and the operators \
                 `+ - * / @ == != < <= > >= = -> , : . ( ) [ ] { }`",
            )
        }
        LexError::UnterminatedString => Diagnostic::error(
            codes::UNTERMINATED_STRING,
            "expected `\"` to close the string, found the end of the line",
        )
        .with_primary(span, "this string is never closed")
        .with_help("strings cannot span lines; add the closing `\"`"),
        LexError::InvalidEscape { offset } => {
            let start = span.start + offset;
            let escape: String = text[*offset..].chars().take(2).collect();
            let end = start + escape.len();
            Diagnostic::error(
                codes::INVALID_ESCAPE,
                format!("expected `\\\\` or `\\\"` after a backslash, found `{escape}`"),
            )
            .with_primary(Span::new(span.file, start, end), "unknown escape")
            .with_secondary(span, "in this string")
            .with_help("strings support only the escapes `\\\\` and `\\\"`")
        }
        LexError::MalformedNumber => Diagnostic::error(
            codes::MALFORMED_NUMBER,
            format!("expected a number like `42`, `1_000`, `0.5` or `2e-3`, found `{text}`"),
        )
        .with_primary(span, "malformed number")
        .with_help("separate a number from a following name with a space or an operator"),
        LexError::NumberOutOfRange => Diagnostic::error(
            codes::NUMBER_OUT_OF_RANGE,
            format!("expected a number that fits in 64 bits, found `{text}`"),
        )
        .with_primary(span, "out of range")
        .with_help("integers go up to 18446744073709551615; floats must be finite f64 values"),
        LexError::UnterminatedComment => Diagnostic::error(
            codes::UNTERMINATED_COMMENT,
            "expected `*/` to close the block comment, found the end of the file",
        )
        .with_primary(Span::new(span.file, span.start, span.start + 2), "comment opened here")
        .with_help("block comments do not nest; close this one with `*/`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Token> {
        let (tokens, diags) = lex(FileId(0), src);
        assert!(diags.is_empty(), "{diags:?}");
        tokens.into_iter().map(|(_, t, _)| t).collect()
    }

    #[test]
    fn numbers_are_classified() {
        assert_eq!(parse_number("1_000"), Ok(Number::Int(1000)));
        assert_eq!(parse_number("0.5"), Ok(Number::Float(0.5)));
        assert_eq!(parse_number("2e-3"), Ok(Number::Float(2e-3)));
        assert_eq!(parse_number("1.5E+2"), Ok(Number::Float(150.0)));
        assert_eq!(parse_number("12ab"), Err(LexError::MalformedNumber));
        assert_eq!(parse_number("1.2.3"), Err(LexError::MalformedNumber));
        assert_eq!(parse_number("1e"), Err(LexError::MalformedNumber));
        assert_eq!(parse_number("99999999999999999999"), Err(LexError::NumberOutOfRange));
        assert_eq!(parse_number("1e999"), Err(LexError::NumberOutOfRange));
    }

    #[test]
    fn operators_take_the_longest_match() {
        use Token::*;
        assert_eq!(
            kinds("a->b <= >= == != = < >"),
            vec![Ident("a".into()), Arrow, Ident("b".into()), Le, Ge, EqEq, Ne, Assign, Lt, Gt]
        );
    }

    #[test]
    fn comments_are_skipped_and_keywords_win_over_identifiers() {
        use Token::*;
        assert_eq!(kinds("let /* x */ lets // model\nfix"), vec![Let, Ident("lets".into()), Fix]);
    }

    #[test]
    fn every_keyword_is_one_reserved_token() {
        for keyword in KEYWORDS {
            let tokens = kinds(keyword);
            assert_eq!(tokens.len(), 1, "{keyword}");
            assert!(!matches!(tokens[0], Token::Ident(_)), "`{keyword}` lexes as an identifier");
            assert_eq!(tokens[0].to_string(), *keyword);
        }
    }

    #[test]
    fn strings_unescape() {
        assert_eq!(kinds(r#""a\"b\\c""#), vec![Token::Str("a\"b\\c".into())]);
    }

    #[test]
    fn errors_are_reported_and_lexing_goes_on() {
        let (tokens, diags) = lex(FileId(0), "a $ 12x \"open\nb");
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec!["E0101", "E0103", "E0102"]);
        assert_eq!(tokens.len(), 4, "a, 0 (for 12x), \"\" (for the open string), b");
    }
}
