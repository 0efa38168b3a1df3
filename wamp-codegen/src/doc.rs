//! A contract file as a tree of spanned nodes, whatever its syntax.
//!
//! TOML and JSON contracts are the same tree; reading either into [`Node`]s lets one
//! reader ([`crate::parse`]) build the model and report problems at exact positions.

use crate::source::{FileId, Span};

/// A key of a table, with where it was written.
#[derive(Clone, Debug)]
pub(crate) struct Key {
    pub name: String,
    pub span: Span,
}

/// A value with where it was written.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub span: Span,
    pub kind: Kind,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Str(String),
    /// Integers are kept wide so that both `u64::MAX` and `i64::MIN` fit.
    Int(i128),
    Float(f64),
    Bool(bool),
    Null,
    Array(Vec<Node>),
    /// Entries in the order written.
    Table(Vec<(Key, Node)>),
    /// Something the format has no use for (a TOML date).
    Other(&'static str),
}

impl Node {
    /// What kind of value this is, for messages ("expected a table, found a string").
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Null => "null",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
            Kind::Other(what) => what,
        }
    }

    /// The value as plain JSON (for defaults, which the renderer turns into literals).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    Value::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    Value::from(v)
                } else {
                    Value::Null
                }
            }
            Kind::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Null | Kind::Other(_) => Value::Null,
            Kind::Array(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Table(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A syntax error: where and what.
pub(crate) struct SyntaxError {
    pub span: Span,
    pub message: String,
}

/// Reads TOML text into a node tree.
pub(crate) fn from_toml(file: FileId, text: &str) -> Result<Node, SyntaxError> {
    use toml::de::{DeTable, DeValue};
    use toml::Spanned;

    fn value(file: FileId, v: &Spanned<DeValue<'_>>) -> Node {
        let span = Span::new(file, v.span());
        let kind = match v.get_ref() {
            DeValue::String(s) => Kind::Str(s.to_string()),
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
                .map(Kind::Int)
                .unwrap_or(Kind::Other("an integer out of range")),
            DeValue::Float(f) => match f.as_str() {
                "inf" | "+inf" => Kind::Float(f64::INFINITY),
                "-inf" => Kind::Float(f64::NEG_INFINITY),
                "nan" | "+nan" | "-nan" => Kind::Float(f64::NAN),
                s => s
                    .replace('_', "")
                    .parse()
                    .map(Kind::Float)
                    .unwrap_or(Kind::Other("a float out of range")),
            },
            DeValue::Boolean(b) => Kind::Bool(*b),
            DeValue::Datetime(_) => Kind::Other("a date-time"),
            DeValue::Array(items) => Kind::Array(items.iter().map(|i| value(file, i)).collect()),
            DeValue::Table(t) => table(file, t),
        };
        Node { span, kind }
    }

    fn table(file: FileId, t: &DeTable<'_>) -> Kind {
        Kind::Table(
            t.iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.get_ref().to_string(),
                            span: Span::new(file, k.span()),
                        },
                        value(file, v),
                    )
                })
                .collect(),
        )
    }

    match DeTable::parse(text) {
        Ok(doc) => Ok(Node {
            span: Span::new(file, doc.span()),
            kind: table(file, doc.get_ref()),
        }),
        Err(e) => Err(SyntaxError {
            span: Span::new(file, e.span().unwrap_or(0..0)),
            message: format!("invalid TOML: {}", e.message().trim_end()),
        }),
    }
}

/// Reads JSON text into a node tree (comments and trailing commas are refused: a
/// contract is plain JSON).
pub(crate) fn from_json(file: FileId, text: &str) -> Result<Node, SyntaxError> {
    use jsonc_parser::ast::{ObjectPropName, Value};
    use jsonc_parser::common::Ranged;

    fn value(file: FileId, v: &Value<'_>) -> Node {
        let r = v.range();
        let span = Span::new(file, r.start..r.end);
        let kind = match v {
            Value::StringLit(s) => Kind::Str(s.value.to_string()),
            Value::NumberLit(n) => {
                let text = n.value;
                if let Ok(i) = text.parse::<i128>() {
                    Kind::Int(i)
                } else {
                    text.parse::<f64>()
                        .map(Kind::Float)
                        .unwrap_or(Kind::Other("a number out of range"))
                }
            }
            Value::BooleanLit(b) => Kind::Bool(b.value),
            Value::NullKeyword(_) => Kind::Null,
            Value::Array(a) => Kind::Array(a.elements.iter().map(|e| value(file, e)).collect()),
            Value::Object(o) => Kind::Table(
                o.properties
                    .iter()
                    .map(|p| {
                        let (name, r) = match &p.name {
                            ObjectPropName::String(s) => (s.value.to_string(), s.range),
                            ObjectPropName::Word(w) => (w.value.to_string(), w.range),
                        };
                        (
                            Key {
                                name,
                                span: Span::new(file, r.start..r.end),
                            },
                            value(file, &p.value),
                        )
                    })
                    .collect(),
            ),
        };
        Node { span, kind }
    }

    let options = jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
    };
    match jsonc_parser::parse_to_ast(text, &Default::default(), &options) {
        Ok(parsed) => match parsed.value {
            Some(v) => Ok(value(file, &v)),
            None => Err(SyntaxError {
                span: Span::new(file, 0..0),
                message: "invalid JSON: the file is empty".into(),
            }),
        },
        Err(e) => {
            let r = e.range();
            Err(SyntaxError {
                span: Span::new(file, r.start..r.end),
                message: format!("invalid JSON: {}", e.kind()),
            })
        }
    }
}
