//! A contract of one trait (`#[wamp::service]` alone), with the runtime under another
//! name given by `crate = "..."`.

extern crate wamp_runtime as my_wamp;

/// Echoes text.
#[my_wamp::service(version = "1.0.0", prefix = "com.example.echo", crate = "::my_wamp")]
pub trait Echo {
    /// Sends the text back.
    #[my_wamp::procedure(result = "text")]
    async fn echo(&self, text: String, #[kwarg(default = 1)] times: Option<u8>) -> String;

    /// Something was said.
    #[my_wamp::topic(uri = ".said")]
    fn said(&self, text: String);
}

struct Impl;

impl echo::Echo for Impl {
    async fn echo(
        &self,
        _: my_wamp::typed::Context,
        text: String,
        times: u8,
    ) -> Result<String, my_wamp::client::Error> {
        Ok(text.repeat(usize::from(times)))
    }
}

#[allow(dead_code)]
async fn use_it(session: my_wamp::Session) {
    let _service = echo::serve(&session, Impl).await;
    let client = echo::EchoClient::new(session);
    let _: Result<String, _> = client.echo("hi").times(2).await;
    let _ = client.publish_said(&echo::SaidEvent { text: "hi".into() });
    assert_eq!(echo_contract()[0].0, "echo.wamp.toml");
}

fn main() {}
