//! Throw-away certificates for the TLS listeners: a CA the clients trust and a server
//! certificate for 127.0.0.1, written where the router child reads them.

use std::path::Path;

use rustls_pki_types::CertificateDer;

/// Writes `server.pem` and `server.key` into `dir`; returns the CA certificate to trust.
pub fn write_server_files(
    dir: &Path,
) -> Result<CertificateDer<'static>, Box<dyn std::error::Error>> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?
        .signed_by(&key, &ca)?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("server.pem"), cert.pem())?;
    std::fs::write(dir.join("server.key"), key.serialize_pem())?;
    Ok(ca.der().clone())
}
