//! Declarative macros for generated code (reached as `wamp::__private::typed_call!` and
//! `wamp::__private::call_error!`), not part of the public API.
//!
//! Why macros: every procedure's call builder and error enum need the same few methods and
//! trait impls, which differ only in the names they are written for. Written out by the
//! code generator they were more than half of a contract's generated code, and the time
//! `wamp-codegen` spends is proportional to what it writes (it parses its output back and
//! formats it). A macro keeps the generated file to what is particular to each procedure
//! (its name, arguments, setters and declared errors), the way prost's output carries
//! `#[derive(Message)]` instead of encoding code. The items the macros add are documented
//! here, once, and appear in the user's rustdoc like hand-written ones.
//!
//! `$crate` names the runtime wherever it is and under whatever name it is a dependency.

/// The options every typed call builder has (`timeout`, `disclose_me`, `cancel_mode`,
/// `into_request`) and its `IntoFuture`: awaiting it decodes the result with `$decode` and
/// maps a failure with `$map`.
///
/// `typed_call!(DivideCall => f64, DivideError; wire::DivideResult::decode, DivideError::from_call_error; kwargs)`:
/// the builder is a struct with a `request: CallRequest` field and, when `kwargs` is given,
/// a `kwargs` field that is serialized as the call's keyword arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __typed_call {
    (@options $call:ident => $output:ty, $error:ty; $decode:path, $map:expr) => {
        impl $call {
            /// A deadline for the whole call: sent to the router and enforced locally.
            pub fn timeout(mut self, timeout: ::core::time::Duration) -> Self {
                self.request = self.request.timeout(timeout);
                self
            }

            /// Asks the router to disclose this caller's identity to the callee.
            pub fn disclose_me(mut self, disclose: bool) -> Self {
                self.request = self.request.disclose_me(disclose);
                self
            }

            /// How the call is canceled when the future is dropped or times out.
            pub fn cancel_mode(mut self, mode: $crate::protocol::CancelMode) -> Self {
                self.request = self.request.cancel_mode(mode);
                self
            }
        }

        impl ::core::future::IntoFuture for $call {
            type Output = ::core::result::Result<$output, $error>;
            type IntoFuture = $crate::typed::Call<$output, $error>;

            fn into_future(self) -> Self::IntoFuture {
                $crate::typed::Call::new(
                    ::core::future::IntoFuture::into_future(self.into_request()),
                    $decode,
                    $map,
                )
            }
        }
    };
    ($call:ident => $output:ty, $error:ty; $decode:path, $map:expr; kwargs) => {
        impl $call {
            /// The untyped request, with every argument set (for options the typed
            /// builder does not have).
            pub fn into_request(self) -> $crate::client::CallRequest {
                self.request.kwargs(&self.kwargs)
            }
        }

        $crate::__typed_call!(@options $call => $output, $error; $decode, $map);
    };
    ($call:ident => $output:ty, $error:ty; $decode:path, $map:expr) => {
        impl $call {
            /// The untyped request, with every argument set (for options the typed
            /// builder does not have).
            pub fn into_request(self) -> $crate::client::CallRequest {
                self.request
            }
        }

        $crate::__typed_call!(@options $call => $output, $error; $decode, $map);
    };
}

/// What a procedure's error enum does: read a declared error out of a call's failure,
/// turn itself into the ERROR a callee answers with, `Display`, `Error`, and `From` each
/// declared error and the runtime's errors.
///
/// `call_error!(DivideError { DivideByZero(DivideByZero) })`: the enum has one variant per
/// declared error (holding a type that implements `ApplicationError`) and
/// `Other(client::Error)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __call_error {
    ($error:ident { $($variant:ident($ty:ty)),* $(,)? }) => {
        impl $error {
            /// Reads a declared error out of a call's failure (an ERROR with a declared
            /// URI whose payload matches); anything else stays `Other`.
            pub fn from_call_error(failure: $crate::client::Error) -> Self {
                if let $crate::client::Error::Wamp(error) = &failure {
                    $(
                        if error.uri.as_str() == <$ty as $crate::typed::ApplicationError>::URI {
                            if let ::core::result::Result::Ok(e) =
                                <$ty as $crate::typed::ApplicationError>::from_payload(&error.payload)
                            {
                                return $error::$variant(e);
                            }
                        }
                    )*
                }
                $error::Other(failure)
            }

            /// The ERROR a callee answers with.
            pub fn into_wamp_error(self, serializer: $crate::Serializer) -> $crate::client::WampError {
                match self {
                    $($error::$variant(e) => $crate::typed::ApplicationError::to_wamp_error(&e, serializer),)*
                    $error::Other(e) => $crate::__private::error_to_wamp(e),
                }
            }
        }

        impl $crate::__private::IntoWampError for $error {
            fn into_wamp_error(self, serializer: $crate::Serializer) -> $crate::client::WampError {
                $error::into_wamp_error(self, serializer)
            }
        }

        impl ::core::fmt::Display for $error {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    $($error::$variant(e) => ::core::fmt::Display::fmt(e, f),)*
                    $error::Other(e) => ::core::fmt::Display::fmt(e, f),
                }
            }
        }

        impl ::std::error::Error for $error {
            fn source(&self) -> ::core::option::Option<&(dyn ::std::error::Error + 'static)> {
                match self {
                    $($error::$variant(e) => ::core::option::Option::Some(e),)*
                    $error::Other(e) => ::core::option::Option::Some(e),
                }
            }
        }

        $(
            impl ::core::convert::From<$ty> for $error {
                fn from(error: $ty) -> Self {
                    $error::$variant(error)
                }
            }
        )*

        impl ::core::convert::From<$crate::client::Error> for $error {
            fn from(error: $crate::client::Error) -> Self {
                $error::Other(error)
            }
        }

        impl ::core::convert::From<$crate::client::WampError> for $error {
            fn from(error: $crate::client::WampError) -> Self {
                $error::Other($crate::client::Error::Wamp(error))
            }
        }

        impl ::core::convert::From<$crate::protocol::PayloadError> for $error {
            fn from(error: $crate::protocol::PayloadError) -> Self {
                $error::Other($crate::client::Error::Payload(error))
            }
        }
    };
}
