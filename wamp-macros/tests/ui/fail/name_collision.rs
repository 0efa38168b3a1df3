#[wamp_runtime::service(version = "1.0.0", prefix = "com.example")]
pub trait Store {
    // `StoreClient::new` is the generated constructor.
    async fn new(&self, key: String);
    // A keyword argument `timeout` would shadow the call builder's `timeout` option.
    async fn put(&self, key: String, #[kwarg] timeout: Option<u32>);
    // The topic's capture and payload become one struct.
    #[wamp_runtime::topic(uri = ".changed.{key}")]
    fn changed(&self, key: String, #[kwarg(name = "Key")] key_: String);
}

fn main() {}
