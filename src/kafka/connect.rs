//! How the harness's clients connect to a cluster, applied by both clients: every rdkafka
//! client is configured by [`client_config`], every wire connection is opened by
//! `wire::Connection::connect`, and both take the [`Profile`] in force as an argument, so no
//! client connects without it. Nothing process-wide: the CLI builds the environment's
//! profile, a run its experiment's (`client-security`), `observe` its flags', and each passes
//! it down.

use crate::security::{ClientSecurity, SecurityError, SecurityInput};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod};
use rdkafka::config::ClientConfig;
use std::sync::{Arc, OnceLock};

/// The security and, built on first use, the wire client's TLS connector (the CA and client
/// files are read once, shared by the clones). Cheap to clone; plaintext by default.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub security: ClientSecurity,
    tls: Arc<OnceLock<Result<SslConnector, TlsSetupError>>>,
}

/// The TLS connector could not be built: what failed (a named file, the system's CA
/// certificates) and OpenSSL's error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}: {source}")]
pub struct TlsSetupError {
    what: String,
    #[source]
    source: openssl::error::ErrorStack,
}

/// `map_err(failed("CA file /etc/…"))`.
fn failed(what: impl Into<String>) -> impl FnOnce(openssl::error::ErrorStack) -> TlsSetupError {
    let what = what.into();
    move |source| TlsSetupError { what, source }
}

impl Profile {
    pub fn new(security: ClientSecurity) -> Self {
        Self {
            security,
            tls: Arc::default(),
        }
    }

    /// The TLS connector, when the protocol uses TLS; an error names the file that failed.
    pub fn tls_connector(&self) -> Option<Result<&SslConnector, TlsSetupError>> {
        let tls = self.security.tls()?;
        let built = self.tls.get_or_init(|| {
            let named =
                |what: &str, path: &std::path::Path| failed(format!("{what} {}", path.display()));
            let mut b =
                SslConnector::builder(SslMethod::tls_client()).map_err(failed("TLS set-up"))?;
            match &tls.ca_file {
                Some(ca) => b.set_ca_file(ca).map_err(named("CA file", ca))?,
                None => b
                    .set_default_verify_paths()
                    .map_err(failed("the system's CA certificates"))?,
            }
            if let Some((cert, key)) = &tls.client_cert {
                b.set_certificate_chain_file(cert)
                    .map_err(named("client certificate", cert))?;
                b.set_private_key_file(key, SslFiletype::PEM)
                    .map_err(named("client key", key))?;
            }
            Ok(b.build())
        });
        Some(built.as_ref().map_err(Clone::clone))
    }
}

/// The security the `CHAOS_KAFKA_*` variables describe (plaintext when none is set).
pub fn from_environment() -> Result<ClientSecurity, SecurityError> {
    from_environment_and(SecurityInput::default())
}

/// `flags` over the `CHAOS_KAFKA_*` variables, field by field.
pub fn from_environment_and(flags: SecurityInput) -> Result<ClientSecurity, SecurityError> {
    let lookup = |k: &str| std::env::var(k).ok();
    flags.or(SecurityInput::from_env(&lookup)?).resolve(&lookup)
}

/// The start of every rdkafka client's configuration: the bootstrap list, IPv4 (the brokers'
/// host listeners are published on 127.0.0.1), and the connection security in force.
pub fn client_config(bootstrap: &str, profile: &Profile) -> ClientConfig {
    client_config_with(bootstrap, &profile.security)
}

/// `broker.address.family=v4`: what every client of the harness but the tracked producer sets.
pub const IPV4_ONLY: (&str, &str) = ("broker.address.family", "v4");

