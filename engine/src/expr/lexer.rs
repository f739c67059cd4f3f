//! Turns expression text into tokens, each tagged with its (0-based, in characters) column.

use super::error::SyntaxError;

/// One lexical token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    /// Operators and punctuation, including word operators (`and`, `not`, `in`, ...).
    Op(&'static str),
    Eof,
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub col: usize,
}

const WORD_OPS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "matches",
    "contains",
    "startsWith",
    "endsWith",
    "let",
];

const PUNCT: &[&str] = &[
    "...", "??", "?.", "..", "==", "!=", "<=", ">=", "&&", "||", "**", "(", ")", "[", "]", "{",
    "}", ",", ":", ";", ".", "?", "!", "<", ">", "+", "-", "*", "/", "%", "^", "|", "#", "=",
];

struct Lexer<'s> {
    chars: Vec<(usize, char)>,
    src: &'s str,
    pos: usize,
}

/// Splits `src` into tokens; the last one is always [`Tok::Eof`].
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut lx = Lexer {
        chars: src.char_indices().collect(),
        src,
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        lx.skip_space();
        let col = lx.pos;
        let Some(c) = lx.peek(0) else {
            out.push(Token { tok: Tok::Eof, col });
            return Ok(out);
        };
        let tok = if c.is_ascii_digit()
            || (c == '.' && lx.peek(1).is_some_and(|d| d.is_ascii_digit()) && !prev_is_value(&out))
        {
            lx.number()?
        } else if c == '"' || c == '\'' {
            lx.pos += 1;
            Tok::Str(lx.quoted(c, col)?)
        } else if c == '`' {
            lx.pos += 1;
            lx.raw(col)?
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = lx.pos;
            while lx
                .peek(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
            {
                lx.pos += 1;
            }
            let word = lx.slice(start, lx.pos);
            match WORD_OPS.iter().find(|w| **w == word) {
                Some(w) => Tok::Op(w),
                None => match word {
                    "true" | "false" | "nil" => Tok::Ident(word.to_string()),
                    _ => Tok::Ident(word.to_string()),
                },
            }
        } else {
            let rest = lx.rest();
            match PUNCT.iter().find(|p| rest.starts_with(**p)) {
                Some(p) => {
                    lx.pos += p.chars().count();
                    Tok::Op(p)
                }
                None => {
                    return Err(SyntaxError::new(
                        col,
                        format!("unrecognized character: {c:?}"),
                    ));
                }
            }
        };
        out.push(Token { tok, col });
    }
}

/// Whether the previous token ends a value (then `.5` is member access, not a float).
fn prev_is_value(out: &[Token]) -> bool {
    matches!(
        out.last().map(|t| &t.tok),
        Some(Tok::Ident(_) | Tok::Int(_) | Tok::Float(_) | Tok::Str(_) | Tok::Op(")" | "]" | "}"))
    )
}

