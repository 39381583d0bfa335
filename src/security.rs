//! How the harness's Kafka clients connect: plaintext, TLS, SASL (PLAIN, SCRAM-SHA-256/512).
//! Pure: the experiment's `cluster.client-security`, the `CHAOS_KAFKA_*` environment and the
//! `observe` flags resolve to one [`ClientSecurity`], which both clients apply (librdkafka's
//! settings: [`ClientSecurity::apply_rdkafka`]; the wire client: `kafka::wire`). The password
//! is a [`Secret`]: its Debug and Display are redacted, it is never serialized, and only the
//! clients read it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variables read when neither the experiment nor the flags say otherwise.
pub mod env {
    pub const PROTOCOL: &str = "CHAOS_KAFKA_SECURITY_PROTOCOL";
    pub const MECHANISM: &str = "CHAOS_KAFKA_SASL_MECHANISM";
    pub const USERNAME: &str = "CHAOS_KAFKA_SASL_USERNAME";
    pub const PASSWORD: &str = "CHAOS_KAFKA_SASL_PASSWORD";
    pub const CA: &str = "CHAOS_KAFKA_SSL_CA";
    pub const CERT: &str = "CHAOS_KAFKA_SSL_CERT";
    pub const KEY: &str = "CHAOS_KAFKA_SSL_KEY";
    pub const VERIFY_HOSTNAME: &str = "CHAOS_KAFKA_SSL_VERIFY_HOSTNAME";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
    /// The spelling of the experiment file and the flags.
    pub fn as_kebab(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl-plaintext",
            SecurityProtocol::SaslSsl => "sasl-ssl",
        }
    }
    /// Kafka's name (`security.protocol`, listener names).
    pub fn kafka_name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.kafka_name())
    }
}

/// A name (from a flag or a variable) that is no protocol or mechanism of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownName {
    #[error("unknown security protocol `{0}`; one of plaintext, ssl, sasl-plaintext, sasl-ssl")]
    SecurityProtocol(String),
    #[error("unknown SASL mechanism `{0}`; one of plain, scram-sha-256, scram-sha-512")]
    SaslMechanism(String),
}

impl std::str::FromStr for SecurityProtocol {
    type Err = UnknownName;
    /// Our spelling or Kafka's, in any case (`sasl-ssl`, `SASL_SSL`).
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|p| p.as_kebab() == norm)
            .ok_or_else(|| UnknownName::SecurityProtocol(s.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum SaslMechanism {
    #[serde(rename = "plain")]
    Plain,
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    #[serde(rename = "scram-sha-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub const ALL: [SaslMechanism; 3] = [
        SaslMechanism::Plain,
        SaslMechanism::ScramSha256,
        SaslMechanism::ScramSha512,
    ];
    /// Kafka's name (`sasl.mechanism`, SaslHandshake).
    pub fn kafka_name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.kafka_name())
    }
}

impl std::str::FromStr for SaslMechanism {
    type Err = UnknownName;
    /// Our spelling or Kafka's, in any case (`scram-sha-512`, `SCRAM-SHA-512`).
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        let norm = s.trim().to_ascii_uppercase().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|m| m.kafka_name() == norm)
            .ok_or_else(|| UnknownName::SaslMechanism(s.to_string()))
    }
}

/// A password. Debug and Display print `***`; there is no Serialize; [`Secret::expose`] is
/// for the clients only.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("***")
    }
}

// ---------------------------------------------------------------------------------------
// The experiment's form: `cluster.client-security`.

/// `cluster.client-security` in an experiment. The password is never in the file: it is
/// read from the environment variable `password-env` names.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClientSecuritySpec {
    pub protocol: SecurityProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SaslSpec {
    pub mechanism: SaslMechanism,
    pub username: String,
    /// The environment variable that holds the password (default CHAOS_KAFKA_SASL_PASSWORD).
    #[serde(default = "default_password_env")]
    pub password_env: String,
}

