//! Code-first contracts: a service defined as a Rust trait (`#[wamp::contract]`), served
//! on the embedded router and called through the client generated from it; then the
//! calculator, defined both ways (`schemas/calculator.wamp.toml` and its Rust twin
//! `schemas/rust/calculator.rs`), with each side's client calling the other side's
//! service; and the contract exported from Rust as a `.wamp.toml` file.
//!
//! `cargo run -p wamp-examples --example code_first`

use wamp::router::{RealmConfig, Router};
use wamp::typed::Context;
use wamp::Session;
use wamp_examples::code_first::calculator as rust_calc;
use wamp_examples::{calculator as file_calc, geo};

/// Greetings, defined in Rust: this module is the whole contract. The macro replaces it
/// with the generated module `greeter` (client, callee trait, `serve`, types, errors,
/// typed publisher and subscription), exactly what `wamp codegen` would generate from the
/// same contract written as `greeter.wamp.toml`.
#[wamp::contract(version = "1.0.0", prefix = "com.example.greeter")]
pub mod greeter {
    /// How formal a greeting is.
    #[derive(wamp::Type)]
    pub enum Tone {
        Casual,
        Formal,
    }

    /// Nobody by that name may be greeted.
    #[derive(wamp::Error)]
    #[wamp(uri = ".error.unwelcome")]
    pub struct Unwelcome {
        #[kwarg]
        pub name: String,
    }

    pub trait Greeter {
        /// Greets someone.
        #[wamp::procedure(result = "greeting", errors(Unwelcome), timeout_ms = 2000)]
        async fn greet(
            &self,
            name: String,
            #[kwarg(default = "casual", doc = "How formal to be.")] tone: Option<Tone>,
        ) -> String;

        /// Someone was greeted.
        #[wamp::topic(uri = ".greeted.{tone}")]
        fn greeted(&self, tone: Tone, name: String);
    }
}

/// The callee implements the trait the macro generated (methods take a `Context`).
struct Greeter(Session);

impl greeter::Greeter for Greeter {
    async fn greet(
        &self,
        _: Context,
        name: String,
        tone: greeter::Tone,
    ) -> Result<String, greeter::GreetError> {
        if name == "Mallory" {
            return Err(greeter::Unwelcome { name }.into());
        }
        greeter::GreeterClient::new(self.0.clone())
            .publish_greeted(&greeter::GreetedEvent {
                tone,
                name: name.clone(),
            })
            .await?;
        Ok(match tone {
            greeter::Tone::Casual => format!("Hi, {name}!"),
            greeter::Tone::Formal => format!("Good day to you, {name}."),
        })
    }
}

/// The calculator's callee, written against the trait generated from the Rust twin.
struct Calc;

impl rust_calc::Calculator for Calc {
    async fn add(&self, _: Context, a: f64, b: f64) -> Result<f64, wamp::client::Error> {
        Ok(a + b)
    }
    async fn divide(
        &self,
        _: Context<rust_calc::DivideProgress>,
        a: f64,
        b: f64,
        _precision: u32,
    ) -> Result<f64, rust_calc::DivideError> {
        if b == 0.0 {
            return Err(rust_calc::DivideByZero { dividend: a }.into());
        }
        Ok(a / b)
    }
    async fn sqrt(&self, _: Context, x: f64) -> Result<f64, rust_calc::SqrtError> {
        Ok(x.sqrt())
    }
    async fn distance(
        &self,
        _: Context,
        a: geo::Point,
        b: geo::Point,
        _unit: geo::Unit,
    ) -> Result<f64, wamp::client::Error> {
        Ok((a.x - b.x).hypot(a.y - b.y))
    }
    async fn round(
        &self,
        _: Context,
        value: f64,
        _digits: u8,
        mode: rust_calc::Rounding,
    ) -> Result<rust_calc::RoundResult, wamp::client::Error> {
        Ok(rust_calc::RoundResult {
            value: value.round(),
            mode,
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .start()
        .await?;
    let callee = Session::builder("memory")
        .connect_with(router.local_transport())
        .await?;
    let caller = Session::builder("memory")
        .connect_with(router.local_transport())
        .await?;

    println!("1. A service defined as a Rust trait, called through its generated client");
    let _greeter = greeter::serve(&callee, Greeter(callee.clone())).await?;
    let client = greeter::GreeterClient::new(caller.clone());
    let mut greetings = client.subscribe_greeted().await?;
    println!("   greet(\"Ada\") = {:?}", client.greet("Ada").await?);
    let formal = client.greet("Grace").tone(greeter::Tone::Formal).await?;
    println!("   greet(\"Grace\", tone = formal) = {formal:?}");
    match client.greet("Mallory").await {
        Err(greeter::GreetError::Unwelcome(e)) => {
            println!(
                "   greet(\"Mallory\") failed: {} (name {:?})",
                greeter::uri::UNWELCOME,
                e.name
            )
        }
        other => println!("   greet(\"Mallory\") = {other:?}"),
    }
    for _ in 0..2 {
        if let Some(Ok(event)) = futures_util::StreamExt::next(&mut greetings).await {
            println!("   event: {} was greeted ({})", event.name, event.tone);
        }
    }

    println!("2. The calculator defined in Rust, called by the client generated from its file");
    let _calc = rust_calc::serve(&callee, Calc).await?;
    let file_client = file_calc::CalculatorClient::new(caller.clone());
    println!("   add(2, 3) = {}", file_client.add(2.0, 3.0).await?);
    match file_client.divide(1.0, 0.0).await {
        Err(file_calc::DivideError::DivideByZero(e)) => {
            println!(
                "   divide(1, 0) failed: divide_by_zero (dividend {})",
                e.dividend
            )
        }
        other => println!("   divide(1, 0) = {other:?}"),
    }
    let rust_client = rust_calc::CalculatorClient::new(caller.clone());
    let r = rust_client
        .round(2.5)
        .mode(rust_calc::Rounding::Floor)
        .await?;
    println!(
        "   and by the Rust one: round(2.5, floor) = {} ({})",
        r.value, r.mode
    );

    println!("3. The contract exported from Rust (greeter_contract()), for wamp codegen:");
    for (name, text) in greeter_contract() {
        println!("   --- {name}");
        for line in text.lines() {
            println!("   {line}");
        }
    }
    Ok(())
}