pub fn client_config_with(bootstrap: &str, security: &ClientSecurity) -> ClientConfig {
    let mut config = ClientConfig::new();
    // The harness's own clients reach the brokers over IPv4 only (published on 127.0.0.1):
    // no refused ::1 attempt beside each connection. The tracked producer, which stands for
    // an application, takes librdkafka's default back (`TrackedProducer::start`).
    config
        .set("bootstrap.servers", bootstrap)
        .set(IPV4_ONLY.0, IPV4_ONLY.1);
    security.apply_rdkafka(&mut |k, v| {
        config.set(k, v);
    });
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::{SaslMechanism, SecurityProtocol};

    #[test]
    fn every_client_config_carries_the_security_and_redacts_the_password() {
        let sec = SecurityInput {
            protocol: Some(SecurityProtocol::SaslPlaintext),
            mechanism: Some(SaslMechanism::ScramSha512),
            username: Some("alice".into()),
            ..Default::default()
        }
        .resolve(&|k| (k == crate::security::env::PASSWORD).then(|| "pw-xyzzy".into()))
        .unwrap();
        let c = client_config_with("h:1", &sec);
        assert_eq!(c.get("bootstrap.servers"), Some("h:1"));
        assert_eq!(c.get("security.protocol"), Some("sasl_plaintext"));
        assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(c.get("sasl.password"), Some("pw-xyzzy"));
        // rdkafka's own Debug hides it too (-vv logs client configurations).
        assert!(!format!("{c:?}").contains("xyzzy"));
        // Plaintext: what the clients always had.
        let plain = client_config_with("h:1", &ClientSecurity::default());
        assert_eq!(plain.get("security.protocol"), None);
        assert_eq!(plain.get("broker.address.family"), Some("v4"));
    }

    #[test]
    fn no_rdkafka_client_is_configured_anywhere_else() {
        // Every client starts from client_config, so none connects without the security.
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, found);
                } else if p.extension().is_some_and(|x| x == "rs")
                    && !p.ends_with("kafka/connect.rs")
                {
                    let text = std::fs::read_to_string(&p).unwrap();
                    if text.contains(concat!("ClientConfig", "::new("))
                        || text.contains(concat!(".set(\"bootstrap", ".servers\""))
                    {
                        found.push(p.display().to_string());
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.is_empty(),
            "configure rdkafka through kafka::client_config: {found:?}"
        );
    }

    /// The bundled librdkafka must count its brokers down: its `ALL_BROKERS_DOWN` error and
    /// its own re-bootstrap (`metadata.recovery.strategy=rebootstrap`) hang on that count.
    /// librdkafka's CMake build (rdkafka's `cmake-build`, this crate's until 2026-12-06)
    /// defines `HAVE_ATOMICS_32` but not `HAVE_ATOMICS_32_ATOMIC`, so `rd_atomic32_set`
    /// returns the new value instead of the old one and the count never moves (librdkafka PR
    /// #5136): the tracked producer never re-bootstrapped where an application on the same
    /// version did (docs/measurements.md). On such a build this test fails.
    #[test]
    fn the_bundled_librdkafka_says_when_every_broker_is_down() {
        use rdkafka::client::ClientContext;
        use rdkafka::error::KafkaError;
        use rdkafka::producer::{BaseProducer, ProducerContext};
        use rdkafka::types::RDKafkaErrorCode;
        use std::time::{Duration, Instant};

        struct GlobalErrors(std::sync::mpsc::Sender<RDKafkaErrorCode>);
        impl ClientContext for GlobalErrors {
            fn error(&self, error: KafkaError, _reason: &str) {
                if let Some(code) = error.rdkafka_error_code() {
                    let _ = self.0.send(code);
                }
            }
        }
        impl ProducerContext for GlobalErrors {
            type DeliveryOpaque = ();
            fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: ()) {}
        }
        // A port nothing listens on: the one broker's connection is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let (tx, rx) = std::sync::mpsc::channel();
        let producer: BaseProducer<GlobalErrors> =
            client_config_with(&format!("127.0.0.1:{port}"), &ClientSecurity::default())
                .create_with_context(GlobalErrors(tx))
                .unwrap();
        // The client connects to its bootstrap broker when made; a refused loopback connect
        // takes well under a millisecond, so the error is due within milliseconds. 2 s leaves
        // room for a loaded 2-core machine to schedule the broker thread; never is the bug.
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            producer.poll(Duration::from_millis(20));
            seen.extend(rx.try_iter());
            if seen.contains(&RDKafkaErrorCode::AllBrokersDown) {
                return;
            }
        }
        panic!(
            "librdkafka {} never said every broker was down (errors seen: {seen:?}): a build \
             whose rd_atomic32_set is broken (CMake without HAVE_ATOMICS_32_ATOMIC)",
            rdkafka::util::get_rdkafka_version().1
        );
    }

    #[test]
    fn a_tls_connector_only_for_tls_protocols() {
        let sec = SecurityInput {
            protocol: Some(SecurityProtocol::Ssl),
            ..Default::default()
        }
        .resolve(&|_| None)
        .unwrap();
        // The system store works without a file.
        assert!(Profile::new(sec).tls_connector().unwrap().is_ok());
        assert!(Profile::new(ClientSecurity::default())
            .tls_connector()
            .is_none());
    }
}
