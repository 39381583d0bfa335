//! A minimal Kafka protocol client: one connection, one request at a time, with a timeout.
//! Enough for Metadata, DescribeQuorum and ElectLeaders, which librdkafka does not expose.
//! It connects with the connection security it is given (`connect::Profile`): TLS (OpenSSL, the
//! library librdkafka links too) and SASL (the exchange here, the mechanisms in `sasl`).

use super::connect::Profile;
use super::sasl::{plain_token, random_nonce, ScramClient, ScramHash};
use super::KafkaError;
use crate::security::{SaslCredentials, SecurityProtocol};
use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::{
    RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response we accept (a metadata response of a big cluster is far smaller).
const MAX_RESPONSE: usize = 64 << 20;

/// A TCP stream, or TLS over one.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub struct Connection {
    addr: String,
    stream: Box<dyn Stream>,
    correlation_id: i32,
    /// A broker that needs TLS or SASL closes a plaintext connection without a word: the
    /// error then says so.
    plaintext: bool,
}

impl Connection {
    /// Connects to `addr` (host:port) with `profile`'s security: TCP, then TLS and SASL
    /// when configured, all within `timeout`.
    pub async fn connect(
        addr: &str,
        timeout: Duration,
        profile: &Profile,
    ) -> Result<Self, KafkaError> {
        let timed_out = |what: &str| KafkaError::Connection {
            addr: addr.into(),
            reason: format!("{what} timed out"),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(addr))
            .await
            .map_err(|_| timed_out("connect"))?
            .map_err(|e| KafkaError::Connection {
                addr: addr.into(),
                reason: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = match profile.tls_connector() {
            None => Box::new(tcp),
            Some(connector) => {
                let tls = |reason: String| KafkaError::Tls {
                    addr: addr.into(),
                    reason,
                };
                let connector = connector.map_err(|e| tls(e.to_string()))?;
                let verify = profile.security.tls().is_none_or(|t| t.verify_hostname);
                let host = host_of(addr);
                let ssl = connector
                    .configure()
                    .map_err(|e| tls(e.to_string()))?
                    .verify_hostname(verify)
                    .into_ssl(host)
                    .map_err(|e| tls(e.to_string()))?;
                let mut stream =
                    tokio_openssl::SslStream::new(ssl, tcp).map_err(|e| tls(e.to_string()))?;
                tokio::time::timeout_at(deadline, Pin::new(&mut stream).connect())
                    .await
                    .map_err(|_| timed_out("TLS handshake"))?
                    .map_err(|e| tls(handshake_error(&e, &stream)))?;
                Box::new(stream)
            }
        };
        let mut conn = Self {
            addr: addr.to_string(),
            stream,
            correlation_id: 0,
            plaintext: profile.security.protocol() == SecurityProtocol::Plaintext,
        };
        if let Some(creds) = profile.security.sasl() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            authenticate(&mut conn, creds, left.max(Duration::from_millis(1))).await?;
        }
        Ok(conn)
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `request` at `version` and waits at most `timeout` for its response.
    pub async fn send<R: Request>(
        &mut self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, KafkaError> {
        tokio::time::timeout(timeout, self.exchange(request, version))
            .await
            .map_err(|_| KafkaError::Connection {
                addr: self.addr.clone(),
                reason: format!("no response within {timeout:?}"),
            })?
    }

    async fn exchange<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, KafkaError> {
        let api = api_name::<R>();
        let proto = |reason: String| KafkaError::Protocol {
            addr: self.addr.clone(),
            api,
            reason,
        };
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("chaos-observer")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .map_err(|e| proto(e.to_string()))?;
        request
            .encode(&mut body, version)
            .map_err(|e| proto(e.to_string()))?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        let plaintext = self.plaintext;
        let io = |e: std::io::Error| KafkaError::Connection {
            addr: self.addr.clone(),
            reason: closed_reason(&e, plaintext),
        };
        self.stream.write_all(&frame).await.map_err(io)?;
        let len = self.stream.read_i32().await.map_err(io)?;
        if len < 0 || len as usize > MAX_RESPONSE {
            return Err(proto(format!("bad response length {len}")));
        }
        let mut buf = vec![0u8; len as usize];
        self.stream.read_exact(&mut buf).await.map_err(io)?;
        let mut buf = bytes::Bytes::from(buf);
        let response_header =
            ResponseHeader::decode(&mut buf, R::Response::header_version(version))
                .map_err(|e| proto(e.to_string()))?;
        if response_header.correlation_id != self.correlation_id {
            return Err(proto("correlation id mismatch".into()));
        }
        let response = R::Response::decode(&mut buf, version).map_err(|e| proto(e.to_string()))?;
        let _ = buf.remaining();
        Ok(response)
    }
}

fn api_name<R: Request>() -> &'static str {
    match R::KEY {
        3 => "Metadata",
        43 => "ElectLeaders",
        55 => "DescribeQuorum",
        18 => "ApiVersions",
        17 => "SaslHandshake",
        36 => "SaslAuthenticate",
        _ => "request",
    }
}

/// The host of `host:port` (also `[v6]:port`), for SNI and the certificate's name check.
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

fn closed_reason(e: &std::io::Error, plaintext: bool) -> String {
    let refused_cert = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<openssl::ssl::Error>())
        .is_some_and(refused_our_certificate);
    if refused_cert {
        return format!("{e} — {CLIENT_CERT_HINT}");
    }
    if plaintext && e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the broker closed the connection (a listener that needs TLS or SASL does that to a \
         plaintext client: set CHAOS_KAFKA_SECURITY_PROTOCOL, or observe's --security-protocol)"
            .into()
    } else {
        e.to_string()
    }
}

const CLIENT_CERT_HINT: &str = "the broker requires a client certificate signed by a CA it \
     trusts: set CHAOS_KAFKA_SSL_CERT and CHAOS_KAFKA_SSL_KEY (or --ssl-cert / --ssl-key)";

/// Whether the broker's TLS alert refused our certificate or its absence: TLS 1.3's
/// certificate_required (alert 116) for none; bad_certificate (42), certificate_unknown (46)
/// or unknown_ca (48) for one it does not trust. OpenSSL reports an alert received from the
/// peer as reason 1000 + its number (our own check of the broker's certificate is not an
/// alert received: `verify_result` says that one).
fn refused_our_certificate(e: &openssl::ssl::Error) -> bool {
    const CERTIFICATE_REQUIRED: i32 = 1000 + 116;
    const BAD_CERTIFICATE: i32 = 1000 + 42;
    const CERTIFICATE_UNKNOWN: i32 = 1000 + 46;
    const UNKNOWN_CA: i32 = 1000 + 48;
    e.ssl_error().is_some_and(|stack| {
        stack.errors().iter().any(|err| {
            matches!(
                err.reason_code(),
                CERTIFICATE_REQUIRED | BAD_CERTIFICATE | CERTIFICATE_UNKNOWN | UNKNOWN_CA
            )
        })
    })
}

/// OpenSSL's error with the certificate check's verdict when that is what failed.
fn handshake_error(
    e: &openssl::ssl::Error,
    stream: &tokio_openssl::SslStream<TcpStream>,
) -> String {
    let verify = stream.ssl().verify_result();
    if verify != openssl::x509::X509VerifyResult::OK {
        format!("certificate verification failed: {}", verify.error_string())
    } else if refused_our_certificate(e) {
        format!("handshake failed: {e} — {CLIENT_CERT_HINT}")
    } else {
        format!("handshake failed: {e}")
    }
}

// SASL over the connection. v1 of both: the handshake, then every token in a
// SaslAuthenticate request (KIP-152); all brokers since Kafka 1.0 answer them, and Kafka 4
// dropped the older handshake.
const HANDSHAKE_VERSION: i16 = 1;
const AUTHENTICATE_VERSION: i16 = 1;
/// SASL_AUTHENTICATION_FAILED.
const AUTHENTICATION_FAILED: i16 = 58;

/// Authenticates `conn` with `creds`: SaslHandshake naming the mechanism, then its rounds.
/// A refusal is [`KafkaError::Authentication`], which callers do not retry.
async fn authenticate(
    conn: &mut Connection,
    creds: &SaslCredentials,
    timeout: Duration,
) -> Result<(), KafkaError> {
    let mechanism = creds.mechanism;
    let addr = conn.addr().to_string();
    let failed = |reason: String| KafkaError::Authentication {
        addr: addr.clone(),
        mechanism,
        reason,
    };
    let handshake = SaslHandshakeRequest::default()
        .with_mechanism(StrBytes::from_static_str(mechanism.kafka_name()));
    let answer = conn.send(&handshake, HANDSHAKE_VERSION, timeout).await?;
    if answer.error_code != 0 {
        let offered: Vec<&str> = answer.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(failed(format!(
            "the listener does not enable {mechanism} (it offers {})",
            if offered.is_empty() {
                "none".into()
            } else {
                offered.join(", ")
            }
        )));
    }
    let user = &creds.username;
    match ScramHash::of(mechanism) {
        None => {
            let token = plain_token(user, &creds.password);
            round(conn, token, user, timeout)
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        Some(hash) => {
            let mut scram = ScramClient::new(hash, user, creds.password.clone(), random_nonce());
            let first = round(conn, scram.client_first().into_bytes(), user, timeout)
                .await
                .map_err(|e| failed(e.to_string()))?;
            let first = String::from_utf8(first)
                .map_err(|_| failed("server-first message is not UTF-8".into()))?;
            let last = scram
                .client_final(&first)
                .map_err(|e| failed(e.to_string()))?;
            let last = round(conn, last.into_bytes(), user, timeout)
                .await
                .map_err(|e| failed(e.to_string()))?;
            let last = String::from_utf8(last)
                .map_err(|_| failed("server-final message is not UTF-8".into()))?;
            scram
                .verify_server_final(&last)
                .map_err(|e| failed(e.to_string()))?;
        }
    }
    Ok(())
}

/// One SaslAuthenticate round: our token out, the server's back; the reason when refused.
async fn round(
    conn: &mut Connection,
    token: Vec<u8>,
    user: &str,
    timeout: Duration,
) -> Result<Vec<u8>, RoundError> {
    let request = SaslAuthenticateRequest::default().with_auth_bytes(token.into());
    let answer = conn
        .send(&request, AUTHENTICATE_VERSION, timeout)
        .await
        .map_err(|e| RoundError::Exchange(Box::new(e)))?;
    match answer.error_code {
        0 => Ok(answer.auth_bytes.to_vec()),
        code => {
            let said = answer
                .error_message
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_else(|| format!("error code {code}"));
            Err(if code == AUTHENTICATION_FAILED {
                RoundError::Refused {
                    user: user.to_string(),
                    said,
                }
            } else {
                RoundError::Answer(said)
            })
        }
    }
}

/// Why a SaslAuthenticate round failed.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    /// The request itself (the connection, the protocol).
    #[error("{0}")]
    Exchange(#[source] Box<KafkaError>),
    #[error("the broker refused the credentials of user `{user}` ({said})")]
    Refused { user: String, said: String },
    /// Another error code, with the broker's message.
    #[error("{0}")]
    Answer(String),
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts_for_sni_and_name_checks() {
        assert_eq!(host_of("localhost:9093"), "localhost");
        assert_eq!(host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9093"), "::1");
        assert_eq!(host_of("kafka-1"), "kafka-1");
    }
}