fn default_password_env() -> String {
    env::PASSWORD.into()
}

/// Files are relative to the experiment file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TlsSpec {
    /// PEM file of the CA(s) that signed the brokers' certificates (default: the system's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate and its key (PEM), for brokers that require one (mutual TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Check that the certificate names the host connected to (default true).
    #[serde(default = "yes")]
    pub verify_hostname: bool,
}

fn yes() -> bool {
    true
}

// ---------------------------------------------------------------------------------------
// The resolved form, which the clients apply.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslCredentials {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub ca_file: Option<PathBuf>,
    /// Both or neither (checked when resolved).
    pub client_cert: Option<(PathBuf, PathBuf)>,
    pub verify_hostname: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            ca_file: None,
            client_cert: None,
            verify_hostname: true,
        }
    }
}

/// How both clients connect. Built only through the checks below, so `sasl` is present
/// exactly when the protocol uses SASL, and `tls` only matters when it uses TLS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientSecurity {
    protocol: SecurityProtocol,
    sasl: Option<SaslCredentials>,
    tls: TlsSettings,
}

/// A configuration problem: what is wrong, where (a field of the experiment, a variable or a
/// flag) and a hint. Never contains the password.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityError {
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

impl SecurityError {
    fn new(field: impl Into<String>, message: impl Into<String>, hint: Option<&str>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }
}

/// `field: message`, and the hint on a line of its own (as input errors print).
impl fmt::Display for SecurityError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SecurityError {}

/// Names of the fields, for errors: the experiment's keys, the variables, or the flags.
struct Names {
    protocol: &'static str,
    sasl: &'static str,
    mechanism: &'static str,
    username: &'static str,
    tls: &'static str,
    cert: &'static str,
}

const SPEC_NAMES: Names = Names {
    protocol: "cluster.client-security.protocol",
    sasl: "cluster.client-security.sasl",
    mechanism: "cluster.client-security.sasl.mechanism",
    username: "cluster.client-security.sasl.username",
    tls: "cluster.client-security.tls",
    cert: "cluster.client-security.tls.cert-file",
};

const INPUT_NAMES: Names = Names {
    protocol: "CHAOS_KAFKA_SECURITY_PROTOCOL (--security-protocol)",
    sasl: "CHAOS_KAFKA_SASL_MECHANISM (--sasl-mechanism)",
    mechanism: "CHAOS_KAFKA_SASL_MECHANISM (--sasl-mechanism)",
    username: "CHAOS_KAFKA_SASL_USERNAME (--sasl-username)",
    tls: "CHAOS_KAFKA_SSL_CA (--ssl-ca)",
    cert: "CHAOS_KAFKA_SSL_CERT / CHAOS_KAFKA_SSL_KEY (--ssl-cert / --ssl-key)",
};

/// The checks every source shares: SASL settings exactly when the protocol uses SASL, TLS
/// settings only when it uses TLS, a client certificate with its key.
fn consistent(
    n: &Names,
    protocol: SecurityProtocol,
    sasl_given: bool,
    tls_given: bool,
    cert: Option<&Path>,
    key: Option<&Path>,
) -> Result<(), SecurityError> {
    if protocol.uses_sasl() && !sasl_given {
        return Err(SecurityError::new(
            n.sasl,
            format!("protocol {} needs SASL settings (mechanism, username, password)", protocol.as_kebab()),
            Some("e.g. sasl: {mechanism: scram-sha-512, username: alice, password-env: KAFKA_PASSWORD}"),
        ));
    }
    if !protocol.uses_sasl() && sasl_given {
        return Err(SecurityError::new(
            n.sasl,
            format!(
                "SASL settings are given but protocol {} does not use SASL",
                protocol.as_kebab()
            ),
            Some("use protocol sasl-plaintext or sasl-ssl, or remove the SASL settings"),
        ));
    }
    if !protocol.uses_tls() && tls_given {
        return Err(SecurityError::new(
            n.tls,
            format!(
                "TLS settings are given but protocol {} does not use TLS",
                protocol.as_kebab()
            ),
            Some("use protocol ssl or sasl-ssl, or remove the TLS settings"),
        ));
    }
    if cert.is_some() != key.is_some() {
        return Err(SecurityError::new(
            n.cert,
            "a client certificate needs its key, and a key its certificate",
            Some("give both cert-file and key-file (PEM), or neither"),
        ));
    }
    Ok(())
}

