//! Probing an external dashboard's URL for the headers that decide whether
//! it may be shown in an iframe. HEAD (GET when HEAD is refused), 5 s in
//! all, at most 3 redirects, each hop checked again (HTTPS only; no
//! loopback, private or link-local address unless `--allow-private-probe`:
//! every address a name resolves to is checked, and the connection goes to
//! those addresses only). Blocking: callers run it on the blocking pool.

use crate::domain::external_dashboard::ProbeOutcome;
use reqwest::blocking::{Client, Response};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_REDIRECTS: usize = 3;
const PRIVATE_HINT: &str = "start Tessera with --allow-private-probe to allow it";

/// Why the probe did not ask: a rule of ours, not a network failure.
#[derive(Debug)]
struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Refused {}

/// Loopback, private, link-local, shared, unspecified, multicast and
/// documentation addresses: nothing a public dashboard lives on.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => private_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return private_v4(v4);
            }
            let seg = a.segments();
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                // NAT64: the IPv4 address it reaches.
                let v4 = (u32::from(seg[6]) << 16) | u32::from(seg[7]);
                return private_v4(Ipv4Addr::from(v4));
            }
            let first = seg[0];
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local
                || (first == 0x2001 && seg[1] == 0x0db8) // documentation
        }
    }
}

fn private_v4(a: Ipv4Addr) -> bool {
    let [o1, o2, ..] = a.octets();
    a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || a.is_documentation()
        || o1 == 0
        || (o1 == 100 && (o2 & 0xc0) == 64) // shared address space
        || (o1 == 192 && o2 == 0 && a.octets()[2] == 0) // IETF protocol assignments
        || o1 >= 240
}

/// Resolves names and refuses the lot when any address is private.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(resolve_checked(
            name.as_str().to_owned(),
            self.allow_private,
        ))
    }
}

async fn resolve_checked(
    host: String,
    allow_private: bool,
) -> Result<Addrs, Box<dyn StdError + Send + Sync>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
    if addrs.is_empty() {
        return Err(Box::new(Refused(format!("{host} has no address"))));
    }
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
            return Err(Box::new(Refused(format!(
                "{host} resolves to {}, a loopback, private or link-local address; {PRIVATE_HINT}",
                bad.ip()
            ))));
        }
    }
    Ok(Box::new(addrs.into_iter()))
}

/// An HTTPS URL whose host, when an address, may be asked.
fn check_hop(url: &reqwest::Url, allow_private: bool) -> Result<(), Refused> {
    if url.scheme() != "https" {
        return Err(Refused(format!("{url} is not https")));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
        Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err(Refused(format!("{url} names no host"))),
    };
    if !allow_private && is_private(ip) {
        return Err(Refused(format!(
            "{ip} is a loopback, private or link-local address; {PRIVATE_HINT}"
        )));
    }
    Ok(())
}

/// What went wrong, shortest first: our own refusal when there is one,
/// else the chain of causes.
fn describe(e: &reqwest::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(r) = c.downcast_ref::<Refused>() {
            return r.0.clone();
        }
        let text = c.to_string();
        if !causes.iter().any(|seen| seen.contains(&text)) {
            causes.push(text);
        }
        cur = c.source();
    }
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    causes.join(": ")
}

/// Probes URLs; the HTTP client is made on first use, on the blocking pool
/// (a blocking client may not be made on an async worker).
pub struct Prober {
    disabled: bool,
    allow_private: bool,
    extra_roots: Vec<reqwest::Certificate>,
    client: OnceLock<Result<Client, String>>,
}

impl Prober {
    /// `ca_file`: PEM certificates trusted besides the public roots. A file
    /// that does not load is an error (start-up stops).
    pub fn new(
        disabled: bool,
        allow_private: bool,
        ca_file: Option<&Path>,
    ) -> Result<Prober, String> {
        let extra_roots = match ca_file {
            None => Vec::new(),
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("probe CA file {} does not load: {e}", path.display()))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| format!("probe CA file {} does not load: {e}", path.display()))?;
                if certs.is_empty() {
                    return Err(format!(
                        "probe CA file {} holds no PEM certificate",
                        path.display()
                    ));
                }
                certs
            }
        };
        Ok(Prober {
            disabled,
            allow_private,
            extra_roots,
            client: OnceLock::new(),
        })
    }

    fn client(&self) -> Result<&Client, String> {
        self.client
            .get_or_init(|| {
                let allow_private = self.allow_private;
                let policy = redirect::Policy::custom(move |attempt| {
                    if attempt.previous().len() > MAX_REDIRECTS {
                        return attempt
                            .error(Refused(format!("more than {MAX_REDIRECTS} redirects")));
                    }
                    match check_hop(attempt.url(), allow_private) {
                        Ok(()) => attempt.follow(),
                        Err(refused) => attempt.error(refused),
                    }
                });
                let mut b = Client::builder()
                    .use_rustls_tls()
                    .timeout(TIMEOUT)
                    .connect_timeout(TIMEOUT)
                    .redirect(policy)
                    .no_proxy()
                    .https_only(true)
                    .user_agent(concat!(
                        "tessera/",
                        env!("CARGO_PKG_VERSION"),
                        " (frame probe)"
                    ))
                    .dns_resolver(Arc::new(CheckedResolver { allow_private }));
                for c in &self.extra_roots {
                    b = b.add_root_certificate(c.clone());
                }
                b.build()
                    .map_err(|e| format!("cannot make the probe's HTTP client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Asks `url` for its headers. Never fails: a failure is an outcome.
    pub fn probe(&self, url: &str) -> ProbeOutcome {
        match self.fetch(url) {
            Ok(res) => {
                let all = |name: &str| -> Vec<String> {
                    res.headers()
                        .get_all(name)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .map(str::to_owned)
                        .collect()
                };
                ProbeOutcome::Headers {
                    x_frame_options: all("x-frame-options"),
                    content_security_policy: all("content-security-policy"),
                }
            }
            Err(why) => ProbeOutcome::Failed(why),
        }
    }

    fn fetch(&self, url: &str) -> Result<Response, String> {
        if self.disabled {
            return Err("probing is turned off (--probe-disabled)".into());
        }
        let started = Instant::now();
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        check_hop(&parsed, self.allow_private).map_err(|r| r.0)?;
        let client = self.client()?;
        let head = client
            .head(parsed.clone())
            .send()
            .map_err(|e| describe(&e))?;
        let res = if head.status().is_client_error() || head.status().is_server_error() {
            // Some servers refuse HEAD (405, 501, or worse); ask again with
            // GET, within what is left of the time.
            let left = TIMEOUT.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(format!("no answer within {} s", TIMEOUT.as_secs()));
            }
            drop(head);
            client
                .get(parsed)
                .timeout(left)
                .send()
                .map_err(|e| describe(&e))?
        } else {
            head
        };
        let status = res.status();
        if status.is_success() {
            Ok(res)
        } else {
            Err(format!("{} answered {status}", res.url()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(a.parse().expect("ip")), "{a}");
        }
        for a in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(!is_private(a.parse().expect("ip")), "{a}");
        }
    }

    #[test]
    fn hops_are_checked() {
        let u = |s: &str| reqwest::Url::parse(s).expect("url");
        assert!(check_hop(&u("https://127.0.0.1/"), false).is_err());
        assert!(check_hop(&u("https://127.0.0.1/"), true).is_ok());
        assert!(check_hop(&u("https://[::1]:8443/"), false).is_err());
        assert!(check_hop(&u("http://grafana.example/"), true).is_err());
        assert!(check_hop(&u("https://grafana.example/"), false).is_ok());
    }
}
