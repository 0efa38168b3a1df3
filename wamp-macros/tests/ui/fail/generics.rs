#[wamp_runtime::contract(version = "1.0.0", prefix = "com.example")]
pub mod boxes {
    #[derive(wamp_runtime::Type)]
    pub struct Wrapper<T> {
        pub inner: T,
    }

    pub trait Boxes {
        async fn get<T>(&self, key: String) -> T;
    }
}

fn main() {}