fn check_username(n: &Names, username: &str) -> Result<(), SecurityError> {
    if username.trim().is_empty() {
        return Err(SecurityError::new(
            n.username,
            "the SASL username is empty",
            None,
        ));
    }
    Ok(())
}

/// An environment variable's name: what a shell can export.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl ClientSecuritySpec {
    /// What can be checked without the environment or the file system (`chaos validate`).
    pub fn check(&self) -> Result<(), SecurityError> {
        let tls = self.tls.as_ref();
        consistent(
            &SPEC_NAMES,
            self.protocol,
            self.sasl.is_some(),
            tls.is_some(),
            tls.and_then(|t| t.cert_file.as_deref()),
            tls.and_then(|t| t.key_file.as_deref()),
        )?;
        if let Some(sasl) = &self.sasl {
            check_username(&SPEC_NAMES, &sasl.username)?;
            if !is_env_name(&sasl.password_env) {
                return Err(SecurityError::new(
                    "cluster.client-security.sasl.password-env",
                    format!("`{}` is not an environment variable's name", sasl.password_env),
                    Some("name the variable that holds the password (the password itself never goes in the file), e.g. password-env: KAFKA_PASSWORD"),
                ));
            }
        }
        Ok(())
    }

    /// The settings the clients use: the password from the environment, files relative to
    /// `base` (the experiment's directory) and present.
    pub fn resolve(
        &self,
        base: &Path,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ClientSecurity, SecurityError> {
        self.check()?;
        let sasl = match &self.sasl {
            None => None,
            Some(s) => {
                let password = lookup(&s.password_env).filter(|p| !p.is_empty()).ok_or_else(|| {
                    SecurityError::new(
                        "cluster.client-security.sasl.password-env",
                        format!("the environment variable {} (the SASL password) is not set or empty", s.password_env),
                        Some("export it before the run; the password never goes in the experiment file"),
                    )
                })?;
                Some(SaslCredentials {
                    mechanism: s.mechanism,
                    username: s.username.clone(),
                    password: Secret(password),
                })
            }
        };
        let spec = self.tls.clone().unwrap_or_default();
        let file = |field: &str, p: &Option<PathBuf>| -> Result<Option<PathBuf>, SecurityError> {
            let Some(p) = p else { return Ok(None) };
            let path = base.join(p);
            if !path.is_file() {
                return Err(SecurityError::new(
                    format!("cluster.client-security.tls.{field}"),
                    format!("{} is not a file", path.display()),
                    Some("paths are relative to the experiment file"),
                ));
            }
            Ok(Some(path))
        };
        let ca_file = file("ca-file", &spec.ca_file)?;
        let cert = file("cert-file", &spec.cert_file)?;
        let key = file("key-file", &spec.key_file)?;
        Ok(ClientSecurity {
            protocol: self.protocol,
            sasl,
            tls: TlsSettings {
                ca_file,
                client_cert: cert.zip(key),
                verify_hostname: spec.verify_hostname,
            },
        })
    }
}

// ---------------------------------------------------------------------------------------
// The environment and the flags.

/// Settings from the environment or the flags, each optional; flags win field by field
/// ([`SecurityInput::or`]). The password is read from the environment only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityInput {
    pub protocol: Option<SecurityProtocol>,
    pub mechanism: Option<SaslMechanism>,
    pub username: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub verify_hostname: Option<bool>,
}

