//! The one intermediate model of a contract.
//!
//! Every front end (TOML and JSON contract files today, `#[wamp::service]` traits next)
//! produces these owned values; validation checks them; the renderer reads nothing else.
//! Names are kept as the contract wrote them (the renderer derives Rust identifiers), and
//! URIs are absolute (a leading "." has been resolved against the contract's prefix).

use crate::source::Span;

/// A set of contracts compiled together: the ones asked for and everything they import,
/// each once, in an order where a contract comes after the ones it imports.
#[derive(Clone, Debug, Default)]
pub struct Bundle {
    /// The contracts.
    pub contracts: Vec<Contract>,
}

/// One contract: a generated module.
#[derive(Clone, Debug)]
pub struct Contract {
    /// Lower snake case; the module's name.
    pub name: Named,
    /// Semantic version.
    pub version: String,
    /// The prefix relative URIs were resolved against.
    pub uri_prefix: Option<String>,
    /// Markdown documentation.
    pub doc: Option<String>,
    /// The file name it was read from (for the `@generated` header).
    pub source_name: String,
    /// Imported contracts by alias.
    pub imports: Vec<Import>,
    /// Named types, in the order declared.
    pub types: Vec<TypeDef>,
    /// Application errors.
    pub errors: Vec<ErrorDef>,
    /// Procedures.
    pub procedures: Vec<Procedure>,
    /// Topics.
    pub topics: Vec<Topic>,
}

/// A name as written, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// `alias = "path"` in `[imports]`.
#[derive(Clone, Debug)]
pub struct Import {
    /// The alias used in type references (`geo.Point`).
    pub alias: Named,
    /// The path as written.
    pub path: String,
    /// The imported contract's name (its module), filled in by resolution.
    pub contract: String,
}

/// Documentation and versioning shared by every declared item.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// Markdown documentation.
    pub doc: Option<String>,
    /// The contract version that introduced the item.
    pub since: Option<String>,
}

/// `[types.NAME]`.
#[derive(Clone, Debug)]
pub struct TypeDef {
    /// The type's name.
    pub name: Named,
    /// Docs and version.
    pub meta: Meta,
    /// What it is.
    pub kind: TypeKind,
}

/// The four kinds of named type.
#[derive(Clone, Debug)]
pub enum TypeKind {
    /// A dictionary with known keys.
    Struct(Vec<Field>),
    /// A string with known values; `open` keeps unknown ones.
    Enum {
        /// The values.
        values: Vec<EnumValue>,
        /// Whether unknown values are kept instead of refused.
        open: bool,
    },
    /// Another name for a type.
    Alias(TypeRef),
    /// A dictionary whose `tag` key says which struct it is.
    Union {
        /// The tag key.
        tag: Named,
        /// Tag value → struct type.
        variants: Vec<Variant>,
    },
}

/// One value of an enum.
#[derive(Clone, Debug)]
pub struct EnumValue {
    /// The string on the wire.
    pub value: Named,
    /// Documentation.
    pub doc: Option<String>,
}

/// One variant of a tagged union.
#[derive(Clone, Debug)]
pub struct Variant {
    /// The tag value on the wire.
    pub tag: Named,
    /// The struct it carries.
    pub ty: TypeRef,
}

/// A named, typed slot: a struct field, a keyword argument, a positional argument, a
/// topic capture.
#[derive(Clone, Debug)]
pub struct Field {
    /// The name (on the wire for fields and kwargs; documentation only for positionals).
    pub name: Named,
    /// The type.
    pub ty: TypeRef,
    /// Docs and version.
    pub meta: Meta,
    /// The value used when it is absent (JSON form, checked against the type).
    pub default: Option<Default>,
}

impl Field {
    /// Whether a sender may leave it out: its type is optional (`T?`) or it has a default.
    /// Such a keyword argument is a setter of the call builder, not a parameter.
    pub fn may_be_left_out(&self) -> bool {
        self.ty.expr.is_optional() || self.default.is_some()
    }
}

/// A default value and where it was written.
#[derive(Clone, Debug)]
pub struct Default {
    /// The value.
    pub value: serde_json::Value,
    /// Where.
    pub span: Span,
}

/// A type expression and where it was written.
#[derive(Clone, Debug)]
pub struct TypeRef {
    /// The expression.
    pub expr: TypeExpr,
    /// Where.
    pub span: Span,
}

/// A type expression: `list<map<string, geo.Point?>>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeExpr {
    /// A built-in scalar.
    Scalar(Scalar),
    /// `list<T>`.
    List(Box<TypeExpr>),
    /// `map<string, T>`.
    Map(Box<TypeExpr>),
    /// `T?`: may be absent (or null).
    Optional(Box<TypeExpr>),
    /// A named type: of this contract (`module` None) or of an import (`alias.Name`).
    Named {
        /// The import alias.
        module: Option<String>,
        /// The type's name.
        name: String,
    },
}

impl TypeExpr {
    /// The type under any `?`.
    pub fn strip_optional(&self) -> &TypeExpr {
        match self {
            TypeExpr::Optional(inner) => inner.strip_optional(),
            other => other,
        }
    }

    /// Whether the value may be absent.
    pub fn is_optional(&self) -> bool {
        matches!(self, TypeExpr::Optional(_))
    }
}

