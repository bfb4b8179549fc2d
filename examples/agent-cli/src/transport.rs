//! How the agent CLI reaches its relay (issue #16): `wss://` through rustls, trusting either
//! Mozilla's roots or only the CA file given with `--ca`; plain `ws://` only to loopback,
//! since the agent's relay token would otherwise cross the network in clear.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_tungstenite::Connector;

/// The host of a `ws://` or `wss://` URL (brackets kept off IPv6 literals).
fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The connector for `url`: rustls for `wss://` (roots from `ca`, or Mozilla's), plain for
/// `ws://` to loopback; anything else is refused.
pub fn connector(url: &str, ca: Option<&Path>) -> Result<Connector, String> {
    if url.starts_with("ws://") {
        let h = host(url).ok_or("the relay URL has no host")?;
        if !is_loopback(h) {
            return Err(format!(
                "refusing plain ws:// to {h}: the relay token would cross the network in clear; use https:// (wss://)"
            ));
        }
        if ca.is_some() {
            return Err("--ca is for https:// (wss://) relays".into());
        }
        return Ok(Connector::Plain);
    }
    if !url.starts_with("wss://") {
        return Err("the relay URL must start with http://, https://, ws:// or wss://".into());
    }
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("CA file {}: no certificate", path.display()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ws_only_to_loopback() {
        for ok in ["ws://127.0.0.1:8080/ws", "ws://localhost/ws", "ws://[::1]:9/ws"] {
            assert!(matches!(connector(ok, None), Ok(Connector::Plain)), "{ok}");
        }
        for bad in [
            "ws://relay.example/ws",
            "ws://10.0.0.1:8080/ws",
            "ws://127.0.0.1.evil.example/ws",
            "ws://user@relay.example/ws",
            "ftp://relay.example",
        ] {
            assert!(connector(bad, None).is_err(), "{bad}");
        }
        assert!(matches!(
            connector("wss://relay.example/ws", None),
            Ok(Connector::Rustls(_))
        ));
        assert!(connector("wss://relay.example/ws", Some(Path::new("/nonexistent.pem"))).is_err());
    }
}