impl SecurityInput {
    /// The `CHAOS_KAFKA_*` variables (see [`env`]); an unparsable value is an error naming
    /// its variable.
    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, SecurityError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let bad =
            |name: &str, message: String, hint: &str| SecurityError::new(name, message, Some(hint));
        Ok(Self {
            protocol: get(env::PROTOCOL).map(|v| v.parse()).transpose().map_err(
                |m: UnknownName| {
                    bad(
                        env::PROTOCOL,
                        m.to_string(),
                        "e.g. CHAOS_KAFKA_SECURITY_PROTOCOL=sasl-ssl",
                    )
                },
            )?,
            mechanism: get(env::MECHANISM).map(|v| v.parse()).transpose().map_err(
                |m: UnknownName| {
                    bad(
                        env::MECHANISM,
                        m.to_string(),
                        "e.g. CHAOS_KAFKA_SASL_MECHANISM=scram-sha-512",
                    )
                },
            )?,
            username: get(env::USERNAME),
            ca_file: get(env::CA).map(PathBuf::from),
            cert_file: get(env::CERT).map(PathBuf::from),
            key_file: get(env::KEY).map(PathBuf::from),
            verify_hostname: get(env::VERIFY_HOSTNAME)
                .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => Ok(true),
                    "false" | "0" | "no" => Ok(false),
                    _ => Err(bad(
                        env::VERIFY_HOSTNAME,
                        format!("`{v}` is not a boolean"),
                        "true or false",
                    )),
                })
                .transpose()?,
        })
    }

    /// Field by field: `self` where set, `other` otherwise.
    pub fn or(self, other: SecurityInput) -> SecurityInput {
        SecurityInput {
            protocol: self.protocol.or(other.protocol),
            mechanism: self.mechanism.or(other.mechanism),
            username: self.username.or(other.username),
            ca_file: self.ca_file.or(other.ca_file),
            cert_file: self.cert_file.or(other.cert_file),
            key_file: self.key_file.or(other.key_file),
            verify_hostname: self.verify_hostname.or(other.verify_hostname),
        }
    }

    /// The settings the clients use; the password from CHAOS_KAFKA_SASL_PASSWORD. Without a
    /// protocol: plaintext, and any other setting is an error (it would be silently unused).
    pub fn resolve(
        self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ClientSecurity, SecurityError> {
        let n = &INPUT_NAMES;
        let sasl_given = self.mechanism.is_some() || self.username.is_some();
        let tls_given = self.ca_file.is_some()
            || self.cert_file.is_some()
            || self.key_file.is_some()
            || self.verify_hostname.is_some();
        let Some(protocol) = self.protocol else {
            if sasl_given || tls_given {
                return Err(SecurityError::new(
                    n.protocol,
                    "SASL or TLS settings are given without a security protocol",
                    Some("set CHAOS_KAFKA_SECURITY_PROTOCOL (or --security-protocol) to ssl, sasl-plaintext or sasl-ssl"),
                ));
            }
            return Ok(ClientSecurity::default());
        };
        consistent(
            n,
            protocol,
            sasl_given,
            tls_given,
            self.cert_file.as_deref(),
            self.key_file.as_deref(),
        )?;
        let sasl = if protocol.uses_sasl() {
            let mechanism = self.mechanism.ok_or_else(|| {
                SecurityError::new(
                    n.mechanism,
                    "the SASL mechanism is not set",
                    Some("plain, scram-sha-256 or scram-sha-512"),
                )
            })?;
            let username = self.username.ok_or_else(|| {
                SecurityError::new(n.username, "the SASL username is not set", None)
            })?;
            check_username(n, &username)?;
            let password = lookup(env::PASSWORD).filter(|p| !p.is_empty()).ok_or_else(|| {
                SecurityError::new(
                    env::PASSWORD,
                    "the SASL password is not set",
                    Some("export CHAOS_KAFKA_SASL_PASSWORD; the password is read from the environment only, never from a flag"),
                )
            })?;
            Some(SaslCredentials {
                mechanism,
                username,
                password: Secret(password),
            })
        } else {
            None
        };
        for (name, file) in [
            ("CHAOS_KAFKA_SSL_CA (--ssl-ca)", &self.ca_file),
            ("CHAOS_KAFKA_SSL_CERT (--ssl-cert)", &self.cert_file),
            ("CHAOS_KAFKA_SSL_KEY (--ssl-key)", &self.key_file),
        ] {
            if let Some(f) = file.as_ref().filter(|f| !f.is_file()) {
                return Err(SecurityError::new(
                    name,
                    format!("{} is not a file", f.display()),
                    Some("a PEM file"),
                ));
            }
        }
        Ok(ClientSecurity {
            protocol,
            sasl,
            tls: TlsSettings {
                ca_file: self.ca_file,
                client_cert: self.cert_file.zip(self.key_file),
                verify_hostname: self.verify_hostname.unwrap_or(true),
            },
        })
    }
}