impl std::fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeExpr::Scalar(s) => f.write_str(s.name()),
            TypeExpr::List(t) => write!(f, "list<{t}>"),
            TypeExpr::Map(t) => write!(f, "map<string, {t}>"),
            TypeExpr::Optional(t) => write!(f, "{t}?"),
            TypeExpr::Named {
                module: Some(m),
                name,
            } => write!(f, "{m}.{name}"),
            TypeExpr::Named { module: None, name } => f.write_str(name),
        }
    }
}

macro_rules! scalars {
    ($($variant:ident = $name:literal,)*) => {
        /// The built-in types.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Scalar { $(
            #[doc = concat!("`", $name, "`")]
            $variant,
        )* }

        impl Scalar {
            /// The name in a type expression.
            pub fn name(self) -> &'static str {
                match self { $(Scalar::$variant => $name,)* }
            }

            /// The scalar a type expression names.
            pub fn from_name(name: &str) -> Option<Scalar> {
                match name { $($name => Some(Scalar::$variant),)* _ => None }
            }
        }
    };
}

scalars! {
    Bool = "bool",
    I8 = "i8", I16 = "i16", I32 = "i32", I64 = "i64",
    U8 = "u8", U16 = "u16", U32 = "u32", U64 = "u64",
    F32 = "f32", F64 = "f64",
    String = "string",
    Bytes = "bytes",
    Uri = "uri",
    Id = "id",
    Any = "any",
}

impl Scalar {
    /// Whether this is one of the integer types.
    pub fn is_integer(self) -> bool {
        use Scalar::*;
        matches!(self, I8 | I16 | I32 | I64 | U8 | U16 | U32 | U64)
    }
}

/// Positional and keyword arguments: the two halves of every WAMP payload.
#[derive(Clone, Debug, Default)]
pub struct PayloadDef {
    /// Positional arguments: the order is the wire contract.
    pub args: Vec<Field>,
    /// Keyword arguments.
    pub kwargs: Vec<Field>,
}

impl PayloadDef {
    /// Whether the payload carries nothing.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty() && self.kwargs.is_empty()
    }

    /// Every field, positional first.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.args.iter().chain(self.kwargs.iter())
    }
}

/// `[errors.NAME]`.
#[derive(Clone, Debug)]
pub struct ErrorDef {
    /// The error's name.
    pub name: Named,
    /// Docs and version.
    pub meta: Meta,
    /// The absolute error URI.
    pub uri: Named,
    /// What it carries.
    pub payload: PayloadDef,
}

/// A reference to an error: `Name` or `alias.Name`.
#[derive(Clone, Debug)]
pub struct ErrorRef {
    /// The import alias.
    pub module: Option<String>,
    /// The error's name.
    pub name: String,
    /// Where.
    pub span: Span,
}

/// How a shared registration picks a callee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invoke {
    /// `single`
    Single,
    /// `roundrobin`
    RoundRobin,
    /// `random`
    Random,
    /// `first`
    First,
    /// `last`
    Last,
}

/// How an abandoned call is canceled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancel {
    /// `skip`
    Skip,
    /// `kill`
    Kill,
    /// `killnowait`
    KillNoWait,
}

/// `[procedures.NAME]`.
#[derive(Clone, Debug)]
pub struct Procedure {
    /// The procedure's name.
    pub name: Named,
    /// Docs and version.
    pub meta: Meta,
    /// The absolute URI.
    pub uri: Named,
    /// What the caller sends.
    pub input: PayloadDef,
    /// What the callee answers (None: no result).
    pub result: Option<PayloadDef>,
    /// Declared application errors.
    pub errors: Vec<ErrorRef>,
    /// Progressive results, if any.
    pub progress: Option<PayloadDef>,
    /// Call timeout, also the registration's default.
    pub timeout_ms: Option<u64>,
    /// Shared registration policy.
    pub invoke: Option<Invoke>,
    /// Cancel mode when a caller drops the call.
    pub cancel: Option<Cancel>,
    /// Whether the callee asks for the caller's identity.
    pub disclose_caller: bool,
}

/// `[topics.NAME]`.
#[derive(Clone, Debug)]
pub struct Topic {
    /// The topic's name.
    pub name: Named,
    /// Docs and version.
    pub meta: Meta,
    /// The absolute URI, with `{capture}` components.
    pub uri: Named,
    /// The captures, in URI order, with their types.
    pub params: Vec<Field>,
    /// What each event carries.
    pub payload: PayloadDef,
    /// Publish retained, subscribe with get_retained.
    pub retain: bool,
}

/// One component of a topic URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UriPart {
    /// A literal component.
    Literal(String),
    /// A `{capture}`.
    Capture(String),
}

impl Topic {
    /// The URI split into components.
    pub fn parts(&self) -> Vec<UriPart> {
        split_pattern(&self.uri.name)
    }
}

/// Splits a URI with `{capture}` components.
pub fn split_pattern(uri: &str) -> Vec<UriPart> {
    uri.split('.')
        .map(
            |c| match c.strip_prefix('{').and_then(|c| c.strip_suffix('}')) {
                Some(name) => UriPart::Capture(name.to_string()),
                None => UriPart::Literal(c.to_string()),
            },
        )
        .collect()
}
