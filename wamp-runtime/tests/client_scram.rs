//! WAMP-SCRAM from the client's side against a router that follows the spec: both KDFs,
//! wrong passwords, a router that cannot prove it knows the password, and cost
//! parameters too low to accept.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use wamp::auth::scram::{self, Kdf};
use wamp::auth::{AuthError, Credentials};
use wamp::client::Error;
use wamp::protocol::*;
use wamp::transport::rawsocket::{self, RawSocketConfig};
use wamp::transport::TransportKind;
use wamp::{Serializer, Session};

const SALT: &str = "c2FsdHNhbHRzYWx0c2FsdA==";

/// How the fake router behaves.
#[derive(Clone, Copy)]
enum Router {
    Honest,
    /// Signs with a key derived from another password.
    Impostor,
}

/// A router that knows user "alice" with `password` under `kdf`.
async fn scram_router(password: &'static str, kdf: Kdf, behaviour: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let (stream, peer) = listener.accept().await.expect("accept");
        let mut t = rawsocket::accept(
            stream,
            &[Serializer::Json],
            &RawSocketConfig::default(),
            TransportKind::RawSocket,
            Some(peer),
        )
        .await
        .expect("handshake");
        let Some(Ok(Message::Hello(hello))) = t.next().await else {
            panic!("expected HELLO")
        };
        assert_eq!(
            hello.details.authmethods(),
            Some(vec!["wamp-scram".to_owned()])
        );
        let authid = hello.details.authid().expect("authid");
        let extra = hello.details.authextra().expect("authextra");
        let client_nonce = extra
            .get("nonce")
            .and_then(Value::as_str)
            .expect("client nonce")
            .to_owned();
        let nonce = format!("{client_nonce}{}", scram::nonce());
        let mut challenge = AuthExtra::new()
            .with_nonce(nonce.clone())
            .with_salt(SALT.into())
            .with_kdf(kdf.name().into())
            .with_iterations(u64::from(kdf.iterations()));
        if let Kdf::Argon2id13 { memory, .. } = kdf {
            challenge = challenge.with_memory(u64::from(memory));
        }
        t.send(
            Challenge {
                auth_method: "wamp-scram".into(),
                extra: challenge,
            }
            .into(),
        )
        .await
        .expect("challenge");
        // A client that refuses the challenge answers with ABORT instead.
        let Some(Ok(Message::Authenticate(auth))) = t.next().await else {
            return;
        };
        assert_eq!(auth.extra.nonce().as_deref(), Some(nonce.as_str()));
        let salted = scram::salted_password(password, SALT, kdf).expect("kdf");
        let (stored, server_key) = scram::stored_and_server_key(&salted);
        let message =
            scram::auth_message(&authid, &client_nonce, &nonce, SALT, kdf.iterations(), None);
        if !scram::verify_client_proof(&stored, &message, &auth.signature) {
            let abort = Abort {
                details: CloseDetails::new(),
                reason: Uri::from_static("wamp.error.authentication_failed"),
            };
            let _ = t.send(abort.into()).await;
            return;
        }
        let signing_key = match behaviour {
            Router::Honest => server_key,
            Router::Impostor => {
                scram::stored_and_server_key(
                    &scram::salted_password("guess", SALT, kdf).expect("kdf"),
                )
                .1
            }
        };
        let mut authextra = Dict::new();
        authextra.insert(
            "verifier".into(),
            scram::server_signature(&signing_key, &message).into(),
        );
        let details = WelcomeDetails::new()
            .with_authid(authid)
            .with_authmethod("wamp-scram".into())
            .with_authextra(authextra);
        t.send(
            Welcome {
                session: Id::MIN,
                details,
            }
            .into(),
        )
        .await
        .expect("welcome");
        // Keep the connection open while the client looks at the WELCOME.
        let _ = t.next().await;
    });
    url
}

async fn join(url: &str, password: &str) -> Result<Session, Error> {
    Session::builder(url)
        .serializer(Serializer::Json)
        .credentials(Credentials::scram("alice", password))
        .connect()
        .await
}

#[tokio::test]
async fn scram_with_both_kdfs() {
    for kdf in [
        Kdf::Pbkdf2 { iterations: 4096 },
        Kdf::Argon2id13 {
            iterations: 2,
            memory: 4096,
        },
    ] {
        let url = scram_router("wonderland", kdf, Router::Honest).await;
        let s = join(&url, "wonderland")
            .await
            .unwrap_or_else(|e| panic!("{kdf:?}: {e}"));
        assert_eq!(s.welcome_details().authid().as_deref(), Some("alice"));
    }
}

#[tokio::test]
async fn scram_refusals() {
    let kdf = Kdf::Pbkdf2 { iterations: 4096 };
    let url = scram_router("wonderland", kdf, Router::Honest).await;
    let err = join(&url, "looking-glass")
        .await
        .expect_err("wrong password");
    assert!(
        matches!(&err, Error::Aborted { reason, .. } if reason.as_str() == "wamp.error.authentication_failed"),
        "{err}"
    );

    let url = scram_router("wonderland", kdf, Router::Impostor).await;
    let err = join(&url, "wonderland").await.expect_err("impostor router");
    assert!(matches!(err, Error::Auth(AuthError::BadVerifier)), "{err}");

    let url = scram_router("wonderland", Kdf::Pbkdf2 { iterations: 10 }, Router::Honest).await;
    let err = join(&url, "wonderland").await.expect_err("cost too low");
    assert!(err.to_string().contains("too low"), "{err}");
}