// ---------------------------------------------------------------------------------------
// What the clients do with it.

impl ClientSecurity {
    pub fn protocol(&self) -> SecurityProtocol {
        self.protocol
    }
    pub fn sasl(&self) -> Option<&SaslCredentials> {
        self.sasl.as_ref()
    }
    /// The TLS settings when the protocol uses TLS.
    pub fn tls(&self) -> Option<&TlsSettings> {
        self.protocol.uses_tls().then_some(&self.tls)
    }

    /// librdkafka's settings for this security, handed to `set` one by one (the password
    /// among them: `set` is the client configuration, nothing that prints). Plaintext sets
    /// nothing, so a plaintext client's configuration is what it always was.
    pub fn apply_rdkafka(&self, set: &mut dyn FnMut(&'static str, &str)) {
        if self.protocol == SecurityProtocol::Plaintext {
            return;
        }
        set(
            "security.protocol",
            &self.protocol.kafka_name().to_ascii_lowercase(),
        );
        if let Some(s) = &self.sasl {
            set("sasl.mechanism", s.mechanism.kafka_name());
            set("sasl.username", &s.username);
            set("sasl.password", s.password.expose());
        }
        if let Some(t) = self.tls() {
            if let Some(ca) = &t.ca_file {
                set("ssl.ca.location", &ca.to_string_lossy());
            }
            if let Some((cert, key)) = &t.client_cert {
                set("ssl.certificate.location", &cert.to_string_lossy());
                set("ssl.key.location", &key.to_string_lossy());
            }
            set(
                "ssl.endpoint.identification.algorithm",
                if t.verify_hostname { "https" } else { "none" },
            );
        }
    }
}

/// One setting of Apache Kafka's Java client: a value, or a file whose content is the value
/// (a PEM keystore's certificate chain and key are given inline and span lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JavaSetting {
    Value(&'static str, String),
    FileContent(&'static str, PathBuf),
}

impl ClientSecurity {
    /// The Java client's settings for this security (the password in `sasl.jaas.config`: for
    /// the client's configuration only). Plaintext gives none. The CA and the client
    /// certificate are PEM files, as librdkafka takes them (Java reads PEM since 2.7, KIP-651).
    pub fn java_settings(&self) -> Vec<JavaSetting> {
        use JavaSetting::{FileContent, Value};
        if self.protocol == SecurityProtocol::Plaintext {
            return Vec::new();
        }
        let mut out = vec![Value(
            "security.protocol",
            self.protocol.kafka_name().into(),
        )];
        if let Some(s) = &self.sasl {
            let module = match s.mechanism {
                SaslMechanism::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
                SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
                    "org.apache.kafka.common.security.scram.ScramLoginModule"
                }
            };
            // JAAS quoting: a backslash escapes the next character.
            let quoted = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
            out.push(Value("sasl.mechanism", s.mechanism.kafka_name().into()));
            out.push(Value(
                "sasl.jaas.config",
                format!(
                    "{module} required username=\"{}\" password=\"{}\";",
                    quoted(&s.username),
                    quoted(s.password.expose())
                ),
            ));
        }
        if let Some(t) = self.tls() {
            if let Some(ca) = &t.ca_file {
                out.push(Value("ssl.truststore.type", "PEM".into()));
                out.push(Value(
                    "ssl.truststore.location",
                    ca.to_string_lossy().into(),
                ));
            }
            if let Some((cert, key)) = &t.client_cert {
                out.push(Value("ssl.keystore.type", "PEM".into()));
                out.push(FileContent("ssl.keystore.certificate.chain", cert.clone()));
                out.push(FileContent("ssl.keystore.key", key.clone()));
            }
            // Java's empty string turns the host name check off.
            out.push(Value(
                "ssl.endpoint.identification.algorithm",
                if t.verify_hostname { "https" } else { "" }.into(),
            ));
        }
        out
    }
}

/// One line for logs and reports: protocol, mechanism, user, CA; never the password.
impl fmt::Display for ClientSecurity {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.protocol)?;
        let mut parts = Vec::new();
        if let Some(s) = &self.sasl {
            parts.push(format!("{} as {}", s.mechanism, s.username));
        }
        if let Some(t) = self.tls() {
            parts.push(match &t.ca_file {
                Some(ca) => format!("CA {}", ca.display()),
                None => "the system's CAs".into(),
            });
            if t.client_cert.is_some() {
                parts.push("client certificate".into());
            }
            if !t.verify_hostname {
                parts.push("host names not verified".into());
            }
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn rdkafka(sec: &ClientSecurity) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        sec.apply_rdkafka(&mut |k, v| {
            m.insert(k, v.to_string());
        });
        m
    }

