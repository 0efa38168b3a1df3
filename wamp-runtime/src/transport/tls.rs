//! TLS with rustls for both transports, client and server side.
//!
//! Clients verify the server against the bundled Mozilla roots (webpki-roots, so it works
//! offline) plus any CA certificates the user adds. Verification can only be turned off
//! through [`TlsClientConfig::dangerous_accept_invalid_certs`], whose name says what it
//! does. TLS 1.2 and 1.3 are both enabled; the peer picks (Crossbar.io only does 1.3).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::TransportError;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_err(context: &str, e: impl fmt::Display) -> TransportError {
    TransportError::Tls(format!("{context}: {e}"))
}

/// Reads every certificate in a PEM file.
pub fn certificates_from_pem_file(
    path: impl AsRef<Path>,
) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let path = path.as_ref();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_err(&format!("cannot read {}", path.display()), e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(&format!("bad certificate in {}", path.display()), e))?;
    if certs.is_empty() {
        return Err(TransportError::Tls(format!(
            "no certificate found in {}",
            path.display()
        )));
    }
    Ok(certs)
}

/// Reads every certificate in PEM text.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err("bad PEM certificate", e))?;
    if certs.is_empty() {
        return Err(TransportError::Tls(
            "no certificate found in PEM data".into(),
        ));
    }
    Ok(certs)
}

/// Reads the private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key_from_pem_file(
    path: impl AsRef<Path>,
) -> Result<PrivateKeyDer<'static>, TransportError> {
    let path = path.as_ref();
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        tls_err(
            &format!("cannot read a private key from {}", path.display()),
            e,
        )
    })
}

/// Client-side TLS settings.
#[derive(Clone, Default)]
pub struct TlsClientConfig {
    extra_roots: Vec<CertificateDer<'static>>,
    no_web_roots: bool,
    client_auth: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    accept_invalid_certs: bool,
}

impl fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("TlsClientConfig")
            .field("extra_roots", &self.extra_roots.len())
            .field("web_roots", &!self.no_web_roots)
            .field("client_cert", &self.client_auth.is_some())
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

impl TlsClientConfig {
    /// Verification against the bundled web roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the CA certificates in a PEM file.
    pub fn add_ca_pem_file(mut self, path: impl AsRef<Path>) -> Result<Self, TransportError> {
        self.extra_roots.extend(certificates_from_pem_file(path)?);
        Ok(self)
    }

    /// Also trusts the given CA certificates.
    pub fn add_ca_certificates(
        mut self,
        certs: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> Self {
        self.extra_roots.extend(certs);
        self
    }

    /// Trusts only the added CA certificates, not the bundled web roots.
    pub fn without_web_roots(mut self) -> Self {
        self.no_web_roots = true;
        self
    }

    /// Presents a client certificate (for routers that authenticate by TLS certificate).
    pub fn with_client_cert(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.client_auth = Some((chain, Arc::new(key)));
        self
    }

    /// Presents a client certificate read from PEM files.
    pub fn with_client_cert_pem_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TransportError> {
        let chain = certificates_from_pem_file(cert)?;
        let key = private_key_from_pem_file(key)?;
        Ok(self.with_client_cert(chain, key))
    }

    /// **Dangerous**: accepts any server certificate, for any name, so anyone on the path
    /// can read and change the traffic. For tests against self-signed routers only.
    pub fn dangerous_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Builds the rustls configuration.
    pub fn build(&self) -> Result<Arc<rustls::ClientConfig>, TransportError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err("protocol versions", e))?;
        let builder = if self.accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider())))
        } else {
            let mut roots = RootCertStore::empty();
            if !self.no_web_roots {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            for cert in &self.extra_roots {
                roots
                    .add(cert.clone())
                    .map_err(|e| tls_err("cannot use CA certificate", e))?;
            }
            builder.with_root_certificates(roots)
        };
        let config = match &self.client_auth {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| tls_err("client certificate", e))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    /// Opens TLS over a connected stream, verifying the server as `host`.
    pub async fn connect<S>(
        &self,
        host: &str,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<S>, TransportError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        )
        .map_err(|e| tls_err(&format!("invalid server name {host:?}"), e))?;
        tokio_rustls::TlsConnector::from(self.build()?)
            .connect(name, stream)
            .await
            .map_err(|e| tls_err("handshake failed", e))
    }
}

/// The verifier behind [`TlsClientConfig::dangerous_accept_invalid_certs`]: any
/// certificate is accepted, but handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Server-side TLS settings: a certificate chain and key, optionally requiring client
/// certificates signed by given CAs.
#[derive(Clone)]
pub struct TlsServerConfig {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    client_roots: Vec<CertificateDer<'static>>,
    client_auth_optional: bool,
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig")
            .field("chain", &self.chain.len())
            .field("client_roots", &self.client_roots.len())
            .finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    /// A server certificate chain and its key.
    pub fn new(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        TlsServerConfig {
            chain,
            key: Arc::new(key),
            client_roots: Vec::new(),
            client_auth_optional: false,
        }
    }

    /// Reads the certificate chain and key from PEM files.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TransportError> {
        Ok(Self::new(
            certificates_from_pem_file(cert)?,
            private_key_from_pem_file(key)?,
        ))
    }

    /// Asks clients for a certificate signed by one of these CAs. Required unless
    /// [`Self::client_cert_optional`] is set.
    pub fn with_client_ca(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.client_roots = roots;
        self
    }

    /// Lets clients without a certificate in (those with one must still present a valid one).
    pub fn client_cert_optional(mut self, optional: bool) -> Self {
        self.client_auth_optional = optional;
        self
    }

    /// Builds the rustls configuration.
    pub fn build(&self) -> Result<Arc<rustls::ServerConfig>, TransportError> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err("protocol versions", e))?;
        let builder = if self.client_roots.is_empty() {
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            for cert in &self.client_roots {
                roots
                    .add(cert.clone())
                    .map_err(|e| tls_err("cannot use client CA certificate", e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            );
            let verifier = if self.client_auth_optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| tls_err("client verifier", e))?,
            )
        };
        let config = builder
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| tls_err("server certificate", e))?;
        Ok(Arc::new(config))
    }

    /// A tokio-rustls acceptor for this configuration.
    pub fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, TransportError> {
        Ok(tokio_rustls::TlsAcceptor::from(self.build()?))
    }
}
