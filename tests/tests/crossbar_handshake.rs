//! Raw session handshakes with a real Crossbar.io router, on every transport and
//! serializer it offers: HELLO, WELCOME, GOODBYE and back, through our transports only.

use futures_util::{SinkExt, StreamExt};
use wamp::protocol::{
    options::role_entry, CloseDetails, Goodbye, Hello, HelloDetails, Message, Uri,
};
use wamp::transport::{
    connect, tls::TlsClientConfig, ClientTransportConfig, TransportError, TransportKind,
};
use wamp::{Dict, Serializer};
use wamp_tests::crossbar;

fn hello(realm: &str) -> Message {
    let mut roles = Dict::new();
    for role in ["caller", "callee", "publisher", "subscriber"] {
        roles.insert(role.into(), role_entry(&[]));
    }
    Hello {
        realm: Uri::new(realm).expect("realm"),
        details: HelloDetails::new()
            .with_roles(roles)
            .with_agent("wamp-rs tests".into()),
    }
    .into()
}

async fn handshake(
    url: &str,
    serializer: Serializer,
    tls: TlsClientConfig,
) -> Result<TransportKind, String> {
    let xb = crossbar();
    let config = ClientTransportConfig {
        serializers: vec![serializer],
        tls,
        ..Default::default()
    };
    let mut t = connect(url, &config).await.map_err(|e| e.to_string())?;
    assert_eq!(t.info().serializer, Some(serializer));
    t.send(hello(&xb.realm)).await.map_err(|e| e.to_string())?;
    let welcome = t.next().await.expect("reply").map_err(|e| e.to_string())?;
    let Message::Welcome(w) = welcome else {
        return Err(format!("expected WELCOME, got {welcome:?}"));
    };
    assert!(w.details.roles().is_some(), "router roles announced");
    assert_eq!(w.details.authrole().as_deref(), Some("anonymous"));
    t.send(
        Goodbye {
            details: CloseDetails::new(),
            reason: Uri::new("wamp.close.close_realm").expect("uri"),
        }
        .into(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let bye = t.next().await.expect("reply").map_err(|e| e.to_string())?;
    let Message::Goodbye(g) = bye else {
        return Err(format!("expected GOODBYE, got {bye:?}"));
    };
    // Crossbar answers wamp.close.normal (the spec says goodbye_and_out): accept both.
    assert!(
        ["wamp.close.normal", "wamp.close.goodbye_and_out"].contains(&g.reason.as_str()),
        "{}",
        g.reason
    );
    t.close().await.map_err(|e| e.to_string())?;
    Ok(t.info().kind)
}

#[tokio::test]
async fn hello_welcome_goodbye_on_every_transport_and_serializer() {
    let xb = crossbar();
    let trusted = || {
        TlsClientConfig::new()
            .add_ca_pem_file(&xb.ca_cert)
            .expect("CA file")
    };
    let endpoints = [
        (&xb.ws, TransportKind::WebSocket),
        (&xb.rawsocket, TransportKind::RawSocket),
        (&xb.wss, TransportKind::SecureWebSocket),
        (&xb.rawsocket_tls, TransportKind::SecureRawSocket),
    ];
    for (url, kind) in endpoints {
        for ser in Serializer::ALL {
            let got = handshake(url, ser, trusted())
                .await
                .unwrap_or_else(|e| panic!("{url} {ser}: {e}"));
            assert_eq!(got, kind);
        }
    }
}

#[tokio::test]
async fn tls_is_verified_unless_dangerously_disabled() {
    let xb = crossbar();
    for url in [&xb.wss, &xb.rawsocket_tls] {
        // Only the bundled web roots: the test CA is unknown.
        let err = handshake(url, Serializer::Json, TlsClientConfig::new())
            .await
            .expect_err("must fail");
        assert!(
            err.contains("TLS") && err.to_lowercase().contains("certificate"),
            "{url}: {err}"
        );
        let ok = handshake(
            url,
            Serializer::Json,
            TlsClientConfig::new().dangerous_accept_invalid_certs(true),
        )
        .await;
        assert!(ok.is_ok(), "{url}: {ok:?}");
    }
}

#[tokio::test]
async fn websocket_without_common_subprotocol_is_a_clear_error() {
    let xb = crossbar();
    // Crossbar's 18080 offers all three; ask its HTTP endpoint at a wrong path instead.
    let url = xb.ws.replace("/ws", "/nowhere");
    let err = connect(&url, &ClientTransportConfig::default())
        .await
        .expect_err("404");
    assert!(matches!(err, TransportError::WebSocket(_)), "{err}");
    assert!(err.to_string().contains("404"), "{err}");
}