    fn spec(yaml: &str) -> ClientSecuritySpec {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    const HERE: &str = env!("CARGO_MANIFEST_DIR");

    #[test]
    fn plaintext_sets_nothing() {
        assert!(rdkafka(&ClientSecurity::default()).is_empty());
        let sec = SecurityInput::from_env(&env_of(&[]))
            .unwrap()
            .resolve(&env_of(&[]))
            .unwrap();
        assert_eq!(sec, ClientSecurity::default());
        assert_eq!(sec.to_string(), "PLAINTEXT");
    }

    #[test]
    fn sasl_ssl_scram_maps_to_the_java_clients_keys_with_the_password_quoted() {
        use JavaSetting::Value;
        let s = spec(
            "protocol: sasl-ssl\nsasl: {mechanism: scram-sha-512, username: alice, password-env: PW}\ntls: {ca-file: Cargo.toml}",
        );
        let sec = s
            .resolve(Path::new(HERE), &env_of(&[("PW", r#"s3"c\ret"#)]))
            .unwrap();
        assert_eq!(
            sec.java_settings(),
            vec![
                Value("security.protocol", "SASL_SSL".into()),
                Value("sasl.mechanism", "SCRAM-SHA-512".into()),
                Value(
                    "sasl.jaas.config",
                    r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3\"c\\ret";"#
                        .into()
                ),
                Value("ssl.truststore.type", "PEM".into()),
                Value("ssl.truststore.location", format!("{HERE}/Cargo.toml")),
                Value("ssl.endpoint.identification.algorithm", "https".into()),
            ]
        );
        assert!(ClientSecurity::default().java_settings().is_empty());
    }

    #[test]
    fn sasl_ssl_scram_maps_to_librdkafka_keys() {
        let s = spec(
            "protocol: sasl-ssl\nsasl: {mechanism: scram-sha-512, username: alice, password-env: PW}\ntls: {ca-file: Cargo.toml}",
        );
        let sec = s
            .resolve(Path::new(HERE), &env_of(&[("PW", "s3cret")]))
            .unwrap();
        let m = rdkafka(&sec);
        assert_eq!(m["security.protocol"], "sasl_ssl");
        assert_eq!(m["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(m["sasl.username"], "alice");
        assert_eq!(m["sasl.password"], "s3cret");
        assert_eq!(m["ssl.ca.location"], format!("{HERE}/Cargo.toml"));
        assert_eq!(m["ssl.endpoint.identification.algorithm"], "https");
        assert_eq!(m.len(), 6);
    }

    #[test]
    fn sasl_plaintext_plain_sets_no_tls_keys() {
        let sec = SecurityInput::from_env(&env_of(&[
            (env::PROTOCOL, "SASL_PLAINTEXT"),
            (env::MECHANISM, "PLAIN"),
            (env::USERNAME, "bob"),
        ]))
        .unwrap()
        .resolve(&env_of(&[(env::PASSWORD, "pw")]))
        .unwrap();
        let m = rdkafka(&sec);
        assert_eq!(m["security.protocol"], "sasl_plaintext");
        assert_eq!(m["sasl.mechanism"], "PLAIN");
        assert!(!m.keys().any(|k| k.starts_with("ssl.")));
        assert!(sec.tls().is_none());
    }

    #[test]
    fn ssl_without_ca_uses_the_system_store_and_can_skip_hostnames() {
        let sec = SecurityInput {
            protocol: Some(SecurityProtocol::Ssl),
            verify_hostname: Some(false),
            ..Default::default()
        }
        .resolve(&env_of(&[]))
        .unwrap();
        let m = rdkafka(&sec);
        assert_eq!(m["security.protocol"], "ssl");
        assert_eq!(m["ssl.endpoint.identification.algorithm"], "none");
        assert!(!m.contains_key("ssl.ca.location"));
        assert_eq!(
            sec.to_string(),
            "SSL (the system's CAs, host names not verified)"
        );
    }

    #[test]
    fn the_password_is_never_printed() {
        let sec = SecurityInput {
            protocol: Some(SecurityProtocol::SaslSsl),
            mechanism: Some(SaslMechanism::ScramSha256),
            username: Some("alice".into()),
            ..Default::default()
        }
        .resolve(&env_of(&[(env::PASSWORD, "hunter2-secret")]))
        .unwrap();
        for text in [
            format!("{sec:?}"),
            sec.to_string(),
            format!("{:?}", sec.sasl()),
        ] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert_eq!(
            sec.to_string(),
            "SASL_SSL (SCRAM-SHA-256 as alice, the system's CAs)"
        );
        assert_eq!(sec.sasl().unwrap().password.expose(), "hunter2-secret");
    }

    #[test]
    fn flags_win_over_the_environment_field_by_field() {
        let env = SecurityInput::from_env(&env_of(&[
            (env::PROTOCOL, "sasl-ssl"),
            (env::MECHANISM, "scram-sha-256"),
            (env::USERNAME, "env-user"),
        ]))
        .unwrap();
        let flags = SecurityInput {
            mechanism: Some(SaslMechanism::Plain),
            ..Default::default()
        };
        let sec = flags
            .or(env)
            .resolve(&env_of(&[(env::PASSWORD, "p")]))
            .unwrap();
        let s = sec.sasl().unwrap();
        assert_eq!(
            (s.mechanism, s.username.as_str()),
            (SaslMechanism::Plain, "env-user")
        );
        assert_eq!(sec.protocol(), SecurityProtocol::SaslSsl);
    }

    #[test]
    fn inconsistent_settings_are_errors_naming_the_field() {
        let e = |yaml: &str| spec(yaml).check().unwrap_err();
        let err = e("protocol: sasl-ssl");
        assert_eq!(err.field, "cluster.client-security.sasl");
        assert!(err.hint.is_some());
        let err = e("protocol: ssl\nsasl: {mechanism: plain, username: a}");
        assert!(err.message.contains("does not use SASL"), "{err}");
        let err = e(
            "protocol: sasl-plaintext\nsasl: {mechanism: plain, username: a}\ntls: {ca-file: x}",
        );
        assert_eq!(err.field, "cluster.client-security.tls");
        let err = e("protocol: ssl\ntls: {cert-file: c}");
        assert_eq!(err.field, "cluster.client-security.tls.cert-file");
        let err = e("protocol: sasl-ssl\nsasl: {mechanism: plain, username: a, password-env: \"my password\"}");
        assert_eq!(err.field, "cluster.client-security.sasl.password-env");
        let err = e("protocol: sasl-ssl\nsasl: {mechanism: plain, username: \" \"}");
        assert_eq!(err.field, "cluster.client-security.sasl.username");
    }

    #[test]
    fn unknown_keys_and_values_are_refused() {
        for bad in [
            "protocol: sasl-ssl\nsasl: {mechanism: plain, username: a, password: x}",
            "protocol: sasl_ssl",
            "protocol: sasl-ssl\nsasl: {mechanism: gssapi, username: a}",
            "protocol: ssl\ntls: {ca: x}",
        ] {
            assert!(
                serde_yaml_ng::from_str::<ClientSecuritySpec>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn resolving_needs_the_password_variable_and_the_files() {
        let s = spec(
            "protocol: sasl-ssl\nsasl: {mechanism: plain, username: a}\ntls: {ca-file: nope.pem}",
        );
        let err = s.resolve(Path::new(HERE), &env_of(&[])).unwrap_err();
        assert!(err.message.contains("CHAOS_KAFKA_SASL_PASSWORD"), "{err}");
        let err = s
            .resolve(Path::new(HERE), &env_of(&[(env::PASSWORD, "p")]))
            .unwrap_err();
        assert_eq!(err.field, "cluster.client-security.tls.ca-file");
        assert!(err.message.contains("nope.pem"));
    }

    #[test]
    fn environment_errors_name_the_variable() {
        let err = SecurityInput::from_env(&env_of(&[(env::PROTOCOL, "tls")])).unwrap_err();
        assert_eq!(err.field, env::PROTOCOL);
        let err = SecurityInput::from_env(&env_of(&[(env::MECHANISM, "GSSAPI")])).unwrap_err();
        assert_eq!(err.field, env::MECHANISM);
        // A username without a protocol would be silently unused.
        let err = SecurityInput::from_env(&env_of(&[(env::USERNAME, "a")]))
            .unwrap()
            .resolve(&env_of(&[]))
            .unwrap_err();
        assert!(err.field.starts_with(env::PROTOCOL));
        let err = SecurityInput::from_env(&env_of(&[
            (env::PROTOCOL, "sasl-plaintext"),
            (env::MECHANISM, "plain"),
            (env::USERNAME, "a"),
        ]))
        .unwrap()
        .resolve(&env_of(&[]))
        .unwrap_err();
        assert_eq!(err.field, env::PASSWORD);
        assert!(err.hint.unwrap().contains("never from a flag"));
    }

    #[test]
    fn names_parse_in_both_spellings() {
        assert_eq!(
            "SASL_SSL".parse::<SecurityProtocol>(),
            Ok(SecurityProtocol::SaslSsl)
        );
        assert_eq!(
            "sasl-plaintext".parse::<SecurityProtocol>(),
            Ok(SecurityProtocol::SaslPlaintext)
        );
        assert_eq!(
            "scram-sha-256".parse::<SaslMechanism>(),
            Ok(SaslMechanism::ScramSha256)
        );
        assert_eq!(
            "SCRAM_SHA_512".parse::<SaslMechanism>(),
            Ok(SaslMechanism::ScramSha512)
        );
        assert!(is_env_name("KAFKA_PW_1") && !is_env_name("1X") && !is_env_name("a b"));
        assert_eq!(
            "kerberos".parse::<SaslMechanism>(),
            Err(UnknownName::SaslMechanism("kerberos".into()))
        );
    }
}
