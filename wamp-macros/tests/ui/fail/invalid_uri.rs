// The URI is refused, and the module is still generated (a best guess), so the code
// using it reports nothing more.
#[wamp_runtime::service(version = "1.0.0", prefix = "com.example")]
pub trait Math {
    #[wamp_runtime::procedure(uri = ".Add")]
    async fn add(&self, a: f64, b: f64) -> f64;
    #[wamp_runtime::topic(uri = "com..tick")]
    fn tick(&self, n: u64);
}

#[allow(dead_code)]
async fn use_it(session: wamp_runtime::Session) {
    let client = math::MathClient::new(session);
    let _: Result<f64, _> = client.add(1.0, 2.0).await;
}

fn main() {}
