//! Counting the router's connections, in total and per remote address, so that
//! [`Limits::max_connections`](super::Limits) and
//! [`Limits::max_connections_per_address`](super::Limits) can refuse one more.
//!
//! A connection is counted from the moment it is accepted until its task ends (handshakes
//! included: a slowloris connection holds a slot as long as it is open, which is what the
//! handshake deadlines bound). Refusing also costs something (reading the client's request
//! to answer it), so refusals in progress are bounded too: past [`MAX_REFUSING`], an excess
//! connection is closed without an answer.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// Refusals (an answer to a connection over a limit) in progress at once; more are
/// closed at once without one.
const MAX_REFUSING: usize = 64;

/// What the router does with a connection it just accepted.
pub(crate) enum Admission {
    /// Serve it; the slot is given back when the guard is dropped.
    Admitted(ConnectionGuard),
    /// Answer with the transport's refusal, naming the limit (its TOML key and value).
    Refuse(RefusalGuard, String),
    /// Over a limit, and too many refusals already in progress: close it.
    Drop,
}

/// The connection counts, shared by every listener of a router.
pub(crate) struct Connections {
    max_total: usize,
    max_per_address: usize,
    state: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    refusing: usize,
}

impl Connections {
    pub(crate) fn new(max_total: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Connections {
            max_total,
            max_per_address,
            state: Mutex::default(),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for a connection from `peer`, if both limits allow it.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr) -> Admission {
        let key = address_key(peer);
        let mut counts = self.counts();
        let from_peer = counts.per_address.get(&key).copied().unwrap_or(0);
        let over = if counts.total >= self.max_total {
            Some(format!(
                "maximum connection count reached (max_connections = {})",
                self.max_total
            ))
        } else if from_peer >= self.max_per_address {
            Some(format!(
                "maximum connection count reached for this address (max_connections_per_address = {})",
                self.max_per_address
            ))
        } else {
            None
        };
        match over {
            None => {
                counts.total += 1;
                counts.per_address.insert(key, from_peer + 1);
                Admission::Admitted(ConnectionGuard {
                    connections: self.clone(),
                    key,
                })
            }
            Some(_) if counts.refusing >= MAX_REFUSING => Admission::Drop,
            Some(why) => {
                counts.refusing += 1;
                Admission::Refuse(
                    RefusalGuard {
                        connections: self.clone(),
                    },
                    why,
                )
            }
        }
    }

    /// Connections counted right now (for tests and the meta API).
    #[cfg(test)]
    fn total(&self) -> usize {
        self.counts().total
    }
}

/// The key a remote address is counted under: IPv4 addresses (also when mapped into
/// IPv6) as they are, IPv6 addresses by their /64 network.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(network))
        }
    }
}

/// One admitted connection's slot.
pub(crate) struct ConnectionGuard {
    connections: Arc<Connections>,
    key: IpAddr,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut counts = self.connections.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_address.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&self.key);
            }
        }
    }
}

/// One refusal in progress.
pub(crate) struct RefusalGuard {
    connections: Arc<Connections>,
}

impl Drop for RefusalGuard {
    fn drop(&mut self) {
        let mut counts = self.connections.counts();
        counts.refusing = counts.refusing.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(a: Admission) -> ConnectionGuard {
        match a {
            Admission::Admitted(g) => g,
            _ => panic!("expected the connection to be admitted"),
        }
    }

    #[test]
    fn counts_per_address_and_in_total() {
        let c = Connections::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        let a1 = admitted(c.admit(a));
        let _a2 = admitted(c.admit(a));
        match c.admit(a) {
            Admission::Refuse(_, why) => assert!(why.contains("max_connections_per_address = 2")),
            _ => panic!("a third connection from one address must be refused"),
        }
        let _b1 = admitted(c.admit(b));
        match c.admit(b) {
            Admission::Refuse(_, why) => assert!(why.contains("max_connections = 3"), "{why}"),
            _ => panic!("a fourth connection must be refused"),
        }
        drop(a1);
        assert_eq!(c.total(), 2);
        let _b2 = admitted(c.admit(b));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let c = Connections::new(100, 1);
        let _x = admitted(c.admit("2001:db8:1:2::1".parse().expect("ip")));
        assert!(matches!(
            c.admit("2001:db8:1:2:ffff::9".parse().expect("ip")),
            Admission::Refuse(..)
        ));
        let _y = admitted(c.admit("2001:db8:1:3::1".parse().expect("ip")));
        let _z = admitted(c.admit("192.0.2.7".parse().expect("ip")));
        assert!(matches!(
            c.admit("::ffff:192.0.2.7".parse().expect("ip")),
            Admission::Refuse(..)
        ));
    }

    #[test]
    fn refusals_in_progress_are_bounded() {
        let c = Connections::new(0, 0);
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let guards: Vec<RefusalGuard> = (0..MAX_REFUSING)
            .map(|_| match c.admit(ip) {
                Admission::Refuse(g, _) => g,
                _ => panic!("expected a refusal"),
            })
            .collect();
        assert!(matches!(c.admit(ip), Admission::Drop));
        drop(guards);
        assert!(matches!(c.admit(ip), Admission::Refuse(..)));
    }
}
