pub use wamp;
