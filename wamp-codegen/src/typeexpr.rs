//! Type expressions: `f64`, `string?`, `list<map<string, geo.Point>>`.

use crate::model::{Scalar, TypeExpr};

/// Parses a type expression; the error says what is wrong.
pub(crate) fn parse(text: &str) -> Result<TypeExpr, String> {
    let mut p = Parser { s: text, pos: 0 };
    let expr = p.expr()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(format!(
            "unexpected `{}` after the type in `{text}`",
            &p.s[p.pos..]
        ));
    }
    Ok(expr)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s[self.pos..].starts_with(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.s[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}` in type `{}`", self.s))
        }
    }

    fn ident(&mut self) -> Result<&str, String> {
        self.skip_ws();
        let rest = &self.s[self.pos..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 || rest.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(if rest.is_empty() {
                format!("a type is missing in `{}`", self.s)
            } else {
                format!("expected a type name at `{rest}` in `{}`", self.s)
            });
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    fn expr(&mut self) -> Result<TypeExpr, String> {
        let base = self.base()?;
        if self.eat('?') {
            if self.eat('?') {
                return Err(format!("`??` in type `{}`: one `?` is enough", self.s));
            }
            return Ok(TypeExpr::Optional(Box::new(base)));
        }
        Ok(base)
    }

    fn base(&mut self) -> Result<TypeExpr, String> {
        let name = self.ident()?.to_string();
        match name.as_str() {
            "list" => {
                self.expect('<')?;
                let item = self.expr()?;
                self.expect('>')?;
                Ok(TypeExpr::List(Box::new(item)))
            }
            "map" => {
                self.expect('<')?;
                let key = self.ident()?.to_string();
                if key != "string" {
                    return Err(format!(
                        "map keys must be `string` (WAMP dictionaries have string keys), found `{key}` in `{}`",
                        self.s
                    ));
                }
                self.expect(',')?;
                let value = self.expr()?;
                self.expect('>')?;
                Ok(TypeExpr::Map(Box::new(value)))
            }
            _ => {
                if let Some(scalar) = Scalar::from_name(&name) {
                    return Ok(TypeExpr::Scalar(scalar));
                }
                if self.eat('.') {
                    let inner = self.ident()?.to_string();
                    return Ok(TypeExpr::Named {
                        module: Some(name),
                        name: inner,
                    });
                }
                Ok(TypeExpr::Named { module: None, name })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_display() {
        for t in [
            "f64",
            "string?",
            "list<u8>",
            "map<string, list<geo.Point?>>",
            "Point",
            "geo.Point?",
        ] {
            assert_eq!(parse(t).expect(t).to_string(), t);
        }
        assert_eq!(
            parse(" list < i64 > ? ").expect("spaces").to_string(),
            "list<i64>?"
        );
    }

    #[test]
    fn says_what_is_wrong() {
        assert!(parse("map<i64, f64>")
            .unwrap_err()
            .contains("map keys must be `string`"));
        assert!(parse("list<f64").unwrap_err().contains("expected `>`"));
        assert!(parse("f64??").unwrap_err().contains("`??`"));
        assert!(parse("").unwrap_err().contains("missing"));
        assert!(parse("f64 x").unwrap_err().contains("unexpected `x`"));
        assert!(parse("9lives").is_err());
    }
}
