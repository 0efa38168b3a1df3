//! Under `#![no_implicit_prelude]`, with the runtime named `wamp_runtime`: the generated
//! code names everything by absolute paths, and with `no_implicit_prelude` its modules
//! import the prelude that the serde and schemars derives expect.
#![no_implicit_prelude]

/// Measurements and the jobs that take them.
#[::wamp_runtime::contract(version = "1.2.0", prefix = "com.example.lab", no_implicit_prelude)]
pub mod lab {
    /// What a sample measures. Open: unknown values are kept.
    #[derive(::wamp_runtime::Type)]
    #[wamp(open)]
    pub enum Metric {
        /// Degrees Celsius.
        Temperature,
        Pressure,
    }

    /// A sample.
    #[derive(::wamp_runtime::Type)]
    pub struct Sample {
        pub metric: Metric,
        /// The value read.
        pub value: f64,
        #[wamp(since = "1.1.0")]
        pub tags: Option<BTreeMap<String, String>>,
        pub raw: Option<Binary>,
    }

    /// A shape, tagged by `kind`.
    #[derive(::wamp_runtime::Type)]
    #[wamp(tag = "kind")]
    pub enum Probe {
        Single(Sample),
    }

    /// An alias.
    pub type Celsius = f64;

    /// The job failed.
    #[derive(::wamp_runtime::Error)]
    #[wamp(uri = ".error.failed")]
    pub struct Failed {
        pub code: i32,
        #[kwarg]
        pub reason: Option<String>,
    }

    #[derive(::wamp_runtime::Payload)]
    pub struct MeasureProgress {
        #[kwarg]
        pub done: u32,
    }

    #[derive(::wamp_runtime::Payload)]
    pub struct MeasureResult {
        pub samples: Vec<Sample>,
        #[kwarg]
        pub mean: Celsius,
    }

    pub trait Lab {
        /// Takes samples.
        #[wamp::procedure(errors(Failed), timeout_ms = 1000, cancel = "killnowait", invoke = "random", disclose_caller)]
        async fn measure(
            &self,
            ctx: Context<MeasureProgress>,
            count: u32,
            #[kwarg(default = "temperature", doc = "What to measure.")] metric: Option<Metric>,
            #[kwarg] label: Option<String>,
        ) -> MeasureResult;

        #[wamp::procedure(uri = "com.example.lab.ping")]
        async fn ping(&self);

        /// A sample was taken.
        #[wamp::topic(uri = ".sample.{device}.{metric}", retain)]
        fn sample(&self, device: String, metric: Metric, value: f64, #[kwarg] at_ms: Option<u64>);
    }
}

struct Lab;

impl lab::Lab for Lab {
    async fn measure(
        &self,
        ctx: ::wamp_runtime::typed::Context<lab::MeasureProgress>,
        count: u32,
        metric: lab::Metric,
        _label: ::core::option::Option<::std::string::String>,
    ) -> ::core::result::Result<lab::MeasureResult, lab::MeasureError> {
        ctx.progress(&lab::MeasureProgress { done: count })?;
        let sample = lab::Sample {
            metric,
            value: 1.0,
            tags: ::core::option::Option::None,
            raw: ::core::option::Option::None,
        };
        ::core::result::Result::Ok(lab::MeasureResult {
            samples: ::std::vec![sample],
            mean: 1.0,
        })
    }

    async fn ping(
        &self,
        _: ::wamp_runtime::typed::Context,
    ) -> ::core::result::Result<(), ::wamp_runtime::client::Error> {
        ::core::result::Result::Ok(())
    }
}

#[allow(dead_code)]
async fn use_it(session: ::wamp_runtime::Session) {
    let _service = lab::serve(&session, Lab).await;
    let client = lab::LabClient::new(session);
    let _ = client.measure(3).metric(lab::Metric::Pressure).await;
    let _ = client.subscribe_sample().await;
    let _files: &[(&str, &str)] = lab_contract();
}

fn main() {}
