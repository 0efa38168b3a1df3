//! `calculator.wamp.toml` written in Rust: the same contract as a `#[wamp::contract]`
//! module. Both generate the same code (wamp-codegen's `rust_twins` test compares them
//! byte for byte), and the examples crate compiles this one as
//! `wamp_examples::code_first::calculator`, beside `wamp_examples::calculator` generated
//! from the file.

// The generated code refers to the imported contract as `super::geo`: the module
// generated from `geo.wamp.toml` (by the examples crate's build.rs).
pub use crate::geo;

/// Arithmetic as a service.
#[wamp::contract(
    version = "2.1.0",
    prefix = "com.example.calc",
    imports(geo = "../schemas/geo.wamp.toml")
)]
pub mod calculator {
    /// How `round` resolves a value halfway between two results. Closed.
    #[derive(wamp::Type)]
    pub enum Rounding {
        /// To the even neighbour (banker's rounding).
        HalfEven,
        /// Away from zero.
        HalfUp,
        /// Toward zero (truncation).
        Down,
        /// Toward negative infinity.
        Floor,
        /// Toward positive infinity.
        Ceil,
    }

    /// The divisor was zero.
    #[derive(wamp::Error)]
    #[wamp(uri = ".error.divide_by_zero")]
    pub struct DivideByZero {
        #[kwarg]
        pub dividend: f64,
    }

    /// The input must not be negative.
    #[derive(wamp::Error)]
    #[wamp(uri = ".error.negative_input")]
    pub struct NegativeInput {
        pub value: f64,
    }

    #[derive(wamp::Payload)]
    pub struct DivideProgress {
        #[kwarg]
        pub done: u64,
        #[kwarg]
        pub total: u64,
    }

    #[derive(wamp::Payload)]
    pub struct RoundResult {
        #[kwarg]
        pub value: f64,
        /// The mode that was applied.
        #[kwarg]
        pub mode: Rounding,
    }

    pub trait Calculator {
        /// Adds two numbers.
        #[wamp::procedure(result = "sum")]
        async fn add(&self, a: f64, b: f64) -> f64;

        /// Divides a by b.
        #[wamp::procedure(
            result = "quotient",
            errors(DivideByZero),
            timeout_ms = 5000,
            invoke = "roundrobin",
            cancel = "kill"
        )]
        async fn divide(
            &self,
            ctx: Context<DivideProgress>,
            a: f64,
            b: f64,
            #[kwarg(default = 6, since = "2.1.0")] precision: Option<u32>,
        ) -> Result<f64, DivideError>;

        /// The non-negative square root of `x`.
        #[wamp::procedure(result = "root", errors(NegativeInput))]
        async fn sqrt(&self, x: f64) -> f64;

        /// The straight-line distance between two points.
        #[wamp::procedure(since = "2.0.0", result = "distance")]
        async fn distance(
            &self,
            a: geo::Point,
            b: geo::Point,
            #[kwarg(default = "m", doc = "The unit of the result.")] unit: Option<geo::Unit>,
        ) -> f64;

        /// Rounds `value` to `digits` decimal digits.
        #[wamp::procedure(since = "2.1.0")]
        async fn round(
            &self,
            value: f64,
            #[kwarg(default = 0)] digits: Option<u8>,
            #[kwarg(default = "half_even")] mode: Option<Rounding>,
        ) -> RoundResult;
    }
}
