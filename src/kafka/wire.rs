//! A minimal Kafka protocol client: one connection, one request at a time, with a timeout.
//! Enough for Metadata, DescribeQuorum and ElectLeaders, which librdkafka does not expose.

use super::KafkaError;
use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response we accept (a metadata response of a big cluster is far smaller).
const MAX_RESPONSE: usize = 64 << 20;

pub struct Connection {
    addr: String,
    stream: TcpStream,
    correlation_id: i32,
}

impl Connection {
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Self, KafkaError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| KafkaError::Connection {
                addr: addr.into(),
                reason: "connect timed out".into(),
            })?
            .map_err(|e| KafkaError::Connection {
                addr: addr.into(),
                reason: e.to_string(),
            })?;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            addr: addr.to_string(),
            stream,
            correlation_id: 0,
        })
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
        let io = |e: std::io::Error| KafkaError::Connection {
            addr: self.addr.clone(),
            reason: e.to_string(),
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
        _ => "request",
    }
}