impl Lexer<'_> {
    fn peek(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).map(|&(_, c)| c)
    }

    fn byte_at(&self, pos: usize) -> usize {
        self.chars.get(pos).map_or(self.src.len(), |&(b, _)| b)
    }

    fn slice(&self, from: usize, to: usize) -> &str {
        self.src
            .get(self.byte_at(from)..self.byte_at(to))
            .unwrap_or("")
    }

    fn rest(&self) -> &str {
        self.src.get(self.byte_at(self.pos)..).unwrap_or("")
    }

    fn skip_space(&mut self) {
        loop {
            match self.peek(0) {
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some('/') if self.peek(1) == Some('/') => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                Some('/') if self.peek(1) == Some('*') => {
                    self.pos += 2;
                    while self.peek(0).is_some()
                        && !(self.peek(0) == Some('*') && self.peek(1) == Some('/'))
                    {
                        self.pos += 1;
                    }
                    self.pos = (self.pos + 2).min(self.chars.len());
                }
                _ => return,
            }
        }
    }

    fn number(&mut self) -> Result<Tok, SyntaxError> {
        let start = self.pos;
        if self.peek(0) == Some('0')
            && matches!(self.peek(1), Some('x' | 'X' | 'o' | 'O' | 'b' | 'B'))
        {
            let radix = match self.peek(1) {
                Some('x' | 'X') => 16,
                Some('o' | 'O') => 8,
                _ => 2,
            };
            self.pos += 2;
            while self
                .peek(0)
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                self.pos += 1;
            }
            let digits: String = self
                .slice(start + 2, self.pos)
                .chars()
                .filter(|&c| c != '_')
                .collect();
            return i64::from_str_radix(&digits, radix)
                .map(Tok::Int)
                .map_err(|_| {
                    SyntaxError::new(
                        start,
                        format!("invalid number literal {:?}", self.slice(start, self.pos)),
                    )
                });
        }
        let mut is_float = false;
        while let Some(c) = self.peek(0) {
            if c.is_ascii_digit() || c == '_' {
                self.pos += 1;
            } else if c == '.' && !is_float && self.peek(1) != Some('.') {
                is_float = true;
                self.pos += 1;
            } else if (c == 'e' || c == 'E')
                && (self.peek(1).is_some_and(|d| d.is_ascii_digit())
                    || (matches!(self.peek(1), Some('+' | '-'))
                        && self.peek(2).is_some_and(|d| d.is_ascii_digit())))
            {
                is_float = true;
                self.pos += 2;
            } else {
                break;
            }
        }
        let text: String = self
            .slice(start, self.pos)
            .chars()
            .filter(|&c| c != '_')
            .collect();
        let bad = || SyntaxError::new(start, format!("invalid number literal {text:?}"));
        if is_float {
            text.parse::<f64>().map(Tok::Float).map_err(|_| bad())
        } else {
            match text.parse::<i64>() {
                Ok(i) => Ok(Tok::Int(i)),
                Err(_) => text.parse::<f64>().map(Tok::Float).map_err(|_| bad()),
            }
        }
    }

    fn raw(&mut self, start: usize) -> Result<Tok, SyntaxError> {
        let from = self.pos;
        while let Some(c) = self.peek(0) {
            if c == '`' {
                let s = self.slice(from, self.pos).to_string();
                self.pos += 1;
                return Ok(Tok::Str(s));
            }
            self.pos += 1;
        }
        Err(SyntaxError::new(start, "literal not terminated"))
    }

    fn hex(&mut self, n: usize, start: usize) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..n {
            let d = self.peek(0).and_then(|c| c.to_digit(16));
            let Some(d) = d else {
                return Err(SyntaxError::new(start, "invalid char escape"));
            };
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    fn quoted(&mut self, quote: char, start: usize) -> Result<String, SyntaxError> {
        let mut s = String::new();
        // Bytes from \x and octal escapes may form UTF-8 sequences together.
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(SyntaxError::new(start, "literal not terminated"));
            };
            self.pos += 1;
            if c != '\\' && !bytes.is_empty() {
                s.push_str(&String::from_utf8_lossy(&bytes));
                bytes.clear();
            }
            if c == quote {
                return Ok(s);
            }
            if c == '\n' {
                return Err(SyntaxError::new(start, "literal not terminated"));
            }
            if c != '\\' {
                s.push(c);
                continue;
            }
            let Some(e) = self.peek(0) else {
                return Err(SyntaxError::new(start, "literal not terminated"));
            };
            self.pos += 1;
            let ch = match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                'a' => '\x07',
                'b' => '\x08',
                'f' => '\x0c',
                'v' => '\x0b',
                '\\' => '\\',
                '"' => '"',
                '\'' => '\'',
                '`' => '`',
                'x' => {
                    bytes.push(self.hex(2, start)? as u8);
                    continue;
                }
                'u' | 'U' => {
                    let v = self.hex(if e == 'u' { 4 } else { 8 }, start)?;
                    if !bytes.is_empty() {
                        s.push_str(&String::from_utf8_lossy(&bytes));
                        bytes.clear();
                    }
                    char::from_u32(v)
                        .ok_or_else(|| SyntaxError::new(start, "invalid char escape"))?
                }
                '0'..='7' => {
                    let mut v = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match self.peek(0).and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                self.pos += 1;
                            }
                            None => return Err(SyntaxError::new(start, "invalid char escape")),
                        }
                    }
                    bytes.push((v & 0xff) as u8);
                    continue;
                }
                _ => return Err(SyntaxError::new(start, "invalid char escape")),
            };
            if !bytes.is_empty() {
                s.push_str(&String::from_utf8_lossy(&bytes));
                bytes.clear();
            }
            s.push(ch);
        }
    }
}
