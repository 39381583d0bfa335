//! Image references as compose files and the Docker API write them: `[registry/]name[:tag]`
//! or `name@digest`. Pure.

/// `name[:tag]` or `name@digest` as the API's `fromImage` and `tag` (a port in the registry
/// host is not a tag: `127.0.0.1:5000/kafka` is `latest`).
pub fn split_reference(reference: &str) -> (&str, &str) {
    if let Some((name, digest)) = reference.split_once('@') {
        return (name, digest);
    }
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => (
            &reference[..last_slash + i],
            &reference[last_slash + i + 1..],
        ),
        None => (reference, "latest"),
    }
}

/// The registry host a reference names (a first component with a dot or a port, or
/// `localhost`); None for Docker Hub.
pub fn registry_host(reference: &str) -> Option<&str> {
    split_reference(reference)
        .0
        .split_once('/')
        .map(|(host, _)| host)
        .filter(|h| h.contains('.') || h.contains(':') || *h == "localhost")
}

/// The repository without registry host, tag or digest: `docker.io/bitnami/kafka:3.9` →
/// `bitnami/kafka`.
pub fn repository(reference: &str) -> &str {
    // `name:tag@digest`: the digest split off first, then the tag.
    let name = split_reference(split_reference(reference).0).0;
    match registry_host(reference) {
        Some(host) => &name[host.len() + 1..],
        None => name,
    }
}
