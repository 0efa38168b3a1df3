//! What several integration tests share: a test PKI for TLS, and the opening of a scripted
//! fake router (one RawSocket connection, HELLO read, WELCOME sent).

#![allow(dead_code)] // each test crate uses what it needs

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A throw-away CA, a server certificate for localhost/127.0.0.1 and a client certificate.
pub struct Pki {
    pub ca: CertificateDer<'static>,
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key: PrivateKeyDer<'static>,
    pub client_chain: Vec<CertificateDer<'static>>,
    pub client_key: PrivateKeyDer<'static>,
}

pub fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &ca)
            .expect("sign");
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone()], der)
    };
    let (server_chain, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_chain, client_key) = leaf(vec!["client.example".into()]);
    Pki {
        ca: ca.der().clone(),
        server_chain,
        server_key,
        client_chain,
        client_key,
    }
}

/// A scripted fake router's first steps: accepts the next RawSocket connection on
/// `listener` in `serializer` and reads its HELLO (a test then answers as it means to).
pub async fn accept_hello(
    listener: &tokio::net::TcpListener,
    serializer: wamp::Serializer,
) -> wamp::transport::Transport {
    use futures_util::StreamExt;
    use wamp::protocol::Message;
    use wamp::transport::rawsocket::{self, RawSocketConfig};
    use wamp::transport::TransportKind;

    let (stream, peer) = listener.accept().await.expect("accept");
    let mut t = rawsocket::accept(
        stream,
        &[serializer],
        &RawSocketConfig::default(),
        TransportKind::RawSocket,
        Some(peer),
    )
    .await
    .expect("handshake");
    let Some(Ok(Message::Hello(_))) = t.next().await else {
        panic!("expected HELLO")
    };
    t
}

/// [`accept_hello`], then WELCOME with the session ID `session`.
pub async fn accept_session(
    listener: &tokio::net::TcpListener,
    serializer: wamp::Serializer,
    session: u64,
) -> wamp::transport::Transport {
    let mut t = accept_hello(listener, serializer).await;
    welcome(&mut t, session).await;
    t
}

/// Sends WELCOME with the session ID `session`.
pub async fn welcome(t: &mut wamp::transport::Transport, session: u64) {
    use futures_util::SinkExt;
    use wamp::protocol::{Id, Welcome, WelcomeDetails};

    let welcome = Welcome {
        session: Id::new(session).expect("id"),
        details: WelcomeDetails::new(),
    };
    t.send(welcome.into()).await.expect("welcome");
}
